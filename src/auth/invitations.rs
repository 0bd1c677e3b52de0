//! Staff invitations: single-use, expiring codes that grant a role to whoever redeems them
//! after logging in through WeChat. Only the hash is stored; the code is shown once.
use chrono::{DateTime, Duration, Utc};
use entity::{departments, invitations, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::tokens::{issue_pair, LoginResponse};
use super::Role;
use crate::crypto::{random_token, sha256_hex};
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct NewInvitation {
    pub role: Role,
    /// Required for `handler`, refused for other roles.
    pub department_id: Option<i64>,
    /// Lifetime in hours (1–720); the configured default when absent.
    pub ttl_hours: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedInvitation {
    /// Shown once; give it to the staff member through a trusted channel.
    pub code: String,
    pub role: Role,
    pub department_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

pub async fn create(
    db: &DatabaseConnection,
    req: &NewInvitation,
    created_by: Option<i64>,
    now: DateTime<Utc>,
    default_ttl_hours: i64,
) -> AppResult<CreatedInvitation> {
    let ttl = req.ttl_hours.unwrap_or(default_ttl_hours);
    if !(1..=720).contains(&ttl) {
        return Err(AppError::validation(
            "ttl_hours",
            "must be between 1 and 720",
        ));
    }
    match (req.role, req.department_id) {
        (Role::Resident, _) => {
            return Err(AppError::validation(
                "role",
                "residents need no invitation; choose handler, leader, office or admin",
            ))
        }
        (Role::Handler, None) => {
            return Err(AppError::validation(
                "department_id",
                "a handler invitation must name a department",
            ))
        }
        (Role::Handler, Some(d)) => ensure_department(db, d).await?,
        (_, Some(_)) => {
            return Err(AppError::validation(
                "department_id",
                "only handler invitations are bound to a department",
            ))
        }
        (_, None) => {}
    }
    let code = random_token(12);
    let expires_at = now + Duration::hours(ttl);
    invitations::ActiveModel {
        code_hash: Set(sha256_hex(&code)),
        role: Set(req.role.as_str().into()),
        department_id: Set(req.department_id),
        created_by: Set(created_by),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tracing::info!(role = %req.role, created_by, "invitation created");
    Ok(CreatedInvitation {
        code,
        role: req.role,
        department_id: req.department_id,
        expires_at,
    })
}

async fn ensure_department(db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    departments::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::validation("department_id", "no such department"))
}

fn invalid(msg: &str) -> AppError {
    AppError::BadRequest {
        code: ErrorCode::InvitationInvalid,
        message: msg.into(),
    }
}

/// Refuses to let `user_id`, an admin, take another role unless another admin remains.
/// The admins' rows are locked (in id order) so two admins stepping down at once cannot both
/// see the other one still there; SQLite has no row locks but serializes this under the
/// write gate.
async fn ensure_another_admin(txn: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    let admins: Vec<i64> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::Role.eq(Role::Admin.as_str()))
        .order_by_asc(users::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await?;
    if admins.iter().any(|&id| id != user_id) {
        return Ok(());
    }
    Err(AppError::conflict(
        ErrorCode::LastAdmin,
        "you are the only admin: invite another admin and let them redeem first",
    ))
}

pub async fn redeem(state: &AppState, user_id: i64, code: &str) -> AppResult<LoginResponse> {
    if code.is_empty() || code.len() > 64 {
        return Err(AppError::validation("code", "must be an invitation code"));
    }
    let now = state.clock.now();
    let state2 = state.clone();
    let code_hash = sha256_hex(code);
    let _gate = state.write_guard().await;
    let res = state
        .db
        .transaction::<_, LoginResponse, AppError>(move |txn| {
            Box::pin(async move {
                let inv = invitations::Entity::find()
                    .filter(invitations::Column::CodeHash.eq(code_hash))
                    .one(txn)
                    .await?
                    .ok_or_else(|| invalid("unknown invitation code"))?;
                if inv.redeemed_at.is_some() {
                    return Err(invalid("this invitation was already used"));
                }
                if inv.expires_at <= now {
                    return Err(invalid("this invitation has expired"));
                }
                // Single use even under concurrency: only one UPDATE finds it unredeemed.
                let took = invitations::Entity::update_many()
                    .col_expr(invitations::Column::RedeemedBy, Expr::value(user_id))
                    .col_expr(invitations::Column::RedeemedAt, Expr::value(now))
                    .filter(invitations::Column::Id.eq(inv.id))
                    .filter(invitations::Column::RedeemedAt.is_null())
                    .exec(txn)
                    .await?;
                if took.rows_affected != 1 {
                    return Err(invalid("this invitation was already used"));
                }
                let user = users::Entity::find_by_id(user_id)
                    .one(txn)
                    .await?
                    .ok_or(AppError::InvalidToken)?;
                if user.role == Role::Admin.as_str() && inv.role != Role::Admin.as_str() {
                    ensure_another_admin(txn, user_id).await?;
                }
                // The version moves with the role, so the user's other logins stop acting
                // with the old role on their next request.
                users::Entity::update_many()
                    .col_expr(users::Column::Role, Expr::value(inv.role.clone()))
                    .col_expr(users::Column::DepartmentId, Expr::value(inv.department_id))
                    .col_expr(
                        users::Column::TokenVersion,
                        Expr::col(users::Column::TokenVersion).add(1),
                    )
                    .col_expr(users::Column::UpdatedAt, Expr::value(now))
                    .filter(users::Column::Id.eq(user_id))
                    .exec(txn)
                    .await?;
                let user = users::Entity::find_by_id(user_id)
                    .one(txn)
                    .await?
                    .ok_or(AppError::InvalidToken)?;
                tracing::info!(user_id, role = %inv.role, invitation = inv.id, "invitation redeemed");
                issue_pair(txn, &state2, &user, None).await
            })
        })
        .await?;
    Ok(res)
}
