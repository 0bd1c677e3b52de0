//! Writing the rota: the session write guarded by its version with its event (through the
//! shared event writer, `crate::events`) and, for a published session, the SEQUENCE bump and
//! the residents' notifications; the edit preconditions and the errors every writer shares.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use entity::live_registrations::RegistrationStatus;
use entity::live_session_events::{self, SessionAction};
use entity::live_sessions::{self, SessionStatus};
use entity::notifications::{self, NotificationStatus};
use entity::rotas::RotaStatus;
use entity::{live_registrations, rotas, AsStr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use serde_json::json;

use super::generate::RotaError;
use super::workflow::{self, Refused};
use super::{at_local, date_str, local_date, local_hm};
use crate::auth::Caller;
use crate::board::service::checked_text;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::events::{self, Actor, Event, EventTable};

pub const REASON_MAX: usize = 500;

impl EventTable for live_session_events::ActiveModel {
    type State = SessionStatus;
    type Action = SessionAction;
    fn row(e: Event<'_, SessionStatus, SessionAction>) -> Self {
        live_session_events::ActiveModel {
            session_id: Set(e.subject_id),
            action: Set(e.action),
            from_status: Set(e.from),
            to_status: Set(e.to),
            actor_id: Set(e.actor.user_id),
            actor_role: Set(e.actor.role.into()),
            reason: Set(e.reason),
            detail: Set(e.detail.map(|d| d.to_string())),
            created_at: Set(e.at),
            ..Default::default()
        }
    }
}

/// The caller, as a session's event log names them.
pub fn actor(caller: &Caller) -> Actor<'static> {
    Actor {
        user_id: Some(caller.user_id),
        role: caller.role.as_str(),
        department_id: None,
    }
}

/// Appends one event to a session's log.
#[allow(clippy::too_many_arguments)]
pub async fn record_event(
    db: &impl ConnectionTrait,
    session_id: i64,
    action: SessionAction,
    from: SessionStatus,
    to: SessionStatus,
    actor: Actor<'_>,
    reason: Option<String>,
    detail: Option<serde_json::Value>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    events::append::<live_session_events::ActiveModel>(
        db,
        Event {
            subject_id: session_id,
            action,
            from,
            to,
            actor,
            reason,
            detail,
            at: now,
        },
    )
    .await
}

/// Writes a `pending` notification for every resident holding a registration for the session.
/// Only the outbox exists so far: sending (WeChat subscription messages) arrives with the
/// notifications issue, which will pick up these rows.
pub async fn notify_registrants(
    db: &impl ConnectionTrait,
    session_id: i64,
    kind: &str,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let regs = live_registrations::Entity::find()
        .filter(live_registrations::Column::SessionId.eq(session_id))
        .filter(live_registrations::Column::Status.is_in(RegistrationStatus::ACTIVE))
        .all(db)
        .await?;
    for r in &regs {
        notifications::ActiveModel {
            user_id: Set(r.user_id),
            kind: Set(kind.into()),
            subject_type: Set("live_session".into()),
            subject_id: Set(session_id),
            payload: Set(payload.to_string()),
            status: Set(NotificationStatus::Pending),
            attempts: Set(0),
            created_at: Set(now),
            sent_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(regs.len())
}

/// 409 `invalid_session_state`: the table refuses the action in the session's status.
pub fn refused(s: &live_sessions::Model, r: Refused) -> AppError {
    AppError::StateConflict {
        code: ErrorCode::InvalidSessionState,
        message: format!("session {} is `{}`, not `{}`", s.id, r.from, r.wanted),
        state: s.status.to_string(),
        version: Some(s.version),
    }
}

pub fn rota_error(e: RotaError) -> AppError {
    match e {
        RotaError::EndBeforeStart { .. } | RotaError::RangeTooLong { .. } => {
            AppError::validation("range_end", e.to_string())
        }
        RotaError::StartNotBeforeEnd { .. } => AppError::validation("end", e.to_string()),
        RotaError::NonexistentLocalTime { .. } => AppError::validation("start", e.to_string()),
        RotaError::SlotOutOfRange { .. } => {
            AppError::conflict(ErrorCode::OutsideRotaRange, e.to_string())
        }
        RotaError::SlotStartNotBeforeEnd { .. } => AppError::validation("end", e.to_string()),
        RotaError::DuplicateLeader { .. } => AppError::internal(e),
        RotaError::NoHolidayData { .. } => {
            AppError::conflict(ErrorCode::HolidayDataMissing, e.to_string())
        }
    }
}

pub fn rota_range(r: &rotas::Model) -> AppResult<(NaiveDate, NaiveDate)> {
    let p = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| AppError::internal(anyhow::anyhow!("rota {} has a bad range", r.id)))
    };
    Ok((p(&r.range_start)?, p(&r.range_end)?))
}

pub fn rota_times(r: &rotas::Model) -> AppResult<(NaiveTime, NaiveTime)> {
    let p = |s: &str| {
        NaiveTime::parse_from_str(s, "%H:%M")
            .map_err(|_| AppError::internal(anyhow::anyhow!("rota {} has bad times", r.id)))
    };
    Ok((p(&r.start_time)?, p(&r.end_time)?))
}

pub fn reason_for(published: bool, reason: &Option<String>) -> AppResult<Option<String>> {
    match reason.as_deref().map(str::trim) {
        None | Some("") if published => Err(AppError::validation(
            "reason",
            "required: the session is published, and residents who registered are told why",
        )),
        None | Some("") => Ok(None),
        Some(r) => checked_text("reason", r, REASON_MAX, true).map(Some),
    }
}

pub fn midnight(d: NaiveDate) -> AppResult<DateTime<Utc>> {
    at_local("range_start", d, NaiveTime::MIN)
}

pub async fn insert_session(
    db: &impl ConnectionTrait,
    rota_id: i64,
    leader_id: Option<i64>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<live_sessions::Model> {
    Ok(live_sessions::ActiveModel {
        rota_id: Set(rota_id),
        leader_id: Set(leader_id),
        local_date: Set(date_str(local_date(starts_at))),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        status: Set(SessionStatus::Scheduled),
        published_at: Set(None),
        published_version: Set(None),
        sequence: Set(0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn rota_for_edit(db: &impl ConnectionTrait, rota_id: i64) -> AppResult<rotas::Model> {
    let r = rotas::Entity::find_by_id(rota_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.status == RotaStatus::Discarded {
        return Err(AppError::conflict(
            ErrorCode::RotaDiscarded,
            format!("rota {rota_id} was discarded"),
        ));
    }
    Ok(r)
}

pub fn not_editable(s: &live_sessions::Model) -> AppError {
    AppError::StateConflict {
        code: ErrorCode::InvalidSessionState,
        message: format!(
            "session {} is `{}`: only scheduled sessions can be changed",
            s.id, s.status
        ),
        state: s.status.to_string(),
        version: Some(s.version),
    }
}

/// The session and its rota, for an edit: only scheduled sessions of a live rota.
pub async fn session_for_edit(
    db: &impl ConnectionTrait,
    session_id: i64,
) -> AppResult<(live_sessions::Model, rotas::Model)> {
    let s = live_sessions::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let r = rota_for_edit(db, s.rota_id).await?;
    if s.status != SessionStatus::Scheduled {
        return Err(not_editable(&s));
    }
    Ok((s, r))
}

/// What changed, as the event, the notification and the iCalendar feed need it.
pub struct Change<'a> {
    pub action: SessionAction,
    pub reason: Option<String>,
    pub detail: serde_json::Value,
    pub leader_id: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub actor: Actor<'a>,
    pub now: DateTime<Utc>,
    pub notify_kind: &'a str,
}

/// Writes a change to a session guarded by its version, with its event and, for a published
/// session, the SEQUENCE bump and the residents' notifications. The transition table says
/// where the action leads.
pub async fn apply(
    txn: &DatabaseTransaction,
    s: &live_sessions::Model,
    c: Change<'_>,
) -> AppResult<live_sessions::Model> {
    let to = workflow::next(s.status, c.action).map_err(|r| refused(s, r))?;
    let published = s.published_at.is_some();
    let am = live_sessions::ActiveModel {
        leader_id: Set(c.leader_id),
        local_date: Set(date_str(local_date(c.starts_at))),
        starts_at: Set(c.starts_at),
        ends_at: Set(c.ends_at),
        status: Set(to),
        sequence: Set(if published {
            s.sequence + 1
        } else {
            s.sequence
        }),
        version: Set(s.version + 1),
        updated_at: Set(c.now),
        ..Default::default()
    };
    let res = live_sessions::Entity::update_many()
        .set(am)
        .filter(live_sessions::Column::Id.eq(s.id))
        .filter(live_sessions::Column::Version.eq(s.version))
        .exec(txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::version_conflict(
            format!("session {} changed meanwhile; reload and retry", s.id),
            s.status.to_string(),
            s.version,
        ));
    }
    record_event(
        txn,
        s.id,
        c.action,
        s.status,
        to,
        c.actor,
        c.reason.clone(),
        Some(c.detail.clone()),
        c.now,
    )
    .await?;
    if published {
        let payload = json!({
            "session_id": s.id,
            "change": c.action.as_str(),
            "reason": c.reason,
            "status": to.as_str(),
            "date": date_str(local_date(c.starts_at)),
            "start": local_hm(c.starts_at),
            "end": local_hm(c.ends_at),
            "leader_id": c.leader_id,
            "before": {
                "date": s.local_date,
                "start": local_hm(s.starts_at),
                "end": local_hm(s.ends_at),
                "leader_id": s.leader_id,
            },
        });
        let n = notify_registrants(txn, s.id, c.notify_kind, &payload, c.now).await?;
        tracing::info!(
            session_id = s.id,
            change = c.action.as_str(),
            notified = n,
            "published session changed"
        );
    }
    live_sessions::Entity::find_by_id(s.id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn touch_rota(
    db: &impl ConnectionTrait,
    r: &rotas::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    rotas::ActiveModel {
        id: Set(r.id),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}
