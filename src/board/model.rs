//! The appeal as the rules see it: a typed record read from the row, who acts, the text limits,
//! and the action request parsed once into an [`Action`] that carries its own payload.
use chrono::{DateTime, NaiveDate, Utc};
use entity::appeals;
use serde::Deserialize;
use utoipa::ToSchema;

use sea_orm::Iterable;

use super::workflow::{
    Action, ActionKind, ActorRole, AppealState, PublicStatus, StateRules, Urgency,
};
use crate::auth::{Caller, Role};
use crate::error::{AppError, AppResult};
use crate::extract::from_value;

pub const TITLE_MAX: usize = 100;
pub const CONTENT_MAX: usize = 5000;
pub const REPLY_MAX: usize = 5000;
pub const REASON_MAX: usize = 1000;
pub const MAX_ASSISTING: usize = 5;

/// An appeal row with its workflow columns parsed: the rules match on enums, never on strings.
#[derive(Debug, Clone)]
pub struct Appeal {
    pub row: appeals::Model,
    pub state: AppealState,
    pub urgency: Option<Urgency>,
    /// The date a pending extension request asks for.
    pub extension_requested_until: Option<NaiveDate>,
}

impl Appeal {
    pub fn from_row(row: appeals::Model) -> AppResult<Appeal> {
        Ok(Appeal {
            state: row.state,
            urgency: row.urgency.as_deref().and_then(|u| u.parse().ok()),
            extension_requested_until: row
                .extension_requested_until
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            row,
        })
    }
}

/// The states in which the handling deadline counts down, from [`StateRules::clock_running`].
pub fn running_states() -> impl Iterator<Item = AppealState> {
    AppealState::iter().filter(|s| s.clock_running())
}

/// What the public and the resident call a state.
pub fn public_status(state: AppealState) -> PublicStatus {
    use AppealState as S;
    match state {
        S::Draft | S::Submitted | S::HeldForReview => PublicStatus::Received,
        S::InfoRequested => PublicStatus::InfoRequested,
        S::Accepted | S::Assigned | S::Signed | S::Returned | S::Replied | S::Reopened => {
            PublicStatus::Processing
        }
        S::Published | S::RatedUnsatisfied => PublicStatus::Replied,
        S::Closed => PublicStatus::Closed,
        S::Rejected => PublicStatus::Rejected,
        S::Merged => PublicStatus::Merged,
    }
}

/// Whether a public appeal in this state is on the board: accepted and after, unless rejected
/// or merged.
pub fn shown_on_board(state: AppealState) -> bool {
    matches!(
        public_status(state),
        PublicStatus::Processing | PublicStatus::Replied | PublicStatus::Closed
    )
}

/// Where an appeal stands on the public board: `None` when it is not there. Stored beside the
/// state on every change (so the board can be read in index order), computed only here.
pub fn board_projection(is_public: bool, state: AppealState) -> Option<PublicStatus> {
    (is_public && shown_on_board(state)).then(|| public_status(state))
}

/// The statuses the board shows, in workflow order, each once.
pub fn board_statuses() -> Vec<PublicStatus> {
    let mut out = Vec::new();
    for s in AppealState::iter().filter_map(|s| board_projection(true, s)) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Who acts, as the transition table knows them.
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub role: ActorRole,
    pub department_id: Option<i64>,
}

impl Actor {
    pub const SYSTEM: Actor = Actor {
        user_id: None,
        role: ActorRole::System,
        department_id: None,
    };

    pub fn of(caller: &Caller) -> AppResult<Actor> {
        let role = match caller.role {
            Role::Resident => ActorRole::Resident,
            Role::Handler => ActorRole::Handler,
            Role::Office | Role::Admin => ActorRole::Office,
            Role::Leader => return Err(AppError::Forbidden),
        };
        Ok(Actor {
            user_id: Some(caller.user_id),
            role,
            department_id: caller.department_id,
        })
    }
}

/// A trimmed, non-empty text of at most `max` characters without control characters (line
/// breaks and tabs allowed when `multiline`).
pub fn checked_text(field: &str, s: &str, max: usize, multiline: bool) -> AppResult<String> {
    let s = s.trim();
    let n = s.chars().count();
    if n == 0 {
        return Err(AppError::validation(field, "must not be empty"));
    }
    if n > max {
        return Err(AppError::validation(
            field,
            format!("at most {max} characters"),
        ));
    }
    let bad = |c: char| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r'));
    if s.chars().any(bad) {
        return Err(AppError::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_string())
}

/// Like [`checked_text`] for an optional text: absent or blank is `None`.
pub fn optional_text(
    field: &str,
    s: &Option<String>,
    max: usize,
    multiline: bool,
) -> AppResult<Option<String>> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => checked_text(field, v, max, multiline).map(Some),
    }
}

/// `POST /appeals/{id}/actions` body: the action (tagged by `action`) with its own fields, and
/// the version the caller saw, all in one flat object.
#[derive(Deserialize, ToSchema)]
pub struct ActionRequest {
    /// The appeal's `version` as the caller last read it.
    pub version: i32,
    #[serde(flatten)]
    pub action: Action,
}

/// Reads one variant's fields straight from the flat body. A serde tagged enum would report a
/// bad field at the top level; a plain struct per variant lets serde_path_to_error name it.
macro_rules! variant {
    ($body:expr, $variant:ident { $($(#[$m:meta])* $field:ident : $ty:ty),* $(,)? }) => {{
        #[derive(Deserialize)]
        struct Payload {
            $($(#[$m])* $field: $ty,)*
        }
        let Payload { $($field),* } = from_value($body)?;
        Action::$variant { $($field),* }
    }};
}

/// Parses the flat action body: the version, then the action named by `action` with its fields.
pub fn action_request(body: serde_json::Value) -> AppResult<ActionRequest> {
    #[derive(Deserialize)]
    struct Version {
        version: i32,
    }
    #[derive(Deserialize)]
    struct Tag {
        action: ActionKind,
    }
    if !body.is_object() {
        return Err(AppError::validation(".", "the body must be a JSON object"));
    }
    let Version { version } = from_value(body.clone())?;
    let Tag { action } = from_value(body.clone())?;
    use ActionKind as K;
    let action = match action {
        K::Submit => Action::Submit,
        K::Hold => Action::Hold,
        K::Release => Action::Release,
        K::RequestInfo => variant!(body, RequestInfo { question: String }),
        K::ProvideInfo => variant!(body, ProvideInfo { info: Option<String> }),
        K::Accept => variant!(body, Accept { urgency: Urgency }),
        K::Reject => variant!(body, Reject { reason: String }),
        K::Merge => variant!(body, Merge { master_id: i64 }),
        K::Assign => variant!(body, Assign {
            lead_department_id: i64,
            #[serde(default)]
            assisting_department_ids: Vec<i64>,
        }),
        K::Sign => Action::Sign,
        K::Return => variant!(
            body,
            Return {
                reason: super::workflow::ReturnReason,
                #[serde(default)]
                note: String,
            }
        ),
        K::Reassign => variant!(body, Reassign {
            lead_department_id: i64,
            #[serde(default)]
            assisting_department_ids: Vec<i64>,
        }),
        K::RequestExtension => variant!(body, RequestExtension {
            reason: String,
            until: Option<NaiveDate>,
        }),
        K::ApproveExtension => variant!(body, ApproveExtension { deadline: Option<NaiveDate> }),
        K::RefuseExtension => variant!(body, RefuseExtension { comment: Option<String> }),
        K::Reply => variant!(body, Reply {
            public_reply: Option<String>,
            internal_note: Option<String>,
        }),
        K::ApproveReply => variant!(body, ApproveReply { private: Option<bool> }),
        K::SendBack => variant!(body, SendBack { reason: String }),
        K::Rate => variant!(body, Rate {
            rating: super::workflow::Rating,
            solved: Option<bool>,
            comment: Option<String>,
        }),
        K::Reopen => Action::Reopen,
        K::AutoClose => Action::AutoClose,
        K::Close => variant!(body, Close { comment: Option<String> }),
        K::MarkOverdue => Action::MarkOverdue,
        K::Escalate => Action::Escalate,
    };
    Ok(ActionRequest { version, action })
}

/// The local calendar date of an instant, in the county's time zone.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&crate::calendar::workdays::TIMEZONE)
        .date_naive()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(body: serde_json::Value) -> String {
        match action_request(body) {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("{:?}", other.map(|r| r.action)),
        }
    }

    #[test]
    fn parses_each_action_with_its_payload() {
        let r = action_request(json!({
            "version": 3, "action": "rate", "rating": "unsatisfied", "solved": false
        }))
        .unwrap();
        assert_eq!(r.version, 3);
        assert_eq!(
            r.action,
            Action::Rate {
                rating: super::super::workflow::Rating::Unsatisfied,
                solved: Some(false),
                comment: None
            }
        );
        let r = action_request(json!({"version": 1, "action": "assign", "lead_department_id": 2}))
            .unwrap();
        assert_eq!(
            r.action,
            Action::Assign {
                lead_department_id: 2,
                assisting_department_ids: vec![]
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(json!({"action": "sign"})), "version");
        assert_eq!(field_of(json!({"version": 1})), "action");
        assert_eq!(field_of(json!({"version": 1, "action": "fly"})), "action");
        assert_eq!(
            field_of(json!({"version": 1, "action": "accept", "urgency": "now"})),
            "urgency"
        );
        assert_eq!(
            field_of(
                json!({"version": 1, "action": "request_extension", "reason": "r", "until": "soon"})
            ),
            "until"
        );
        assert_eq!(
            field_of(
                json!({"version": 1, "action": "rate", "rating": "satisfied", "solved": "yes"})
            ),
            "solved"
        );
        assert_eq!(field_of(json!([1])), ".");
    }

    #[test]
    fn the_board_shows_accepted_appeals_until_rejected_or_merged() {
        use AppealState as S;
        let shown: Vec<_> = AppealState::iter().filter(|s| shown_on_board(*s)).collect();
        assert_eq!(
            shown,
            [
                S::Accepted,
                S::Assigned,
                S::Signed,
                S::Returned,
                S::Replied,
                S::Published,
                S::RatedUnsatisfied,
                S::Closed,
                S::Reopened
            ]
        );
        assert_eq!(
            board_statuses(),
            [
                PublicStatus::Processing,
                PublicStatus::Replied,
                PublicStatus::Closed
            ]
        );
        assert_eq!(board_projection(false, S::Closed), None);
        assert_eq!(public_status(S::HeldForReview), PublicStatus::Received);
    }

    #[test]
    fn running_states_follow_the_clock() {
        let running: Vec<_> = running_states().collect();
        assert_eq!(
            running,
            [
                AppealState::Assigned,
                AppealState::Signed,
                AppealState::Reopened
            ]
        );
    }
}
