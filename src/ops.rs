//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document.
use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::guard::Routes;
use crate::auth::Access;
use crate::state::AppState;

pub fn register(r: &mut Routes) {
    r.add_raw(Method::GET, "/healthz".into(), Access::Public, healthz);
    r.add_raw(Method::GET, "/readyz".into(), Access::Public, readyz);
    r.add_raw(Method::GET, "/metrics".into(), Access::Public, metrics);
    r.add(Method::GET, "/openapi.json", Access::Public, openapi);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` when every dependency answered.
    pub status: &'static str,
    pub database: String,
    pub broker: String,
    /// `ok`, or `config_error <errcode>` when WeChat refused our app id, secret, IP whitelist
    /// or app state (40013, 40125, 40164, 40243): the server still serves, WeChat features fail.
    pub wechat: String,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The database and the broker (Redis or in-process) answer (503 otherwise); `degraded` (200)
/// when WeChat refuses our configuration.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let timeout = std::time::Duration::from_secs(2);
    let database = match tokio::time::timeout(timeout, state.db.ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database");
            "unreachable".into()
        }
        Err(_) => "timeout".into(),
    };
    let broker = match tokio::time::timeout(timeout, state.broker.ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: broker");
            "unreachable".into()
        }
        Err(_) => "timeout".into(),
    };
    let ok = database == "ok" && broker == "ok";
    let wechat = match state.platform.config_error() {
        Some(code) => format!("config_error {code}"),
        None => "ok".into(),
    };
    let status = match (ok, wechat == "ok") {
        (false, _) => "unavailable",
        (true, false) => "degraded",
        (true, true) => "ok",
    };
    let body = Readiness {
        status,
        database,
        broker,
        wechat,
    };
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut text = state.metrics.render();
    // The outbox gauges are counted from its rows at scrape time (statistics from records).
    match crate::notify::views::metrics_text(&state).await {
        Ok(outbox) => text.push_str(&outbox),
        Err(e) => tracing::warn!(error = %e, "metrics: notification outbox unreadable"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "ops", responses((status = 200, content_type = "application/json")))]
pub async fn openapi(doc: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    // Built once by `startup`: the document lists these handlers, so they cannot build it.
    HttpResponse::Ok().json(doc.get_ref())
}
