//! Rotating refresh tokens. Each login starts a family; each refresh spends one token and
//! issues the next. Presenting a spent or revoked token means it leaked: the whole family is
//! revoked, so the thief and the owner both have to log in again.
use chrono::{DateTime, Duration, Utc};
use entity::{refresh_tokens, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;

use super::crypto::{random_token, sha256_hex};
use super::roles::Role;
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
    let access = state
        .jwt
        .issue(user.id, role, user.department_id, now, ttl)
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
        code: "invalid_refresh_token",
        message: "refresh token is unknown, expired or revoked; log in again".into(),
    }
}

pub async fn refresh(state: &AppState, token: &str) -> AppResult<LoginResponse> {
    let now = state.clock.now();
    let db = &state.db;
    let found = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(sha256_hex(token)))
        .one(db)
        .await?
        .ok_or_else(invalid_refresh)?;
    if found.revoked_at.is_some() || found.expires_at <= now {
        return Err(invalid_refresh());
    }
    // Spend the token; the condition makes two concurrent refreshes with one token a reuse.
    let spent = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
        .filter(refresh_tokens::Column::Id.eq(found.id))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if spent.rows_affected != 1 {
        revoke_family(db, &found.family_id, now).await?;
        tracing::warn!(
            user_id = found.user_id,
            "refresh token reused; family revoked"
        );
        return Err(AppError::Unauthorized {
            code: "refresh_token_reused",
            message: "this refresh token was already used; every session of this login is revoked"
                .into(),
        });
    }
    let user = users::Entity::find_by_id(found.user_id)
        .one(db)
        .await?
        .ok_or_else(invalid_refresh)?;
    issue_pair(db, state, &user, Some(found.family_id)).await
}

pub async fn revoke_family<C: ConnectionTrait>(
    db: &C,
    family: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Logs out the login that `token` belongs to. Unknown tokens are ignored (idempotent).
pub async fn logout(state: &AppState, caller_id: i64, token: &str) -> AppResult<()> {
    if let Some(found) = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(sha256_hex(token)))
        .filter(refresh_tokens::Column::UserId.eq(caller_id))
        .one(&state.db)
        .await?
    {
        revoke_family(&state.db, &found.family_id, state.clock.now()).await?;
    }
    Ok(())
}
