//! The message board and the closed loop of appeals.
pub mod catalog;
pub mod decide;
pub mod duplicates;
#[cfg(test)]
mod duplicates_eval;
pub mod masking;
pub mod model;
pub mod moderation;
pub mod queries;
pub mod reindex;
pub mod routes;
pub mod search;
pub mod service;
pub mod store;
pub mod supervision;
pub mod workflow;
