//! HTTP routes of the duty rota: thin handlers, one domain call each.
use actix_web::http::Method;
use actix_web::{web, HttpResponse};

use super::edits::{self, Cancel, NewSession, Reassign, Reschedule, Swap};
use super::export::{self, ExportQuery};
use super::leaders::{self, LeaderProfile, LeaderView, NewUnavailable, UnavailableList};
use super::lifecycle;
use super::outcomes::{self, NewOutcome, OutcomeView};
use super::publish::{self, NewRota};
use super::queries::{self, RotaSummary, RotaView, SessionEventView, SessionQuery, SessionView};
use super::registrations::{
    self, MyRegistration, NewRegistration, RegistrationView, Review, StaffRegistrationView,
};
use crate::auth::guard::Routes;
use crate::auth::roles::{ADMIN, OFFICE};
use crate::auth::{Access, Caller, Role};
use crate::error::{AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

const RESIDENT: Access = Access::Roles(&[Role::Resident]);
/// The leader themself, or an admin (checked per record).
const LEADER_OR_ADMIN: Access = Access::Roles(&[Role::Leader, Role::Admin]);
/// Who hosts or follows a session: its leader, the office, admins.
const HOSTS: Access = Access::Roles(&[Role::Leader, Role::Office, Role::Admin]);

pub fn register(r: &mut Routes) {
    r.add(Method::GET, "/leaders", Access::Authenticated, list_leaders);
    r.add(
        Method::PUT,
        "/leaders/{user_id}",
        LEADER_OR_ADMIN,
        put_leader,
    );
    r.add(
        Method::GET,
        "/leaders/{user_id}/unavailable-dates",
        HOSTS,
        list_unavailable,
    );
    r.add(
        Method::POST,
        "/leaders/{user_id}/unavailable-dates",
        LEADER_OR_ADMIN,
        add_unavailable,
    );
    r.add(
        Method::DELETE,
        "/leaders/{user_id}/unavailable-dates/{date}",
        LEADER_OR_ADMIN,
        remove_unavailable,
    );
    r.add(Method::POST, "/rotas", ADMIN, generate);
    r.add(Method::GET, "/rotas", OFFICE, list_rotas);
    r.add(Method::GET, "/rotas/{id}", OFFICE, get_rota);
    r.add(Method::DELETE, "/rotas/{id}", ADMIN, discard);
    r.add(Method::POST, "/rotas/{id}/publish", ADMIN, publish);
    r.add(Method::POST, "/rotas/{id}/sessions", ADMIN, add_session);
    r.add(Method::POST, "/rotas/{id}/swap", ADMIN, swap);
    r.add(
        Method::GET,
        "/live-sessions",
        Access::Authenticated,
        list_sessions,
    );
    r.add(
        Method::GET,
        "/live-sessions/{id}",
        Access::Authenticated,
        get_session,
    );
    r.add(
        Method::GET,
        "/live-sessions/{id}/events",
        HOSTS,
        session_events,
    );
    r.add(
        Method::POST,
        "/live-sessions/{id}/reassign",
        ADMIN,
        reassign,
    );
    r.add(
        Method::POST,
        "/live-sessions/{id}/reschedule",
        ADMIN,
        reschedule,
    );
    r.add(Method::POST, "/live-sessions/{id}/cancel", ADMIN, cancel);
    r.add(
        Method::POST,
        "/live-sessions/{id}/start",
        LEADER_OR_ADMIN,
        start,
    );
    r.add(
        Method::POST,
        "/live-sessions/{id}/end",
        LEADER_OR_ADMIN,
        end,
    );
    r.add(
        Method::POST,
        "/live-sessions/{id}/registrations",
        RESIDENT,
        register_topic,
    );
    r.add(
        Method::GET,
        "/live-sessions/{id}/registrations",
        HOSTS,
        session_registrations,
    );
    r.add(
        Method::DELETE,
        "/live-sessions/{id}/registration",
        RESIDENT,
        cancel_registration,
    );
    r.add(Method::GET, "/my/registrations", RESIDENT, my_registrations);
    r.add(
        Method::POST,
        "/live-registrations/{id}/review",
        OFFICE,
        review_registration,
    );
    r.add(
        Method::POST,
        "/live-sessions/{id}/outcomes",
        HOSTS,
        record_outcome,
    );
    r.add(
        Method::GET,
        "/live-sessions/{id}/outcomes",
        HOSTS,
        list_outcomes,
    );
    r.add(
        Method::GET,
        "/rota/calendar.ics",
        Access::Public,
        calendar_ics,
    );
    r.add(
        Method::GET,
        "/rota/sessions.csv",
        Access::Public,
        sessions_csv,
    );
}

/// Leaders on the rota, with display name and title.
#[utoipa::path(get, path = "/api/v1/leaders", tag = "rota",
    responses((status = 200, body = [LeaderView])), security(("bearer" = [])))]
pub async fn list_leaders(state: web::Data<AppState>) -> AppResult<web::Json<Vec<LeaderView>>> {
    Ok(web::Json(leaders::list(&state).await?))
}

/// Create or change a leader's profile (an admin, or the leader themself). The user must hold
/// the leader role: `not_a_leader` (409) otherwise.
#[utoipa::path(put, path = "/api/v1/leaders/{user_id}", tag = "rota", params(("user_id" = i64, Path)),
    request_body = LeaderProfile,
    responses((status = 200, body = LeaderView), (status = 403, description = "`not_your_profile`", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_leader(
    caller: Caller,
    state: web::Data<AppState>,
    user_id: web::Path<i64>,
    body: ApiJson<LeaderProfile>,
) -> AppResult<web::Json<LeaderView>> {
    Ok(web::Json(
        leaders::put_profile(&state, &caller, *user_id, &body.0).await?,
    ))
}

/// A leader's unavailable dates, and sessions still assigned to them on those dates.
#[utoipa::path(get, path = "/api/v1/leaders/{user_id}/unavailable-dates", tag = "rota",
    params(("user_id" = i64, Path)),
    responses((status = 200, body = UnavailableList), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_unavailable(
    state: web::Data<AppState>,
    user_id: web::Path<i64>,
) -> AppResult<web::Json<UnavailableList>> {
    Ok(web::Json(
        leaders::list_unavailable(&state, *user_id).await?,
    ))
}

/// Mark dates unavailable (an admin, or the leader themself); dates already marked are kept.
#[utoipa::path(post, path = "/api/v1/leaders/{user_id}/unavailable-dates", tag = "rota",
    params(("user_id" = i64, Path)), request_body = NewUnavailable,
    responses((status = 200, body = UnavailableList), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_unavailable(
    caller: Caller,
    state: web::Data<AppState>,
    user_id: web::Path<i64>,
    body: ApiJson<NewUnavailable>,
) -> AppResult<web::Json<UnavailableList>> {
    Ok(web::Json(
        leaders::add_unavailable(&state, &caller, *user_id, &body.0).await?,
    ))
}

/// Remove one unavailable date (an admin, or the leader themself).
#[utoipa::path(delete, path = "/api/v1/leaders/{user_id}/unavailable-dates/{date}", tag = "rota",
    params(("user_id" = i64, Path), ("date" = chrono::NaiveDate, Path, description = "YYYY-MM-DD")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_unavailable(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (user_id, date) = path.into_inner();
    leaders::remove_unavailable(&state, &caller, user_id, &date).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Generate a draft rota for a date range (admin): one session per configured weekday that is
/// not a public holiday, leaders assigned in fair rotation respecting unavailability.
#[utoipa::path(post, path = "/api/v1/rotas", tag = "rota", request_body = NewRota,
    responses((status = 201, body = RotaView), (status = 409, description = "`rota_overlap`; `holiday_data_missing` (no public holidays listed for a year of the range, and `accept_missing_holidays` not set)", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn generate(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<NewRota>,
) -> AppResult<HttpResponse> {
    let rota = publish::generate_rota(&state, &caller, &body.0).await?;
    let view = queries::rota(&state, &caller, rota.id).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Every rota, latest range first.
#[utoipa::path(get, path = "/api/v1/rotas", tag = "rota",
    responses((status = 200, body = [RotaSummary])), security(("bearer" = [])))]
pub async fn list_rotas(state: web::Data<AppState>) -> AppResult<web::Json<Vec<RotaSummary>>> {
    Ok(web::Json(queries::rotas(&state).await?))
}

/// One rota with its sessions (drafts included, with what stops their publication) and versions.
#[utoipa::path(get, path = "/api/v1/rotas/{id}", tag = "rota", params(("id" = i64, Path)),
    responses((status = 200, body = RotaView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_rota(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<RotaView>> {
    Ok(web::Json(queries::rota(&state, &caller, *id).await?))
}

/// Discard a draft rota never published, freeing its range.
#[utoipa::path(delete, path = "/api/v1/rotas/{id}", tag = "rota", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, description = "`rota_published`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn discard(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    publish::discard(&state, &caller, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Publish the rota's draft sessions as its next version. Refused while a draft session has no
/// leader (`session_unassigned`), a leader unavailable (`leader_unavailable`) or a leader in two
/// overlapping sessions (`leader_double_booked`).
#[utoipa::path(post, path = "/api/v1/rotas/{id}/publish", tag = "rota", params(("id" = i64, Path)),
    responses((status = 200, body = RotaView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<RotaView>> {
    publish::publish(&state, &caller, *id).await?;
    Ok(web::Json(queries::rota(&state, &caller, *id).await?))
}

/// Add a session to the rota; it is a draft until the rota is (re)published.
#[utoipa::path(post, path = "/api/v1/rotas/{id}/sessions", tag = "rota", params(("id" = i64, Path)),
    request_body = NewSession,
    responses((status = 201, body = SessionView), (status = 404, body = ErrorBody),
        (status = 409, description = "`outside_rota_range`, `leader_unavailable`, `leader_double_booked`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_session(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<NewSession>,
) -> AppResult<HttpResponse> {
    let s = edits::add_session(&state, &caller, *id, &body.0).await?;
    Ok(HttpResponse::Created().json(queries::staff_view(&state, &caller, s).await?))
}

/// Swap the leaders of two sessions of the rota. A reason is required when either is published.
#[utoipa::path(post, path = "/api/v1/rotas/{id}/swap", tag = "rota", params(("id" = i64, Path)),
    request_body = Swap,
    responses((status = 200, body = [SessionView]), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn swap(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<Swap>,
) -> AppResult<web::Json<Vec<SessionView>>> {
    let (a, b) = edits::swap(&state, &caller, *id, &body.0).await?;
    Ok(web::Json(
        queries::views(&state.db, vec![a, b], Some(&caller), true).await?,
    ))
}

/// Upcoming published sessions, soonest first: leader, title, time, registration count, and
/// the resident's own registration.
#[utoipa::path(get, path = "/api/v1/live-sessions", tag = "rota", params(SessionQuery),
    responses((status = 200, body = [SessionView]), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_sessions(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<SessionQuery>,
) -> AppResult<web::Json<Vec<SessionView>>> {
    Ok(web::Json(queries::upcoming(&state, &caller, &q).await?))
}

/// One session with its figures: residents served, appeals created, duration.
#[utoipa::path(get, path = "/api/v1/live-sessions/{id}", tag = "rota", params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_session(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<SessionView>> {
    Ok(web::Json(queries::one(&state, &caller, *id).await?))
}

/// The session's event log: who changed what, when and why.
#[utoipa::path(get, path = "/api/v1/live-sessions/{id}/events", tag = "rota", params(("id" = i64, Path)),
    responses((status = 200, body = [SessionEventView]), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn session_events(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<Vec<SessionEventView>>> {
    Ok(web::Json(queries::events(&state, &caller, *id).await?))
}

/// Give the session another leader (admin). Published: a reason is required and registered
/// residents are notified.
#[utoipa::path(post, path = "/api/v1/live-sessions/{id}/reassign", tag = "rota", params(("id" = i64, Path)),
    request_body = Reassign,
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody),
        (status = 409, description = "`leader_unavailable`, `leader_double_booked`, `invalid_session_state`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reassign(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<Reassign>,
) -> AppResult<web::Json<SessionView>> {
    let s = edits::reassign(&state, &caller, *id, &body.0).await?;
    Ok(web::Json(queries::staff_view(&state, &caller, s).await?))
}

/// Change the session's date or times (admin). Published: a reason is required and registered
/// residents are notified.
#[utoipa::path(post, path = "/api/v1/live-sessions/{id}/reschedule", tag = "rota", params(("id" = i64, Path)),
    request_body = Reschedule,
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody),
        (status = 409, description = "`outside_rota_range`, `leader_unavailable`, `leader_double_booked`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reschedule(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<Reschedule>,
) -> AppResult<web::Json<SessionView>> {
    let s = edits::reschedule(&state, &caller, *id, &body.0).await?;
    Ok(web::Json(queries::staff_view(&state, &caller, s).await?))
}

/// Cancel the session (admin). Published: a reason is required and registered residents are
/// notified; it stays in the exports as cancelled.
#[utoipa::path(post, path = "/api/v1/live-sessions/{id}/cancel", tag = "rota", params(("id" = i64, Path)),
    request_body = Cancel,
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<Cancel>,
) -> AppResult<web::Json<SessionView>> {
    let s = edits::cancel(&state, &caller, *id, &body.0).await?;
    Ok(web::Json(queries::staff_view(&state, &caller, s).await?))
}

/// Go live (the session's leader or an admin), within the start window around the start time:
/// `outside_start_window` (409) otherwise, `not_session_leader` (403) for another leader.
#[utoipa::path(post, path = "/api/v1/live-sessions/{id}/start", tag = "rota", params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<SessionView>> {
    let s = lifecycle::start(&state, &caller, *id).await?;
    Ok(web::Json(queries::staff_view(&state, &caller, s).await?))
}

/// End a live session (its leader or an admin).
#[utoipa::path(post, path = "/api/v1/live-sessions/{id}/end", tag = "rota", params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn end(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<SessionView>> {
    let s = lifecycle::end(&state, &caller, *id).await?;
    Ok(web::Json(queries::staff_view(&state, &caller, s).await?))
}

/// Register a topic for a published session before it starts (residents). One per resident and
/// session: `already_registered` (409). A topic flagged by the content check is `held` for review.
#[utoipa::path(post, path = "/api/v1/live-sessions/{id}/registrations", tag = "rota", params(("id" = i64, Path)),
    request_body = NewRegistration,
    responses((status = 201, body = RegistrationView), (status = 404, body = ErrorBody),
        (status = 409, description = "`already_registered`, `registration_closed`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_topic(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<NewRegistration>,
) -> AppResult<HttpResponse> {
    let r = registrations::register(&state, &caller, *id, &body.0).await?;
    Ok(HttpResponse::Created().json(r))
}

/// Every registration of the session, held ones with the reason (its leader, office, admin):
/// `not_session_leader` (403) for another leader.
#[utoipa::path(get, path = "/api/v1/live-sessions/{id}/registrations", tag = "rota", params(("id" = i64, Path)),
    responses((status = 200, body = [StaffRegistrationView]),
        (status = 403, description = "`not_session_leader`", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn session_registrations(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<Vec<StaffRegistrationView>>> {
    Ok(web::Json(
        registrations::for_session(&state, &caller, *id).await?,
    ))
}

/// Cancel one's registration for the session, until it starts.
#[utoipa::path(delete, path = "/api/v1/live-sessions/{id}/registration", tag = "rota", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_registration(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    registrations::cancel(&state, &caller, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The resident's registrations, each with its session as it stands now.
#[utoipa::path(get, path = "/api/v1/my/registrations", tag = "rota",
    responses((status = 200, body = [MyRegistration])), security(("bearer" = [])))]
pub async fn my_registrations(
    caller: Caller,
    state: web::Data<AppState>,
) -> AppResult<web::Json<Vec<MyRegistration>>> {
    Ok(web::Json(registrations::mine(&state, &caller).await?))
}

/// Release or reject a topic held by the content check (office).
#[utoipa::path(post, path = "/api/v1/live-registrations/{id}/review", tag = "rota", params(("id" = i64, Path)),
    request_body = Review,
    responses((status = 200, body = StaffRegistrationView), (status = 404, body = ErrorBody),
        (status = 409, description = "`not_held`", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review_registration(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<Review>,
) -> AppResult<web::Json<StaffRegistrationView>> {
    Ok(web::Json(
        registrations::review(&state, *id, &body.0).await?,
    ))
}

/// Record the outcome of a conversation (the session's leader, or the office) while the session
/// is live or after it ended: `answered`, or `appeal`, which files a real appeal for the resident
/// (only for a resident who registered for the session or joined its queue: 422 on `resident_id`).
#[utoipa::path(post, path = "/api/v1/live-sessions/{id}/outcomes", tag = "rota", params(("id" = i64, Path)),
    request_body = NewOutcome,
    responses((status = 201, body = OutcomeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`outcome_exists`, `invalid_session_state`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_outcome(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<NewOutcome>,
) -> AppResult<HttpResponse> {
    let o = outcomes::record(&state, &caller, *id, &body.0).await?;
    Ok(HttpResponse::Created().json(o))
}

/// The session's recorded outcomes (its leader, the office): `not_session_leader` (403) for
/// another leader.
#[utoipa::path(get, path = "/api/v1/live-sessions/{id}/outcomes", tag = "rota", params(("id" = i64, Path)),
    responses((status = 200, body = [OutcomeView]), (status = 403, description = "`not_session_leader`", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_outcomes(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<Vec<OutcomeView>>> {
    Ok(web::Json(outcomes::list(&state, &caller, *id).await?))
}

/// The published rota as iCalendar (RFC 5545): one VEVENT per session with a stable UID,
/// SEQUENCE bumped on every change, cancelled sessions as STATUS:CANCELLED.
#[utoipa::path(get, path = "/api/v1/rota/calendar.ics", tag = "rota", params(ExportQuery),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 422, body = ErrorBody)))]
pub async fn calendar_ics(
    state: web::Data<AppState>,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let body = export::icalendar(&state, &q).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Content-Disposition", "inline; filename=\"rota.ics\""))
        .body(body))
}

/// The published rota as CSV (UTF-8 with BOM, for spreadsheets).
#[utoipa::path(get, path = "/api/v1/rota/sessions.csv", tag = "rota", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorBody)))]
pub async fn sessions_csv(
    state: web::Data<AppState>,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let body = export::csv(&state, &q).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"rota.csv\""))
        .body(body))
}
