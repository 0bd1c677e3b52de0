use sea_orm::entity::prelude::*;

/// The notification outbox: rows are written in the transaction of the change they report and
/// sent later by a worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// e.g. `live_session_changed`.
    pub kind: String,
    /// e.g. `live_session`.
    pub subject_type: String,
    pub subject_id: i64,
    /// JSON for the message template.
    pub payload: String,
    /// `pending` until sent.
    pub status: String,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
