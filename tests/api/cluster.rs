//! Two server processes sharing PostgreSQL and Redis: the leader on one, residents on the other;
//! one is killed mid-session and its residents resume on the survivor with their places.
//! Runs when `MINXIN_TEST_DATABASE_URL` and `MINXIN_TEST_REDIS_URL` are set (CI sets them).
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};

use crate::common::{APP_ID, APP_SECRET};
use crate::live::Client;

const BIN: &str = env!("CARGO_BIN_EXE_minxin");

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn env_of(db: &str, redis: &str, prefix: &str, wechat: &str) -> Vec<(String, String)> {
    [
        ("DATABASE_URL", db.to_string()),
        ("REDIS_URL", redis.to_string()),
        ("MINXIN_REDIS_PREFIX", prefix.to_string()),
        (
            "MINXIN_JWT_SECRET",
            "cluster-test-jwt-secret-0123456789abcdef".to_string(),
        ),
        (
            "MINXIN_DATA_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string(),
        ),
        ("MINXIN_WECHAT_APP_ID", APP_ID.to_string()),
        ("MINXIN_WECHAT_APP_SECRET", APP_SECRET.to_string()),
        ("MINXIN_WECHAT_BASE_URL", wechat.to_string()),
        ("MINXIN_LIVE_CONFIRM_SECS", "3".to_string()),
        ("MINXIN_LIVE_TICK_MS", "200".to_string()),
        ("MINXIN_SUPERVISION_INTERVAL_SECS", "0".to_string()),
        ("MINXIN_ROTA_LIFECYCLE_INTERVAL_SECS", "0".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

// The child is waited for in `Node::drop` (clippy cannot see through the early panic).
#[allow(clippy::zombie_processes)]
async fn start(env: &[(String, String)]) -> Node {
    let port = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return Node { child, base };
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("instance on {port} did not become ready");
}

async fn call(
    http: &reqwest::Client,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut r = http.request(method.parse().unwrap(), url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn login(http: &reqwest::Client, base: &str, name: &str) -> (String, i64) {
    let code = format!("{name}{}-1", uuid::Uuid::new_v4().simple());
    let (s, b) = call(
        http,
        "POST",
        format!("{base}/api/v1/auth/wechat-login"),
        None,
        json!({ "code": code }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    (
        b["access_token"].as_str().unwrap().to_string(),
        b["user"]["id"].as_i64().unwrap(),
    )
}

async fn redeem(http: &reqwest::Client, base: &str, token: &str, code: &str) -> String {
    let (s, b) = call(
        http,
        "POST",
        format!("{base}/api/v1/auth/invitations/redeem"),
        Some(token),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

async fn ws(base: &str, http: &reqwest::Client, session: i64, token: &str, extra: &str) -> Client {
    let (s, t) = call(
        http,
        "POST",
        format!("{base}/api/v1/live/sessions/{session}/ticket"),
        Some(token),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let url = format!(
        "{}{}{extra}",
        base.replace("http://", "ws://"),
        t["url"].as_str().unwrap()
    );
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut c = Client::new(socket);
    c.until("welcome", |m| m["type"] == "welcome").await;
    c
}

#[tokio::test]
async fn residents_resume_on_the_surviving_instance_with_their_places() {
    let (Ok(pg), Ok(redis)) = (
        std::env::var("MINXIN_TEST_DATABASE_URL"),
        std::env::var("MINXIN_TEST_REDIS_URL"),
    ) else {
        eprintln!("MINXIN_TEST_DATABASE_URL / MINXIN_TEST_REDIS_URL not set: two-instance test needs PostgreSQL and Redis; not run");
        return;
    };
    let name = format!("minxin_t_{}", uuid::Uuid::new_v4().simple());
    let admin_db = Database::connect(&pg)
        .await
        .expect("PostgreSQL unreachable");
    admin_db
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let mut u = url::Url::parse(&pg).unwrap();
    u.set_path(&format!("/{name}"));
    let db_url = u.to_string();
    let wechat = minxin::wechat::fake::FakeWechat::start(APP_ID, APP_SECRET)
        .await
        .unwrap();
    let mut env = env_of(
        &db_url,
        &redis,
        &format!("t:{}:", uuid::Uuid::new_v4().simple()),
        &wechat.base_url,
    );
    let evening = chrono::DateTime::parse_from_rfc3339("2026-12-01T19:35:00+08:00").unwrap();
    let offset = (evening.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    env.push(("MINXIN_CLOCK_OFFSET_SECS".into(), offset.to_string()));

    // Both instances start at once on an empty database: one migrates, the other waits.
    let (a, b) = tokio::join!(start(&env), start(&env));
    // The first admin, as an operator makes one.
    let out = Command::new(BIN)
        .args(["invite", "--role", "admin"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin_code = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let http = reqwest::Client::new();
    let (t, _) = login(&http, &a.base, "admin").await;
    let admin = redeem(&http, &a.base, &t, &admin_code).await;
    let (s, inv) = call(
        &http,
        "POST",
        format!("{}/api/v1/invitations", a.base),
        Some(&admin),
        json!({ "role": "leader" }),
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    let (t, leader_id) = login(&http, &a.base, "leader").await;
    let leader = redeem(&http, &a.base, &t, inv["code"].as_str().unwrap()).await;
    let (s, b_) = call(
        &http,
        "PUT",
        format!("{}/api/v1/leaders/{leader_id}", a.base),
        Some(&admin),
        json!({ "display_name": "县长", "title": "县长" }),
    )
    .await;
    assert_eq!(s, 200, "{b_}");
    // The instances' clocks read Tuesday 2026-12-01 19:35 in Shanghai (see `env`), inside
    // the evening's window whatever the hour CI runs at.
    let (s, rota) = call(&http, "POST", format!("{}/api/v1/rotas", a.base), Some(&admin), json!({
        "range_start": "2026-12-01", "range_end": "2026-12-01", "weekdays": ["tuesday"], "start": "19:30", "end": "21:00",
        "accept_missing_holidays": true
    })).await;
    assert_eq!(s, 201, "{rota}");
    let rota_id = rota["id"].as_i64().unwrap();
    let (s, published) = call(
        &http,
        "POST",
        format!("{}/api/v1/rotas/{rota_id}/publish", a.base),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{published}");
    let session = published["sessions"][0]["id"].as_i64().unwrap();
    let (s, started) = call(
        &http,
        "POST",
        format!("{}/api/v1/live-sessions/{session}/start", a.base),
        Some(&leader),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{started}");

    // The leader on A, three residents on B.
    let mut host = ws(&a.base, &http, session, &leader, "").await;
    let mut residents = Vec::new();
    for (i, name) in ["r0", "r1", "r2"].into_iter().enumerate() {
        let (tok, id) = login(&http, &b.base, name).await;
        let mut c = ws(&b.base, &http, session, &tok, "").await;
        c.send("join", None).await;
        c.position(i as u64).await;
        residents.push((tok, id, c));
    }
    host.until("queue of 3 across instances", |m| {
        m["type"] == "queue" && m["data"]["waiting"].as_array().map(Vec::len) == Some(3)
    })
    .await;
    host.send("call_next", None).await;
    residents[0].2.event("called").await;
    residents[1].2.position(0).await;
    residents[2].2.position(1).await;

    // B dies without a word. Its residents come back through A with their resume tokens.
    let resume: Vec<(String, u64)> = residents
        .iter()
        .map(|(_, _, c)| {
            let w = c.welcome();
            (
                w["resume_token"].as_str().unwrap().to_string(),
                w["room_seq"].as_u64().unwrap(),
            )
        })
        .collect();
    drop(b);
    let mut back = Vec::new();
    for ((tok, id, old), (token, seq)) in residents.into_iter().zip(resume) {
        drop(old);
        let c = ws(
            &a.base,
            &http,
            session,
            &tok,
            &format!("&resume={token}&last_seq={seq}"),
        )
        .await;
        assert_eq!(c.welcome()["resumed"], true);
        back.push((id, c));
    }
    assert_eq!(back[0].1.welcome()["state"], "called");
    assert_eq!(back[1].1.welcome()["state"], "waiting");
    back[1].1.position(0).await;
    back[2].1.position(1).await;
    // The room's timers survive the instance that may have run them: the called resident
    // does not confirm and is moved back after the confirmation time.
    let d = back[0]
        .1
        .until_within("deferred", 15, |m| m["data"]["event"] == "deferred")
        .await;
    assert_eq!(d["data"]["position"], 2);

    drop(a);
    let _ = admin_db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
}

/// Two instances sharing Redis: under concurrent load on both, WeChat's token endpoint is asked
/// once between them (one refresh per deployment, under the broker lease).
#[tokio::test]
async fn two_instances_fetch_the_wechat_token_once_between_them() {
    let (Ok(pg), Ok(redis)) = (
        std::env::var("MINXIN_TEST_DATABASE_URL"),
        std::env::var("MINXIN_TEST_REDIS_URL"),
    ) else {
        eprintln!("MINXIN_TEST_DATABASE_URL / MINXIN_TEST_REDIS_URL not set: two-instance test needs PostgreSQL and Redis; not run");
        return;
    };
    use minxin::wechat::fake::{openid_for, Endpoint, Fault};
    let name = format!("minxin_t_{}", uuid::Uuid::new_v4().simple());
    let admin_db = Database::connect(&pg)
        .await
        .expect("PostgreSQL unreachable");
    admin_db
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let mut u = url::Url::parse(&pg).unwrap();
    u.set_path(&format!("/{name}"));
    let wechat = minxin::wechat::fake::FakeWechat::start(APP_ID, APP_SECRET)
        .await
        .unwrap();
    let env = env_of(
        u.as_ref(),
        &redis,
        &format!("t:{}:", uuid::Uuid::new_v4().simple()),
        &wechat.base_url,
    );
    let (a, b) = tokio::join!(start(&env), start(&env));
    let http = reqwest::Client::new();
    let mut calls = Vec::new();
    for (i, node) in [&a, &b, &a, &b, &a, &b, &a, &b, &a, &b]
        .into_iter()
        .enumerate()
    {
        let who = format!("tok{i}{}", uuid::Uuid::new_v4().simple());
        let code = format!("{who}-1");
        let (s, body) = call(
            &http,
            "POST",
            format!("{}/api/v1/auth/wechat-login", node.base),
            None,
            json!({ "code": code }),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        let token = body["access_token"].as_str().unwrap().to_string();
        let phone_code = wechat.phone_code(&openid_for(&who), &format!("1380000{i:04}"));
        calls.push((node.base.clone(), token, phone_code));
    }
    // A slow first answer keeps every caller on both instances waiting for it.
    wechat.inject_at(
        Endpoint::StableToken,
        Fault::Delay(Duration::from_millis(500)),
    );
    let results = futures::future::join_all(calls.iter().map(|(base, token, code)| {
        call(
            &http,
            "POST",
            format!("{base}/api/v1/me/phone"),
            Some(token),
            json!({ "code": code }),
        )
    }))
    .await;
    for (s, body) in &results {
        assert_eq!(*s, 200, "{body}");
        assert!(body["phone_masked"].as_str().unwrap().contains("****"));
    }
    assert_eq!(wechat.calls_to(Endpoint::StableToken), 1);
    assert_eq!(wechat.calls_to(Endpoint::PhoneNumber), 10);

    drop(a);
    drop(b);
    let _ = admin_db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
}
