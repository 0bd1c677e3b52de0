use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::appeals::AppealState;

crate::stored_enum! {
    /// An action of the closed loop without its data, named as clients send it and as events
    /// store it.
    pub enum ActionKind {
        Submit,
        Hold,
        Release,
        RequestInfo,
        ProvideInfo,
        Accept,
        Reject,
        Merge,
        Assign,
        Sign,
        Return,
        Reassign,
        RequestExtension,
        ApproveExtension,
        RefuseExtension,
        Reply,
        ApproveReply,
        SendBack,
        Rate,
        Reopen,
        AutoClose,
        Close,
        MarkOverdue,
        Escalate,
    }
}

/// Append-only: rows are inserted, never updated or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appeal_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub appeal_id: i64,
    pub action: ActionKind,
    pub from_state: AppealState,
    pub to_state: AppealState,
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
