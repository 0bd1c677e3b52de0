//! HTTP routes of consultations: thin handlers that parse the request, make one domain call and
//! answer with a view.
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};

use super::export;
use super::model::{ConsultationInput, Manager, ResponseInput};
use super::responses;
use super::store::{
    self, Extension, OpinionMark, OutcomeStatement, ReviewRequest, StaffCommand, Withdrawal,
};
use super::tally::Results;
use super::views::{
    self, ConsultationSummary, ConsultationView, ListQuery, MyConsultation, OpinionPage,
    OpinionQuery, OpinionView,
};
use crate::auth::guard::Routes;
use crate::auth::roles::{ADMIN, OFFICE};
use crate::auth::{Access, Caller, Role};
use crate::error::{AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

const RESIDENT: Access = Access::Roles(&[Role::Resident]);
/// Admins, office staff, and handlers for their own department.
const MANAGERS: Access = Access::Roles(&[Role::Handler, Role::Office, Role::Admin]);

pub fn register(r: &mut Routes) {
    r.add(Method::GET, "/consultations", Access::Authenticated, list);
    r.add(Method::POST, "/consultations", MANAGERS, create);
    r.add(
        Method::GET,
        "/consultations/{id}",
        Access::Authenticated,
        get_one,
    );
    r.add(Method::PUT, "/consultations/{id}", MANAGERS, edit);
    r.add(
        Method::POST,
        "/consultations/{id}/publish",
        MANAGERS,
        publish,
    );
    r.add(Method::POST, "/consultations/{id}/extend", MANAGERS, extend);
    r.add(Method::POST, "/consultations/{id}/close", MANAGERS, close);
    r.add(
        Method::POST,
        "/consultations/{id}/withdraw",
        ADMIN,
        withdraw,
    );
    r.add(
        Method::POST,
        "/consultations/{id}/responses",
        RESIDENT,
        respond,
    );
    r.add(
        Method::GET,
        "/consultations/{id}/results",
        Access::Authenticated,
        results,
    );
    r.add(
        Method::GET,
        "/consultations/{id}/opinions",
        MANAGERS,
        opinions,
    );
    r.add(
        Method::POST,
        "/consultations/{id}/opinions/{response_id}/review",
        OFFICE,
        review,
    );
    r.add(
        Method::POST,
        "/consultations/{id}/opinions/{response_id}/outcome",
        MANAGERS,
        mark,
    );
    r.add(
        Method::POST,
        "/consultations/{id}/outcome",
        MANAGERS,
        outcome,
    );
    r.add(
        Method::GET,
        "/consultations/{id}/export.csv",
        MANAGERS,
        export_csv,
    );
    r.add(
        Method::GET,
        "/consultations/{id}/export.xlsx",
        MANAGERS,
        export_xlsx,
    );
    r.add(Method::GET, "/my/consultations", RESIDENT, mine);
}

/// Residents: open consultations, those in their scope first. Staff: those they manage.
#[utoipa::path(get, operation_id = "consultation_list", path = "/api/v1/consultations", tag = "consult", params(ListQuery),
    responses((status = 200, body = [ConsultationSummary])), security(("bearer" = [])))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> AppResult<web::Json<Vec<ConsultationSummary>>> {
    Ok(web::Json(views::list(&state, &caller, &q).await?))
}

/// Create a draft consultation. A handler may only name their own department.
#[utoipa::path(post, operation_id = "consultation_create", path = "/api/v1/consultations", tag = "consult", request_body = ConsultationInput,
    responses((status = 201, body = ConsultationView),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<ConsultationInput>,
) -> AppResult<HttpResponse> {
    let row = store::create(&state, &Manager::of(&caller)?, &body.0).await?;
    let view = views::detail(&state, &caller, row.id).await?;
    Ok(HttpResponse::Created().json(view))
}

/// One consultation: questions, outcome, the resident's own opinion, published opinions.
#[utoipa::path(get, operation_id = "consultation_get_one", path = "/api/v1/consultations/{id}", tag = "consult", params(("id" = i64, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<ConsultationView>> {
    Ok(web::Json(views::detail(&state, &caller, *id).await?))
}

/// Replace a draft; a published consultation is never rewritten (`consultation_published`).
#[utoipa::path(put, operation_id = "consultation_edit", path = "/api/v1/consultations/{id}", tag = "consult", params(("id" = i64, Path)),
    request_body = ConsultationInput,
    responses((status = 200, body = ConsultationView),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`consultation_published`, `invalid_consultation_state`, `version_conflict`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn edit(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<ConsultationInput>,
) -> AppResult<web::Json<ConsultationView>> {
    store::edit(&state, &Manager::of(&caller)?, *id, &body.0).await?;
    Ok(web::Json(views::detail(&state, &caller, *id).await?))
}

async fn run(
    state: &AppState,
    caller: &Caller,
    id: i64,
    cmd: StaffCommand,
) -> AppResult<web::Json<ConsultationView>> {
    store::command(state, &Manager::of(caller)?, id, cmd).await?;
    Ok(web::Json(views::detail(state, caller, id).await?))
}

/// Publish a draft: its questions are frozen from now on.
#[utoipa::path(post, operation_id = "consultation_publish", path = "/api/v1/consultations/{id}/publish", tag = "consult", params(("id" = i64, Path)),
    responses((status = 200, body = ConsultationView),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_consultation_state`, `version_conflict`", body = ErrorBody),
        (status = 422, description = "`closes_at` has passed", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<ConsultationView>> {
    run(&state, &caller, *id, StaffCommand::Publish).await
}

/// Move the closing time later (reopens a closed consultation until its outcome is out).
#[utoipa::path(post, operation_id = "consultation_extend", path = "/api/v1/consultations/{id}/extend", tag = "consult", params(("id" = i64, Path)),
    request_body = Extension,
    responses((status = 200, body = ConsultationView),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_consultation_state`, `outcome_published`, `version_conflict`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn extend(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<Extension>,
) -> AppResult<web::Json<ConsultationView>> {
    run(&state, &caller, *id, StaffCommand::Extend(body.0)).await
}

/// Close an open consultation now.
#[utoipa::path(post, operation_id = "consultation_close", path = "/api/v1/consultations/{id}/close", tag = "consult", params(("id" = i64, Path)),
    responses((status = 200, body = ConsultationView),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_consultation_state`, `version_conflict`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<ConsultationView>> {
    run(&state, &caller, *id, StaffCommand::Close).await
}

/// Withdraw a consultation with a reason (admin).
#[utoipa::path(post, operation_id = "consultation_withdraw", path = "/api/v1/consultations/{id}/withdraw", tag = "consult", params(("id" = i64, Path)),
    request_body = Withdrawal,
    responses((status = 200, body = ConsultationView), (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_consultation_state`, `version_conflict`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<Withdrawal>,
) -> AppResult<web::Json<ConsultationView>> {
    run(&state, &caller, *id, StaffCommand::Withdraw(body.0)).await
}

/// Submit or change one's opinion. Requires an `Idempotency-Key` header: resending with the
/// same key returns the same opinion (200, `Idempotent-Replayed: true`), never a second version.
#[utoipa::path(post, operation_id = "consultation_respond", path = "/api/v1/consultations/{id}/responses", tag = "consult", params(("id" = i64, Path),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 128,
        description = "unique per submission (printable ASCII); reuse it when resending")),
    request_body = ResponseInput,
    responses((status = 201, description = "saved (a first opinion or a change)", body = ConsultationView),
        (status = 200, description = "replayed", body = ConsultationView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`consultation_not_open`, `consultation_closed`, `idempotency_key_reused`, `version_conflict`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `field` names the question (`answers.q2`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn respond(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<ResponseInput>,
) -> AppResult<HttpResponse> {
    let key = responses::validate_idempotency_key(
        req.headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok()),
    )?;
    let done = responses::submit(&state, &caller, *id, &key, &body.0).await?;
    let view = views::detail(&state, &caller, done.response.consultation_id).await?;
    Ok(if done.replayed {
        HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(view)
    } else {
        HttpResponse::Created().json(view)
    })
}

/// Aggregate results: staff who manage it always; residents when it shows its results.
#[utoipa::path(get, operation_id = "consultation_results", path = "/api/v1/consultations/{id}/results", tag = "consult", params(("id" = i64, Path)),
    responses((status = 200, body = Results),
        (status = 403, description = "`results_not_public`", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn results(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<Results>> {
    Ok(web::Json(views::results(&state, &caller, *id).await?))
}

/// Opinions with free text, newest first, with paging and Chinese search.
#[utoipa::path(get, operation_id = "consultation_opinions", path = "/api/v1/consultations/{id}/opinions", tag = "consult",
    params(("id" = i64, Path), OpinionQuery),
    responses((status = 200, body = OpinionPage),
        (status = 403, description = "`forbidden` (held text is the office's), `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn opinions(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    q: web::Query<OpinionQuery>,
) -> AppResult<web::Json<OpinionPage>> {
    let m = Manager::of(&caller)?;
    let c = store::managed(&state.db, &m, *id).await?;
    Ok(web::Json(views::opinions(&state, &m, &c, &q).await?))
}

/// Release or reject an opinion whose free text the content check held (office, admin).
#[utoipa::path(post, operation_id = "consultation_review", path = "/api/v1/consultations/{id}/opinions/{response_id}/review", tag = "consult",
    params(("id" = i64, Path), ("response_id" = i64, Path)), request_body = ReviewRequest,
    responses((status = 200, body = OpinionView), (status = 404, body = ErrorBody),
        (status = 409, description = "`not_held`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: ApiJson<ReviewRequest>,
) -> AppResult<web::Json<OpinionView>> {
    let (id, rid) = *path;
    let m = Manager::of(&caller)?;
    let o = store::review(&state, &m, id, rid, body.0.decision).await?;
    let (_, places) = views::opinions_with_places(&state.db, id).await?;
    Ok(web::Json(views::opinion_view(&o, &places)))
}

/// Mark what became of one opinion: `adopted`, `partly_adopted` or `noted`, with a reason.
#[utoipa::path(post, operation_id = "consultation_mark", path = "/api/v1/consultations/{id}/opinions/{response_id}/outcome", tag = "consult",
    params(("id" = i64, Path), ("response_id" = i64, Path)), request_body = OpinionMark,
    responses((status = 200, body = OpinionView),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_consultation_state`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mark(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: ApiJson<OpinionMark>,
) -> AppResult<web::Json<OpinionView>> {
    let (id, rid) = *path;
    let m = Manager::of(&caller)?;
    let o = store::mark(&state, &m, id, rid, &body.0).await?;
    let (_, places) = views::opinions_with_places(&state.db, id).await?;
    Ok(web::Json(views::opinion_view(&o, &places)))
}

/// Publish the outcome statement after closing; every respondent is notified.
#[utoipa::path(post, operation_id = "consultation_outcome", path = "/api/v1/consultations/{id}/outcome", tag = "consult", params(("id" = i64, Path)),
    request_body = OutcomeStatement,
    responses((status = 200, body = ConsultationView),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_consultation_state` (not closed), `outcome_published`, `version_conflict`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn outcome(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<OutcomeStatement>,
) -> AppResult<web::Json<ConsultationView>> {
    let m = Manager::of(&caller)?;
    store::publish_outcome(&state, &m, *id, &body.0.statement).await?;
    Ok(web::Json(views::detail(&state, &caller, *id).await?))
}

/// The opinions as CSV (UTF-8 with BOM; formulas defused).
#[utoipa::path(get, operation_id = "consultation_export_csv", path = "/api/v1/consultations/{id}/export.csv", tag = "consult", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_csv(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let c = store::managed(&state.db, &Manager::of(&caller)?, *id).await?;
    let [_, responses] = export::tables(&state, &c).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"consultation-{}.csv\"", c.row.id),
        ))
        .body(export::csv(&responses)?))
}

/// Summary and opinions as an XLSX workbook (sheets `汇总` and `意见`).
#[utoipa::path(get, operation_id = "consultation_export_xlsx", path = "/api/v1/consultations/{id}/export.xlsx", tag = "consult", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, description = "`forbidden`, `not_your_department`", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_xlsx(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let c = store::managed(&state.db, &Manager::of(&caller)?, *id).await?;
    let tables = export::tables(&state, &c).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"consultation-{}.xlsx\"", c.row.id),
        ))
        .body(export::xlsx(&tables)?))
}

/// The consultations the resident answered, with the outcome and their own opinion's fate.
#[utoipa::path(get, operation_id = "consultation_mine", path = "/api/v1/my/consultations", tag = "consult",
    responses((status = 200, body = [MyConsultation])), security(("bearer" = [])))]
pub async fn mine(
    caller: Caller,
    state: web::Data<AppState>,
) -> AppResult<web::Json<Vec<MyConsultation>>> {
    Ok(web::Json(views::mine(&state, &caller).await?))
}
