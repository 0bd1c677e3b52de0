//! Live rooms over real WebSockets against the real server.
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures_util::{SinkExt, StreamExt};
use minxin::auth::Role;
use minxin::clock::Clock;
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{spawn_with, TestApp};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn shanghai(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub struct Client {
    pub ws: Socket,
    seq: u64,
    /// Every message received, in order.
    pub seen: Vec<Value>,
    pub closed: Option<(u16, String)>,
}

impl Client {
    pub fn new(ws: Socket) -> Self {
        Self {
            ws,
            seq: 0,
            seen: Vec::new(),
            closed: None,
        }
    }

    pub async fn send(&mut self, kind: &str, data: Option<Value>) {
        self.seq += 1;
        let mut m = json!({ "v": 1, "seq": self.seq, "type": kind });
        if let Some(d) = data {
            m["data"] = d;
        }
        self.ws.send(Message::Text(m.to_string())).await.unwrap();
    }

    /// Reads until a message matches, failing after `secs`.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.until_within(what, 5, pred).await
    }

    pub async fn until_within(
        &mut self,
        what: &str,
        secs: u64,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = tokio::time::timeout(left, self.ws.next()).await;
            match next {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    self.closed = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    panic!(
                        "closed {:?} while waiting for {what}; seen {:?}",
                        self.closed, self.seen
                    );
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("socket error {e} while waiting for {what}"),
                Ok(None) => panic!("socket ended while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}; seen {:#?}", self.seen),
            }
        }
    }

    pub async fn event(&mut self, name: &str) -> Value {
        self.until(name, |m| m["type"] == "event" && m["data"]["event"] == name)
            .await
    }

    pub async fn position(&mut self, ahead: u64) -> Value {
        self.until(&format!("position {ahead}"), |m| {
            m["type"] == "position" && m["data"]["ahead"].as_u64() == Some(ahead)
        })
        .await
    }

    pub async fn error(&mut self, code: &str) -> Value {
        self.until(code, |m| m["type"] == "error" && m["data"]["code"] == code)
            .await
    }

    /// Reads until the server closes; returns the close code.
    pub async fn closed(&mut self, secs: u64) -> u16 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                }
                Ok(Some(Ok(Message::Text(t)))) => self.seen.push(serde_json::from_str(&t).unwrap()),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_))) | Ok(None) => return 1006,
                Err(_) => panic!("not closed within {secs}s; seen {:?}", self.seen),
            }
        }
    }

    pub fn welcome(&self) -> &Value {
        &self.seen[0]["data"]
    }
}

pub struct Room {
    pub app: TestApp,
    pub session: i64,
    pub admin: String,
    pub leader: String,
    pub leader_id: i64,
}

/// A published rota with one session, Tuesday 2025-09-30 19:30–21:00, started by its leader.
pub async fn live_room(configure: impl FnOnce(&mut minxin::config::Settings)) -> Room {
    let room = scheduled_room(configure).await;
    let started = room
        .app
        .post(
            &format!("/api/v1/live-sessions/{}/start", room.session),
            Some(&room.leader),
            json!({}),
        )
        .await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    room
}

/// The same session, published but not started, at 19:25 on its day.
pub async fn scheduled_room(configure: impl FnOnce(&mut minxin::config::Settings)) -> Room {
    let app = spawn_with(|s| {
        s.auth.access_ttl_secs = 90 * 24 * 3600;
        s.live.tick_ms = 50;
        s.live.ice_urls = vec!["turn:127.0.0.1:3478".into(), "stun:127.0.0.1:3478".into()];
        s.live.turn_secret = minxin::config::Secret::new("coturn-shared-secret");
        s.live.trtc_sdk_app_id = 1_400_000_001;
        s.live.trtc_key = minxin::config::Secret::new("trtc-secret-key");
        configure(s);
    })
    .await;
    app.clock.set(shanghai(2025, 9, 29, 10, 0));
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (leader, l) = app.user_with_role(Role::Leader).await;
    let leader_id = l["id"].as_i64().unwrap();
    let r = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/leaders/{leader_id}")))
                .bearer_auth(&admin)
                .json(&json!({ "display_name": "张县长", "title": "县长" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let rota = app
        .post(
            "/api/v1/rotas",
            Some(&admin),
            // No holiday calendar here: this test is about the room, not the holidays.
            json!({ "range_start": "2025-09-29", "range_end": "2025-10-01", "accept_missing_holidays": true }),
        )
        .await;
    assert_eq!(rota.status, 201, "{:?}", rota.body);
    let rota_id = rota.body["id"].as_i64().unwrap();
    let published = app
        .post(
            &format!("/api/v1/rotas/{rota_id}/publish"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(published.status, 200, "{:?}", published.body);
    let session = published.body["sessions"][0]["id"].as_i64().unwrap();
    app.clock.set(shanghai(2025, 9, 30, 19, 25));
    Room {
        app,
        session,
        admin,
        leader,
        leader_id,
    }
}

impl Room {
    pub async fn ticket(&self, token: &str) -> crate::common::Resp {
        self.app
            .post(
                &format!("/api/v1/live/sessions/{}/ticket", self.session),
                Some(token),
                json!({}),
            )
            .await
    }

    pub async fn connect(&self, token: &str) -> Client {
        self.connect_with(token, "").await
    }

    pub async fn connect_with(&self, token: &str, extra: &str) -> Client {
        let t = self.ticket(token).await;
        assert_eq!(t.status, 200, "{:?}", t.body);
        let url = format!(
            "{}{}{extra}",
            self.app.addr.replace("http://", "ws://"),
            t.body["url"].as_str().unwrap()
        );
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut c = Client::new(ws);
        c.until("welcome", |m| m["type"] == "welcome").await;
        c
    }

    pub async fn resident(&self, name: &str) -> (String, i64) {
        let (token, body) = self.app.resident(name).await;
        (token, body["user"]["id"].as_i64().unwrap())
    }
}

#[tokio::test]
async fn queue_order_positions_calls_turns_and_media() {
    let room = live_room(|_| {}).await;
    let (a_tok, a) = room.resident("walkin").await;
    let (b_tok, b) = room.resident("registered").await;
    let (c_tok, _c) = room.resident("late").await;
    // B registered a topic in advance (before the session went live it would be; the API
    // allows it up to the start, so register through the database here).
    entity::live_registrations::Entity::insert(entity::live_registrations::ActiveModel {
        session_id: sea_orm::Set(room.session),
        user_id: sea_orm::Set(b),
        topic: sea_orm::Set("通村路塌方".into()),
        status: sea_orm::Set(entity::live_registrations::RegistrationStatus::Registered),
        hold_reason: sea_orm::Set(None),
        created_at: sea_orm::Set(room.app.clock.now()),
        updated_at: sea_orm::Set(room.app.clock.now()),
        ..Default::default()
    })
    .exec(&room.app.state.db)
    .await
    .unwrap();

    let mut leader = room.connect(&room.leader).await;
    assert_eq!(leader.welcome()["role"], "leader");
    assert_eq!(leader.welcome()["user_id"].as_i64(), Some(room.leader_id));
    let mut ca = room.connect(&a_tok).await;
    assert_eq!(ca.welcome()["state"], "idle");
    ca.send("join", Some(json!({ "topic": "问路灯" }))).await;
    ca.position(0).await;
    let mut cb = room.connect(&b_tok).await;
    cb.send("join", None).await;
    cb.position(0).await;
    ca.position(1).await; // the pre-registered resident goes first
    let mut cc = room.connect(&c_tok).await;
    cc.send("join", None).await;
    let p = cc.position(2).await;
    assert!(p["data"]["estimated_wait_secs"].as_u64().unwrap() > 0);
    let q = leader
        .until("queue of 3", |m| {
            m["type"] == "queue" && m["data"]["waiting"].as_array().map(Vec::len) == Some(3)
        })
        .await;
    assert_eq!(q["data"]["waiting"][0]["topic"], "通村路塌方");
    // Residents see only their own place, never the queue or others' events.
    assert!(ca.seen.iter().all(|m| m["type"] != "queue"));

    leader.send("call_next", None).await;
    let called = cb.event("called").await;
    assert_eq!(called["data"]["user_id"].as_i64(), Some(b));
    ca.position(0).await;
    cc.position(1).await;
    assert!(
        !ca.seen.iter().any(|m| m["data"]["event"] == "called"),
        "A does not see B's call"
    );
    // Only the called resident may confirm; residents may not host.
    ca.send("confirm", None).await;
    ca.error("not_called").await;
    ca.send("call_next", None).await;
    ca.error("forbidden").await;
    leader.send("join", None).await;
    leader.error("forbidden").await;

    cb.send("confirm", None).await;
    cb.event("on_stage").await;
    let media = cb.until("media", |m| m["type"] == "media").await;
    let ice = &media["data"]["ice_servers"][0];
    let username = ice["username"].as_str().unwrap();
    let (expiry, user) = username.split_once(':').unwrap();
    assert_eq!(user, b.to_string());
    assert!(expiry.parse::<i64>().unwrap() > room.app.clock.now().timestamp());
    assert!(ice["credential"].as_str().unwrap().ends_with('='));
    // Mini-program clients get a TRTC UserSig for the session's room, signed with the key.
    let trtc = &media["data"]["trtc"];
    assert_eq!(trtc["room_id"].as_i64(), Some(room.session));
    minxin::live::media::verify_trtc_user_sig(
        1_400_000_001,
        "trtc-secret-key",
        &b.to_string(),
        trtc["user_sig"].as_str().unwrap(),
        room.app.clock.now().timestamp(),
    )
    .unwrap();
    leader
        .until("media for the leader", |m| m["type"] == "media")
        .await;

    // SDP and ICE pass between the leader and the resident on stage, and nobody else.
    leader
        .send("signal", Some(json!({ "payload": { "sdp": "offer-sdp" } })))
        .await;
    let got = cb.until("signal", |m| m["type"] == "signal").await;
    assert_eq!(
        (
            got["data"]["from"].as_str(),
            got["data"]["payload"]["sdp"].as_str()
        ),
        (Some("leader"), Some("offer-sdp"))
    );
    cb.send(
        "signal",
        Some(json!({ "payload": { "sdp": "answer-sdp" } })),
    )
    .await;
    let got = leader.until("signal", |m| m["type"] == "signal").await;
    assert_eq!(got["data"]["from"], "stage");
    ca.send("signal", Some(json!({ "payload": { "sdp": "intruder" } })))
        .await;
    ca.error("not_on_stage").await;
    let media_http = room
        .app
        .post(
            &format!("/api/v1/live/sessions/{}/media", room.session),
            Some(&b_tok),
            json!({}),
        )
        .await;
    assert_eq!(media_http.status, 200, "{:?}", media_http.body);
    let refused = room
        .app
        .post(
            &format!("/api/v1/live/sessions/{}/media", room.session),
            Some(&a_tok),
            json!({}),
        )
        .await;
    assert_eq!((refused.status, refused.code()), (409, "not_on_stage"));

    // The turn warns before its end and the server closes it.
    room.app.clock.advance(chrono::Duration::seconds(600 - 59));
    let w = cb.event("turn_warning").await;
    assert!(w["data"]["secs_left"].as_i64().unwrap() <= 60);
    leader.send("extend", Some(json!({ "secs": 0 }))).await;
    leader.error("invalid").await;
    room.app.clock.advance(chrono::Duration::seconds(60));
    let ended = cb.event("turn_ended").await;
    assert_eq!(ended["data"]["reason"], "time_up");
    let after = room
        .app
        .post(
            &format!("/api/v1/live/sessions/{}/media", room.session),
            Some(&b_tok),
            json!({}),
        )
        .await;
    assert_eq!(
        (after.status, after.code()),
        (409, "not_on_stage"),
        "no credentials after the turn"
    );
    // Every action is in the event log (written just after the room announces it, so the
    // last one may land a moment after the socket heard of it).
    let wanted = ["joined", "called", "on_stage", "turn_warning", "turn_ended"];
    let mut kinds: Vec<String> = Vec::new();
    for _ in 0..50 {
        kinds = entity::live_room_events::Entity::find()
            .all(&room.app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        if wanted.iter().all(|k| kinds.iter().any(|x| x == k)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for k in wanted {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    let _ = a;
}

#[tokio::test]
async fn a_missed_call_defers_once_then_drops() {
    let room = live_room(|s| s.live.defer_places = 1).await;
    let mut leader = room.connect(&room.leader).await;
    let mut clients = Vec::new();
    for name in ["one", "two", "three"] {
        let (tok, id) = room.resident(name).await;
        let mut c = room.connect(&tok).await;
        c.send("join", None).await;
        c.until("position", |m| m["type"] == "position").await;
        clients.push((c, id));
    }
    leader.send("call_next", None).await;
    clients[0].0.event("called").await;
    room.app.clock.advance(chrono::Duration::seconds(31));
    let d = clients[0].0.event("deferred").await;
    assert_eq!(
        d["data"]["position"], 1,
        "moved back one place, not dropped"
    );
    clients[0].0.position(1).await;
    leader
        .send("call", Some(json!({ "user_id": clients[0].1 })))
        .await;
    clients[0].0.event("called").await;
    leader.send("skip", None).await;
    clients[0].0.event("dropped").await;
    leader
        .send("defer", Some(json!({ "user_id": 999_999 })))
        .await;
    leader.error("not_waiting").await;
    leader.send("call_next", None).await;
    clients[1].0.event("called").await;
    leader.send("call_next", None).await;
    leader.error("stage_busy").await;
    leader
        .send("remove", Some(json!({ "user_id": clients[2].1 })))
        .await;
    clients[2].0.event("removed").await;
    leader.send("end_turn", None).await;
    leader.event("turn_ended").await;
    leader.send("call_next", None).await;
    leader.error("queue_empty").await;
}

#[tokio::test]
async fn reconnects_keep_places_replay_what_was_missed_and_replace_old_sockets() {
    let room = live_room(|s| s.live.grace_waiting_secs = 60).await;
    let mut leader = room.connect(&room.leader).await;
    let (a_tok, _) = room.resident("first").await;
    let (b_tok, b) = room.resident("second").await;
    let mut ca = room.connect(&a_tok).await;
    ca.send("join", None).await;
    ca.position(0).await;
    let mut cb = room.connect(&b_tok).await;
    cb.send("join", None).await;
    cb.position(1).await;
    let resume = cb.welcome()["resume_token"].as_str().unwrap().to_string();
    let last_seq = cb.welcome()["room_seq"].as_u64().unwrap();
    // B's phone drops; while away, the leader pauses intake.
    drop(cb);
    leader
        .until("b away", |m| m["data"]["event"] == "away")
        .await;
    leader.send("pause", None).await;
    leader.event("paused").await;
    // Back within the grace period with the resume token: same place, and the missed pause.
    let mut cb = room
        .connect_with(&b_tok, &format!("&resume={resume}&last_seq={last_seq}"))
        .await;
    assert_eq!(cb.welcome()["resumed"], true);
    assert_eq!(cb.welcome()["state"], "waiting");
    let replay = cb.until("replay", |m| m["type"] == "replay").await;
    let events: Vec<&str> = replay["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"paused"), "{events:?}");
    cb.position(1).await;

    // A second connection of the same user replaces the first; it is never refused.
    let mut cb2 = room.connect(&b_tok).await;
    assert_eq!(
        cb2.welcome()["resumed"],
        false,
        "no token: a fresh snapshot"
    );
    assert_eq!(cb.closed(5).await, 4001);
    cb2.position(1).await;
    // Gone longer than the grace period: the place is lost.
    drop(cb2);
    leader
        .until("b away again", |m| {
            m["data"]["event"] == "away" && m["data"]["user_id"].as_i64() == Some(b)
        })
        .await;
    room.app.clock.advance(chrono::Duration::seconds(61));
    leader
        .until("b dropped", |m| {
            m["data"]["event"] == "dropped" && m["data"]["user_id"].as_i64() == Some(b)
        })
        .await;
    let cb3 = room.connect(&b_tok).await;
    assert_eq!(cb3.welcome()["state"], "idle");
    drop(ca);
}

#[tokio::test]
async fn limits_and_refusals() {
    let room = live_room(|s| {
        s.live.max_queue = 1;
        s.live.messages_per_second = 5;
        s.live.max_frame_bytes = 1024;
    })
    .await;
    // Tickets: single use, role-checked, only for live sessions.
    let (tok, _) = room.resident("r").await;
    let t = room.ticket(&tok).await;
    let url = format!(
        "{}{}",
        room.app.addr.replace("http://", "ws://"),
        t.body["url"].as_str().unwrap()
    );
    let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    drop(ws);
    let reused = tokio_tungstenite::connect_async(&url).await;
    assert!(reused.is_err(), "a ticket works once");
    let bogus = room.app.get("/api/v1/live/ws?ticket=nope", None).await;
    assert_eq!((bogus.status, bogus.code()), (401, "invalid_ticket"));
    let (other_leader, _) = room.app.user_with_role(Role::Leader).await;
    let r = room.ticket(&other_leader).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "not_your_session"),
        "{:?}",
        r.body
    );
    let (handler, _) = room.app.user_with_role(Role::Handler).await;
    assert_eq!(room.ticket(&handler).await.status, 403);
    let (office, _) = room.app.user_with_role(Role::Office).await;
    let m = room.connect(&office).await;
    assert_eq!(m.welcome()["role"], "moderator");
    let missing = room
        .app
        .post("/api/v1/live/sessions/999999/ticket", Some(&tok), json!({}))
        .await;
    assert_eq!(missing.status, 404);

    // Queue length.
    let mut c1 = room.connect(&tok).await;
    c1.send("join", None).await;
    c1.position(0).await;
    let (tok2, _) = room.resident("r2").await;
    let mut c2 = room.connect(&tok2).await;
    c2.send("join", None).await;
    c2.error("queue_full").await;
    // Malformed messages and a flood: errors, then a close with the documented code.
    c2.ws.send(Message::Text("{not json".into())).await.unwrap();
    c2.error("bad_message").await;
    for _ in 0..30 {
        c2.send("ping", None).await;
    }
    assert_eq!(c2.closed(5).await, 4009);
    // An oversized frame closes with 1009.
    let big = json!({ "v": 1, "seq": 9, "type": "join", "data": { "topic": "长".repeat(2000) } });
    c1.ws.send(Message::Text(big.to_string())).await.unwrap();
    assert_eq!(c1.closed(5).await, 1009);

    // After the session ends, residents can no longer get tickets.
    let mut leader = room.connect(&room.leader).await;
    leader.send("end_session", None).await;
    assert_eq!(leader.closed(5).await, 4010);
    let s = room
        .app
        .get(
            &format!("/api/v1/live-sessions/{}", room.session),
            Some(&room.admin),
        )
        .await;
    assert_eq!(s.body["status"], "ended", "{:?}", s.body);
    let late = room.ticket(&tok).await;
    assert_eq!((late.status, late.code()), (409, "session_not_live"));
    let _ = CloseCode::Normal;
}

#[tokio::test]
async fn a_silent_socket_is_closed_and_keeps_its_place_for_the_grace_period() {
    let room = live_room(|s| {
        s.live.ping_interval_secs = 1;
        s.live.idle_timeout_secs = 2;
    })
    .await;
    let mut leader = room.connect(&room.leader).await;
    let (tok, id) = room.resident("sleepy").await;
    let mut c = room.connect(&tok).await;
    c.send("join", None).await;
    c.position(0).await;
    // The app goes to the background: nothing read, nothing answered (the leader stays active).
    for _ in 0..8 {
        leader.send("pong", None).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The server gave up on it (the close frame may be lost to the reset that follows).
    leader
        .until("away", |m| {
            m["data"]["event"] == "away" && m["data"]["user_id"].as_i64() == Some(id)
        })
        .await;
    assert!([4002, 1006].contains(&c.closed(5).await));
    let q = leader.until("still queued", |m| m["type"] == "queue").await;
    let _ = q;
    let back = room.connect(&tok).await;
    assert_eq!(back.welcome()["state"], "waiting");
}
