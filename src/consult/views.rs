//! Reading consultations: lists for residents (their scope first) and staff, one
//! consultation with the resident's own opinion and the outcome, the resident's own list, the
//! results, and the staff's list of opinions with paging and Chinese search.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{consultation_responses, consultations, villages};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{
    Answers, Consultation, ConsultationState, Manager, Opinion, OpinionOutcome, Phase, Question,
    Review, Scope,
};
use super::responses::default_village;
use super::store::load;
use super::tally::{tally, Counted, Results};
use crate::auth::{Caller, Role};
use crate::board::masking::mask_text;
use crate::board::search::{grams, query_grams};
use crate::clock::TIMEZONE;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

/// Lists show at most this many consultations (newest first for staff).
pub const LIST_MAX: u64 = 200;
pub const PAGE_MAX: u64 = 50;
pub const PAGE_DEFAULT: u64 = 20;

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&TIMEZONE)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[derive(Serialize, ToSchema)]
pub struct ConsultationSummary {
    pub id: i64,
    pub title: String,
    pub department_id: i64,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Asia/Shanghai, `YYYY-MM-DD HH:MM`.
    pub opens_at_local: String,
    pub closes_at_local: String,
    pub state: ConsultationState,
    pub phase: Phase,
    /// The resident's village is in the consultation's scope (always true for a county-wide one).
    pub in_scope: bool,
    pub outcome_published: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ConsultationOutcome)]
pub struct OutcomeView {
    pub statement: String,
    pub published_at: DateTime<Utc>,
}

/// The resident's own opinion and what became of it.
#[derive(Serialize, ToSchema)]
pub struct MyOpinion {
    pub response_id: i64,
    pub answers: Answers,
    /// 1 for the first submission, +1 for each change.
    pub version: i32,
    pub village_id: Option<i64>,
    pub review: Review,
    pub outcome: Option<OpinionOutcome>,
    pub outcome_reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An opinion staff published for residents, masked like the board, without its author.
#[derive(Serialize, ToSchema)]
pub struct FeaturedOpinion {
    pub question_id: String,
    pub text: String,
    pub outcome: Option<OpinionOutcome>,
    pub outcome_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsultationView {
    #[serde(flatten)]
    pub summary: ConsultationSummary,
    pub body: String,
    /// The body split at blank lines.
    pub paragraphs: Vec<String>,
    pub scope: Scope,
    pub results_public: bool,
    pub questions: Vec<Question>,
    pub withdraw_reason: Option<String>,
    pub outcome: Option<OutcomeView>,
    /// Respondents so far.
    pub respondents: u64,
    pub version: i32,
    /// Residents: their own opinion, if any.
    pub my_opinion: Option<MyOpinion>,
    pub featured: Vec<FeaturedOpinion>,
}

fn summary(c: &Consultation, now: DateTime<Utc>, in_scope: bool) -> ConsultationSummary {
    ConsultationSummary {
        id: c.row.id,
        title: c.row.title.clone(),
        department_id: c.row.department_id,
        opens_at: c.row.opens_at,
        closes_at: c.row.closes_at,
        opens_at_local: local(c.row.opens_at),
        closes_at_local: local(c.row.closes_at),
        state: c.state,
        phase: c.phase(now),
        in_scope,
        outcome_published: c.row.outcome_published_at.is_some(),
    }
}

fn my_opinion(o: &Opinion) -> MyOpinion {
    MyOpinion {
        response_id: o.row.id,
        answers: o.answers.clone(),
        version: o.row.version,
        village_id: o.row.village_id,
        review: o.review,
        outcome: o.outcome,
        outcome_reason: o.row.outcome_reason.clone(),
        submitted_at: o.row.created_at,
        updated_at: o.row.updated_at,
    }
}

/// The resident's village and its township, for scope.
async fn home(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Option<villages::Model>> {
    Ok(match default_village(db, user_id).await? {
        Some(id) => villages::Entity::find_by_id(id).one(db).await?,
        None => None,
    })
}

fn in_scope(c: &Consultation, home: &Option<villages::Model>) -> bool {
    c.scope.is_county()
        || home
            .as_ref()
            .is_some_and(|v| c.scope.includes(v.id, &v.township))
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Staff: only this state (`draft`, `published`, `withdrawn`).
    pub state: Option<String>,
}

/// Residents: open consultations, those in their scope first, then by closing time. Staff: the
/// consultations they manage, newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    q: &ListQuery,
) -> AppResult<Vec<ConsultationSummary>> {
    let now = state.clock.now();
    let db = &state.db;
    let mut find = consultations::Entity::find();
    if caller.role == Role::Resident || caller.role == Role::Leader {
        let rows = find
            .filter(consultations::Column::State.eq(ConsultationState::Published.as_str()))
            .filter(consultations::Column::OpensAt.lte(now))
            .filter(consultations::Column::ClosesAt.gt(now))
            .order_by_asc(consultations::Column::ClosesAt)
            .all(db)
            .await?;
        let home = home(db, caller.user_id).await?;
        let mut out: Vec<ConsultationSummary> = rows
            .into_iter()
            .map(Consultation::from_row)
            .map(|c| c.map(|c| summary(&c, now, in_scope(&c, &home))))
            .collect::<AppResult<_>>()?;
        // Stable: within each group the closing order stays.
        out.sort_by_key(|s| !s.in_scope);
        return Ok(out);
    }
    let m = Manager::of(caller)?;
    if let Some(s) = &q.state {
        let s = ConsultationState::parse(s)
            .ok_or_else(|| AppError::validation("state", "draft, published or withdrawn"))?;
        find = find.filter(consultations::Column::State.eq(s.as_str()));
    }
    if m.role == Role::Handler {
        find = find.filter(consultations::Column::DepartmentId.eq(m.department_id.unwrap_or(-1)));
    }
    let rows = find
        .order_by_desc(consultations::Column::Id)
        .paginate(db, LIST_MAX)
        .fetch_page(0)
        .await?;
    rows.into_iter()
        .map(Consultation::from_row)
        .map(|c| c.map(|c| summary(&c, now, true)))
        .collect()
}

async fn respondents(db: &impl ConnectionTrait, id: i64) -> AppResult<u64> {
    Ok(consultation_responses::Entity::find()
        .filter(consultation_responses::Column::ConsultationId.eq(id))
        .count(db)
        .await?)
}

/// One consultation. Residents see published ones only (a draft is 404), with their own
/// opinion; staff see those they manage.
pub async fn detail(state: &AppState, caller: &Caller, id: i64) -> AppResult<ConsultationView> {
    let now = state.clock.now();
    let db = &state.db;
    let c = load(db, id).await?;
    let staff = match Manager::of(caller) {
        Ok(m) => m.manages(c.row.department_id),
        Err(_) => false,
    };
    if !staff && c.state == ConsultationState::Draft {
        return Err(AppError::NotFound);
    }
    let mine = consultation_responses::Entity::find()
        .filter(consultation_responses::Column::ConsultationId.eq(id))
        .filter(consultation_responses::Column::UserId.eq(caller.user_id))
        .one(db)
        .await?
        .map(Opinion::from_row)
        .transpose()?;
    let featured_rows = consultation_responses::Entity::find()
        .filter(consultation_responses::Column::ConsultationId.eq(id))
        .filter(consultation_responses::Column::Featured.eq(true))
        .filter(consultation_responses::Column::Review.eq(Review::Visible.as_str()))
        .order_by_asc(consultation_responses::Column::Id)
        .all(db)
        .await?;
    let mut featured = Vec::new();
    for row in featured_rows {
        let o = Opinion::from_row(row)?;
        for (q, text) in o.texts() {
            featured.push(FeaturedOpinion {
                question_id: q.to_string(),
                text: mask_text(text),
                outcome: o.outcome,
                outcome_reason: o.row.outcome_reason.clone(),
            });
        }
    }
    let home = if staff {
        None
    } else {
        home(db, caller.user_id).await?
    };
    Ok(ConsultationView {
        summary: summary(&c, now, staff || in_scope(&c, &home)),
        paragraphs: c
            .row
            .body
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect(),
        body: c.row.body.clone(),
        scope: c.scope.clone(),
        results_public: c.row.results_public,
        questions: c.questions.clone(),
        withdraw_reason: c.row.withdraw_reason.clone(),
        outcome: c
            .row
            .outcome_statement
            .clone()
            .zip(c.row.outcome_published_at)
            .map(|(statement, published_at)| OutcomeView {
                statement,
                published_at,
            }),
        respondents: respondents(db, id).await?,
        version: c.row.version,
        my_opinion: mine.as_ref().map(my_opinion),
        featured,
    })
}

#[derive(Serialize, ToSchema)]
pub struct MyConsultation {
    pub consultation: ConsultationSummary,
    pub outcome: Option<OutcomeView>,
    pub opinion: MyOpinion,
}

/// The consultations the resident answered, newest answer first, with the outcome and what
/// became of their own opinion.
pub async fn mine(state: &AppState, caller: &Caller) -> AppResult<Vec<MyConsultation>> {
    let now = state.clock.now();
    let db = &state.db;
    let rows = consultation_responses::Entity::find()
        .filter(consultation_responses::Column::UserId.eq(caller.user_id))
        .order_by_desc(consultation_responses::Column::UpdatedAt)
        .paginate(db, LIST_MAX)
        .fetch_page(0)
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let c = load(db, row.consultation_id).await?;
        let o = Opinion::from_row(row)?;
        out.push(MyConsultation {
            consultation: summary(&c, now, true),
            outcome: c
                .row
                .outcome_statement
                .clone()
                .zip(c.row.outcome_published_at)
                .map(|(statement, published_at)| OutcomeView {
                    statement,
                    published_at,
                }),
            opinion: my_opinion(&o),
        });
    }
    Ok(out)
}

/// Every opinion of a consultation with the village and township names.
pub async fn opinions_with_places(
    db: &impl ConnectionTrait,
    id: i64,
) -> AppResult<(Vec<Opinion>, HashMap<i64, villages::Model>)> {
    let rows = consultation_responses::Entity::find()
        .filter(consultation_responses::Column::ConsultationId.eq(id))
        .order_by_asc(consultation_responses::Column::Id)
        .all(db)
        .await?;
    let opinions = rows
        .into_iter()
        .map(Opinion::from_row)
        .collect::<AppResult<Vec<_>>>()?;
    let places = villages::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    Ok((opinions, places))
}

pub fn counted<'a>(
    opinions: &'a [Opinion],
    places: &'a HashMap<i64, villages::Model>,
) -> Vec<Counted<'a>> {
    opinions
        .iter()
        .map(|o| Counted {
            answers: &o.answers,
            place: o
                .row
                .village_id
                .and_then(|v| places.get(&v))
                .map(|v| (v.name.as_str(), v.township.as_str())),
            outcome: o.outcome,
        })
        .collect()
}

/// Results for the staff who manage the consultation, and for residents when it shows them
/// (never a draft's); otherwise `results_not_public`.
pub async fn results(state: &AppState, caller: &Caller, id: i64) -> AppResult<Results> {
    let db = &state.db;
    let c = load(db, id).await?;
    let staff = Manager::of(caller).is_ok_and(|m| m.manages(c.row.department_id));
    if !staff {
        if c.state == ConsultationState::Draft {
            return Err(AppError::NotFound);
        }
        if !c.row.results_public {
            return Err(AppError::ForbiddenWith {
                code: ErrorCode::ResultsNotPublic,
                message: "this consultation does not show its results".into(),
            });
        }
    }
    let (opinions, places) = opinions_with_places(db, id).await?;
    Ok(tally(&c.questions, &counted(&opinions, &places)))
}

#[derive(Deserialize, IntoParams)]
pub struct OpinionQuery {
    /// Chinese full text over the free-text answers (at least two characters).
    pub q: Option<String>,
    /// Only opinions answering this question (`q1`, …).
    pub question: Option<String>,
    /// `visible` (default), `held` (waiting for the office's review) or `rejected`; held and
    /// rejected texts are shown to office and admins only.
    pub review: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct OpinionText {
    pub question_id: String,
    pub text: String,
}

/// An opinion as staff read it: answers and place, never the respondent's identity.
#[derive(Serialize, ToSchema)]
pub struct OpinionView {
    pub response_id: i64,
    pub village: Option<String>,
    pub township: Option<String>,
    pub answers: Answers,
    pub texts: Vec<OpinionText>,
    pub version: i32,
    pub review: Review,
    pub hold_reason: Option<String>,
    pub outcome: Option<OpinionOutcome>,
    pub outcome_reason: Option<String>,
    pub featured: bool,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct OpinionPage {
    pub items: Vec<OpinionView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

pub fn opinion_view(o: &Opinion, places: &HashMap<i64, villages::Model>) -> OpinionView {
    let place = o.row.village_id.and_then(|v| places.get(&v));
    OpinionView {
        response_id: o.row.id,
        village: place.map(|v| v.name.clone()),
        township: place.map(|v| v.township.clone()),
        answers: o.answers.clone(),
        texts: o
            .texts()
            .map(|(q, t)| OpinionText {
                question_id: q.into(),
                text: t.into(),
            })
            .collect(),
        version: o.row.version,
        review: o.review,
        hold_reason: o.row.hold_reason.clone(),
        outcome: o.outcome,
        outcome_reason: o.row.outcome_reason.clone(),
        featured: o.row.featured,
        submitted_at: o.row.created_at,
        updated_at: o.row.updated_at,
    }
}

/// Opinions with free text, newest first. Search uses the board's character bigrams: every
/// bigram of the query must occur in the opinion's texts. The texts of one consultation are
/// read and matched here rather than kept in an index table: a consultation holds thousands of
/// opinions, not the board's hundreds of thousands of appeals.
pub async fn opinions(
    state: &AppState,
    m: &Manager,
    c: &Consultation,
    q: &OpinionQuery,
) -> AppResult<OpinionPage> {
    let limit = match q.limit {
        None => PAGE_DEFAULT,
        Some(n) if (1..=PAGE_MAX).contains(&n) => n,
        Some(_) => return Err(AppError::validation("limit", "between 1 and 50")),
    };
    let review = match q.review.as_deref() {
        None => Review::Visible,
        Some(r) => Review::parse(r)
            .ok_or_else(|| AppError::validation("review", "visible, held or rejected"))?,
    };
    if review != Review::Visible && m.role == Role::Handler {
        return Err(AppError::Forbidden);
    }
    let wanted = match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            query_grams(s)
                .ok_or_else(|| AppError::validation("q", "search for at least two characters"))?,
        ),
    };
    if let Some(qid) = &q.question {
        if c.question(qid).is_none() {
            return Err(AppError::validation("question", "no such question"));
        }
    }
    let (all, places) = opinions_with_places(&state.db, c.row.id).await?;
    let mut items = Vec::new();
    for o in all.iter().rev() {
        if q.cursor.is_some_and(|cur| o.row.id >= cur) || o.review != review {
            continue;
        }
        let texts: Vec<&str> = o
            .texts()
            .filter(|(qid, _)| q.question.as_deref().is_none_or(|w| w == *qid))
            .map(|(_, t)| t)
            .collect();
        if texts.is_empty() {
            continue;
        }
        if let Some(wanted) = &wanted {
            let have = grams(&texts.join("\n"));
            if !wanted.iter().all(|g| have.contains(g)) {
                continue;
            }
        }
        items.push(opinion_view(o, &places));
        if items.len() as u64 == limit {
            break;
        }
    }
    let next_cursor = (items.len() as u64 == limit)
        .then(|| items.last().map(|i| i.response_id))
        .flatten();
    Ok(OpinionPage { items, next_cursor })
}
