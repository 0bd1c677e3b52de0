//! The consultation as the rules see it: typed records read from the rows, states and kinds as
//! enums, the authoring and answering bodies, and the limits. No I/O.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::{consultation_responses, consultations};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::{AppError, AppResult};

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 10_000;
pub const QUESTIONS_MAX: usize = 50;
pub const PROMPT_MAX: usize = 500;
pub const OPTIONS_MAX: usize = 30;
pub const OPTION_MAX: usize = 100;
/// Free-text answers default to this bound; a question may set another up to `TEXT_LIMIT_MAX`.
pub const TEXT_DEFAULT_MAX: u32 = 500;
pub const TEXT_LIMIT_MAX: u32 = 2000;
pub const OTHER_MAX: usize = 200;
pub const REASON_MAX: usize = 500;
pub const STATEMENT_MAX: usize = 5000;
/// Groups of fewer respondents than this are folded into "other" wherever results are broken
/// down, so a small village's answers cannot be told apart.
pub const MIN_GROUP: u64 = 5;

/// The stored state. Whether a published consultation is open is derived from its times
/// ([`Phase`]), so extending or closing early only moves `closes_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsultationState {
    Draft,
    Published,
    Withdrawn,
}

impl ConsultationState {
    pub const ALL: [ConsultationState; 3] = [Self::Draft, Self::Published, Self::Withdrawn];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a consultation is in its life, from its state and times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Draft,
    /// Published, before its opening time.
    Upcoming,
    Open,
    Closed,
    Withdrawn,
}

impl Phase {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Upcoming => "upcoming",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    SingleChoice,
    MultipleChoice,
    FreeText,
    /// 1 to 5.
    Rating,
}

impl QuestionKind {
    pub fn is_choice(self) -> bool {
        matches!(self, Self::SingleChoice | Self::MultipleChoice)
    }
}

/// A question as authored; `id` (`q1`, `q2`, …) is given by position when the draft is saved,
/// and options are numbered from 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Question {
    pub id: String,
    pub kind: QuestionKind,
    pub prompt: String,
    pub required: bool,
    /// The choices of a choice question, numbered from 1 in answers.
    #[serde(default)]
    pub options: Vec<String>,
    /// Multiple choice: the fewest and most picks (an "other" text counts as a pick).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_picks: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_picks: Option<u32>,
    /// A choice question offers "other, please say" with a short text.
    #[serde(default)]
    pub allow_other: bool,
    /// Free text: the most characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

/// A question in an authoring body, before it has an id.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct QuestionInput {
    pub kind: QuestionKind,
    #[schema(min_length = 1, max_length = 500)]
    pub prompt: String,
    /// Default true.
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    #[schema(max_items = 30)]
    pub options: Vec<String>,
    pub min_picks: Option<u32>,
    pub max_picks: Option<u32>,
    #[serde(default)]
    pub allow_other: bool,
    /// Free text only; default 500, at most 2000.
    #[schema(minimum = 1, maximum = 2000)]
    pub max_length: Option<u32>,
}

fn yes() -> bool {
    true
}

/// Who may answer first: residents of these townships or villages see the consultation first in
/// their list. Both empty: the whole county.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Scope {
    #[serde(default)]
    pub townships: Vec<String>,
    #[serde(default)]
    pub village_ids: Vec<i64>,
}

impl Scope {
    pub fn is_county(&self) -> bool {
        self.townships.is_empty() && self.village_ids.is_empty()
    }

    pub fn includes(&self, village_id: i64, township: &str) -> bool {
        self.village_ids.contains(&village_id) || self.townships.iter().any(|t| t == township)
    }
}

/// `POST /consultations` and `PUT /consultations/{id}` (a draft is replaced whole).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ConsultationInput {
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// Plain text; paragraphs separated by blank lines.
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    /// The department behind it; a handler may only name their own.
    pub department_id: i64,
    /// RFC 3339 with an offset, e.g. `2026-12-10T08:00:00+08:00` (Asia/Shanghai).
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    #[serde(default)]
    pub scope: Scope,
    /// Residents see aggregate results (never other residents' identities).
    #[serde(default)]
    pub results_public: bool,
    #[schema(min_items = 1, max_items = 50)]
    pub questions: Vec<QuestionInput>,
}

/// One answer. Which fields count depends on the question's kind: `choices` (option numbers)
/// and `other` for choice questions, `text` for free text, `rating` for ratings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<i64>,
}

/// Answers keyed by question id.
pub type Answers = BTreeMap<String, Answer>;

/// `POST /consultations/{id}/responses`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResponseInput {
    /// Answers keyed by question id (`q1`, …).
    pub answers: Answers,
    /// Where the resident lives; by default the village of their latest opinion or appeal.
    pub village_id: Option<i64>,
}

/// Review of an opinion's free text by the content check and the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = OpinionReview)]
pub enum Review {
    /// No free text, or it passed.
    Visible,
    /// Flagged: waits for the office; hidden from results until released.
    Held,
    /// The office refused the text; kept, never shown.
    Rejected,
}

impl Review {
    pub const ALL: [Review; 3] = [Self::Visible, Self::Held, Self::Rejected];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Visible => "visible",
            Self::Held => "held",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What became of an opinion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpinionOutcome {
    Adopted,
    PartlyAdopted,
    Noted,
}

impl OpinionOutcome {
    pub const ALL: [OpinionOutcome; 3] = [Self::Adopted, Self::PartlyAdopted, Self::Noted];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Adopted => "adopted",
            Self::PartlyAdopted => "partly_adopted",
            Self::Noted => "noted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The words residents read (exports, notifications).
    pub const fn label(self) -> &'static str {
        match self {
            Self::Adopted => "采纳",
            Self::PartlyAdopted => "部分采纳",
            Self::Noted => "已收悉",
        }
    }
}

/// A consultation row with its JSON columns and state parsed.
#[derive(Debug, Clone)]
pub struct Consultation {
    pub row: consultations::Model,
    pub state: ConsultationState,
    pub questions: Vec<Question>,
    pub scope: Scope,
}

impl Consultation {
    pub fn from_row(row: consultations::Model) -> AppResult<Consultation> {
        let broken = |what: &str| {
            AppError::internal(anyhow::anyhow!("consultation {} has a bad {what}", row.id))
        };
        let state = ConsultationState::parse(&row.state).ok_or_else(|| broken("state"))?;
        let questions =
            serde_json::from_str(&row.questions).map_err(|_| broken("question list"))?;
        let scope = serde_json::from_str(&row.scope).map_err(|_| broken("scope"))?;
        Ok(Consultation {
            state,
            questions,
            scope,
            row,
        })
    }

    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        match self.state {
            ConsultationState::Draft => Phase::Draft,
            ConsultationState::Withdrawn => Phase::Withdrawn,
            ConsultationState::Published if now < self.row.opens_at => Phase::Upcoming,
            ConsultationState::Published if now >= self.row.closes_at => Phase::Closed,
            ConsultationState::Published => Phase::Open,
        }
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }
}

/// An opinion row with its answers and states parsed.
#[derive(Debug, Clone)]
pub struct Opinion {
    pub row: consultation_responses::Model,
    pub answers: Answers,
    pub review: Review,
    pub outcome: Option<OpinionOutcome>,
}

impl Opinion {
    pub fn from_row(row: consultation_responses::Model) -> AppResult<Opinion> {
        let broken =
            |what: &str| AppError::internal(anyhow::anyhow!("opinion {} has a bad {what}", row.id));
        Ok(Opinion {
            answers: serde_json::from_str(&row.answers).map_err(|_| broken("answer set"))?,
            review: Review::parse(&row.review).ok_or_else(|| broken("review"))?,
            outcome: match row.outcome.as_deref() {
                None => None,
                Some(o) => Some(OpinionOutcome::parse(o).ok_or_else(|| broken("outcome"))?),
            },
            row,
        })
    }

    /// The free texts of the opinion (answers and "other" texts), in question order.
    pub fn texts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.answers.iter().flat_map(|(q, a)| {
            a.text
                .as_deref()
                .into_iter()
                .chain(a.other.as_deref())
                .map(move |t| (q.as_str(), t))
        })
    }
}

/// Staff who manage consultations: office and admins all of them, a handler their
/// department's.
#[derive(Debug, Clone, Copy)]
pub struct Manager {
    pub user_id: i64,
    pub role: Role,
    pub department_id: Option<i64>,
}

impl Manager {
    pub fn of(caller: &Caller) -> AppResult<Manager> {
        match caller.role {
            Role::Office | Role::Admin | Role::Handler => Ok(Manager {
                user_id: caller.user_id,
                role: caller.role,
                department_id: caller.department_id,
            }),
            Role::Resident | Role::Leader => Err(AppError::Forbidden),
        }
    }

    /// May this manager act on a consultation of `department_id`?
    pub fn manages(&self, department_id: i64) -> bool {
        match self.role {
            Role::Office | Role::Admin => true,
            Role::Handler => self.department_id == Some(department_id),
            Role::Resident | Role::Leader => false,
        }
    }
}
