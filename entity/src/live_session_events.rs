use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::live_sessions::SessionStatus;

/// Append-only: rows are inserted, never updated or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_session_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: i64,
    pub action: SessionAction,
    pub from_status: SessionStatus,
    pub to_status: SessionStatus,
    pub actor_id: Option<i64>,
    /// A role name, or `system`.
    pub actor_role: String,
    pub reason: Option<String>,
    /// JSON with action-specific facts (leader and times before and after…).
    pub detail: Option<String>,
    pub created_at: DateTimeUtc,
}

crate::stored_enum! {
    /// What was done to a session; the transition table (`rota::workflow`) says from which status.
    pub enum SessionAction {
        Generated,
        Added,
        Published,
        Reassigned,
        Rescheduled,
        Swapped,
        Cancelled,
        Discarded,
        Started,
        Ended,
        Missed,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
