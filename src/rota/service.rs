//! Rota commands: generation of a draft, the admin's edits, publication and discarding. Every
//! change to a session is written with its event in one transaction. A change to a published
//! session needs a reason, bumps its iCalendar SEQUENCE and queues a notification for every
//! resident registered for it.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use entity::{live_sessions, rota_versions, rotas};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::generate::{
    check_conflicts, check_holiday_data, check_in_range, generate, LeaderAvailability, RotaConfig,
    RotaError, SessionSlot,
};
use super::{
    at_local, date_str, default_config, leaders, local_date, local_hm, notify_registrants,
    parse_date, parse_time, parse_weekdays, record_event, rota_status, weekday_name, EventActor,
    SessionStatus,
};
use crate::auth::Caller;
use crate::board::service::checked_text;
use crate::calendar::store as calendar_store;
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const REASON_MAX: usize = 500;
/// Sessions over this many days before a new range count toward fairness (12 weeks), so a
/// remainder does not fall on the same leader every time and a newcomer's catching up is bounded.
pub const HISTORY_DAYS: i64 = 84;

#[derive(Deserialize, ToSchema)]
pub struct NewRota {
    /// First local date `YYYY-MM-DD`.
    pub range_start: String,
    /// Last local date `YYYY-MM-DD` (included); at most 366 days in all.
    pub range_end: String,
    /// e.g. `["tue", "thu"]`; the configured weekdays when absent.
    pub weekdays: Option<Vec<String>>,
    /// Local `HH:MM`; the configured time when absent.
    pub start: Option<String>,
    pub end: Option<String>,
    /// Generate even though the calendar lists no public holidays for a year of the range
    /// (otherwise `409 holiday_data_missing`): every configured weekday then gets a session.
    #[serde(default)]
    pub accept_missing_holidays: bool,
}

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

fn rota_error(e: RotaError) -> AppError {
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

fn rota_times(r: &rotas::Model) -> AppResult<(NaiveTime, NaiveTime)> {
    let p = |s: &str| {
        NaiveTime::parse_from_str(s, "%H:%M")
            .map_err(|_| AppError::internal(anyhow::anyhow!("rota {} has bad times", r.id)))
    };
    Ok((p(&r.start_time)?, p(&r.end_time)?))
}

fn reason_for(published: bool, reason: &Option<String>) -> AppResult<Option<String>> {
    match reason.as_deref().map(str::trim) {
        None | Some("") if published => Err(AppError::validation(
            "reason",
            "required: the session is published, and residents who registered are told why",
        )),
        None | Some("") => Ok(None),
        Some(r) => checked_text("reason", r, REASON_MAX, true).map(Some),
    }
}

fn midnight(d: NaiveDate) -> AppResult<DateTime<Utc>> {
    at_local("range_start", d, NaiveTime::MIN)
}

/// Generates a draft rota over a range: one session per configured weekday that is not a
/// public holiday, leaders assigned by the rule in [`generate`].
pub async fn generate_rota(
    state: &AppState,
    caller: &Caller,
    req: &NewRota,
) -> AppResult<rotas::Model> {
    let range_start = parse_date("range_start", &req.range_start)?;
    let range_end = parse_date("range_end", &req.range_end)?;
    let defaults = default_config(&state.settings.rota)?;
    let cfg = RotaConfig {
        weekdays: match &req.weekdays {
            Some(w) => parse_weekdays("weekdays", w)?,
            None => defaults.weekdays,
        },
        start: match &req.start {
            Some(s) => parse_time("start", s)?,
            None => defaults.start,
        },
        end: match &req.end {
            Some(s) => parse_time("end", s)?,
            None => defaults.end,
        },
    };
    let db = &state.db;
    let calendar = calendar_store::load(db).await?;
    if !req.accept_missing_holidays {
        check_holiday_data(range_start, range_end, &calendar).map_err(rota_error)?;
    }
    let pool = leaders::pool(db).await?;
    let ids: Vec<i64> = pool.iter().map(|l| l.user_id).collect();
    let mut unavailable = leaders::unavailable_in(db, &ids, range_start, range_end).await?;
    let availability: Vec<LeaderAvailability> = ids
        .iter()
        .map(|&id| LeaderAvailability {
            leader_id: id,
            unavailable: unavailable.remove(&id).unwrap_or_default(),
        })
        .collect();
    let (prior, last) = history(db, range_start).await?;
    let drafts = generate(
        range_start,
        range_end,
        &cfg,
        &calendar,
        &availability,
        &prior,
        last,
    )
    .map_err(rota_error)?;

    let now = state.clock.now();
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    // Two admins generating overlapping ranges at once: the second waits, then sees the first.
    crate::db::serialize_on(&txn, ROTA_GENERATION_LOCK).await?;
    check_no_overlap(&txn, range_start, range_end).await?;
    let rota = rotas::ActiveModel {
        range_start: Set(date_str(range_start)),
        range_end: Set(date_str(range_end)),
        weekdays: Set(cfg
            .weekdays
            .iter()
            .map(|w| weekday_name(*w))
            .collect::<Vec<_>>()
            .join(",")),
        start_time: Set(cfg.start.format("%H:%M").to_string()),
        end_time: Set(cfg.end.format("%H:%M").to_string()),
        status: Set(rota_status::DRAFT.into()),
        version: Set(0),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        updated_at: Set(now),
        published_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let actor = EventActor::of(caller);
    for d in &drafts {
        let s = insert_session(&txn, rota.id, d.leader_id, d.starts_at, d.ends_at, now).await?;
        let status = SessionStatus::Scheduled.as_str();
        record_event(
            &txn,
            s.id,
            "generated",
            status,
            status,
            actor,
            None,
            Some(json!({ "leader_id": d.leader_id })),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    tracing::info!(rota_id = rota.id, sessions = drafts.len(), "rota generated");
    Ok(rota)
}

/// Sessions per leader over [`HISTORY_DAYS`] before `range_start`, and who hosted last.
async fn history(
    db: &impl ConnectionTrait,
    range_start: NaiveDate,
) -> AppResult<(BTreeMap<i64, u32>, Option<i64>)> {
    let until = midnight(range_start)?;
    let since = until - Duration::days(HISTORY_DAYS);
    let past = live_sessions::Entity::find()
        .filter(live_sessions::Column::Status.ne(SessionStatus::Cancelled.as_str()))
        .filter(live_sessions::Column::LeaderId.is_not_null())
        .filter(live_sessions::Column::StartsAt.gte(since))
        .filter(live_sessions::Column::StartsAt.lt(until))
        .order_by_asc(live_sessions::Column::StartsAt)
        .all(db)
        .await?;
    let mut counts = BTreeMap::new();
    let mut last = None;
    for s in past {
        if let Some(l) = s.leader_id {
            *counts.entry(l).or_insert(0) += 1;
            last = Some(l);
        }
    }
    Ok((counts, last))
}

const ROTA_GENERATION_LOCK: i64 = 0x726f_7461; // "rota"

/// Airtight under the SQLite write gate and, on PostgreSQL, under `ROTA_GENERATION_LOCK`.
async fn check_no_overlap(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
) -> AppResult<()> {
    let other = rotas::Entity::find()
        .filter(rotas::Column::Status.ne(rota_status::DISCARDED))
        .filter(rotas::Column::RangeStart.lte(date_str(end)))
        .filter(rotas::Column::RangeEnd.gte(date_str(start)))
        .one(db)
        .await?;
    match other {
        Some(o) => Err(AppError::conflict(
            ErrorCode::RotaOverlap,
            format!(
                "rota {} already covers {}..{}; discard that draft or choose another range",
                o.id, o.range_start, o.range_end
            ),
        )),
        None => Ok(()),
    }
}

async fn insert_session(
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
        status: Set(SessionStatus::Scheduled.as_str().into()),
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

async fn rota_for_edit(db: &impl ConnectionTrait, rota_id: i64) -> AppResult<rotas::Model> {
    let r = rotas::Entity::find_by_id(rota_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.status == rota_status::DISCARDED {
        return Err(AppError::conflict(
            ErrorCode::RotaDiscarded,
            format!("rota {rota_id} was discarded"),
        ));
    }
    Ok(r)
}

fn not_editable(s: &live_sessions::Model) -> AppError {
    AppError::StateConflict {
        code: ErrorCode::InvalidSessionState,
        message: format!(
            "session {} is `{}`: only scheduled sessions can be changed",
            s.id, s.status
        ),
        state: s.status.clone(),
        version: Some(s.version),
    }
}

/// The session and its rota, for an edit: only scheduled sessions of a live rota.
async fn session_for_edit(
    db: &impl ConnectionTrait,
    session_id: i64,
) -> AppResult<(live_sessions::Model, rotas::Model)> {
    let s = live_sessions::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let r = rota_for_edit(db, s.rota_id).await?;
    if s.status != SessionStatus::Scheduled.as_str() {
        return Err(not_editable(&s));
    }
    Ok((s, r))
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
        .filter(live_sessions::Column::Status.ne(SessionStatus::Cancelled.as_str()))
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

/// What changed, as the event, the notification and the iCalendar feed need it.
struct Change<'a> {
    action: &'static str,
    to_status: SessionStatus,
    reason: Option<String>,
    detail: serde_json::Value,
    leader_id: Option<i64>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    actor: EventActor,
    now: DateTime<Utc>,
    notify_kind: &'a str,
}

/// Writes a change to a session guarded by its version, with its event and, for a published
/// session, the SEQUENCE bump and the residents' notifications.
async fn apply(
    txn: &DatabaseTransaction,
    s: &live_sessions::Model,
    c: Change<'_>,
) -> AppResult<live_sessions::Model> {
    let published = s.published_at.is_some();
    let am = live_sessions::ActiveModel {
        leader_id: Set(c.leader_id),
        local_date: Set(date_str(local_date(c.starts_at))),
        starts_at: Set(c.starts_at),
        ends_at: Set(c.ends_at),
        status: Set(c.to_status.as_str().into()),
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
            s.status.clone(),
            s.version,
        ));
    }
    record_event(
        txn,
        s.id,
        c.action,
        &s.status,
        c.to_status.as_str(),
        c.actor,
        c.reason.clone(),
        Some(c.detail.clone()),
        c.now,
    )
    .await?;
    if published {
        let payload = json!({
            "session_id": s.id,
            "change": c.action,
            "reason": c.reason,
            "status": c.to_status.as_str(),
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
            change = c.action,
            notified = n,
            "published session changed"
        );
    }
    live_sessions::Entity::find_by_id(s.id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
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
    let gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    let (s, _) = session_for_edit(&txn, session_id).await?;
    let reason = reason_for(s.published_at.is_some(), &req.reason)?;
    leaders::check_assignable(&txn, "leader_id", req.leader_id).await?;
    if s.leader_id == Some(req.leader_id) {
        return Err(AppError::validation(
            "leader_id",
            "already the leader of this session",
        ));
    }
    check_available(&txn, req.leader_id, local_date(s.starts_at)).await?;
    check_not_double_booked(&txn, req.leader_id, s.starts_at, s.ends_at, &[s.id]).await?;
    let out = apply(
        &txn,
        &s,
        Change {
            action: "reassigned",
            to_status: SessionStatus::Scheduled,
            reason,
            detail: json!({ "from_leader_id": s.leader_id, "to_leader_id": req.leader_id }),
            leader_id: Some(req.leader_id),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            actor: EventActor::of(caller),
            now,
            notify_kind: CHANGED,
        },
    )
    .await?;
    txn.commit().await?;
    drop(gate);
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
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    let (s, rota) = session_for_edit(&txn, session_id).await?;
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
        check_available(&txn, l, date).await?;
        check_not_double_booked(&txn, l, starts_at, ends_at, &[s.id]).await?;
    }
    let out = apply(
        &txn,
        &s,
        Change {
            action: "rescheduled",
            to_status: SessionStatus::Scheduled,
            reason,
            detail: json!({
                "from": { "starts_at": s.starts_at, "ends_at": s.ends_at },
                "to": { "starts_at": starts_at, "ends_at": ends_at },
            }),
            leader_id: s.leader_id,
            starts_at,
            ends_at,
            actor: EventActor::of(caller),
            now,
            notify_kind: CHANGED,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(out)
}

pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    session_id: i64,
    req: &Cancel,
) -> AppResult<live_sessions::Model> {
    let now = state.clock.now();
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    let (s, _) = session_for_edit(&txn, session_id).await?;
    let reason = reason_for(s.published_at.is_some(), &req.reason)?;
    let out = apply(
        &txn,
        &s,
        Change {
            action: "cancelled",
            to_status: SessionStatus::Cancelled,
            reason,
            detail: json!({ "leader_id": s.leader_id }),
            leader_id: s.leader_id,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            actor: EventActor::of(caller),
            now,
            notify_kind: CANCELLED,
        },
    )
    .await?;
    txn.commit().await?;
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
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    rota_for_edit(&txn, rota_id).await?;
    let mut pair = Vec::new();
    for (field, id) in [
        ("first_session_id", req.first_session_id),
        ("second_session_id", req.second_session_id),
    ] {
        let s = live_sessions::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|s| s.rota_id == rota_id)
            .ok_or_else(|| AppError::validation(field, "no such session in this rota"))?;
        if s.status != SessionStatus::Scheduled.as_str() {
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
    check_available(&txn, la, local_date(b.starts_at)).await?;
    check_available(&txn, lb, local_date(a.starts_at)).await?;
    check_not_double_booked(&txn, la, b.starts_at, b.ends_at, &[a.id, b.id]).await?;
    check_not_double_booked(&txn, lb, a.starts_at, a.ends_at, &[a.id, b.id]).await?;
    let actor = EventActor::of(caller);
    let mut out = Vec::new();
    for (s, from, to, other) in [(&a, la, lb, b.id), (&b, lb, la, a.id)] {
        out.push(
            apply(
                &txn,
                s,
                Change {
                    action: "swapped",
                    to_status: SessionStatus::Scheduled,
                    reason: reason.clone(),
                    detail: json!({
                        "from_leader_id": from, "to_leader_id": to, "other_session_id": other,
                    }),
                    leader_id: Some(to),
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                    actor,
                    now,
                    notify_kind: CHANGED,
                },
            )
            .await?,
        );
    }
    txn.commit().await?;
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
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    let rota = rota_for_edit(&txn, rota_id).await?;
    let (dstart, dend) = rota_times(&rota)?;
    let starts_at = at_local("start", date, start.unwrap_or(dstart))?;
    let ends_at = at_local("end", date, end.unwrap_or(dend))?;
    check_slot(&rota, 0, req.leader_id, starts_at, ends_at)?;
    if let Some(l) = req.leader_id {
        leaders::check_assignable(&txn, "leader_id", l).await?;
        check_available(&txn, l, date).await?;
        check_not_double_booked(&txn, l, starts_at, ends_at, &[]).await?;
    }
    let s = insert_session(&txn, rota.id, req.leader_id, starts_at, ends_at, now).await?;
    let status = SessionStatus::Scheduled.as_str();
    record_event(
        &txn,
        s.id,
        "added",
        status,
        status,
        EventActor::of(caller),
        None,
        Some(json!({ "leader_id": req.leader_id })),
        now,
    )
    .await?;
    touch_rota(&txn, &rota, now).await?;
    txn.commit().await?;
    tracing::info!(rota_id, session_id = s.id, "session added");
    Ok(s)
}

async fn touch_rota(
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

/// What is wrong with a scheduled session: no leader, or a leader unavailable that day. A draft
/// with a problem cannot be published; a published one needs the admin's attention.
pub fn draft_problem(
    s: &live_sessions::Model,
    unavailable: &BTreeMap<i64, std::collections::BTreeSet<NaiveDate>>,
) -> Option<(ErrorCode, String)> {
    if s.status != SessionStatus::Scheduled.as_str() {
        return None;
    }
    match s.leader_id {
        None => Some((
            ErrorCode::SessionUnassigned,
            format!("session {} on {} has no leader", s.id, s.local_date),
        )),
        Some(l)
            if unavailable
                .get(&l)
                .is_some_and(|d| d.contains(&local_date(s.starts_at))) =>
        {
            Some((
                ErrorCode::LeaderUnavailable,
                format!(
                    "leader {l} is unavailable on {} (session {})",
                    s.local_date, s.id
                ),
            ))
        }
        Some(_) => None,
    }
}

/// Publishes every draft session of the rota as its next version; the first problem found
/// refuses the whole publication.
pub async fn publish(state: &AppState, caller: &Caller, rota_id: i64) -> AppResult<rotas::Model> {
    let now = state.clock.now();
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    let rota = rota_for_edit(&txn, rota_id).await?;
    let sessions = live_sessions::Entity::find()
        .filter(live_sessions::Column::RotaId.eq(rota_id))
        .order_by_asc(live_sessions::Column::StartsAt)
        .all(&txn)
        .await?;
    let drafts: Vec<&live_sessions::Model> = sessions
        .iter()
        .filter(|s| s.published_at.is_none() && s.status == SessionStatus::Scheduled.as_str())
        .collect();
    let (from, to) = rota_range(&rota)?;
    let leader_ids: Vec<i64> = drafts.iter().filter_map(|s| s.leader_id).collect();
    let unavailable = leaders::unavailable_in(&txn, &leader_ids, from, to).await?;
    for s in &drafts {
        if let Some((code, message)) = draft_problem(s, &unavailable) {
            return Err(AppError::conflict(code, message));
        }
    }
    let slots: Vec<SessionSlot> = sessions
        .iter()
        .map(|s| SessionSlot {
            id: s.id,
            leader_id: s.leader_id,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            cancelled: s.status == SessionStatus::Cancelled.as_str(),
        })
        .collect();
    if let Some(c) = check_conflicts(&slots).first() {
        return Err(AppError::conflict(
            ErrorCode::LeaderDoubleBooked,
            format!(
                "leader {} is in overlapping sessions {} and {}",
                c.leader_id, c.first_session_id, c.second_session_id
            ),
        ));
    }
    let version = rota.version + 1;
    let res = rotas::Entity::update_many()
        .set(rotas::ActiveModel {
            status: Set(rota_status::PUBLISHED.into()),
            version: Set(version),
            published_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(rotas::Column::Id.eq(rota.id))
        .filter(rotas::Column::Version.eq(rota.version))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::version_conflict(
            "the rota was published meanwhile; reload and retry",
            rota.status.clone(),
            rota.version,
        ));
    }
    let actor = EventActor::of(caller);
    for s in &drafts {
        live_sessions::Entity::update_many()
            .set(live_sessions::ActiveModel {
                published_at: Set(Some(now)),
                published_version: Set(Some(version)),
                version: Set(s.version + 1),
                updated_at: Set(now),
                ..Default::default()
            })
            .filter(live_sessions::Column::Id.eq(s.id))
            .exec(&txn)
            .await?;
        record_event(
            &txn,
            s.id,
            "published",
            &s.status,
            &s.status,
            actor,
            None,
            Some(json!({ "rota_version": version, "leader_id": s.leader_id })),
            now,
        )
        .await?;
    }
    rota_versions::ActiveModel {
        rota_id: Set(rota.id),
        version: Set(version),
        published_by: Set(caller.user_id),
        published_at: Set(now),
        sessions: Set(i32::try_from(drafts.len()).unwrap_or(i32::MAX)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(rota_id, version, sessions = drafts.len(), "rota published");
    rotas::Entity::find_by_id(rota_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Discards a draft never published, so its range can be generated again.
pub async fn discard(state: &AppState, caller: &Caller, rota_id: i64) -> AppResult<()> {
    let now = state.clock.now();
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    let rota = rota_for_edit(&txn, rota_id).await?;
    if rota.version > 0 {
        return Err(AppError::conflict(
            ErrorCode::RotaPublished,
            "a published rota cannot be discarded; cancel its sessions instead",
        ));
    }
    let sessions = live_sessions::Entity::find()
        .filter(live_sessions::Column::RotaId.eq(rota_id))
        .filter(live_sessions::Column::Status.ne(SessionStatus::Cancelled.as_str()))
        .all(&txn)
        .await?;
    let actor = EventActor::of(caller);
    for s in &sessions {
        live_sessions::Entity::update_many()
            .set(live_sessions::ActiveModel {
                status: Set(SessionStatus::Cancelled.as_str().into()),
                version: Set(s.version + 1),
                updated_at: Set(now),
                ..Default::default()
            })
            .filter(live_sessions::Column::Id.eq(s.id))
            .exec(&txn)
            .await?;
        record_event(
            &txn,
            s.id,
            "discarded",
            &s.status,
            SessionStatus::Cancelled.as_str(),
            actor,
            None,
            None,
            now,
        )
        .await?;
    }
    rotas::ActiveModel {
        id: Set(rota.id),
        status: Set(rota_status::DISCARDED.into()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(rota_id, "rota discarded");
    Ok(())
}
