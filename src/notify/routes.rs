//! HTTP routes of notifications: residents report consents and see what they will receive;
//! the office watches the outbox.
use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::web;

use super::store;
use super::views::{self, Outbox, Subscriptions};
use crate::auth::guard::Routes;
use crate::auth::roles::OFFICE;
use crate::auth::{Access, Caller};
use crate::error::{AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn register(r: &mut Routes) {
    r.add(
        Method::GET,
        "/my/subscriptions",
        Access::Authenticated,
        my_subscriptions,
    );
    r.add(
        Method::POST,
        "/my/subscriptions",
        Access::Authenticated,
        report_consents,
    );
    r.add(Method::GET, "/office/notifications", OFFICE, outbox);
}

/// The notifications this server sends and how many of each you will still receive (one per
/// consent you gave).
#[utoipa::path(get, path = "/api/v1/my/subscriptions", tag = "notifications",
    responses((status = 200, body = Subscriptions)), security(("bearer" = [])))]
pub async fn my_subscriptions(
    caller: Caller,
    state: web::Data<AppState>,
) -> AppResult<web::Json<Subscriptions>> {
    Ok(web::Json(
        views::subscriptions(&state, caller.user_id).await?,
    ))
}

/// Report what `wx.requestSubscribeMessage` returned: `{"<template id>": "accept" | "reject" |
/// "ban" | "filter"}` (`errMsg` is ignored). Each `accept` lets the server send one message of
/// that template.
#[utoipa::path(post, path = "/api/v1/my/subscriptions", tag = "notifications",
    request_body(content = BTreeMap<String, String>,
        description = "template id → accept, reject, ban or filter; at most 20 entries"),
    responses((status = 200, body = Subscriptions),
        (status = 422, description = "`validation_failed`: an unknown template or answer", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report_consents(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<BTreeMap<String, serde_json::Value>>,
) -> AppResult<web::Json<Subscriptions>> {
    store::report_consents(&state, caller.user_id, &body.0).await?;
    Ok(web::Json(
        views::subscriptions(&state, caller.user_id).await?,
    ))
}

/// The outbox: rows per kind, template and status, and the latest failures with their reason.
#[utoipa::path(get, path = "/api/v1/office/notifications", tag = "notifications",
    responses((status = 200, body = Outbox)), security(("bearer" = [])))]
pub async fn outbox(state: web::Data<AppState>) -> AppResult<web::Json<Outbox>> {
    Ok(web::Json(views::outbox(&state).await?))
}
