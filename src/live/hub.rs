//! This instance's sockets, by session and user. One listener per session with local sockets
//! turns the room's channel into per-socket messages: positions and the hosts' queue view go
//! through `watch` channels (only the latest value is kept, so a slow client gets a coalesced
//! update, never a backlog), everything else through a bounded queue whose overflow disconnects
//! that one client instead of stalling the others. One timer task per session runs the room's
//! clock on whichever instance holds the session's lease.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use utoipa::ToSchema;

use super::protocol::{close, Position, QueueView, ServerMsg};
use super::queue::estimated_wait_secs;
use super::room::{Command, EventKind, Room, RoomEvent};
use super::store::{self, Broadcast};
use super::views::{media_grant, queue_view};
use crate::broker::Delivery;
use crate::state::AppState;

/// What a connection is in its room; spelled in snake_case on the wire and in tickets.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ConnRole {
    Resident,
    Leader,
    Moderator,
}

impl ConnRole {
    pub fn is_host(self) -> bool {
        !matches!(self, ConnRole::Resident)
    }
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Why a socket must close, with its close code.
pub type Kill = Option<(u16, String)>;

struct Conn {
    id: String,
    role: ConnRole,
    tx: mpsc::Sender<ServerMsg>,
    position: watch::Sender<Option<Position>>,
    queue: watch::Sender<Option<QueueView>>,
    kill: watch::Sender<Kill>,
}

/// The socket task's ends of its channels.
pub struct ConnEnds {
    pub id: String,
    pub rx: mpsc::Receiver<ServerMsg>,
    pub position: watch::Receiver<Option<Position>>,
    pub queue: watch::Receiver<Option<QueueView>>,
    pub kill: watch::Receiver<Kill>,
}

struct SessionLocal {
    leader_id: Option<i64>,
    conns: HashMap<i64, Conn>,
    tasks: Vec<JoinHandle<()>>,
    /// The room as of the last change this instance heard of, with its positions computed
    /// once: connecting sockets read it instead of the broker.
    cached: Option<Arc<CachedRoom>>,
    /// Sockets that dropped (`true`) or came back (`false`) since the last flush.
    presence: Vec<(i64, bool)>,
}

pub struct CachedRoom {
    pub room: Room,
    pub positions: HashMap<i64, usize>,
}

impl CachedRoom {
    pub fn new(room: Room) -> Self {
        let positions = room.positions();
        Self { room, positions }
    }
}

#[derive(Default)]
pub struct Hub {
    sessions: Mutex<HashMap<i64, SessionLocal>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// Registers a socket; an older socket of the same user here is told to close, and other
    /// instances are told through the channel.
    pub async fn register(
        self: &Arc<Self>,
        state: &AppState,
        session_id: i64,
        user_id: i64,
        role: ConnRole,
        leader_id: Option<i64>,
    ) -> ConnEnds {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = mpsc::channel(state.settings.live.send_buffer.max(8));
        let (ptx, prx) = watch::channel(None);
        let (qtx, qrx) = watch::channel(None);
        let (ktx, krx) = watch::channel(None);
        let conn = Conn {
            id: id.clone(),
            role,
            tx,
            position: ptx,
            queue: qtx,
            kill: ktx,
        };
        let start_tasks = {
            let mut sessions = lock(&self.sessions);
            let local = sessions.entry(session_id).or_insert_with(|| SessionLocal {
                leader_id,
                conns: HashMap::new(),
                tasks: Vec::new(),
                cached: None,
                presence: Vec::new(),
            });
            if let Some(old) = local.conns.insert(user_id, conn) {
                let _ = old.kill.send(Some((
                    close::REPLACED,
                    "replaced by a newer connection".into(),
                )));
            }
            local.tasks.is_empty()
        };
        if start_tasks {
            let listener = tokio::spawn(listen(state.clone(), self.clone(), session_id));
            let timer = tokio::spawn(run_timer(state.clone(), self.clone(), session_id));
            if let Some(local) = lock(&self.sessions).get_mut(&session_id) {
                local.tasks = vec![listener, timer];
            }
        }
        let replace = Broadcast::Replace {
            user_id,
            conn: id.clone(),
        };
        if let Err(e) = store::publish(state, session_id, &replace).await {
            tracing::warn!(error = %e, "cannot announce connection replacement");
        }
        ConnEnds {
            id,
            rx,
            position: prx,
            queue: qrx,
            kill: krx,
        }
    }

    /// Forgets a socket. `away`: its resident is now gone (noted only if it was still the
    /// user's current socket, not a replaced one). The last socket of a session here takes the
    /// session's pending presence changes along and records them itself, since the timer that
    /// would have flushed them stops with it.
    pub fn unregister(
        &self,
        state: &AppState,
        session_id: i64,
        user_id: i64,
        conn_id: &str,
        away: bool,
    ) {
        let pending = {
            let mut sessions = lock(&self.sessions);
            let Some(local) = sessions.get_mut(&session_id) else {
                return;
            };
            if local.conns.get(&user_id).is_some_and(|c| c.id == conn_id) {
                local.conns.remove(&user_id);
                if away {
                    local.presence.push((user_id, true));
                }
            }
            if !local.conns.is_empty() {
                return;
            }
            let Some(local) = sessions.remove(&session_id) else {
                return;
            };
            for t in local.tasks {
                t.abort();
            }
            local.presence
        };
        if pending.is_empty() {
            return;
        }
        let state = state.clone();
        tokio::spawn(async move {
            let cmd = Command::Presence { changes: pending };
            if let Err(e) = store::apply(&state, session_id, cmd, None).await {
                tracing::warn!(session_id, error = %e, "presence not recorded");
            }
        });
    }

    /// The room as this instance last saw it; read from the broker (once) when none is cached.
    pub async fn room(
        &self,
        state: &AppState,
        session_id: i64,
    ) -> Result<Arc<CachedRoom>, store::LiveError> {
        if let Some(c) = lock(&self.sessions)
            .get(&session_id)
            .and_then(|l| l.cached.clone())
        {
            return Ok(c);
        }
        let room = store::load(state, session_id)
            .await?
            .unwrap_or_else(|| Room::new(session_id, store::config_from(state)));
        let cached = Arc::new(CachedRoom::new(room));
        if let Some(local) = lock(&self.sessions).get_mut(&session_id) {
            if local
                .cached
                .as_ref()
                .is_none_or(|c| c.room.seq <= cached.room.seq)
            {
                local.cached = Some(cached.clone());
            }
        }
        Ok(cached)
    }

    /// Notes that a resident's socket dropped (`away`) or came back; applied in batches.
    pub fn note_presence(&self, session_id: i64, user_id: i64, away: bool) {
        if let Some(local) = lock(&self.sessions).get_mut(&session_id) {
            local.presence.push((user_id, away));
        }
    }

    fn take_presence(&self, session_id: i64) -> Vec<(i64, bool)> {
        lock(&self.sessions)
            .get_mut(&session_id)
            .map(|l| std::mem::take(&mut l.presence))
            .unwrap_or_default()
    }

    /// Sends fresh views to one socket (used right after it connects or acts).
    pub fn refresh_one(&self, room: &CachedRoom, session_id: i64, user_id: i64) {
        let sessions = lock(&self.sessions);
        let Some(local) = sessions.get(&session_id) else {
            return;
        };
        if let Some(c) = local.conns.get(&user_id) {
            push_views(c, user_id, &room.room, &room.positions);
        }
    }

    fn fan_out(
        &self,
        state: &AppState,
        session_id: i64,
        cached: Arc<CachedRoom>,
        events: &[RoomEvent],
    ) {
        let mut sessions = lock(&self.sessions);
        let Some(local) = sessions.get_mut(&session_id) else {
            return;
        };
        if local
            .cached
            .as_ref()
            .is_none_or(|c| c.room.seq <= cached.room.seq)
        {
            local.cached = Some(cached.clone());
        }
        for e in events {
            if let EventKind::LeaderChanged { leader_id } = e.kind {
                local.leader_id = leader_id;
            }
        }
        let room = &cached.room;
        let positions = &cached.positions;
        for (user_id, c) in &local.conns {
            push_views(c, *user_id, room, positions);
            for e in events {
                let mine = e.kind.subject().is_none() || e.kind.subject() == Some(*user_id);
                if c.role.is_host() || mine {
                    send_or_kill(c, ServerMsg::Event(e.clone()));
                }
                // A fresh grant when a turn starts and when it is extended, so credentials
                // never lapse mid-call.
                if let EventKind::OnStage { user_id: on, .. }
                | EventKind::TurnExtended { user_id: on, .. } = e.kind
                {
                    let leader = local.leader_id == Some(*user_id) && c.role == ConnRole::Leader;
                    if on == *user_id || leader {
                        if let Some(grant) = media_grant(state, session_id, *user_id, room) {
                            send_or_kill(c, ServerMsg::Media(grant));
                        }
                    }
                }
                if let EventKind::LeaderChanged { .. } = e.kind {
                    if c.role == ConnRole::Leader && local.leader_id != Some(*user_id) {
                        let _ = c.kill.send(Some((
                            close::NOT_HOST,
                            "the session was reassigned: you no longer host it".into(),
                        )));
                    }
                }
                if matches!(e.kind, EventKind::SessionEnded) {
                    let _ = c
                        .kill
                        .send(Some((close::ENDED, "the session has ended".into())));
                }
            }
        }
    }

    /// After a gap in the room's channel (re-subscribed, or fell behind): adopt the stored
    /// room, replay to each socket what it missed since the room this instance last saw, and
    /// send every socket fresh views and, where due, media credentials.
    fn resync(&self, state: &AppState, session_id: i64, cached: Arc<CachedRoom>) {
        let mut sessions = lock(&self.sessions);
        let Some(local) = sessions.get_mut(&session_id) else {
            return;
        };
        let since = local.cached.as_ref().map(|c| c.room.seq);
        local.cached = Some(cached.clone());
        let room = &cached.room;
        for (user_id, c) in &local.conns {
            let viewer = (!c.role.is_host()).then_some(*user_id);
            let missed = since.and_then(|seq| room.missed_since(seq, viewer));
            if let Some(events) = missed.filter(|e| !e.is_empty()) {
                send_or_kill(c, ServerMsg::Replay { events });
            }
            force_views(c, *user_id, room, &cached.positions);
            let leader = local.leader_id == Some(*user_id) && c.role == ConnRole::Leader;
            if room.on_stage().is_some() && (room.on_stage() == Some(*user_id) || leader) {
                if let Some(grant) = media_grant(state, session_id, *user_id, room) {
                    send_or_kill(c, ServerMsg::Media(grant));
                }
            }
            if room.ended {
                let _ = c
                    .kill
                    .send(Some((close::ENDED, "the session has ended".into())));
            }
        }
    }

    fn deliver_signal(
        &self,
        session_id: i64,
        to_user: i64,
        from: &str,
        payload: &serde_json::Value,
    ) {
        let sessions = lock(&self.sessions);
        if let Some(c) = sessions
            .get(&session_id)
            .and_then(|l| l.conns.get(&to_user))
        {
            send_or_kill(
                c,
                ServerMsg::Signal {
                    from: from.into(),
                    payload: payload.clone(),
                },
            );
        }
    }

    fn replace(&self, session_id: i64, user_id: i64, conn: &str) {
        let sessions = lock(&self.sessions);
        if let Some(c) = sessions
            .get(&session_id)
            .and_then(|l| l.conns.get(&user_id))
        {
            if c.id != conn {
                let _ = c.kill.send(Some((
                    close::REPLACED,
                    "replaced by a newer connection".into(),
                )));
            }
        }
    }
}

fn send_or_kill(c: &Conn, msg: ServerMsg) {
    if c.tx.try_send(msg).is_err() {
        let _ = c.kill.send(Some((
            close::TOO_SLOW,
            "too many messages waiting; reconnect with your resume token".into(),
        )));
    }
}

fn push_views(c: &Conn, user_id: i64, room: &Room, positions: &HashMap<i64, usize>) {
    if c.role.is_host() {
        let view = queue_view(room);
        c.queue.send_if_modified(|cur| {
            let changed = cur.as_ref() != Some(&view);
            if changed {
                *cur = Some(view);
            }
            changed
        });
    } else {
        let pos = positions.get(&user_id).map(|p| Position {
            ahead: *p,
            position: p + 1,
            estimated_wait_secs: estimated_wait_secs(*p, room.avg_turn_secs()),
            paused: room.paused,
        });
        c.position.send_if_modified(|cur| {
            let changed = *cur != pos;
            if changed {
                *cur = pos;
            }
            changed
        });
    }
}

/// Like `push_views`, but sent even when unchanged: after a gap the client may hold anything.
fn force_views(c: &Conn, user_id: i64, room: &Room, positions: &HashMap<i64, usize>) {
    if c.role.is_host() {
        c.queue.send_replace(Some(queue_view(room)));
    } else if positions.contains_key(&user_id) {
        c.position.send_replace(None);
        push_views(c, user_id, room, positions);
    }
}

async fn listen(state: AppState, hub: Arc<Hub>, session_id: i64) {
    let mut sub = match state.broker.subscribe(&store::channel(session_id)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(session_id, error = %e, "cannot subscribe to live room");
            return;
        }
    };
    while let Some(delivery) = sub.recv().await {
        let bytes = match delivery {
            Delivery::Message(bytes) => bytes,
            Delivery::Resync => {
                resync(&state, &hub, session_id).await;
                continue;
            }
        };
        let Ok(b) = serde_json::from_slice::<Broadcast>(&bytes) else {
            continue;
        };
        match b {
            Broadcast::Changed { events } => {
                // One read of the room per change per instance, whatever the number of sockets.
                match store::load(&state, session_id).await {
                    Ok(Some(room)) => {
                        hub.fan_out(&state, session_id, Arc::new(CachedRoom::new(room)), &events)
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(session_id, error = %e, "cannot read live room"),
                }
            }
            Broadcast::Signal {
                to_user,
                from,
                payload,
            } => hub.deliver_signal(session_id, to_user, &from, &payload),
            Broadcast::Replace { user_id, conn } => hub.replace(session_id, user_id, &conn),
        }
    }
}

/// Rebuilds this instance's view of the room from its stored state after a gap in the
/// channel; the broker has just come back, so a few quick retries cover a slow first read.
async fn resync(state: &AppState, hub: &Hub, session_id: i64) {
    for attempt in 0..5u32 {
        match store::load(state, session_id).await {
            Ok(Some(room)) => {
                tracing::info!(session_id, seq = room.seq, "live room resynced after a gap");
                hub.resync(state, session_id, Arc::new(CachedRoom::new(room)));
                return;
            }
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(session_id, attempt, error = %e, "cannot resync live room yet");
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt + 1))).await;
            }
        }
    }
    tracing::error!(
        session_id,
        "live room not resynced; views refresh on the next change"
    );
}

/// Runs the room's clock while this instance holds the room's lease; another instance takes
/// over within a few seconds if this one dies.
async fn run_timer(state: AppState, hub: Arc<Hub>, session_id: i64) {
    let every = Duration::from_millis(state.settings.live.tick_ms.max(50));
    let lease_ttl = (every * 6).max(Duration::from_secs(3));
    let lease = format!("live:timer:{session_id}");
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let changes = hub.take_presence(session_id);
        if !changes.is_empty() {
            // A task of its own: when the last socket leaves, this timer is aborted, and the
            // changes it already took must still be recorded.
            let state = state.clone();
            let flush = tokio::spawn(async move {
                let cmd = Command::Presence { changes };
                if let Err(e) = store::apply(&state, session_id, cmd, None).await {
                    tracing::warn!(session_id, error = %e, "presence not recorded");
                }
            });
            let _ = flush.await;
        }
        match state
            .broker
            .try_lease(&lease, &state.instance_id, lease_ttl)
            .await
        {
            Ok(true) => {
                if let Err(e) = store::apply(&state, session_id, Command::Tick, None).await {
                    tracing::debug!(session_id, error = %e, "room tick");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(session_id, error = %e, "room lease unavailable"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(buffer: usize) -> (Conn, ConnEnds) {
        let (tx, rx) = mpsc::channel(buffer);
        let (ptx, prx) = watch::channel(None);
        let (qtx, qrx) = watch::channel(None);
        let (ktx, krx) = watch::channel(None);
        let c = Conn {
            id: "c".into(),
            role: ConnRole::Resident,
            tx,
            position: ptx,
            queue: qtx,
            kill: ktx,
        };
        let ends = ConnEnds {
            id: "c".into(),
            rx,
            position: prx,
            queue: qrx,
            kill: krx,
        };
        (c, ends)
    }

    #[test]
    fn a_slow_client_is_cut_off_not_waited_for() {
        let (c, ends) = conn(4);
        for _ in 0..4 {
            send_or_kill(&c, ServerMsg::Ping);
        }
        assert!(ends.kill.borrow().is_none(), "a full buffer is fine");
        send_or_kill(&c, ServerMsg::Ping);
        assert_eq!(
            ends.kill.borrow().as_ref().map(|k| k.0),
            Some(close::TOO_SLOW)
        );
    }

    #[test]
    fn positions_to_a_slow_client_are_coalesced() {
        let (c, mut ends) = conn(4);
        let mut room = Room::new(1, Default::default());
        for u in 1..=100 {
            room.apply(
                &Command::Join {
                    user_id: u,
                    registered: false,
                    topic: None,
                },
                0,
            )
            .unwrap_or_default();
        }
        // 100 changes while the client reads nothing: it holds one value, the latest.
        for ahead in (0..100).rev() {
            let mut r = room.clone();
            for u in 1..(100 - ahead) {
                let _ = r.apply(&Command::Remove { user_id: u }, 0);
            }
            push_views(&c, 100, &r, &r.positions());
        }
        assert!(ends.position.has_changed().unwrap_or(false));
        let latest = ends.position.borrow_and_update().clone();
        assert_eq!(latest.map(|p| p.ahead), Some(0));
        assert!(ends.rx.try_recv().is_err(), "nothing queued for positions");
    }
}
