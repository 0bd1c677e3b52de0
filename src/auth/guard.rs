//! The request guard: every endpoint is registered with its [`Access`] through [`Routes`], which
//! wraps it in [`guard_route`], so an endpoint cannot exist without saying who may call it. The
//! list of routes itself is `crate::api::routes`; it lives above the capabilities, this below.
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Next};
use actix_web::{guard, web, Error, FromRequest, Handler, Responder, ResponseError};
use futures_util::FutureExt;

use crate::auth::Access;
use crate::error::AppError;

pub const PREFIX: &str = "/api/v1";

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub method: Method,
    /// Full path as actix and OpenAPI write it, e.g. `/api/v1/departments/{id}`.
    pub path: String,
    pub access: Access,
}

type Register = Box<dyn FnOnce(&mut web::ServiceConfig)>;

#[derive(Default)]
pub struct Routes {
    pub endpoints: Vec<Endpoint>,
    registrations: Vec<Register>,
}

impl Routes {
    /// Adds `handler` at `PREFIX + path` for `method`, admitting only `access`.
    pub fn add<F, Args>(&mut self, method: Method, path: &str, access: Access, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let full = format!("{PREFIX}{path}");
        self.add_raw(method, full, access, handler);
    }

    /// Like [`Routes::add`] for paths outside the API prefix (`/healthz`, …).
    pub fn add_raw<F, Args>(&mut self, method: Method, path: String, access: Access, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.endpoints.push(Endpoint {
            method: method.clone(),
            path: path.clone(),
            access,
        });
        self.registrations.push(Box::new(move |cfg| {
            // The method guard sits on the resource so that several resources may share a
            // path, one per method.
            cfg.service(
                web::resource(path)
                    .guard(guard::Method(method.clone()))
                    .wrap(from_fn(move |req, next| guard_route(access, req, next)))
                    .route(web::method(method).to(handler)),
            );
        }));
    }

    pub fn configure(self, cfg: &mut web::ServiceConfig) {
        for r in self.registrations {
            r(cfg);
        }
    }
}

/// Runs one route: authorization by its [`Access`], then the handler, with a panic turned into
/// a 500 JSON answer instead of a dropped connection. Errors become responses here, so the
/// outer middleware sees every status.
pub async fn guard_route(
    access: Access,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Cloning is safe here: routing has finished and set the match info.
    let http_req = req.request().clone();
    let req = match super::caller::authorize(access, req).await {
        Ok(req) => req,
        Err((req, e)) => return Ok(req.error_response(e)),
    };
    let outcome = std::panic::AssertUnwindSafe(next.call(req))
        .catch_unwind()
        .await;
    Ok(match outcome {
        Ok(Ok(res)) => res.map_into_boxed_body(),
        Ok(Err(e)) => ServiceResponse::new(http_req, e.error_response()),
        Err(_) => {
            let err = AppError::internal(anyhow::anyhow!("handler panicked"));
            ServiceResponse::new(http_req, err.error_response())
        }
    })
}
