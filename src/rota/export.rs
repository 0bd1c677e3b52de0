//! Exports of the published rota: iCalendar for calendar apps (stable UIDs, SEQUENCE bumped on
//! every change, cancelled sessions kept as STATUS:CANCELLED so subscribers update rather than
//! duplicate) and CSV for spreadsheets.
use chrono::{Datelike, Duration, NaiveDate};
use entity::live_sessions;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ical::{self, IcalEvent};
use super::leaders::LeaderView;
use super::queries::views;
use super::{date_str, local_date, parse_date, weekday_name};
use crate::error::AppResult;
use crate::state::AppState;

pub const CALENDAR_NAME: &str = "干群直通车值班表";
/// Past sessions kept in the exports by default.
pub const DEFAULT_PAST_DAYS: i64 = 90;

#[derive(Deserialize, IntoParams)]
pub struct ExportQuery {
    /// First local date `YYYY-MM-DD`; by default 90 days ago.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last local date `YYYY-MM-DD`; by default no limit.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

async fn published(state: &AppState, q: &ExportQuery) -> AppResult<Vec<live_sessions::Model>> {
    let from: NaiveDate = match &q.from {
        Some(f) => parse_date("from", f)?,
        None => local_date(state.clock.now() - Duration::days(DEFAULT_PAST_DAYS)),
    };
    let mut find = live_sessions::Entity::find()
        .filter(live_sessions::Column::PublishedAt.is_not_null())
        .filter(live_sessions::Column::LocalDate.gte(date_str(from)))
        .order_by_asc(live_sessions::Column::StartsAt)
        .order_by_asc(live_sessions::Column::Id);
    if let Some(t) = &q.to {
        find = find.filter(live_sessions::Column::LocalDate.lte(date_str(parse_date("to", t)?)));
    }
    Ok(find.all(&state.db).await?)
}

fn who(l: &Option<LeaderView>) -> String {
    match l {
        Some(l) => format!("{}（{}）", l.display_name, l.title),
        None => "待定".into(),
    }
}

pub async fn icalendar(state: &AppState, q: &ExportQuery) -> AppResult<String> {
    let sessions = published(state, q).await?;
    let stamps: Vec<(i64, i32, chrono::DateTime<chrono::Utc>)> = sessions
        .iter()
        .map(|s| (s.id, s.sequence, s.updated_at))
        .collect();
    let shown = views(&state.db, sessions, None, false).await?;
    let domain = &state.settings.rota.ical_domain;
    let events: Vec<IcalEvent> = shown
        .iter()
        .zip(stamps)
        .map(|(v, (id, sequence, updated_at))| IcalEvent {
            uid: ical::session_uid(id, domain),
            sequence: u32::try_from(sequence).unwrap_or(0),
            starts_at: v.starts_at,
            ends_at: v.ends_at,
            summary: format!("干群直通车：{}", who(&v.leader)),
            // Nothing that changes without a SEQUENCE bump (like registration counts).
            description: Some(format!("县级领导 {} 在线接听群众诉求。", who(&v.leader))),
            location: None,
            cancelled: ical::shown_cancelled(v.status),
            last_modified: updated_at,
        })
        .collect();
    Ok(ical::calendar(CALENDAR_NAME, &events, state.clock.now()))
}

/// One CSV field (RFC 4180), with a leading `'` on text a spreadsheet would run as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub const CSV_HEADER: &str =
    "session_id,date,weekday,start,end,leader,title,status,registrations,sequence";

/// UTF-8 with a byte-order mark, so that Excel and WPS read the Chinese names correctly.
pub async fn csv(state: &AppState, q: &ExportQuery) -> AppResult<String> {
    let sessions = published(state, q).await?;
    let seqs: Vec<i32> = sessions.iter().map(|s| s.sequence).collect();
    let shown = views(&state.db, sessions, None, false).await?;
    let mut out = String::from("\u{feff}");
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for (v, seq) in shown.iter().zip(seqs) {
        let local = local_date(v.starts_at);
        let row = [
            v.id.to_string(),
            v.date.clone(),
            weekday_name(local.weekday()).to_string(),
            v.start.clone(),
            v.end.clone(),
            v.leader
                .as_ref()
                .map(|l| l.display_name.clone())
                .unwrap_or_default(),
            v.leader
                .as_ref()
                .map(|l| l.title.clone())
                .unwrap_or_default(),
            v.status.to_string(),
            v.registrations.to_string(),
            seq.to_string(),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(super::field("张明"), "张明");
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(super::field("-1"), "'-1");
    }
}
