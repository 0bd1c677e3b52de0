//! The control-plane protocol: one versioned JSON envelope both ways,
//! `{"v":1,"type":"…","seq":n,"ack":m,"data":{…}}`. `seq` counts each side's messages on this
//! connection; `ack` is the last `seq` the sender has processed from the other side.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::media::IceServer;
use super::room::RoomEvent;

pub const VERSION: u8 = 1;

/// What a client may send.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ClientMsg {
    // Residents
    Join {
        #[serde(default)]
        topic: Option<String>,
    },
    Leave {},
    Confirm {},
    // Hosts (the session's leader, office staff)
    CallNext {},
    Call {
        user_id: i64,
    },
    Skip {},
    Defer {
        user_id: i64,
    },
    Remove {
        user_id: i64,
    },
    Extend {
        secs: i64,
    },
    Pause {},
    Resume {},
    EndTurn {},
    EndSession {},
    // Both
    /// WebRTC offer/answer/candidate, relayed only between the leader and the resident on stage.
    Signal {
        payload: Value,
    },
    Ping {},
    Pong {},
}

#[derive(Debug, Clone)]
pub struct Incoming {
    pub v: u8,
    pub seq: u64,
    pub ack: Option<u64>,
    pub msg: ClientMsg,
}

#[derive(Deserialize)]
struct Envelope {
    v: u8,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    ack: Option<u64>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<Value>,
}

impl Incoming {
    /// Parses one client frame; `data` may be left out for messages that carry nothing.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let e: Envelope = serde_json::from_str(text)?;
        let data = match e.data {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(d) => d,
        };
        let msg = serde_json::from_value(serde_json::json!({ "type": e.kind, "data": data }))?;
        Ok(Self {
            v: e.v,
            seq: e.seq,
            ack: e.ack,
            msg,
        })
    }
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome(Welcome),
    /// A resident's own place: sent when it changes, coalesced.
    Position(Position),
    /// Hosts: the whole queue, coalesced.
    Queue(QueueView),
    /// Something that happened in the room (residents get only their own).
    Event(RoomEvent),
    /// Events missed while away, replayed after a resume.
    Replay {
        events: Vec<RoomEvent>,
    },
    /// Credentials for the media plane, while on stage.
    Media(MediaGrant),
    Signal {
        from: String,
        payload: Value,
    },
    Error(WsError),
    Ping,
    Pong,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Welcome {
    pub session_id: i64,
    pub user_id: i64,
    /// `resident`, `leader` or `moderator`.
    pub role: String,
    /// Present it with `resume` when reconnecting to keep your place and get what you missed.
    pub resume_token: String,
    /// The room's event counter: pass it as `last_seq` when resuming.
    pub room_seq: u64,
    pub resumed: bool,
    pub state: YouState,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum YouState {
    Idle,
    Waiting,
    Called,
    OnStage,
    Host,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub messages_per_second: u32,
    pub ping_interval_secs: u64,
    pub idle_timeout_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Position {
    /// People ahead of you (0: you are next).
    pub ahead: usize,
    pub position: usize,
    pub estimated_wait_secs: u64,
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueView {
    pub room_seq: u64,
    pub waiting: Vec<QueueItem>,
    pub stage: Option<StageView>,
    pub paused: bool,
    pub ended: bool,
    pub served: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    pub user_id: i64,
    pub registered: bool,
    pub topic: Option<String>,
    pub deferred: bool,
    pub away: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageView {
    pub user_id: i64,
    pub topic: Option<String>,
    /// `called` or `on_stage`.
    pub phase: String,
    pub until_ms: i64,
    pub away: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MediaGrant {
    pub ice_servers: Vec<IceServer>,
    /// For mini-program clients (`<live-pusher>`/`<live-player>` with TRTC), when configured.
    pub trtc: Option<TrtcGrant>,
    /// When the credentials lapse, on the real (wall) clock: sent again on `extend`.
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrtcGrant {
    pub sdk_app_id: u64,
    pub user_id: String,
    /// TLS signature v2 bound to `room_id` (its privilege map admits this user to this room
    /// only).
    pub user_sig: String,
    /// The same room-bound signature, for `enterRoom`'s `privateMapKey`.
    pub private_map_key: String,
    pub room_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WsError {
    pub code: crate::error::ErrorCode,
    pub message: String,
    /// The `seq` of the client message this answers.
    pub in_reply_to: Option<u64>,
}

#[derive(Serialize)]
struct Outgoing<'a> {
    v: u8,
    seq: u64,
    ack: u64,
    #[serde(flatten)]
    msg: &'a ServerMsg,
}

pub fn encode(msg: &ServerMsg, seq: u64, ack: u64) -> String {
    serde_json::to_string(&Outgoing {
        v: VERSION,
        seq,
        ack,
        msg,
    })
    .unwrap_or_else(|_| "{\"v\":1,\"type\":\"error\"}".into())
}

/// Close codes (WebSocket close frames), documented in the README.
pub mod close {
    /// A newer connection of the same user took over.
    pub const REPLACED: u16 = 4001;
    /// The session was reassigned: this leader no longer hosts it.
    pub const NOT_HOST: u16 = 4003;
    /// Nothing heard from the client within the idle timeout.
    pub const IDLE: u16 = 4002;
    /// The client could not keep up with its messages; reconnect with `resume`.
    pub const TOO_SLOW: u16 = 4008;
    /// Limits broken repeatedly (rate, malformed messages).
    pub const POLICY: u16 = 4009;
    /// The session has ended.
    pub const ENDED: u16 = 4010;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trip() {
        let m =
            Incoming::parse(r#"{"v":1,"seq":3,"type":"join","data":{"topic":"修路"}}"#).unwrap();
        assert_eq!(m.seq, 3);
        assert_eq!(
            m.msg,
            ClientMsg::Join {
                topic: Some("修路".into())
            }
        );
        let m = Incoming::parse(r#"{"v":1,"seq":4,"type":"call_next"}"#).unwrap();
        assert_eq!(m.msg, ClientMsg::CallNext {});
        let m = Incoming::parse(r#"{"v":1,"seq":5,"type":"join"}"#).unwrap();
        assert_eq!(m.msg, ClientMsg::Join { topic: None });
        assert!(Incoming::parse(r#"{"v":1,"type":"hack"}"#).is_err());
        assert!(Incoming::parse(r#"{"v":1,"type":"call","data":{"user_id":"x"}}"#).is_err());
        let out = encode(&ServerMsg::Ping, 7, 3);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (
                v["v"].as_u64(),
                v["type"].as_str(),
                v["seq"].as_u64(),
                v["ack"].as_u64()
            ),
            (Some(1), Some("ping"), Some(7), Some(3))
        );
    }
}
