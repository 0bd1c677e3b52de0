//! Authorization: a per-route middleware checks the bearer token and the route's [`Access`],
//! then hands handlers a [`Caller`]. Handlers never see a request that their route does not admit.
use std::future::{ready, Ready};

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use entity::users;
use sea_orm::{DatabaseConnection, EntityTrait, QuerySelect};

use super::jwt::JwtKeys;
use super::roles::{Access, Role};
use crate::error::AppError;
use crate::state::AppState;

/// The authenticated user behind a request.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub user_id: i64,
    pub role: Role,
    pub department_id: Option<i64>,
}

impl Caller {
    pub fn is_staff(&self) -> bool {
        self.role != Role::Resident
    }
}

/// Checks the bearer token against the route's access rule and, when admitted, leaves the
/// [`Caller`] in the request for the handler. Hands the request back with the refusal.
#[allow(clippy::result_large_err)]
pub async fn authorize(
    access: Access,
    req: ServiceRequest,
) -> Result<ServiceRequest, (ServiceRequest, AppError)> {
    if matches!(access, Access::Public) {
        return Ok(req);
    }
    let caller = match authenticate(&req).await {
        Ok(c) => c,
        Err(e) => return Err((req, e)),
    };
    if !access.admits(caller.role) {
        return Err((req, AppError::Forbidden));
    }
    tracing::Span::current().record("user_id", caller.user_id);
    req.extensions_mut().insert(caller);
    Ok(req)
}

async fn authenticate(req: &ServiceRequest) -> Result<Caller, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("app state missing")))?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(AppError::Unauthenticated)?;
    let claims = JwtKeys::new(&state.settings.auth.jwt_secret)
        .verify(token, state.clock.now())
        .ok_or(AppError::InvalidToken)?;
    let user_id = claims.sub.parse().map_err(|_| AppError::InvalidToken)?;
    current(&state.db, user_id, claims.ver).await
}

/// The caller as stored now, if the token's version is still the user's: logout, a reused
/// refresh token and role changes bump the version, so they take effect on the next request.
/// Role and department come from the same row, never from the (possibly older) token.
///
/// Cheap enough for every authenticated request: one primary-key read of three columns. On
/// SQLite that is an in-process B-tree lookup; on PostgreSQL one round trip on a pooled
/// connection, the same as the Redis GET a cache would cost, without a cache that could be
/// stale or lost. Public routes (the board, the exports) skip it.
async fn current(db: &DatabaseConnection, user_id: i64, ver: i32) -> Result<Caller, AppError> {
    let row: Option<(Role, Option<i64>, i32)> = users::Entity::find_by_id(user_id)
        .select_only()
        .column(users::Column::Role)
        .column(users::Column::DepartmentId)
        .column(users::Column::TokenVersion)
        .into_tuple()
        .one(db)
        .await?;
    let (role, department_id, version) = row.ok_or(AppError::InvalidToken)?;
    if version != ver {
        return Err(AppError::InvalidToken);
    }
    Ok(Caller {
        user_id,
        role,
        department_id,
    })
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Present exactly when the route's middleware authenticated the request.
        ready(
            req.extensions()
                .get::<Caller>()
                .copied()
                .ok_or(AppError::Unauthenticated),
        )
    }
}
