//! iCalendar (RFC 5545) export of a published rota, so leaders and the
//! public can subscribe from their calendar apps.

use chrono::{DateTime, Utc};

use super::SessionStatus;
use crate::clock::TIMEZONE;

const PRODID: &str = "-//minxin//Leader Duty Rota//ZH";
/// RFC 5545 §3.1: content lines SHOULD NOT exceed 75 octets, excluding CRLF.
const MAX_LINE_OCTETS: usize = 75;

/// One session in the exported feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcalEvent {
    /// Must stay the same across exports; see [`session_uid`].
    pub uid: String,
    /// Bump on every change so clients replace their copy.
    pub sequence: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    /// Cancelled sessions stay in the feed with STATUS:CANCELLED so clients
    /// that already have them remove or strike them out.
    pub cancelled: bool,
    pub last_modified: DateTime<Utc>,
}

/// Whether a session in this status is published as STATUS:CANCELLED: a cancelled one, and a
/// missed one (never started in its window). Neither took place, so neither may stay
/// CONFIRMED in a subscriber's calendar.
pub fn shown_cancelled(session_status: SessionStatus) -> bool {
    matches!(
        session_status,
        SessionStatus::Cancelled | SessionStatus::Missed
    )
}

/// Stable UID for a rota session: `rota-session-{id}@{domain}`.
pub fn session_uid(session_id: i64, domain: &str) -> String {
    format!("rota-session-{session_id}@{domain}")
}

/// Renders a complete VCALENDAR (CRLF line endings, folded at 75 octets).
/// Event times are written as Asia/Shanghai local times with a TZID and an
/// embedded VTIMEZONE; `now` becomes every event's DTSTAMP.
pub fn calendar(name: &str, events: &[IcalEvent], now: DateTime<Utc>) -> String {
    let tzid = TIMEZONE.name();
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        format!("PRODID:{PRODID}"),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", escape_text(name)),
        format!("X-WR-TIMEZONE:{tzid}"),
        // Shanghai has kept +0800 without DST since 1991, so one STANDARD
        // block describes every date a rota can have.
        "BEGIN:VTIMEZONE".into(),
        format!("TZID:{tzid}"),
        "BEGIN:STANDARD".into(),
        "DTSTART:19700101T000000".into(),
        "TZOFFSETFROM:+0800".into(),
        "TZOFFSETTO:+0800".into(),
        "TZNAME:CST".into(),
        "END:STANDARD".into(),
        "END:VTIMEZONE".into(),
    ];
    let stamp = utc_stamp(now);
    for event in events {
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!("UID:{}", escape_text(&event.uid)));
        lines.push(format!("DTSTAMP:{stamp}"));
        lines.push(format!(
            "DTSTART;TZID={tzid}:{}",
            local_stamp(event.starts_at)
        ));
        lines.push(format!("DTEND;TZID={tzid}:{}", local_stamp(event.ends_at)));
        lines.push(format!("SUMMARY:{}", escape_text(&event.summary)));
        if let Some(description) = &event.description {
            lines.push(format!("DESCRIPTION:{}", escape_text(description)));
        }
        if let Some(location) = &event.location {
            lines.push(format!("LOCATION:{}", escape_text(location)));
        }
        lines.push(format!("SEQUENCE:{}", event.sequence));
        lines.push(format!("LAST-MODIFIED:{}", utc_stamp(event.last_modified)));
        let status = if event.cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        };
        lines.push(format!("STATUS:{status}"));
        lines.push("END:VEVENT".into());
    }
    lines.push("END:VCALENDAR".into());

    let mut out = String::new();
    for line in &lines {
        fold_into(line, &mut out);
        out.push_str("\r\n");
    }
    out
}

fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local_stamp(t: DateTime<Utc>) -> String {
    t.with_timezone(&TIMEZONE)
        .format("%Y%m%dT%H%M%S")
        .to_string()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11). Any line break (CRLF, LF or CR)
/// becomes `\n`; other control characters, which TEXT forbids, are dropped.
fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` to `out`, folded so each physical line is at most 75
/// octets (continuations count their leading space), splitting only on
/// UTF-8 character boundaries.
fn fold_into(line: &str, out: &mut String) {
    let mut budget = MAX_LINE_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > budget {
            out.push_str("\r\n ");
            budget = MAX_LINE_OCTETS - 1;
            used = 0;
        }
        out.push(c);
        used += len;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventLike};

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    fn fold(line: &str) -> String {
        let mut out = String::new();
        fold_into(line, &mut out);
        out
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    const LONG_ZH: &str = "县委书记带班：听取群众关于农村公路养护、义务教育学位、医保报销、\
        宅基地审批等问题的诉求，并现场交办相关部门限期办理，办理结果向社会公开。";

    fn sample_events() -> Vec<IcalEvent> {
        vec![
            IcalEvent {
                uid: session_uid(42, "minxin.example.gov.cn"),
                sequence: 3,
                // 19:30–21:00 CST.
                starts_at: utc(2025, 10, 9, 11, 30),
                ends_at: utc(2025, 10, 9, 13, 0),
                summary: "民心夜谈：张县长接听群众来电".into(),
                description: Some(format!("{LONG_ZH}\n第二行; 含逗号, 反斜杠\\结束")),
                location: Some("县融媒体中心演播厅, 二楼".into()),
                cancelled: false,
                last_modified: utc(2025, 10, 1, 2, 3),
            },
            IcalEvent {
                uid: session_uid(43, "minxin.example.gov.cn"),
                sequence: 0,
                starts_at: utc(2025, 10, 14, 11, 30),
                ends_at: utc(2025, 10, 14, 13, 0),
                summary: "民心夜谈（取消）".into(),
                description: None,
                location: None,
                cancelled: true,
                last_modified: utc(2025, 10, 2, 0, 0),
            },
        ]
    }

    fn sample() -> String {
        calendar("民心夜谈值班表", &sample_events(), utc(2025, 10, 3, 4, 5))
    }

    #[test]
    fn sessions_that_did_not_take_place_are_cancelled() {
        for (status, cancelled) in [
            (SessionStatus::Scheduled, false),
            (SessionStatus::Live, false),
            (SessionStatus::Ended, false),
            (SessionStatus::Missed, true),
            (SessionStatus::Cancelled, true),
        ] {
            assert_eq!(shown_cancelled(status), cancelled, "{status}");
        }
    }

    #[test]
    fn uid_is_stable() {
        assert_eq!(session_uid(7, "a.b"), "rota-session-7@a.b");
        assert_eq!(session_uid(7, "a.b"), session_uid(7, "a.b"));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_text(r"a\b;c,d"), r"a\\b\;c\,d");
        assert_eq!(escape_text("x\ny\r\nz\rw"), r"x\ny\nz\nw");
        assert_eq!(escape_text("a\u{7}b\tc"), "ab\tc");
        assert_eq!(escape_text("中文：冒号不转义"), "中文：冒号不转义");
        let out = sample();
        assert!(unfold(&out).contains(r"第二行\; 含逗号\, 反斜杠\\结束"));
        assert!(unfold(&out).contains(r"LOCATION:县融媒体中心演播厅\, 二楼"));
    }

    #[test]
    fn folding_ascii_exact_boundaries() {
        let line75 = "A".repeat(75);
        assert_eq!(fold(&line75), line75);
        let line76 = "A".repeat(76);
        assert_eq!(fold(&line76), format!("{}\r\n A", "A".repeat(75)));
        let long = "B".repeat(75 + 74 + 1);
        let folded = fold(&long);
        let parts: Vec<&str> = folded.split("\r\n").collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [75, 75, 2]
        );
    }

    #[test]
    fn folding_chinese_never_splits_chars() {
        for prefix in ["", "X", "XY", "DESCRIPTION:"] {
            let line = format!("{prefix}{LONG_ZH}{LONG_ZH}");
            let folded = fold(&line);
            for physical in folded.split("\r\n") {
                // Each piece is valid UTF-8 by construction (it is a &str);
                // check the octet limit.
                assert!(
                    physical.len() <= 75,
                    "{} octets: {physical}",
                    physical.len()
                );
            }
            // Continuations should be filled to within one char of the limit.
            let parts: Vec<&str> = folded.split("\r\n").collect();
            assert!(parts.len() > 2);
            for p in &parts[..parts.len() - 1] {
                assert!(p.len() > 75 - 3, "under-filled: {}", p.len());
            }
            assert_eq!(unfold(&folded), line);
        }
    }

    #[test]
    fn whole_calendar_lines_are_crlf_and_short() {
        let out = sample();
        assert!(out.ends_with("END:VCALENDAR\r\n"));
        assert!(!out.replace("\r\n", "").contains('\n'));
        assert!(!out.replace("\r\n", "").contains('\r'));
        for line in out.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = unfold(&out);
        let lines: Vec<&str> = unfolded.split("\r\n").collect();
        for expected in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:民心夜谈值班表",
            "X-WR-TIMEZONE:Asia/Shanghai",
            "BEGIN:VTIMEZONE",
            "TZID:Asia/Shanghai",
            "BEGIN:STANDARD",
            "TZOFFSETFROM:+0800",
            "TZOFFSETTO:+0800",
            "DTSTART:19700101T000000",
            "TZNAME:CST",
            "UID:rota-session-42@minxin.example.gov.cn",
            "DTSTAMP:20251003T040500Z",
            "DTSTART;TZID=Asia/Shanghai:20251009T193000",
            "DTEND;TZID=Asia/Shanghai:20251009T210000",
            "SEQUENCE:3",
            "LAST-MODIFIED:20251001T020300Z",
            "STATUS:CONFIRMED",
            "STATUS:CANCELLED",
        ] {
            assert!(lines.contains(&expected), "missing {expected}\n{unfolded}");
        }
        assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
        assert_eq!(lines.iter().filter(|l| **l == "BEGIN:VEVENT").count(), 2);
        // The optional fields are absent on the second event.
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("LOCATION:")).count(),
            1
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("DESCRIPTION:"))
                .count(),
            1
        );
    }

    #[test]
    fn empty_calendar_is_valid() {
        let out = calendar("空", &[], utc(2025, 1, 1, 0, 0));
        let parsed: icalendar::Calendar = out.parse().unwrap();
        assert_eq!(parsed.get_name(), Some("空"));
        // Only the VTIMEZONE.
        assert_eq!(parsed.components.len(), 1);
        assert!(parsed.components.iter().all(|c| c.as_event().is_none()));
    }

    #[test]
    fn round_trip_with_icalendar_parser() {
        let out = sample();
        let parsed: icalendar::Calendar = out.parse().unwrap();
        assert_eq!(parsed.get_name(), Some("民心夜谈值班表"));
        assert_eq!(parsed.get_timezone(), Some("Asia/Shanghai"));

        let events: Vec<&icalendar::Event> = parsed
            .components
            .iter()
            .filter_map(|c| c.as_event())
            .collect();
        assert_eq!(events.len(), 2);

        let first = events[0];
        assert_eq!(
            first.get_uid(),
            Some("rota-session-42@minxin.example.gov.cn")
        );
        assert_eq!(first.get_summary(), Some("民心夜谈：张县长接听群众来电"));
        assert_eq!(
            first.get_description(),
            Some(format!("{LONG_ZH}\n第二行; 含逗号, 反斜杠\\结束").as_str())
        );
        assert_eq!(first.get_location(), Some("县融媒体中心演播厅, 二楼"));
        assert_eq!(first.get_sequence(), Some(3));
        assert_eq!(first.get_timestamp(), Some(utc(2025, 10, 3, 4, 5)));
        assert_eq!(first.get_last_modified(), Some(utc(2025, 10, 1, 2, 3)));
        assert_eq!(first.get_status(), Some(icalendar::EventStatus::Confirmed));
        let tz = |date_time| {
            Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
                date_time,
                tzid: "Asia/Shanghai".into(),
            }))
        };
        assert_eq!(first.get_start(), tz(local(2025, 10, 9, 19, 30)));
        assert_eq!(first.get_end(), tz(local(2025, 10, 9, 21, 0)));

        let second = events[1];
        assert_eq!(
            second.get_uid(),
            Some("rota-session-43@minxin.example.gov.cn")
        );
        assert_eq!(second.get_summary(), Some("民心夜谈（取消）"));
        assert_eq!(second.get_status(), Some(icalendar::EventStatus::Cancelled));
        assert_eq!(second.get_description(), None);
        assert_eq!(second.get_start(), tz(local(2025, 10, 14, 19, 30)));
        assert_eq!(second.get_end(), tz(local(2025, 10, 14, 21, 0)));
    }
}
