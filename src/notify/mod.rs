//! Notifications: the transactional outbox (rows written with the change they report), the
//! worker that sends them as WeChat subscription messages, residents' one-time consents, and
//! the operators' view of the outbox.
pub mod decide;
pub mod model;
pub mod routes;
pub mod store;
pub mod views;
pub mod worker;
