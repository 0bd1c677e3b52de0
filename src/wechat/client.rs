//! The typed WeChat client. Unlike the popular SDKs it never logs or returns `session_key`,
//! URL-encodes every parameter, bounds every call by a timeout, and turns WeChat's error codes
//! into a closed set of outcomes.
use std::time::Duration;

use serde::Deserialize;

use crate::config::{Secret, WechatSettings};

#[derive(Clone)]
pub struct WechatClient {
    http: reqwest::Client,
    base_url: String,
    app_id: String,
    app_secret: Secret,
}

impl std::fmt::Debug for WechatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatClient")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// What code2session gives back. `session_key` stays inside the server.
pub struct Session {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: Secret,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WechatError {
    /// 40029 invalid code, 40163 code already used: the client must call wx.login again.
    #[error("login code rejected by WeChat (errcode {0})")]
    InvalidCode(i64),
    /// 40226: WeChat has blocked this user.
    #[error("user blocked by WeChat")]
    UserBlocked,
    /// 45011: too many calls.
    #[error("WeChat rate limit reached")]
    RateLimited,
    /// -1 (busy), timeouts, connection failures, 5xx, unreadable answers.
    #[error("WeChat unavailable: {0}")]
    Unavailable(String),
    /// Any other errcode (bad appid/secret, …): our configuration, not the user.
    #[error("WeChat error {errcode}: {errmsg}")]
    Other { errcode: i64, errmsg: String },
    #[error("WeChat app id/secret not configured")]
    NotConfigured,
}

#[derive(Deserialize)]
struct RawSession {
    openid: Option<String>,
    session_key: Option<String>,
    unionid: Option<String>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

impl WechatClient {
    pub fn new(settings: &WechatSettings) -> Result<Self, reqwest::Error> {
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self {
            http,
            base_url: settings.base_url.trim_end_matches('/').to_string(),
            app_id: settings.app_id.clone(),
            app_secret: settings.app_secret.clone(),
        })
    }

    /// `GET /sns/jscode2session`. This endpoint takes no access_token.
    pub async fn code2session(&self, code: &str) -> Result<Session, WechatError> {
        if self.app_id.is_empty() || self.app_secret.is_empty() {
            return Err(WechatError::NotConfigured);
        }
        let url = format!("{}/sns/jscode2session", self.base_url);
        let res = self
            .http
            .get(url)
            .query(&[
                ("appid", self.app_id.as_str()),
                ("secret", self.app_secret.expose()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            // reqwest errors carry the URL, which holds the secret: keep only the kind.
            .map_err(|e| WechatError::Unavailable(describe(&e)))?;
        let status = res.status();
        if !status.is_success() {
            return Err(WechatError::Unavailable(format!("HTTP {status}")));
        }
        // WeChat answers JSON with a text/plain content type, so parse the bytes ourselves.
        let body = res
            .bytes()
            .await
            .map_err(|e| WechatError::Unavailable(describe(&e)))?;
        let raw: RawSession = serde_json::from_slice(&body)
            .map_err(|_| WechatError::Unavailable("unreadable answer".into()))?;
        if raw.errcode != 0 {
            return Err(WechatError::from_code(raw.errcode, &raw.errmsg));
        }
        match (raw.openid, raw.session_key) {
            (Some(openid), Some(key)) if !openid.is_empty() => Ok(Session {
                openid,
                unionid: raw.unionid.filter(|u| !u.is_empty()),
                session_key: Secret::new(key),
            }),
            _ => Err(WechatError::Unavailable("answer without openid".into())),
        }
    }

    /// `POST /cgi-bin/stable_token`. Normal mode returns the token WeChat already holds while it
    /// is valid, so instances never invalidate each other; `force` replaces it (limited by
    /// WeChat to 20 a day, 30 s apart: see [`super::token`]).
    pub async fn stable_token(&self, force: bool) -> Result<IssuedToken, WechatError> {
        if self.app_id.is_empty() || self.app_secret.is_empty() {
            return Err(WechatError::NotConfigured);
        }
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self.app_secret.expose(),
            "force_refresh": force,
        });
        let url = format!("{}/cgi-bin/stable_token", self.base_url);
        let v = self.send(self.http.post(url).json(&body)).await?;
        match (v["access_token"].as_str(), v["expires_in"].as_i64()) {
            (Some(t), Some(secs)) if !t.is_empty() && secs > 0 => Ok(IssuedToken {
                token: Secret::new(t),
                expires_in_secs: secs,
            }),
            _ => Err(WechatError::Unavailable(
                "answer without access_token".into(),
            )),
        }
    }

    /// `POST <path>?access_token=…` with a JSON body; the answer's JSON when errcode is 0.
    pub async fn post_with_token(
        &self,
        path: &str,
        token: &Secret,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, WechatError> {
        let url = format!("{}{path}", self.base_url);
        self.send(
            self.http
                .post(url)
                .query(&[("access_token", token.expose())])
                .json(body),
        )
        .await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<serde_json::Value, WechatError> {
        // reqwest errors carry the URL, which holds the token: keep only the kind.
        let res = req
            .send()
            .await
            .map_err(|e| WechatError::Unavailable(describe(&e)))?;
        let status = res.status();
        if !status.is_success() {
            return Err(WechatError::Unavailable(format!("HTTP {status}")));
        }
        let body = res
            .bytes()
            .await
            .map_err(|e| WechatError::Unavailable(describe(&e)))?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| WechatError::Unavailable("unreadable answer".into()))?;
        match v["errcode"].as_i64().unwrap_or(0) {
            0 => Ok(v),
            code => Err(WechatError::from_code(
                code,
                v["errmsg"].as_str().unwrap_or(""),
            )),
        }
    }
}

/// A token as WeChat issued it.
pub struct IssuedToken {
    pub token: Secret,
    pub expires_in_secs: i64,
}

/// Errcodes that mean our configuration is wrong (app id, secret, IP whitelist, app state):
/// never retried blindly, shown on `/readyz` and in metrics.
pub const CONFIG_ERRCODES: [i64; 4] = [40013, 40125, 40164, 40243];
const BUSY: &str = "WeChat busy (-1)";
/// The access token is invalid (40001) or expired (42001).
pub const TOKEN_ERRCODES: [i64; 2] = [40001, 42001];

impl WechatError {
    pub fn from_code(errcode: i64, errmsg: &str) -> Self {
        match errcode {
            40029 | 40163 => Self::InvalidCode(errcode),
            40226 => Self::UserBlocked,
            45009 | 45011 => Self::RateLimited,
            -1 => Self::Unavailable(BUSY.into()),
            errcode => Self::Other {
                errcode,
                errmsg: errmsg.chars().take(200).collect(),
            },
        }
    }

    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::Other { errcode, .. } | Self::InvalidCode(errcode) => Some(*errcode),
            _ => None,
        }
    }

    /// WeChat answered -1: busy, it may or may not have acted.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Unavailable(m) if m == BUSY)
    }

    pub fn is_token_invalid(&self) -> bool {
        self.errcode().is_some_and(|c| TOKEN_ERRCODES.contains(&c))
    }

    pub fn config_errcode(&self) -> Option<i64> {
        self.errcode().filter(|c| CONFIG_ERRCODES.contains(c))
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else if e.is_decode() || e.is_body() {
        "unreadable answer".into()
    } else {
        "request failed".into()
    }
}
