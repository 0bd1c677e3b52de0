//! Redis going away and coming back, on a private `redis-server` each test starts on a free
//! port (never the shared one): HTTP answers 503 at once and recovers within seconds, live
//! rooms hear again after their subscription is lost, and a stalled broker never freezes a
//! socket. These run in both CI passes; they fail loudly if `redis-server` is missing.
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::live::{live_room, Client, Room};

pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut r = Self { port, child: None };
        r.restart().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port, empty, and waits until it answers.
    pub async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is required for this test (Debian package redis-server)");
        self.child = Some(child);
        for _ in 0..100 {
            if self.cli(&["PING"]).trim() == "PONG" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("private redis-server on port {} did not start", self.port);
    }

    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli is required for this test (Debian package redis-tools)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn room_on(
    redis: &PrivateRedis,
    configure: impl FnOnce(&mut minxin::config::Settings),
) -> Room {
    let url = redis.url();
    live_room(move |s| {
        s.redis_url = minxin::config::Secret::new(url);
        s.redis_prefix = format!("outage:{}:", uuid::Uuid::new_v4().simple());
        configure(s);
    })
    .await
}

fn queue_of(n: usize) -> impl Fn(&Value) -> bool {
    move |m| m["type"] == "queue" && m["data"]["waiting"].as_array().map(Vec::len) == Some(n)
}

#[tokio::test]
async fn a_redis_restart_answers_503_at_once_and_recovers_within_5s() {
    let mut redis = PrivateRedis::start().await;
    let room = room_on(&redis, |_| {}).await;
    let (tok, _) = room.resident("outage").await;
    let mut leader = room.connect(&room.leader).await;
    let mut resident = room.connect(&tok).await;

    redis.kill();
    for i in 0..3 {
        let started = Instant::now();
        let login = room.app.login(&format!("down{i}-1")).await;
        let took = started.elapsed();
        assert_eq!(login.status, 503, "{:?}", login.body);
        assert_eq!(login.code(), "broker_unavailable");
        assert!(login.headers.contains_key("retry-after"));
        assert!(took < Duration::from_secs(3), "login took {took:?}");

        let started = Instant::now();
        let ticket = room.ticket(&tok).await;
        let took = started.elapsed();
        assert_eq!(ticket.status, 503, "{:?}", ticket.body);
        assert_eq!(ticket.code(), "broker_unavailable");
        assert!(ticket.headers.contains_key("retry-after"));
        assert!(took < Duration::from_secs(3), "ticket took {took:?}");

        let media = format!("/api/v1/live/sessions/{}/media", room.session);
        let r = room
            .app
            .post(&media, Some(&tok), serde_json::json!({}))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (503, "broker_unavailable"),
            "{:?}",
            r.body
        );
        assert!(r.headers.contains_key("retry-after"));
    }

    redis.restart().await;
    let back = Instant::now();
    loop {
        let login = room.app.login("back-1").await;
        let ticket = room.ticket(&tok).await;
        if login.status == 200 && ticket.status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "not recovered 5 s after Redis came back: login {} ticket {}",
            login.status,
            ticket.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Sockets opened before the outage hear the room again (the restarted Redis is empty, so
    // the room starts afresh).
    resident.send("join", None).await;
    resident.position(0).await;
    leader.until("queue of 1", queue_of(1)).await;
    assert!(
        back.elapsed() < Duration::from_secs(10),
        "live room slow to recover"
    );
}

#[tokio::test]
async fn live_rooms_hear_again_after_their_subscription_is_killed() {
    let redis = PrivateRedis::start().await;
    let room = room_on(&redis, |_| {}).await;
    let mut leader = room.connect(&room.leader).await;
    let (a_tok, _) = room.resident("first").await;
    let mut a = room.connect(&a_tok).await;
    a.send("join", None).await;
    a.position(0).await;
    leader.until("queue of 1", queue_of(1)).await;
    let (b_tok, _) = room.resident("second").await;
    let mut b = room.connect(&b_tok).await;

    let killed = redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    assert_ne!(
        killed.trim(),
        "0",
        "the instance had a subscription to kill"
    );
    // Re-subscribed, the instance sends fresh views although nothing changed in the room.
    leader.seen.clear();
    leader.until("fresh queue after the gap", queue_of(1)).await;
    // And it hears changes again.
    b.send("join", None).await;
    b.position(1).await;
    leader.until("queue of 2", queue_of(2)).await;
}

#[tokio::test]
async fn a_stalled_broker_does_not_freeze_the_socket() {
    let redis = PrivateRedis::start().await;
    let room = room_on(&redis, |s| {
        s.live.ping_interval_secs = 1;
        s.live.idle_timeout_secs = 3;
    })
    .await;
    let mut leader = room.connect(&room.leader).await;
    let (tok, id) = room.resident("patient").await;
    let mut resident = room.connect(&tok).await;
    resident.send("join", None).await;
    resident.position(0).await;

    assert_eq!(redis.cli(&["CLIENT", "PAUSE", "4000", "ALL"]).trim(), "OK");
    leader.send("call_next", None).await;
    let call_seq = 1;
    let asked = Instant::now();
    leader.send("ping", None).await;
    leader.until("pong", |m| m["type"] == "pong").await;
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "pong took {:?} behind a command waiting on the broker",
        asked.elapsed()
    );
    // The client keeps talking during the stall and is not blamed for it.
    let refused = until_pinging(&mut leader, 8, |m| {
        m["type"] == "error" && m["data"]["in_reply_to"].as_u64() == Some(call_seq)
    })
    .await;
    assert_eq!(refused["data"]["code"], "broker_unavailable", "{refused}");
    assert!(
        asked.elapsed() < Duration::from_secs(7),
        "{:?}",
        asked.elapsed()
    );

    // Once the stall is over (4 s) the same socket works again, within 5 s.
    loop {
        leader.send("call_next", None).await;
        let answer = until_pinging(&mut leader, 8, |m| {
            m["type"] == "error" || m["data"]["event"] == "called"
        })
        .await;
        if answer["data"]["event"] == "called" {
            assert_eq!(answer["data"]["user_id"].as_i64(), Some(id));
            break;
        }
        assert!(asked.elapsed() < Duration::from_secs(9), "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads until `pred`, sending a ping every 300 ms meanwhile, as an attentive client does.
async fn until_pinging(c: &mut Client, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        c.send("ping", Some(json!({}))).await;
        let found = tokio::time::timeout(Duration::from_millis(300), c.until_within("", 1, &pred));
        if let Ok(v) = found.await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "not seen within {secs}s: {:?}",
            c.seen
        );
    }
}
