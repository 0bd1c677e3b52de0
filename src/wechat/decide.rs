//! Pure rules of the WeChat client: when a cached token may be used, when a forced refresh is
//! allowed, how long to back off. No I/O, unit-tested.
use serde::{Deserialize, Serialize};

/// The access token as every instance shares it through the broker. `Debug` is hand-written so
/// that the token never reaches a log line.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CachedToken {
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The token can be handed to a call: not expired and not the one a call just saw refused.
pub fn valid(t: &CachedToken, failed: Option<&str>, now: i64) -> bool {
    t.expires_at > now && failed != Some(t.token.as_str())
}

/// The token is valid and not yet inside the refresh-ahead window, so nobody needs to refresh.
pub fn fresh(t: &CachedToken, failed: Option<&str>, now: i64, ahead_secs: i64) -> bool {
    valid(t, failed, now) && t.expires_at - ahead_secs.max(0) > now
}

#[derive(Debug, PartialEq, Eq)]
pub enum ForceRefused {
    TooSoon,
    DailyLimit,
}

/// WeChat allows a forced refresh 20 times a day and 30 s apart: `too_soon` when another one
/// happened within the spacing; `today` counts this one.
pub fn force_allowed(too_soon: bool, today: u64, per_day: u64) -> Result<(), ForceRefused> {
    if too_soon {
        Err(ForceRefused::TooSoon)
    } else if today > per_day {
        Err(ForceRefused::DailyLimit)
    } else {
        Ok(())
    }
}

/// Doubling backoff from `base_ms` for retry number `n` (1-based), capped at 10 s.
pub fn busy_backoff_ms(base_ms: u64, n: u32) -> u64 {
    base_ms
        .saturating_mul(1u64 << n.saturating_sub(1).min(16))
        .min(10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(expires_at: i64) -> CachedToken {
        CachedToken {
            token: "t1".into(),
            expires_at,
        }
    }

    #[test]
    fn freshness_and_refresh_ahead() {
        assert!(fresh(&tok(1000), None, 600, 300));
        assert!(
            !fresh(&tok(1000), None, 701, 300),
            "inside the ahead window"
        );
        assert!(valid(&tok(1000), None, 701), "but still usable");
        assert!(!valid(&tok(1000), None, 1000), "expired");
        assert!(!valid(&tok(1000), Some("t1"), 10), "the one that failed");
        assert!(valid(&tok(1000), Some("t0"), 10), "another one failed");
    }

    #[test]
    fn force_limits() {
        assert_eq!(force_allowed(false, 1, 20), Ok(()));
        assert_eq!(force_allowed(false, 20, 20), Ok(()));
        assert_eq!(force_allowed(false, 21, 20), Err(ForceRefused::DailyLimit));
        assert_eq!(force_allowed(true, 1, 20), Err(ForceRefused::TooSoon));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(busy_backoff_ms(200, 1), 200);
        assert_eq!(busy_backoff_ms(200, 2), 400);
        assert_eq!(busy_backoff_ms(200, 40), 10_000);
    }

    #[test]
    fn debug_hides_the_token() {
        assert!(!format!("{:?}", tok(5)).contains("t1"));
    }
}
