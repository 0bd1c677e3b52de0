//! The only place consultations are written: each change reads the record, asks `decide`, and
//! writes the change, its event and any outbox rows in one transaction (the board's write
//! helper, which takes the SQLite write gate), guarded by the record's version.
use chrono::{DateTime, Utc};
use entity::{
    appeals, consultation_events, consultation_response_versions, consultation_responses,
    consultations, departments, notifications, villages,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, SqlErr,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::decide::{
    check_answerable, check_answers, check_draft, check_extend, check_outcome, check_publish,
    check_reason, next_state, Command, Draft,
};
use super::model::{
    Consultation, ConsultationInput, ConsultationState, Manager, Opinion, OpinionOutcome,
    ResponseInput, Review,
};
use crate::auth::{Caller, Role};
use crate::board::moderation::{ContentCheck, LocalWordList, Verdict};
pub use crate::board::store::{begin_write, Write};
use crate::crypto::sha256_hex;
use crate::error::{AppError, AppResult};
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
        actor_role: Set(actor.role.as_str().into()),
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
        code: "not_your_department",
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

fn json(v: &impl serde::Serialize) -> AppResult<String> {
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
        return Err(AppError::conflict(
            "version_conflict",
            "the consultation changed meanwhile: reload and retry",
        ));
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

pub fn validate_idempotency_key(key: Option<&str>) -> AppResult<String> {
    crate::board::service::validate_idempotency_key(key)
}

/// The result of a submission; `replayed` when the idempotency key had been seen.
pub struct Submitted {
    pub response: consultation_responses::Model,
    pub replayed: bool,
}

/// A retried request (same user, same key) finds the version it made: the same body answers
/// with that opinion, another body is `idempotency_key_reused`.
async fn replay(
    db: &impl ConnectionTrait,
    user_id: i64,
    key: &str,
    hash: &str,
) -> AppResult<Option<Submitted>> {
    let Some(v) = consultation_response_versions::Entity::find()
        .filter(consultation_response_versions::Column::UserId.eq(user_id))
        .filter(consultation_response_versions::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if v.request_hash != hash {
        return Err(AppError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used for another submission; use a new key",
        ));
    }
    let response = consultation_responses::Entity::find_by_id(v.response_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Some(Submitted {
        response,
        replayed: true,
    }))
}

/// Where the resident lives: what they say now, else the village of their latest opinion, else
/// of their latest appeal.
async fn village_of(
    db: &impl ConnectionTrait,
    user_id: i64,
    said: Option<i64>,
) -> AppResult<Option<i64>> {
    if let Some(id) = said {
        if villages::Entity::find_by_id(id).one(db).await?.is_none() {
            return Err(AppError::validation("village_id", "no such village"));
        }
        return Ok(Some(id));
    }
    default_village(db, user_id).await
}

pub async fn default_village(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Option<i64>> {
    let last = consultation_responses::Entity::find()
        .filter(consultation_responses::Column::UserId.eq(user_id))
        .filter(consultation_responses::Column::VillageId.is_not_null())
        .order_by_desc(consultation_responses::Column::UpdatedAt)
        .one(db)
        .await?;
    if let Some(r) = last {
        return Ok(r.village_id);
    }
    let appeal = appeals::Entity::find()
        .filter(appeals::Column::AuthorId.eq(user_id))
        .order_by_desc(appeals::Column::Id)
        .one(db)
        .await?;
    Ok(appeal.map(|a| a.village_id))
}

/// Submits or changes the resident's opinion. The latest counts; every version is kept.
pub async fn submit(
    state: &AppState,
    resident: &Caller,
    id: i64,
    key: &str,
    input: &ResponseInput,
) -> AppResult<Submitted> {
    let db = &state.db;
    let hash = sha256_hex(&format!("{id}:{}", json(input)?));
    if let Some(done) = replay(db, resident.user_id, key, &hash).await? {
        return Ok(done);
    }
    let now = state.clock.now();
    let c = load(db, id).await?;
    check_answerable(&c, now)?;
    let answers = check_answers(&c.questions, &input.answers)?;
    let village_id = village_of(db, resident.user_id, input.village_id).await?;
    let texts: Vec<&str> = answers
        .values()
        .flat_map(|a| a.text.as_deref().into_iter().chain(a.other.as_deref()))
        .collect();
    let (review, hold_reason) = if texts.is_empty() {
        (Review::Visible, None)
    } else {
        match LocalWordList.check(db, &texts.join("\n")).await? {
            Verdict::Pass => (Review::Visible, None),
            Verdict::Hold(why) => (Review::Held, Some(why)),
        }
    };
    let answers_json = json(&answers)?;
    let w = begin_write(state).await?;
    let existing = consultation_responses::Entity::find()
        .filter(consultation_responses::Column::ConsultationId.eq(id))
        .filter(consultation_responses::Column::UserId.eq(resident.user_id))
        .one(&w.txn)
        .await?;
    let (response, action) = match existing {
        Some(r) => {
            let mut a: consultation_responses::ActiveModel = r.clone().into();
            a.answers = Set(answers_json.clone());
            a.village_id = Set(village_id);
            a.version = Set(r.version + 1);
            a.review = Set(review.as_str().into());
            a.hold_reason = Set(hold_reason.clone());
            a.updated_at = Set(now);
            (a.update(&w.txn).await?, "change_opinion")
        }
        None => {
            let inserted = consultation_responses::ActiveModel {
                consultation_id: Set(id),
                user_id: Set(resident.user_id),
                village_id: Set(village_id),
                answers: Set(answers_json.clone()),
                version: Set(1),
                review: Set(review.as_str().into()),
                hold_reason: Set(hold_reason.clone()),
                outcome: Set(None),
                outcome_reason: Set(None),
                featured: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&w.txn)
            .await;
            match inserted {
                Ok(r) => (r, "submit_opinion"),
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    // Two first submissions at once (PostgreSQL): the other won; this one is
                    // sent again as a change.
                    w.rollback().await?;
                    return Err(AppError::conflict(
                        "version_conflict",
                        "your opinion was saved by another request meanwhile: reload and retry",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let stored = consultation_response_versions::ActiveModel {
        response_id: Set(response.id),
        consultation_id: Set(id),
        user_id: Set(resident.user_id),
        version: Set(response.version),
        answers: Set(answers_json),
        village_id: Set(village_id),
        idempotency_key: Set(key.to_string()),
        request_hash: Set(hash.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&w.txn)
    .await;
    match stored {
        Ok(_) => {}
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // A concurrent resend of the same request won the race: answer with its opinion.
            // Without one, another change of this opinion took the version number meanwhile.
            w.rollback().await?;
            return replay(db, resident.user_id, key, &hash)
                .await?
                .ok_or_else(|| {
                    AppError::conflict(
                        "version_conflict",
                        "your opinion was changed by another request meanwhile: reload and retry",
                    )
                });
        }
        Err(e) => return Err(e.into()),
    }
    let who = EventActor {
        user_id: resident.user_id,
        role: Role::Resident,
    };
    let detail = serde_json::json!({ "version": response.version });
    let to = review.as_str();
    record(
        &w.txn,
        id,
        Some(response.id),
        action,
        ("", to),
        who,
        hold_reason,
        Some(detail),
        now,
    )
    .await?;
    w.commit().await?;
    tracing::info!(
        consultation_id = id,
        response_id = response.id,
        review = to,
        "opinion saved"
    );
    Ok(Submitted {
        response,
        replayed: false,
    })
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
            "not_held",
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
        return Err(AppError::conflict(
            "version_conflict",
            "the consultation changed meanwhile: reload and retry",
        ));
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
/// WeChat sender picks these up.
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
    notifications::ActiveModel {
        user_id: Set(o.row.user_id),
        kind: Set("consultation_outcome".into()),
        subject_type: Set("consultation".into()),
        subject_id: Set(c.row.id),
        payload: Set(payload.to_string()),
        status: Set("pending".into()),
        attempts: Set(0),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
