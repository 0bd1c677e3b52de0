use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

crate::stored_enum! {
    /// Where an appeal is in its life. Stored as its snake_case name; the transitions between
    /// states are the board's (`src/board/workflow.rs`).
    pub enum AppealState {
        /// Being composed; `submit` is the first transition.
        Draft,
        /// Passed the content check, awaiting the office.
        Submitted,
        /// The content check flagged it; a person must clear it.
        HeldForReview,
        /// The office asked the resident for more; the clock is stopped.
        InfoRequested,
        /// The office accepted it and set its urgency.
        Accepted,
        /// Terminal: refused, with a reason.
        Rejected,
        /// Terminal: a duplicate of a master appeal.
        Merged,
        /// Assigned to a lead department with a deadline.
        Assigned,
        /// The lead department signed for it.
        Signed,
        /// The department handed it back to the office with a reason code.
        Returned,
        /// The department replied; the office reviews the reply.
        Replied,
        /// The reply is public; awaiting the resident's rating.
        Published,
        /// The resident rated the handling unsatisfied; the office decides.
        RatedUnsatisfied,
        /// Terminal: the loop is done.
        Closed,
        /// Sent back for rework after an unsatisfied rating; like `assigned`.
        Reopened,
    }
}

crate::stored_enum! {
    /// What the public and the resident call an appeal's state (`board_status` stores it for the
    /// appeals on the board).
    pub enum PublicStatus {
        Received,
        InfoRequested,
        Processing,
        Replied,
        Closed,
        Rejected,
        Merged,
    }
}

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
    pub state: AppealState,
    /// Derived from `is_public` and `state` on every change: shown on the public board.
    pub on_board: bool,
    /// Derived likewise: `processing`, `replied` or `closed` while on the board.
    pub board_status: Option<PublicStatus>,
    pub urgency: Option<String>,
    pub lead_department_id: Option<i64>,
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
