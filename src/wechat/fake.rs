//! A fake WeChat server on loopback: the demo mode's login exchange and the tests' outside
//! world. It speaks `GET /sns/jscode2session` like WeChat (JSON with a text/plain content type,
//! single-use codes, errcodes in a 200 answer) and can be told to fail in each way WeChat does.
use std::collections::{HashSet, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};

/// One scripted misbehaviour, consumed by the next call.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer 200 with this errcode, as WeChat does.
    ErrCode(i64),
    /// Answer with this HTTP status.
    Status(u16),
    /// Wait this long before answering normally.
    Delay(Duration),
    /// Answer 200 with a body that is not JSON.
    Garbage,
}

#[derive(Default)]
struct Control {
    faults: VecDeque<Fault>,
    used_codes: HashSet<String>,
    calls: usize,
    queries: Vec<Vec<(String, String)>>,
    raw_queries: Vec<String>,
    session_keys: Vec<String>,
}

pub struct FakeWechat {
    pub base_url: String,
    pub app_id: String,
    pub app_secret: String,
    control: Arc<Mutex<Control>>,
    handle: ServerHandle,
}

fn lock(c: &Mutex<Control>) -> std::sync::MutexGuard<'_, Control> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}

/// The openid the fake assigns to a code: the part before the first `-`, so the codes
/// `admin-1`, `admin-2`, … all log in as the same WeChat user (`demo_admin`).
pub fn openid_for(code: &str) -> String {
    let who = code.split('-').next().unwrap_or(code);
    format!("demo_{who}")
}

impl FakeWechat {
    pub async fn start(app_id: &str, app_secret: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let control = Arc::new(Mutex::new(Control::default()));
        let creds = Arc::new((app_id.to_string(), app_secret.to_string()));
        let data = web::Data::from(control.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::Data::from(creds.clone()))
                .route("/sns/jscode2session", web::get().to(jscode2session))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            base_url: format!("http://127.0.0.1:{port}"),
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            control,
            handle,
        })
    }

    pub fn inject(&self, fault: Fault) {
        lock(&self.control).faults.push_back(fault);
    }

    pub fn calls(&self) -> usize {
        lock(&self.control).calls
    }

    /// Decoded query parameters of every call so far.
    pub fn queries(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.control).queries.clone()
    }

    /// Query strings exactly as they arrived on the wire.
    pub fn raw_queries(&self) -> Vec<String> {
        lock(&self.control).raw_queries.clone()
    }

    /// Every session_key handed out, so tests can prove none of them leaks.
    pub fn issued_session_keys(&self) -> Vec<String> {
        lock(&self.control).session_keys.clone()
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

fn wechat_json(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(body.to_string())
}

fn errcode(code: i64, msg: &str) -> HttpResponse {
    wechat_json(serde_json::json!({"errcode": code, "errmsg": msg}))
}

async fn jscode2session(
    req: actix_web::HttpRequest,
    control: web::Data<Mutex<Control>>,
    creds: web::Data<(String, String)>,
) -> HttpResponse {
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let fault = {
        let mut c = lock(&control);
        c.calls += 1;
        c.queries.push(query.clone());
        c.raw_queries.push(req.query_string().to_string());
        c.faults.pop_front()
    };
    match fault {
        Some(Fault::ErrCode(code)) => return errcode(code, "injected"),
        Some(Fault::Status(s)) => {
            let status = actix_web::http::StatusCode::from_u16(s)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
            return HttpResponse::build(status).body("injected");
        }
        Some(Fault::Garbage) => return HttpResponse::Ok().body("<html>gateway</html>"),
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if get("appid") != creds.0 {
        return errcode(40013, "invalid appid");
    }
    if get("secret") != creds.1 {
        return errcode(40125, "invalid appsecret");
    }
    if get("grant_type") != "authorization_code" {
        return errcode(40002, "invalid grant_type");
    }
    let code = get("js_code");
    if code.is_empty() {
        return errcode(41008, "missing code");
    }
    if !lock(&control).used_codes.insert(code.to_string()) {
        return errcode(40163, "code been used");
    }
    let openid = openid_for(code);
    let session_key = crate::crypto::random_token(16);
    lock(&control).session_keys.push(session_key.clone());
    wechat_json(serde_json::json!({
        "openid": openid,
        "unionid": format!("union_{openid}"),
        "session_key": session_key,
    }))
}
