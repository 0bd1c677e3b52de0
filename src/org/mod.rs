//! The organisation: departments (承办单位) that handle appeals.
pub mod routes;
pub mod store;
