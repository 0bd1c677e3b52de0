//! Talking to WeChat: a typed client (login, access token, subscription messages, phone
//! numbers, content security), the shared-token platform over it, and a fake WeChat server used
//! by demo mode and the tests, which can fail on purpose.
pub mod client;
pub mod decide;
pub mod fake;
pub mod platform;
