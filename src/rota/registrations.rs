//! Residents register a topic for a published session in advance: one registration per resident
//! and session, cancellable until the session starts. Topics pass the content check; a flagged
//! one is held for the office's review, never dropped.
use chrono::{DateTime, Utc};
use entity::live_registrations::{self, RegistrationStatus};
use entity::live_sessions::{self, SessionStatus};
use entity::AsStr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::queries::{self, SessionView};
use crate::auth::{Caller, Role};
use crate::board::moderation::{check_text, scene, Verdict};
use crate::board::service::checked_text;
use crate::db::begin_write;
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const TOPIC_MAX: usize = 200;

#[derive(Deserialize, ToSchema)]
pub struct NewRegistration {
    /// What the resident wants to raise, at most 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub topic: String,
}

#[derive(Serialize, ToSchema)]
pub struct RegistrationView {
    pub id: i64,
    pub session_id: i64,
    pub topic: String,
    /// `held`: waiting for the office's review.
    pub status: RegistrationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct MyRegistration {
    #[serde(flatten)]
    pub registration: RegistrationView,
    pub session: SessionView,
}

#[derive(Serialize, ToSchema)]
pub struct StaffRegistrationView {
    #[serde(flatten)]
    pub registration: RegistrationView,
    pub user_id: i64,
    pub hold_reason: Option<String>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The topic may stand.
    Release,
    /// The topic is refused; the resident may register again with another.
    Reject,
}

#[derive(Deserialize, ToSchema)]
pub struct Review {
    pub decision: Decision,
}

fn view(r: live_registrations::Model) -> RegistrationView {
    RegistrationView {
        id: r.id,
        session_id: r.session_id,
        topic: r.topic,
        status: r.status,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// Registration is open for a published, scheduled session until it starts.
fn check_open(s: &live_sessions::Model, now: DateTime<Utc>) -> AppResult<()> {
    if s.status != SessionStatus::Scheduled || now >= s.starts_at {
        return Err(AppError::StateConflict {
            code: ErrorCode::RegistrationClosed,
            message: format!(
                "session {} is `{}`{}: registration is open only before it starts",
                s.id,
                s.status,
                if now >= s.starts_at {
                    " and its start time has passed"
                } else {
                    ""
                }
            ),
            state: s.status.to_string(),
            version: None,
        });
    }
    Ok(())
}

async fn published_session(db: &impl ConnectionTrait, id: i64) -> AppResult<live_sessions::Model> {
    live_sessions::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| s.published_at.is_some())
        .ok_or(AppError::NotFound)
}

fn already() -> AppError {
    AppError::conflict(
        ErrorCode::AlreadyRegistered,
        "you already registered for this session; cancel it to register another topic",
    )
}

pub async fn register(
    state: &AppState,
    caller: &Caller,
    session_id: i64,
    req: &NewRegistration,
) -> AppResult<RegistrationView> {
    let topic = checked_text("topic", &req.topic, TOPIC_MAX, false)?;
    let s = published_session(&state.db, session_id).await?;
    let now = state.clock.now();
    check_open(&s, now)?;
    let (status, hold_reason) =
        match check_text(state, caller.user_id, "topic", scene::COMMENT, &topic).await? {
            Verdict::Pass => (RegistrationStatus::Registered, None),
            Verdict::Hold(why) => (RegistrationStatus::Held, Some(why)),
        };
    let w = begin_write(state).await?;
    let txn = &w.txn;
    let existing = live_registrations::Entity::find()
        .filter(live_registrations::Column::SessionId.eq(session_id))
        .filter(live_registrations::Column::UserId.eq(caller.user_id))
        .one(txn)
        .await?;
    let saved = match existing {
        Some(r) if RegistrationStatus::ACTIVE.contains(&r.status) => return Err(already()),
        // A cancelled or rejected registration is taken up again with the new topic.
        Some(r) => {
            let res = live_registrations::Entity::update_many()
                .set(live_registrations::ActiveModel {
                    topic: Set(topic),
                    status: Set(status),
                    hold_reason: Set(hold_reason),
                    updated_at: Set(now),
                    ..Default::default()
                })
                .filter(live_registrations::Column::Id.eq(r.id))
                .filter(live_registrations::Column::Status.eq(r.status))
                .exec(txn)
                .await?;
            if res.rows_affected != 1 {
                return Err(already());
            }
            live_registrations::Entity::find_by_id(r.id)
                .one(txn)
                .await?
                .ok_or(AppError::NotFound)?
        }
        None => {
            let ins = live_registrations::ActiveModel {
                session_id: Set(session_id),
                user_id: Set(caller.user_id),
                topic: Set(topic),
                status: Set(status),
                hold_reason: Set(hold_reason),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await;
            match ins {
                Ok(m) => m,
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    return Err(already())
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    w.commit().await?;
    tracing::info!(
        session_id,
        registration_id = saved.id,
        status = status.as_str(),
        "topic registered"
    );
    Ok(view(saved))
}

pub async fn cancel(state: &AppState, caller: &Caller, session_id: i64) -> AppResult<()> {
    let s = published_session(&state.db, session_id).await?;
    let now = state.clock.now();
    let r = live_registrations::Entity::find()
        .filter(live_registrations::Column::SessionId.eq(session_id))
        .filter(live_registrations::Column::UserId.eq(caller.user_id))
        .filter(live_registrations::Column::Status.is_in(RegistrationStatus::ACTIVE))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if now >= s.starts_at && s.status != SessionStatus::Cancelled {
        return Err(AppError::StateConflict {
            code: ErrorCode::RegistrationClosed,
            message: "the session has started: its registrations stand as they are".into(),
            state: s.status.to_string(),
            version: None,
        });
    }
    let res = live_registrations::Entity::update_many()
        .set(live_registrations::ActiveModel {
            status: Set(RegistrationStatus::Cancelled),
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(live_registrations::Column::Id.eq(r.id))
        .filter(live_registrations::Column::Status.is_in(RegistrationStatus::ACTIVE))
        .exec(&state.db)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::NotFound);
    }
    tracing::info!(session_id, registration_id = r.id, "registration cancelled");
    Ok(())
}

/// The resident's registrations, newest session first, each with its session as it is now.
pub async fn mine(state: &AppState, caller: &Caller) -> AppResult<Vec<MyRegistration>> {
    let regs = live_registrations::Entity::find()
        .filter(live_registrations::Column::UserId.eq(caller.user_id))
        .order_by_desc(live_registrations::Column::Id)
        .limit(200)
        .all(&state.db)
        .await?;
    let ids: Vec<i64> = regs.iter().map(|r| r.session_id).collect();
    let sessions = live_sessions::Entity::find()
        .filter(live_sessions::Column::Id.is_in(ids))
        .all(&state.db)
        .await?;
    let views = queries::views(&state.db, sessions, Some(caller), false).await?;
    let mut out: Vec<MyRegistration> = regs
        .into_iter()
        .filter_map(|r| {
            let session = views.iter().find(|v| v.id == r.session_id)?.clone();
            Some(MyRegistration {
                registration: view(r),
                session,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.session
            .starts_at
            .cmp(&a.session.starts_at)
            .then(b.registration.id.cmp(&a.registration.id))
    });
    Ok(out)
}

/// Whether the resident took part in the session: registered a topic for it (still standing)
/// or joined its live room's queue.
pub async fn took_part(
    db: &impl ConnectionTrait,
    session_id: i64,
    user_id: i64,
) -> AppResult<bool> {
    use entity::live_room_events as ev;
    let registered = live_registrations::Entity::find()
        .filter(live_registrations::Column::SessionId.eq(session_id))
        .filter(live_registrations::Column::UserId.eq(user_id))
        .filter(live_registrations::Column::Status.is_in(RegistrationStatus::ACTIVE))
        .one(db)
        .await?
        .is_some();
    if registered {
        return Ok(true);
    }
    Ok(ev::Entity::find()
        .filter(ev::Column::SessionId.eq(session_id))
        .filter(ev::Column::SubjectId.eq(user_id))
        .filter(ev::Column::Kind.eq("joined"))
        .one(db)
        .await?
        .is_some())
}

/// Every registration of a session, for the leader and the office.
pub async fn for_session(
    state: &AppState,
    caller: &Caller,
    session_id: i64,
) -> AppResult<Vec<StaffRegistrationView>> {
    let s = queries::visible_session(&state.db, caller, session_id).await?;
    // Topics and hold reasons are residents' own words: other leaders may not read them.
    if caller.role == Role::Leader {
        super::lifecycle::check_host(caller, &s)?;
    }
    Ok(live_registrations::Entity::find()
        .filter(live_registrations::Column::SessionId.eq(s.id))
        .order_by_asc(live_registrations::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| StaffRegistrationView {
            user_id: r.user_id,
            hold_reason: r.hold_reason.clone(),
            registration: view(r),
        })
        .collect())
}

/// The office releases or rejects a topic held by the content check.
pub async fn review(
    state: &AppState,
    registration_id: i64,
    req: &Review,
) -> AppResult<StaffRegistrationView> {
    let now = state.clock.now();
    let r = live_registrations::Entity::find_by_id(registration_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.status != RegistrationStatus::Held {
        return Err(AppError::StateConflict {
            code: ErrorCode::NotHeld,
            message: format!("registration {} is `{}`, not held", r.id, r.status),
            state: r.status.to_string(),
            version: None,
        });
    }
    let to = match req.decision {
        Decision::Release => RegistrationStatus::Registered,
        Decision::Reject => RegistrationStatus::Rejected,
    };
    let res = live_registrations::Entity::update_many()
        .set(live_registrations::ActiveModel {
            status: Set(to),
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(live_registrations::Column::Id.eq(r.id))
        .filter(live_registrations::Column::Status.eq(RegistrationStatus::Held))
        .exec(&state.db)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::conflict(
            ErrorCode::NotHeld,
            "the registration changed meanwhile; reload",
        ));
    }
    tracing::info!(registration_id, status = to.as_str(), "held topic reviewed");
    let r = live_registrations::Entity::find_by_id(registration_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(StaffRegistrationView {
        user_id: r.user_id,
        hold_reason: r.hold_reason.clone(),
        registration: view(r),
    })
}
