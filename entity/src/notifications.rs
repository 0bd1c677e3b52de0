use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

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
    pub status: NotificationStatus,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// A pending row is not tried before this time (backoff after a transient failure).
    pub next_attempt_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    /// The worker holding the row while it is `sending`, and until when.
    pub claimed_by: Option<String>,
    pub claimed_until: Option<DateTimeUtc>,
    /// The resident's one-time consent this message uses up.
    pub consent_id: Option<i64>,
    pub updated_at: Option<DateTimeUtc>,
}

crate::stored_enum! {
    /// Where an outbox row is.
    pub enum NotificationStatus {
        /// Written with its change, waiting for the sender.
        Pending,
        /// Claimed by a worker (`claimed_by`, until `claimed_until`).
        Sending,
        /// Accepted by WeChat.
        Sent,
        /// Refused for good (e.g. 43101: no consent left); `last_error` says why.
        Failed,
        /// Not sent: the resident gave no consent for this template.
        Skipped,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
