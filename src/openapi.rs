//! The OpenAPI document. A test checks that every route in [`crate::api::routes`] is here, that
//! the document is valid OpenAPI 3.1, and that every answer the API tests receive matches it.
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api::{routes, Endpoint};
use crate::auth::Access;

#[derive(OpenApi)]
#[openapi(
    info(title = "minxin", description = "Backend of a county's online mass-work platform"),
    paths(
        crate::ops::healthz,
        crate::ops::readyz,
        crate::ops::metrics,
        crate::ops::openapi,
        crate::auth::routes::wechat_login,
        crate::auth::routes::refresh,
        crate::auth::routes::logout,
        crate::auth::routes::redeem_invitation,
        crate::auth::routes::create_invitation,
        crate::auth::routes::me,
        crate::auth::phone::verify_phone,
        crate::notify::routes::my_subscriptions,
        crate::notify::routes::report_consents,
        crate::notify::routes::outbox,
        crate::org::routes::list,
        crate::org::routes::create,
        crate::calendar::routes::list,
        crate::calendar::routes::put_day,
        crate::calendar::routes::delete_day,
        crate::calendar::routes::import,
        crate::board::routes::list_categories,
        crate::board::routes::create_category,
        crate::board::routes::list_villages,
        crate::board::routes::create_village,
        crate::board::routes::list_words,
        crate::board::routes::add_word,
        crate::board::routes::remove_word,
        crate::board::routes::submit,
        crate::board::routes::similar,
        crate::board::routes::my_appeals,
        crate::board::routes::get_appeal,
        crate::board::routes::act,
        crate::board::routes::office_appeals,
        crate::board::routes::department_appeals,
        crate::board::routes::notices,
        crate::board::routes::board,
        crate::board::routes::board_one,
        crate::channels::routes::register_intake,
        crate::channels::routes::get_intake,
        crate::channels::routes::record_verdict,
        crate::channels::routes::start_import,
        crate::channels::routes::get_import,
        crate::similar::routes::list_synonyms,
        crate::similar::routes::add_synonym,
        crate::similar::routes::remove_synonym,
        crate::live::routes::ticket,
        crate::live::routes::connect,
        crate::live::routes::media,
        crate::live::h5::console,
        crate::live::h5::resident,
        crate::live::h5::asset,
        crate::rota::routes::list_leaders,
        crate::rota::routes::put_leader,
        crate::rota::routes::list_unavailable,
        crate::rota::routes::add_unavailable,
        crate::rota::routes::remove_unavailable,
        crate::rota::routes::generate,
        crate::rota::routes::list_rotas,
        crate::rota::routes::get_rota,
        crate::rota::routes::discard,
        crate::rota::routes::publish,
        crate::rota::routes::add_session,
        crate::rota::routes::swap,
        crate::rota::routes::list_sessions,
        crate::rota::routes::get_session,
        crate::rota::routes::session_events,
        crate::rota::routes::reassign,
        crate::rota::routes::reschedule,
        crate::rota::routes::cancel,
        crate::rota::routes::start,
        crate::rota::routes::end,
        crate::rota::routes::register_topic,
        crate::rota::routes::session_registrations,
        crate::rota::routes::cancel_registration,
        crate::rota::routes::my_registrations,
        crate::rota::routes::review_registration,
        crate::rota::routes::record_outcome,
        crate::rota::routes::list_outcomes,
        crate::rota::routes::calendar_ics,
        crate::rota::routes::sessions_csv,
        crate::consult::routes::list,
        crate::consult::routes::create,
        crate::consult::routes::get_one,
        crate::consult::routes::edit,
        crate::consult::routes::publish,
        crate::consult::routes::extend,
        crate::consult::routes::close,
        crate::consult::routes::withdraw,
        crate::consult::routes::respond,
        crate::consult::routes::results,
        crate::consult::routes::opinions,
        crate::consult::routes::review,
        crate::consult::routes::mark,
        crate::consult::routes::outcome,
        crate::consult::routes::export_csv,
        crate::consult::routes::export_xlsx,
        crate::consult::routes::mine,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth, &CommonAnswers)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The answers every route gives by how it is wired rather than by what its handler does: the
/// guard's 401/403 from the route table, the JSON extractor's 400/413/415/422, the path and
/// query extractors' 404/422, and 500. Declared here, from the same route table that wires
/// them, so no operation can forget one; a handler's own description of a status wins.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let endpoints = routes().endpoints;
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let endpoint = endpoints
                    .iter()
                    .find(|e| e.path == *path && e.method.as_str() == method);
                declare_common(op, endpoint);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("PATCH", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

fn takes_json(body: &Option<RequestBody>) -> bool {
    body.as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"))
}

fn declare_common(op: &mut Operation, endpoint: Option<&Endpoint>) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let (in_path, in_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
    let access = endpoint.map_or(Access::Public, |e| e.access);
    let mut answers: Vec<(&str, &str)> = Vec::new();
    if takes_json(&op.request_body) {
        answers.extend([
            ("400", "`invalid_json`: the body is not JSON"),
            (
                "413",
                "`payload_too_large`: the body is over the configured limit",
            ),
            (
                "415",
                "`unsupported_media_type`: the body is not `application/json`",
            ),
        ]);
    }
    if takes_json(&op.request_body) || in_query {
        answers.push((
            "422",
            "`validation_failed`: `field` names the field or parameter at fault",
        ));
    }
    if in_path {
        answers.push(("404", "`not_found`: no such record (or a malformed id)"));
    }
    if !matches!(access, Access::Public) {
        answers.push(("401", "`unauthenticated` (no token) or `invalid_token`"));
        if op.security.as_ref().is_none_or(Vec::is_empty) {
            op.security = Some(vec![SecurityRequirement::new::<_, _, &str>("bearer", [])]);
        }
    }
    if matches!(access, Access::Roles(_)) {
        answers.push(("403", "`forbidden`: the caller's role may not call this"));
    }
    answers.push(("500", "`internal_error`: details only in the server's log"));
    for (status, description) in answers {
        let answer = op
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description).into());
        // A handler that named the status without saying what it means gets the common words.
        if let RefOr::T(r) = answer {
            if r.description.is_empty() {
                r.description = description.to_string();
            }
        }
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
