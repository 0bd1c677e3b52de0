#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests: the real app over HTTP. See `common` for how backends are chosen.
mod auth;
mod board;
mod browser;
mod cli;
mod cluster;
mod common;
mod durability;
mod errors;
mod live;
mod live_recovery;
mod ops;
mod outage;
mod privacy;
mod readme;
mod roles;
mod rota;
