//! Live sessions: residents queue to talk with the leader one at a time, over WebSocket.
pub mod commands;
pub mod directory;
pub mod h5;
pub mod hub;
pub mod media;
pub mod protocol;
pub mod queue;
pub mod room;
pub mod routes;
pub mod store;
pub mod views;
pub mod worker;
pub mod ws;

use std::sync::Arc;

/// What the live rooms hold beyond the shared state: this instance's sockets and the rota's view
/// of sessions. `startup` registers it as app data beside `AppState` (not inside it), so the
/// shared state does not depend on live.
#[derive(Clone)]
pub struct Live {
    pub hub: Arc<hub::Hub>,
    pub sessions: Arc<dyn directory::SessionDirectory>,
}
