//! Where consultations are written (opinions' submission is in `responses`, through the
//! helpers here): each change reads the record, asks `decide`, and
//! writes the change, its event and any outbox rows in one transaction (the board's write
//! helper, which takes the SQLite write gate), guarded by the record's version.
use chrono::{DateTime, Utc};
use entity::{consultation_events, consultation_responses, consultations, departments, villages};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::decide::{
    check_draft, check_extend, check_outcome, check_publish, check_reason, next_state, Command,
    Draft,
};
use super::model::{
    Consultation, ConsultationInput, ConsultationState, Manager, Opinion, OpinionOutcome, Review,
};
use crate::auth::Role;
pub use crate::db::{begin_write, Write};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

/// Who did something, as the event log records them.
#[derive(Clone, Copy, Debug)]
pub struct EventActor {
    pub user_id: i64,
    pub role: Role,
}

/// Appends one event to a consultation's log, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    db: &impl ConnectionTrait,
    consultation_id: i64,
    response_id: Option<i64>,
    action: &str,
    (from, to): (&str, &str),
    actor: EventActor,
    reason: Option<String>,
    detail: Option<serde_json::Value>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    consultation_events::ActiveModel {
        consultation_id: Set(consultation_id),
        response_id: Set(response_id),
        action: Set(action.into()),
        from_state: Set(from.into()),
        to_state: Set(to.into()),
        actor_id: Set(Some(actor.user_id)),
        actor_role: Set(<&str>::from(actor.role).into()),
        reason: Set(reason),
        detail: Set(detail.map(|d| d.to_string())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

fn actor(m: &Manager) -> EventActor {
    EventActor {
        user_id: m.user_id,
        role: m.role,
    }
}

pub async fn load(db: &impl ConnectionTrait, id: i64) -> AppResult<Consultation> {
    let row = consultations::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Consultation::from_row(row)
}

/// The consultation if this manager may act on it: a handler of another department is told so.
pub async fn managed(db: &impl ConnectionTrait, m: &Manager, id: i64) -> AppResult<Consultation> {
    let c = load(db, id).await?;
    check_department(m, c.row.department_id)?;
    Ok(c)
}

fn check_department(m: &Manager, department_id: i64) -> AppResult<()> {
    if m.manages(department_id) {
        return Ok(());
    }
    Err(AppError::ForbiddenWith {
        code: ErrorCode::NotYourDepartment,
        message: "handlers manage their own department's consultations only".into(),
    })
}

/// What the draft names must exist: the department and the villages of the scope.
async fn check_references(db: &impl ConnectionTrait, m: &Manager, d: &Draft) -> AppResult<()> {
    check_department(m, d.department_id)?;
    if departments::Entity::find_by_id(d.department_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::validation("department_id", "no such department"));
    }
    let ids = &d.scope.village_ids;
    if !ids.is_empty() {
        let found = villages::Entity::find()
            .filter(villages::Column::Id.is_in(ids.clone()))
            .count(db)
            .await?;
        if found != ids.len() as u64 {
            return Err(AppError::validation(
                "scope.village_ids",
                "names a village that does not exist",
            ));
        }
    }
    Ok(())
}

pub fn json(v: &impl serde::Serialize) -> AppResult<String> {
    serde_json::to_string(v).map_err(AppError::internal)
}

pub async fn create(
    state: &AppState,
    m: &Manager,
    input: &ConsultationInput,
) -> AppResult<consultations::Model> {
    let d = check_draft(input)?;
    check_references(&state.db, m, &d).await?;
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let row = consultations::ActiveModel {
        title: Set(d.title),
        body: Set(d.body),
        department_id: Set(d.department_id),
        opens_at: Set(d.opens_at),
        closes_at: Set(d.closes_at),
        scope: Set(json(&d.scope)?),
        results_public: Set(d.results_public),
        questions: Set(json(&d.questions)?),
        state: Set(ConsultationState::Draft.as_str().into()),
        created_by: Set(m.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&w.txn)
    .await?;
    let draft = ConsultationState::Draft.as_str();
    record(
        &w.txn,
        row.id,
        None,
        "create",
        ("", draft),
        actor(m),
        None,
        None,
        now,
    )
    .await?;
    w.commit().await?;
    tracing::info!(consultation_id = row.id, "consultation drafted");
    Ok(row)
}

/// Replaces a draft whole; a published consultation is refused (`consultation_published`).
pub async fn edit(
    state: &AppState,
    m: &Manager,
    id: i64,
    input: &ConsultationInput,
) -> AppResult<consultations::Model> {
    let now = state.clock.now();
    let c = managed(&state.db, m, id).await?;
    next_state(c.phase(now), Command::Edit)?;
    let d = check_draft(input)?;
    check_references(&state.db, m, &d).await?;
    let set = consultations::ActiveModel {
        title: Set(d.title),
        body: Set(d.body),
        department_id: Set(d.department_id),
        opens_at: Set(d.opens_at),
        closes_at: Set(d.closes_at),
        scope: Set(json(&d.scope)?),
        results_public: Set(d.results_public),
        questions: Set(json(&d.questions)?),
        ..Default::default()
    };
    let draft = ConsultationState::Draft.as_str();
    change(state, m, &c, set, "edit", (draft, draft), None, None).await
}

/// Staff commands on a consultation as a whole.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Extension {
    /// The new closing time, later than the current one (RFC 3339 with offset).
    pub closes_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Withdrawal {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

pub enum StaffCommand {
    Publish,
    Extend(Extension),
    Close,
    Withdraw(Withdrawal),
}

pub async fn command(
    state: &AppState,
    m: &Manager,
    id: i64,
    cmd: StaffCommand,
) -> AppResult<consultations::Model> {
    let now = state.clock.now();
    let c = managed(&state.db, m, id).await?;
    let from = c.phase(now).as_str();
    let mut set = <consultations::ActiveModel as Default>::default();
    let (name, to, reason, detail) = match cmd {
        StaffCommand::Publish => {
            let to = check_publish(&c, now)?;
            set.published_at = Set(Some(now));
            ("publish", to, None, None)
        }
        StaffCommand::Extend(e) => {
            let to = check_extend(&c, e.closes_at, now)?;
            set.closes_at = Set(e.closes_at);
            let detail = serde_json::json!({ "from": c.row.closes_at, "to": e.closes_at });
            ("extend", to, None, Some(detail))
        }
        StaffCommand::Close => {
            let to = next_state(c.phase(now), Command::Close)?;
            set.closes_at = Set(now);
            let detail = serde_json::json!({ "scheduled": c.row.closes_at });
            ("close", to, None, Some(detail))
        }
        StaffCommand::Withdraw(w) => {
            let to = next_state(c.phase(now), Command::Withdraw)?;
            let reason = check_reason("reason", &Some(w.reason), true)?;
            set.withdraw_reason = Set(reason.clone());
            ("withdraw", to, reason, None)
        }
    };
    set.state = Set(to.as_str().into());
    change(state, m, &c, set, name, (from, to.as_str()), reason, detail).await
}

/// Writes `set` under the version guard with its event.
#[allow(clippy::too_many_arguments)]
async fn change(
    state: &AppState,
    m: &Manager,
    c: &Consultation,
    mut set: consultations::ActiveModel,
    action: &str,
    states: (&str, &str),
    reason: Option<String>,
    detail: Option<serde_json::Value>,
) -> AppResult<consultations::Model> {
    let now = state.clock.now();
    let w = begin_write(state).await?;
    set.version = Set(c.row.version + 1);
    set.updated_at = Set(now);
    let res = consultations::Entity::update_many()
        .set(set)
        .filter(consultations::Column::Id.eq(c.row.id))
        .filter(consultations::Column::Version.eq(c.row.version))
        .exec(&w.txn)
        .await?;
    if res.rows_affected != 1 {
        w.rollback().await?;
        return Err(stale(&state.db, c.row.id).await);
    }
    record(
        &w.txn,
        c.row.id,
        None,
        action,
        states,
        actor(m),
        reason,
        detail,
        now,
    )
    .await?;
    w.commit().await?;
    tracing::info!(consultation_id = c.row.id, action, "consultation changed");
    load(&state.db, c.row.id).await.map(|c| c.row)
}

async fn opinion_of(
    db: &impl ConnectionTrait,
    c: &Consultation,
    response_id: i64,
) -> AppResult<Opinion> {
    let row = consultation_responses::Entity::find_by_id(response_id)
        .one(db)
        .await?
        .filter(|r| r.consultation_id == c.row.id)
        .ok_or(AppError::NotFound)?;
    Opinion::from_row(row)
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = OpinionDecision)]
pub enum Decision {
    /// The held text may be read by staff.
    Release,
    /// The text is refused: kept, never shown; the opinion's choices still count.
    Reject,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReviewRequest {
    pub decision: Decision,
}

/// The office releases or rejects an opinion whose free text the content check held.
pub async fn review(
    state: &AppState,
    m: &Manager,
    id: i64,
    response_id: i64,
    decision: Decision,
) -> AppResult<Opinion> {
    let now = state.clock.now();
    let c = managed(&state.db, m, id).await?;
    let o = opinion_of(&state.db, &c, response_id).await?;
    if o.review != Review::Held {
        return Err(AppError::conflict(
            ErrorCode::NotHeld,
            "only an opinion held by the content check can be reviewed",
        ));
    }
    let to = match decision {
        Decision::Release => Review::Visible,
        Decision::Reject => Review::Rejected,
    };
    let w = begin_write(state).await?;
    let mut a: consultation_responses::ActiveModel = o.row.clone().into();
    a.review = Set(to.as_str().into());
    a.update(&w.txn).await?;
    let states = (Review::Held.as_str(), to.as_str());
    record(
        &w.txn,
        id,
        Some(response_id),
        "review",
        states,
        actor(m),
        None,
        None,
        now,
    )
    .await?;
    w.commit().await?;
    opinion_of(&state.db, &c, response_id).await
}

/// `POST /consultations/{id}/opinions/{response_id}/outcome`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OpinionMark {
    pub outcome: OpinionOutcome,
    /// Why, in a few words (at most 500 characters); the respondent reads it.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// Publish this opinion's text (masked like the board) for residents to read.
    #[serde(default)]
    pub featured: bool,
}

/// Staff mark what became of one opinion. After the outcome statement is out, the respondent
/// is told again (an outbox row in the same transaction).
pub async fn mark(
    state: &AppState,
    m: &Manager,
    id: i64,
    response_id: i64,
    body: &OpinionMark,
) -> AppResult<Opinion> {
    let now = state.clock.now();
    let c = managed(&state.db, m, id).await?;
    next_state(c.phase(now), Command::HandleOpinion)?;
    let o = opinion_of(&state.db, &c, response_id).await?;
    let reason = check_reason("reason", &body.reason, false)?;
    if body.featured && (o.review != Review::Visible || o.texts().next().is_none()) {
        return Err(AppError::validation(
            "featured",
            "only an opinion with free text that passed review can be published",
        ));
    }
    let w = begin_write(state).await?;
    let mut a: consultation_responses::ActiveModel = o.row.clone().into();
    a.outcome = Set(Some(body.outcome.as_str().into()));
    a.outcome_reason = Set(reason.clone());
    a.featured = Set(body.featured);
    a.update(&w.txn).await?;
    let from = o.outcome.map_or("", OpinionOutcome::as_str);
    let detail = serde_json::json!({ "featured": body.featured });
    let states = (from, body.outcome.as_str());
    record(
        &w.txn,
        id,
        Some(response_id),
        "mark_opinion",
        states,
        actor(m),
        reason,
        Some(detail),
        now,
    )
    .await?;
    if c.row.outcome_published_at.is_some() {
        let updated = opinion_of(&w.txn, &c, response_id).await?;
        notify(&w.txn, &c, &updated, now).await?;
    }
    w.commit().await?;
    opinion_of(&state.db, &c, response_id).await
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OutcomeStatement {
    /// What was adopted and why; at most 5000 characters.
    #[schema(min_length = 1, max_length = 5000)]
    pub statement: String,
}

/// Publishes the outcome statement and writes one outbox row per respondent, in one
/// transaction: nobody who answered is left without word of what became of it.
pub async fn publish_outcome(
    state: &AppState,
    m: &Manager,
    id: i64,
    statement: &str,
) -> AppResult<(consultations::Model, usize)> {
    let now = state.clock.now();
    let c = managed(&state.db, m, id).await?;
    let statement = check_outcome(&c, statement, now)?;
    let w = begin_write(state).await?;
    let res = consultations::Entity::update_many()
        .set(consultations::ActiveModel {
            outcome_statement: Set(Some(statement)),
            outcome_published_at: Set(Some(now)),
            version: Set(c.row.version + 1),
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(consultations::Column::Id.eq(id))
        .filter(consultations::Column::Version.eq(c.row.version))
        .exec(&w.txn)
        .await?;
    if res.rows_affected != 1 {
        w.rollback().await?;
        return Err(stale(&state.db, c.row.id).await);
    }
    let published = load(&w.txn, id).await?;
    let opinions = consultation_responses::Entity::find()
        .filter(consultation_responses::Column::ConsultationId.eq(id))
        .order_by_asc(consultation_responses::Column::Id)
        .all(&w.txn)
        .await?;
    for row in &opinions {
        notify(&w.txn, &published, &Opinion::from_row(row.clone())?, now).await?;
    }
    let phase = c.phase(now).as_str();
    let detail = serde_json::json!({ "notified": opinions.len() });
    record(
        &w.txn,
        id,
        None,
        "publish_outcome",
        (phase, phase),
        actor(m),
        None,
        Some(detail),
        now,
    )
    .await?;
    w.commit().await?;
    tracing::info!(
        consultation_id = id,
        notified = opinions.len(),
        "consultation outcome published"
    );
    Ok((published.row, opinions.len()))
}

/// One `pending` outbox row telling a respondent the outcome and their own opinion's fate; the
/// outbox worker sends it when a `consultation_outcome` template is configured.
async fn notify(
    db: &impl ConnectionTrait,
    c: &Consultation,
    o: &Opinion,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let payload = serde_json::json!({
        "consultation_id": c.row.id,
        "title": c.row.title,
        "outcome_published_at": c.row.outcome_published_at,
        "opinion_outcome": o.outcome.map(OpinionOutcome::as_str),
        "opinion_outcome_label": o.outcome.map(OpinionOutcome::label),
        "opinion_reason": o.row.outcome_reason,
    });
    crate::notify::store::enqueue(
        db,
        o.row.user_id,
        "consultation_outcome",
        ("consultation", c.row.id),
        &payload,
        now,
    )
    .await?;
    Ok(())
}

/// The version guard failed: the answer names the consultation's current state and version.
async fn stale(db: &impl ConnectionTrait, id: i64) -> AppError {
    let message = "the consultation changed meanwhile: reload and retry";
    match load(db, id).await {
        Ok(c) => AppError::version_conflict(message, c.row.state, c.row.version),
        Err(e) => e,
    }
}
