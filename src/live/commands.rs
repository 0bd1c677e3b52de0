//! What goes into a live room and what comes out of it: its settings, the commands it takes,
//! the events it logs and the errors it refuses with. The rules are in `room.rs`.
use serde::{Deserialize, Serialize};

use super::queue::QueueError;
use crate::config::LiveSettings;
use crate::error::ErrorCode;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoomConfig {
    /// Seconds a called resident has to confirm.
    pub confirm_secs: i64,
    /// Length of one turn on stage.
    pub turn_secs: i64,
    /// Warnings sent this many seconds before a turn ends.
    pub warn_before_secs: Vec<i64>,
    /// Places a resident who missed a call moves back (once).
    pub defer_places: usize,
    pub max_queue: usize,
    /// How long a waiting resident's place is kept after their connection drops.
    pub grace_waiting_secs: i64,
    /// How long the resident on stage may be gone before the turn ends.
    pub grace_stage_secs: i64,
}

/// Turn-end warnings, in seconds before the end; not a setting.
const WARN_BEFORE_SECS: [i64; 2] = [60, 10];

impl From<&LiveSettings> for RoomConfig {
    fn from(l: &LiveSettings) -> Self {
        Self {
            confirm_secs: l.confirm_secs,
            turn_secs: l.turn_secs,
            warn_before_secs: WARN_BEFORE_SECS.to_vec(),
            defer_places: l.defer_places,
            max_queue: l.max_queue,
            grace_waiting_secs: l.grace_waiting_secs,
            grace_stage_secs: l.grace_stage_secs,
        }
    }
}

/// The settings' defaults, so the two never drift apart.
impl Default for RoomConfig {
    fn default() -> Self {
        Self::from(&LiveSettings::default())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "phase", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Phase {
    Called {
        confirm_by_ms: i64,
    },
    OnStage {
        started_ms: i64,
        ends_at_ms: i64,
        warned: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub user_id: i64,
    pub topic: Option<String>,
    pub registered: bool,
    pub deferrals: u32,
    pub phase: Phase,
}

/// Something that happened in the room, in order (`seq`), kept in a bounded log for replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomEvent {
    pub seq: u64,
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Joined {
        user_id: i64,
    },
    Left {
        user_id: i64,
    },
    Removed {
        user_id: i64,
    },
    Called {
        user_id: i64,
        confirm_by_ms: i64,
    },
    OnStage {
        user_id: i64,
        ends_at_ms: i64,
    },
    Deferred {
        user_id: i64,
        position: usize,
    },
    Dropped {
        user_id: i64,
    },
    TurnWarning {
        user_id: i64,
        secs_left: i64,
    },
    TurnExtended {
        user_id: i64,
        ends_at_ms: i64,
    },
    TurnEnded {
        user_id: i64,
        reason: String,
        duration_secs: i64,
    },
    Away {
        user_id: i64,
    },
    Back {
        user_id: i64,
    },
    Paused,
    Resumed,
    SessionEnded,
    /// The session was given another leader: the old one's sockets lose host rights.
    LeaderChanged {
        leader_id: Option<i64>,
    },
}

impl EventKind {
    /// The resident this event is about, if any: residents see only their own events.
    pub fn subject(&self) -> Option<i64> {
        use EventKind as E;
        match self {
            E::Joined { user_id }
            | E::Left { user_id }
            | E::Removed { user_id }
            | E::Called { user_id, .. }
            | E::OnStage { user_id, .. }
            | E::Deferred { user_id, .. }
            | E::Dropped { user_id }
            | E::TurnWarning { user_id, .. }
            | E::TurnExtended { user_id, .. }
            | E::TurnEnded { user_id, .. }
            | E::Away { user_id }
            | E::Back { user_id } => Some(*user_id),
            E::Paused | E::Resumed | E::SessionEnded | E::LeaderChanged { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("the queue is full ({0} waiting)")]
    QueueFull(usize),
    #[error("intake is paused; try again shortly")]
    Paused,
    #[error("the session has ended")]
    Ended,
    #[error("nobody is waiting")]
    Empty,
    #[error("someone is already called or on stage; end that turn first")]
    StageBusy,
    #[error("nobody is called or on stage")]
    StageEmpty,
    #[error("you are not called")]
    NotCalled,
    #[error("that resident is not waiting")]
    NotWaiting,
    #[error("you are on stage or called; end the turn instead of leaving the queue")]
    OnStage,
    #[error("{0}")]
    Invalid(&'static str),
}

impl RoomError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RoomError::QueueFull(_) => ErrorCode::QueueFull,
            RoomError::Paused => ErrorCode::IntakePaused,
            RoomError::Ended => ErrorCode::SessionEnded,
            RoomError::Empty => ErrorCode::QueueEmpty,
            RoomError::StageBusy => ErrorCode::StageBusy,
            RoomError::StageEmpty => ErrorCode::StageEmpty,
            RoomError::NotCalled => ErrorCode::NotCalled,
            RoomError::NotWaiting => ErrorCode::NotWaiting,
            RoomError::OnStage => ErrorCode::OnStage,
            RoomError::Invalid(_) => ErrorCode::Invalid,
        }
    }
}

impl From<QueueError> for RoomError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Full { max_len } => RoomError::QueueFull(max_len),
            QueueError::NotInQueue(_) => RoomError::NotWaiting,
            QueueError::AlreadyInQueue(_) => RoomError::Invalid("already waiting"),
            QueueError::Invalid(m) => RoomError::Invalid(m),
        }
    }
}

/// What a command asks of the room.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Join {
        user_id: i64,
        registered: bool,
        topic: Option<String>,
    },
    Leave {
        user_id: i64,
    },
    Confirm {
        user_id: i64,
    },
    CallNext,
    Call {
        user_id: i64,
    },
    /// The called resident did not answer: back a few places once, then out.
    Skip,
    /// Move a waiting resident back a few places (once).
    Defer {
        user_id: i64,
    },
    Remove {
        user_id: i64,
    },
    Extend {
        secs: i64,
    },
    Pause,
    Resume,
    EndTurn,
    EndSession,
    Disconnected {
        user_id: i64,
    },
    Reconnected {
        user_id: i64,
    },
    /// Connections that dropped (`true`) and came back since the last batch, in order.
    /// Instances batch these so a thousand phones losing signal at once rewrite the room
    /// once, not a thousand times.
    Presence {
        changes: Vec<(i64, bool)>,
    },
    /// Time passes: confirmations expire, turns warn and end, absences run out.
    Tick,
    /// The session record now names this leader (the rota reassigned it).
    LeaderChanged {
        leader_id: Option<i64>,
    },
}

impl Command {
    /// Commands only the session's hosts may send.
    pub fn is_host_command(&self) -> bool {
        matches!(
            self,
            Command::CallNext
                | Command::Call { .. }
                | Command::Skip
                | Command::Defer { .. }
                | Command::Remove { .. }
                | Command::Extend { .. }
                | Command::Pause
                | Command::Resume
                | Command::EndTurn
                | Command::EndSession
        )
    }
}
