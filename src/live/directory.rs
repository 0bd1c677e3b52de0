//! What the live rooms need to know about sessions from the duty rota: whether a session is
//! open for queueing, who leads it, and which residents registered a topic in advance. The rota
//! implements it (`crate::rota::directory`) and `startup` wires it in, so live never calls rota.
use async_trait::async_trait;
pub use entity::live_sessions::SessionStatus;
use sea_orm::DatabaseConnection;

use crate::auth::Caller;
use crate::error::AppResult;

#[derive(Clone, Debug)]
pub struct LiveSession {
    pub id: i64,
    /// The user id of the session's leader.
    pub leader_id: Option<i64>,
    pub status: SessionStatus,
}

impl LiveSession {
    /// Residents may queue only while the session is live.
    pub fn is_live(&self) -> bool {
        self.status == SessionStatus::Live
    }
}

#[async_trait]
pub trait SessionDirectory: Send + Sync {
    async fn session(&self, db: &DatabaseConnection, id: i64) -> AppResult<Option<LiveSession>>;
    /// The topic a resident registered in advance, if they did (and it was not held or cancelled).
    async fn registered_topic(
        &self,
        db: &DatabaseConnection,
        session_id: i64,
        user_id: i64,
    ) -> AppResult<Option<String>>;
    /// The host ended the room: the session is over.
    async fn end(
        &self,
        state: &crate::state::AppState,
        session_id: i64,
        actor: Caller,
    ) -> AppResult<()>;
}
