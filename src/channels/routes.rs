//! HTTP routes of channels: thin handlers that parse the request, make one domain call and
//! answer with a view. All for the office (and admins).
use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;

use super::importer;
use super::model::{
    ImportJobView, ImportQuery, IntakeRequest, IntakeView, ReportQuery, VerdictRequest,
};
use super::{store, views};
use crate::auth::guard::Routes;
use crate::auth::roles::OFFICE;
use crate::auth::Caller;
use crate::board::queries::{self, AppealView};
use crate::error::{AppError, AppResult, ErrorBody, ErrorCode};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn register(r: &mut Routes) {
    r.add(Method::POST, "/office/intakes", OFFICE, register_intake);
    r.add(
        Method::GET,
        "/office/intakes/{appeal_id}",
        OFFICE,
        get_intake,
    );
    r.add(
        Method::POST,
        "/office/intakes/{appeal_id}/verdict",
        OFFICE,
        record_verdict,
    );
    r.add(Method::POST, "/office/imports", OFFICE, start_import);
    r.add(Method::GET, "/office/imports/{id}", OFFICE, get_import);
}

/// Register an appeal received by phone, letter or another system on a resident's behalf. It
/// enters the same workflow as a mini-program appeal. Idempotent by (channel, `external_ref`):
/// the same appeal sent again answers 200 with the first registration.
#[utoipa::path(post, path = "/api/v1/office/intakes", tag = "channels", request_body = IntakeRequest,
    responses((status = 201, body = IntakeView), (status = 200, description = "already registered under this reference", body = IntakeView),
        (status = 409, description = "`external_ref_taken`: the reference is another appeal", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_intake(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<IntakeRequest>,
) -> AppResult<HttpResponse> {
    let (view, created) = store::register(&state, &caller, &body.0).await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// An appeal registered by the office: channel, reference, the resident masked, claimed or not.
#[utoipa::path(get, path = "/api/v1/office/intakes/{appeal_id}", tag = "channels",
    params(("appeal_id" = i64, Path)),
    responses((status = 200, body = IntakeView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_intake(
    state: web::Data<AppState>,
    appeal_id: web::Path<i64>,
) -> AppResult<web::Json<IntakeView>> {
    Ok(web::Json(views::intake(&state, *appeal_id).await?))
}

/// Record the verdict the resident gave by phone (the `rate` step of the loop) while no
/// resident has claimed the appeal in the mini-program.
#[utoipa::path(post, path = "/api/v1/office/intakes/{appeal_id}/verdict", tag = "channels",
    params(("appeal_id" = i64, Path)), request_body = VerdictRequest,
    responses((status = 200, body = AppealView), (status = 404, body = ErrorBody),
        (status = 409, description = "`appeal_claimed`, `invalid_transition`, `version_conflict`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_verdict(
    caller: Caller,
    state: web::Data<AppState>,
    appeal_id: web::Path<i64>,
    body: ApiJson<VerdictRequest>,
) -> AppResult<web::Json<AppealView>> {
    store::record_verdict(&state, &caller, *appeal_id, body.0).await?;
    Ok(web::Json(
        queries::appeal_for(&state, &caller, *appeal_id).await?,
    ))
}

/// Import another system's export (the body is the CSV or XLSX file itself). Answers at once
/// with the queued job; follow it with `GET /office/imports/{id}`. Nothing is written when a
/// row is refused or with `dry_run=true`.
#[utoipa::path(post, path = "/api/v1/office/imports", tag = "channels", params(ImportQuery),
    request_body(content = String, content_type = "application/octet-stream",
        description = "the export file: CSV (UTF-8) or XLSX, at most `channels.import_max_bytes`"),
    responses((status = 202, body = ImportJobView),
        (status = 400, description = "`upload_interrupted`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start_import(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<ImportQuery>,
    mut payload: web::Payload,
) -> AppResult<HttpResponse> {
    // Read here with the import's own limit: exports are larger than JSON bodies.
    let limit = state.settings.channels.import_max_bytes;
    let mut file = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest {
            code: ErrorCode::UploadInterrupted,
            message: format!("the upload broke off: {e}"),
        })?;
        if file.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        file.extend_from_slice(&chunk);
    }
    let job = importer::start(&state, &caller, q.into_inner(), file.freeze()).await?;
    Ok(HttpResponse::Accepted().json(job))
}

/// An import's progress and, once done, its report: per row created, updated, unchanged or
/// refused (with the reason and line), 500 rows a page.
#[utoipa::path(get, path = "/api/v1/office/imports/{id}", tag = "channels",
    params(("id" = i64, Path), ReportQuery),
    responses((status = 200, body = ImportJobView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_import(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    q: web::Query<ReportQuery>,
) -> AppResult<web::Json<ImportJobView>> {
    Ok(web::Json(views::job(&state, *id, &q).await?))
}
