//! Login through WeChat, access and refresh tokens, roles and staff invitations.
pub mod caller;
pub mod crypto;
pub mod invitations;
pub mod jwt;
pub mod login;
pub mod roles;
pub mod routes;
pub mod tokens;

pub use caller::Caller;
pub use roles::{Access, Role};
