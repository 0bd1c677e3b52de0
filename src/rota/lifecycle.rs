//! A session's life: scheduled → live → ended, or scheduled → missed when nobody started it
//! within its start window. Only the assigned leader or an admin may start or end it, and only
//! a published session. Every instance runs the missed-marking loop; a lease makes one of them
//! do each round, and the conditional updates keep a round idempotent.
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::live_sessions;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;

use super::{local_hm, record_event, EventActor, SessionStatus};
use crate::auth::{Caller, Role};
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

const BATCH: u64 = 500;

/// The assigned leader, or an admin: 403 `not_session_leader` for anyone else.
pub fn check_host(caller: &Caller, s: &live_sessions::Model) -> AppResult<()> {
    if caller.role == Role::Admin || s.leader_id == Some(caller.user_id) {
        Ok(())
    } else {
        Err(AppError::ForbiddenWith {
            code: ErrorCode::NotSessionLeader,
            message: format!(
                "only the session's leader or an admin may do this (session {})",
                s.id
            ),
        })
    }
}

fn wrong_state(s: &live_sessions::Model, wanted: &str) -> AppError {
    AppError::StateConflict {
        code: ErrorCode::InvalidSessionState,
        message: format!("session {} is `{}`, not `{wanted}`", s.id, s.status),
        state: s.status.clone(),
        version: Some(s.version),
    }
}

async fn published(db: &impl ConnectionTrait, id: i64) -> AppResult<live_sessions::Model> {
    let s = live_sessions::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.published_at.is_none() {
        return Err(AppError::conflict(
            ErrorCode::SessionNotPublished,
            format!("session {id} is a draft: publish the rota first"),
        ));
    }
    Ok(s)
}

/// When the session may be started: `(from, until)`.
pub fn start_window(state: &AppState, s: &live_sessions::Model) -> (DateTime<Utc>, DateTime<Utc>) {
    let r = &state.settings.rota;
    (
        s.starts_at - chrono::Duration::minutes(r.start_early_mins),
        s.starts_at + chrono::Duration::minutes(r.start_late_mins),
    )
}

/// Moves a session from one status to another if it is still there, with its event.
async fn transition(
    state: &AppState,
    s: &live_sessions::Model,
    to: SessionStatus,
    action: &str,
    actor: EventActor,
    detail: Option<serde_json::Value>,
) -> AppResult<bool> {
    let now = state.clock.now();
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    let res = live_sessions::Entity::update_many()
        .set(live_sessions::ActiveModel {
            status: Set(to.as_str().into()),
            version: Set(s.version + 1),
            // A missed session turns CANCELLED in the iCalendar feed: subscribers replace
            // their copy only when SEQUENCE grows.
            sequence: if to == SessionStatus::Missed {
                Set(s.sequence + 1)
            } else {
                sea_orm::ActiveValue::NotSet
            },
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(live_sessions::Column::Id.eq(s.id))
        .filter(live_sessions::Column::Status.eq(s.status.clone()))
        .filter(live_sessions::Column::Version.eq(s.version))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    record_event(
        &txn,
        s.id,
        action,
        &s.status,
        to.as_str(),
        actor,
        None,
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(session_id = s.id, from = %s.status, to = to.as_str(), "session {action}");
    Ok(true)
}

async fn reload_conflict(state: &AppState, id: i64, wanted: &str) -> AppError {
    match live_sessions::Entity::find_by_id(id).one(&state.db).await {
        Ok(Some(now)) => wrong_state(&now, wanted),
        Ok(None) => AppError::NotFound,
        Err(e) => e.into(),
    }
}

pub async fn start(state: &AppState, caller: &Caller, id: i64) -> AppResult<live_sessions::Model> {
    let s = published(&state.db, id).await?;
    check_host(caller, &s)?;
    if s.status != SessionStatus::Scheduled.as_str() {
        return Err(wrong_state(&s, SessionStatus::Scheduled.as_str()));
    }
    let now = state.clock.now();
    let (from, until) = start_window(state, &s);
    if now < from || now > until {
        return Err(AppError::StateConflict {
            code: ErrorCode::OutsideStartWindow,
            message: format!(
                "session {} can be started from {} to {} (Asia/Shanghai) on {}",
                s.id,
                local_hm(from),
                local_hm(until),
                s.local_date
            ),
            state: s.status.clone(),
            version: Some(s.version),
        });
    }
    let detail = json!({ "late_by_minutes": (now - s.starts_at).num_minutes().max(0) });
    if !transition(
        state,
        &s,
        SessionStatus::Live,
        "started",
        EventActor::of(caller),
        Some(detail),
    )
    .await?
    {
        return Err(reload_conflict(state, id, SessionStatus::Scheduled.as_str()).await);
    }
    reload(state, id).await
}

/// Ends a live session: the one way to end it, over HTTP or from the live room. The record
/// changes first, then the room closes, so a room is never ended while its session stays live.
/// Asked again after the room failed to close, it closes the room and still answers 409.
pub async fn end(state: &AppState, caller: &Caller, id: i64) -> AppResult<live_sessions::Model> {
    let s = published(&state.db, id).await?;
    check_host(caller, &s)?;
    if s.status == SessionStatus::Ended.as_str() {
        close_room(state, id, caller).await?;
    }
    if s.status != SessionStatus::Live.as_str() {
        return Err(wrong_state(&s, SessionStatus::Live.as_str()));
    }
    if !transition(
        state,
        &s,
        SessionStatus::Ended,
        "ended",
        EventActor::of(caller),
        None,
    )
    .await?
    {
        return Err(reload_conflict(state, id, SessionStatus::Live.as_str()).await);
    }
    close_room(state, id, caller).await?;
    reload(state, id).await
}

/// Ends the session's live room; one never opened, or already closed, is fine.
async fn close_room(state: &AppState, id: i64, caller: &Caller) -> AppResult<()> {
    use crate::live::store::{apply, LiveError};
    let end_room = crate::live::room::Command::EndSession;
    match apply(state, id, end_room, Some(caller.user_id)).await {
        Ok(_) | Err(LiveError::Room(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn reload(state: &AppState, id: i64) -> AppResult<live_sessions::Model> {
    live_sessions::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Marks every published session still `scheduled` after its start window as `missed`;
/// returns how many. Drafts are left alone: nobody was told about them.
pub async fn mark_missed(state: &AppState) -> AppResult<usize> {
    let cutoff = state.clock.now() - chrono::Duration::minutes(state.settings.rota.start_late_mins);
    let due = live_sessions::Entity::find()
        .filter(live_sessions::Column::Status.eq(SessionStatus::Scheduled.as_str()))
        .filter(live_sessions::Column::PublishedAt.is_not_null())
        .filter(live_sessions::Column::StartsAt.lt(cutoff))
        .order_by_asc(live_sessions::Column::StartsAt)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut n = 0;
    for s in &due {
        if transition(
            state,
            s,
            SessionStatus::Missed,
            "missed",
            EventActor::SYSTEM,
            None,
        )
        .await?
        {
            n += 1;
        }
    }
    if n > 0 {
        tracing::info!(missed = n, "sessions marked missed");
    }
    Ok(n)
}

/// The background loop; one instance at a time does a round, by lease.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(state.settings.rota.lifecycle_interval_secs.max(1));
    crate::jobs::spawn_leased(state, "rota-lifecycle", every, |s| async move {
        mark_missed(&s).await
    })
}
