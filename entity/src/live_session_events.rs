use sea_orm::entity::prelude::*;

/// Append-only: rows are inserted, never updated or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_session_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: i64,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub actor_id: Option<i64>,
    /// A role name, or `system`.
    pub actor_role: String,
    pub reason: Option<String>,
    /// JSON with action-specific facts (leader and times before and after…).
    pub detail: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
