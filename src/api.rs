//! The route table. Every endpoint is registered here with its method, path and [`Access`];
//! the same table drives authorization, the role-refusal tests and the OpenAPI completeness
//! test, so an endpoint cannot exist without saying who may call it.
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{guard, web, FromRequest, Handler, Responder};

use crate::auth::Access;
use crate::telemetry::guard_route;

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

/// Every route of the application.
pub fn routes() -> Routes {
    let mut r = Routes::default();
    crate::ops::register(&mut r);
    crate::auth::routes::register(&mut r);
    crate::org::routes::register(&mut r);
    crate::calendar::routes::register(&mut r);
    crate::board::routes::register(&mut r);
    crate::live::routes::register(&mut r);
    crate::rota::routes::register(&mut r);
    r
}
