//! Every error code the server answers with, HTTP or WebSocket, in one enum. The strings are
//! the stable contract clients switch on (snake_case); `tests/api/readme.rs` pins this list
//! to the README's error tables both ways, so a code cannot be added, renamed or dropped
//! without the documentation following.
use serde::Serialize;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    ActionNotPermitted,
    AlreadyRegistered,
    BadMessage,
    BadVersion,
    BrokerUnavailable,
    Busy,
    CategoryExists,
    DeadlinePassed,
    DepartmentExists,
    ExtensionPending,
    Forbidden,
    HolidayDataMissing,
    IdempotencyKeyReused,
    IntakePaused,
    InternalError,
    Invalid,
    InvalidJson,
    InvalidRefreshToken,
    InvalidSessionState,
    InvalidTicket,
    InvalidToken,
    InvalidTransition,
    InvitationInvalid,
    LastAdmin,
    LeaderDoubleBooked,
    LeaderProfileMissing,
    LeaderUnavailable,
    NoDeadline,
    NoExtensionPending,
    NoUrgency,
    NotALeader,
    NotCalled,
    NotFound,
    NotHeld,
    NotOnStage,
    NotSessionLeader,
    NotWaiting,
    NotYourProfile,
    NotYourSession,
    OnStage,
    OutcomeExists,
    OutsideRotaRange,
    OutsideStartWindow,
    PayloadTooLarge,
    QueueEmpty,
    QueueFull,
    RateLimited,
    RefreshTokenReused,
    RegistrationClosed,
    RotaDiscarded,
    RotaOverlap,
    RotaPublished,
    SessionEnded,
    SessionNotLive,
    SessionNotPublished,
    SessionUnassigned,
    StageBusy,
    StageEmpty,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
    VersionConflict,
    VillageExists,
    WebsocketRequired,
    WechatCodeInvalid,
    WechatError,
    WechatNotConfigured,
    WechatRateLimited,
    WechatUnavailable,
    WechatUserBlocked,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every code, for the README check and the OpenAPI document.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        <ErrorCode as strum::IntoEnumIterator>::iter()
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tests and callers compare a code with the string a client would see.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_snake_case_and_round_trip() {
        for code in ErrorCode::all() {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert_eq!(s.parse::<ErrorCode>().ok(), Some(code));
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(s));
        }
        assert_eq!(ErrorCode::VersionConflict.as_str(), "version_conflict");
    }
}
