//! Talking to WeChat: a typed client (code2session now), and a fake WeChat server used by demo
//! mode and the tests, which can fail on purpose.
pub mod client;
pub mod fake;
