//! A rota's life as a whole: generation of a draft (the rule is pure, in `generate`),
//! publication as numbered versions, and discarding a draft never published.
use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use entity::live_session_events::SessionAction;
use entity::live_sessions::{self, SessionStatus};
use entity::rota_versions;
use entity::rotas::{self, RotaStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::generate::{
    check_conflicts, check_holiday_data, generate, LeaderAvailability, RotaConfig, SessionSlot,
};
use super::store::{
    actor, insert_session, midnight, record_event, refused, rota_error, rota_for_edit, rota_range,
};
use super::workflow;
use super::{
    date_str, default_config, leaders, local_date, parse_date, parse_time, parse_weekdays,
    weekday_name,
};
use crate::auth::Caller;
use crate::calendar::store as calendar_store;
use crate::db::begin_write;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

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
    let w = begin_write(state).await?;
    let txn = &w.txn;
    // Two admins generating overlapping ranges at once: the second waits, then sees the first.
    crate::db::serialize_on(txn, ROTA_GENERATION_LOCK).await?;
    check_no_overlap(txn, range_start, range_end).await?;
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
        status: Set(RotaStatus::Draft),
        version: Set(0),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        updated_at: Set(now),
        published_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let by = actor(caller);
    for d in &drafts {
        let s = insert_session(txn, rota.id, d.leader_id, d.starts_at, d.ends_at, now).await?;
        let status =
            workflow::next(s.status, SessionAction::Generated).map_err(|r| refused(&s, r))?;
        record_event(
            txn,
            s.id,
            SessionAction::Generated,
            s.status,
            status,
            by,
            None,
            Some(json!({ "leader_id": d.leader_id })),
            now,
        )
        .await?;
    }
    w.commit().await?;
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
        .filter(live_sessions::Column::Status.ne(SessionStatus::Cancelled))
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
        .filter(rotas::Column::Status.ne(RotaStatus::Discarded))
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

/// What is wrong with a scheduled session: no leader, or a leader unavailable that day. A draft
/// with a problem cannot be published; a published one needs the admin's attention.
pub fn draft_problem(
    s: &live_sessions::Model,
    unavailable: &BTreeMap<i64, std::collections::BTreeSet<NaiveDate>>,
) -> Option<(ErrorCode, String)> {
    if s.status != SessionStatus::Scheduled {
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
    let w = begin_write(state).await?;
    let txn = &w.txn;
    let rota = rota_for_edit(txn, rota_id).await?;
    let sessions = live_sessions::Entity::find()
        .filter(live_sessions::Column::RotaId.eq(rota_id))
        .order_by_asc(live_sessions::Column::StartsAt)
        .all(txn)
        .await?;
    let drafts: Vec<&live_sessions::Model> = sessions
        .iter()
        .filter(|s| s.published_at.is_none() && s.status == SessionStatus::Scheduled)
        .collect();
    let (from, to) = rota_range(&rota)?;
    let leader_ids: Vec<i64> = drafts.iter().filter_map(|s| s.leader_id).collect();
    let unavailable = leaders::unavailable_in(txn, &leader_ids, from, to).await?;
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
            cancelled: s.status == SessionStatus::Cancelled,
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
            status: Set(RotaStatus::Published),
            version: Set(version),
            published_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(rotas::Column::Id.eq(rota.id))
        .filter(rotas::Column::Version.eq(rota.version))
        .exec(txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::version_conflict(
            "the rota was published meanwhile; reload and retry",
            rota.status.to_string(),
            rota.version,
        ));
    }
    let by = actor(caller);
    for s in &drafts {
        let status =
            workflow::next(s.status, SessionAction::Published).map_err(|r| refused(s, r))?;
        live_sessions::Entity::update_many()
            .set(live_sessions::ActiveModel {
                published_at: Set(Some(now)),
                published_version: Set(Some(version)),
                version: Set(s.version + 1),
                updated_at: Set(now),
                ..Default::default()
            })
            .filter(live_sessions::Column::Id.eq(s.id))
            .exec(txn)
            .await?;
        record_event(
            txn,
            s.id,
            SessionAction::Published,
            s.status,
            status,
            by,
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
    .insert(txn)
    .await?;
    w.commit().await?;
    tracing::info!(rota_id, version, sessions = drafts.len(), "rota published");
    rotas::Entity::find_by_id(rota_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Discards a draft never published, so its range can be generated again.
pub async fn discard(state: &AppState, caller: &Caller, rota_id: i64) -> AppResult<()> {
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let txn = &w.txn;
    let rota = rota_for_edit(txn, rota_id).await?;
    if rota.version > 0 {
        return Err(AppError::conflict(
            ErrorCode::RotaPublished,
            "a published rota cannot be discarded; cancel its sessions instead",
        ));
    }
    let sessions = live_sessions::Entity::find()
        .filter(live_sessions::Column::RotaId.eq(rota_id))
        .filter(live_sessions::Column::Status.ne(SessionStatus::Cancelled))
        .all(txn)
        .await?;
    let by = actor(caller);
    for s in &sessions {
        let to = workflow::next(s.status, SessionAction::Discarded).map_err(|r| refused(s, r))?;
        live_sessions::Entity::update_many()
            .set(live_sessions::ActiveModel {
                status: Set(to),
                version: Set(s.version + 1),
                updated_at: Set(now),
                ..Default::default()
            })
            .filter(live_sessions::Column::Id.eq(s.id))
            .exec(txn)
            .await?;
        record_event(
            txn,
            s.id,
            SessionAction::Discarded,
            s.status,
            to,
            by,
            None,
            None,
            now,
        )
        .await?;
    }
    rotas::ActiveModel {
        id: Set(rota.id),
        status: Set(RotaStatus::Discarded),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(txn)
    .await?;
    w.commit().await?;
    tracing::info!(rota_id, "rota discarded");
    Ok(())
}
