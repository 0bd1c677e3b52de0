//! The transition table's tests: every row fires, terminal states refuse, the doc table matches.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use sea_orm::Iterable;
use serde::de::value::{Error as DeError, StrDeserializer};
use serde::de::IntoDeserializer;
use std::collections::{HashSet, VecDeque};

/// A valid action of the given kind.
fn sample(kind: ActionKind) -> Action {
    match kind {
        A::Submit => Action::Submit,
        A::Hold => Action::Hold,
        A::Release => Action::Release,
        A::RequestInfo => Action::RequestInfo {
            question: "具体是哪一段路？".into(),
        },
        A::ProvideInfo => Action::ProvideInfo { info: None },
        A::Accept => Action::Accept {
            urgency: Urgency::General,
        },
        A::Reject => Action::Reject {
            reason: "不属于受理范围".into(),
        },
        A::Merge => Action::Merge { master_id: 7 },
        A::Assign => Action::Assign {
            lead_department_id: 3,
            assisting_department_ids: vec![4],
        },
        A::Sign => Action::Sign,
        A::Return => Action::Return {
            reason: ReturnReason::NotOurRemit,
            note: String::new(),
        },
        A::Reassign => Action::Reassign {
            lead_department_id: 5,
            assisting_department_ids: vec![],
        },
        A::RequestExtension => Action::RequestExtension {
            reason: "需要协调供电公司".into(),
            until: None,
        },
        A::ApproveExtension => Action::ApproveExtension { deadline: None },
        A::RefuseExtension => Action::RefuseExtension { comment: None },
        A::Reply => Action::Reply {
            public_reply: None,
            internal_note: None,
        },
        A::ApproveReply => Action::ApproveReply { private: None },
        A::SendBack => Action::SendBack {
            reason: "答复未说明完成时间".into(),
        },
        A::Rate => Action::Rate {
            rating: Rating::Satisfied,
            solved: None,
            comment: None,
        },
        A::Reopen => Action::Reopen,
        A::AutoClose => Action::AutoClose,
        A::Close => Action::Close { comment: None },
        A::MarkOverdue => Action::MarkOverdue,
        A::Escalate => Action::Escalate,
    }
}

/// A valid action that takes this row.
fn sample_for(row: &Transition) -> Action {
    match row.ratings {
        Some(ratings) => Action::Rate {
            rating: ratings[0],
            solved: None,
            comment: None,
        },
        None => sample(row.action),
    }
}

#[test]
fn happy_path_with_one_reopen() {
    let steps = [
        (Action::Submit, R::Resident, S::Submitted),
        (
            Action::Accept {
                urgency: Urgency::TimeLimited,
            },
            R::Office,
            S::Accepted,
        ),
        (sample(A::Assign), R::Office, S::Assigned),
        (Action::Sign, R::Handler, S::Signed),
        (
            Action::Reply {
                public_reply: None,
                internal_note: None,
            },
            R::Handler,
            S::Replied,
        ),
        (
            Action::ApproveReply { private: None },
            R::Office,
            S::Published,
        ),
        (
            Action::Rate {
                rating: Rating::Unsatisfied,
                solved: None,
                comment: None,
            },
            R::Resident,
            S::RatedUnsatisfied,
        ),
        (Action::Reopen, R::Office, S::Reopened),
        (Action::Sign, R::Handler, S::Signed),
        (
            Action::Reply {
                public_reply: None,
                internal_note: None,
            },
            R::Handler,
            S::Replied,
        ),
        (
            Action::ApproveReply { private: None },
            R::Office,
            S::Published,
        ),
        (
            Action::Rate {
                rating: Rating::Satisfied,
                solved: None,
                comment: None,
            },
            R::Resident,
            S::Closed,
        ),
    ];
    let mut state = S::Draft;
    for (action, actor, expected) in steps {
        state = next_state(state, &action, actor).unwrap();
        assert_eq!(state, expected, "after {}", action.kind());
    }
    assert!(state.is_terminal());
}

#[test]
fn every_terminal_state_refuses_every_action() {
    for state in S::iter().filter(|s| s.is_terminal()) {
        assert!(allowed_actions(state, R::Office).is_empty());
        for kind in A::iter() {
            for actor in R::iter() {
                assert_eq!(
                    next_state(state, &sample(kind), actor),
                    Err(TransitionError::NotAllowed {
                        state,
                        action: kind
                    }),
                );
            }
        }
    }
}

#[test]
fn only_closed_rejected_merged_are_terminal_and_others_have_exits() {
    for state in S::iter() {
        let has_exit = TRANSITIONS.iter().any(|r| r.from == state && r.to != state);
        assert_eq!(!has_exit, state.is_terminal(), "{state}");
    }
}

#[test]
fn each_action_refused_for_wrong_actors() {
    let mut checked = 0;
    for row in TRANSITIONS {
        for actor in R::iter() {
            let allowed = TRANSITIONS
                .iter()
                .any(|r| r.from == row.from && r.action == row.action && r.actor == actor);
            if allowed {
                continue;
            }
            checked += 1;
            assert_eq!(
                next_state(row.from, &sample(row.action), actor),
                Err(TransitionError::WrongActor {
                    state: row.from,
                    action: row.action,
                    actor
                }),
                "{} {} {}",
                row.from,
                row.action,
                actor
            );
        }
    }
    assert!(checked > 100);
}

#[test]
fn every_row_is_reachable_and_fires() {
    let mut seen = HashSet::from([S::Draft]);
    let mut queue = VecDeque::from([S::Draft]);
    while let Some(state) = queue.pop_front() {
        for row in TRANSITIONS.iter().filter(|r| r.from == state) {
            if seen.insert(row.to) {
                queue.push_back(row.to);
            }
        }
    }
    for row in TRANSITIONS {
        assert!(
            seen.contains(&row.from),
            "unreachable row from {}",
            row.from
        );
        assert_eq!(
            next_state(row.from, &sample_for(row), row.actor),
            Ok(row.to),
            "{row:?}"
        );
    }
    assert_eq!(seen.len(), S::iter().count(), "every state is reachable");
}

#[test]
fn table_is_deterministic() {
    let mut keys = HashSet::new();
    for row in TRANSITIONS {
        for rating in row
            .ratings
            .map_or(vec![None], |r| r.iter().map(Some).collect())
        {
            assert!(
                keys.insert((row.from, row.action, row.actor, rating)),
                "duplicate row {row:?}"
            );
        }
    }
    // Where two actors may do the same thing, they reach the same state.
    for a in TRANSITIONS {
        for b in TRANSITIONS {
            if a.from == b.from && a.action == b.action && a.ratings == b.ratings {
                assert_eq!(a.to, b.to);
            }
        }
    }
    // Only `rate` splits by rating, and every rating has its row.
    for row in TRANSITIONS {
        assert_eq!(row.ratings.is_some(), row.action == A::Rate, "{row:?}");
    }
    for rating in Rating::iter() {
        let rows = TRANSITIONS
            .iter()
            .filter(|r| r.ratings.is_some_and(|rs| rs.contains(&rating)))
            .count();
        assert_eq!(rows, 1, "{rating:?}");
    }
}

#[test]
fn flag_only_rows_are_exactly_extension_overdue_and_escalation() {
    let flag_kinds = [
        A::RequestExtension,
        A::ApproveExtension,
        A::RefuseExtension,
        A::MarkOverdue,
        A::Escalate,
    ];
    for row in TRANSITIONS {
        assert_eq!(
            row.is_flag_only(),
            flag_kinds.contains(&row.action),
            "{row:?}"
        );
    }
    for row in TRANSITIONS
        .iter()
        .filter(|r| matches!(r.action, A::MarkOverdue | A::Escalate))
    {
        assert!(row.from.clock_running());
    }
    for state in S::iter().filter(|s| s.clock_running()) {
        assert!(allowed_actions(state, R::System).contains(&A::MarkOverdue));
    }
}

#[test]
fn clock_runs_only_while_a_department_holds_it() {
    let running: Vec<_> = S::iter().filter(|s| s.clock_running()).collect();
    assert_eq!(running, [S::Assigned, S::Signed, S::Reopened]);
    assert!(!S::InfoRequested.clock_running());
}

#[test]
fn doc_table_matches_transitions() {
    let src = include_str!("../workflow.rs");
    let rows: Vec<_> = src
        .lines()
        .filter_map(|l| l.strip_prefix("//! | "))
        .filter(|l| !l.starts_with("from ") && !l.starts_with("---"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // `rate (satisfied, basically_satisfied)`: the action and its ratings.
            let (action, ratings) = match cells[1].split_once(" (") {
                Some((a, r)) => (a, Some(r.trim_end_matches(')'))),
                None => (cells[1], None),
            };
            let ratings: Option<Vec<Rating>> = ratings.map(|r| {
                r.split(", ")
                    .map(|x| x.parse::<Rating>().unwrap())
                    .collect()
            });
            (
                cells[0].parse::<S>().unwrap(),
                action.parse::<A>().unwrap(),
                cells[2].parse::<R>().unwrap(),
                cells[3].parse::<S>().unwrap(),
                ratings,
            )
        })
        .collect();
    let table: Vec<_> = TRANSITIONS
        .iter()
        .map(|r| {
            (
                r.from,
                r.action,
                r.actor,
                r.to,
                r.ratings.map(<[Rating]>::to_vec),
            )
        })
        .collect();
    assert_eq!(rows, table);
}

#[test]
fn errors_name_state_and_action() {
    let err = next_state(
        S::Submitted,
        &Action::Reply {
            public_reply: None,
            internal_note: None,
        },
        R::Handler,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "action `reply` is not allowed in state `submitted`"
    );
    let err = next_state(S::Submitted, &sample(A::Accept), R::Handler).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a handler may not `accept` in state `submitted`"
    );
}

#[test]
fn blank_reasons_are_refused() {
    let blank_reject = Action::Reject {
        reason: "  ".into(),
    };
    assert_eq!(
        next_state(S::Submitted, &blank_reject, R::Office),
        Err(TransitionError::MissingReason { action: A::Reject })
    );
    let other_without_note = Action::Return {
        reason: ReturnReason::Other,
        note: String::new(),
    };
    assert!(next_state(S::Assigned, &other_without_note, R::Handler).is_err());
    let coded = Action::Return {
        reason: ReturnReason::Duplicate,
        note: String::new(),
    };
    assert_eq!(next_state(S::Assigned, &coded, R::Handler), Ok(S::Returned));
}

#[test]
fn allowed_actions_per_role() {
    // One `rate`, as clients send it, not one entry per rating.
    assert_eq!(allowed_actions(S::Published, R::Resident), [A::Rate]);
    assert_eq!(
        allowed_actions(S::Signed, R::Handler),
        [A::Reply, A::RequestExtension]
    );
    assert_eq!(
        allowed_actions(S::Reopened, R::Handler),
        allowed_actions(S::Assigned, R::Handler)
    );
    assert!(allowed_actions(S::Submitted, R::Handler).is_empty());
}

#[test]
fn urgency_days() {
    let days: Vec<u32> = Urgency::iter().map(Urgency::working_days).collect();
    assert_eq!(days, [1, 3, 7]);
    assert!(Rating::BasicallySatisfied.counts_as_satisfied());
    assert!(!Rating::Unsatisfied.counts_as_satisfied());
}

fn de<T: serde::de::DeserializeOwned>(s: &str) -> T {
    let d: StrDeserializer<'_, DeError> = s.into_deserializer();
    T::deserialize(d).unwrap()
}

/// The name strum derives (Display, FromStr, &str) is the serde name and, for stored enums, the
/// stored value: three derives, one vocabulary.
fn names_agree<T>()
where
    T: Iterable + Copy + PartialEq + std::fmt::Debug + std::fmt::Display,
    T: std::str::FromStr + serde::de::DeserializeOwned + Into<&'static str>,
    <T as std::str::FromStr>::Err: std::fmt::Debug,
{
    for v in T::iter() {
        let name: &'static str = v.into();
        assert_eq!(v.to_string(), name);
        assert_eq!(name.parse::<T>().unwrap(), v);
        assert_eq!(de::<T>(name), v);
    }
}

fn stored_as_names<T: sea_orm::ActiveEnum<Value = String> + Copy + Into<&'static str>>() {
    for v in T::iter() {
        let name: &'static str = v.into();
        assert_eq!(v.to_value(), name);
    }
}

#[test]
fn derived_names_serde_names_and_stored_values_agree() {
    names_agree::<S>();
    names_agree::<A>();
    names_agree::<R>();
    names_agree::<Urgency>();
    names_agree::<Rating>();
    names_agree::<ReturnReason>();
    names_agree::<PublicStatus>();
    stored_as_names::<S>();
    stored_as_names::<A>();
    stored_as_names::<PublicStatus>();
    assert!("Submitted".parse::<S>().is_err());
    assert_eq!(S::HeldForReview.to_string(), "held_for_review");
    assert_eq!(
        de::<ReturnReason>("not_our_remit"),
        ReturnReason::NotOurRemit
    );
}
