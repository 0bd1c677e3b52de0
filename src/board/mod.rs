//! The message board and the closed loop of appeals.
pub mod catalog;
pub mod duplicates;
pub mod masking;
pub mod moderation;
pub mod queries;
pub mod reindex;
pub mod routes;
pub mod search;
pub mod service;
pub mod supervision;
pub mod workflow;
