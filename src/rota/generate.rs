//! Draft duty rota for the leaders' live evening sessions, and the conflict
//! checks run when an admin edits a rota.
//!
//! Pure functions: the caller loads the holiday calendar, the leaders and
//! their history, and stores the result.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, MappedLocalTime, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::workdays::{DayKind, WorkCalendar};
use crate::clock::TIMEZONE;

/// Longest range, in days counting both ends, that one draft may cover.
pub const MAX_RANGE_DAYS: i64 = 366;

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(t) => t,
        None => panic!("invalid constant time"),
    }
}

/// Default local start time of a session.
pub const DEFAULT_START: NaiveTime = hm(19, 30);
/// Default local end time of a session.
pub const DEFAULT_END: NaiveTime = hm(21, 0);

/// When sessions are held: on these weekdays, from `start` to `end`
/// (Asia/Shanghai local time, same day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotaConfig {
    pub weekdays: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for RotaConfig {
    /// Tuesdays and Thursdays, 19:30–21:00.
    fn default() -> Self {
        Self {
            weekdays: vec![Weekday::Tue, Weekday::Thu],
            start: DEFAULT_START,
            end: DEFAULT_END,
        }
    }
}

/// A leader who can be put on the rota, and the dates they cannot host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderAvailability {
    pub leader_id: i64,
    pub unavailable: BTreeSet<NaiveDate>,
}

/// One session of a draft rota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftSession {
    /// Local (Asia/Shanghai) date of the session.
    pub date: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `None` when no leader is available that date: the admin must fill it.
    pub leader_id: Option<i64>,
}

/// A stored session, as seen by the admin's edit checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSlot {
    pub id: i64,
    pub leader_id: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub cancelled: bool,
}

/// One leader booked into two overlapping, non-cancelled sessions.
/// `first_session_id` is the session that starts first (lower id on a tie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conflict {
    pub leader_id: i64,
    pub first_session_id: i64,
    pub second_session_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotaError {
    #[error("range end {end} is before range start {start}")]
    EndBeforeStart { start: NaiveDate, end: NaiveDate },
    #[error("range {start}..={end} covers {days} days; at most {max} are allowed")]
    RangeTooLong {
        start: NaiveDate,
        end: NaiveDate,
        days: i64,
        max: i64,
    },
    #[error("session start {start} must be before session end {end}")]
    StartNotBeforeEnd { start: NaiveTime, end: NaiveTime },
    #[error("leader {leader_id} is listed more than once")]
    DuplicateLeader { leader_id: i64 },
    #[error("local time {date} {time} does not exist in Asia/Shanghai")]
    NonexistentLocalTime { date: NaiveDate, time: NaiveTime },
    #[error(
        "the working-day calendar lists no public holidays for {}: import them first, or \
         generate with \"accept_missing_holidays\": true to hold a session on every \
         configured weekday of {0}",
        years.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
    )]
    NoHolidayData { years: Vec<i32> },
    #[error("session {id}: start {starts_at} must be before end {ends_at}")]
    SlotStartNotBeforeEnd {
        id: i64,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    #[error("session {id} ({starts_at}..{ends_at}) is outside the rota range {start}..={end}")]
    SlotOutOfRange {
        id: i64,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        start: NaiveDate,
        end: NaiveDate,
    },
}

/// Generates a draft rota for `range_start..=range_end`.
///
/// A session is held on every date in the range whose weekday is in
/// `cfg.weekdays`, unless the calendar lists that date as a holiday.
/// Adjusted working weekends (调休) add no sessions.
///
/// # Fairness rule
///
/// Sessions are assigned in date order. For each session the candidates
/// are the leaders available that date, and the one chosen is the candidate
/// with the fewest sessions so far (`prior_counts` plus those already
/// assigned in this draft), never the leader of the immediately previous
/// session (`last_leader` for the first session) unless nobody else is
/// available. Ties are broken by who hosted least recently (a leader who
/// has not hosted in this draft counts as less recent than one who has,
/// and `last_leader` counts as having hosted just before the draft), then
/// by lowest `leader_id`, so the result is deterministic. A date on which
/// nobody is available gets `leader_id: None`, and the session after it
/// has no previous leader to avoid.
///
/// With nobody unavailable and equal prior counts, this is a plain
/// rotation: sessions per leader differ by at most one, and no leader
/// hosts twice in a row while there are two or more leaders.
///
/// # Errors
///
/// [`RotaError`] when the range ends before it starts or covers more than
/// [`MAX_RANGE_DAYS`] days, when `cfg.start >= cfg.end`, when a leader is
/// listed twice, or when a session time does not exist locally.
pub fn generate(
    range_start: NaiveDate,
    range_end: NaiveDate,
    cfg: &RotaConfig,
    cal: &WorkCalendar,
    leaders: &[LeaderAvailability],
    prior_counts: &BTreeMap<i64, u32>,
    last_leader: Option<i64>,
) -> Result<Vec<DraftSession>, RotaError> {
    check_range(range_start, range_end)?;
    if cfg.start >= cfg.end {
        return Err(RotaError::StartNotBeforeEnd {
            start: cfg.start,
            end: cfg.end,
        });
    }

    let mut states: BTreeMap<i64, LeaderState<'_>> = BTreeMap::new();
    for leader in leaders {
        let state = LeaderState {
            unavailable: &leader.unavailable,
            count: u64::from(prior_counts.get(&leader.leader_id).copied().unwrap_or(0)),
            // -1 places `last_leader` after everyone with no draft session
            // but before the draft's first session.
            last_hosted: (last_leader == Some(leader.leader_id)).then_some(-1),
        };
        if states.insert(leader.leader_id, state).is_some() {
            return Err(RotaError::DuplicateLeader {
                leader_id: leader.leader_id,
            });
        }
    }

    let mut sessions = Vec::new();
    let mut previous = last_leader;
    for date in range_start.iter_days().take_while(|d| *d <= range_end) {
        if !cfg.weekdays.contains(&date.weekday()) || cal.kind_of(date) == Some(DayKind::Holiday) {
            continue;
        }
        let starts_at = session_instant(date, cfg.start)?;
        let ends_at = session_instant(date, cfg.end)?;
        let index = i64::try_from(sessions.len()).unwrap_or(i64::MAX);

        let leader_id = choose(&states, date, previous);
        if let Some(id) = leader_id {
            if let Some(state) = states.get_mut(&id) {
                state.count += 1;
                state.last_hosted = Some(index);
            }
        }
        previous = leader_id;
        sessions.push(DraftSession {
            date,
            starts_at,
            ends_at,
            leader_id,
        });
    }
    Ok(sessions)
}

/// Refuses a range reaching into a year whose public holidays the calendar does not know: a
/// draft for it would silently put sessions on holidays. The admin may accept that explicitly
/// (the caller then skips this check).
pub fn check_holiday_data(
    range_start: NaiveDate,
    range_end: NaiveDate,
    cal: &WorkCalendar,
) -> Result<(), RotaError> {
    let years: Vec<i32> = (range_start.year()..=range_end.year())
        .filter(|y| !cal.has_holidays_in(*y))
        .collect();
    if years.is_empty() {
        Ok(())
    } else {
        Err(RotaError::NoHolidayData { years })
    }
}

struct LeaderState<'a> {
    unavailable: &'a BTreeSet<NaiveDate>,
    count: u64,
    /// Index of the last draft session hosted; `None` sorts as least recent.
    last_hosted: Option<i64>,
}

fn choose(
    states: &BTreeMap<i64, LeaderState<'_>>,
    date: NaiveDate,
    previous: Option<i64>,
) -> Option<i64> {
    let available = || {
        states
            .iter()
            .filter(move |(_, s)| !s.unavailable.contains(&date))
    };
    let best = |exclude: Option<i64>| {
        available()
            .filter(|(id, _)| Some(**id) != exclude)
            .min_by_key(|(id, s)| (s.count, s.last_hosted, **id))
            .map(|(id, _)| *id)
    };
    best(previous).or_else(|| best(None))
}

fn check_range(start: NaiveDate, end: NaiveDate) -> Result<(), RotaError> {
    if end < start {
        return Err(RotaError::EndBeforeStart { start, end });
    }
    let days = (end - start).num_days() + 1;
    if days > MAX_RANGE_DAYS {
        return Err(RotaError::RangeTooLong {
            start,
            end,
            days,
            max: MAX_RANGE_DAYS,
        });
    }
    Ok(())
}

fn session_instant(date: NaiveDate, time: NaiveTime) -> Result<DateTime<Utc>, RotaError> {
    match crate::clock::local_to_utc(date.and_time(time)) {
        MappedLocalTime::Single(t) => Ok(t),
        // Only possible for pre-1992 dates (Shanghai has no DST since).
        MappedLocalTime::Ambiguous(earlier, _) => Ok(earlier),
        MappedLocalTime::None => Err(RotaError::NonexistentLocalTime { date, time }),
    }
}

/// Finds every pair of overlapping, non-cancelled sessions that share a
/// leader. Sessions are half-open intervals, so back-to-back sessions do
/// not conflict; unassigned sessions never do. Results are ordered by
/// leader, then by the first session's start.
pub fn check_conflicts(sessions: &[SessionSlot]) -> Vec<Conflict> {
    let mut by_leader: BTreeMap<i64, Vec<&SessionSlot>> = BTreeMap::new();
    for slot in sessions.iter().filter(|s| !s.cancelled) {
        if let Some(leader_id) = slot.leader_id {
            by_leader.entry(leader_id).or_default().push(slot);
        }
    }

    let mut conflicts = Vec::new();
    for (leader_id, mut slots) in by_leader {
        slots.sort_by_key(|s| (s.starts_at, s.ends_at, s.id));
        for (i, first) in slots.iter().enumerate() {
            // Sorted by start, so the first later slot starting at or after
            // `first` ends cannot overlap it, nor can any after that.
            for second in slots[i + 1..]
                .iter()
                .take_while(|s| s.starts_at < first.ends_at)
            {
                if first.id != second.id {
                    conflicts.push(Conflict {
                        leader_id,
                        first_session_id: first.id,
                        second_session_id: second.id,
                    });
                }
            }
        }
    }
    conflicts
}

/// Checks that `slot` starts before it ends and lies wholly within the
/// local (Asia/Shanghai) dates `range_start..=range_end`.
///
/// # Errors
///
/// [`RotaError::EndBeforeStart`] / [`RotaError::RangeTooLong`] for a bad
/// range, [`RotaError::SlotStartNotBeforeEnd`] for an empty or inverted
/// slot, and [`RotaError::SlotOutOfRange`] otherwise.
pub fn check_in_range(
    slot: &SessionSlot,
    range_start: NaiveDate,
    range_end: NaiveDate,
) -> Result<(), RotaError> {
    check_range(range_start, range_end)?;
    if slot.starts_at >= slot.ends_at {
        return Err(RotaError::SlotStartNotBeforeEnd {
            id: slot.id,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
        });
    }
    let out_of_range = || RotaError::SlotOutOfRange {
        id: slot.id,
        starts_at: slot.starts_at,
        ends_at: slot.ends_at,
        start: range_start,
        end: range_end,
    };
    // Compare local dates rather than UTC instants so a slot ending exactly
    // at local midnight after `range_end` still counts as inside.
    let first_day = slot.starts_at.with_timezone(&TIMEZONE).date_naive();
    let end_local = slot.ends_at.with_timezone(&TIMEZONE);
    let last_day = if end_local.time() == NaiveTime::MIN {
        end_local.date_naive().pred_opt().ok_or_else(out_of_range)?
    } else {
        end_local.date_naive()
    };
    if first_day < range_start || last_day > range_end {
        return Err(out_of_range());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const CSV: &str = include_str!("../../tests/data/cn-2025-2026.csv");

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cal() -> WorkCalendar {
        WorkCalendar::from_csv(CSV).unwrap()
    }

    fn leaders(ids: &[i64]) -> Vec<LeaderAvailability> {
        ids.iter()
            .map(|&leader_id| LeaderAvailability {
                leader_id,
                unavailable: BTreeSet::new(),
            })
            .collect()
    }

    fn gen_with(
        start: NaiveDate,
        end: NaiveDate,
        leaders: &[LeaderAvailability],
        prior: &BTreeMap<i64, u32>,
        last: Option<i64>,
    ) -> Vec<DraftSession> {
        let cfg = RotaConfig::default();
        generate(start, end, &cfg, &cal(), leaders, prior, last).unwrap()
    }

    /// Default config, no history.
    fn gen(start: NaiveDate, end: NaiveDate, leaders: &[LeaderAvailability]) -> Vec<DraftSession> {
        gen_with(start, end, leaders, &BTreeMap::new(), None)
    }

    fn counts(sessions: &[DraftSession]) -> BTreeMap<i64, u32> {
        let mut c = BTreeMap::new();
        for s in sessions {
            *c.entry(s.leader_id.unwrap()).or_insert(0) += 1;
        }
        c
    }

    fn assert_no_repeat(sessions: &[DraftSession]) {
        for pair in sessions.windows(2) {
            assert_ne!(pair[0].leader_id, pair[1].leader_id, "{pair:?}");
        }
    }

    #[test]
    fn default_config_is_tue_thu_evening() {
        let cfg = RotaConfig::default();
        assert_eq!(cfg.weekdays, vec![Weekday::Tue, Weekday::Thu]);
        assert_eq!(cfg.start, NaiveTime::from_hms_opt(19, 30, 0).unwrap());
        assert_eq!(cfg.end, NaiveTime::from_hms_opt(21, 0, 0).unwrap());
    }

    #[test]
    fn sessions_on_tue_thu_with_shanghai_times() {
        // Mon 2025-09-01 .. Sun 2025-09-14: no holidays.
        let s = gen(d(2025, 9, 1), d(2025, 9, 14), &leaders(&[1]));
        let dates: Vec<_> = s.iter().map(|x| x.date).collect();
        assert_eq!(
            dates,
            vec![d(2025, 9, 2), d(2025, 9, 4), d(2025, 9, 9), d(2025, 9, 11)]
        );
        // 19:30 CST == 11:30 UTC, 21:00 CST == 13:00 UTC.
        assert_eq!(
            s[0].starts_at,
            Utc.with_ymd_and_hms(2025, 9, 2, 11, 30, 0).unwrap()
        );
        assert_eq!(
            s[0].ends_at,
            Utc.with_ymd_and_hms(2025, 9, 2, 13, 0, 0).unwrap()
        );
    }

    #[test]
    fn national_day_holidays_are_skipped() {
        let c = cal();
        assert_eq!(c.kind_of(d(2025, 10, 2)), Some(DayKind::Holiday));
        assert_eq!(c.kind_of(d(2025, 10, 7)), Some(DayKind::Holiday));
        let s = gen(d(2025, 9, 29), d(2025, 10, 19), &leaders(&[1, 2]));
        let dates: Vec<_> = s.iter().map(|x| x.date).collect();
        // Tue 9-30, [Thu 10-2, Tue 10-7 skipped], Thu 10-9, Tue 10-14, Thu 10-16.
        assert_eq!(
            dates,
            vec![
                d(2025, 9, 30),
                d(2025, 10, 9),
                d(2025, 10, 14),
                d(2025, 10, 16)
            ]
        );
    }

    #[test]
    fn adjusted_workday_adds_no_session() {
        // Sat 2025-10-11 is an adjusted workday; Saturday is not configured.
        assert_eq!(cal().kind_of(d(2025, 10, 11)), Some(DayKind::Workday));
        let s = gen(d(2025, 10, 10), d(2025, 10, 12), &leaders(&[1]));
        assert!(s.is_empty());
    }

    #[test]
    fn rotation_is_round_robin_and_deterministic() {
        let ls = leaders(&[30, 10, 20]);
        let s = gen(d(2025, 9, 1), d(2025, 9, 21), &ls);
        let ids: Vec<_> = s.iter().map(|x| x.leader_id.unwrap()).collect();
        assert_eq!(ids, vec![10, 20, 30, 10, 20, 30]);
        assert_eq!(s, gen(d(2025, 9, 1), d(2025, 9, 21), &ls));
    }

    #[test]
    fn balanced_and_no_repeats_over_many_ranges() {
        let starts = [d(2025, 1, 1), d(2025, 4, 15), d(2025, 9, 20), d(2026, 1, 1)];
        for start in starts {
            for len in [0, 6, 30, 95, 200, 365] {
                let end = start + chrono::TimeDelta::days(len);
                for n in 1..=7 {
                    let ids: Vec<i64> = (1..=n).collect();
                    let s = gen(start, end, &leaders(&ids));
                    assert!(s.iter().all(|x| x.leader_id.is_some()));
                    if n >= 2 {
                        assert_no_repeat(&s);
                    }
                    let c = counts(&s);
                    let max = ids.iter().map(|i| c.get(i).copied().unwrap_or(0)).max();
                    let min = ids.iter().map(|i| c.get(i).copied().unwrap_or(0)).min();
                    assert!(
                        max.unwrap() - min.unwrap() <= 1,
                        "{start} +{len} n={n}: {c:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn full_year_three_leaders() {
        let s = gen(d(2025, 1, 1), d(2025, 12, 31), &leaders(&[1, 2, 3]));
        assert!(s.len() > 90);
        assert_no_repeat(&s);
        let c = counts(&s);
        let max = c.values().max().unwrap();
        let min = c.values().min().unwrap();
        assert!(max - min <= 1, "{c:?}");
    }

    #[test]
    fn unavailability_is_respected() {
        let mut ls = leaders(&[1, 2, 3]);
        // Leader 1 away for all of September 2025.
        ls[0].unavailable = d(2025, 9, 1)
            .iter_days()
            .take_while(|x| *x <= d(2025, 9, 30))
            .collect();
        // Leader 2 away on one specific session date.
        ls[1].unavailable.insert(d(2025, 9, 16));
        let s = gen(d(2025, 8, 25), d(2025, 10, 31), &ls);
        for x in &s {
            let id = x.leader_id.unwrap();
            let who = ls.iter().find(|l| l.leader_id == id).unwrap();
            assert!(!who.unavailable.contains(&x.date), "{x:?}");
        }
        assert_no_repeat(&s);
        // Leader 1 catches up after returning: first October session is theirs.
        let first_oct = s.iter().find(|x| x.date >= d(2025, 10, 1)).unwrap();
        assert_eq!(first_oct.leader_id, Some(1));
    }

    #[test]
    fn repeat_only_when_nobody_else_is_free() {
        let mut ls = leaders(&[1, 2]);
        // Leader 2 unavailable on both sessions of the week of 2025-09-08.
        ls[1].unavailable.extend([d(2025, 9, 9), d(2025, 9, 11)]);
        let s = gen(d(2025, 9, 1), d(2025, 9, 14), &ls);
        let ids: Vec<_> = s.iter().map(|x| x.leader_id.unwrap()).collect();
        // Sep 2 → 1, Sep 4 → 2, Sep 9 → 1, Sep 11 → 1 (forced repeat).
        assert_eq!(ids, vec![1, 2, 1, 1]);
    }

    #[test]
    fn nobody_available_gives_none() {
        let mut ls = leaders(&[1]);
        ls[0].unavailable.insert(d(2025, 9, 4));
        let s = gen(d(2025, 9, 1), d(2025, 9, 7), &ls);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].leader_id, Some(1));
        assert_eq!(s[1].leader_id, None);
    }

    #[test]
    fn single_leader_gets_every_session() {
        let s = gen_with(
            d(2025, 9, 1),
            d(2025, 12, 31),
            &leaders(&[7]),
            &BTreeMap::new(),
            Some(7),
        );
        assert!(!s.is_empty());
        assert!(s.iter().all(|x| x.leader_id == Some(7)));
    }

    #[test]
    fn no_leaders_gives_all_none() {
        let s = gen(d(2025, 9, 1), d(2025, 9, 30), &[]);
        assert_eq!(s.len(), 9);
        assert!(s.iter().all(|x| x.leader_id.is_none()));
    }

    #[test]
    fn prior_counts_are_caught_up() {
        let prior = BTreeMap::from([(1, 5), (2, 3), (3, 3), (99, 100)]);
        let s = gen_with(
            d(2025, 9, 1),
            d(2025, 9, 21),
            &leaders(&[1, 2, 3]),
            &prior,
            None,
        );
        let ids: Vec<_> = s.iter().map(|x| x.leader_id.unwrap()).collect();
        // 2 and 3 catch up to 5 before 1 hosts; then plain rotation.
        assert_eq!(ids, vec![2, 3, 2, 3, 1, 2]);
    }

    #[test]
    fn last_leader_is_avoided_first_and_least_recent_wins_ties() {
        let s = gen_with(
            d(2025, 9, 1),
            d(2025, 9, 14),
            &leaders(&[1, 2, 3]),
            &BTreeMap::new(),
            Some(1),
        );
        let ids: Vec<_> = s.iter().map(|x| x.leader_id.unwrap()).collect();
        // 1 hosted just before the draft, so it is most recent among equals.
        assert_eq!(ids, vec![2, 3, 1, 2]);
    }

    #[test]
    fn custom_weekdays_and_times() {
        let cfg = RotaConfig {
            weekdays: vec![Weekday::Mon],
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        };
        let s = generate(
            d(2025, 9, 1),
            d(2025, 9, 30),
            &cfg,
            &cal(),
            &leaders(&[1]),
            &BTreeMap::new(),
            None,
        )
        .unwrap();
        assert_eq!(s.len(), 5);
        assert_eq!(
            s[0].starts_at,
            Utc.with_ymd_and_hms(2025, 9, 1, 1, 0, 0).unwrap()
        );
    }

    #[test]
    fn a_year_without_holiday_data_is_refused() {
        // The test calendar covers 2025 and 2026.
        assert_eq!(
            check_holiday_data(d(2026, 1, 1), d(2026, 12, 31), &cal()),
            Ok(())
        );
        assert_eq!(
            check_holiday_data(d(2026, 12, 1), d(2027, 1, 31), &cal()),
            Err(RotaError::NoHolidayData { years: vec![2027] })
        );
        assert_eq!(
            check_holiday_data(d(2025, 3, 1), d(2025, 3, 31), &WorkCalendar::default()),
            Err(RotaError::NoHolidayData { years: vec![2025] })
        );
        let msg = RotaError::NoHolidayData { years: vec![2027] }.to_string();
        assert!(
            msg.contains("2027") && msg.contains("accept_missing_holidays"),
            "{msg}"
        );
    }

    #[test]
    fn range_errors() {
        let c = cal();
        let cfg = RotaConfig::default();
        let none = BTreeMap::new();
        let err = generate(d(2025, 9, 2), d(2025, 9, 1), &cfg, &c, &[], &none, None);
        assert!(matches!(err, Err(RotaError::EndBeforeStart { .. })));

        // 366 days counting both ends is allowed; 367 is not.
        assert!(generate(d(2025, 1, 1), d(2026, 1, 1), &cfg, &c, &[], &none, None).is_ok());
        let err = generate(d(2025, 1, 1), d(2026, 1, 2), &cfg, &c, &[], &none, None);
        assert!(matches!(
            err,
            Err(RotaError::RangeTooLong { days: 367, .. })
        ));

        let same = RotaConfig {
            end: cfg.start,
            ..cfg.clone()
        };
        let err = generate(d(2025, 9, 1), d(2025, 9, 2), &same, &c, &[], &none, None);
        assert!(matches!(err, Err(RotaError::StartNotBeforeEnd { .. })));
        let inverted = RotaConfig {
            start: cfg.end,
            end: cfg.start,
            ..cfg.clone()
        };
        let err = generate(
            d(2025, 9, 1),
            d(2025, 9, 2),
            &inverted,
            &c,
            &[],
            &none,
            None,
        );
        assert!(matches!(err, Err(RotaError::StartNotBeforeEnd { .. })));

        let dup = leaders(&[1, 2, 1]);
        let err = generate(d(2025, 9, 1), d(2025, 9, 2), &cfg, &c, &dup, &none, None);
        assert_eq!(err, Err(RotaError::DuplicateLeader { leader_id: 1 }));
        // Errors render for API responses.
        assert!(RotaError::DuplicateLeader { leader_id: 1 }
            .to_string()
            .contains('1'));
    }

    fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        TIMEZONE
            .with_ymd_and_hms(2025, 9, day, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn slot(id: i64, leader: Option<i64>, s: DateTime<Utc>, e: DateTime<Utc>) -> SessionSlot {
        SessionSlot {
            id,
            leader_id: leader,
            starts_at: s,
            ends_at: e,
            cancelled: false,
        }
    }

    #[test]
    fn conflicts_found_for_same_leader_overlap() {
        let slots = vec![
            slot(1, Some(10), at(2, 19, 30), at(2, 21, 0)),
            slot(2, Some(10), at(2, 20, 0), at(2, 22, 0)),
            slot(3, Some(11), at(2, 19, 30), at(2, 21, 0)),
            slot(4, None, at(2, 19, 30), at(2, 21, 0)),
            slot(5, None, at(2, 19, 30), at(2, 21, 0)),
        ];
        assert_eq!(
            check_conflicts(&slots),
            vec![Conflict {
                leader_id: 10,
                first_session_id: 1,
                second_session_id: 2
            }]
        );
    }

    #[test]
    fn conflicts_ignore_cancelled_and_back_to_back() {
        let mut cancelled = slot(2, Some(10), at(2, 20, 0), at(2, 22, 0));
        cancelled.cancelled = true;
        let slots = vec![
            slot(1, Some(10), at(2, 19, 30), at(2, 21, 0)),
            cancelled,
            slot(3, Some(10), at(2, 21, 0), at(2, 22, 0)),
            slot(4, Some(10), at(4, 19, 30), at(4, 21, 0)),
        ];
        assert!(check_conflicts(&slots).is_empty());
    }

    #[test]
    fn conflicts_report_every_pair_in_order() {
        let slots = vec![
            slot(9, Some(10), at(2, 20, 0), at(2, 20, 30)),
            slot(8, Some(10), at(2, 19, 0), at(2, 23, 0)),
            slot(7, Some(10), at(2, 20, 15), at(2, 21, 0)),
        ];
        let pairs: Vec<_> = check_conflicts(&slots)
            .into_iter()
            .map(|c| (c.first_session_id, c.second_session_id))
            .collect();
        assert_eq!(pairs, vec![(8, 9), (8, 7), (9, 7)]);
    }

    #[test]
    fn in_range_checks() {
        let ok = slot(1, Some(1), at(2, 19, 30), at(2, 21, 0));
        assert!(check_in_range(&ok, d(2025, 9, 2), d(2025, 9, 2)).is_ok());
        assert!(matches!(
            check_in_range(&ok, d(2025, 9, 3), d(2025, 9, 30)),
            Err(RotaError::SlotOutOfRange { id: 1, .. })
        ));
        assert!(matches!(
            check_in_range(&ok, d(2025, 9, 1), d(2025, 9, 1)),
            Err(RotaError::SlotOutOfRange { .. })
        ));
        // 07:00 CST on Sep 2 is still Sep 1 in UTC: local dates decide.
        let morning = slot(2, Some(1), at(2, 7, 0), at(2, 8, 0));
        assert!(check_in_range(&morning, d(2025, 9, 2), d(2025, 9, 2)).is_ok());
        // Ending exactly at local midnight stays within the day.
        let late = slot(3, Some(1), at(2, 22, 0), at(3, 0, 0));
        assert!(check_in_range(&late, d(2025, 9, 2), d(2025, 9, 2)).is_ok());
        let overnight = slot(4, Some(1), at(2, 23, 0), at(3, 0, 30));
        assert!(check_in_range(&overnight, d(2025, 9, 2), d(2025, 9, 2)).is_err());
        let inverted = slot(5, Some(1), at(2, 21, 0), at(2, 19, 30));
        assert!(matches!(
            check_in_range(&inverted, d(2025, 9, 1), d(2025, 9, 30)),
            Err(RotaError::SlotStartNotBeforeEnd { id: 5, .. })
        ));
        assert!(matches!(
            check_in_range(&ok, d(2025, 9, 30), d(2025, 9, 1)),
            Err(RotaError::EndBeforeStart { .. })
        ));
    }
}
