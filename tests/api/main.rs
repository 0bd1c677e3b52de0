#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests: the real app over HTTP. See `common` for how backends are chosen.
mod auth;
mod board;
mod browser;
mod cli;
mod cluster;
mod common;
mod contract;
mod errors;
mod live;
mod ops;
mod roles;
mod rota;
