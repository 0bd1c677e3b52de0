//! Opinion collection (意见征集): consultations that staff author and publish, residents answer
//! (one opinion each, changeable until closing, every version kept), staff read as results
//! (small groups folded so nobody is singled out), export, and close the loop on: each opinion
//! marked adopted, partly adopted or noted, and an outcome statement that reaches every
//! respondent through the notification outbox.
//!
//! Layers as elsewhere: `model` (typed records, states as enums, limits), `decide` (pure rules,
//! unit-tested), `tally` (pure results and small-group folding), `store` (the one write
//! transaction and the event writer), `views` (reads), `export` (CSV, XLSX), `routes`.
pub mod decide;
pub mod export;
pub mod model;
pub mod responses;
pub mod routes;
pub mod store;
pub mod tally;
pub mod views;
