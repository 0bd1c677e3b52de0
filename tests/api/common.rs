//! Spawns the real application on a random port against a fake WeChat on loopback.
//! SQLite and the in-process broker by default; PostgreSQL and Redis when
//! `MINXIN_TEST_DATABASE_URL` / `MINXIN_TEST_REDIS_URL` are set, each test in a database of its
//! own and under a Redis key prefix of its own, so tests run in parallel. When those variables
//! are set and the service is unreachable the test fails: it never falls back silently.
use std::sync::Arc;

use entity::AsStr;
use minxin::auth::invitations::{self, NewInvitation};
use minxin::auth::Role;
use minxin::clock::OffsetClock;
use minxin::config::{Secret, Settings};
use minxin::startup::Application;
use minxin::state::AppState;
use minxin::wechat::fake::FakeWechat;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};

pub const APP_ID: &str = "wx1234567890abcdef";
/// Characters that break a hand-built query string, to prove every parameter is encoded.
pub const APP_SECRET: &str = "s3cr&t=+/ #?";

pub struct TestApp {
    pub addr: String,
    pub http: reqwest::Client,
    pub wechat: FakeWechat,
    pub clock: Arc<OffsetClock>,
    pub state: AppState,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    minxin::telemetry::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let wechat = FakeWechat::start(APP_ID, APP_SECRET)
        .await
        .expect("fake wechat");
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        ..Settings::default()
    };
    settings.auth.jwt_secret = Secret::new(minxin::config::random_b64(48));
    settings.auth.data_key = Secret::new(minxin::config::random_b64(32));
    settings.auth.login_per_minute = 10_000;
    settings.board.reads_per_minute = 10_000;
    settings.wechat.app_id = APP_ID.into();
    settings.wechat.app_secret = Secret::new(APP_SECRET);
    settings.wechat.base_url = wechat.base_url.clone();
    settings.wechat.timeout_ms = 800;
    settings.http.workers = 1;
    // Tests run supervision rounds themselves, at the moments they choose.
    settings.board.supervision_interval_secs = 0;
    settings.rota.lifecycle_interval_secs = 0;
    let mut pg = None;
    if let Some(url) = env("MINXIN_TEST_DATABASE_URL") {
        let name = format!("minxin_t_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&url)
            .await
            .expect("MINXIN_TEST_DATABASE_URL is set but PostgreSQL is unreachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let mut u = url::Url::parse(&url).expect("MINXIN_TEST_DATABASE_URL is not a URL");
        u.set_path(&format!("/{name}"));
        settings.database_url = Secret::new(u.to_string());
        pg = Some((url, name));
    }
    if let Some(url) = env("MINXIN_TEST_REDIS_URL") {
        settings.redis_url = Secret::new(url);
        settings.redis_prefix = format!("t:{}:", uuid::Uuid::new_v4().simple());
    }
    configure(&mut settings);
    let clock = Arc::new(OffsetClock::default());
    let app = Application::build(settings, clock.clone())
        .await
        .expect("application builds (is PostgreSQL/Redis reachable?)");
    if env("MINXIN_TEST_REDIS_URL").is_some() {
        assert_eq!(app.state.broker.kind(), "redis");
    }
    let addr = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        addr,
        http: reqwest::Client::new(),
        wechat,
        clock,
        state,
        _dir: dir,
        pg,
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((url, name)) = self.pg.take() {
            // Drop runs outside async; clean up on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(db) = Database::connect(&url).await {
                            let _ = db
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    /// Sends the request and checks the answer against the OpenAPI document (see `contract`).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let (client, req) = req.build_split();
        let req = req.expect("request builds");
        let method = req.method().to_string();
        let path = req.url().path().to_string();
        let sent_json = req
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(b"application/json"));
        let request_json = req
            .body()
            .and_then(reqwest::Body::as_bytes)
            .filter(|_| sent_json)
            .map(<[u8]>::to_vec);
        let res = client.execute(req).await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        crate::contract::check(&crate::contract::Exchange {
            method: &method,
            path: &path,
            request_json: request_json.as_deref(),
            status,
            content_type: headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            body: &text,
        });
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        let mut r = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r).await
    }

    pub async fn login(&self, code: &str) -> Resp {
        self.post("/api/v1/auth/wechat-login", None, json!({ "code": code }))
            .await
    }

    /// Logs in a fresh WeChat user and returns (access token, body).
    pub async fn resident(&self, name: &str) -> (String, Value) {
        let r = self
            // The fake WeChat names the user after the code's part before the first `-`:
            // a new name each call, a new user each call.
            .login(&format!("{name}{}-1", uuid::Uuid::new_v4().simple()))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        (
            r.body["access_token"].as_str().expect("token").to_string(),
            r.body,
        )
    }

    pub async fn department(&self, name: &str) -> i64 {
        minxin::org::store::create(&self.state.db, name, self.state.clock.now())
            .await
            .expect("department")
            .id
    }

    /// A user holding `role`, made the way staff are: WeChat login, then an invitation.
    pub async fn user_with_role(&self, role: Role) -> (String, Value) {
        let (token, _) = self.resident(role.as_str()).await;
        if role == Role::Resident {
            let me = self.get("/api/v1/me", Some(&token)).await;
            return (token, me.body);
        }
        let department_id = if role == Role::Handler {
            Some(
                self.department(&format!("部门{}", uuid::Uuid::new_v4().simple()))
                    .await,
            )
        } else {
            None
        };
        let inv = invitations::create(
            &self.state.db,
            &NewInvitation {
                role,
                department_id,
                ttl_hours: None,
            },
            None,
            self.state.clock.now(),
            72,
        )
        .await
        .expect("invitation");
        let r = self
            .post(
                "/api/v1/auth/invitations/redeem",
                Some(&token),
                json!({ "code": inv.code }),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        (
            r.body["access_token"].as_str().expect("token").to_string(),
            r.body["user"].clone(),
        )
    }
}
