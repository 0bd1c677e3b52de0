//! Live sessions: residents queue to talk with the leader one at a time, over WebSocket.
pub mod directory;
pub mod h5;
pub mod hub;
pub mod media;
pub mod protocol;
pub mod queue;
pub mod room;
pub mod routes;
pub mod store;
pub mod ws;
