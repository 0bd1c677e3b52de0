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

use chrono::NaiveDate;
use sea_orm::EnumIter;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

pub use entity::appeal_events::ActionKind;
pub use entity::appeals::{AppealState, PublicStatus};

/// What the workflow reads from a state. The enum lives with its table (stored as its name);
/// the rules about it live here.
pub trait StateRules {
    /// No action leaves a terminal state.
    fn is_terminal(&self) -> bool;
    /// Whether the handling deadline counts down in this state.
    fn clock_running(&self) -> bool;
}

impl StateRules for AppealState {
    fn is_terminal(&self) -> bool {
        matches!(self, Self::Rejected | Self::Merged | Self::Closed)
    }

    fn clock_running(&self) -> bool {
        matches!(self, Self::Assigned | Self::Signed | Self::Reopened)
    }
}

/// Who performs an action. `Resident` is the appeal's author.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    Display,
    EnumString,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ActorRole {
    Resident,
    Office,
    /// A handler of the appeal's lead department.
    Handler,
    System,
}

/// Urgency set at acceptance; the reply is due within this many working days.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    Display,
    EnumString,
    IntoStaticStr,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Urgency {
    Urgent,
    TimeLimited,
    General,
}

impl Urgency {
    pub const fn working_days(self) -> u32 {
        match self {
            Self::Urgent => 1,
            Self::TimeLimited => 3,
            Self::General => 7,
        }
    }
}

/// The resident's verdict on the handling.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    Display,
    EnumString,
    IntoStaticStr,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Rating {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
}

impl Rating {
    /// Published satisfaction rates count "basically satisfied" as satisfied.
    pub const fn counts_as_satisfied(self) -> bool {
        !matches!(self, Self::Unsatisfied)
    }
}

/// Why a department hands an appeal back to the office.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    Display,
    EnumString,
    IntoStaticStr,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReturnReason {
    NotOurRemit,
    NeedsOtherDepartment,
    InsufficientInformation,
    Duplicate,
    /// Needs a free-text note.
    Other,
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
mod tests;
