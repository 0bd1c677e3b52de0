//! One task per WebSocket: inbound frames (rate-limited, size-limited), outbound messages from
//! the hub, coalesced position and queue views, application pings and the idle timeout.
use std::time::{Duration, Instant};

use actix_ws::{CloseCode, CloseReason, Message, MessageStream, ProtocolError, Session};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::hub::{media_grant, ConnEnds, ConnRole};
use super::protocol::{
    close, encode, ClientMsg, Incoming, Limits, ServerMsg, Welcome, WsError, YouState, VERSION,
};
use super::room::{Phase, Room};
use super::worker::{work, Reply, COMMAND_TIMEOUT};
use super::Live;
use crate::crypto::{random_token, sha256_hex};
use crate::error::ErrorCode;
use crate::state::AppState;

/// What a single-use ticket stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ticket {
    pub session_id: i64,
    pub user_id: i64,
    pub role: String,
    pub leader_id: Option<i64>,
    /// The user's own role, for actions that reach beyond the room (ending the session).
    pub user_role: crate::auth::Role,
}

impl Ticket {
    pub fn conn_role(&self) -> ConnRole {
        match self.role.as_str() {
            "leader" => ConnRole::Leader,
            "moderator" => ConnRole::Moderator,
            _ => ConnRole::Resident,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ResumeRecord {
    session_id: i64,
    user_id: i64,
}

pub fn resume_key(token: &str) -> String {
    format!("live:resume:{}", sha256_hex(token))
}

/// Commands waiting for the socket's worker; more than this and the client is told to wait.
const PENDING_COMMANDS: usize = 16;

struct Conn {
    state: AppState,
    live: Live,
    session: Session,
    ticket: Ticket,
    /// Room commands go to a worker task, so broker work never stalls reading frames,
    /// answering pings or sending.
    work: tokio::sync::mpsc::Sender<(u64, ClientMsg)>,
    /// What the worker finished, with errors to send in order with everything else.
    replies: tokio::sync::mpsc::Receiver<Reply>,
    /// Commands handed to the worker and not finished yet.
    pending: usize,
    out_seq: u64,
    in_ack: u64,
    tokens: f64,
    refilled: Instant,
    violations: u32,
}

enum Flow {
    Continue,
    Close(u16, String),
}

impl Conn {
    async fn send(&mut self, msg: &ServerMsg) -> bool {
        self.out_seq += 1;
        self.session
            .text(encode(msg, self.out_seq, self.in_ack))
            .await
            .is_ok()
    }

    async fn error(&mut self, code: ErrorCode, message: String, in_reply_to: Option<u64>) -> bool {
        self.send(&ServerMsg::Error(WsError {
            code,
            message,
            in_reply_to,
        }))
        .await
    }

    /// Notes a finished command and answers its error, if any; false if the socket is gone.
    async fn finished(&mut self, (seq, err): Reply) -> bool {
        self.pending = self.pending.saturating_sub(1);
        match err {
            Some((code, message)) => self.error(code, message, Some(seq)).await,
            None => true,
        }
    }

    /// Waits (bounded) for the commands still with the worker, before the socket closes.
    async fn settle(&mut self) {
        let deadline = tokio::time::Instant::now() + COMMAND_TIMEOUT * 2;
        while self.pending > 0 {
            match tokio::time::timeout_at(deadline, self.replies.recv()).await {
                Ok(Some(reply)) => {
                    if !self.finished(reply).await {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// Token bucket: `rate` messages a second, bursts of twice that.
    fn allow(&mut self) -> bool {
        let rate = f64::from(self.state.settings.live.messages_per_second.max(1));
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.refilled).as_secs_f64() * rate).min(rate * 2.0);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    async fn violation(&mut self, code: ErrorCode, message: String, seq: Option<u64>) -> Flow {
        self.violations += 1;
        if self.violations >= 3 {
            return Flow::Close(close::POLICY, format!("{code} repeated: closing"));
        }
        if !self.error(code, message, seq).await {
            return Flow::Close(1000, String::new());
        }
        Flow::Continue
    }

    async fn handle_text(&mut self, text: &str) -> Flow {
        if !self.allow() {
            return self
                .violation(
                    ErrorCode::RateLimited,
                    "too many messages; slow down".into(),
                    None,
                )
                .await;
        }
        let incoming = match Incoming::parse(text) {
            Ok(m) => m,
            Err(e) => {
                return self
                    .violation(
                        ErrorCode::BadMessage,
                        format!("not a valid message: {e}"),
                        None,
                    )
                    .await
            }
        };
        if incoming.v != VERSION {
            return self
                .violation(
                    ErrorCode::BadVersion,
                    format!("protocol version {VERSION} expected"),
                    Some(incoming.seq),
                )
                .await;
        }
        self.in_ack = self.in_ack.max(incoming.seq);
        match incoming.msg {
            ClientMsg::Ping {} => {
                self.send(&ServerMsg::Pong).await;
            }
            ClientMsg::Pong {} => {}
            msg => {
                if self.work.try_send((incoming.seq, msg)).is_ok() {
                    self.pending += 1;
                } else {
                    let busy = "too many commands waiting; try again".to_string();
                    if !self.error(ErrorCode::Busy, busy, Some(incoming.seq)).await {
                        return Flow::Close(1000, String::new());
                    }
                }
            }
        }
        Flow::Continue
    }
}

pub fn you_state(room: &Room, user_id: i64, role: ConnRole) -> YouState {
    if role.is_host() {
        return YouState::Host;
    }
    match room
        .stage
        .as_ref()
        .filter(|s| s.user_id == user_id)
        .map(|s| &s.phase)
    {
        Some(Phase::Called { .. }) => YouState::Called,
        Some(Phase::OnStage { .. }) => YouState::OnStage,
        None if room.queue.position_of(user_id).is_some() => YouState::Waiting,
        None => YouState::Idle,
    }
}

/// Drives one socket until it closes.
pub async fn run(
    state: AppState,
    live_parts: Live,
    session: Session,
    mut stream: MessageStream,
    ticket: Ticket,
    resume: Option<(String, u64)>,
) {
    let role = ticket.conn_role();
    let hub = live_parts.hub.clone();
    let ConnEnds {
        id: conn_id,
        mut rx,
        mut position,
        mut queue,
        mut kill,
    } = hub
        .register(
            &state,
            ticket.session_id,
            ticket.user_id,
            role,
            ticket.leader_id,
        )
        .await;
    let live = state.settings.live.clone();
    let (work_tx, work_rx) = tokio::sync::mpsc::channel(PENDING_COMMANDS);
    let (reply_tx, replies) = tokio::sync::mpsc::channel(PENDING_COMMANDS);
    // Ends by itself once `conn` (the only sender) is dropped and its last command is done.
    tokio::spawn(work(
        state.clone(),
        live_parts.sessions.clone(),
        ticket.clone(),
        work_rx,
        reply_tx,
    ));
    let mut conn = Conn {
        state: state.clone(),
        live: live_parts,
        session,
        ticket: ticket.clone(),
        work: work_tx,
        replies,
        pending: 0,
        out_seq: 0,
        in_ack: 0,
        tokens: f64::from(live.messages_per_second.max(1)) * 2.0,
        refilled: Instant::now(),
        violations: 0,
    };
    let outcome = serve(
        &mut conn,
        &mut stream,
        &mut rx,
        &mut position,
        &mut queue,
        &mut kill,
        resume,
    )
    .await;
    let (code, reason) = match outcome {
        Flow::Close(code, reason) => (code, reason),
        Flow::Continue => (1000, String::new()),
    };
    // A replaced socket leaves the place to its successor; an ended session has no queue.
    let away = role == ConnRole::Resident && code != close::REPLACED && code != close::ENDED;
    hub.unregister(&state, ticket.session_id, ticket.user_id, &conn_id, away);
    let _ = conn
        .session
        .close(Some(CloseReason {
            code: CloseCode::from(code),
            description: (!reason.is_empty()).then_some(reason),
        }))
        .await;
}

/// Welcome, replay and first views. A function of its own so the room it reads (which can be
/// large) is dropped before the socket settles into its loop.
async fn greet(
    conn: &mut Conn,
    t: &Ticket,
    resumed: bool,
    last_seq: Option<u64>,
    token: String,
) -> bool {
    let state = conn.state.clone();
    let hub = conn.live.hub.clone();
    let role = t.conn_role();
    let live = &state.settings.live;
    if role == ConnRole::Resident {
        // News for the room if they were away; flushed with others on the next tick.
        hub.note_presence(t.session_id, t.user_id, false);
    }
    let cached = match hub.room(&state, t.session_id).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read live room");
            return false;
        }
    };
    let room = &cached.room;
    let welcome = Welcome {
        session_id: t.session_id,
        user_id: t.user_id,
        role: role.as_str().into(),
        resume_token: token,
        room_seq: room.seq,
        resumed,
        state: you_state(room, t.user_id, role),
        limits: Limits {
            max_frame_bytes: live.max_frame_bytes,
            messages_per_second: live.messages_per_second,
            ping_interval_secs: live.ping_interval_secs,
            idle_timeout_secs: live.idle_timeout_secs,
        },
    };
    if !conn.send(&ServerMsg::Welcome(welcome)).await {
        return false;
    }
    if let (true, Some(last_seq)) = (resumed, last_seq) {
        let viewer = (!role.is_host()).then_some(t.user_id);
        if let Some(events) = room.missed_since(last_seq, viewer) {
            if !events.is_empty() && !conn.send(&ServerMsg::Replay { events }).await {
                return false;
            }
        }
    }
    let media_holder = room.on_stage() == Some(t.user_id)
        || (role == ConnRole::Leader && room.on_stage().is_some());
    if media_holder {
        if let Some(grant) = media_grant(&state, t.session_id, t.user_id, room) {
            conn.send(&ServerMsg::Media(grant)).await;
        }
    }
    hub.refresh_one(&cached, t.session_id, t.user_id);
    true
}

/// The hub dropped this socket's channels: it was replaced, or told why it must close.
fn gone(kill: &tokio::sync::watch::Receiver<super::hub::Kill>) -> Flow {
    match kill.borrow().clone() {
        Some((code, reason)) => Flow::Close(code, reason),
        None => Flow::Close(close::REPLACED, "replaced by a newer connection".into()),
    }
}

async fn serve(
    conn: &mut Conn,
    stream: &mut MessageStream,
    rx: &mut tokio::sync::mpsc::Receiver<ServerMsg>,
    position: &mut tokio::sync::watch::Receiver<Option<super::protocol::Position>>,
    queue: &mut tokio::sync::watch::Receiver<Option<super::protocol::QueueView>>,
    kill: &mut tokio::sync::watch::Receiver<super::hub::Kill>,
    resume: Option<(String, u64)>,
) -> Flow {
    let state = conn.state.clone();
    let t = conn.ticket.clone();
    let live = state.settings.live.clone();

    let resumed = match &resume {
        Some((token, _)) => match state.broker.get(&resume_key(token)).await {
            Ok(Some(b)) => serde_json::from_slice::<ResumeRecord>(&b)
                .is_ok_and(|r| r.session_id == t.session_id && r.user_id == t.user_id),
            _ => false,
        },
        None => false,
    };
    let token = random_token(24);
    let record = ResumeRecord {
        session_id: t.session_id,
        user_id: t.user_id,
    };
    let grace = Duration::from_secs(live.grace_waiting_secs.max(1) as u64 + 60);
    if let Ok(b) = serde_json::to_vec(&record) {
        let _ = state.broker.set(&resume_key(&token), &b, grace).await;
    }
    if !greet(conn, &t, resumed, resume.as_ref().map(|r| r.1), token).await {
        return Flow::Continue;
    }

    let mut ping = tokio::time::interval(Duration::from_secs(live.ping_interval_secs.max(1)));
    ping.tick().await;
    let idle = Duration::from_secs(live.idle_timeout_secs.max(1));
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            // Queued messages go out before a close takes effect.
            biased;
            frame = stream.next() => {
                let Some(frame) = frame else { return Flow::Continue };
                heard = Instant::now();
                match frame {
                    Ok(Message::Text(text)) => {
                        if let Flow::Close(c, r) = conn.handle_text(&text).await {
                            return Flow::Close(c, r);
                        }
                    }
                    Ok(Message::Ping(b)) => {
                        let _ = conn.session.pong(&b).await;
                    }
                    Ok(Message::Pong(_)) => {}
                    Ok(Message::Binary(_)) => {
                        if let Flow::Close(c, r) = conn.violation(ErrorCode::BadMessage, "send JSON text frames".into(), None).await {
                            return Flow::Close(c, r);
                        }
                    }
                    Ok(Message::Close(_)) => return Flow::Continue,
                    Ok(Message::Continuation(_)) | Ok(Message::Nop) => {}
                    Err(ProtocolError::Overflow) => {
                        return Flow::Close(1009, format!("frames are limited to {} bytes", live.max_frame_bytes));
                    }
                    Err(_) => return Flow::Close(1002, "protocol error".into()),
                }
            }
            msg = rx.recv() => {
                let Some(msg) = msg else { return gone(kill) };
                if !conn.send(&msg).await { return Flow::Continue; }
            }
            Some(reply) = conn.replies.recv() => {
                if !conn.finished(reply).await { return Flow::Continue; }
            }
            changed = position.changed() => {
                if changed.is_err() { return gone(kill); }
                let latest = position.borrow_and_update().clone();
                if let Some(p) = latest {
                    if !conn.send(&ServerMsg::Position(p)).await { return Flow::Continue; }
                }
            }
            changed = queue.changed() => {
                if changed.is_err() { return gone(kill); }
                let latest = queue.borrow_and_update().clone();
                if let Some(q) = latest {
                    if !conn.send(&ServerMsg::Queue(q)).await { return Flow::Continue; }
                }
            }
            changed = kill.changed() => {
                // The hub may drop the sender right after setting it (a replaced socket), so
                // read the last value either way.
                let latest = kill.borrow_and_update().clone();
                if changed.is_err() && latest.is_none() { return Flow::Continue; }
                if let Some((code, reason)) = latest {
                    // The socket's own command may be what closes it (`end_session`): let it
                    // finish its work first.
                    conn.settle().await;
                    return Flow::Close(code, reason);
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > idle {
                    return Flow::Close(close::IDLE, "nothing heard from the client".into());
                }
                if !conn.send(&ServerMsg::Ping).await { return Flow::Continue; }
                let _ = conn.session.ping(b"").await;
            }
        }
    }
}
