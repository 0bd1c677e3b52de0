//! Duty rota of leaders' live evening sessions (干群直通车): leader profiles and unavailable
//! dates, fair generation of a draft (pure, in `generate`), the admin's edits, publication as
//! versions, residents' registrations, exports (iCalendar in `ical`, CSV), and the session
//! lifecycle with its outcomes.
pub mod directory;
pub mod edits;
pub mod export;
pub mod generate;
pub mod ical;
pub mod leaders;
pub mod lifecycle;
pub mod outcomes;
pub mod publish;
pub mod queries;
pub mod registrations;
pub mod routes;
pub mod store;
pub mod workflow;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
pub use entity::live_sessions::SessionStatus;

use self::generate::RotaConfig;
use crate::auth::Role;
pub use crate::clock::{local_date, parse_date};
use crate::clock::{local_to_utc, TIMEZONE};
use crate::config::RotaSettings;
use crate::error::{AppError, AppResult};

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
/// Admins act as the office there; the other roles by their own name.
pub fn appeal_actor_role(role: Role) -> &'static str {
    use entity::AsStr;
    match role {
        Role::Office | Role::Admin => Role::Office.as_str(),
        other => other.as_str(),
    }
}
