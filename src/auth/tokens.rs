//! Rotating refresh tokens. Each login starts a family; each refresh spends one token and
//! issues the next. Presenting a spent or revoked token means it leaked: the whole family is
//! revoked, so the thief and the owner both have to log in again.
use chrono::{DateTime, Duration, Utc};
use entity::{refresh_tokens, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::jwt::JwtKeys;
use super::roles::Role;
use crate::crypto::{random_token, sha256_hex};
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use: exchange it at `/api/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub role: Role,
    pub department_id: Option<i64>,
    pub display_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    #[serde(flatten)]
    pub tokens: TokenPair,
    pub user: UserView,
}

pub fn role_of(user: &users::Model) -> AppResult<Role> {
    Role::parse(&user.role)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("user {} has unknown role", user.id)))
}

pub fn view(user: &users::Model) -> AppResult<UserView> {
    Ok(UserView {
        id: user.id,
        role: role_of(user)?,
        department_id: user.department_id,
        display_name: user.display_name.clone(),
        created_at: user.created_at,
    })
}

/// Issues an access token and the next refresh token of `family` (a new family when `None`).
pub async fn issue_pair<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    user: &users::Model,
    family: Option<String>,
) -> AppResult<LoginResponse> {
    let now = state.clock.now();
    let role = role_of(user)?;
    let ttl = state.settings.auth.access_ttl_secs;
    let access = JwtKeys::new(&state.settings.auth.jwt_secret)
        .issue(
            user.id,
            role,
            user.department_id,
            user.token_version,
            now,
            ttl,
        )
        .map_err(AppError::internal)?;
    let refresh = random_token(32);
    let expires_at = now + Duration::days(state.settings.auth.refresh_ttl_days);
    refresh_tokens::ActiveModel {
        user_id: Set(user.id),
        family_id: Set(family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())),
        token_hash: Set(sha256_hex(&refresh)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(LoginResponse {
        tokens: TokenPair {
            access_token: access,
            token_type: "Bearer",
            expires_in: ttl,
            refresh_token: refresh,
            refresh_expires_at: expires_at,
        },
        user: view(user)?,
    })
}

fn invalid_refresh() -> AppError {
    AppError::Unauthorized {
        code: ErrorCode::InvalidRefreshToken,
        message: "refresh token is unknown, expired or revoked; log in again".into(),
    }
}

/// What a refresh transaction found: a new pair, or a spent token presented again (whose
/// revocation must commit although the caller gets an error).
enum Refreshed {
    Issued(LoginResponse),
    Reused { user_id: i64 },
}

/// Spends `token` and issues the next pair of its login in one transaction. The user's row is
/// locked first, as logout and reuse do, so a refresh racing them either commits before them
/// (and its new token is revoked with the rest) or sees the login revoked.
pub async fn refresh(state: &AppState, token: &str) -> AppResult<LoginResponse> {
    let now = state.clock.now();
    let hash = sha256_hex(token);
    let st = state.clone();
    let _gate = state.write_guard().await;
    let outcome = state
        .db
        .transaction::<_, Refreshed, AppError>(move |txn| {
            Box::pin(async move {
                let user_id = find_by_hash(txn, &hash)
                    .await?
                    .ok_or_else(invalid_refresh)?
                    .user_id;
                let user = users::Entity::find_by_id(user_id)
                    .lock_exclusive()
                    .one(txn)
                    .await?
                    .ok_or_else(invalid_refresh)?;
                // Read again under the lock: a logout or reuse may have committed meanwhile.
                let found = find_by_hash(txn, &hash)
                    .await?
                    .ok_or_else(invalid_refresh)?;
                if found.revoked_at.is_some() || found.expires_at <= now {
                    return Err(invalid_refresh());
                }
                let spent = refresh_tokens::Entity::update_many()
                    .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
                    .filter(refresh_tokens::Column::Id.eq(found.id))
                    .filter(refresh_tokens::Column::UsedAt.is_null())
                    .filter(refresh_tokens::Column::RevokedAt.is_null())
                    .exec(txn)
                    .await?;
                if spent.rows_affected != 1 {
                    revoke_login(txn, user.id, Some(&found.family_id), now).await?;
                    return Ok(Refreshed::Reused { user_id: user.id });
                }
                issue_pair(txn, &st, &user, Some(found.family_id))
                    .await
                    .map(Refreshed::Issued)
            })
        })
        .await?;
    match outcome {
        Refreshed::Issued(pair) => Ok(pair),
        Refreshed::Reused { user_id } => {
            tracing::warn!(user_id, "refresh token reused; login revoked");
            Err(AppError::Unauthorized {
                code: ErrorCode::RefreshTokenReused,
                message:
                    "this refresh token was already used; every session of this login is revoked"
                        .into(),
            })
        }
    }
}

async fn find_by_hash<C: ConnectionTrait>(
    db: &C,
    hash: &str,
) -> AppResult<Option<refresh_tokens::Model>> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(hash))
        .one(db)
        .await?)
}

/// Ends a login: bumps the user's token version, so every access token issued before stops
/// working on its next request (the user's other logins refresh once), and revokes the
/// login's refresh tokens. The version is bumped first: that locks the user's row before the
/// tokens are touched, in the same order as [`refresh`].
pub async fn revoke_login<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    family: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    bump_token_version(db, user_id).await?;
    if let Some(family) = family {
        refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
            .filter(refresh_tokens::Column::FamilyId.eq(family))
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Makes every access token of `user_id` issued so far invalid on its next request.
pub async fn bump_token_version<C: ConnectionTrait>(db: &C, user_id: i64) -> AppResult<()> {
    users::Entity::update_many()
        .col_expr(
            users::Column::TokenVersion,
            Expr::col(users::Column::TokenVersion).add(1),
        )
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Logs out the login that `token` belongs to, and ends the caller's access tokens even when
/// the refresh token is unknown (idempotent).
pub async fn logout(state: &AppState, caller_id: i64, token: &str) -> AppResult<()> {
    let now = state.clock.now();
    let hash = sha256_hex(token);
    let _gate = state.write_guard().await;
    state
        .db
        .transaction::<_, (), AppError>(move |txn| {
            Box::pin(async move {
                let family = find_by_hash(txn, &hash)
                    .await?
                    .filter(|t| t.user_id == caller_id)
                    .map(|t| t.family_id);
                revoke_login(txn, caller_id, family.as_deref(), now).await
            })
        })
        .await?;
    Ok(())
}
