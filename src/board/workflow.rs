//! The appeal state machine: one table of allowed transitions.
//!
//! Every change of an appeal's state goes through [`next_state`], which looks the
//! move up in [`TRANSITIONS`]; nothing else decides what is allowed, so the table
//! below is the whole workflow. A test checks that it matches [`TRANSITIONS`] row
//! for row.
//!
//! Two states beyond the brief's list keep the table deterministic:
//! `draft` is where `submit` starts (the appeal does not exist before it), and
//! `rated_unsatisfied` is where an unsatisfied rating waits for the office to
//! decide between `reopen` (rework) and `close`.
//!
//! `rate` is one action with a rating, as clients send it; the rating chooses its row (the
//! ratings in brackets), so the table, `allowed_actions` and the request body share one
//! vocabulary.
//!
//! Rows whose `to` equals `from` are *flag-only*: extension requests and decisions,
//! overdue marks and escalation (督办) are recorded as events or flags beside the
//! appeal and leave its main state alone. Whether an extension request is pending
//! is such a flag, so the caller checks it before `approve_extension` or
//! `refuse_extension`.
//!
//! | from | action | actor | to |
//! |---|---|---|---|
//! | draft | submit | resident | submitted |
//! | draft | hold | system | held_for_review |
//! | submitted | hold | system | held_for_review |
//! | submitted | request_info | office | info_requested |
//! | submitted | accept | office | accepted |
//! | submitted | reject | office | rejected |
//! | submitted | merge | office | merged |
//! | held_for_review | release | system | submitted |
//! | held_for_review | release | office | submitted |
//! | held_for_review | reject | office | rejected |
//! | info_requested | provide_info | resident | submitted |
//! | info_requested | reject | office | rejected |
//! | accepted | assign | office | assigned |
//! | accepted | merge | office | merged |
//! | accepted | request_info | office | info_requested |
//! | assigned | sign | handler | signed |
//! | assigned | return | handler | returned |
//! | assigned | mark_overdue | system | assigned |
//! | assigned | escalate | office | assigned |
//! | assigned | escalate | system | assigned |
//! | signed | reply | handler | replied |
//! | signed | request_extension | handler | signed |
//! | signed | approve_extension | office | signed |
//! | signed | refuse_extension | office | signed |
//! | signed | mark_overdue | system | signed |
//! | signed | escalate | office | signed |
//! | signed | escalate | system | signed |
//! | returned | reassign | office | assigned |
//! | returned | request_info | office | info_requested |
//! | returned | merge | office | merged |
//! | returned | reject | office | rejected |
//! | replied | approve_reply | office | published |
//! | replied | send_back | office | signed |
//! | published | rate (satisfied, basically_satisfied) | resident | closed |
//! | published | rate (unsatisfied) | resident | rated_unsatisfied |
//! | published | auto_close | system | closed |
//! | rated_unsatisfied | reopen | office | reopened |
//! | rated_unsatisfied | close | office | closed |
//! | reopened | sign | handler | signed |
//! | reopened | return | handler | returned |
//! | reopened | mark_overdue | system | reopened |
//! | reopened | escalate | office | reopened |
//! | reopened | escalate | system | reopened |
//!
//! Notes on choices the table encodes:
//! - `hold` from `draft` is the synchronous content check at submission; from
//!   `submitted` it is a later asynchronous verdict (e.g. on photos).
//! - `provide_info` always goes back to `submitted`: the office re-reads the appeal
//!   with the new information and accepts (and grades urgency) again.
//! - A department returns an appeal only before signing for it: signing takes
//!   responsibility. `merge` is also allowed from `returned` because `duplicate`
//!   is a return reason.
//! - `send_back` goes to `signed`: the same department reworks it, clock running.
//! - The deadline clock runs only in `assigned`, `signed` and `reopened`, and
//!   `mark_overdue`/`escalate` are allowed exactly there.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Where an appeal is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealState {
    /// Being composed; `submit` is the first transition.
    Draft,
    /// Passed the content check, awaiting the office.
    Submitted,
    /// The content check flagged it; a person must clear it.
    HeldForReview,
    /// The office asked the resident for more; the clock is stopped.
    InfoRequested,
    /// The office accepted it and set its urgency.
    Accepted,
    /// Terminal: refused, with a reason.
    Rejected,
    /// Terminal: a duplicate of a master appeal.
    Merged,
    /// Assigned to a lead department with a deadline.
    Assigned,
    /// The lead department signed for it.
    Signed,
    /// The department handed it back to the office with a reason code.
    Returned,
    /// The department replied; the office reviews the reply.
    Replied,
    /// The reply is public; awaiting the resident's rating.
    Published,
    /// The resident rated the handling unsatisfied; the office decides.
    RatedUnsatisfied,
    /// Terminal: the loop is done.
    Closed,
    /// Sent back for rework after an unsatisfied rating; like `assigned`.
    Reopened,
}

impl AppealState {
    pub const ALL: [AppealState; 15] = [
        Self::Draft,
        Self::Submitted,
        Self::HeldForReview,
        Self::InfoRequested,
        Self::Accepted,
        Self::Rejected,
        Self::Merged,
        Self::Assigned,
        Self::Signed,
        Self::Returned,
        Self::Replied,
        Self::Published,
        Self::RatedUnsatisfied,
        Self::Closed,
        Self::Reopened,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::HeldForReview => "held_for_review",
            Self::InfoRequested => "info_requested",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Merged => "merged",
            Self::Assigned => "assigned",
            Self::Signed => "signed",
            Self::Returned => "returned",
            Self::Replied => "replied",
            Self::Published => "published",
            Self::RatedUnsatisfied => "rated_unsatisfied",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No action leaves a terminal state.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Rejected | Self::Merged | Self::Closed)
    }

    /// Whether the handling deadline counts down in this state.
    pub const fn clock_running(self) -> bool {
        matches!(self, Self::Assigned | Self::Signed | Self::Reopened)
    }
}

impl fmt::Display for AppealState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performs an action. `Resident` is the appeal's author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    Resident,
    Office,
    /// A handler of the appeal's lead department.
    Handler,
    System,
}

impl ActorRole {
    pub const ALL: [ActorRole; 4] = [Self::Resident, Self::Office, Self::Handler, Self::System];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Office => "office",
            Self::Handler => "handler",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for ActorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Urgency set at acceptance; the reply is due within this many working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Urgent,
    TimeLimited,
    General,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Self::Urgent, Self::TimeLimited, Self::General];

    pub const fn working_days(self) -> u32 {
        match self {
            Self::Urgent => 1,
            Self::TimeLimited => 3,
            Self::General => 7,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::TimeLimited => "time_limited",
            Self::General => "general",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

/// The resident's verdict on the handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
}

impl Rating {
    pub const ALL: [Rating; 3] = [Self::Satisfied, Self::BasicallySatisfied, Self::Unsatisfied];

    /// Published satisfaction rates count "basically satisfied" as satisfied.
    pub const fn counts_as_satisfied(self) -> bool {
        !matches!(self, Self::Unsatisfied)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Satisfied => "satisfied",
            Self::BasicallySatisfied => "basically_satisfied",
            Self::Unsatisfied => "unsatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Why a department hands an appeal back to the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    NotOurRemit,
    NeedsOtherDepartment,
    InsufficientInformation,
    Duplicate,
    /// Needs a free-text note.
    Other,
}

impl ReturnReason {
    pub const ALL: [ReturnReason; 5] = [
        Self::NotOurRemit,
        Self::NeedsOtherDepartment,
        Self::InsufficientInformation,
        Self::Duplicate,
        Self::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotOurRemit => "not_our_remit",
            Self::NeedsOtherDepartment => "needs_other_department",
            Self::InsufficientInformation => "insufficient_information",
            Self::Duplicate => "duplicate",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An action with the data it carries: each variant holds its own payload, so one parse of the
/// request body yields everything the action needs. The table keys on [`ActionKind`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Submit,
    Hold,
    Release,
    RequestInfo {
        question: String,
    },
    ProvideInfo {
        /// What the resident adds.
        info: Option<String>,
    },
    Accept {
        urgency: Urgency,
    },
    Reject {
        reason: String,
    },
    Merge {
        master_id: i64,
    },
    Assign {
        lead_department_id: i64,
        #[serde(default)]
        assisting_department_ids: Vec<i64>,
    },
    Sign,
    Return {
        reason: ReturnReason,
        #[serde(default)]
        note: String,
    },
    Reassign {
        lead_department_id: i64,
        #[serde(default)]
        assisting_department_ids: Vec<i64>,
    },
    RequestExtension {
        reason: String,
        /// The date the department asks for (YYYY-MM-DD).
        until: Option<NaiveDate>,
    },
    ApproveExtension {
        /// The new deadline date; the requested one when absent.
        deadline: Option<NaiveDate>,
    },
    RefuseExtension {
        comment: Option<String>,
    },
    Reply {
        /// The answer published to the resident (and the board, if public).
        public_reply: Option<String>,
        /// The department's internal handling note, for staff only.
        internal_note: Option<String>,
    },
    ApproveReply {
        /// Answer privately (only the author sees the reply).
        private: Option<bool>,
    },
    SendBack {
        reason: String,
    },
    Rate {
        rating: Rating,
        /// Was the problem solved?
        solved: Option<bool>,
        comment: Option<String>,
    },
    Reopen,
    AutoClose,
    Close {
        comment: Option<String>,
    },
    MarkOverdue,
    Escalate,
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Submit => ActionKind::Submit,
            Self::Hold => ActionKind::Hold,
            Self::Release => ActionKind::Release,
            Self::RequestInfo { .. } => ActionKind::RequestInfo,
            Self::ProvideInfo { .. } => ActionKind::ProvideInfo,
            Self::Accept { .. } => ActionKind::Accept,
            Self::Reject { .. } => ActionKind::Reject,
            Self::Merge { .. } => ActionKind::Merge,
            Self::Assign { .. } => ActionKind::Assign,
            Self::Sign => ActionKind::Sign,
            Self::Return { .. } => ActionKind::Return,
            Self::Reassign { .. } => ActionKind::Reassign,
            Self::RequestExtension { .. } => ActionKind::RequestExtension,
            Self::ApproveExtension { .. } => ActionKind::ApproveExtension,
            Self::RefuseExtension { .. } => ActionKind::RefuseExtension,
            Self::Reply { .. } => ActionKind::Reply,
            Self::ApproveReply { .. } => ActionKind::ApproveReply,
            Self::SendBack { .. } => ActionKind::SendBack,
            Self::Rate { .. } => ActionKind::Rate,
            Self::Reopen => ActionKind::Reopen,
            Self::AutoClose => ActionKind::AutoClose,
            Self::Close { .. } => ActionKind::Close,
            Self::MarkOverdue => ActionKind::MarkOverdue,
            Self::Escalate => ActionKind::Escalate,
        }
    }

    /// The rating a `rate` carries; it chooses the row of the table.
    pub fn rating(&self) -> Option<Rating> {
        match self {
            Self::Rate { rating, .. } => Some(*rating),
            _ => None,
        }
    }

    /// The free text that must not be blank, if this action needs one.
    fn required_text(&self) -> Option<&str> {
        match self {
            Self::RequestInfo { question } => Some(question),
            Self::Reject { reason } | Self::RequestExtension { reason, .. } => Some(reason),
            Self::SendBack { reason } => Some(reason),
            Self::Return {
                reason: ReturnReason::Other,
                note,
            } => Some(note),
            _ => None,
        }
    }
}

/// An action without its data, named as clients send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Submit,
    Hold,
    Release,
    RequestInfo,
    ProvideInfo,
    Accept,
    Reject,
    Merge,
    Assign,
    Sign,
    Return,
    Reassign,
    RequestExtension,
    ApproveExtension,
    RefuseExtension,
    Reply,
    ApproveReply,
    SendBack,
    Rate,
    Reopen,
    AutoClose,
    Close,
    MarkOverdue,
    Escalate,
}

impl ActionKind {
    pub const ALL: [ActionKind; 24] = [
        Self::Submit,
        Self::Hold,
        Self::Release,
        Self::RequestInfo,
        Self::ProvideInfo,
        Self::Accept,
        Self::Reject,
        Self::Merge,
        Self::Assign,
        Self::Sign,
        Self::Return,
        Self::Reassign,
        Self::RequestExtension,
        Self::ApproveExtension,
        Self::RefuseExtension,
        Self::Reply,
        Self::ApproveReply,
        Self::SendBack,
        Self::Rate,
        Self::Reopen,
        Self::AutoClose,
        Self::Close,
        Self::MarkOverdue,
        Self::Escalate,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Hold => "hold",
            Self::Release => "release",
            Self::RequestInfo => "request_info",
            Self::ProvideInfo => "provide_info",
            Self::Accept => "accept",
            Self::Reject => "reject",
            Self::Merge => "merge",
            Self::Assign => "assign",
            Self::Sign => "sign",
            Self::Return => "return",
            Self::Reassign => "reassign",
            Self::RequestExtension => "request_extension",
            Self::ApproveExtension => "approve_extension",
            Self::RefuseExtension => "refuse_extension",
            Self::Reply => "reply",
            Self::ApproveReply => "approve_reply",
            Self::SendBack => "send_back",
            Self::Rate => "rate",
            Self::Reopen => "reopen",
            Self::AutoClose => "auto_close",
            Self::Close => "close",
            Self::MarkOverdue => "mark_overdue",
            Self::Escalate => "escalate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: AppealState,
    pub action: ActionKind,
    pub actor: ActorRole,
    pub to: AppealState,
    /// For `rate`: the ratings that take this row; `None` for every other action.
    pub ratings: Option<&'static [Rating]>,
}

impl Transition {
    /// Whether `action` (of this row's kind) takes this row rather than a sibling.
    pub fn admits(&self, action: &Action) -> bool {
        match (self.ratings, action.rating()) {
            (None, _) => true,
            (Some(ratings), Some(r)) => ratings.contains(&r),
            (Some(_), None) => false,
        }
    }

    /// Extension, overdue and escalation rows record an event and keep the state.
    pub fn is_flag_only(&self) -> bool {
        self.from == self.to
    }
}

const fn t(from: AppealState, action: ActionKind, actor: ActorRole, to: AppealState) -> Transition {
    Transition {
        from,
        action,
        actor,
        to,
        ratings: None,
    }
}

/// A `rate` row: the resident's rating decides where the appeal goes.
const fn rate(ratings: &'static [Rating], to: AppealState) -> Transition {
    Transition {
        from: AppealState::Published,
        action: ActionKind::Rate,
        actor: ActorRole::Resident,
        to,
        ratings: Some(ratings),
    }
}

use ActionKind as A;
use ActorRole as R;
use AppealState as S;

/// The whole workflow; the module doc shows it as a table.
pub const TRANSITIONS: &[Transition] = &[
    t(S::Draft, A::Submit, R::Resident, S::Submitted),
    t(S::Draft, A::Hold, R::System, S::HeldForReview),
    t(S::Submitted, A::Hold, R::System, S::HeldForReview),
    t(S::Submitted, A::RequestInfo, R::Office, S::InfoRequested),
    t(S::Submitted, A::Accept, R::Office, S::Accepted),
    t(S::Submitted, A::Reject, R::Office, S::Rejected),
    t(S::Submitted, A::Merge, R::Office, S::Merged),
    t(S::HeldForReview, A::Release, R::System, S::Submitted),
    t(S::HeldForReview, A::Release, R::Office, S::Submitted),
    t(S::HeldForReview, A::Reject, R::Office, S::Rejected),
    t(S::InfoRequested, A::ProvideInfo, R::Resident, S::Submitted),
    t(S::InfoRequested, A::Reject, R::Office, S::Rejected),
    t(S::Accepted, A::Assign, R::Office, S::Assigned),
    t(S::Accepted, A::Merge, R::Office, S::Merged),
    t(S::Accepted, A::RequestInfo, R::Office, S::InfoRequested),
    t(S::Assigned, A::Sign, R::Handler, S::Signed),
    t(S::Assigned, A::Return, R::Handler, S::Returned),
    t(S::Assigned, A::MarkOverdue, R::System, S::Assigned),
    t(S::Assigned, A::Escalate, R::Office, S::Assigned),
    t(S::Assigned, A::Escalate, R::System, S::Assigned),
    t(S::Signed, A::Reply, R::Handler, S::Replied),
    t(S::Signed, A::RequestExtension, R::Handler, S::Signed),
    t(S::Signed, A::ApproveExtension, R::Office, S::Signed),
    t(S::Signed, A::RefuseExtension, R::Office, S::Signed),
    t(S::Signed, A::MarkOverdue, R::System, S::Signed),
    t(S::Signed, A::Escalate, R::Office, S::Signed),
    t(S::Signed, A::Escalate, R::System, S::Signed),
    t(S::Returned, A::Reassign, R::Office, S::Assigned),
    t(S::Returned, A::RequestInfo, R::Office, S::InfoRequested),
    t(S::Returned, A::Merge, R::Office, S::Merged),
    t(S::Returned, A::Reject, R::Office, S::Rejected),
    t(S::Replied, A::ApproveReply, R::Office, S::Published),
    t(S::Replied, A::SendBack, R::Office, S::Signed),
    rate(&[Rating::Satisfied, Rating::BasicallySatisfied], S::Closed),
    rate(&[Rating::Unsatisfied], S::RatedUnsatisfied),
    t(S::Published, A::AutoClose, R::System, S::Closed),
    t(S::RatedUnsatisfied, A::Reopen, R::Office, S::Reopened),
    t(S::RatedUnsatisfied, A::Close, R::Office, S::Closed),
    t(S::Reopened, A::Sign, R::Handler, S::Signed),
    t(S::Reopened, A::Return, R::Handler, S::Returned),
    t(S::Reopened, A::MarkOverdue, R::System, S::Reopened),
    t(S::Reopened, A::Escalate, R::Office, S::Reopened),
    t(S::Reopened, A::Escalate, R::System, S::Reopened),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("action `{action}` is not allowed in state `{state}`")]
    NotAllowed {
        state: AppealState,
        action: ActionKind,
    },
    #[error("a {actor} may not `{action}` in state `{state}`")]
    WrongActor {
        state: AppealState,
        action: ActionKind,
        actor: ActorRole,
    },
    #[error("action `{action}` needs a non-empty reason")]
    MissingReason { action: ActionKind },
}

/// The state after `actor` performs `action` on an appeal in state `from`.
pub fn next_state(
    from: AppealState,
    action: &Action,
    actor: ActorRole,
) -> Result<AppealState, TransitionError> {
    let kind = action.kind();
    let mut rows = TRANSITIONS
        .iter()
        .filter(|row| row.from == from && row.action == kind)
        .peekable();
    if rows.peek().is_none() {
        return Err(TransitionError::NotAllowed {
            state: from,
            action: kind,
        });
    }
    let mut rows = rows.filter(|row| row.actor == actor).peekable();
    if rows.peek().is_none() {
        return Err(TransitionError::WrongActor {
            state: from,
            action: kind,
            actor,
        });
    }
    // Every rating has a row (a test checks it), so only a malformed action misses here.
    let row = rows
        .find(|row| row.admits(action))
        .ok_or(TransitionError::NotAllowed {
            state: from,
            action: kind,
        })?;
    if action
        .required_text()
        .is_some_and(|text| text.trim().is_empty())
    {
        return Err(TransitionError::MissingReason { action: kind });
    }
    Ok(row.to)
}

/// What `actor` may do in state `from`, in table order, without repeats.
pub fn allowed_actions(from: AppealState, actor: ActorRole) -> Vec<ActionKind> {
    let mut out: Vec<ActionKind> = Vec::new();
    for row in TRANSITIONS
        .iter()
        .filter(|row| row.from == from && row.actor == actor)
    {
        if !out.contains(&row.action) {
            out.push(row.action);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
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
        for state in S::ALL.into_iter().filter(|s| s.is_terminal()) {
            assert!(allowed_actions(state, R::Office).is_empty());
            for kind in A::ALL {
                for actor in R::ALL {
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
        for state in S::ALL {
            let has_exit = TRANSITIONS.iter().any(|r| r.from == state && r.to != state);
            assert_eq!(!has_exit, state.is_terminal(), "{state}");
        }
    }

    #[test]
    fn each_action_refused_for_wrong_actors() {
        let mut checked = 0;
        for row in TRANSITIONS {
            for actor in R::ALL {
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
        assert_eq!(seen.len(), S::ALL.len(), "every state is reachable");
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
        for rating in Rating::ALL {
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
        for state in S::ALL.into_iter().filter(|s| s.clock_running()) {
            assert!(allowed_actions(state, R::System).contains(&A::MarkOverdue));
        }
    }

    #[test]
    fn clock_runs_only_while_a_department_holds_it() {
        let running: Vec<_> = S::ALL.into_iter().filter(|s| s.clock_running()).collect();
        assert_eq!(running, [S::Assigned, S::Signed, S::Reopened]);
        assert!(!S::InfoRequested.clock_running());
    }

    #[test]
    fn doc_table_matches_transitions() {
        let src = include_str!("workflow.rs");
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
                let ratings: Option<Vec<Rating>> =
                    ratings.map(|r| r.split(", ").map(|x| Rating::parse(x).unwrap()).collect());
                (
                    S::parse(cells[0]).unwrap(),
                    A::parse(action).unwrap(),
                    R::parse(cells[2]).unwrap(),
                    S::parse(cells[3]).unwrap(),
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
        let days: Vec<u32> = Urgency::ALL.iter().map(|u| u.working_days()).collect();
        assert_eq!(days, [1, 3, 7]);
        assert!(Rating::BasicallySatisfied.counts_as_satisfied());
        assert!(!Rating::Unsatisfied.counts_as_satisfied());
    }

    fn de<T: serde::de::DeserializeOwned>(s: &str) -> T {
        let d: StrDeserializer<'_, DeError> = s.into_deserializer();
        T::deserialize(d).unwrap()
    }

    #[test]
    fn as_str_parse_and_serde_names_agree() {
        for v in S::ALL {
            assert_eq!(S::parse(v.as_str()), Some(v));
            assert_eq!(de::<S>(v.as_str()), v);
        }
        for v in A::ALL {
            assert_eq!(A::parse(v.as_str()), Some(v));
            assert_eq!(de::<A>(v.as_str()), v);
        }
        for v in R::ALL {
            assert_eq!(R::parse(v.as_str()), Some(v));
            assert_eq!(de::<R>(v.as_str()), v);
        }
        for v in Urgency::ALL {
            assert_eq!(Urgency::parse(v.as_str()), Some(v));
            assert_eq!(de::<Urgency>(v.as_str()), v);
        }
        for v in Rating::ALL {
            assert_eq!(Rating::parse(v.as_str()), Some(v));
            assert_eq!(de::<Rating>(v.as_str()), v);
        }
        for v in ReturnReason::ALL {
            assert_eq!(ReturnReason::parse(v.as_str()), Some(v));
            assert_eq!(de::<ReturnReason>(v.as_str()), v);
        }
        assert_eq!(S::parse("Submitted"), None);
        assert_eq!(
            de::<ReturnReason>("not_our_remit"),
            ReturnReason::NotOurRemit
        );
    }
}
