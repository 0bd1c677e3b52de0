//! Working days in Asia/Shanghai: pure arithmetic over admin-maintained holiday data.
pub mod routes;
pub mod store;
pub mod workdays;
