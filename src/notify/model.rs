//! The outbox's records: a notification's states and the kinds the board writes.
use serde::Serialize;
use utoipa::ToSchema;

/// Where a notification is. `pending` → `sending` (claimed by one worker) → `sent`, or back to
/// `pending` after a transient failure, or `failed` (permanent error, attempts used up) or
/// `skipped` (the resident gave no consent for the template).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Sending,
    Sent,
    Failed,
    Skipped,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Self::Pending,
        Self::Sending,
        Self::Sent,
        Self::Failed,
        Self::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// A consent's state.
pub mod consent {
    pub const AVAILABLE: &str = "available";
    pub const USED: &str = "used";
}

/// Notification kinds written by the board (the rota writes `live_session_changed` and
/// `live_session_cancelled`). Each is sent only when a template is configured for it.
pub mod kind {
    pub const APPEAL_ACCEPTED: &str = "appeal_accepted";
    pub const APPEAL_INFO_REQUESTED: &str = "appeal_info_requested";
    pub const APPEAL_REPLIED: &str = "appeal_replied";
    pub const APPEAL_CLOSED: &str = "appeal_closed";
}

/// What one attempt came to, as recorded in `notification_attempts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry,
    Failed,
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retry => "retry",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}
