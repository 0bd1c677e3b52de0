//! Live-room load: relay latency between the leader and the resident on stage, and the time for
//! every waiting resident to learn their new place after "call next" with many waiting.
//! Both need the server's own settings in the environment (DATABASE_URL, REDIS_URL,
//! MINXIN_REDIS_PREFIX, MINXIN_JWT_SECRET, MINXIN_DATA_KEY): the tool seeds a live session and
//! its users in the database and mints their access tokens itself, so thousands of residents
//! need no WeChat logins.
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use entity::live_sessions::SessionStatus;
use entity::rotas::RotaStatus;
use entity::{leaders, live_sessions, rotas, users};
use futures_util::{SinkExt, StreamExt};
use minxin::auth::jwt::JwtKeys;
use minxin::auth::Role;
use minxin::config::Settings;
use minxin::live::room::{Command, Room};
use sea_orm::{EntityTrait, Set};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Setup {
    pub session_id: i64,
    pub leader: String,
    pub residents: Vec<(i64, String)>,
    pub settings: Settings,
}

pub async fn setup(residents: usize) -> anyhow::Result<Setup> {
    let mut settings = Settings::load()?;
    settings.ensure_secrets()?;
    let db = minxin::db::connect(&settings.effective_database_url()).await?;
    minxin::db::migrate(&db).await?;
    let now = Utc::now();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let user = |openid: String, role: Role| users::ActiveModel {
        openid: Set(openid),
        role: Set(role),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let leader_id = users::Entity::insert(user(format!("load_leader_{tag}"), Role::Leader))
        .exec(&db)
        .await?
        .last_insert_id;
    leaders::Entity::insert(leaders::ActiveModel {
        user_id: Set(leader_id),
        display_name: Set("压测县长".into()),
        title: Set("县长".into()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(&db)
    .await?;
    let day = now
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let rota_id = rotas::Entity::insert(rotas::ActiveModel {
        range_start: Set(day.clone()),
        range_end: Set(day.clone()),
        weekdays: Set("mon,tue,wed,thu,fri,sat,sun".into()),
        start_time: Set("00:00".into()),
        end_time: Set("23:59".into()),
        status: Set(RotaStatus::Published),
        version: Set(1),
        created_by: Set(leader_id),
        created_at: Set(now),
        updated_at: Set(now),
        published_at: Set(Some(now)),
        ..Default::default()
    })
    .exec(&db)
    .await?
    .last_insert_id;
    let session_id = live_sessions::Entity::insert(live_sessions::ActiveModel {
        rota_id: Set(rota_id),
        leader_id: Set(Some(leader_id)),
        local_date: Set(day),
        starts_at: Set(now - chrono::Duration::minutes(5)),
        ends_at: Set(now + chrono::Duration::hours(3)),
        status: Set(SessionStatus::Live),
        published_at: Set(Some(now)),
        published_version: Set(Some(1)),
        sequence: Set(0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(&db)
    .await?
    .last_insert_id;
    let mut ids = Vec::with_capacity(residents);
    for chunk in (0..residents).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|i| user(format!("load_{tag}_{i}"), Role::Resident))
            .collect();
        let last = users::Entity::insert_many(rows)
            .exec(&db)
            .await?
            .last_insert_id;
        let first = last - chunk.len() as i64 + 1;
        ids.extend(first..=last);
    }
    let keys = JwtKeys::new(&settings.auth.jwt_secret);
    let token = |id: i64, role: Role| keys.issue(id, role, None, 0, now, 4 * 3600);
    let leader = token(leader_id, Role::Leader)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push((id, token(id, Role::Resident)?));
    }
    Ok(Setup {
        session_id,
        leader,
        residents: out,
        settings,
    })
}

pub struct Client {
    ws: Ws,
    seq: u64,
}

impl Client {
    pub async fn connect(
        http: &reqwest::Client,
        base: &str,
        session: i64,
        token: &str,
    ) -> anyhow::Result<Self> {
        let t: Value = http
            .post(format!("{base}/api/v1/live/sessions/{session}/ticket"))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await?
            .json()
            .await?;
        let path = t["url"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no ticket: {t}"))?;
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("{}{path}", base.replace("http://", "ws://")))
                .await?;
        let mut c = Self { ws, seq: 0 };
        c.until(|m| m["type"] == "welcome", Duration::from_secs(30))
            .await?;
        Ok(c)
    }

    pub async fn send(&mut self, kind: &str, data: Value) -> anyhow::Result<()> {
        self.seq += 1;
        let m = json!({ "v": 1, "seq": self.seq, "type": kind, "data": data });
        self.ws.send(Message::Text(m.to_string())).await?;
        Ok(())
    }

    pub async fn until(
        &mut self,
        pred: impl Fn(&Value) -> bool,
        limit: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = Value::Null;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t)?;
                    if pred(&v) {
                        return Ok(v);
                    }
                    if v["type"] != "ping" {
                        last = v.clone();
                    }
                    if v["type"] == "ping" {
                        self.send("pong", json!({})).await?;
                    }
                }
                Ok(Some(Ok(Message::Close(f)))) => anyhow::bail!("closed: {f:?}"),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(e.into()),
                Ok(None) => anyhow::bail!("socket ended"),
                Err(_) => anyhow::bail!("timed out; last message {last}"),
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    text.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Signals back and forth between the leader (on `url`) and the resident on stage (on `url2`).
pub async fn relay(url: String, url2: Option<String>, messages: usize) -> anyhow::Result<()> {
    let s = setup(1).await?;
    let http = reqwest::Client::new();
    let resident_base = url2.clone().unwrap_or_else(|| url.clone());
    let (_, rtok) = &s.residents[0];
    let mut resident = Client::connect(&http, &resident_base, s.session_id, rtok).await?;
    let mut leader = Client::connect(&http, &url, s.session_id, &s.leader).await?;
    resident.send("join", json!({})).await?;
    resident
        .until(|m| m["type"] == "position", Duration::from_secs(10))
        .await?;
    leader.send("call_next", json!({})).await?;
    resident
        .until(|m| m["data"]["event"] == "called", Duration::from_secs(10))
        .await?;
    resident.send("confirm", json!({})).await?;
    resident
        .until(
            |m| m["data"]["event"] == "on_stage",
            Duration::from_secs(10),
        )
        .await?;
    let base = Instant::now();
    let mut lat = Vec::with_capacity(messages);
    for i in 0..messages {
        let (from, to) = if i % 2 == 0 {
            (&mut leader, &mut resident)
        } else {
            (&mut resident, &mut leader)
        };
        let sent = base.elapsed().as_micros() as u64;
        from.send("signal", json!({ "payload": { "i": i, "t": sent } }))
            .await?;
        let got = to
            .until(
                |m| m["type"] == "signal" && m["data"]["payload"]["i"] == i,
                Duration::from_secs(10),
            )
            .await?;
        let t = got["data"]["payload"]["t"].as_u64().unwrap_or(sent);
        lat.push(Duration::from_micros(base.elapsed().as_micros() as u64 - t));
    }
    lat.sort();
    println!(
        "relay ({}): {} signals, one way: median {:.2?} p99 {:.2?} max {:.2?}",
        if url2.is_some() {
            "two instances"
        } else {
            "one instance"
        },
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default()
    );
    Ok(())
}

/// `waiting` residents in the queue; after one "call next", how long until each has its new
/// place.
pub async fn fanout(url: String, waiting: usize, server_pid: Option<u32>) -> anyhow::Result<()> {
    let s = setup(waiting).await?;
    // Put everyone in the queue at once (joining one by one is measured separately).
    let broker =
        minxin::broker::connect(s.settings.redis_url.expose(), &s.settings.redis_prefix).await?;
    if broker.kind() != "redis" {
        anyhow::bail!("set REDIS_URL (and MINXIN_REDIS_PREFIX) as for the server: the tool writes the room into Redis");
    }
    let mut config = minxin::live::room::RoomConfig {
        max_queue: waiting + 10,
        ..Default::default()
    };
    config.confirm_secs = 600;
    let mut room = Room::new(s.session_id, config);
    let now = Utc::now().timestamp_millis();
    for (id, _) in &s.residents {
        room.apply(
            &Command::Join {
                user_id: *id,
                registered: false,
                topic: None,
            },
            now,
        )?;
    }
    broker
        .set(
            &minxin::live::store::room_key(s.session_id),
            &serde_json::to_vec(&room)?,
            Duration::from_secs(3600),
        )
        .await?;
    let rss_before = rss_kib(server_pid);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(200));
    let (go_tx, go_rx) = tokio::sync::watch::channel::<Option<Instant>>(None);
    let mut tasks = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(waiting);
    for (i, (_, token)) in s.residents.iter().cloned().enumerate() {
        let http = http.clone();
        let url = url.clone();
        let sem = sem.clone();
        let mut go = go_rx.clone();
        let ready = ready_tx.clone();
        let session = s.session_id;
        tasks.push(tokio::spawn(async move {
            let permit = sem.acquire_owned().await?;
            let mut c = Client::connect(&http, &url, session, &token).await?;
            c.until(
                |m| m["type"] == "position" && m["data"]["ahead"] == i,
                Duration::from_secs(120),
            )
            .await?;
            drop(permit);
            ready.send(()).await?;
            go.changed().await?;
            let t0 = (*go.borrow()).ok_or_else(|| anyhow::anyhow!("no start"))?;
            if i == 0 {
                c.until(|m| m["data"]["event"] == "called", Duration::from_secs(120))
                    .await?;
            } else {
                c.until(
                    |m| m["type"] == "position" && m["data"]["ahead"] == i - 1,
                    Duration::from_secs(120),
                )
                .await?;
            }
            anyhow::Ok((t0.elapsed(), c))
        }));
    }
    drop(ready_tx);
    let mut ready = 0;
    while ready < waiting {
        if ready_rx.recv().await.is_none() {
            break;
        }
        ready += 1;
        if ready % 2000 == 0 {
            eprintln!(
                "{ready}/{waiting} residents connected ({:.1?})",
                started.elapsed()
            );
        }
    }
    if ready < waiting {
        anyhow::bail!("only {ready} of {waiting} residents connected");
    }
    let connected_in = started.elapsed();
    let rss_connected = rss_kib(server_pid);
    let mut leader = Client::connect(&http, &url, s.session_id, &s.leader).await?;
    let t0 = Instant::now();
    leader.send("call_next", json!({})).await?;
    go_tx.send(Some(t0))?;
    let mut lat = Vec::with_capacity(waiting);
    let mut sockets = Vec::with_capacity(waiting);
    for t in tasks {
        let (d, c) = t.await??;
        lat.push(d);
        sockets.push(c);
    }
    lat.sort();
    let rss_after = rss_kib(server_pid);
    println!(
        "fan-out: {waiting} waiting residents connected in {connected_in:.1?}; after call_next every one had its new place in {:.1?} (median {:.1?}, p99 {:.1?})",
        lat.last().copied().unwrap_or_default(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
    );
    if let (Some(b), Some(c), Some(a)) = (rss_before, rss_connected, rss_after) {
        println!(
            "server memory (RSS): {:.1} MiB before, {:.1} MiB with {waiting} sockets, {:.1} MiB after the fan-out",
            b as f64 / 1024.0,
            c as f64 / 1024.0,
            a as f64 / 1024.0
        );
    }
    // Everyone's signal drops at once: how long until the room has recorded them all as away.
    let t1 = Instant::now();
    drop(sockets);
    leader
        .until(
            |m| {
                m["type"] == "queue"
                    && m["data"]["waiting"].as_array().is_some_and(|w| {
                        w.iter().filter(|e| e["away"] == true).count() + 1 >= waiting
                    })
            },
            Duration::from_secs(300),
        )
        .await?;
    println!(
        "disconnect storm: {waiting} sockets dropped at once, all recorded as away after {:.1?}; server memory {:.1} MiB",
        t1.elapsed(),
        rss_kib(server_pid).unwrap_or(0) as f64 / 1024.0
    );
    Ok(())
}
