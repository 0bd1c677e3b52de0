//! The outbox's records: a notification's states and the kinds the board writes.

/// Where a notification is. `pending` → `sending` (claimed by one worker) → `sent`, or back to
/// `pending` after a transient failure, or `failed` (permanent error, attempts used up) or
/// `skipped` (the resident gave no consent for the template). Stored as an active enum.
pub use entity::notifications::NotificationStatus as Status;

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
