use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One leader's evening session (干群直通车).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub rota_id: i64,
    /// `None` while a draft has nobody available that date.
    pub leader_id: Option<i64>,
    /// Local (Asia/Shanghai) date `YYYY-MM-DD` of `starts_at`.
    pub local_date: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub status: SessionStatus,
    /// `None` while it is a draft nobody outside the office sees.
    pub published_at: Option<DateTimeUtc>,
    pub published_version: Option<i32>,
    /// iCalendar SEQUENCE: bumped on every change after publication.
    pub sequence: i32,
    /// Optimistic lock for concurrent edits.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

crate::stored_enum! {
    /// Where a session is in its life. Publication is separate (`published_at`): a draft session is
    /// `scheduled` too, but only the office sees it.
    pub enum SessionStatus {
        Scheduled,
        Live,
        Ended,
        /// Never started within its start window.
        Missed,
        Cancelled,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
