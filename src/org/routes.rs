use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store;
use crate::auth::guard::Routes;
use crate::auth::roles::ADMIN;
use crate::auth::Access;
use crate::error::{AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn register(r: &mut Routes) {
    r.add(Method::GET, "/departments", Access::Authenticated, list);
    r.add(Method::POST, "/departments", ADMIN, create);
}

#[derive(Deserialize, ToSchema)]
pub struct NewDepartment {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct Department {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<entity::departments::Model> for Department {
    fn from(m: entity::departments::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            created_at: m.created_at,
        }
    }
}

/// Every department, by name.
#[utoipa::path(get, path = "/api/v1/departments", tag = "org", operation_id = "list_departments",
    responses((status = 200, body = [Department])), security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>) -> AppResult<web::Json<Vec<Department>>> {
    Ok(web::Json(
        store::list(&state.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Create a department (admin).
#[utoipa::path(post, path = "/api/v1/departments", tag = "org", operation_id = "create_department",
    request_body = NewDepartment,
    responses((status = 201, body = Department), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    body: ApiJson<NewDepartment>,
) -> AppResult<HttpResponse> {
    let d = store::create(&state.db, &body.0.name, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(Department::from(d)))
}
