//! A session's transition table, like the appeals' (`board/workflow.rs`): which action moves a
//! session from which status to which. Every writer of a session's status asks [`next`]; a pair
//! not in the table is refused. Who may act, and when (the start window, publication), are
//! checked by the writers; this table only knows statuses.
use entity::live_session_events::SessionAction;
use entity::live_sessions::SessionStatus;

use SessionAction as A;
use SessionStatus as S;

/// `(from, action, to)`. A new session is born `scheduled`: its first event (`generated`,
/// `added`) reads scheduled → scheduled. Publication and the admin's edits keep a session
/// scheduled; `cancelled`, `discarded`, `started`, `ended` and `missed` move it on.
pub const TRANSITIONS: &[(SessionStatus, SessionAction, SessionStatus)] = &[
    (S::Scheduled, A::Generated, S::Scheduled),
    (S::Scheduled, A::Added, S::Scheduled),
    (S::Scheduled, A::Published, S::Scheduled),
    (S::Scheduled, A::Reassigned, S::Scheduled),
    (S::Scheduled, A::Rescheduled, S::Scheduled),
    (S::Scheduled, A::Swapped, S::Scheduled),
    (S::Scheduled, A::Cancelled, S::Cancelled),
    (S::Scheduled, A::Discarded, S::Cancelled),
    (S::Scheduled, A::Started, S::Live),
    (S::Scheduled, A::Missed, S::Missed),
    (S::Live, A::Ended, S::Ended),
];

/// An action the table does not allow in the session's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    pub from: SessionStatus,
    pub action: SessionAction,
    /// The status the action needs (every action has exactly one).
    pub wanted: SessionStatus,
}

/// The status `action` leads to from `from`.
pub fn next(from: SessionStatus, action: SessionAction) -> Result<SessionStatus, Refused> {
    TRANSITIONS
        .iter()
        .find(|(f, a, _)| *f == from && *a == action)
        .map(|(_, _, to)| *to)
        .ok_or(Refused {
            from,
            action,
            wanted: wanted(action),
        })
}

/// The status an action starts from.
pub fn wanted(action: SessionAction) -> SessionStatus {
    TRANSITIONS
        .iter()
        .find(|(_, a, _)| *a == action)
        .map_or(S::Scheduled, |(from, _, _)| *from)
}

/// Whether the status is final: no action leads out of it.
pub fn is_final(status: SessionStatus) -> bool {
    !TRANSITIONS.iter().any(|(from, _, _)| *from == status)
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    #[test]
    fn a_scheduled_session_starts_is_missed_or_is_cancelled() {
        assert_eq!(next(S::Scheduled, A::Started), Ok(S::Live));
        assert_eq!(next(S::Scheduled, A::Missed), Ok(S::Missed));
        assert_eq!(next(S::Scheduled, A::Cancelled), Ok(S::Cancelled));
        assert_eq!(next(S::Scheduled, A::Discarded), Ok(S::Cancelled));
        assert_eq!(next(S::Live, A::Ended), Ok(S::Ended));
    }

    #[test]
    fn edits_and_publication_keep_a_session_scheduled() {
        for a in [A::Published, A::Reassigned, A::Rescheduled, A::Swapped] {
            assert_eq!(next(S::Scheduled, a), Ok(S::Scheduled), "{a}");
        }
    }

    #[test]
    fn a_live_session_can_only_end() {
        for a in SessionAction::iter().filter(|a| *a != A::Ended) {
            assert_eq!(
                next(S::Live, a),
                Err(Refused {
                    from: S::Live,
                    action: a,
                    wanted: wanted(a)
                }),
                "{a}"
            );
        }
    }

    #[test]
    fn ending_needs_a_live_session_and_starting_a_scheduled_one() {
        assert_eq!(
            next(S::Scheduled, A::Ended).map_err(|r| r.wanted),
            Err(S::Live)
        );
        assert_eq!(
            next(S::Ended, A::Started).map_err(|r| r.wanted),
            Err(S::Scheduled)
        );
        assert_eq!(next(S::Ended, A::Ended).map_err(|r| r.wanted), Err(S::Live));
    }

    #[test]
    fn ended_missed_and_cancelled_are_final() {
        let finals: Vec<_> = SessionStatus::iter().filter(|s| is_final(*s)).collect();
        assert_eq!(finals, [S::Ended, S::Missed, S::Cancelled]);
        for s in finals {
            for a in SessionAction::iter() {
                assert!(next(s, a).is_err(), "{s} {a}");
            }
        }
    }

    #[test]
    fn every_action_has_one_starting_status() {
        for a in SessionAction::iter() {
            let froms: Vec<_> = TRANSITIONS.iter().filter(|(_, x, _)| *x == a).collect();
            assert_eq!(froms.len(), 1, "{a}");
        }
    }

    #[test]
    fn stored_spellings_agree_with_serde_and_sea_orm() {
        use entity::AsStr;
        use sea_orm::ActiveEnum;
        for s in SessionStatus::iter() {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.as_str().parse::<SessionStatus>().unwrap(), s);
        }
        for a in SessionAction::iter() {
            assert_eq!(a.to_value(), a.as_str());
            assert_eq!(a.as_str().parse::<SessionAction>().unwrap(), a);
        }
        let stored: Vec<_> = SessionStatus::iter().map(|s| s.to_value()).collect();
        assert_eq!(
            stored,
            ["scheduled", "live", "ended", "missed", "cancelled"]
        );
        use entity::live_registrations::RegistrationStatus as R;
        let stored: Vec<_> = R::iter().map(|s| s.to_value()).collect();
        assert_eq!(stored, ["registered", "held", "cancelled", "rejected"]);
        use entity::rotas::RotaStatus;
        let stored: Vec<_> = RotaStatus::iter().map(|s| s.to_value()).collect();
        assert_eq!(stored, ["draft", "published", "discarded"]);
        use entity::users::Role;
        let stored: Vec<_> = Role::iter().map(|s| s.to_value()).collect();
        assert_eq!(stored, ["resident", "handler", "leader", "office", "admin"]);
        for r in Role::iter() {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(r.to_string(), r.as_str());
        }
    }
}
