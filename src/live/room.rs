//! The state of one live room and its rules, as a pure function of commands and time: who waits
//! in which order, who is called, who is on stage, how long the turn lasts, and who has gone
//! away and may come back. Stored as one blob in the broker and changed by compare-and-set, so
//! every instance sees the same room and two instances acting at once cannot lose an update.
use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::queue::{DeferOutcome, QueueError, WaitingQueue};
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
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

pub const LOG_LEN: usize = 256;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Room {
    pub session_id: i64,
    pub config: RoomConfig,
    pub seq: u64,
    pub queue: WaitingQueue,
    pub stage: Option<Stage>,
    pub paused: bool,
    pub ended: bool,
    /// Users whose connection dropped, and since when (ms).
    pub away: BTreeMap<i64, i64>,
    pub log: VecDeque<RoomEvent>,
    pub served: u32,
    pub total_turn_secs: i64,
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

impl Room {
    pub fn new(session_id: i64, config: RoomConfig) -> Self {
        let max = config.max_queue;
        Self {
            session_id,
            config,
            seq: 0,
            queue: WaitingQueue::new(max),
            stage: None,
            paused: false,
            ended: false,
            away: BTreeMap::new(),
            log: VecDeque::new(),
            served: 0,
            total_turn_secs: 0,
        }
    }

    fn emit(&mut self, now_ms: i64, kind: EventKind, out: &mut Vec<RoomEvent>) {
        self.seq += 1;
        let ev = RoomEvent {
            seq: self.seq,
            at_ms: now_ms,
            kind,
        };
        self.log.push_back(ev.clone());
        while self.log.len() > LOG_LEN {
            self.log.pop_front();
        }
        out.push(ev);
    }

    /// Average turn length so far, for wait estimates (the configured length before any).
    pub fn avg_turn_secs(&self) -> u64 {
        if self.served == 0 {
            self.config.turn_secs.max(0) as u64
        } else {
            (self.total_turn_secs / i64::from(self.served)).max(1) as u64
        }
    }

    pub fn stage_user(&self) -> Option<i64> {
        self.stage.as_ref().map(|s| s.user_id)
    }

    pub fn on_stage(&self) -> Option<i64> {
        self.stage
            .as_ref()
            .filter(|s| matches!(s.phase, Phase::OnStage { .. }))
            .map(|s| s.user_id)
    }

    /// Applies one command at `now_ms`; on error the room is unchanged.
    pub fn apply(&mut self, cmd: &Command, now_ms: i64) -> Result<Vec<RoomEvent>, RoomError> {
        let mut next = self.clone();
        let mut out = Vec::new();
        next.apply_inner(cmd, now_ms, &mut out)?;
        *self = next;
        Ok(out)
    }

    fn apply_inner(
        &mut self,
        cmd: &Command,
        now: i64,
        out: &mut Vec<RoomEvent>,
    ) -> Result<(), RoomError> {
        if self.ended
            && !matches!(
                cmd,
                Command::Tick
                    | Command::Disconnected { .. }
                    | Command::Reconnected { .. }
                    | Command::Presence { .. }
            )
        {
            return Err(RoomError::Ended);
        }
        match cmd {
            Command::Join {
                user_id,
                registered,
                topic,
            } => {
                if self.stage_user() == Some(*user_id) {
                    return Ok(());
                }
                if self.queue.position_of(*user_id).is_some() {
                    return Ok(());
                }
                if self.paused {
                    return Err(RoomError::Paused);
                }
                self.queue.join(*user_id, *registered, topic.clone())?;
                self.emit(now, EventKind::Joined { user_id: *user_id }, out);
            }
            Command::Leave { user_id } => {
                if self.stage_user() == Some(*user_id) {
                    return Err(RoomError::OnStage);
                }
                self.queue.leave(*user_id)?;
                self.away.remove(user_id);
                self.emit(now, EventKind::Left { user_id: *user_id }, out);
            }
            Command::Remove { user_id } => {
                if self.stage_user() == Some(*user_id) {
                    self.end_turn(now, "removed", out);
                } else {
                    self.queue.remove(*user_id)?;
                }
                self.away.remove(user_id);
                self.emit(now, EventKind::Removed { user_id: *user_id }, out);
            }
            Command::CallNext => {
                if self.stage.is_some() {
                    return Err(RoomError::StageBusy);
                }
                let e = self.queue.call_next().ok_or(RoomError::Empty)?;
                self.call_entry(e, now, out);
            }
            Command::Call { user_id } => {
                if self.stage.is_some() {
                    return Err(RoomError::StageBusy);
                }
                let e = self.queue.call(*user_id)?;
                self.call_entry(e, now, out);
            }
            Command::Confirm { user_id } => {
                let stage = self.stage.as_mut().ok_or(RoomError::NotCalled)?;
                if stage.user_id != *user_id || !matches!(stage.phase, Phase::Called { .. }) {
                    return Err(RoomError::NotCalled);
                }
                let ends = now + self.config.turn_secs * 1000;
                stage.phase = Phase::OnStage {
                    started_ms: now,
                    ends_at_ms: ends,
                    warned: 0,
                };
                self.emit(
                    now,
                    EventKind::OnStage {
                        user_id: *user_id,
                        ends_at_ms: ends,
                    },
                    out,
                );
            }
            Command::Skip => {
                let stage = self.stage.clone().ok_or(RoomError::StageEmpty)?;
                if !matches!(stage.phase, Phase::Called { .. }) {
                    return Err(RoomError::Invalid(
                        "the resident on stage is talking: end the turn instead",
                    ));
                }
                self.missed_call(stage, now, out)?;
            }
            Command::Defer { user_id } => {
                let places = self.config.defer_places;
                match self.queue.defer(*user_id, places)? {
                    DeferOutcome::Deferred { position } => self.emit(
                        now,
                        EventKind::Deferred {
                            user_id: *user_id,
                            position,
                        },
                        out,
                    ),
                    DeferOutcome::Dropped(_) => {
                        self.emit(now, EventKind::Dropped { user_id: *user_id }, out)
                    }
                }
            }
            Command::Extend { secs } => {
                if !(1..=3600).contains(secs) {
                    return Err(RoomError::Invalid("extend by 1 to 3600 seconds"));
                }
                let stage = self.stage.as_mut().ok_or(RoomError::StageEmpty)?;
                let user_id = stage.user_id;
                let Phase::OnStage {
                    ends_at_ms, warned, ..
                } = &mut stage.phase
                else {
                    return Err(RoomError::Invalid("nobody is talking yet"));
                };
                *ends_at_ms += secs * 1000;
                // Warnings start over for the new end.
                let left = (*ends_at_ms - now) / 1000;
                *warned = self
                    .config
                    .warn_before_secs
                    .iter()
                    .filter(|w| **w >= left)
                    .count();
                let ends = *ends_at_ms;
                self.emit(
                    now,
                    EventKind::TurnExtended {
                        user_id,
                        ends_at_ms: ends,
                    },
                    out,
                );
            }
            Command::Pause => {
                if !self.paused {
                    self.paused = true;
                    self.emit(now, EventKind::Paused, out);
                }
            }
            Command::Resume => {
                if self.paused {
                    self.paused = false;
                    self.emit(now, EventKind::Resumed, out);
                }
            }
            Command::EndTurn => {
                if self.stage.is_none() {
                    return Err(RoomError::StageEmpty);
                }
                self.end_turn(now, "ended_by_host", out);
            }
            Command::EndSession => {
                if self.stage.is_some() {
                    self.end_turn(now, "session_ended", out);
                }
                self.ended = true;
                self.emit(now, EventKind::SessionEnded, out);
            }
            Command::Disconnected { user_id } => {
                let known = self.stage_user() == Some(*user_id)
                    || self.queue.position_of(*user_id).is_some();
                if known && !self.away.contains_key(user_id) {
                    self.away.insert(*user_id, now);
                    self.emit(now, EventKind::Away { user_id: *user_id }, out);
                }
            }
            Command::Reconnected { user_id } => {
                if self.away.remove(user_id).is_some() {
                    self.emit(now, EventKind::Back { user_id: *user_id }, out);
                }
            }
            Command::Presence { changes } => {
                for (user_id, away) in changes {
                    let c = if *away {
                        Command::Disconnected { user_id: *user_id }
                    } else {
                        Command::Reconnected { user_id: *user_id }
                    };
                    self.apply_inner(&c, now, out)?;
                }
            }
            Command::Tick => self.tick(now, out)?,
            Command::LeaderChanged { leader_id } => self.emit(
                now,
                EventKind::LeaderChanged {
                    leader_id: *leader_id,
                },
                out,
            ),
        }
        Ok(())
    }

    fn call_entry(&mut self, e: super::queue::QueueEntry, now: i64, out: &mut Vec<RoomEvent>) {
        let confirm_by = now + self.config.confirm_secs * 1000;
        self.stage = Some(Stage {
            user_id: e.user_id,
            topic: e.topic,
            registered: e.registered,
            deferrals: e.deferrals,
            phase: Phase::Called {
                confirm_by_ms: confirm_by,
            },
        });
        self.emit(
            now,
            EventKind::Called {
                user_id: e.user_id,
                confirm_by_ms: confirm_by,
            },
            out,
        );
    }

    /// A called resident who did not confirm goes back a few places, once; then out.
    fn missed_call(
        &mut self,
        stage: Stage,
        now: i64,
        out: &mut Vec<RoomEvent>,
    ) -> Result<(), RoomError> {
        self.stage = None;
        let entry = super::queue::QueueEntry {
            user_id: stage.user_id,
            registered: stage.registered,
            joined_seq: 0,
            deferrals: stage.deferrals,
            topic: stage.topic,
        };
        match self.queue.defer(entry, self.config.defer_places)? {
            DeferOutcome::Deferred { position } => self.emit(
                now,
                EventKind::Deferred {
                    user_id: stage.user_id,
                    position,
                },
                out,
            ),
            DeferOutcome::Dropped(_) => {
                self.away.remove(&stage.user_id);
                self.emit(
                    now,
                    EventKind::Dropped {
                        user_id: stage.user_id,
                    },
                    out,
                )
            }
        }
        Ok(())
    }

    fn end_turn(&mut self, now: i64, reason: &str, out: &mut Vec<RoomEvent>) {
        let Some(stage) = self.stage.take() else {
            return;
        };
        let duration = match stage.phase {
            Phase::OnStage { started_ms, .. } => {
                let secs = ((now - started_ms) / 1000).max(0);
                self.served += 1;
                self.total_turn_secs += secs;
                secs
            }
            Phase::Called { .. } => 0,
        };
        self.away.remove(&stage.user_id);
        self.emit(
            now,
            EventKind::TurnEnded {
                user_id: stage.user_id,
                reason: reason.into(),
                duration_secs: duration,
            },
            out,
        );
    }

    fn tick(&mut self, now: i64, out: &mut Vec<RoomEvent>) -> Result<(), RoomError> {
        if let Some(stage) = self.stage.clone() {
            let gone_since = self.away.get(&stage.user_id).copied();
            match stage.phase {
                Phase::Called { confirm_by_ms } if now >= confirm_by_ms => {
                    self.missed_call(stage, now, out)?;
                }
                Phase::OnStage {
                    ends_at_ms, warned, ..
                } => {
                    if gone_since.is_some_and(|t| now - t >= self.config.grace_stage_secs * 1000) {
                        self.end_turn(now, "connection_lost", out);
                    } else if now >= ends_at_ms {
                        self.end_turn(now, "time_up", out);
                    } else {
                        let left = (ends_at_ms - now + 999) / 1000;
                        let due: Vec<i64> = self
                            .config
                            .warn_before_secs
                            .iter()
                            .copied()
                            .enumerate()
                            .filter(|(i, w)| *i >= warned && left <= *w)
                            .map(|(_, w)| w)
                            .collect();
                        if !due.is_empty() {
                            if let Some(s) = self.stage.as_mut() {
                                if let Phase::OnStage { warned, .. } = &mut s.phase {
                                    *warned += due.len();
                                }
                            }
                            self.emit(
                                now,
                                EventKind::TurnWarning {
                                    user_id: stage.user_id,
                                    secs_left: left,
                                },
                                out,
                            );
                        }
                    }
                }
                Phase::Called { .. } => {}
            }
        }
        // Waiting residents gone longer than the grace period lose their place.
        let limit = self.config.grace_waiting_secs * 1000;
        let expired: Vec<i64> = self
            .away
            .iter()
            .filter(|(u, since)| now - **since >= limit && self.stage_user() != Some(**u))
            .map(|(u, _)| *u)
            .collect();
        for u in expired {
            self.away.remove(&u);
            if self.queue.remove(u).is_ok() {
                self.emit(now, EventKind::Dropped { user_id: u }, out);
            }
        }
        Ok(())
    }

    /// Positions of every waiting resident (0 = next), computed once per change.
    pub fn positions(&self) -> std::collections::HashMap<i64, usize> {
        self.queue
            .entries()
            .iter()
            .enumerate()
            .map(|(i, e)| (e.user_id, i))
            .collect()
    }

    /// Events after `seq` that `viewer` may see (`None`: staff see all); `None` when the log no
    /// longer reaches back that far, and a snapshot must do.
    pub fn missed_since(&self, seq: u64, viewer: Option<i64>) -> Option<Vec<RoomEvent>> {
        let oldest = self.log.front().map_or(self.seq + 1, |e| e.seq);
        if seq + 1 < oldest && seq < self.seq {
            return None;
        }
        Some(
            self.log
                .iter()
                .filter(|e| e.seq > seq)
                .filter(|e| {
                    viewer.is_none() || e.kind.subject().is_none() || e.kind.subject() == viewer
                })
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> Room {
        Room::new(
            1,
            RoomConfig {
                confirm_secs: 30,
                turn_secs: 120,
                warn_before_secs: vec![60, 10],
                defer_places: 2,
                max_queue: 5,
                grace_waiting_secs: 60,
                grace_stage_secs: 10,
            },
        )
    }

    fn join(r: &mut Room, u: i64, registered: bool) {
        r.apply(
            &Command::Join {
                user_id: u,
                registered,
                topic: None,
            },
            0,
        )
        .unwrap();
    }

    fn kinds(evs: &[RoomEvent]) -> Vec<EventKind> {
        evs.iter().map(|e| e.kind.clone()).collect()
    }

    #[test]
    fn registered_first_then_arrival_and_positions() {
        let mut r = room();
        join(&mut r, 1, false);
        join(&mut r, 2, false);
        join(&mut r, 3, true);
        let p = r.positions();
        assert_eq!((p[&3], p[&1], p[&2]), (0, 1, 2));
        join(&mut r, 1, false);
        assert_eq!(r.queue.len(), 3, "joining again keeps the place");
    }

    #[test]
    fn call_confirm_warn_and_time_up() {
        let mut r = room();
        join(&mut r, 1, false);
        join(&mut r, 2, false);
        r.apply(&Command::CallNext, 1000).unwrap();
        assert_eq!(r.apply(&Command::CallNext, 1000), Err(RoomError::StageBusy));
        assert_eq!(
            r.apply(&Command::Confirm { user_id: 2 }, 2000),
            Err(RoomError::NotCalled)
        );
        r.apply(&Command::Confirm { user_id: 1 }, 2000).unwrap();
        assert_eq!(r.on_stage(), Some(1));
        let w = r.apply(&Command::Tick, 2000 + 61_000).unwrap();
        assert!(matches!(
            w[0].kind,
            EventKind::TurnWarning { secs_left: 59, .. }
        ));
        assert!(
            r.apply(&Command::Tick, 2000 + 62_000).unwrap().is_empty(),
            "warned once"
        );
        let w = r.apply(&Command::Tick, 2000 + 111_000).unwrap();
        assert!(matches!(
            w[0].kind,
            EventKind::TurnWarning { secs_left: 9, .. }
        ));
        let end = r.apply(&Command::Tick, 2000 + 120_000).unwrap();
        assert_eq!(
            kinds(&end),
            vec![EventKind::TurnEnded {
                user_id: 1,
                reason: "time_up".into(),
                duration_secs: 120
            }]
        );
        assert_eq!((r.served, r.avg_turn_secs()), (1, 120));
    }

    #[test]
    fn a_missed_call_defers_once_then_drops() {
        let mut r = room();
        for u in 1..=4 {
            join(&mut r, u, false);
        }
        r.apply(&Command::CallNext, 0).unwrap();
        let ev = r.apply(&Command::Tick, 30_000).unwrap();
        assert_eq!(
            kinds(&ev),
            vec![EventKind::Deferred {
                user_id: 1,
                position: 2
            }]
        );
        assert_eq!(r.positions()[&1], 2);
        r.apply(&Command::Call { user_id: 1 }, 31_000).unwrap();
        let ev = r.apply(&Command::Skip, 32_000).unwrap();
        assert_eq!(kinds(&ev), vec![EventKind::Dropped { user_id: 1 }]);
        assert!(!r.positions().contains_key(&1));
    }

    #[test]
    fn extend_pause_end_and_limits() {
        let mut r = room();
        for u in 1..=5 {
            join(&mut r, u, false);
        }
        assert_eq!(
            r.apply(
                &Command::Join {
                    user_id: 6,
                    registered: false,
                    topic: None
                },
                0
            ),
            Err(RoomError::QueueFull(5))
        );
        r.apply(&Command::CallNext, 0).unwrap();
        r.apply(&Command::Confirm { user_id: 1 }, 0).unwrap();
        r.apply(&Command::Extend { secs: 60 }, 0).unwrap();
        assert!(r
            .apply(&Command::Tick, 120_000)
            .unwrap()
            .iter()
            .all(|e| !matches!(e.kind, EventKind::TurnEnded { .. })));
        r.apply(&Command::Pause, 0).unwrap();
        r.apply(&Command::Leave { user_id: 5 }, 0).unwrap();
        assert_eq!(
            r.apply(
                &Command::Join {
                    user_id: 7,
                    registered: false,
                    topic: None
                },
                0
            ),
            Err(RoomError::Paused)
        );
        r.apply(&Command::EndSession, 1000).unwrap();
        assert!(r.ended && r.stage.is_none());
        assert_eq!(r.apply(&Command::CallNext, 0), Err(RoomError::Ended));
    }

    #[test]
    fn absence_grace_keeps_places_then_drops() {
        let mut r = room();
        join(&mut r, 1, false);
        join(&mut r, 2, false);
        r.apply(&Command::Disconnected { user_id: 2 }, 0).unwrap();
        r.apply(&Command::Tick, 59_000).unwrap();
        assert_eq!(r.positions()[&2], 1, "place kept within grace");
        r.apply(&Command::Reconnected { user_id: 2 }, 59_500)
            .unwrap();
        r.apply(&Command::Tick, 120_000).unwrap();
        assert_eq!(r.positions()[&2], 1, "came back in time");
        r.apply(&Command::Disconnected { user_id: 2 }, 120_000)
            .unwrap();
        let ev = r.apply(&Command::Tick, 180_000).unwrap();
        assert_eq!(kinds(&ev), vec![EventKind::Dropped { user_id: 2 }]);
        // On stage the grace is seconds.
        r.apply(&Command::CallNext, 200_000).unwrap();
        r.apply(&Command::Confirm { user_id: 1 }, 200_000).unwrap();
        r.apply(&Command::Disconnected { user_id: 1 }, 201_000)
            .unwrap();
        let ev = r.apply(&Command::Tick, 211_000).unwrap();
        assert!(
            matches!(&ev[0].kind, EventKind::TurnEnded { reason, .. } if reason == "connection_lost")
        );
    }

    #[test]
    fn presence_batches_apply_in_order() {
        let mut r = room();
        join(&mut r, 1, false);
        join(&mut r, 2, false);
        let ev = r
            .apply(
                &Command::Presence {
                    changes: vec![(1, true), (2, true), (1, false), (9, true)],
                },
                0,
            )
            .unwrap();
        assert_eq!(
            kinds(&ev),
            vec![
                EventKind::Away { user_id: 1 },
                EventKind::Away { user_id: 2 },
                EventKind::Back { user_id: 1 }
            ]
        );
        assert!(r.away.contains_key(&2) && !r.away.contains_key(&1));
    }

    #[test]
    fn replay_is_filtered_and_bounded() {
        let mut r = room();
        join(&mut r, 1, false);
        join(&mut r, 2, false);
        r.apply(&Command::Pause, 0).unwrap();
        let for_1 = r.missed_since(0, Some(1)).unwrap();
        assert_eq!(
            kinds(&for_1),
            vec![EventKind::Joined { user_id: 1 }, EventKind::Paused]
        );
        assert_eq!(r.missed_since(0, None).unwrap().len(), 3);
        for i in 0..300 {
            r.apply(
                if i % 2 == 0 {
                    &Command::Resume
                } else {
                    &Command::Pause
                },
                0,
            )
            .unwrap();
        }
        assert!(
            r.missed_since(1, None).is_none(),
            "too old: snapshot instead"
        );
        assert!(r.missed_since(r.seq - 5, None).is_some());
    }

    #[test]
    fn errors_leave_the_room_unchanged() {
        let mut r = room();
        join(&mut r, 1, false);
        let before = serde_json::to_string(&r).unwrap();
        assert!(r.apply(&Command::Leave { user_id: 9 }, 0).is_err());
        assert!(r.apply(&Command::EndTurn, 0).is_err());
        assert_eq!(before, serde_json::to_string(&r).unwrap());
    }
}
