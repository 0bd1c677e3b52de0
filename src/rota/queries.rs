//! Reading the rota: sessions as residents and staff see them, rotas with their versions, the
//! event log, and per-session figures derived from records.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Utc};
use entity::{
    live_outcomes, live_registrations, live_session_events, live_sessions, rota_versions, rotas,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::leaders::{self, LeaderView};
use super::service::{draft_problem, rota_range};
use super::{local_hm, parse_date, reg_status, weekday_name, SessionStatus};
use crate::auth::{Caller, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const LIST_DEFAULT: u64 = 20;
pub const LIST_MAX: u64 = 100;

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct MyRegistrationRef {
    pub id: i64,
    /// `registered` or `held` (waiting for the office's review).
    pub status: String,
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct Problem {
    /// `session_unassigned` or `leader_unavailable`: publication refuses the rota until fixed.
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema, Clone, Debug, Default)]
pub struct Figures {
    /// Residents with a recorded outcome.
    pub residents_served: u64,
    /// Of those, answered on the spot.
    pub answered: u64,
    /// Of those, turned into appeals.
    pub appeals_created: u64,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// From the start and end events; absent until the session ended.
    pub duration_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct SessionView {
    pub id: i64,
    pub rota_id: i64,
    /// Local (Asia/Shanghai) date `YYYY-MM-DD`.
    pub date: String,
    /// `mon` … `sun`.
    pub weekday: String,
    /// Local `HH:MM`.
    pub start: String,
    pub end: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub leader: Option<LeaderView>,
    /// `scheduled`, `live`, `ended`, `missed` or `cancelled`.
    pub status: String,
    /// Residents registered with a topic (not counting topics held for review).
    pub registrations: u64,
    /// Residents: their own registration for this session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_registration: Option<MyRegistrationRef>,
    /// Staff only: whether residents see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
    /// Staff only: the iCalendar SEQUENCE, bumped by every change after publication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i32>,
    /// Staff only: topics held by the content check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_registrations: Option<u64>,
    /// Staff only: what needs the admin's attention (a leader missing or now unavailable); a
    /// draft with a problem cannot be published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<Problem>>,
    /// One session's detail: residents served, appeals created, duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<Figures>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub version: i32,
    pub published_by: i64,
    pub published_at: DateTime<Utc>,
    /// Sessions first published by this version.
    pub sessions: i32,
}

#[derive(Serialize, ToSchema)]
pub struct RotaSummary {
    pub id: i64,
    pub range_start: String,
    pub range_end: String,
    pub weekdays: Vec<String>,
    pub start: String,
    pub end: String,
    /// `draft`, `published` or `discarded`.
    pub status: String,
    /// Publications so far (0: never published).
    pub version: i32,
    /// Sessions, leaving out drafts cancelled before publication.
    pub session_count: u64,
    /// Sessions added or generated since the last publication (drafts).
    pub unpublished_sessions: u64,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct RotaView {
    #[serde(flatten)]
    pub rota: RotaSummary,
    pub sessions: Vec<SessionView>,
    pub versions: Vec<VersionView>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionEventView {
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
pub struct SessionQuery {
    /// First local date `YYYY-MM-DD`; by default sessions not yet over.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last local date `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Only this leader's sessions.
    pub leader_id: Option<i64>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}

fn is_office(caller: &Caller) -> bool {
    matches!(caller.role, Role::Office | Role::Admin)
}

/// Builds views of sessions; `staff` adds publication state and problems.
pub async fn views(
    db: &impl ConnectionTrait,
    sessions: Vec<live_sessions::Model>,
    caller: Option<&Caller>,
    staff: bool,
) -> AppResult<Vec<SessionView>> {
    let ids: Vec<i64> = sessions.iter().map(|s| s.id).collect();
    let profiles = leaders::profiles(db, sessions.iter().filter_map(|s| s.leader_id)).await?;
    let counts = registration_counts(db, &ids).await?;
    let mine: BTreeMap<i64, MyRegistrationRef> = match caller {
        Some(c) if c.role == Role::Resident && !ids.is_empty() => {
            live_registrations::Entity::find()
                .filter(live_registrations::Column::UserId.eq(c.user_id))
                .filter(live_registrations::Column::SessionId.is_in(ids.clone()))
                .filter(live_registrations::Column::Status.is_in(reg_status::ACTIVE))
                .all(db)
                .await?
                .into_iter()
                .map(|r| {
                    (
                        r.session_id,
                        MyRegistrationRef {
                            id: r.id,
                            status: r.status,
                        },
                    )
                })
                .collect()
        }
        _ => BTreeMap::new(),
    };
    let unavailable = if staff && !sessions.is_empty() {
        let leader_ids: Vec<i64> = sessions.iter().filter_map(|s| s.leader_id).collect();
        let from = sessions
            .iter()
            .map(|s| super::local_date(s.starts_at))
            .min();
        let to = sessions
            .iter()
            .map(|s| super::local_date(s.starts_at))
            .max();
        match (from, to) {
            (Some(f), Some(t)) => leaders::unavailable_in(db, &leader_ids, f, t).await?,
            _ => BTreeMap::new(),
        }
    } else {
        BTreeMap::new()
    };
    Ok(sessions
        .into_iter()
        .map(|s| {
            let (registered, held) = counts.get(&s.id).copied().unwrap_or((0, 0));
            let problems = staff.then(|| {
                draft_problem(&s, &unavailable)
                    .into_iter()
                    .map(|(code, message)| Problem {
                        code: code.as_str().to_string(),
                        message,
                    })
                    .collect()
            });
            let local = super::local_date(s.starts_at);
            SessionView {
                id: s.id,
                rota_id: s.rota_id,
                date: s.local_date.clone(),
                weekday: weekday_name(local.weekday()).into(),
                start: local_hm(s.starts_at),
                end: local_hm(s.ends_at),
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                leader: s.leader_id.and_then(|l| profiles.get(&l).cloned()),
                status: s.status.clone(),
                registrations: registered,
                my_registration: mine.get(&s.id).cloned(),
                published: staff.then_some(s.published_at.is_some()),
                sequence: staff.then_some(s.sequence),
                held_registrations: staff.then_some(held),
                problems,
                figures: None,
            }
        })
        .collect())
}

/// (registered, held) per session.
async fn registration_counts(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<BTreeMap<i64, (u64, u64)>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(i64, String, i64)> = live_registrations::Entity::find()
        .select_only()
        .column(live_registrations::Column::SessionId)
        .column(live_registrations::Column::Status)
        .column_as(Expr::col(live_registrations::Column::Id).count(), "n")
        .filter(live_registrations::Column::SessionId.is_in(ids.to_vec()))
        .filter(live_registrations::Column::Status.is_in(reg_status::ACTIVE))
        .group_by(live_registrations::Column::SessionId)
        .group_by(live_registrations::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for (sid, status, n) in rows {
        let n = u64::try_from(n).unwrap_or(0);
        let e = out.entry(sid).or_default();
        if status == reg_status::HELD {
            e.1 += n;
        } else {
            e.0 += n;
        }
    }
    Ok(out)
}

fn limit(l: Option<u64>) -> AppResult<u64> {
    match l {
        None => Ok(LIST_DEFAULT),
        Some(n) if (1..=LIST_MAX).contains(&n) => Ok(n),
        Some(_) => Err(AppError::validation(
            "limit",
            format!("must be 1 to {LIST_MAX}"),
        )),
    }
}

/// Published sessions not yet over (or within `from..=to`), soonest first; cancelled ones are
/// left out.
pub async fn upcoming(
    state: &AppState,
    caller: &Caller,
    q: &SessionQuery,
) -> AppResult<Vec<SessionView>> {
    let mut find = live_sessions::Entity::find()
        .filter(live_sessions::Column::PublishedAt.is_not_null())
        .filter(live_sessions::Column::Status.ne(SessionStatus::Cancelled.as_str()))
        .order_by_asc(live_sessions::Column::StartsAt)
        .order_by_asc(live_sessions::Column::Id)
        .limit(limit(q.limit)?);
    match &q.from {
        Some(f) => {
            let f = parse_date("from", f)?;
            find = find.filter(live_sessions::Column::LocalDate.gte(super::date_str(f)));
        }
        None => {
            find = find.filter(live_sessions::Column::EndsAt.gt(state.clock.now()));
        }
    }
    if let Some(t) = &q.to {
        let t = parse_date("to", t)?;
        find = find.filter(live_sessions::Column::LocalDate.lte(super::date_str(t)));
    }
    if let Some(l) = q.leader_id {
        find = find.filter(live_sessions::Column::LeaderId.eq(l));
    }
    let sessions = find.all(&state.db).await?;
    views(&state.db, sessions, Some(caller), false).await
}

/// A session visible to the caller: published ones to everyone, drafts to the office.
pub async fn visible_session(
    db: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<live_sessions::Model> {
    let s = live_sessions::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.published_at.is_none() && !is_office(caller) {
        return Err(AppError::NotFound);
    }
    Ok(s)
}

pub async fn one(state: &AppState, caller: &Caller, id: i64) -> AppResult<SessionView> {
    let s = visible_session(&state.db, caller, id).await?;
    let figures = figures(&state.db, &s).await?;
    let staff = caller.is_staff();
    let mut v = views(&state.db, vec![s], Some(caller), staff)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    v.figures = Some(figures);
    Ok(v)
}

/// Figures derived from the outcome records and the start/end events, never kept as counters.
pub async fn figures(db: &impl ConnectionTrait, s: &live_sessions::Model) -> AppResult<Figures> {
    let outcomes = live_outcomes::Entity::find()
        .filter(live_outcomes::Column::SessionId.eq(s.id))
        .all(db)
        .await?;
    let served: BTreeSet<i64> = outcomes.iter().map(|o| o.resident_id).collect();
    let events = live_session_events::Entity::find()
        .filter(live_session_events::Column::SessionId.eq(s.id))
        .filter(live_session_events::Column::Action.is_in(["started", "ended"]))
        .order_by_asc(live_session_events::Column::Id)
        .all(db)
        .await?;
    let started_at = events
        .iter()
        .find(|e| e.action == "started")
        .map(|e| e.created_at);
    let ended_at = events
        .iter()
        .rev()
        .find(|e| e.action == "ended")
        .map(|e| e.created_at);
    Ok(Figures {
        residents_served: served.len() as u64,
        answered: outcomes.iter().filter(|o| o.outcome == "answered").count() as u64,
        appeals_created: outcomes.iter().filter(|o| o.appeal_id.is_some()).count() as u64,
        started_at,
        ended_at,
        duration_minutes: match (started_at, ended_at) {
            (Some(a), Some(b)) => Some((b - a).num_minutes()),
            _ => None,
        },
    })
}

pub async fn events(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> AppResult<Vec<SessionEventView>> {
    let s = visible_session(&state.db, caller, id).await?;
    Ok(live_session_events::Entity::find()
        .filter(live_session_events::Column::SessionId.eq(s.id))
        .order_by_asc(live_session_events::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|e| SessionEventView {
            action: e.action,
            from_status: e.from_status,
            to_status: e.to_status,
            actor_id: e.actor_id,
            actor_role: e.actor_role,
            reason: e.reason,
            detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
            created_at: e.created_at,
        })
        .collect())
}

async fn summary(db: &impl ConnectionTrait, r: rotas::Model) -> AppResult<RotaSummary> {
    let sessions = live_sessions::Entity::find()
        .filter(live_sessions::Column::RotaId.eq(r.id))
        .all(db)
        .await?;
    Ok(summarize(r, &sessions))
}

fn summarize(r: rotas::Model, sessions: &[live_sessions::Model]) -> RotaSummary {
    let live: Vec<&live_sessions::Model> = sessions
        .iter()
        .filter(|s| s.status != SessionStatus::Cancelled.as_str() || s.published_at.is_some())
        .collect();
    RotaSummary {
        id: r.id,
        weekdays: r.weekdays.split(',').map(str::to_string).collect(),
        start: r.start_time,
        end: r.end_time,
        session_count: live.len() as u64,
        unpublished_sessions: live.iter().filter(|s| s.published_at.is_none()).count() as u64,
        range_start: r.range_start,
        range_end: r.range_end,
        status: r.status,
        version: r.version,
        published_at: r.published_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

pub async fn rotas(state: &AppState) -> AppResult<Vec<RotaSummary>> {
    let all = rotas::Entity::find()
        .order_by_desc(rotas::Column::RangeStart)
        .order_by_desc(rotas::Column::Id)
        .all(&state.db)
        .await?;
    let mut out = Vec::with_capacity(all.len());
    for r in all {
        out.push(summary(&state.db, r).await?);
    }
    Ok(out)
}

/// A rota with every session (drafts included, cancelled drafts left out) and its versions.
pub async fn rota(state: &AppState, caller: &Caller, id: i64) -> AppResult<RotaView> {
    let r = rotas::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    rota_range(&r)?;
    let sessions = live_sessions::Entity::find()
        .filter(live_sessions::Column::RotaId.eq(r.id))
        .order_by_asc(live_sessions::Column::StartsAt)
        .order_by_asc(live_sessions::Column::Id)
        .all(&state.db)
        .await?;
    let summary = summarize(r, &sessions);
    let shown: Vec<live_sessions::Model> = sessions
        .into_iter()
        .filter(|s| s.status != SessionStatus::Cancelled.as_str() || s.published_at.is_some())
        .collect();
    let sessions = views(&state.db, shown, Some(caller), true).await?;
    let versions = rota_versions::Entity::find()
        .filter(rota_versions::Column::RotaId.eq(id))
        .order_by_asc(rota_versions::Column::Version)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|v| VersionView {
            version: v.version,
            published_by: v.published_by,
            published_at: v.published_at,
            sessions: v.sessions,
        })
        .collect();
    Ok(RotaView {
        rota: summary,
        sessions,
        versions,
    })
}

/// One session as the staff see it, after an edit.
pub async fn staff_view(
    state: &AppState,
    caller: &Caller,
    s: live_sessions::Model,
) -> AppResult<SessionView> {
    views(&state.db, vec![s], Some(caller), true)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}
