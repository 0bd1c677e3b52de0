//! The settings of each capability's own section: `[live]`, `[board]`, `[rota]`, `[channels]`
//! (shared infrastructure, auth, WeChat and HTTP stay in `config/mod.rs`).
use serde::{Deserialize, Serialize};

use super::Secret;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct LiveSettings {
    /// STUN/TURN URLs handed to browser clients (`turn:host:3478`, `stun:host:3478`).
    pub ice_urls: Vec<String>,
    /// coturn `static-auth-secret` for time-limited TURN credentials; empty: no credentials.
    pub turn_secret: Secret,
    /// Tencent TRTC SDKAppID for mini-program clients; 0 disables TRTC.
    pub trtc_sdk_app_id: u64,
    pub trtc_key: Secret,
    pub confirm_secs: i64,
    pub turn_secs: i64,
    pub defer_places: usize,
    pub max_queue: usize,
    pub grace_waiting_secs: i64,
    pub grace_stage_secs: i64,
    pub max_frame_bytes: usize,
    pub messages_per_second: u32,
    pub ping_interval_secs: u64,
    pub idle_timeout_secs: u64,
    /// Messages that may wait for one slow client before it is disconnected.
    pub send_buffer: usize,
    /// Milliseconds between two runs of a room's timers.
    pub tick_ms: u64,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            ice_urls: Vec::new(),
            turn_secret: Secret::default(),
            trtc_sdk_app_id: 0,
            trtc_key: Secret::default(),
            confirm_secs: 30,
            turn_secs: 600,
            defer_places: 3,
            max_queue: 20_000,
            grace_waiting_secs: 180,
            grace_stage_secs: 20,
            max_frame_bytes: 16 * 1024,
            messages_per_second: 20,
            ping_interval_secs: 15,
            idle_timeout_secs: 45,
            send_buffer: 256,
            tick_ms: 500,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct BoardSettings {
    /// Days a resident has to rate a published reply before it closes as "not rated".
    pub rating_days: i64,
    /// Working days an appeal may stay overdue before it escalates.
    pub escalate_after_working_days: i64,
    /// How often the supervision round runs (seconds); 0 disables the background loop.
    pub supervision_interval_secs: u64,
    /// Public board reads per client address per minute; 0 disables the limit.
    pub reads_per_minute: u64,
}

impl Default for BoardSettings {
    fn default() -> Self {
        Self {
            rating_days: 7,
            escalate_after_working_days: 2,
            supervision_interval_secs: 60,
            reads_per_minute: 300,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct RotaSettings {
    /// Weekdays of the leaders' sessions when a rota is generated, e.g. `["tue", "thu"]`.
    pub weekdays: Vec<String>,
    /// Local (Asia/Shanghai) start and end of a session, `HH:MM`.
    pub start: String,
    pub end: String,
    /// A session may be started from this many minutes before its start time…
    pub start_early_mins: i64,
    /// …until this many minutes after it; a session not started by then is missed.
    pub start_late_mins: i64,
    /// How often sessions never started are marked missed (seconds); 0 disables the loop.
    pub lifecycle_interval_secs: u64,
    /// Domain part of the iCalendar UIDs; keep it fixed once calendars subscribe.
    pub ical_domain: String,
}

impl Default for RotaSettings {
    fn default() -> Self {
        Self {
            weekdays: vec!["tue".into(), "thu".into()],
            start: "19:30".into(),
            end: "21:00".into(),
            start_early_mins: 30,
            start_late_mins: 30,
            lifecycle_interval_secs: 60,
            ical_domain: "minxin.local".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct ChannelSettings {
    /// The channels an appeal may come in by; `mini_program` is always accepted (the app's own).
    pub names: Vec<String>,
    /// Largest export file an import accepts, in bytes.
    pub import_max_bytes: usize,
    /// Rows one import file may hold at most.
    pub import_max_rows: usize,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        Self {
            names: [
                "mini_program",
                "hotline",
                "mailbox",
                "live_session",
                "other_app",
            ]
            .map(String::from)
            .to_vec(),
            import_max_bytes: 32 * 1024 * 1024,
            import_max_rows: 50_000,
        }
    }
}
