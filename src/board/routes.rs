//! HTTP routes of the board: thin handlers that parse the request, make one domain call and
//! answer with a view.
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};

use super::catalog::{self, Category, NewCategory, NewVillage, Village, Word};
use super::model::{self, ActionRequest, Actor};
use super::queries::{
    self, AppealSummary, AppealView, BoardItem, BoardQuery, NoticeQuery, NoticeView, Page,
    PageQuery, SimilarAppeal, SimilarRequest, StaffQuery,
};
use super::service::{self, NewAppeal};
use super::store;
use crate::auth::guard::Routes;
use crate::auth::roles::{ADMIN, OFFICE};
use crate::auth::routes::client_addr;
use crate::auth::{Access, Caller, Role};
use crate::error::{AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

const RESIDENT: Access = Access::Roles(&[Role::Resident]);
const HANDLER: Access = Access::Roles(&[Role::Handler]);
const ACTORS: Access = Access::Roles(&[Role::Resident, Role::Handler, Role::Office, Role::Admin]);
const SUPERVISORS: Access = Access::Roles(&[Role::Handler, Role::Office, Role::Admin]);

pub fn register(r: &mut Routes) {
    r.add(Method::GET, "/categories", Access::Public, list_categories);
    r.add(Method::POST, "/categories", ADMIN, create_category);
    r.add(Method::GET, "/villages", Access::Public, list_villages);
    r.add(Method::POST, "/villages", ADMIN, create_village);
    r.add(Method::GET, "/sensitive-words", ADMIN, list_words);
    r.add(Method::POST, "/sensitive-words", ADMIN, add_word);
    r.add(
        Method::DELETE,
        "/sensitive-words/{word}",
        ADMIN,
        remove_word,
    );
    r.add(Method::POST, "/appeals", RESIDENT, submit);
    r.add(Method::POST, "/appeals/similar", RESIDENT, similar);
    r.add(Method::GET, "/my/appeals", RESIDENT, my_appeals);
    r.add(
        Method::GET,
        "/appeals/{id}",
        Access::Authenticated,
        get_appeal,
    );
    r.add(Method::POST, "/appeals/{id}/actions", ACTORS, act);
    r.add(Method::GET, "/office/appeals", OFFICE, office_appeals);
    r.add(
        Method::GET,
        "/department/appeals",
        HANDLER,
        department_appeals,
    );
    r.add(Method::GET, "/supervision/notices", SUPERVISORS, notices);
    r.add(Method::GET, "/board", Access::Public, board);
    r.add(Method::GET, "/board/{id}", Access::Public, board_one);
}

/// Categories, each with its default department and suggested urgency.
#[utoipa::path(get, path = "/api/v1/categories", tag = "board", responses((status = 200, body = [Category])))]
pub async fn list_categories(state: web::Data<AppState>) -> AppResult<web::Json<Vec<Category>>> {
    Ok(web::Json(catalog::list_categories(&state.db).await?))
}

/// Create a category (admin).
#[utoipa::path(post, path = "/api/v1/categories", tag = "board", request_body = NewCategory,
    responses((status = 201, body = Category), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_category(
    state: web::Data<AppState>,
    body: ApiJson<NewCategory>,
) -> AppResult<HttpResponse> {
    let c = catalog::create_category(&state.db, &body.0, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(c))
}

/// Villages and their townships.
#[utoipa::path(get, path = "/api/v1/villages", tag = "board", responses((status = 200, body = [Village])))]
pub async fn list_villages(state: web::Data<AppState>) -> AppResult<web::Json<Vec<Village>>> {
    Ok(web::Json(catalog::list_villages(&state.db).await?))
}

/// Create a village (admin).
#[utoipa::path(post, path = "/api/v1/villages", tag = "board", request_body = NewVillage,
    responses((status = 201, body = Village), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_village(
    state: web::Data<AppState>,
    body: ApiJson<NewVillage>,
) -> AppResult<HttpResponse> {
    let v = catalog::create_village(&state.db, &body.0, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(v))
}

/// The sensitive-word list of the content check (admin).
#[utoipa::path(get, path = "/api/v1/sensitive-words", tag = "board",
    responses((status = 200, body = [String])), security(("bearer" = [])))]
pub async fn list_words(state: web::Data<AppState>) -> AppResult<web::Json<Vec<String>>> {
    Ok(web::Json(catalog::list_words(&state.db).await?))
}

/// Add a sensitive word (admin); adding one twice is harmless.
#[utoipa::path(post, path = "/api/v1/sensitive-words", tag = "board", request_body = Word,
    responses((status = 204), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_word(state: web::Data<AppState>, body: ApiJson<Word>) -> AppResult<HttpResponse> {
    catalog::add_word(&state.db, &body.0.word, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a sensitive word (admin).
#[utoipa::path(delete, path = "/api/v1/sensitive-words/{word}", tag = "board",
    params(("word" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_word(
    state: web::Data<AppState>,
    word: web::Path<String>,
) -> AppResult<HttpResponse> {
    catalog::remove_word(&state.db, &word).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Submit an appeal. Requires an `Idempotency-Key` header: resending with the same key returns
/// the same appeal (200 with `Idempotent-Replayed: true`), never a second one.
#[utoipa::path(post, path = "/api/v1/appeals", tag = "board", request_body = NewAppeal,
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 128,
        description = "unique per appeal (printable ASCII); reuse it when resending")),
    responses((status = 201, body = AppealView), (status = 200, description = "replayed", body = AppealView),
        (status = 409, description = "`idempotency_key_reused`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<NewAppeal>,
) -> AppResult<HttpResponse> {
    let key = service::validate_idempotency_key(
        req.headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok()),
    )?;
    let done = service::submit(&state, &caller, &key, &body.0).await?;
    let view = queries::appeal_for(&state, &caller, done.appeal.id).await?;
    Ok(if done.replayed {
        HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(view)
    } else {
        HttpResponse::Created().json(view)
    })
}

/// Open appeals that look like the one being written: the resident's own recent ones, and
/// public ones about the same problem nearby.
#[utoipa::path(post, path = "/api/v1/appeals/similar", tag = "board", request_body = SimilarRequest,
    responses((status = 200, body = [SimilarAppeal])), security(("bearer" = [])))]
pub async fn similar(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<SimilarRequest>,
) -> AppResult<web::Json<Vec<SimilarAppeal>>> {
    Ok(web::Json(queries::similar(&state, &caller, &body.0).await?))
}

/// The resident's own appeals, newest first, with status, deadline, timeline and replies.
#[utoipa::path(get, path = "/api/v1/my/appeals", tag = "board", params(PageQuery),
    responses((status = 200, body = Page<AppealView>)), security(("bearer" = [])))]
pub async fn my_appeals(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<AppealView>>> {
    Ok(web::Json(queries::my_appeals(&state, &caller, &q).await?))
}

/// One appeal, for its author, the office, leaders and its departments; 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/appeals/{id}", tag = "board", params(("id" = i64, Path)),
    responses((status = 200, body = AppealView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_appeal(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<AppealView>> {
    Ok(web::Json(queries::appeal_for(&state, &caller, *id).await?))
}

/// Perform an action of the closed loop. The transition table decides who may do what in
/// which state: `invalid_transition` (409, with the current state), `action_not_permitted`
/// (403), `version_conflict` (409, with the current state and version).
#[utoipa::path(post, path = "/api/v1/appeals/{id}/actions", tag = "board", params(("id" = i64, Path)),
    request_body = ActionRequest,
    responses((status = 200, description = "the appeal after the action", body = AppealView),
        (status = 403, description = "`action_not_permitted` (the table), `forbidden` (the role)", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_transition`, `version_conflict` (with `state` and `version`), or a rule of the action: `extension_pending`, `no_extension_pending`, `deadline_passed`, `no_deadline`, `no_urgency`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the flat body names the bad field; an unknown action is `action`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn act(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: ApiJson<serde_json::Value>,
) -> AppResult<web::Json<AppealView>> {
    let ActionRequest { version, action } = model::action_request(body.0)?;
    store::apply(&state, Actor::of(&caller)?, *id, Some(version), action).await?;
    Ok(web::Json(queries::appeal_for(&state, &caller, *id).await?))
}

/// The office's work list: by default everything waiting for the office.
#[utoipa::path(get, path = "/api/v1/office/appeals", tag = "board", params(StaffQuery),
    responses((status = 200, body = Page<AppealSummary>)), security(("bearer" = [])))]
pub async fn office_appeals(
    state: web::Data<AppState>,
    q: web::Query<StaffQuery>,
) -> AppResult<web::Json<Page<AppealSummary>>> {
    Ok(web::Json(queries::office_list(&state, &q).await?))
}

/// The department's work list: appeals it leads or assists with.
#[utoipa::path(get, path = "/api/v1/department/appeals", tag = "board", params(StaffQuery),
    responses((status = 200, body = Page<AppealSummary>)), security(("bearer" = [])))]
pub async fn department_appeals(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<StaffQuery>,
) -> AppResult<web::Json<Page<AppealSummary>>> {
    Ok(web::Json(
        queries::department_list(&state, &caller, &q).await?,
    ))
}

/// Supervision notices (overdue, escalated); a handler sees their department's.
#[utoipa::path(get, path = "/api/v1/supervision/notices", tag = "board", params(NoticeQuery),
    responses((status = 200, body = Page<NoticeView>)), security(("bearer" = [])))]
pub async fn notices(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<NoticeQuery>,
) -> AppResult<web::Json<Page<NoticeView>>> {
    Ok(web::Json(queries::notices(&state, &caller, &q).await?))
}

/// The public board: accepted public appeals, newest first, masked, with approved public replies.
/// A search that reaches its work bound answers with what it found and a `next_cursor`.
#[utoipa::path(get, path = "/api/v1/board", tag = "board", params(BoardQuery),
    responses((status = 200, body = Page<BoardItem>), (status = 422, body = ErrorBody),
        (status = 429, description = "`rate_limited`, with Retry-After", body = ErrorBody)))]
pub async fn board(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<BoardQuery>,
) -> AppResult<web::Json<Page<BoardItem>>> {
    queries::check_read_rate(&state, &client_addr(&req, &state)).await?;
    Ok(web::Json(queries::board(&state, &q).await?))
}

/// One appeal of the public board.
#[utoipa::path(get, path = "/api/v1/board/{id}", tag = "board", params(("id" = i64, Path)),
    responses((status = 200, body = BoardItem), (status = 404, body = ErrorBody),
        (status = 429, description = "`rate_limited`, with Retry-After", body = ErrorBody)))]
pub async fn board_one(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<BoardItem>> {
    queries::check_read_rate(&state, &client_addr(&req, &state)).await?;
    Ok(web::Json(queries::board_one(&state, *id).await?))
}
