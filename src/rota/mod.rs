//! Duty rota of leaders' live evening sessions (干群直通车): leader profiles and unavailable
//! dates, fair generation of a draft (pure, in `generate`), the admin's edits, publication as
//! versions, residents' registrations, exports (iCalendar in `ical`, CSV), and the session
//! lifecycle with its outcomes.
pub mod directory;
pub mod export;
pub mod generate;
pub mod ical;
pub mod leaders;
pub mod lifecycle;
pub mod outcomes;
pub mod queries;
pub mod registrations;
pub mod routes;
pub mod service;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use entity::{live_registrations, live_session_events, notifications};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use self::generate::RotaConfig;
use crate::auth::{Caller, Role};
pub use crate::clock::{local_date, parse_date};
use crate::clock::{local_to_utc, TIMEZONE};
use crate::config::RotaSettings;
use crate::error::{AppError, AppResult};

/// Where a session is in its life. Publication is separate (`published_at`): a draft session is
/// `scheduled` too, but only the office sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Scheduled,
    Live,
    Ended,
    /// Never started within its start window.
    Missed,
    Cancelled,
}

impl SessionStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Live => "live",
            Self::Ended => "ended",
            Self::Missed => "missed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// `draft` until first published; `discarded` drafts free their range for a new generation.
pub mod rota_status {
    pub const DRAFT: &str = "draft";
    pub const PUBLISHED: &str = "published";
    pub const DISCARDED: &str = "discarded";
}

/// Registration states. `held` waits for the office after the content check flagged the topic.
pub mod reg_status {
    pub const REGISTERED: &str = "registered";
    pub const HELD: &str = "held";
    pub const CANCELLED: &str = "cancelled";
    pub const REJECTED: &str = "rejected";
    /// Registrations that hold a place (and are told about changes).
    pub const ACTIVE: [&str; 2] = [REGISTERED, HELD];
}

/// Who did something to a session, as its event log records it.
#[derive(Clone, Copy, Debug)]
pub struct EventActor {
    pub user_id: Option<i64>,
    pub role: &'static str,
}

impl EventActor {
    pub const SYSTEM: EventActor = EventActor {
        user_id: None,
        role: "system",
    };

    pub fn of(caller: &Caller) -> Self {
        Self {
            user_id: Some(caller.user_id),
            role: caller.role.as_str(),
        }
    }
}

/// Appends one event to a session's log.
#[allow(clippy::too_many_arguments)]
pub async fn record_event(
    db: &impl ConnectionTrait,
    session_id: i64,
    action: &str,
    from: &str,
    to: &str,
    actor: EventActor,
    reason: Option<String>,
    detail: Option<serde_json::Value>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    live_session_events::ActiveModel {
        session_id: Set(session_id),
        action: Set(action.into()),
        from_status: Set(from.into()),
        to_status: Set(to.into()),
        actor_id: Set(actor.user_id),
        actor_role: Set(actor.role.into()),
        reason: Set(reason),
        detail: Set(detail.map(|d| d.to_string())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
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
        .filter(live_registrations::Column::Status.is_in(reg_status::ACTIVE))
        .all(db)
        .await?;
    for r in &regs {
        notifications::ActiveModel {
            user_id: Set(r.user_id),
            kind: Set(kind.into()),
            subject_type: Set("live_session".into()),
            subject_id: Set(session_id),
            payload: Set(payload.to_string()),
            status: Set("pending".into()),
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

pub fn parse_time(field: &str, s: &str) -> AppResult<NaiveTime> {
    let s = s.trim();
    if s.len() != 5 {
        return Err(AppError::validation(
            field,
            "must be a local time written HH:MM",
        ));
    }
    NaiveTime::parse_from_str(s, "%H:%M")
        .map_err(|_| AppError::validation(field, "must be a local time written HH:MM"))
}

pub fn parse_weekdays(field: &str, names: &[String]) -> AppResult<Vec<Weekday>> {
    let mut out = Vec::new();
    for n in names {
        let w: Weekday = n
            .trim()
            .parse()
            .map_err(|_| AppError::validation(field, format!("{n:?} is not a weekday")))?;
        if !out.contains(&w) {
            out.push(w);
        }
    }
    if out.is_empty() {
        return Err(AppError::validation(field, "name at least one weekday"));
    }
    out.sort_by_key(Weekday::num_days_from_monday);
    Ok(out)
}

pub fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// The configured defaults; checked at startup so a typo stops the server, not a generation.
pub fn default_config(s: &RotaSettings) -> AppResult<RotaConfig> {
    let cfg = RotaConfig {
        weekdays: parse_weekdays("rota.weekdays", &s.weekdays)?,
        start: parse_time("rota.start", &s.start)?,
        end: parse_time("rota.end", &s.end)?,
    };
    if cfg.start >= cfg.end {
        return Err(AppError::validation("rota.end", "must be after rota.start"));
    }
    if s.start_early_mins < 0 || s.start_late_mins < 0 {
        return Err(AppError::validation(
            "rota.start_early_mins",
            "start window minutes must not be negative",
        ));
    }
    Ok(cfg)
}

pub fn local_hm(t: DateTime<Utc>) -> String {
    t.with_timezone(&TIMEZONE).format("%H:%M").to_string()
}

pub fn date_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The instant of a local date and time in Asia/Shanghai (no DST there since 1991).
pub fn at_local(field: &str, date: NaiveDate, time: NaiveTime) -> AppResult<DateTime<Utc>> {
    local_to_utc(date.and_time(time))
        .earliest()
        .ok_or_else(|| AppError::validation(field, "not a valid local time"))
}

/// How the board's event log names a staff member who files an appeal for a resident.
pub fn appeal_actor_role(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Handler => "handler",
        Role::Resident => "resident",
        Role::Office | Role::Admin => "office",
    }
}
