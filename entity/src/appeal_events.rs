use sea_orm::entity::prelude::*;

/// Append-only: rows are inserted, never updated or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appeal_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub appeal_id: i64,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub department_id: Option<i64>,
    pub reason: Option<String>,
    /// JSON with action-specific facts (urgency, deadline, rating…).
    pub detail: Option<String>,
    /// Shown on the resident's timeline.
    pub public: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
