//! Login through WeChat, access and refresh tokens, roles, staff invitations and the guard
//! every route passes.
pub mod caller;
pub mod guard;
pub mod invitations;
pub mod jwt;
pub mod login;
pub mod phone;
pub mod roles;
pub mod routes;
pub mod tokens;

/// Hashing, random tokens and the cipher are shared (`crate::crypto`); the old path stays for
/// callers outside the crate.
pub use crate::crypto;
pub use caller::Caller;
pub use roles::{Access, Role};
