use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "appeals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub author_id: i64,
    pub title: String,
    pub content: String,
    pub category_id: i64,
    pub village_id: i64,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// AES-GCM ciphertext of the resident's contact phone.
    pub contact_phone_enc: Option<String>,
    pub is_public: bool,
    pub state: String,
    /// Derived from `is_public` and `state` on every change: shown on the public board.
    pub on_board: bool,
    /// Derived likewise: `processing`, `replied` or `closed` while on the board.
    pub board_status: Option<String>,
    pub urgency: Option<String>,
    pub lead_department_id: Option<i64>,
    /// Comma-separated department ids (few, and read with the appeal).
    pub assisting_department_ids: String,
    pub deadline_at: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub assigned_at: Option<DateTimeUtc>,
    pub overdue_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub reopen_count: i32,
    pub master_id: Option<i64>,
    pub extension_requested_until: Option<String>,
    pub extension_reason: Option<String>,
    pub info_question: Option<String>,
    pub reject_reason: Option<String>,
    pub public_reply: Option<String>,
    pub internal_note: Option<String>,
    pub reply_private: bool,
    pub replied_at: Option<DateTimeUtc>,
    pub published_at: Option<DateTimeUtc>,
    pub rating: Option<String>,
    pub solved: Option<bool>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub close_reason: Option<String>,
    pub hold_reason: Option<String>,
    /// Optimistic concurrency: every change bumps it; a change naming an old one fails.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// How the appeal came in: `mini_program`, `hotline`, `mailbox`, … Staff only.
    pub channel: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
