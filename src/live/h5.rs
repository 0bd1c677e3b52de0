//! The browser side of live rooms: the leader's console and the resident's H5 page, two static
//! pages with one shared script (plain JS, no build step) embedded in the binary. Each page takes
//! `?ticket=…` from `POST /api/v1/live/sessions/{id}/ticket`, speaks the room protocol over
//! `/api/v1/live/ws` and does WebRTC with the `ice_servers` of the `media` message, SDP and ICE
//! candidates travelling in `signal` messages.
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpResponse};

use crate::auth::guard::Routes;
use crate::auth::Access;
use crate::error::{AppError, AppResult};

const CONSOLE_HTML: &str = include_str!("h5/console.html");
const RESIDENT_HTML: &str = include_str!("h5/resident.html");
const LIVE_JS: &str = include_str!("h5/live.js");
const LIVE_CSS: &str = include_str!("h5/live.css");

/// No inline script or style, nothing from elsewhere: scripts, styles and the WebSocket come
/// from this origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; media-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub fn register(r: &mut Routes) {
    r.add_raw(Method::GET, "/live/console".into(), Access::Public, console);
    r.add_raw(
        Method::GET,
        "/live/resident".into(),
        Access::Public,
        resident,
    );
    r.add_raw(
        Method::GET,
        "/live/assets/{name}".into(),
        Access::Public,
        asset,
    );
}

fn page(html: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        // The ticket is in the address: keep it out of caches and Referer headers.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((
            "permissions-policy",
            HeaderValue::from_static("camera=(self), microphone=(self)"),
        ))
        .body(html)
}

/// The leader's console (also for office staff as moderators): the queue, call next, skip,
/// extend, end the turn, and the video call with the resident on stage.
#[utoipa::path(get, path = "/live/console", tag = "live",
    params(("ticket" = String, Query, description = "a ticket for the leader or a moderator")),
    responses((status = 200, content_type = "text/html", description = "the console page")))]
pub async fn console() -> HttpResponse {
    page(CONSOLE_HTML)
}

/// The resident's H5 page: joins the queue on load, shows the place in it, confirms when
/// called, and takes the video call during the turn.
#[utoipa::path(get, path = "/live/resident", tag = "live",
    params(("ticket" = String, Query, description = "a resident's ticket")),
    responses((status = 200, content_type = "text/html", description = "the resident's page")))]
pub async fn resident() -> HttpResponse {
    page(RESIDENT_HTML)
}

/// The pages' script (`live.js`) and stylesheet (`live.css`).
#[utoipa::path(get, path = "/live/assets/{name}", tag = "live",
    params(("name" = String, Path, description = "`live.js` or `live.css`")),
    responses((status = 200, description = "the asset",
            content((String = "text/javascript"), (String = "text/css"))),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn asset(name: web::Path<String>) -> AppResult<HttpResponse> {
    let (body, content_type) = match name.as_str() {
        "live.js" => (LIVE_JS, "text/javascript; charset=utf-8"),
        "live.css" => (LIVE_CSS, "text/css; charset=utf-8"),
        _ => return Err(AppError::NotFound),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(body))
}
