//! Rooms live in the broker as one blob each, changed by compare-and-set: any instance can act
//! on any room, and two instances acting at once retry instead of losing an update. Each change
//! is announced on the room's channel so every instance updates its own sockets, and its events
//! are appended to the database log.
use std::time::Duration;

use entity::live_room_events;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};

use super::room::{Command, Room, RoomConfig, RoomError, RoomEvent};
use crate::error::AppError;
use crate::state::AppState;

/// Rooms outlive a session by a day, for late resumes and figures.
const ROOM_TTL: Duration = Duration::from_secs(24 * 3600);
const MAX_TRIES: usize = 64;

pub fn room_key(session_id: i64) -> String {
    format!("live:room:{session_id}")
}

pub fn channel(session_id: i64) -> String {
    format!("live:chan:{session_id}")
}

/// What travels between instances on a room's channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Broadcast {
    Changed {
        events: Vec<RoomEvent>,
    },
    Signal {
        to_user: i64,
        from: String,
        payload: serde_json::Value,
    },
    /// A newer connection of `user_id` exists (`conn` is its id); older ones close.
    Replace {
        user_id: i64,
        conn: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{0}")]
    Room(#[from] RoomError),
    #[error("the room is too busy; try again")]
    Busy,
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<crate::broker::BrokerError> for LiveError {
    fn from(e: crate::broker::BrokerError) -> Self {
        LiveError::App(e.into())
    }
}

/// For HTTP callers: a broker failure stays a 503 `broker_unavailable`, never a 500.
impl From<LiveError> for AppError {
    fn from(e: LiveError) -> Self {
        match e {
            LiveError::App(e) => e,
            other => AppError::internal(anyhow::anyhow!("{other}")),
        }
    }
}

pub fn config_from(state: &AppState) -> RoomConfig {
    RoomConfig::from(&state.settings.live)
}

pub async fn load(state: &AppState, session_id: i64) -> Result<Option<Room>, LiveError> {
    let Some(bytes) = state.broker.get(&room_key(session_id)).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| LiveError::App(AppError::internal(e)))
}

/// Applies `cmd` to the room (created on first use) and announces what happened.
pub async fn apply(
    state: &AppState,
    session_id: i64,
    cmd: Command,
    actor: Option<i64>,
) -> Result<(Room, Vec<RoomEvent>), LiveError> {
    let key = room_key(session_id);
    for _ in 0..MAX_TRIES {
        let old = state.broker.get(&key).await?;
        let mut room = match &old {
            Some(b) => serde_json::from_slice::<Room>(b).map_err(AppError::internal)?,
            None => fresh_room(state, session_id).await?,
        };
        let now = state.clock.now().timestamp_millis();
        let events = room.apply(&cmd, now)?;
        if events.is_empty() {
            return Ok((room, events));
        }
        let new = serde_json::to_vec(&room).map_err(AppError::internal)?;
        if state
            .broker
            .compare_and_set(&key, old.as_deref(), &new, ROOM_TTL)
            .await?
        {
            // Logged before it is announced: whoever hears of a change finds it in the log.
            record(state, session_id, &events, actor).await;
            announce(state, session_id, &events).await?;
            return Ok((room, events));
        }
        // Someone else changed the room first: read it again and retry.
        tokio::task::yield_now().await;
    }
    Err(LiveError::Busy)
}

/// A room with nothing stored yet: new, or its stored state expired. Its events continue the
/// numbering of the session's log, so the log's `(session, seq)` stays unique and clients'
/// `last_seq` keeps moving forward.
async fn fresh_room(state: &AppState, session_id: i64) -> Result<Room, LiveError> {
    let mut room = Room::new(session_id, config_from(state));
    let last: Option<Option<i64>> = live_room_events::Entity::find()
        .select_only()
        .column_as(live_room_events::Column::Seq.max(), "last")
        .filter(live_room_events::Column::SessionId.eq(session_id))
        .into_tuple()
        .one(&state.db)
        .await
        .map_err(AppError::from)?;
    room.seq = last.flatten().map_or(0, |n| u64::try_from(n).unwrap_or(0));
    Ok(room)
}

async fn announce(
    state: &AppState,
    session_id: i64,
    events: &[RoomEvent],
) -> Result<(), LiveError> {
    publish(
        state,
        session_id,
        &Broadcast::Changed {
            events: events.to_vec(),
        },
    )
    .await
}

pub async fn publish(state: &AppState, session_id: i64, b: &Broadcast) -> Result<(), LiveError> {
    let bytes = serde_json::to_vec(b).map_err(AppError::internal)?;
    state.broker.publish(&channel(session_id), &bytes).await?;
    Ok(())
}

/// The database log is the record; a failure to write it is logged, and the room goes on (the
/// room's state in the broker is already committed and announced).
async fn record(state: &AppState, session_id: i64, events: &[RoomEvent], actor: Option<i64>) {
    let now = state.clock.now();
    let rows = events.iter().map(|e| {
        let detail = serde_json::to_value(&e.kind).unwrap_or_default();
        let kind = detail["event"].as_str().unwrap_or("unknown").to_string();
        live_room_events::ActiveModel {
            session_id: Set(session_id),
            seq: Set(i64::try_from(e.seq).unwrap_or(i64::MAX)),
            kind: Set(kind),
            subject_id: Set(e.kind.subject()),
            actor_id: Set(actor),
            detail: Set(detail.to_string()),
            created_at: Set(now),
            ..Default::default()
        }
    });
    if let Err(e) = live_room_events::Entity::insert_many(rows)
        .exec_without_returning(&state.db)
        .await
    {
        tracing::error!(session_id, error = %e, "cannot record live room events");
    }
}
