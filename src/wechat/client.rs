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
        match raw.errcode {
            0 => match (raw.openid, raw.session_key) {
                (Some(openid), Some(key)) if !openid.is_empty() => Ok(Session {
                    openid,
                    unionid: raw.unionid.filter(|u| !u.is_empty()),
                    session_key: Secret::new(key),
                }),
                _ => Err(WechatError::Unavailable("answer without openid".into())),
            },
            40029 | 40163 => Err(WechatError::InvalidCode(raw.errcode)),
            40226 => Err(WechatError::UserBlocked),
            45011 => Err(WechatError::RateLimited),
            -1 => Err(WechatError::Unavailable("WeChat busy (-1)".into())),
            errcode => Err(WechatError::Other {
                errcode,
                errmsg: raw.errmsg.chars().take(200).collect(),
            }),
        }
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
