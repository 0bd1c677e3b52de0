//! Working-day arithmetic for Asia/Shanghai.
//!
//! A working day is Monday–Friday, minus public holidays, plus adjusted
//! working weekends (调休). Holidays and adjusted workdays are data, loaded
//! with [`parse_csv`] / [`WorkCalendar::from_csv`]; nothing is hard-coded.
//! Dates not listed in the calendar fall back to the plain Mon–Fri rule, so
//! an empty calendar is a plain Mon–Fri calendar.

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use chrono::{
    DateTime, Datelike, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc, Weekday,
};
use serde::{Deserialize, Serialize};

/// Time zone in which working days and deadlines are reckoned: the county's.
pub use crate::clock::TIMEZONE;

/// End of business (local time). An appeal accepted on a working day strictly
/// before this time starts its clock that day; at or after it, the next
/// working day.
pub const END_OF_BUSINESS: NaiveTime = match NaiveTime::from_hms_opt(17, 30, 0) {
    Some(t) => t,
    None => panic!("END_OF_BUSINESS is not a valid time"),
};

/// Local time at which a deadline day ends.
pub const END_OF_DAY: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
    Some(t) => t,
    None => panic!("END_OF_DAY is not a valid time"),
};

pub use entity::calendar_days::DayKind;

/// One row of a holiday calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// Human-readable label, e.g. "Spring Festival"; may be empty.
    pub name: String,
}

/// A Mon–Fri week with listed exceptions (holidays and adjusted workdays).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    // Ordered so `working_days_between` can scan only the exceptions in range.
    overrides: BTreeMap<NaiveDate, DayKind>,
}

impl WorkCalendar {
    /// Builds a calendar from listed days. If a date appears more than once,
    /// the last entry wins ([`parse_csv`] rejects such conflicts up front).
    pub fn new(days: impl IntoIterator<Item = CalendarDay>) -> Self {
        Self {
            overrides: days.into_iter().map(|d| (d.date, d.kind)).collect(),
        }
    }

    /// Parses a `date,kind,name` CSV (see [`parse_csv`]) into a calendar.
    pub fn from_csv(text: &str) -> Result<Self, CalendarCsvError> {
        parse_csv(text).map(Self::new)
    }

    /// The listed kind of `date`, if the calendar has an entry for it.
    pub fn kind_of(&self, date: NaiveDate) -> Option<DayKind> {
        self.overrides.get(&date).copied()
    }

    /// Whether any holiday of `year` is listed: without one, the year's public holidays are
    /// simply unknown, not absent (every year has some).
    pub fn has_holidays_in(&self, year: i32) -> bool {
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            return false;
        };
        self.overrides
            .range(first..=last)
            .any(|(_, kind)| *kind == DayKind::Holiday)
    }

    /// True for Mon–Fri that are not holidays, and for adjusted workdays.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.kind_of(date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !is_weekend(date),
        }
    }

    /// `date` itself if it is a working day, else the first working day after it.
    /// Saturates at [`NaiveDate::MAX`].
    pub fn next_working_day_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_working_day(day) {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        day
    }

    /// The `n`th working day strictly after `start` (`start` itself is never
    /// counted, whether or not it is a working day). `n == 0` returns `start`.
    /// Saturates at [`NaiveDate::MAX`].
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut remaining = n;
        while remaining > 0 {
            let Some(next) = day.succ_opt() else {
                return day;
            };
            day = next;
            if self.is_working_day(day) {
                remaining -= 1;
            }
        }
        day
    }

    /// Number of working days in the half-open interval `(from, to]`.
    ///
    /// Returns 0 if `from == to`. If `to < from` the result is the negated
    /// count of working days in `(to, from]`, so the function is antisymmetric
    /// and `working_days_between(s, add_working_days(s, n)) == n`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        match from.cmp(&to) {
            Ordering::Equal => 0,
            Ordering::Less => self.count_working_days(from, to),
            Ordering::Greater => -self.count_working_days(to, from),
        }
    }

    // Counts working days in (from, to] in O(exceptions in range) rather than
    // O(days): plain weekdays by formula, then correct for listed exceptions.
    fn count_working_days(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let weekdays = weekday_prefix(to) - weekday_prefix(from);
        let adjustment: i64 = self
            .overrides
            .range((Bound::Excluded(from), Bound::Included(to)))
            .map(|(date, kind)| match (kind, is_weekend(*date)) {
                (DayKind::Holiday, false) => -1,
                (DayKind::Workday, true) => 1,
                _ => 0,
            })
            .sum();
        weekdays + adjustment
    }

    /// "Day 0" of an appeal's clock: the local (Asia/Shanghai) acceptance date
    /// if it is a working day and the appeal was accepted strictly before
    /// [`END_OF_BUSINESS`]; otherwise the first working day after that date.
    pub fn clock_start_day(&self, accepted_at: DateTime<Utc>) -> NaiveDate {
        let local = accepted_at.with_timezone(&TIMEZONE);
        let date = local.date_naive();
        if self.is_working_day(date) && local.time() < END_OF_BUSINESS {
            date
        } else {
            date.succ_opt()
                .map_or(date, |next| self.next_working_day_on_or_after(next))
        }
    }

    /// Deadline for handling an appeal within `working_days` working days.
    ///
    /// Rule: day 0 is the acceptance date in Asia/Shanghai if it is a working
    /// day and the appeal was accepted before 17:30 ([`END_OF_BUSINESS`]);
    /// otherwise (after hours, or on a weekend/holiday) day 0 is the next
    /// working day. The deadline is 23:59:59 Asia/Shanghai on the
    /// `working_days`th working day after day 0, returned in UTC.
    ///
    /// Examples with a 1-working-day limit: accepted Monday 10:00 → due
    /// Tuesday 23:59:59; accepted Friday 18:00 (day 0 = Monday) → due
    /// Tuesday 23:59:59. With `working_days == 0` the deadline is the end
    /// of day 0.
    pub fn deadline_for(&self, accepted_at: DateTime<Utc>, working_days: u32) -> DateTime<Utc> {
        let day0 = self.clock_start_day(accepted_at);
        let due = self.add_working_days(day0, working_days);
        deadline_instant(due.and_time(END_OF_DAY))
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

// Number of Mon–Fri days from a fixed epoch up to and including `date`; only
// differences are meaningful. 0001-01-01 (day 1 from CE) was a Monday.
fn weekday_prefix(date: NaiveDate) -> i64 {
    let days = i64::from(date.num_days_from_ce());
    days.div_euclid(7) * 5 + days.rem_euclid(7).min(5)
}

fn deadline_instant(local: NaiveDateTime) -> DateTime<Utc> {
    match crate::clock::local_to_utc(local) {
        MappedLocalTime::Single(t) => t,
        // Later instant gives the citizen the benefit of the doubt.
        MappedLocalTime::Ambiguous(_, later) => later,
        // Shanghai has had no DST since 1991; kept total rather than panicking.
        MappedLocalTime::None => {
            let offset = TIMEZONE.offset_from_utc_datetime(&local).fix();
            let utc = local
                .checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))
                .unwrap_or(local);
            Utc.from_utc_datetime(&utc)
        }
    }
}

/// Errors from [`parse_csv`]. Line numbers are 1-based physical lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarCsvError {
    #[error("calendar CSV has no header line (expected `date,kind,name`)")]
    MissingHeader,
    #[error("line {line}: expected header `date,kind,name`, found `{found}`")]
    BadHeader { line: usize, found: String },
    #[error("line {line}: missing or empty column `{column}`")]
    MissingColumn { line: usize, column: &'static str },
    #[error("line {line}: bad date `{value}` (expected YYYY-MM-DD)")]
    BadDate { line: usize, value: String },
    #[error("line {line}: unknown kind `{value}` (expected `holiday` or `workday`)")]
    UnknownKind { line: usize, value: String },
    #[error(
        "line {line}: {date} is listed as {kind}, but line {first_line} lists it as {first_kind}"
    )]
    ConflictingDuplicate {
        line: usize,
        date: NaiveDate,
        kind: DayKind,
        first_line: usize,
        first_kind: DayKind,
    },
}

/// Parses a holiday calendar CSV.
///
/// Format: a header line `date,kind,name`, then one row per date:
/// `YYYY-MM-DD,holiday|workday,name`. All three columns are required, but
/// `name` may be empty; since it is the last column it may contain commas.
/// Quoting is not supported. Fields are trimmed; blank lines, lines starting
/// with `#`, a leading UTF-8 BOM and CRLF line endings are tolerated. A date
/// repeated with the same kind is kept once (first occurrence); repeated
/// with a different kind it is an error. A file with a header and no rows is
/// valid; a file with no header is not.
pub fn parse_csv(text: &str) -> Result<Vec<CalendarDay>, CalendarCsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut header_seen = false;
    let mut first_seen: HashMap<NaiveDate, (usize, DayKind)> = HashMap::new();
    let mut days = Vec::new();

    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if !header_seen {
            let columns: Vec<&str> = content.split(',').map(str::trim).collect();
            if columns != ["date", "kind", "name"] {
                return Err(CalendarCsvError::BadHeader {
                    line,
                    found: content.to_owned(),
                });
            }
            header_seen = true;
            continue;
        }

        let mut fields = content.splitn(3, ',').map(str::trim);
        let date_text = required(fields.next(), line, "date")?;
        let kind_text = required(fields.next(), line, "kind")?;
        let name = fields.next().ok_or(CalendarCsvError::MissingColumn {
            line,
            column: "name",
        })?;

        let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").map_err(|_| {
            CalendarCsvError::BadDate {
                line,
                value: date_text.to_owned(),
            }
        })?;
        let kind = kind_text
            .parse::<DayKind>()
            .map_err(|_| CalendarCsvError::UnknownKind {
                line,
                value: kind_text.to_owned(),
            })?;

        match first_seen.entry(date) {
            Entry::Occupied(entry) => {
                let (first_line, first_kind) = *entry.get();
                if first_kind != kind {
                    return Err(CalendarCsvError::ConflictingDuplicate {
                        line,
                        date,
                        kind,
                        first_line,
                        first_kind,
                    });
                }
            }
            Entry::Vacant(entry) => {
                entry.insert((line, kind));
                days.push(CalendarDay {
                    date,
                    kind,
                    name: name.to_owned(),
                });
            }
        }
    }

    if header_seen {
        Ok(days)
    } else {
        Err(CalendarCsvError::MissingHeader)
    }
}

fn required<'a>(
    field: Option<&'a str>,
    line: usize,
    column: &'static str,
) -> Result<&'a str, CalendarCsvError> {
    match field {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(CalendarCsvError::MissingColumn { line, column }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;

    const CN_CSV: &str = include_str!("../../tests/data/cn-2025-2026.csv");

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cn() -> WorkCalendar {
        WorkCalendar::from_csv(CN_CSV).unwrap()
    }

    /// An instant given in Asia/Shanghai local time.
    fn sh(y: i32, m: u32, day: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        TIMEZONE
            .with_ymd_and_hms(y, m, day, h, min, s)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    /// End of the given local day, in UTC.
    fn due(y: i32, m: u32, day: u32) -> DateTime<Utc> {
        sh(y, m, day, 23, 59, 59)
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn days_in(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
        from.iter_days().take_while(move |x| *x <= to)
    }

    // --- fixture ---------------------------------------------------------

    #[test]
    fn fixture_parses_with_expected_shape() {
        let days = parse_csv(CN_CSV).unwrap();
        assert_eq!(days.len(), 72);
        let workdays = days.iter().filter(|x| x.kind == DayKind::Workday).count();
        assert_eq!(workdays, 11);
        assert_eq!(days.len() - workdays, 61);
        assert_eq!(
            days[0],
            CalendarDay {
                date: d(2025, 1, 1),
                kind: DayKind::Holiday,
                name: "New Year's Day".to_owned(),
            }
        );
    }

    #[test]
    fn fixture_adjusted_workdays_are_all_weekends() {
        for day in parse_csv(CN_CSV).unwrap() {
            if day.kind == DayKind::Workday {
                assert!(is_weekend(day.date), "{} is not a weekend", day.date);
            }
        }
    }

    // --- National Day / Mid-Autumn 2025 ----------------------------------

    #[test]
    fn national_day_2025_block_membership() {
        let cal = cn();
        for date in days_in(d(2025, 10, 1), d(2025, 10, 8)) {
            assert_eq!(cal.kind_of(date), Some(DayKind::Holiday), "{date}");
            assert!(!cal.is_working_day(date), "{date}");
        }
        // Sun 28 Sep and Sat 11 Oct are adjusted workdays.
        assert_eq!(d(2025, 9, 28).weekday(), Weekday::Sun);
        assert_eq!(d(2025, 10, 11).weekday(), Weekday::Sat);
        assert!(cal.is_working_day(d(2025, 9, 28)));
        assert!(cal.is_working_day(d(2025, 10, 11)));
        // Neighbours follow the plain rule.
        assert!(!cal.is_working_day(d(2025, 9, 27)));
        assert!(cal.is_working_day(d(2025, 9, 30)));
        assert!(cal.is_working_day(d(2025, 10, 9)));
        assert!(!cal.is_working_day(d(2025, 10, 12)));
    }

    #[test]
    fn national_day_2025_arithmetic() {
        let cal = cn();
        assert_eq!(cal.add_working_days(d(2025, 9, 26), 1), d(2025, 9, 28));
        assert_eq!(cal.add_working_days(d(2025, 9, 30), 1), d(2025, 10, 9));
        assert_eq!(cal.add_working_days(d(2025, 9, 30), 3), d(2025, 10, 11));
        assert_eq!(cal.add_working_days(d(2025, 9, 30), 4), d(2025, 10, 13));
        assert_eq!(
            cal.next_working_day_on_or_after(d(2025, 10, 1)),
            d(2025, 10, 9)
        );
        assert_eq!(
            cal.next_working_day_on_or_after(d(2025, 9, 28)),
            d(2025, 9, 28)
        );
        assert_eq!(cal.working_days_between(d(2025, 9, 30), d(2025, 10, 12)), 3);
        assert_eq!(cal.working_days_between(d(2025, 9, 26), d(2025, 10, 8)), 3);
    }

    #[test]
    fn seven_day_deadline_spanning_national_day_2025() {
        // Fri 26 Sep 10:00 → day 0 = 26 Sep; then 28, 29, 30 Sep, 9, 10, 11, 13 Oct.
        assert_eq!(
            cn().deadline_for(sh(2025, 9, 26, 10, 0, 0), 7),
            due(2025, 10, 13)
        );
    }

    // --- Spring Festival 2026 --------------------------------------------

    #[test]
    fn spring_festival_2026_block_membership() {
        let cal = cn();
        for date in days_in(d(2026, 2, 15), d(2026, 2, 23)) {
            assert!(!cal.is_working_day(date), "{date}");
        }
        assert_eq!(d(2026, 2, 14).weekday(), Weekday::Sat);
        assert_eq!(d(2026, 2, 28).weekday(), Weekday::Sat);
        assert!(cal.is_working_day(d(2026, 2, 14)));
        assert!(cal.is_working_day(d(2026, 2, 28)));
        assert!(cal.is_working_day(d(2026, 2, 13)));
        assert!(cal.is_working_day(d(2026, 2, 24)));
        assert!(!cal.is_working_day(d(2026, 3, 1)));
    }

    #[test]
    fn spring_festival_2026_arithmetic() {
        let cal = cn();
        assert_eq!(cal.add_working_days(d(2026, 2, 13), 1), d(2026, 2, 14));
        assert_eq!(cal.add_working_days(d(2026, 2, 14), 1), d(2026, 2, 24));
        assert_eq!(cal.add_working_days(d(2026, 2, 14), 5), d(2026, 2, 28));
        assert_eq!(cal.add_working_days(d(2026, 2, 14), 6), d(2026, 3, 2));
        assert_eq!(cal.working_days_between(d(2026, 2, 13), d(2026, 3, 1)), 6);
        assert_eq!(cal.working_days_between(d(2026, 3, 1), d(2026, 2, 13)), -6);
    }

    #[test]
    fn spring_festival_2026_deadlines() {
        let cal = cn();
        // Accepted on the adjusted Saturday, in hours: day 0 = 14 Feb.
        assert_eq!(
            cal.deadline_for(sh(2026, 2, 14, 10, 0, 0), 1),
            due(2026, 2, 24)
        );
        // Same Saturday after hours: day 0 = 24 Feb.
        assert_eq!(
            cal.deadline_for(sh(2026, 2, 14, 18, 0, 0), 1),
            due(2026, 2, 25)
        );
        // Accepted mid-holiday: day 0 = 24 Feb.
        assert_eq!(
            cal.deadline_for(sh(2026, 2, 17, 9, 0, 0), 3),
            due(2026, 2, 27)
        );
        assert_eq!(
            cal.deadline_for(sh(2026, 2, 17, 9, 0, 0), 7),
            due(2026, 3, 4)
        );
    }

    // --- year end ----------------------------------------------------------

    #[test]
    fn year_end_2025_into_2026() {
        let cal = cn();
        for date in days_in(d(2026, 1, 1), d(2026, 1, 3)) {
            assert!(!cal.is_working_day(date), "{date}");
        }
        // Sun 4 Jan 2026 is an adjusted workday.
        assert_eq!(d(2026, 1, 4).weekday(), Weekday::Sun);
        assert!(cal.is_working_day(d(2026, 1, 4)));
        assert_eq!(cal.add_working_days(d(2025, 12, 31), 1), d(2026, 1, 4));
        assert_eq!(cal.add_working_days(d(2025, 12, 31), 2), d(2026, 1, 5));
        assert_eq!(cal.working_days_between(d(2025, 12, 31), d(2026, 1, 5)), 2);

        assert_eq!(
            cal.deadline_for(sh(2025, 12, 31, 10, 0, 0), 1),
            due(2026, 1, 4)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 12, 31, 10, 0, 0), 3),
            due(2026, 1, 6)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 12, 31, 18, 0, 0), 1),
            due(2026, 1, 5)
        );
        // The returned instant is 23:59:59 +08:00, i.e. 15:59:59Z.
        assert_eq!(
            cal.deadline_for(utc("2025-12-31T02:00:00Z"), 1),
            utc("2026-01-04T15:59:59Z")
        );
    }

    // --- deadline rule -----------------------------------------------------

    #[test]
    fn deadlines_of_1_3_7_days_in_a_plain_week() {
        let cal = cn();
        let monday_10 = sh(2025, 11, 10, 10, 0, 0);
        assert_eq!(cal.deadline_for(monday_10, 0), due(2025, 11, 10));
        assert_eq!(cal.deadline_for(monday_10, 1), due(2025, 11, 11));
        assert_eq!(cal.deadline_for(monday_10, 3), due(2025, 11, 13));
        assert_eq!(cal.deadline_for(monday_10, 7), due(2025, 11, 19));
    }

    #[test]
    fn friday_after_hours_starts_monday() {
        let cal = cn();
        let friday_18 = sh(2025, 11, 14, 18, 0, 0);
        assert_eq!(cal.clock_start_day(friday_18), d(2025, 11, 17));
        assert_eq!(cal.deadline_for(friday_18, 1), due(2025, 11, 18));
        assert_eq!(cal.deadline_for(friday_18, 3), due(2025, 11, 20));
        assert_eq!(cal.deadline_for(friday_18, 7), due(2025, 11, 26));
    }

    #[test]
    fn end_of_business_boundary() {
        let cal = cn();
        assert_eq!(
            cal.clock_start_day(sh(2025, 11, 10, 17, 29, 59)),
            d(2025, 11, 10)
        );
        assert_eq!(
            cal.clock_start_day(sh(2025, 11, 10, 17, 30, 0)),
            d(2025, 11, 11)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 11, 10, 17, 29, 59), 1),
            due(2025, 11, 11)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 11, 10, 17, 30, 0), 1),
            due(2025, 11, 12)
        );
        // Early morning counts as "before end of business".
        assert_eq!(
            cal.clock_start_day(sh(2025, 11, 10, 0, 0, 0)),
            d(2025, 11, 10)
        );
    }

    #[test]
    fn after_hours_before_a_holiday_block() {
        // Tue 30 Sep 2025 17:30 → day 0 skips the holidays to Thu 9 Oct.
        let cal = cn();
        assert_eq!(
            cal.deadline_for(sh(2025, 9, 30, 10, 0, 0), 1),
            due(2025, 10, 9)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 9, 30, 17, 30, 0), 1),
            due(2025, 10, 10)
        );
    }

    #[test]
    fn acceptance_is_judged_in_shanghai_time_not_utc() {
        let cal = cn();
        // Sun 9 Nov 16:30Z = Mon 10 Nov 00:30 local: a Monday acceptance.
        let at = utc("2025-11-09T16:30:00Z");
        assert_eq!(cal.clock_start_day(at), d(2025, 11, 10));
        assert_eq!(cal.deadline_for(at, 1), utc("2025-11-11T15:59:59Z"));
        // Mon 10 Nov 09:30Z = 17:30 local: after hours despite the UTC clock.
        assert_eq!(
            cal.clock_start_day(utc("2025-11-10T09:30:00Z")),
            d(2025, 11, 11)
        );
    }

    #[test]
    fn acceptance_on_adjusted_workday_saturday() {
        let cal = cn();
        // Sat 11 Oct 2025 is a workday: clock starts that day.
        assert_eq!(
            cal.clock_start_day(sh(2025, 10, 11, 10, 0, 0)),
            d(2025, 10, 11)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 10, 11, 10, 0, 0), 1),
            due(2025, 10, 13)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 10, 11, 18, 0, 0), 1),
            due(2025, 10, 14)
        );
        // Sun 28 Sep 2025 likewise.
        assert_eq!(
            cal.deadline_for(sh(2025, 9, 28, 9, 0, 0), 1),
            due(2025, 9, 29)
        );
    }

    #[test]
    fn acceptance_on_ordinary_saturday() {
        let cal = cn();
        assert_eq!(
            cal.clock_start_day(sh(2025, 11, 15, 10, 0, 0)),
            d(2025, 11, 17)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 11, 15, 10, 0, 0), 1),
            due(2025, 11, 18)
        );
    }

    #[test]
    fn acceptance_on_a_holiday() {
        let cal = cn();
        let at = sh(2025, 10, 3, 10, 0, 0);
        assert_eq!(cal.clock_start_day(at), d(2025, 10, 9));
        assert_eq!(cal.deadline_for(at, 1), due(2025, 10, 10));
        assert_eq!(cal.deadline_for(at, 3), due(2025, 10, 13));
        assert_eq!(cal.deadline_for(at, 7), due(2025, 10, 17));
        // New Year's Day 2026 → day 0 = Sun 4 Jan.
        assert_eq!(
            cal.deadline_for(sh(2026, 1, 1, 9, 0, 0), 1),
            due(2026, 1, 5)
        );
    }

    // --- working_days_between ----------------------------------------------

    #[test]
    fn working_days_between_basics() {
        let cal = cn();
        let mon = d(2025, 11, 10);
        assert_eq!(cal.working_days_between(mon, mon), 0);
        assert_eq!(cal.working_days_between(mon, d(2025, 11, 11)), 1);
        assert_eq!(cal.working_days_between(mon, d(2025, 11, 17)), 5);
        assert_eq!(cal.working_days_between(d(2025, 11, 17), mon), -5);
        // Sat → Sun: nothing in (Sat, Sun].
        assert_eq!(
            cal.working_days_between(d(2025, 11, 15), d(2025, 11, 16)),
            0
        );
        // Whole fixture years.
        assert_eq!(
            cal.working_days_between(d(2024, 12, 31), d(2025, 12, 31)),
            248
        );
        assert_eq!(
            cal.working_days_between(d(2025, 12, 31), d(2026, 12, 31)),
            248
        );
    }

    #[test]
    fn working_days_between_matches_day_by_day_count() {
        for cal in [cn(), WorkCalendar::default()] {
            let first = d(2024, 12, 1);
            let last = d(2027, 1, 31);
            // prefix[i] = working days in (first, first + i]
            let mut prefix = vec![0i64];
            for date in days_in(first.succ_opt().unwrap(), last) {
                let prev = *prefix.last().unwrap();
                prefix.push(prev + i64::from(cal.is_working_day(date)));
            }
            let all: Vec<NaiveDate> = days_in(first, last).collect();
            for (i, from) in all.iter().enumerate().step_by(5) {
                for (j, to) in all.iter().enumerate() {
                    let expected = prefix[j] - prefix[i];
                    assert_eq!(
                        cal.working_days_between(*from, *to),
                        expected,
                        "{from}..{to}"
                    );
                }
            }
        }
    }

    #[test]
    fn add_and_between_are_inverse() {
        let cal = cn();
        for start in days_in(d(2024, 12, 20), d(2027, 1, 10)) {
            for n in 0..=10u32 {
                let end = cal.add_working_days(start, n);
                assert_eq!(cal.working_days_between(start, end), i64::from(n));
                if n > 0 {
                    assert!(cal.is_working_day(end), "{start} + {n} = {end}");
                }
            }
        }
    }

    #[test]
    fn weekday_counting_works_before_the_common_era() {
        let cal = WorkCalendar::default();
        let from = NaiveDate::from_ymd_opt(-3, 1, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(3, 1, 1).unwrap();
        let brute = days_in(from.succ_opt().unwrap(), to)
            .filter(|x| !is_weekend(*x))
            .count();
        assert_eq!(
            cal.working_days_between(from, to),
            i64::try_from(brute).unwrap()
        );
    }

    // --- empty calendar ------------------------------------------------------

    #[test]
    fn empty_calendar_is_plain_monday_to_friday() {
        let cal = WorkCalendar::new(Vec::new());
        assert_eq!(cal, WorkCalendar::default());
        // 1 Oct 2025 is a Wednesday: working without holiday data.
        assert!(cal.is_working_day(d(2025, 10, 1)));
        assert!(!cal.is_working_day(d(2025, 10, 11)));
        assert_eq!(cal.add_working_days(d(2025, 10, 3), 1), d(2025, 10, 6));
        assert_eq!(
            cal.next_working_day_on_or_after(d(2025, 10, 4)),
            d(2025, 10, 6)
        );
        assert_eq!(cal.working_days_between(d(2025, 10, 3), d(2025, 10, 13)), 6);
        assert_eq!(
            cal.deadline_for(sh(2025, 10, 3, 18, 0, 0), 1),
            due(2025, 10, 7)
        );
        assert_eq!(
            cal.deadline_for(sh(2025, 10, 1, 10, 0, 0), 3),
            due(2025, 10, 6)
        );
    }

    #[test]
    fn later_entries_override_earlier_in_new() {
        let day = |kind| CalendarDay {
            date: d(2025, 11, 10),
            kind,
            name: String::new(),
        };
        let cal = WorkCalendar::new([day(DayKind::Holiday), day(DayKind::Workday)]);
        assert_eq!(cal.kind_of(d(2025, 11, 10)), Some(DayKind::Workday));
    }

    #[test]
    fn saturates_at_max_date() {
        let cal = WorkCalendar::default();
        let max = NaiveDate::MAX;
        assert!(cal.add_working_days(max, 3) <= max);
        assert_eq!(cal.next_working_day_on_or_after(max), max);
    }

    // --- serde ---------------------------------------------------------------

    #[test]
    fn day_kind_serde_names_are_snake_case() {
        let de: StrDeserializer<'_, DeError> = "workday".into_deserializer();
        assert_eq!(DayKind::deserialize(de).unwrap(), DayKind::Workday);
        let de: StrDeserializer<'_, DeError> = "holiday".into_deserializer();
        assert_eq!(DayKind::deserialize(de).unwrap(), DayKind::Holiday);
        let de: StrDeserializer<'_, DeError> = "Holiday".into_deserializer();
        assert!(DayKind::deserialize(de).is_err());
        assert_eq!(DayKind::Holiday.to_string(), "holiday");
    }

    // --- CSV parsing ---------------------------------------------------------

    #[test]
    fn csv_tolerates_comments_blanks_crlf_bom_and_whitespace() {
        let text = "\u{feff}# calendar\r\n\r\ndate,kind,name\r\n# note\r\n  \r\n\
                    2025-10-01 , holiday , National Day \r\n\
                    2025-10-11,workday,\r\n\
                    2025-10-01,holiday,again\r\n\
                    2026-01-01,holiday,New Year, observed\r";
        let days = parse_csv(text).unwrap();
        assert_eq!(
            days,
            vec![
                CalendarDay {
                    date: d(2025, 10, 1),
                    kind: DayKind::Holiday,
                    name: "National Day".to_owned(),
                },
                CalendarDay {
                    date: d(2025, 10, 11),
                    kind: DayKind::Workday,
                    name: String::new(),
                },
                CalendarDay {
                    date: d(2026, 1, 1),
                    kind: DayKind::Holiday,
                    name: "New Year, observed".to_owned(),
                },
            ]
        );
    }

    #[test]
    fn csv_header_only_is_empty_calendar() {
        assert_eq!(parse_csv("date,kind,name\n").unwrap(), Vec::new());
    }

    #[test]
    fn csv_error_missing_header() {
        assert_eq!(parse_csv(""), Err(CalendarCsvError::MissingHeader));
        assert_eq!(
            parse_csv("# only a comment\n\n"),
            Err(CalendarCsvError::MissingHeader)
        );
    }

    #[test]
    fn csv_error_bad_header() {
        let err = parse_csv("# c\ndate,type,name\n2025-01-01,holiday,x\n").unwrap_err();
        assert_eq!(
            err,
            CalendarCsvError::BadHeader {
                line: 2,
                found: "date,type,name".to_owned(),
            }
        );
        assert!(err.to_string().contains("line 2"), "{err}");
        // A data row where the header should be is also rejected.
        assert!(matches!(
            parse_csv("2025-01-01,holiday,x\n"),
            Err(CalendarCsvError::BadHeader { line: 1, .. })
        ));
    }

    #[test]
    fn csv_error_bad_date() {
        for bad in ["2025-13-01", "2025/01/01", "2025-02-30", "yesterday"] {
            let text = format!("date,kind,name\n2025-01-01,holiday,x\n{bad},holiday,y\n");
            let err = parse_csv(&text).unwrap_err();
            assert_eq!(
                err,
                CalendarCsvError::BadDate {
                    line: 3,
                    value: bad.to_owned(),
                }
            );
            assert!(err.to_string().contains("line 3"), "{err}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn csv_error_unknown_kind() {
        for bad in ["holidy", "Holiday", "weekend"] {
            let text = format!("date,kind,name\n2025-01-01,{bad},x\n");
            let err = parse_csv(&text).unwrap_err();
            assert_eq!(
                err,
                CalendarCsvError::UnknownKind {
                    line: 2,
                    value: bad.to_owned(),
                }
            );
            assert!(err.to_string().contains("line 2"), "{err}");
        }
    }

    #[test]
    fn csv_error_missing_column() {
        let cases = [
            ("2025-01-01", "kind"),
            ("2025-01-01,holiday", "name"),
            ("2025-01-01,,x", "kind"),
            (",holiday,x", "date"),
        ];
        for (row, column) in cases {
            let text = format!("date,kind,name\n{row}\n");
            let err = parse_csv(&text).unwrap_err();
            assert_eq!(
                err,
                CalendarCsvError::MissingColumn { line: 2, column },
                "{row}"
            );
            assert!(err.to_string().contains("line 2"), "{err}");
            assert!(err.to_string().contains(column), "{err}");
        }
    }

    #[test]
    fn csv_error_conflicting_duplicate() {
        let text = "date,kind,name\n2025-10-11,workday,a\n\n2025-10-11,holiday,b\n";
        let err = parse_csv(text).unwrap_err();
        assert_eq!(
            err,
            CalendarCsvError::ConflictingDuplicate {
                line: 4,
                date: d(2025, 10, 11),
                kind: DayKind::Holiday,
                first_line: 2,
                first_kind: DayKind::Workday,
            }
        );
        let message = err.to_string();
        assert!(message.contains("line 4"), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains("2025-10-11"), "{message}");
    }
}
