//! The admin's edits of a rota: reassigning, rescheduling, cancelling and swapping sessions,
//! and adding one. Every change to a session is written with its event in one transaction
//! (`store::apply`); a change to a published session needs a reason, bumps its iCalendar
//! SEQUENCE and queues a notification for every resident registered for it.
use chrono::{DateTime, NaiveDate, Utc};
use entity::live_session_events::SessionAction;
use entity::live_sessions::{self, SessionStatus};
use entity::rotas;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::generate::{check_in_range, RotaError, SessionSlot};
use super::store::{
    actor, apply, insert_session, not_editable, reason_for, record_event, refused, rota_error,
    rota_for_edit, rota_range, rota_times, session_for_edit, touch_rota, Change,
};
use super::workflow;
use super::{at_local, leaders, local_date, local_hm, parse_date, parse_time};
use crate::auth::Caller;
use crate::db::begin_write;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct NewSession {
    /// Local date `YYYY-MM-DD`, within the rota's range.
    pub date: String,
    /// Local `HH:MM`; the rota's times when absent.
    pub start: Option<String>,
    pub end: Option<String>,
    pub leader_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct Reassign {
    pub leader_id: i64,
    /// Required once the session is published: residents who registered are told why.
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct Reschedule {
    /// New local date; the current one when absent.
    pub date: Option<String>,
    /// New local `HH:MM` times; the current ones when absent.
    pub start: Option<String>,
    pub end: Option<String>,
    /// Required once the session is published.
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct Cancel {
    /// Required once the session is published.
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct Swap {
    pub first_session_id: i64,
    pub second_session_id: i64,
    /// Required when either session is published.
    pub reason: Option<String>,
}

async fn check_available(
    db: &impl ConnectionTrait,
    leader_id: i64,
    date: NaiveDate,
) -> AppResult<()> {
    if leaders::is_unavailable(db, leader_id, date).await? {
        return Err(AppError::conflict(
            ErrorCode::LeaderUnavailable,
            format!("leader {leader_id} marked {date} as unavailable"),
        ));
    }
    Ok(())
}

/// Refuses a leader in two overlapping sessions (half-open intervals, cancelled ones ignored).
async fn check_not_double_booked(
    db: &impl ConnectionTrait,
    leader_id: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    except: &[i64],
) -> AppResult<()> {
    let clash = live_sessions::Entity::find()
        .filter(live_sessions::Column::LeaderId.eq(leader_id))
        .filter(live_sessions::Column::Status.ne(SessionStatus::Cancelled))
        .filter(live_sessions::Column::StartsAt.lt(ends_at))
        .filter(live_sessions::Column::EndsAt.gt(starts_at))
        .filter(live_sessions::Column::Id.is_not_in(except.to_vec()))
        .one(db)
        .await?;
    match clash {
        Some(c) => Err(AppError::conflict(
            ErrorCode::LeaderDoubleBooked,
            format!(
                "leader {leader_id} already hosts session {} on {} {}–{}",
                c.id,
                c.local_date,
                local_hm(c.starts_at),
                local_hm(c.ends_at)
            ),
        )),
        None => Ok(()),
    }
}

fn check_slot(
    r: &rotas::Model,
    id: i64,
    leader_id: Option<i64>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> AppResult<()> {
    if starts_at >= ends_at {
        return Err(AppError::validation("end", "must be after start"));
    }
    let (from, to) = rota_range(r)?;
    let slot = SessionSlot {
        id,
        leader_id,
        starts_at,
        ends_at,
        cancelled: false,
    };
    check_in_range(&slot, from, to).map_err(|e| match e {
        RotaError::SlotOutOfRange { .. } => AppError::conflict(
            ErrorCode::OutsideRotaRange,
            format!(
                "{} {}–{} is outside the rota's range {from}..{to}",
                local_date(starts_at),
                local_hm(starts_at),
                local_hm(ends_at)
            ),
        ),
        other => rota_error(other),
    })
}

const CHANGED: &str = "live_session_changed";
const CANCELLED: &str = "live_session_cancelled";

pub async fn reassign(
    state: &AppState,
    caller: &Caller,
    session_id: i64,
    req: &Reassign,
) -> AppResult<live_sessions::Model> {
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let txn = &w.txn;
    let (s, _) = session_for_edit(txn, session_id).await?;
    let reason = reason_for(s.published_at.is_some(), &req.reason)?;
    leaders::check_assignable(txn, "leader_id", req.leader_id).await?;
    if s.leader_id == Some(req.leader_id) {
        return Err(AppError::validation(
            "leader_id",
            "already the leader of this session",
        ));
    }
    check_available(txn, req.leader_id, local_date(s.starts_at)).await?;
    check_not_double_booked(txn, req.leader_id, s.starts_at, s.ends_at, &[s.id]).await?;
    let out = apply(
        txn,
        &s,
        Change {
            action: SessionAction::Reassigned,
            reason,
            detail: json!({ "from_leader_id": s.leader_id, "to_leader_id": req.leader_id }),
            leader_id: Some(req.leader_id),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            actor: actor(caller),
            now,
            notify_kind: CHANGED,
        },
    )
    .await?;
    w.commit().await?;
    if out.published_at.is_some() {
        // Sockets opened by the old leader lose host rights now, on every instance. Each host
        // command checks the record anyway, so a failure here only delays the notice.
        let cmd = crate::live::room::Command::LeaderChanged {
            leader_id: out.leader_id,
        };
        if let Err(e) = crate::live::store::apply(state, out.id, cmd, Some(caller.user_id)).await {
            tracing::warn!(session_id = out.id, error = %e, "live room not told of the new leader");
        }
    }
    Ok(out)
}

pub async fn reschedule(
    state: &AppState,
    caller: &Caller,
    session_id: i64,
    req: &Reschedule,
) -> AppResult<live_sessions::Model> {
    if req.date.is_none() && req.start.is_none() && req.end.is_none() {
        return Err(AppError::validation(
            "date",
            "give a new date, start or end",
        ));
    }
    let date = req
        .date
        .as_deref()
        .map(|d| parse_date("date", d))
        .transpose()?;
    let start = req
        .start
        .as_deref()
        .map(|t| parse_time("start", t))
        .transpose()?;
    let end = req
        .end
        .as_deref()
        .map(|t| parse_time("end", t))
        .transpose()?;
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let txn = &w.txn;
    let (s, rota) = session_for_edit(txn, session_id).await?;
    let reason = reason_for(s.published_at.is_some(), &req.reason)?;
    let local = |t: DateTime<Utc>| t.with_timezone(&crate::clock::TIMEZONE).time();
    let date = date.unwrap_or(local_date(s.starts_at));
    let starts_at = at_local("start", date, start.unwrap_or(local(s.starts_at)))?;
    let ends_at = at_local("end", date, end.unwrap_or(local(s.ends_at)))?;
    if starts_at == s.starts_at && ends_at == s.ends_at {
        return Err(AppError::validation(
            "date",
            "the session already has these times",
        ));
    }
    check_slot(&rota, s.id, s.leader_id, starts_at, ends_at)?;
    if let Some(l) = s.leader_id {
        check_available(txn, l, date).await?;
        check_not_double_booked(txn, l, starts_at, ends_at, &[s.id]).await?;
    }
    let out = apply(
        txn,
        &s,
        Change {
            action: SessionAction::Rescheduled,
            reason,
            detail: json!({
                "from": { "starts_at": s.starts_at, "ends_at": s.ends_at },
                "to": { "starts_at": starts_at, "ends_at": ends_at },
            }),
            leader_id: s.leader_id,
            starts_at,
            ends_at,
            actor: actor(caller),
            now,
            notify_kind: CHANGED,
        },
    )
    .await?;
    w.commit().await?;
    Ok(out)
}

pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    session_id: i64,
    req: &Cancel,
) -> AppResult<live_sessions::Model> {
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let txn = &w.txn;
    let (s, _) = session_for_edit(txn, session_id).await?;
    let reason = reason_for(s.published_at.is_some(), &req.reason)?;
    let out = apply(
        txn,
        &s,
        Change {
            action: SessionAction::Cancelled,
            reason,
            detail: json!({ "leader_id": s.leader_id }),
            leader_id: s.leader_id,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            actor: actor(caller),
            now,
            notify_kind: CANCELLED,
        },
    )
    .await?;
    w.commit().await?;
    Ok(out)
}

pub async fn swap(
    state: &AppState,
    caller: &Caller,
    rota_id: i64,
    req: &Swap,
) -> AppResult<(live_sessions::Model, live_sessions::Model)> {
    if req.first_session_id == req.second_session_id {
        return Err(AppError::validation(
            "second_session_id",
            "choose two different sessions",
        ));
    }
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let txn = &w.txn;
    rota_for_edit(txn, rota_id).await?;
    let mut pair = Vec::new();
    for (field, id) in [
        ("first_session_id", req.first_session_id),
        ("second_session_id", req.second_session_id),
    ] {
        let s = live_sessions::Entity::find_by_id(id)
            .one(txn)
            .await?
            .filter(|s| s.rota_id == rota_id)
            .ok_or_else(|| AppError::validation(field, "no such session in this rota"))?;
        if s.status != SessionStatus::Scheduled {
            return Err(not_editable(&s));
        }
        pair.push(s);
    }
    let (a, b) = (pair.remove(0), pair.remove(0));
    let (Some(la), Some(lb)) = (a.leader_id, b.leader_id) else {
        return Err(AppError::conflict(
            ErrorCode::SessionUnassigned,
            "both sessions need a leader to swap; use reassign for an unassigned one",
        ));
    };
    if la == lb {
        return Err(AppError::validation(
            "second_session_id",
            "both sessions have the same leader",
        ));
    }
    let reason = reason_for(
        a.published_at.is_some() || b.published_at.is_some(),
        &req.reason,
    )?;
    check_available(txn, la, local_date(b.starts_at)).await?;
    check_available(txn, lb, local_date(a.starts_at)).await?;
    check_not_double_booked(txn, la, b.starts_at, b.ends_at, &[a.id, b.id]).await?;
    check_not_double_booked(txn, lb, a.starts_at, a.ends_at, &[a.id, b.id]).await?;
    let by = actor(caller);
    let mut out = Vec::new();
    for (s, from, to, other) in [(&a, la, lb, b.id), (&b, lb, la, a.id)] {
        out.push(
            apply(
                txn,
                s,
                Change {
                    action: SessionAction::Swapped,
                    reason: reason.clone(),
                    detail: json!({
                        "from_leader_id": from, "to_leader_id": to, "other_session_id": other,
                    }),
                    leader_id: Some(to),
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                    actor: by,
                    now,
                    notify_kind: CHANGED,
                },
            )
            .await?,
        );
    }
    w.commit().await?;
    let b = out.pop().ok_or(AppError::NotFound)?;
    let a = out.pop().ok_or(AppError::NotFound)?;
    Ok((a, b))
}

/// Adds a session to a rota. It stays a draft until the rota is (re)published.
pub async fn add_session(
    state: &AppState,
    caller: &Caller,
    rota_id: i64,
    req: &NewSession,
) -> AppResult<live_sessions::Model> {
    let date = parse_date("date", &req.date)?;
    let start = req
        .start
        .as_deref()
        .map(|t| parse_time("start", t))
        .transpose()?;
    let end = req
        .end
        .as_deref()
        .map(|t| parse_time("end", t))
        .transpose()?;
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let txn = &w.txn;
    let rota = rota_for_edit(txn, rota_id).await?;
    let (dstart, dend) = rota_times(&rota)?;
    let starts_at = at_local("start", date, start.unwrap_or(dstart))?;
    let ends_at = at_local("end", date, end.unwrap_or(dend))?;
    check_slot(&rota, 0, req.leader_id, starts_at, ends_at)?;
    if let Some(l) = req.leader_id {
        leaders::check_assignable(txn, "leader_id", l).await?;
        check_available(txn, l, date).await?;
        check_not_double_booked(txn, l, starts_at, ends_at, &[]).await?;
    }
    let s = insert_session(txn, rota.id, req.leader_id, starts_at, ends_at, now).await?;
    let status = workflow::next(s.status, SessionAction::Added).map_err(|r| refused(&s, r))?;
    record_event(
        txn,
        s.id,
        SessionAction::Added,
        s.status,
        status,
        actor(caller),
        None,
        Some(json!({ "leader_id": req.leader_id })),
        now,
    )
    .await?;
    touch_rota(txn, &rota, now).await?;
    w.commit().await?;
    tracing::info!(rota_id, session_id = s.id, "session added");
    Ok(s)
}
