//! Each action's rule, decided on a typed appeal without a database.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::board::workflow::{Rating, Urgency};
use sea_orm::ActiveValue;

const OFFICE: Actor = Actor {
    user_id: Some(2),
    role: ActorRole::Office,
    department_id: None,
};
const HANDLER: Actor = Actor {
    user_id: Some(3),
    role: ActorRole::Handler,
    department_id: Some(10),
};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Monday 2025-10-06, 10:00 in the county.
fn monday() -> DateTime<Utc> {
    at("2025-10-06T02:00:00Z")
}

fn row(id: i64, state: AppealState) -> appeals::Model {
    appeals::Model {
        id,
        author_id: 1,
        title: "路灯坏了".into(),
        content: "村口路灯坏了".into(),
        category_id: 1,
        village_id: 1,
        address: None,
        lat: None,
        lng: None,
        contact_phone_enc: None,
        is_public: true,
        state,
        on_board: false,
        board_status: None,
        urgency: Some(Urgency::Urgent.to_string()),
        lead_department_id: None,
        deadline_at: None,
        accepted_at: Some(monday()),
        assigned_at: None,
        overdue_at: None,
        escalated_at: None,
        reopen_count: 0,
        master_id: None,
        extension_requested_until: None,
        extension_reason: None,
        info_question: None,
        reject_reason: None,
        public_reply: None,
        internal_note: None,
        reply_private: false,
        replied_at: None,
        published_at: None,
        rating: None,
        solved: None,
        rating_comment: None,
        rated_at: None,
        closed_at: None,
        close_reason: None,
        hold_reason: None,
        version: 1,
        created_at: monday(),
        updated_at: monday(),
    }
}

fn appeal(state: AppealState, edit: impl FnOnce(&mut appeals::Model)) -> Appeal {
    let mut r = row(5, state);
    edit(&mut r);
    Appeal::from_row(r).unwrap()
}

fn run(a: &Appeal, action: Action, actor: &Actor, now: DateTime<Utc>) -> AppResult<Change> {
    run_with(a, action, actor, now, &Facts::default())
}

fn run_with(
    a: &Appeal,
    action: Action,
    actor: &Actor,
    now: DateTime<Utc>,
    facts: &Facts,
) -> AppResult<Change> {
    decide(
        a,
        &action,
        actor,
        &WorkCalendar::new(Vec::new()),
        now,
        facts,
    )
}

fn set<T: Clone + Into<sea_orm::Value>>(v: &ActiveValue<T>) -> T {
    match v {
        ActiveValue::Set(x) => x.clone(),
        _ => panic!("not set"),
    }
}

fn field(e: AppError) -> String {
    match e {
        AppError::Validation { field, .. } => field,
        e => panic!("{e:?}"),
    }
}

fn signed_with_deadline() -> Appeal {
    appeal(AppealState::Signed, |r| {
        r.lead_department_id = Some(10);
        r.deadline_at = Some(at("2025-10-07T15:59:59Z"));
    })
}

fn extension(until: Option<&str>) -> Action {
    Action::RequestExtension {
        reason: "需要协调".into(),
        until: until.map(|d| d.parse().unwrap()),
    }
}

#[test]
fn the_table_refuses_before_any_rule() {
    let a = appeal(AppealState::Submitted, |_| {});
    let e = run(&a, Action::Sign, &HANDLER, monday()).unwrap_err();
    assert_eq!(e.code(), "invalid_transition");
    let e = run(
        &a,
        Action::Accept {
            urgency: Urgency::General,
        },
        &HANDLER,
        monday(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "action_not_permitted");
}

#[test]
fn accept_sets_the_urgency() {
    let a = appeal(AppealState::Submitted, |r| r.urgency = None);
    let c = run(
        &a,
        Action::Accept {
            urgency: Urgency::General,
        },
        &OFFICE,
        monday(),
    )
    .unwrap();
    assert_eq!(c.to, AppealState::Accepted);
    assert_eq!(set(&c.set.urgency).as_deref(), Some("general"));
    assert_eq!(set(&c.set.accepted_at), Some(monday()));
}

#[test]
fn assignment_deadline_runs_from_acceptance() {
    let a = appeal(AppealState::Accepted, |_| {});
    let later = at("2025-10-08T02:00:00Z");
    let facts = Facts {
        departments: vec![10, 11, 12],
        ..Facts::default()
    };
    let assign = |assisting: Vec<i64>| Action::Assign {
        lead_department_id: 10,
        assisting_department_ids: assisting,
    };
    let c = run_with(&a, assign(vec![12, 11, 12]), &OFFICE, later, &facts).unwrap();
    // Urgent, accepted Monday morning: due Tuesday 23:59:59 local, though assigned Wednesday.
    assert_eq!(set(&c.set.deadline_at), Some(at("2025-10-07T15:59:59Z")));
    assert_eq!(c.assisting, Some(vec![12, 11]));
    assert_eq!(set(&c.set.assigned_at), Some(later));
    assert_eq!(c.event_actor.department_id, None);
    let bad = |assisting, facts: &Facts| {
        field(run_with(&a, assign(assisting), &OFFICE, later, facts).unwrap_err())
    };
    assert_eq!(bad(vec![10], &facts), "assisting_department_ids");
    assert_eq!(bad(vec![99], &facts), "assisting_department_ids");
    assert_eq!(bad(vec![11; 6], &facts), "assisting_department_ids");
    assert_eq!(bad(vec![], &Facts::default()), "lead_department_id");
    let no_urgency = appeal(AppealState::Accepted, |r| r.urgency = None);
    let e = run_with(&no_urgency, assign(vec![]), &OFFICE, later, &facts).unwrap_err();
    assert_eq!(e.code(), "no_urgency");
}

#[test]
fn extension_window() {
    let a = signed_with_deadline();
    let c = run(&a, extension(Some("2025-10-10")), &HANDLER, monday()).unwrap();
    assert_eq!(c.to, AppealState::Signed);
    assert_eq!(
        set(&c.set.extension_requested_until).as_deref(),
        Some("2025-10-10")
    );
    assert_eq!(c.event_actor.department_id, Some(10));
    let late = at("2025-10-08T00:00:00Z");
    let e = run(&a, extension(Some("2025-10-10")), &HANDLER, late).unwrap_err();
    assert_eq!(e.code(), "deadline_passed");
    let e = run(&a, extension(Some("2025-10-07")), &HANDLER, monday()).unwrap_err();
    assert_eq!(field(e), "until");
    let e = run(&a, extension(None), &HANDLER, monday()).unwrap_err();
    assert_eq!(field(e), "until");
    let pending = appeal(AppealState::Signed, |r| {
        r.lead_department_id = Some(10);
        r.deadline_at = Some(at("2025-10-07T15:59:59Z"));
        r.extension_requested_until = Some("2025-10-09".into());
    });
    let e = run(&pending, extension(Some("2025-10-10")), &HANDLER, monday()).unwrap_err();
    assert_eq!(e.code(), "extension_pending");
    let no_deadline = appeal(AppealState::Signed, |r| r.lead_department_id = Some(10));
    let e = run(
        &no_deadline,
        extension(Some("2025-10-10")),
        &HANDLER,
        monday(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "no_deadline");
}

#[test]
fn approving_an_extension_moves_the_deadline_and_clears_the_marks() {
    let a = appeal(AppealState::Signed, |r| {
        r.deadline_at = Some(at("2025-10-07T15:59:59Z"));
        r.extension_requested_until = Some("2025-10-09".into());
        r.overdue_at = Some(monday());
    });
    let c = run(
        &a,
        Action::ApproveExtension { deadline: None },
        &OFFICE,
        monday(),
    )
    .unwrap();
    assert_eq!(set(&c.set.deadline_at), Some(at("2025-10-09T15:59:59Z")));
    assert_eq!(set(&c.set.overdue_at), None);
    assert_eq!(set(&c.set.extension_requested_until), None);
    let earlier = Action::ApproveExtension {
        deadline: Some("2025-10-07".parse().unwrap()),
    };
    assert_eq!(
        field(run(&a, earlier, &OFFICE, monday()).unwrap_err()),
        "deadline"
    );
    let none = signed_with_deadline();
    let e = run(
        &none,
        Action::ApproveExtension { deadline: None },
        &OFFICE,
        monday(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "no_extension_pending");
    let e = run(
        &none,
        Action::RefuseExtension { comment: None },
        &OFFICE,
        monday(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "no_extension_pending");
}

#[test]
fn reopen_resets_the_round_and_restarts_the_clock() {
    let a = appeal(AppealState::RatedUnsatisfied, |r| {
        r.public_reply = Some("已修好".into());
        r.rating = Some(Rating::Unsatisfied.to_string());
        r.solved = Some(false);
        r.reopen_count = 1;
    });
    let wednesday = at("2025-10-08T02:00:00Z");
    let c = run(&a, Action::Reopen, &OFFICE, wednesday).unwrap();
    assert_eq!(c.to, AppealState::Reopened);
    assert_eq!(set(&c.set.reopen_count), 2);
    assert_eq!(set(&c.set.deadline_at), Some(at("2025-10-09T15:59:59Z")));
    assert_eq!(set(&c.set.public_reply), None);
    assert_eq!(set(&c.set.rating), None);
    assert_eq!(set(&c.set.solved), None);
    assert_eq!(c.reply_change, Some(None));
}

#[test]
fn merge_goes_into_an_earlier_live_appeal() {
    let a = appeal(AppealState::Submitted, |_| {});
    let merge = |id| Action::Merge { master_id: id };
    let master = |id, state| Facts {
        master: Some(Appeal::from_row(row(id, state)).unwrap()),
        ..Facts::default()
    };
    let c = run_with(
        &a,
        merge(3),
        &OFFICE,
        monday(),
        &master(3, AppealState::Accepted),
    )
    .unwrap();
    assert_eq!(set(&c.set.master_id), Some(3));
    assert_eq!(c.to, AppealState::Merged);
    for (id, facts) in [
        (5, master(5, AppealState::Accepted)),
        (3, Facts::default()),
        (3, master(3, AppealState::Rejected)),
        (8, master(8, AppealState::Accepted)),
    ] {
        let e = run_with(&a, merge(id), &OFFICE, monday(), &facts).unwrap_err();
        assert_eq!(field(e), "master_id", "{id}");
    }
}

#[test]
fn a_rating_closes_unless_unsatisfied() {
    let a = appeal(AppealState::Published, |_| {});
    let resident = Actor {
        user_id: Some(1),
        role: ActorRole::Resident,
        department_id: None,
    };
    let rate = |rating, solved| Action::Rate {
        rating,
        solved,
        comment: Some("  ".into()),
    };
    let c = run(&a, rate(Rating::Satisfied, Some(true)), &resident, monday()).unwrap();
    assert_eq!(c.to, AppealState::Closed);
    assert_eq!(set(&c.set.close_reason).as_deref(), Some("rated"));
    assert_eq!(c.reason, None);
    let c = run(
        &a,
        rate(Rating::Unsatisfied, Some(false)),
        &resident,
        monday(),
    )
    .unwrap();
    assert_eq!(c.to, AppealState::RatedUnsatisfied);
    assert!(matches!(c.set.close_reason, ActiveValue::NotSet));
    let e = run(&a, rate(Rating::Satisfied, None), &resident, monday()).unwrap_err();
    assert_eq!(field(e), "solved");
}

#[test]
fn a_private_appeal_gets_a_private_reply() {
    let a = appeal(AppealState::Replied, |r| {
        r.is_public = false;
        r.public_reply = Some("已处理".into());
    });
    let c = run(
        &a,
        Action::ApproveReply { private: None },
        &OFFICE,
        monday(),
    )
    .unwrap();
    assert!(set(&c.set.reply_private));
    assert_eq!(c.reply_change, Some(None));
    let public = appeal(AppealState::Replied, |r| {
        r.public_reply = Some("已处理".into())
    });
    let c = run(
        &public,
        Action::ApproveReply { private: None },
        &OFFICE,
        monday(),
    )
    .unwrap();
    assert_eq!(c.reply_change, Some(Some("已处理".into())));
}

#[test]
fn info_is_appended_and_reindexed() {
    let a = appeal(AppealState::InfoRequested, |_| {});
    let resident = Actor {
        user_id: Some(1),
        role: ActorRole::Resident,
        department_id: None,
    };
    let info = |s: &str| Action::ProvideInfo {
        info: Some(s.into()),
    };
    let c = run(&a, info(" 在3组 "), &resident, monday()).unwrap();
    assert_eq!(c.reindex.as_deref(), Some("村口路灯坏了\n\n【补充】在3组"));
    assert_eq!(c.reason.as_deref(), Some("在3组"));
    assert_eq!(
        field(run(&a, info(""), &resident, monday()).unwrap_err()),
        "info"
    );
}

#[test]
fn supervision_actions_send_notices() {
    let a = signed_with_deadline();
    let c = run(&a, Action::MarkOverdue, &Actor::SYSTEM, monday()).unwrap();
    assert_eq!(c.notice, Some("overdue"));
    assert_eq!(c.event_actor.department_id, Some(10));
    let c = run(&a, Action::Escalate, &Actor::SYSTEM, monday()).unwrap();
    assert_eq!(c.notice, Some("escalated"));
    assert_eq!(notice_level(&Action::AutoClose), None);
}

#[test]
fn a_handler_touches_only_the_appeals_it_leads() {
    let mut r = row(5, AppealState::Assigned);
    assert!(check_party(&HANDLER, &r).is_err());
    r.lead_department_id = Some(10);
    assert!(check_party(&HANDLER, &r).is_ok());
    let stranger = Actor {
        user_id: Some(9),
        role: ActorRole::Resident,
        department_id: None,
    };
    assert!(check_party(&stranger, &r).is_err());
}
