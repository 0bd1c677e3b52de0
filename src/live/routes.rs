//! HTTP side of the live rooms: single-use tickets, the WebSocket upgrade, media credentials.
use std::time::Duration;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::directory::LiveSession;
use super::hub::media_grant;
use super::hub::ConnRole;
use super::protocol::MediaGrant;
use super::store;
use super::ws::{self, Ticket};
use super::Live;
use crate::auth::guard::Routes;
use crate::auth::{Access, Caller, Role};
use crate::crypto::{random_token, sha256_hex};
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;

const PARTICIPANTS: Access =
    Access::Roles(&[Role::Resident, Role::Leader, Role::Office, Role::Admin]);
const TICKET_TTL: Duration = Duration::from_secs(60);

pub fn register(r: &mut Routes) {
    r.add(
        Method::POST,
        "/live/sessions/{id}/ticket",
        PARTICIPANTS,
        ticket,
    );
    r.add(Method::GET, "/live/ws", Access::Public, connect);
    r.add(
        Method::POST,
        "/live/sessions/{id}/media",
        PARTICIPANTS,
        media,
    );
    super::h5::register(r);
}

fn ticket_key(t: &str) -> String {
    format!("live:ticket:{}", sha256_hex(t))
}

#[derive(Serialize, ToSchema)]
pub struct TicketResponse {
    /// Single use, valid for 60 seconds: connect to `url` with it.
    pub ticket: String,
    pub expires_in: u64,
    /// Path of the WebSocket, with the ticket.
    pub url: String,
    /// `resident`, `leader` or `moderator`.
    pub role: String,
}

fn not_your_session() -> AppError {
    AppError::ForbiddenWith {
        code: ErrorCode::NotYourSession,
        message: "another leader hosts this session".into(),
    }
}

async fn session_of(live: &Live, state: &AppState, id: i64) -> AppResult<LiveSession> {
    live.sessions
        .session(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A single-use ticket to open the session's WebSocket, so no long-lived token travels in a URL.
/// Residents may queue only while the session is live; the leader is the session's own; office
/// staff join as moderators.
#[utoipa::path(post, path = "/api/v1/live/sessions/{id}/ticket", tag = "live", params(("id" = i64, Path)),
    responses((status = 200, body = TicketResponse), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "`session_not_live`", body = ErrorBody),
        (status = 503, description = "`broker_unavailable`, with Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ticket(
    caller: Caller,
    state: web::Data<AppState>,
    live: web::Data<Live>,
    id: web::Path<i64>,
) -> AppResult<web::Json<TicketResponse>> {
    let s = session_of(&live, &state, *id).await?;
    let role = match caller.role {
        Role::Leader if s.leader_id == Some(caller.user_id) => "leader",
        Role::Leader => return Err(not_your_session()),
        Role::Office | Role::Admin => "moderator",
        _ => "resident",
    };
    if !s.is_live() && role == "resident" {
        return Err(AppError::conflict(
            ErrorCode::SessionNotLive,
            format!(
                "the session is {}; the queue opens when it goes live",
                s.status
            ),
        ));
    }
    if matches!(s.status.as_str(), "ended" | "missed" | "cancelled") {
        return Err(AppError::conflict(
            ErrorCode::SessionNotLive,
            format!("the session is {}", s.status),
        ));
    }
    let t = random_token(24);
    let record = Ticket {
        session_id: s.id,
        user_id: caller.user_id,
        role: role.into(),
        leader_id: s.leader_id,
        user_role: caller.role,
    };
    let bytes = serde_json::to_vec(&record).map_err(AppError::internal)?;
    state
        .broker
        .set(&ticket_key(&t), &bytes, TICKET_TTL)
        .await?;
    Ok(web::Json(TicketResponse {
        url: format!("/api/v1/live/ws?ticket={t}"),
        ticket: t,
        expires_in: TICKET_TTL.as_secs(),
        role: role.into(),
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct WsQuery {
    /// From `POST /live/sessions/{id}/ticket`.
    pub ticket: String,
    /// The `resume_token` of the previous connection, to get what was missed.
    pub resume: Option<String>,
    /// The last room `seq` the client saw.
    pub last_seq: Option<u64>,
}

/// The control-plane WebSocket (see the README for the protocol).
#[utoipa::path(get, path = "/api/v1/live/ws", tag = "live", params(WsQuery),
    responses((status = 101, description = "switching protocols"),
        (status = 400, description = "`websocket_required`: not a WebSocket upgrade", body = ErrorBody),
        (status = 401, description = "`invalid_ticket`", body = ErrorBody),
        (status = 403, description = "`not_your_session`: the session was reassigned since the ticket", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, description = "`broker_unavailable`, with Retry-After", body = ErrorBody)))]
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    live: web::Data<Live>,
    q: web::Query<WsQuery>,
) -> AppResult<HttpResponse> {
    let bytes = state
        .broker
        .take(&ticket_key(&q.ticket))
        .await?
        .ok_or(AppError::Unauthorized {
            code: ErrorCode::InvalidTicket,
            message: "the ticket is unknown, used or expired; ask for a new one".into(),
        })?;
    let ticket: Ticket = serde_json::from_slice(&bytes).map_err(AppError::internal)?;
    // A ticket minted before the session was reassigned must not seat its old leader as host.
    if ticket.conn_role() == ConnRole::Leader
        && session_of(&live, &state, ticket.session_id)
            .await?
            .leader_id
            != Some(ticket.user_id)
    {
        return Err(not_your_session());
    }
    let (res, session, stream) =
        actix_ws::handle(&req, body).map_err(|_| AppError::BadRequest {
            code: ErrorCode::WebsocketRequired,
            message: "this endpoint speaks WebSocket only".into(),
        })?;
    let stream = stream.max_frame_size(state.settings.live.max_frame_bytes);
    let resume = q.resume.clone().map(|r| (r, q.last_seq.unwrap_or(0)));
    actix_web::rt::spawn(ws::run(
        state.get_ref().clone(),
        live.get_ref().clone(),
        session,
        stream,
        ticket,
        resume,
    ));
    Ok(res)
}

/// Fresh media credentials (ICE/TURN, TRTC UserSig) for the resident on stage and the leader;
/// refused once the turn has ended.
#[utoipa::path(post, path = "/api/v1/live/sessions/{id}/media", tag = "live", params(("id" = i64, Path)),
    responses((status = 200, body = MediaGrant), (status = 409, description = "`not_on_stage`", body = ErrorBody),
        (status = 503, description = "`broker_unavailable`, with Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn media(
    caller: Caller,
    state: web::Data<AppState>,
    live: web::Data<Live>,
    id: web::Path<i64>,
) -> AppResult<web::Json<MediaGrant>> {
    let s = session_of(&live, &state, *id).await?;
    let room = store::load(&state, s.id).await?;
    let allowed = room.as_ref().is_some_and(|r| {
        r.on_stage().is_some()
            && (r.on_stage() == Some(caller.user_id) || s.leader_id == Some(caller.user_id))
    });
    let not_on_stage = || {
        AppError::conflict(
            ErrorCode::NotOnStage,
            "media credentials are issued only during your turn",
        )
    };
    if !allowed {
        return Err(not_on_stage());
    }
    let room = room.ok_or_else(not_on_stage)?;
    media_grant(&state, s.id, caller.user_id, &room)
        .map(web::Json)
        .ok_or_else(not_on_stage)
}
