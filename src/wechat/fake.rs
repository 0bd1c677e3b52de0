//! A fake WeChat server on loopback: the demo mode's outside world and the tests'. It speaks
//! like WeChat (JSON with a text/plain content type, errcodes in a 200 answer) for every
//! endpoint minxin calls: `jscode2session`, `stable_token`, `subscribeMessage.send`,
//! `getuserphonenumber` and `msg_sec_check`; and it can be told to fail in each way WeChat
//! does, per endpoint: an errcode, an HTTP status, a delay, garbage, or a full outage.
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

/// One scripted misbehaviour, consumed by the next call of its endpoint.
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

/// The endpoints of the fake, to aim faults and read call counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Login,
    StableToken,
    SubscribeSend,
    PhoneNumber,
    MsgSecCheck,
}

struct Token {
    value: String,
    expires: Instant,
    revoked: bool,
}

#[derive(Default)]
struct Control {
    faults: HashMap<Endpoint, VecDeque<Fault>>,
    counts: HashMap<Endpoint, usize>,
    outage: bool,
    used_codes: HashSet<String>,
    queries: Vec<Vec<(String, String)>>,
    raw_queries: Vec<String>,
    session_keys: Vec<String>,
    token: Option<Token>,
    token_ttl: Option<Duration>,
    force_refreshes: usize,
    issued_tokens: Vec<String>,
    inbox: Vec<Value>,
    phone_codes: HashMap<String, (String, String)>,
    sec_words: Vec<(String, String, i64)>,
    sec_checks: Vec<Value>,
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
                .app_data(web::PayloadConfig::new(1 << 20))
                .route("/sns/jscode2session", web::get().to(jscode2session))
                .route("/cgi-bin/stable_token", web::post().to(stable_token))
                .route(
                    "/cgi-bin/message/subscribe/send",
                    web::post().to(subscribe_send),
                )
                .route(
                    "/wxa/business/getuserphonenumber",
                    web::post().to(phone_number),
                )
                .route("/wxa/msg_sec_check", web::post().to(msg_sec_check))
        })
        .workers(2)
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

    /// A fault for the next login exchange.
    pub fn inject(&self, fault: Fault) {
        self.inject_at(Endpoint::Login, fault);
    }

    pub fn inject_at(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.control)
            .faults
            .entry(endpoint)
            .or_default()
            .push_back(fault);
    }

    /// While on, every endpoint answers 503 (WeChat or the network is down).
    pub fn set_outage(&self, on: bool) {
        lock(&self.control).outage = on;
    }

    /// Login exchanges so far.
    pub fn calls(&self) -> usize {
        self.calls_to(Endpoint::Login)
    }

    pub fn calls_to(&self, endpoint: Endpoint) -> usize {
        lock(&self.control)
            .counts
            .get(&endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Decoded query parameters of every login call so far.
    pub fn queries(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.control).queries.clone()
    }

    /// Query strings exactly as they arrived on the wire (login calls).
    pub fn raw_queries(&self) -> Vec<String> {
        lock(&self.control).raw_queries.clone()
    }

    /// Every session_key handed out, so tests can prove none of them leaks.
    pub fn issued_session_keys(&self) -> Vec<String> {
        lock(&self.control).session_keys.clone()
    }

    /// Every access token handed out, so tests can prove none of them leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.control).issued_tokens.clone()
    }

    /// How many `stable_token` calls asked for `force_refresh`.
    pub fn force_refreshes(&self) -> usize {
        lock(&self.control).force_refreshes
    }

    /// Lifetime of the tokens issued from now on (7200 s by default).
    pub fn set_token_ttl(&self, ttl: Duration) {
        lock(&self.control).token_ttl = Some(ttl);
    }

    /// WeChat invalidates the current token (as another app's secret reset would): calls with
    /// it answer 40001 and the next `stable_token` issues a new one.
    pub fn revoke_token(&self) {
        if let Some(t) = lock(&self.control).token.as_mut() {
            t.revoked = true;
        }
    }

    /// Subscription messages delivered so far, as sent (`touser`, `template_id`, `data`, …).
    pub fn inbox(&self) -> Vec<Value> {
        lock(&self.control).inbox.clone()
    }

    /// A `getPhoneNumber` code for this WeChat user, as the mini-program would receive it.
    pub fn phone_code(&self, openid: &str, phone: &str) -> String {
        let code = format!("ph{}", crate::crypto::random_token(8));
        lock(&self.control)
            .phone_codes
            .insert(code.clone(), (openid.into(), phone.into()));
        code
    }

    /// Texts containing `word` get this `suggest` (`risky` or `review`) and label.
    pub fn flag_word(&self, word: &str, suggest: &str, label: i64) {
        lock(&self.control)
            .sec_words
            .push((word.into(), suggest.into(), label));
    }

    /// The bodies of every `msg_sec_check` call.
    pub fn sec_checks(&self) -> Vec<Value> {
        lock(&self.control).sec_checks.clone()
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

fn wechat_json(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(body.to_string())
}

fn errcode(code: i64, msg: &str) -> HttpResponse {
    wechat_json(json!({"errcode": code, "errmsg": msg}))
}

/// Counts the call and plays the endpoint's next fault; `Some` is the answer to give instead.
async fn misbehave(control: &Mutex<Control>, endpoint: Endpoint) -> Option<HttpResponse> {
    let (fault, outage) = {
        let mut c = lock(control);
        *c.counts.entry(endpoint).or_default() += 1;
        let fault = c.faults.get_mut(&endpoint).and_then(VecDeque::pop_front);
        (fault, c.outage)
    };
    if outage {
        return Some(HttpResponse::ServiceUnavailable().body("outage"));
    }
    match fault {
        Some(Fault::ErrCode(code)) => Some(errcode(code, "injected")),
        Some(Fault::Status(s)) => {
            let status = actix_web::http::StatusCode::from_u16(s)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
            Some(HttpResponse::build(status).body("injected"))
        }
        Some(Fault::Garbage) => Some(HttpResponse::Ok().body("<html>gateway</html>")),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        None => None,
    }
}

fn query_param(req: &HttpRequest, name: &str) -> String {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// 40001 unless the call carries the current, unrevoked, unexpired token.
fn check_token(control: &Mutex<Control>, req: &HttpRequest) -> Option<HttpResponse> {
    let given = query_param(req, "access_token");
    let c = lock(control);
    match &c.token {
        Some(t) if t.value == given && !t.revoked && t.expires > Instant::now() => None,
        Some(t) if t.value == given && t.expires <= Instant::now() => {
            Some(errcode(42001, "access_token expired"))
        }
        _ => Some(errcode(
            40001,
            "invalid credential, access_token is invalid",
        )),
    }
}

async fn jscode2session(
    req: HttpRequest,
    control: web::Data<Mutex<Control>>,
    creds: web::Data<(String, String)>,
) -> HttpResponse {
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    {
        let mut c = lock(&control);
        c.queries.push(query.clone());
        c.raw_queries.push(req.query_string().to_string());
    }
    if let Some(answer) = misbehave(&control, Endpoint::Login).await {
        return answer;
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
    wechat_json(json!({
        "openid": openid,
        "unionid": format!("union_{openid}"),
        "session_key": session_key,
    }))
}

/// `POST /cgi-bin/stable_token`: in normal mode the same token while it is valid, so callers
/// cannot invalidate each other; `force_refresh` issues a new one.
async fn stable_token(
    control: web::Data<Mutex<Control>>,
    creds: web::Data<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(answer) = misbehave(&control, Endpoint::StableToken).await {
        return answer;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return errcode(47001, "data format error");
    };
    if body["grant_type"] != "client_credential" {
        return errcode(40002, "invalid grant_type");
    }
    if body["appid"] != creds.0.as_str() {
        return errcode(40013, "invalid appid");
    }
    if body["secret"] != creds.1.as_str() {
        return errcode(40125, "invalid appsecret");
    }
    let force = body["force_refresh"].as_bool().unwrap_or(false);
    let now = Instant::now();
    let mut c = lock(&control);
    if force {
        c.force_refreshes += 1;
    }
    let reuse = !force
        && c.token
            .as_ref()
            .is_some_and(|t| !t.revoked && t.expires > now);
    if !reuse {
        let value = format!("tok_{}", crate::crypto::random_token(24));
        let ttl = c.token_ttl.unwrap_or(Duration::from_secs(7200));
        c.issued_tokens.push(value.clone());
        c.token = Some(Token {
            value,
            expires: now + ttl,
            revoked: false,
        });
    }
    let Some(t) = c.token.as_ref() else {
        return errcode(-1, "system error");
    };
    wechat_json(json!({
        "access_token": t.value,
        "expires_in": t.expires.saturating_duration_since(now).as_secs(),
    }))
}

/// WeChat's rules for a template field, by the key's prefix (`thing1`, `time2`, …).
fn field_ok(key: &str, value: &str) -> bool {
    let n = value.chars().count();
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    match kind {
        "thing" => (1..=20).contains(&n),
        "phrase" => (1..=5).contains(&n) && value.chars().all(|c| !c.is_ascii_digit()),
        "name" => (1..=20).contains(&n),
        "character_string" | "number" | "letter" | "symbol" => (1..=32).contains(&n),
        "time" | "date" => value.len() >= 10 && value.starts_with(|c: char| c.is_ascii_digit()),
        _ => n >= 1,
    }
}

async fn subscribe_send(
    req: HttpRequest,
    control: web::Data<Mutex<Control>>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(answer) = misbehave(&control, Endpoint::SubscribeSend).await {
        return answer;
    }
    if let Some(answer) = check_token(&control, &req) {
        return answer;
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return errcode(47001, "data format error");
    };
    if msg["touser"].as_str().unwrap_or("").is_empty() {
        return errcode(40003, "invalid openid");
    }
    if msg["template_id"].as_str().unwrap_or("").is_empty() {
        return errcode(40037, "invalid template_id");
    }
    let Some(data) = msg["data"].as_object() else {
        return errcode(47003, "argument invalid! data is empty");
    };
    for (k, v) in data {
        if !field_ok(k, v["value"].as_str().unwrap_or("")) {
            return errcode(47003, &format!("argument invalid! data.{k}.value invalid"));
        }
    }
    lock(&control).inbox.push(msg);
    errcode(0, "ok")
}

async fn phone_number(
    req: HttpRequest,
    control: web::Data<Mutex<Control>>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(answer) = misbehave(&control, Endpoint::PhoneNumber).await {
        return answer;
    }
    if let Some(answer) = check_token(&control, &req) {
        return answer;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return errcode(47001, "data format error");
    };
    let code = body["code"].as_str().unwrap_or("");
    let openid = body["openid"].as_str().unwrap_or("");
    let Some((owner, phone)) = lock(&control).phone_codes.remove(code) else {
        return errcode(40029, "invalid code");
    };
    if !openid.is_empty() && openid != owner {
        return errcode(40029, "code does not belong to this openid");
    }
    wechat_json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": phone,
            "purePhoneNumber": phone,
            "countryCode": "86",
            "watermark": {"timestamp": 0, "appid": "fake"},
        }
    }))
}

async fn msg_sec_check(
    req: HttpRequest,
    control: web::Data<Mutex<Control>>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(answer) = misbehave(&control, Endpoint::MsgSecCheck).await {
        return answer;
    }
    if let Some(answer) = check_token(&control, &req) {
        return answer;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return errcode(47001, "data format error");
    };
    if body["version"] != 2 || body["openid"].as_str().unwrap_or("").is_empty() {
        return errcode(40003, "invalid openid or version");
    }
    let content = body["content"].as_str().unwrap_or("").to_string();
    let verdict = {
        let mut c = lock(&control);
        c.sec_checks.push(body.clone());
        c.sec_words
            .iter()
            .find(|(w, _, _)| content.contains(w.as_str()))
            .map(|(_, s, l)| (s.clone(), *l))
    };
    let (suggest, label) = verdict.unwrap_or(("pass".into(), 100));
    wechat_json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "result": {"suggest": suggest, "label": label},
        "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label}],
        "trace_id": "fake",
    }))
}
