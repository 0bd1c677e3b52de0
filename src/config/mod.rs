//! Typed settings: defaults in code, overridden by an optional TOML file (`MINXIN_CONFIG`) and
//! then by environment variables. Secrets are wrapped in [`Secret`], whose `Debug` redacts them.
use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};

mod sections;
pub use sections::{BoardSettings, ChannelSettings, LiveSettings, RotaSettings};

/// A value that must never reach a log line.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("\"[redacted]\"")
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on, `127.0.0.1:8080` by default.
    pub bind: String,
    /// Where `./data` lives for the embedded SQLite database and generated secrets.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/minxin.db`.
    pub database_url: Secret,
    /// `redis://…`; empty means the in-process broker (single instance only).
    pub redis_url: Secret,
    /// Prefix for every Redis key, so several deployments (or tests) can share one Redis.
    pub redis_prefix: String,
    pub auth: AuthSettings,
    pub wechat: WechatSettings,
    pub http: HttpSettings,
    pub board: BoardSettings,
    pub live: LiveSettings,
    pub rota: RotaSettings,
    pub channels: ChannelSettings,
    pub demo: bool,
    /// Shifts the server's clock by this many seconds (0 in production). For rehearsing a
    /// live evening at another hour and for tests that run real processes; every instance of
    /// one deployment must use the same value.
    pub clock_offset_secs: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthSettings {
    /// HMAC key for access tokens; shared by every instance.
    pub jwt_secret: Secret,
    /// Base64 of 32 bytes: the AES-256-GCM key for WeChat session keys at rest.
    pub data_key: Secret,
    pub access_ttl_secs: i64,
    pub refresh_ttl_days: i64,
    /// Login attempts allowed per client address per minute.
    pub login_per_minute: u64,
    pub invitation_ttl_hours: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct WechatSettings {
    pub app_id: String,
    pub app_secret: Secret,
    /// `https://api.weixin.qq.com` in production; a fake server in demo mode and tests.
    pub base_url: String,
    pub timeout_ms: u64,
    /// How long the result of one login code is remembered (WeChat codes live five minutes).
    pub code_cache_secs: u64,
    /// The access token is refreshed this long before it expires.
    pub token_refresh_ahead_secs: i64,
    /// The longest a caller waits for a token another caller (or instance) is fetching.
    pub token_wait_ms: u64,
    /// Forced token refreshes allowed per day and the least time between two (WeChat allows
    /// 20 a day, 30 s apart).
    pub force_refresh_per_day: u64,
    pub force_refresh_spacing_secs: u64,
    /// After 45009/45011 (quota or frequency limit) calls to that API fail fast this long.
    pub breaker_secs: u64,
    /// Retries of an idempotent call answered -1 (busy), with doubling backoff from
    /// `retry_backoff_ms`.
    pub busy_retries: u32,
    pub retry_backoff_ms: u64,
    /// `msg_sec_check` (content security v2) on submitted text; off: the local word list only.
    pub content_check: bool,
    /// Subscription messages: one entry per notification kind (`appeal_replied`, …).
    pub templates: std::collections::BTreeMap<String, TemplateSettings>,
    /// `formal`, `trial` or `developer`: which mini-program build a message opens.
    pub miniprogram_state: String,
    /// Milliseconds between two rounds of the notification worker; 0 disables the worker.
    pub notify_interval_ms: u64,
    /// Rows one round claims at most.
    pub notify_batch: u64,
    /// Attempts before a transiently failing notification is given up.
    pub notify_max_attempts: i32,
    /// First retry delay; doubles per attempt, at most an hour.
    pub notify_backoff_secs: i64,
    /// A claimed row is another worker's again if not finished within this time.
    pub notify_lease_secs: i64,
}

/// One subscription-message template: its id in the WeChat console, the mini-program page it
/// opens (`{id}` becomes the subject's id) and which payload value fills which template field.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TemplateSettings {
    pub template_id: String,
    pub page: String,
    /// Template field (`thing1`, `time2`, `phrase3`, …) → payload key (`title`, `time`, …).
    pub fields: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    /// How many proxies of your own stand in front of the server (0: clients connect
    /// directly and forwarding headers are ignored). The client address is read that many
    /// hops from the right of `forwarded_header`, where those proxies appended it.
    pub trusted_proxies: usize,
    /// The header the trusted proxies write; the other one is ignored, since a client could
    /// send it with any content.
    pub forwarded_header: ForwardedHeader,
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    /// The replaced `trust_forwarded_for`, read only to refuse it (see `from_file`).
    #[serde(skip_serializing)]
    #[doc(hidden)]
    pub trust_forwarded_for: Option<bool>,
}

/// Which forwarding header the trusted proxies append to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …`
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1, …`
    Forwarded,
}

impl std::str::FromStr for ForwardedHeader {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err(()),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: Secret::default(),
            redis_url: Secret::default(),
            redis_prefix: "minxin:".into(),
            auth: AuthSettings::default(),
            wechat: WechatSettings::default(),
            http: HttpSettings::default(),
            board: BoardSettings::default(),
            live: LiveSettings::default(),
            rota: RotaSettings::default(),
            channels: ChannelSettings::default(),
            demo: false,
            clock_offset_secs: 0,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: Secret::default(),
            data_key: Secret::default(),
            access_ttl_secs: 15 * 60,
            refresh_ttl_days: 30,
            login_per_minute: 30,
            invitation_ttl_hours: 72,
        }
    }
}

impl Default for WechatSettings {
    fn default() -> Self {
        Self {
            app_id: String::new(),
            app_secret: Secret::default(),
            base_url: "https://api.weixin.qq.com".into(),
            timeout_ms: 5000,
            code_cache_secs: 300,
            token_refresh_ahead_secs: 300,
            token_wait_ms: 8000,
            force_refresh_per_day: 20,
            force_refresh_spacing_secs: 30,
            breaker_secs: 60,
            busy_retries: 2,
            retry_backoff_ms: 200,
            content_check: false,
            templates: Default::default(),
            miniprogram_state: "formal".into(),
            notify_interval_ms: 5000,
            notify_batch: 50,
            notify_max_attempts: 6,
            notify_backoff_secs: 30,
            notify_lease_secs: 60,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            trusted_proxies: 0,
            forwarded_header: ForwardedHeader::XForwardedFor,
            trust_forwarded_for: None,
            workers: 2,
            shutdown_timeout_secs: 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("environment variable {name} is invalid: {reason}")]
    Env { name: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write generated secrets to {path}: {source}")]
    Secrets {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Overrides read from the environment: name, and where the value goes.
fn apply_env(s: &mut Settings, get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    fn parse<T: std::str::FromStr>(name: &str, v: String) -> Result<T, ConfigError> {
        v.trim().parse().map_err(|_| ConfigError::Env {
            name: name.into(),
            reason: format!("cannot parse {v:?}"),
        })
    }
    if let Some(v) = get("MINXIN_BIND") {
        s.bind = v;
    }
    if let Some(v) = get("MINXIN_DATA_DIR") {
        s.data_dir = PathBuf::from(v);
    }
    if let Some(v) = get("DATABASE_URL").or_else(|| get("MINXIN_DATABASE_URL")) {
        s.database_url = Secret::new(v);
    }
    if let Some(v) = get("REDIS_URL").or_else(|| get("MINXIN_REDIS_URL")) {
        s.redis_url = Secret::new(v);
    }
    if let Some(v) = get("MINXIN_REDIS_PREFIX") {
        s.redis_prefix = v;
    }
    if let Some(v) = get("MINXIN_JWT_SECRET") {
        s.auth.jwt_secret = Secret::new(v);
    }
    if let Some(v) = get("MINXIN_DATA_KEY") {
        s.auth.data_key = Secret::new(v);
    }
    if let Some(v) = get("MINXIN_ACCESS_TTL_SECS") {
        s.auth.access_ttl_secs = parse("MINXIN_ACCESS_TTL_SECS", v)?;
    }
    if let Some(v) = get("MINXIN_LOGIN_PER_MINUTE") {
        s.auth.login_per_minute = parse("MINXIN_LOGIN_PER_MINUTE", v)?;
    }
    if let Some(v) = get("MINXIN_WECHAT_APP_ID") {
        s.wechat.app_id = v;
    }
    if let Some(v) = get("MINXIN_WECHAT_APP_SECRET") {
        s.wechat.app_secret = Secret::new(v);
    }
    if let Some(v) = get("MINXIN_WECHAT_BASE_URL") {
        s.wechat.base_url = v;
    }
    if let Some(v) = get("MINXIN_WECHAT_TIMEOUT_MS") {
        s.wechat.timeout_ms = parse("MINXIN_WECHAT_TIMEOUT_MS", v)?;
    }
    if let Some(v) = get("MINXIN_WECHAT_CONTENT_CHECK") {
        s.wechat.content_check = parse("MINXIN_WECHAT_CONTENT_CHECK", v)?;
    }
    if let Some(v) = get("MINXIN_NOTIFY_INTERVAL_MS") {
        s.wechat.notify_interval_ms = parse("MINXIN_NOTIFY_INTERVAL_MS", v)?;
    }
    if let Some(v) = get("MINXIN_MAX_BODY_BYTES") {
        s.http.max_body_bytes = parse("MINXIN_MAX_BODY_BYTES", v)?;
    }
    if get("MINXIN_TRUST_FORWARDED_FOR").is_some() {
        // Refused rather than ignored: behind a balancer, ignoring it would put every client
        // in the balancer's one rate-limit bucket.
        return Err(ConfigError::Env {
            name: "MINXIN_TRUST_FORWARDED_FOR".into(),
            reason: "replaced by MINXIN_TRUSTED_PROXIES, the number of proxies in front of \
                     the server (0 when clients connect directly)"
                .into(),
        });
    }
    if let Some(v) = get("MINXIN_TRUSTED_PROXIES") {
        s.http.trusted_proxies = parse("MINXIN_TRUSTED_PROXIES", v)?;
    }
    if let Some(v) = get("MINXIN_FORWARDED_HEADER") {
        s.http.forwarded_header = parse("MINXIN_FORWARDED_HEADER", v)?;
    }
    if let Some(v) = get("MINXIN_RATING_DAYS") {
        s.board.rating_days = parse("MINXIN_RATING_DAYS", v)?;
    }
    if let Some(v) = get("MINXIN_ESCALATE_AFTER_WORKING_DAYS") {
        s.board.escalate_after_working_days = parse("MINXIN_ESCALATE_AFTER_WORKING_DAYS", v)?;
    }
    if let Some(v) = get("MINXIN_CLOCK_OFFSET_SECS") {
        s.clock_offset_secs = parse("MINXIN_CLOCK_OFFSET_SECS", v)?;
    }
    if let Some(v) = get("MINXIN_SUPERVISION_INTERVAL_SECS") {
        s.board.supervision_interval_secs = parse("MINXIN_SUPERVISION_INTERVAL_SECS", v)?;
    }
    if let Some(v) = get("MINXIN_BOARD_READS_PER_MINUTE") {
        s.board.reads_per_minute = parse("MINXIN_BOARD_READS_PER_MINUTE", v)?;
    }
    if let Some(v) = get("MINXIN_ICE_URLS") {
        s.live.ice_urls = v
            .split(',')
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
    }
    if let Some(v) = get("MINXIN_TURN_SECRET") {
        s.live.turn_secret = Secret::new(v);
    }
    if let Some(v) = get("MINXIN_TRTC_SDK_APP_ID") {
        s.live.trtc_sdk_app_id = parse("MINXIN_TRTC_SDK_APP_ID", v)?;
    }
    if let Some(v) = get("MINXIN_TRTC_KEY") {
        s.live.trtc_key = Secret::new(v);
    }
    if let Some(v) = get("MINXIN_LIVE_CONFIRM_SECS") {
        s.live.confirm_secs = parse("MINXIN_LIVE_CONFIRM_SECS", v)?;
    }
    if let Some(v) = get("MINXIN_LIVE_MESSAGES_PER_SECOND") {
        s.live.messages_per_second = parse("MINXIN_LIVE_MESSAGES_PER_SECOND", v)?;
    }
    if let Some(v) = get("MINXIN_LIVE_MAX_QUEUE") {
        s.live.max_queue = parse("MINXIN_LIVE_MAX_QUEUE", v)?;
    }
    if let Some(v) = get("MINXIN_LIVE_TICK_MS") {
        s.live.tick_ms = parse("MINXIN_LIVE_TICK_MS", v)?;
    }
    if let Some(v) = get("MINXIN_TURN_SECS") {
        s.live.turn_secs = parse("MINXIN_TURN_SECS", v)?;
    }
    if let Some(v) = get("MINXIN_ROTA_LIFECYCLE_INTERVAL_SECS") {
        s.rota.lifecycle_interval_secs = parse("MINXIN_ROTA_LIFECYCLE_INTERVAL_SECS", v)?;
    }
    if let Some(v) = get("MINXIN_ROTA_ICAL_DOMAIN") {
        s.rota.ical_domain = v;
    }
    if let Some(v) = get("MINXIN_WORKERS") {
        s.http.workers = parse("MINXIN_WORKERS", v)?;
    }
    Ok(())
}

impl Settings {
    /// Defaults, then the TOML file named by `MINXIN_CONFIG` (if any), then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut s = match get("MINXIN_CONFIG") {
            Some(path) => Self::from_file(Path::new(&path))?,
            None => Self::default(),
        };
        apply_env(&mut s, &get)?;
        Ok(s)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let s: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        if s.http.trust_forwarded_for.is_some() {
            return Err(ConfigError::Invalid(format!(
                "{}: [http] trust_forwarded_for was replaced by trusted_proxies, the number of \
                 proxies in front of the server (0 when clients connect directly)",
                path.display()
            )));
        }
        Ok(s)
    }

    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            let file = if self.demo { "demo.db" } else { "minxin.db" };
            format!("sqlite://{}?mode=rwc", self.data_dir.join(file).display())
        } else {
            self.database_url.expose().to_string()
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.effective_database_url().starts_with("sqlite:")
    }

    /// Fills missing secrets. With SQLite (one instance) they are generated once and kept in
    /// `<data_dir>/secrets.toml`; with PostgreSQL every instance must share them, so they must
    /// be configured explicitly.
    pub fn ensure_secrets(&mut self) -> Result<(), ConfigError> {
        if !self.auth.jwt_secret.is_empty() && !self.auth.data_key.is_empty() {
            return self.check_secrets();
        }
        if !self.is_sqlite() {
            return Err(ConfigError::Invalid(
                "MINXIN_JWT_SECRET and MINXIN_DATA_KEY must be set when DATABASE_URL is not SQLite: \
                 every instance has to share them"
                    .into(),
            ));
        }
        let path = self.data_dir.join("secrets.toml");
        let mut stored: GeneratedSecrets = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => GeneratedSecrets::default(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let mut changed = false;
        if stored.jwt_secret.is_empty() {
            stored.jwt_secret = Secret::new(random_b64(48));
            changed = true;
        }
        if stored.data_key.is_empty() {
            stored.data_key = Secret::new(random_b64(32));
            changed = true;
        }
        if changed {
            write_private(&path, &stored)?;
        }
        if self.auth.jwt_secret.is_empty() {
            self.auth.jwt_secret = stored.jwt_secret;
        }
        if self.auth.data_key.is_empty() {
            self.auth.data_key = stored.data_key;
        }
        self.check_secrets()
    }

    fn check_secrets(&self) -> Result<(), ConfigError> {
        if self.auth.jwt_secret.expose().len() < 32 {
            return Err(ConfigError::Invalid(
                "MINXIN_JWT_SECRET must be at least 32 characters".into(),
            ));
        }
        decode_key(&self.auth.data_key)
            .map(|_| ())
            .ok_or_else(|| ConfigError::Invalid(format!("MINXIN_DATA_KEY: {BAD_KEY}")))
    }
}

#[derive(Default, Deserialize, Serialize)]
struct GeneratedSecrets {
    #[serde(default)]
    jwt_secret: Secret,
    #[serde(default)]
    data_key: Secret,
}

/// Why a data key was refused; the cipher reports the same words.
pub const BAD_KEY: &str = "key must be base64 of exactly 32 bytes";

/// A 32-byte key written as base64. Here rather than in the cipher so that settings are checked
/// at start without configuration depending on the code it configures.
pub fn decode_key(key: &Secret) -> Option<[u8; 32]> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(key.expose().trim())
        .ok()?;
    raw.try_into().ok()
}

pub fn random_b64(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::STANDARD.encode(buf)
}

fn write_private(path: &Path, secrets: &GeneratedSecrets) -> Result<(), ConfigError> {
    let err = |source| ConfigError::Secrets {
        path: path.into(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let text = toml::to_string(secrets)
        .map_err(|e| err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let mut s = Settings::default();
        s.auth.jwt_secret = Secret::new("super-secret-jwt-key");
        s.wechat.app_secret = Secret::new("wx-app-secret");
        s.database_url = Secret::new("postgres://u:pw@host/db");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("super-secret-jwt-key"));
        assert!(!dbg.contains("wx-app-secret"));
        assert!(!dbg.contains("pw@host"));
        assert!(dbg.contains("[redacted]"));
    }

    #[test]
    fn env_overrides_and_rejects_garbage() {
        let mut s = Settings::default();
        let env = |k: &str| match k {
            "DATABASE_URL" => Some("postgres://x/y".to_string()),
            "MINXIN_WECHAT_TIMEOUT_MS" => Some("250".to_string()),
            "MINXIN_CLOCK_OFFSET_SECS" => Some("-3600".to_string()),
            _ => None,
        };
        apply_env(&mut s, &env).unwrap();
        assert_eq!(s.database_url.expose(), "postgres://x/y");
        assert_eq!(s.wechat.timeout_ms, 250);
        assert_eq!(s.clock_offset_secs, -3600);
        let bad = |k: &str| (k == "MINXIN_CLOCK_OFFSET_SECS").then(|| "1h".to_string());
        let err = apply_env(&mut Settings::default(), &bad).unwrap_err();
        assert!(err.to_string().contains("MINXIN_CLOCK_OFFSET_SECS"));
        let bad = |k: &str| (k == "MINXIN_WORKERS").then(|| "many".to_string());
        let err = apply_env(&mut Settings::default(), &bad).unwrap_err();
        assert!(err.to_string().contains("MINXIN_WORKERS"));
    }

    #[test]
    fn config_file_refuses_trust_forwarded_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("minxin.toml");
        std::fs::write(&path, "[http]\ntrust_forwarded_for = true\n").unwrap();
        let err = Settings::from_file(&path).unwrap_err();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
        std::fs::write(&path, "[http]\ntrusted_proxies = 2\n").unwrap();
        assert_eq!(Settings::from_file(&path).unwrap().http.trusted_proxies, 2);
    }

    #[test]
    fn trusted_proxies_replace_trust_forwarded_for() {
        let mut s = Settings::default();
        assert_eq!(
            s.http.trusted_proxies, 0,
            "forwarding headers ignored by default"
        );
        let env = |k: &str| match k {
            "MINXIN_TRUSTED_PROXIES" => Some("2".to_string()),
            "MINXIN_FORWARDED_HEADER" => Some("Forwarded".to_string()),
            _ => None,
        };
        apply_env(&mut s, &env).unwrap();
        assert_eq!(s.http.trusted_proxies, 2);
        assert_eq!(s.http.forwarded_header, ForwardedHeader::Forwarded);
        let old = |k: &str| (k == "MINXIN_TRUST_FORWARDED_FOR").then(|| "true".to_string());
        let err = apply_env(&mut Settings::default(), &old).unwrap_err();
        assert!(err.to_string().contains("MINXIN_TRUSTED_PROXIES"), "{err}");
        let bad = |k: &str| (k == "MINXIN_FORWARDED_HEADER").then(|| "x-real-ip".to_string());
        assert!(apply_env(&mut Settings::default(), &bad).is_err());
        let bad = |k: &str| (k == "MINXIN_TRUSTED_PROXIES").then(|| "-1".to_string());
        assert!(apply_env(&mut Settings::default(), &bad).is_err());
    }

    #[test]
    fn postgres_requires_explicit_secrets() {
        let mut s = Settings {
            database_url: Secret::new("postgres://localhost/x"),
            ..Settings::default()
        };
        assert!(s.ensure_secrets().is_err());
    }

    #[test]
    fn sqlite_generates_and_keeps_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Settings {
            data_dir: dir.path().into(),
            ..Settings::default()
        };
        a.ensure_secrets().unwrap();
        let mut b = Settings {
            data_dir: dir.path().into(),
            ..Settings::default()
        };
        b.ensure_secrets().unwrap();
        assert_eq!(a.auth.jwt_secret, b.auth.jwt_secret);
        assert_eq!(a.auth.data_key, b.auth.data_key);
    }
}
