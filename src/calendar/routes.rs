use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::store;
use super::workdays::{CalendarDay, DayKind};
use crate::auth::guard::Routes;
use crate::auth::roles::ADMIN;
use crate::auth::Access;
use crate::clock::parse_date;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn register(r: &mut Routes) {
    r.add(Method::GET, "/calendar/days", Access::Public, list);
    r.add(Method::PUT, "/calendar/days/{date}", ADMIN, put_day);
    r.add(Method::DELETE, "/calendar/days/{date}", ADMIN, delete_day);
    r.add(Method::POST, "/calendar/import", ADMIN, import);
}

#[derive(Deserialize, IntoParams)]
pub struct YearQuery {
    /// Only this year's days.
    pub year: Option<i32>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DayView {
    /// `YYYY-MM-DD`
    pub date: String,
    /// `holiday` (a day off) or `workday` (an adjusted working weekend, 调休)
    pub kind: String,
    pub name: String,
}

impl From<CalendarDay> for DayView {
    fn from(d: CalendarDay) -> Self {
        Self {
            date: d.date.format("%Y-%m-%d").to_string(),
            kind: d.kind.to_string(),
            name: d.name,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct DayBody {
    /// `holiday` or `workday`
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ImportBody {
    /// CSV text with the header `date,kind,name`.
    pub csv: String,
}

#[derive(Serialize, ToSchema)]
pub struct Imported {
    pub days: usize,
}

fn parse_kind(s: &str) -> AppResult<DayKind> {
    s.parse()
        .map_err(|_| AppError::validation("kind", "must be `holiday` or `workday`"))
}

/// Holidays and adjusted working days (the exceptions to Monday–Friday).
#[utoipa::path(get, path = "/api/v1/calendar/days", tag = "calendar", operation_id = "list_calendar_days",
    params(YearQuery),
    responses((status = 200, body = [DayView])))]
pub async fn list(
    state: web::Data<AppState>,
    q: web::Query<YearQuery>,
) -> AppResult<web::Json<Vec<DayView>>> {
    let days = store::list(&state.db, q.year).await?;
    Ok(web::Json(days.into_iter().map(Into::into).collect()))
}

/// Set one day (admin).
#[utoipa::path(put, path = "/api/v1/calendar/days/{date}", tag = "calendar",
    params(("date" = NaiveDate, Path, description = "YYYY-MM-DD")), request_body = DayBody,
    responses((status = 200, body = DayView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_day(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<DayBody>,
) -> AppResult<web::Json<DayView>> {
    let date = parse_date("date", &path)?;
    let kind = parse_kind(&body.0.kind)?;
    let day = store::set_day(&state.db, date, kind, &body.0.name, state.clock.now()).await?;
    Ok(web::Json(day.into()))
}

/// Remove one day, so it follows the plain Monday–Friday rule again (admin).
#[utoipa::path(delete, path = "/api/v1/calendar/days/{date}", tag = "calendar",
    params(("date" = NaiveDate, Path, description = "YYYY-MM-DD")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_day(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    store::delete_day(&state.db, parse_date("date", &path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Import a `date,kind,name` CSV, all or nothing (admin).
#[utoipa::path(post, path = "/api/v1/calendar/import", tag = "calendar", operation_id = "import_calendar",
    request_body = ImportBody,
    responses((status = 200, body = Imported), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import(
    state: web::Data<AppState>,
    body: ApiJson<ImportBody>,
) -> AppResult<web::Json<Imported>> {
    let days = store::import(&state, &body.0.csv).await?;
    Ok(web::Json(Imported { days }))
}
