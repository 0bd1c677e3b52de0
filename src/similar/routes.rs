//! Admin endpoints of the synonym lexicon: thin handlers over [`super::store`].
use actix_web::http::Method;
use actix_web::{web, HttpResponse};

use super::lexicon::SynonymPair;
use super::store::{self, SynonymView};
use crate::auth::guard::Routes;
use crate::auth::roles::ADMIN;
use crate::auth::Caller;
use crate::error::{AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn register(r: &mut Routes) {
    r.add(Method::GET, "/synonyms", ADMIN, list_synonyms);
    r.add(Method::POST, "/synonyms", ADMIN, add_synonym);
    r.add(Method::DELETE, "/synonyms/{term}", ADMIN, remove_synonym);
}

/// The synonym lexicon of duplicate suggestions (admin): each term is scored as its canonical
/// word.
#[utoipa::path(get, path = "/api/v1/synonyms", tag = "board",
    responses((status = 200, body = [SynonymView])), security(("bearer" = [])))]
pub async fn list_synonyms(state: web::Data<AppState>) -> AppResult<web::Json<Vec<SynonymView>>> {
    Ok(web::Json(store::list(&state.db).await?))
}

/// Add a synonym (admin): from now on `term` is scored as `canonical`.
#[utoipa::path(post, path = "/api/v1/synonyms", tag = "board", request_body = SynonymPair,
    responses((status = 201, body = SynonymView),
        (status = 409, description = "`synonym_exists`: the term is in the lexicon already", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_synonym(
    caller: Caller,
    state: web::Data<AppState>,
    body: ApiJson<SynonymPair>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let v = store::add(&state, &caller, &body.0.term, &body.0.canonical, now).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Remove a term from the lexicon (admin).
#[utoipa::path(delete, path = "/api/v1/synonyms/{term}", tag = "board",
    params(("term" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_synonym(
    state: web::Data<AppState>,
    term: web::Path<String>,
) -> AppResult<HttpResponse> {
    store::remove(&state, &term).await?;
    Ok(HttpResponse::NoContent().finish())
}
