//! Time source. Production uses the system clock; tests move time forward to reach deadlines,
//! token expiry and session windows without sleeping.
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, MappedLocalTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{AppError, AppResult};

/// The county's time zone: session times, working days, deadlines and exports are all local
/// to it. Asia/Shanghai has kept +08:00 without DST since 1991.
pub const TIMEZONE: Tz = chrono_tz::Asia::Shanghai;

/// The local date of an instant.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&TIMEZONE).date_naive()
}

/// The instant(s) of a local date and time. Callers decide what a gap or an overlap means
/// for them (none has occurred here since 1991), so this returns chrono's three cases.
pub fn local_to_utc(local: NaiveDateTime) -> MappedLocalTime<DateTime<Utc>> {
    TIMEZONE
        .from_local_datetime(&local)
        .map(|t| t.with_timezone(&Utc))
}

/// A date written `YYYY-MM-DD` (surrounding blanks ignored); a 422 naming `field` otherwise.
pub fn parse_date(field: &str, s: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::validation(field, "must be a date written YYYY-MM-DD"))
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock shifted by an adjustable offset, so time still flows between steps.
#[derive(Default)]
pub struct OffsetClock {
    offset_ms: AtomicI64,
}

impl OffsetClock {
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
    /// Moves the clock so that `now()` reads about `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        let off = (at - Utc::now()).num_milliseconds();
        self.offset_ms.store(off, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

pub type SharedClock = Arc<dyn Clock>;
