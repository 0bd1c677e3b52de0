//! HTTP routes of auth: thin handlers, one domain call each.
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use entity::users;
use sea_orm::EntityTrait;
use serde::Deserialize;
use utoipa::ToSchema;

use super::invitations::{self, CreatedInvitation, NewInvitation};
use super::roles::ADMIN;
use super::tokens::{self, LoginResponse, UserView};
use super::{login, Access, Caller};
use crate::auth::guard::Routes;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn register(r: &mut Routes) {
    r.add(
        Method::POST,
        "/auth/wechat-login",
        Access::Public,
        wechat_login,
    );
    r.add(Method::POST, "/auth/refresh", Access::Public, refresh);
    r.add(Method::POST, "/auth/logout", Access::Authenticated, logout);
    r.add(
        Method::POST,
        "/auth/invitations/redeem",
        Access::Authenticated,
        redeem_invitation,
    );
    r.add(Method::POST, "/invitations", ADMIN, create_invitation);
    r.add(Method::GET, "/me", Access::Authenticated, me);
    r.add(
        Method::POST,
        "/me/phone",
        Access::Authenticated,
        super::phone::verify_phone,
    );
}

#[derive(Deserialize, ToSchema)]
pub struct WechatLoginRequest {
    /// The code from `wx.login()`.
    #[schema(min_length = 1, max_length = 128)]
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RedeemRequest {
    pub code: String,
}

/// The client address used for rate limits (and logged): the peer, or the hop the configured
/// number of trusted proxies vouch for (see [`crate::telemetry::client_ip`]).
pub fn client_addr(req: &HttpRequest, state: &AppState) -> String {
    crate::telemetry::client_ip(
        req.peer_addr().map(|a| a.ip()),
        req.headers(),
        &state.settings.http,
    )
}

/// Exchange a `wx.login` code for tokens. Retrying the same code within its five-minute life
/// returns the same user instead of WeChat's "code been used".
#[utoipa::path(post, path = "/api/v1/auth/wechat-login", tag = "auth",
    request_body = WechatLoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "`wechat_code_invalid`: call wx.login again", body = ErrorBody),
        (status = 403, description = "`wechat_user_blocked`", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "`rate_limited` or `wechat_rate_limited`, with Retry-After", body = ErrorBody),
        (status = 502, description = "`wechat_error`: WeChat refused our request", body = ErrorBody),
        (status = 503, description = "`wechat_unavailable` or `broker_unavailable` (with Retry-After), or `wechat_not_configured`", body = ErrorBody)))]
pub async fn wechat_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<WechatLoginRequest>,
) -> AppResult<web::Json<LoginResponse>> {
    let addr = client_addr(&req, &state);
    Ok(web::Json(
        login::wechat_login(&state, &body.0.code, &addr).await?,
    ))
}

/// Spend a refresh token for a new pair. A token used twice revokes its whole login.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, description = "`invalid_refresh_token` or `refresh_token_reused`", body = ErrorBody)),
    security(()))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> AppResult<web::Json<LoginResponse>> {
    Ok(web::Json(
        tokens::refresh(&state, &body.0.refresh_token).await?,
    ))
}

/// Revoke the login that the given refresh token belongs to. The caller's access tokens stop
/// working on their next request (other logins of the same user refresh once).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> AppResult<HttpResponse> {
    tokens::logout(&state, caller.user_id, &body.0.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Redeem a staff invitation: the caller takes its role (and department), and gets new tokens;
/// the user's other logins must refresh. The only admin may not take another role.
#[utoipa::path(post, path = "/api/v1/auth/invitations/redeem", tag = "auth",
    request_body = RedeemRequest,
    responses((status = 200, body = LoginResponse),
        (status = 400, description = "`invitation_invalid`: unknown, expired or used", body = ErrorBody),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = ErrorBody),
        (status = 409, description = "`last_admin`: the only admin may not take another role", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn redeem_invitation(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<RedeemRequest>,
) -> AppResult<web::Json<LoginResponse>> {
    Ok(web::Json(
        invitations::redeem(&state, caller.user_id, &body.0.code).await?,
    ))
}

/// Create a single-use staff invitation (admin).
#[utoipa::path(post, path = "/api/v1/invitations", tag = "auth",
    request_body = NewInvitation,
    responses((status = 201, body = CreatedInvitation), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_invitation(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<NewInvitation>,
) -> AppResult<HttpResponse> {
    let created = invitations::create(
        &state.db,
        &body.0,
        Some(caller.user_id),
        state.clock.now(),
        state.settings.auth.invitation_ttl_hours,
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// The caller's own profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(caller: Caller, state: web::Data<AppState>) -> AppResult<web::Json<UserView>> {
    let user = users::Entity::find_by_id(caller.user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::InvalidToken)?;
    Ok(web::Json(tokens::view(&user)?))
}
