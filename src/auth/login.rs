//! The WeChat login exchange: code → code2session → user upsert → token pair.
use std::time::Duration;

use entity::users;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use super::tokens::{issue_pair, LoginResponse};
use super::Role;
use crate::crypto::sha256_hex;
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::wechat::client::WechatError;

/// What one code resolved to, remembered for the code's life so a retry after a lost response
/// gets the same login instead of WeChat's 40163. The session key is kept sealed.
#[derive(Serialize, Deserialize)]
struct Exchanged {
    openid: String,
    unionid: Option<String>,
    session_key_enc: String,
}

pub fn validate_code(code: &str) -> AppResult<()> {
    if code.is_empty() {
        return Err(AppError::validation("code", "must not be empty"));
    }
    if code.len() > 128 || !code.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::validation(
            "code",
            "must be the printable code returned by wx.login (at most 128 characters)",
        ));
    }
    Ok(())
}

pub async fn check_rate(state: &AppState, client: &str) -> AppResult<()> {
    let window = Duration::from_secs(60);
    let n = state
        .broker
        .incr_window(&format!("rl:login:{client}"), window)
        .await?;
    if n > state.settings.auth.login_per_minute {
        tracing::warn!(client, "login rate limit reached");
        return Err(AppError::TooManyRequests {
            code: ErrorCode::RateLimited,
            message: "too many login attempts from this address; wait a minute".into(),
            retry_after_secs: 60,
        });
    }
    Ok(())
}

pub async fn wechat_login(state: &AppState, code: &str, client: &str) -> AppResult<LoginResponse> {
    validate_code(code)?;
    check_rate(state, client).await?;
    let ex = exchange(state, code).await?;
    let now = state.clock.now();
    let db = &state.db;
    users::Entity::insert(users::ActiveModel {
        openid: Set(ex.openid.clone()),
        unionid: Set(ex.unionid.clone()),
        role: Set(Role::Resident.as_str().into()),
        session_key_enc: Set(Some(ex.session_key_enc.clone())),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(Some(now)),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(users::Column::Openid)
            .update_columns([
                users::Column::SessionKeyEnc,
                users::Column::UpdatedAt,
                users::Column::LastLoginAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let mut user = users::Entity::find()
        .filter(users::Column::Openid.eq(&ex.openid))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("upserted user vanished")))?;
    // Keep a unionid once WeChat tells us one; never erase it when a later answer lacks it.
    if ex.unionid.is_some() && user.unionid != ex.unionid {
        use sea_orm::ActiveModelTrait;
        let mut am: users::ActiveModel = user.into();
        am.unionid = Set(ex.unionid.clone());
        user = am.update(db).await?;
    }
    tracing::info!(user_id = user.id, role = %user.role, "wechat login");
    issue_pair(db, state, &user, None).await
}

async fn exchange(state: &AppState, code: &str) -> AppResult<Exchanged> {
    let key = format!("wx:code:{}", sha256_hex(code));
    if let Some(hit) = cached(state, &key).await? {
        return Ok(hit);
    }
    let lock_key = format!("{key}:lock");
    let wait = Duration::from_millis(state.settings.wechat.timeout_ms + 1000);
    if !state.broker.set_nx(&lock_key, b"1", wait).await? {
        // Another request (maybe on another instance) is exchanging this code: wait for it.
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Some(hit) = cached(state, &key).await? {
                return Ok(hit);
            }
        }
        return Err(unavailable("WeChat did not answer in time"));
    }
    let result = state.wechat.code2session(code).await;
    let outcome = match result {
        Ok(session) => {
            let sealed = state
                .cipher
                .encrypt(session.session_key.expose())
                .map_err(AppError::internal)?;
            let ex = Exchanged {
                openid: session.openid,
                unionid: session.unionid,
                session_key_enc: sealed,
            };
            let bytes = serde_json::to_vec(&ex).map_err(AppError::internal)?;
            let ttl = Duration::from_secs(state.settings.wechat.code_cache_secs);
            state.broker.set(&key, &bytes, ttl).await?;
            Ok(ex)
        }
        Err(e) => Err(map_wechat_error(e)),
    };
    state.broker.delete(&lock_key).await?;
    outcome
}

async fn cached(state: &AppState, key: &str) -> AppResult<Option<Exchanged>> {
    Ok(state
        .broker
        .get(key)
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

fn unavailable(msg: &str) -> AppError {
    AppError::Unavailable {
        code: ErrorCode::WechatUnavailable,
        message: format!("{msg}; try again shortly"),
        retry_after_secs: 5,
    }
}

pub fn map_wechat_error(e: WechatError) -> AppError {
    match e {
        WechatError::InvalidCode(_) => AppError::Unauthorized {
            code: ErrorCode::WechatCodeInvalid,
            message: "the login code is invalid or already used; call wx.login for a new one"
                .into(),
        },
        WechatError::UserBlocked => AppError::ForbiddenWith {
            code: ErrorCode::WechatUserBlocked,
            message: "WeChat has restricted this account".into(),
        },
        WechatError::RateLimited => AppError::TooManyRequests {
            code: ErrorCode::WechatRateLimited,
            message: "WeChat is limiting logins right now; try again shortly".into(),
            retry_after_secs: 10,
        },
        WechatError::Unavailable(why) => {
            tracing::warn!(reason = %why, "wechat code2session unavailable");
            unavailable("WeChat is unavailable")
        }
        WechatError::NotConfigured => AppError::Unavailable {
            code: ErrorCode::WechatNotConfigured,
            message: "WeChat login is not configured on this server".into(),
            retry_after_secs: 300,
        },
        WechatError::Other { errcode, errmsg } => {
            tracing::error!(errcode, errmsg = %errmsg, "wechat code2session refused our request");
            AppError::BadGateway {
                code: ErrorCode::WechatError,
                message: "WeChat refused the login exchange".into(),
            }
        }
    }
}
