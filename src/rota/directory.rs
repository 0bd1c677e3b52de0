//! The live rooms' view of the duty rota (`crate::live::directory::SessionDirectory`). Ending a
//! session from the room goes through [`crate::rota::lifecycle::end`], its one owner, which
//! also closes the room.
use async_trait::async_trait;
use sea_orm::DatabaseConnection;

use crate::auth::Caller;
use crate::error::AppResult;
use crate::live::directory::{LiveSession, SessionDirectory};
use crate::state::AppState;

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
            .filter(r::Column::Status.eq(r::RegistrationStatus::Registered))
            .one(db)
            .await?
            .map(|reg| reg.topic))
    }

    async fn end(&self, state: &AppState, session_id: i64, actor: Caller) -> AppResult<()> {
        super::lifecycle::end(state, &actor, session_id)
            .await
            .map(|_| ())
    }
}
