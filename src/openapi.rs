//! The OpenAPI document. A test checks that every route in [`crate::api::routes`] is here.
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth)
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
