//! The pure core of the closed loop: given an appeal, an action and who acts, [`decide`] says
//! whether it is allowed and what changes, without touching the database. Each action's rule is
//! one small function below with its tests beside it; [`super::store`] reads the facts, applies
//! the change under the version guard and writes the event.
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use entity::appeals;
use sea_orm::Set;

use super::model::{
    checked_text, local_date, optional_text, Actor, Appeal, CONTENT_MAX, MAX_ASSISTING, REASON_MAX,
    REPLY_MAX,
};
use super::workflow::{
    next_state, Action, ActionKind, ActorRole, AppealState, ReturnReason, TransitionError,
};
use crate::calendar::workdays::{WorkCalendar, TIMEZONE};
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};

/// What the store read for rules that look beyond the appeal itself.
#[derive(Debug, Default)]
pub struct Facts {
    /// merge: the appeal named as master, if it exists.
    pub master: Option<Appeal>,
    /// assign, reassign: those of the named departments that exist.
    pub departments: Vec<i64>,
}

/// Everything one action changes: the columns to set, the event to record, and what follows.
#[derive(Debug)]
pub struct Change {
    pub kind: ActionKind,
    pub from: AppealState,
    pub to: AppealState,
    /// The columns to set; the store adds state, board projection, version and time.
    pub set: appeals::ActiveModel,
    pub reason: Option<String>,
    pub detail: Option<serde_json::Value>,
    /// The new content to index, when the action changed it.
    pub reindex: Option<String>,
    /// Some(the reply now shown on the board) when this action changes it.
    pub reply_change: Option<Option<String>>,
    /// The supervision notice the lead department receives, if any.
    pub notice: Option<&'static str>,
    /// Who the event names; the department is the appeal's unless a handler acts.
    pub event_actor: Actor,
}

/// The change under way while an action's rule fills it in.
#[derive(Default)]
struct Draft {
    set: appeals::ActiveModel,
    reason: Option<String>,
    detail: serde_json::Map<String, serde_json::Value>,
    reindex: Option<String>,
    reply_change: Option<Option<String>>,
}

impl Draft {
    fn note(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.detail.insert(key.into(), value.into());
    }
}

/// Decides one action on one appeal. The transition table says whether it is allowed; the
/// action's rule says what it changes. The caller has already checked the actor's part in the
/// appeal ([`check_party`]) and the version.
pub fn decide(
    a: &Appeal,
    action: &Action,
    actor: &Actor,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
    facts: &Facts,
) -> AppResult<Change> {
    let from = a.state;
    let to = next_state(from, action, actor.role).map_err(transition_error)?;
    let mut d = Draft::default();
    let row = &a.row;
    match action {
        Action::Submit | Action::Hold | Action::Sign => {}
        Action::Release => d.set.hold_reason = Set(None),
        Action::RequestInfo { question } => request_info(&mut d, question)?,
        Action::ProvideInfo { info } => provide_info(&mut d, a, info)?,
        Action::Accept { urgency } => {
            d.set.urgency = Set(Some(urgency.as_str().into()));
            d.set.accepted_at = Set(Some(now));
            d.note("urgency", urgency.as_str());
        }
        Action::Reject { reason } => {
            let r = checked_text("reason", reason, REASON_MAX, true)?;
            d.set.reject_reason = Set(Some(r.clone()));
            d.set.closed_at = Set(Some(now));
            d.reason = Some(r);
        }
        Action::Merge { master_id } => merge(&mut d, a, *master_id, facts.master.as_ref(), now)?,
        Action::Assign {
            lead_department_id,
            assisting_department_ids,
        }
        | Action::Reassign {
            lead_department_id,
            assisting_department_ids,
        } => assign(
            &mut d,
            a,
            *lead_department_id,
            assisting_department_ids,
            &facts.departments,
            calendar,
            now,
        )?,
        Action::Return { reason, note } => return_to_office(&mut d, a, *reason, note)?,
        Action::RequestExtension { reason, until } => {
            request_extension(&mut d, a, reason, *until, now)?
        }
        Action::ApproveExtension { deadline } => approve_extension(&mut d, a, *deadline)?,
        Action::RefuseExtension { comment } => {
            if row.extension_requested_until.is_none() {
                return Err(AppError::conflict(
                    ErrorCode::NoExtensionPending,
                    "no extension request is waiting",
                ));
            }
            d.set.extension_requested_until = Set(None);
            d.set.extension_reason = Set(None);
            d.reason = trimmed(comment);
        }
        Action::Reply {
            public_reply,
            internal_note,
        } => {
            let reply = checked_text(
                "public_reply",
                public_reply.as_deref().unwrap_or(""),
                REPLY_MAX,
                true,
            )?;
            let note = optional_text("internal_note", internal_note, REPLY_MAX, true)?;
            d.set.public_reply = Set(Some(reply.clone()));
            d.set.internal_note = Set(note);
            d.set.replied_at = Set(Some(now));
            d.note("public_reply", reply);
        }
        Action::ApproveReply { private } => approve_reply(&mut d, a, *private, now),
        Action::SendBack { reason } => {
            d.reason = Some(checked_text("reason", reason, REASON_MAX, true)?);
        }
        Action::Rate {
            rating,
            solved,
            comment,
        } => {
            let comment = optional_text("comment", comment, REASON_MAX, true)?;
            let solved = solved.ok_or_else(|| {
                AppError::validation("solved", "say whether the problem was solved")
            })?;
            d.set.rating = Set(Some(rating.as_str().into()));
            d.set.solved = Set(Some(solved));
            d.set.rating_comment = Set(comment.clone());
            d.set.rated_at = Set(Some(now));
            if to == AppealState::Closed {
                d.set.closed_at = Set(Some(now));
                d.set.close_reason = Set(Some("rated".into()));
            }
            d.note("rating", rating.as_str());
            d.note("solved", solved);
            d.reason = comment;
        }
        Action::Reopen => reopen(&mut d, a, calendar, now)?,
        Action::AutoClose => {
            d.set.closed_at = Set(Some(now));
            d.set.close_reason = Set(Some("not_rated".into()));
        }
        Action::Close { comment } => {
            d.set.closed_at = Set(Some(now));
            d.set.close_reason = Set(Some("closed_by_office".into()));
            d.reason = trimmed(comment);
        }
        Action::MarkOverdue => {
            d.set.overdue_at = Set(Some(now));
            d.note("deadline_at", row.deadline_at.map(|t| t.to_rfc3339()));
        }
        Action::Escalate => d.set.escalated_at = Set(Some(now)),
    }
    let event_actor = Actor {
        department_id: if actor.role == ActorRole::Handler {
            actor.department_id
        } else {
            row.lead_department_id.or(actor.department_id)
        },
        ..*actor
    };
    Ok(Change {
        kind: action.kind(),
        from,
        to,
        set: d.set,
        reason: d.reason,
        detail: (!d.detail.is_empty()).then_some(serde_json::Value::Object(d.detail)),
        reindex: d.reindex,
        reply_change: d.reply_change,
        notice: notice_level(action),
        event_actor,
    })
}

/// Whether `actor` may touch this appeal at all; `NotFound` hides others' appeals.
pub fn check_party(actor: &Actor, a: &appeals::Model) -> AppResult<()> {
    match actor.role {
        ActorRole::Resident if actor.user_id != Some(a.author_id) => Err(AppError::NotFound),
        ActorRole::Handler
            if actor.department_id.is_none() || a.lead_department_id != actor.department_id =>
        {
            Err(AppError::NotFound)
        }
        _ => Ok(()),
    }
}

/// The supervision notice an action sends its department, if any.
pub fn notice_level(action: &Action) -> Option<&'static str> {
    match action {
        Action::MarkOverdue => Some("overdue"),
        Action::Escalate => Some("escalated"),
        _ => None,
    }
}

pub fn transition_error(e: TransitionError) -> AppError {
    use TransitionError as T;
    match e {
        T::NotAllowed { state, action } => AppError::StateConflict {
            code: ErrorCode::InvalidTransition,
            message: format!("`{action}` is not allowed while the appeal is `{state}`"),
            state: state.as_str().into(),
            version: None,
        },
        T::WrongActor { .. } => AppError::ForbiddenWith {
            code: ErrorCode::ActionNotPermitted,
            message: e.to_string(),
        },
        T::MissingReason { .. } => AppError::validation("reason", e.to_string()),
    }
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
}

fn request_info(d: &mut Draft, question: &str) -> AppResult<()> {
    let q = checked_text("question", question, REASON_MAX, true)?;
    d.set.info_question = Set(Some(q.clone()));
    d.reason = Some(q);
    Ok(())
}

/// The resident's answer is appended to the content, which may grow to twice its limit.
fn provide_info(d: &mut Draft, a: &Appeal, info: &Option<String>) -> AppResult<()> {
    let info = checked_text("info", info.as_deref().unwrap_or(""), CONTENT_MAX, true)?;
    let content = format!("{}\n\n【补充】{}", a.row.content, info);
    if content.chars().count() > CONTENT_MAX * 2 {
        return Err(AppError::validation(
            "info",
            "the appeal is already as long as it may be",
        ));
    }
    d.set.content = Set(content.clone());
    d.set.info_question = Set(None);
    d.reindex = Some(content);
    d.reason = Some(info);
    Ok(())
}

/// A duplicate merges into an earlier, live appeal, never into itself.
fn merge(
    d: &mut Draft,
    a: &Appeal,
    master_id: i64,
    master: Option<&Appeal>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if master_id == a.row.id {
        return Err(AppError::validation(
            "master_id",
            "an appeal cannot be merged into itself",
        ));
    }
    let master = master
        .filter(|m| m.row.id == master_id)
        .ok_or_else(|| AppError::validation("master_id", "no such appeal"))?;
    let ms = master.state;
    if matches!(
        ms,
        AppealState::Merged
            | AppealState::Rejected
            | AppealState::HeldForReview
            | AppealState::Draft
    ) {
        return Err(AppError::validation(
            "master_id",
            format!("cannot merge into an appeal that is `{ms}`"),
        ));
    }
    if master.row.id > a.row.id {
        return Err(AppError::validation(
            "master_id",
            "merge into the earlier appeal",
        ));
    }
    d.set.master_id = Set(Some(master.row.id));
    d.set.closed_at = Set(Some(now));
    d.note("master_id", master.row.id);
    Ok(())
}

/// The clock starts on the day work may start: acceptance for an assignment (being returned
/// and reassigned does not restart it), the reopening for a reopened appeal.
fn deadline_from(
    calendar: &WorkCalendar,
    a: &Appeal,
    start: DateTime<Utc>,
) -> AppResult<DateTime<Utc>> {
    let u = a.urgency.ok_or_else(|| {
        AppError::conflict(
            ErrorCode::NoUrgency,
            "accept the appeal with an urgency first",
        )
    })?;
    Ok(calendar.deadline_for(start, u.working_days()))
}

/// The lead and assisting departments, in order, without repeats: the stored form delimits
/// them at both ends so `LIKE '%,5,%'` finds department 5 and not 15.
fn assisting_column(lead: i64, assisting: &[i64], known: &[i64]) -> AppResult<String> {
    if !known.contains(&lead) {
        return Err(AppError::validation(
            "lead_department_id",
            "no such department",
        ));
    }
    if assisting.len() > MAX_ASSISTING {
        return Err(AppError::validation(
            "assisting_department_ids",
            format!("at most {MAX_ASSISTING} assisting departments"),
        ));
    }
    let mut ids = Vec::new();
    for &dept in assisting {
        if dept == lead {
            return Err(AppError::validation(
                "assisting_department_ids",
                "the lead department cannot also assist",
            ));
        }
        if !known.contains(&dept) {
            return Err(AppError::validation(
                "assisting_department_ids",
                "no such department",
            ));
        }
        if !ids.contains(&dept) {
            ids.push(dept);
        }
    }
    Ok(if ids.is_empty() {
        String::new()
    } else {
        format!(
            ",{},",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )
    })
}

fn assign(
    d: &mut Draft,
    a: &Appeal,
    lead: i64,
    assisting: &[i64],
    known: &[i64],
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let column = assisting_column(lead, assisting, known)?;
    let deadline = deadline_from(calendar, a, a.row.accepted_at.unwrap_or(now))?;
    d.set.lead_department_id = Set(Some(lead));
    d.set.assisting_department_ids = Set(column);
    d.set.assigned_at = Set(Some(now));
    d.set.deadline_at = Set(Some(deadline));
    d.set.overdue_at = Set(None);
    d.set.escalated_at = Set(None);
    d.note("lead_department_id", lead);
    d.note("assisting_department_ids", assisting.to_vec());
    d.note("deadline_at", deadline.to_rfc3339());
    Ok(())
}

/// Handing back clears the department, its deadline and any pending extension request.
fn return_to_office(d: &mut Draft, a: &Appeal, code: ReturnReason, note: &str) -> AppResult<()> {
    let note = note.trim();
    if note.chars().count() > REASON_MAX {
        return Err(AppError::validation(
            "note",
            format!("at most {REASON_MAX} characters"),
        ));
    }
    d.set.lead_department_id = Set(None);
    d.set.assisting_department_ids = Set(String::new());
    d.set.deadline_at = Set(None);
    d.set.extension_requested_until = Set(None);
    d.set.extension_reason = Set(None);
    d.note("reason_code", code.as_str());
    d.note("department_id", a.row.lead_department_id);
    d.reason = Some(if note.is_empty() {
        code.as_str().to_string()
    } else {
        format!("{}: {note}", code.as_str())
    });
    Ok(())
}

/// The extension window: asked before the deadline, one request at a time, for a later date.
fn request_extension(
    d: &mut Draft,
    a: &Appeal,
    reason: &str,
    until: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let r = checked_text("reason", reason, REASON_MAX, true)?;
    let deadline = a
        .row
        .deadline_at
        .ok_or_else(|| AppError::conflict(ErrorCode::NoDeadline, "the appeal has no deadline"))?;
    if now > deadline {
        return Err(AppError::conflict(
            ErrorCode::DeadlinePassed,
            "an extension must be asked for before the deadline",
        ));
    }
    if a.row.extension_requested_until.is_some() {
        return Err(AppError::conflict(
            ErrorCode::ExtensionPending,
            "an extension request is already waiting",
        ));
    }
    let until =
        until.ok_or_else(|| AppError::validation("until", "the date asked for is required"))?;
    if until <= local_date(deadline) {
        return Err(AppError::validation(
            "until",
            "must be after the current deadline",
        ));
    }
    d.set.extension_requested_until = Set(Some(until.to_string()));
    d.set.extension_reason = Set(Some(r.clone()));
    d.note("until", until.to_string());
    d.reason = Some(r);
    Ok(())
}

/// The office grants the date asked for, or another later one; the new deadline ends that day
/// and clears the overdue and escalation marks.
fn approve_extension(d: &mut Draft, a: &Appeal, date: Option<NaiveDate>) -> AppResult<()> {
    let requested = a.extension_requested_until.ok_or_else(|| {
        AppError::conflict(
            ErrorCode::NoExtensionPending,
            "no extension request is waiting",
        )
    })?;
    let date = date.unwrap_or(requested);
    if a.row.deadline_at.map(local_date).is_some_and(|c| date <= c) {
        return Err(AppError::validation(
            "deadline",
            "must be after the current deadline",
        ));
    }
    let deadline = end_of_day(date)?;
    d.set.deadline_at = Set(Some(deadline));
    d.set.extension_requested_until = Set(None);
    d.set.extension_reason = Set(None);
    d.set.overdue_at = Set(None);
    d.set.escalated_at = Set(None);
    d.note("deadline_at", deadline.to_rfc3339());
    Ok(())
}

/// A private appeal's reply is always private; a public one's when the office says so.
fn approve_reply(d: &mut Draft, a: &Appeal, private: Option<bool>, now: DateTime<Utc>) {
    let private = private.unwrap_or(false) || !a.row.is_public;
    d.set.reply_private = Set(private);
    d.set.published_at = Set(Some(now));
    d.note("private", private);
    d.reply_change = Some(a.row.public_reply.clone().filter(|_| !private));
    if let Some(r) = &a.row.public_reply {
        d.note("public_reply", r.clone());
    }
}

/// Rework after an unsatisfied rating: a new deadline from today, and the reply and rating of
/// the last round cleared.
fn reopen(d: &mut Draft, a: &Appeal, calendar: &WorkCalendar, now: DateTime<Utc>) -> AppResult<()> {
    let deadline = deadline_from(calendar, a, now)?;
    let count = a.row.reopen_count + 1;
    d.set.reopen_count = Set(count);
    d.set.deadline_at = Set(Some(deadline));
    d.set.assigned_at = Set(Some(now));
    d.set.overdue_at = Set(None);
    d.set.escalated_at = Set(None);
    d.set.public_reply = Set(None);
    d.reply_change = Some(None);
    d.set.internal_note = Set(None);
    d.set.replied_at = Set(None);
    d.set.published_at = Set(None);
    d.set.rating = Set(None);
    d.set.solved = Set(None);
    d.set.rating_comment = Set(None);
    d.set.rated_at = Set(None);
    d.note("deadline_at", deadline.to_rfc3339());
    d.note("reopen_count", count);
    Ok(())
}

/// 23:59:59 local time on `date`, in UTC.
pub fn end_of_day(date: NaiveDate) -> AppResult<DateTime<Utc>> {
    let t = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default();
    TIMEZONE
        .from_local_datetime(&date.and_time(t))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| AppError::validation("deadline", "not a valid local date"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
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
            state: state.as_str().into(),
            on_board: false,
            board_status: None,
            urgency: Some(Urgency::Urgent.as_str().into()),
            lead_department_id: None,
            assisting_department_ids: String::new(),
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
        assert_eq!(set(&c.set.assisting_department_ids), ",12,11,");
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
            r.rating = Some(Rating::Unsatisfied.as_str().into());
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
}
