//! What the live rooms need to know about sessions from the duty rota: whether a session is
//! open for queueing, who leads it, and which residents registered a topic in advance.
use async_trait::async_trait;
use sea_orm::DatabaseConnection;

use crate::auth::Caller;
use crate::error::AppResult;

#[derive(Clone, Debug)]
pub struct LiveSession {
    pub id: i64,
    /// The user id of the session's leader.
    pub leader_id: Option<i64>,
    /// `scheduled`, `live`, `ended`, `missed` or `cancelled`.
    pub status: String,
}

impl LiveSession {
    /// Residents may queue only while the session is live.
    pub fn is_live(&self) -> bool {
        self.status == "live"
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

/// The duty rota's sessions and registrations.
pub struct RotaDirectory;

#[async_trait]
impl SessionDirectory for RotaDirectory {
    async fn session(&self, db: &DatabaseConnection, id: i64) -> AppResult<Option<LiveSession>> {
        use sea_orm::EntityTrait;
        Ok(entity::live_sessions::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|s| s.published_at.is_some())
            .map(|s| LiveSession {
                id: s.id,
                leader_id: s.leader_id,
                status: s.status,
            }))
    }

    async fn registered_topic(
        &self,
        db: &DatabaseConnection,
        session_id: i64,
        user_id: i64,
    ) -> AppResult<Option<String>> {
        use entity::live_registrations as r;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        Ok(r::Entity::find()
            .filter(r::Column::SessionId.eq(session_id))
            .filter(r::Column::UserId.eq(user_id))
            .filter(r::Column::Status.eq("registered"))
            .one(db)
            .await?
            .map(|reg| reg.topic))
    }

    async fn end(
        &self,
        state: &crate::state::AppState,
        session_id: i64,
        actor: Caller,
    ) -> AppResult<()> {
        crate::rota::lifecycle::end(state, &actor, session_id)
            .await
            .map(|_| ())
    }
}
