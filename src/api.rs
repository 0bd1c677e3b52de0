//! The route table. Every endpoint is registered here with its method, path and access;
//! the same table drives authorization, the role-refusal tests and the OpenAPI completeness
//! test. The builder and the guard are in `crate::auth::guard`, so that capabilities register
//! their routes without depending on this list of them.
pub use crate::auth::guard::{Endpoint, Routes, PREFIX};

/// Every route of the application.
pub fn routes() -> Routes {
    let mut r = Routes::default();
    crate::ops::register(&mut r);
    crate::auth::routes::register(&mut r);
    crate::org::routes::register(&mut r);
    crate::calendar::routes::register(&mut r);
    crate::board::routes::register(&mut r);
    crate::channels::routes::register(&mut r);
    crate::similar::routes::register(&mut r);
    crate::live::routes::register(&mut r);
    crate::rota::routes::register(&mut r);
    crate::notify::routes::register(&mut r);
    crate::consult::routes::register(&mut r);
    r
}
