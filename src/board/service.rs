//! Appeal commands: submission (idempotent, content-checked, indexed) and every transition of
//! the closed loop. Each change is checked against the transition table, written with its event
//! in one transaction, and guarded by the appeal's version so that two staff acting at once
//! cannot both win.
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use entity::{appeal_events, appeal_grams, appeals, departments, idempotency_keys};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, Set, SqlErr, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::moderation::{ContentCheck, LocalWordList, Verdict};
use super::queries::{board_projection, board_reply};
use super::workflow::{next_state, Action, ActionKind, ActorRole, AppealState, Rating, Urgency};
use super::{catalog, search};
use crate::auth::{Caller, Role};
use crate::calendar::{store as calendar_store, workdays::TIMEZONE};
use crate::crypto::sha256_hex;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const TITLE_MAX: usize = 100;
pub const CONTENT_MAX: usize = 5000;
pub const REPLY_MAX: usize = 5000;
pub const REASON_MAX: usize = 1000;
pub const MAX_ASSISTING: usize = 5;

#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct NewAppeal {
    /// At most 100 characters (after trimming), one line.
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// At most 5000 characters (after trimming).
    #[schema(min_length = 1, max_length = 5000)]
    pub content: String,
    pub category_id: i64,
    pub village_id: i64,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// Shown to staff only; never on the board.
    pub contact_phone: Option<String>,
    /// Public appeals appear on the board once accepted; private ones only to staff and author.
    #[serde(default = "yes")]
    pub is_public: bool,
}

fn yes() -> bool {
    true
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

fn optional_text(field: &str, s: &Option<String>, max: usize) -> AppResult<Option<String>> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => checked_text(field, v, max, false).map(Some),
    }
}

fn checked_phone(p: &Option<String>) -> AppResult<Option<String>> {
    match p.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            let digits = v.chars().filter(char::is_ascii_digit).count();
            let ok_chars = v
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
            if !ok_chars || !(5..=20).contains(&digits) {
                return Err(AppError::validation(
                    "contact_phone",
                    "must be a phone number (5 to 20 digits)",
                ));
            }
            Ok(Some(v.to_string()))
        }
    }
}

pub fn validate_idempotency_key(key: Option<&str>) -> AppResult<String> {
    let key = key.map(str::trim).unwrap_or("");
    if key.is_empty() {
        return Err(AppError::validation(
            "Idempotency-Key",
            "header required: a unique value per appeal, reused when resending it",
        ));
    }
    if key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::validation(
            "Idempotency-Key",
            "at most 128 printable ASCII characters",
        ));
    }
    Ok(key.to_string())
}

/// The result of a submission; `replayed` when the idempotency key had been seen.
pub struct Submitted {
    pub appeal: appeals::Model,
    pub replayed: bool,
}

pub async fn submit(
    state: &AppState,
    author: &Caller,
    key: &str,
    req: &NewAppeal,
) -> AppResult<Submitted> {
    let db = &state.db;
    let request_hash = sha256_hex(&serde_json::to_string(req).map_err(AppError::internal)?);
    if let Some(done) = replay(db, author.user_id, key, &request_hash).await? {
        return Ok(done);
    }
    let checked = prepare(state, req).await?;
    let now = state.clock.now();
    let submitter = Submitter {
        user_id: author.user_id,
        role: ActorRole::Resident.as_str(),
        reason: None,
        detail: None,
    };
    let txn = db.begin().await?;
    let appeal = insert_prepared(&txn, author.user_id, checked, &submitter, now).await?;
    let stored_key = idempotency_keys::ActiveModel {
        user_id: Set(author.user_id),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.clone()),
        appeal_id: Set(appeal.id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match stored_key {
        Ok(_) => {}
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // A concurrent resend of the same submission won the race: answer with its appeal.
            txn.rollback().await?;
            return replay(db, author.user_id, key, &request_hash)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("idempotency row vanished")));
        }
        Err(e) => return Err(e.into()),
    }
    txn.commit().await?;
    tracing::info!(appeal_id = appeal.id, state = %appeal.state, "appeal submitted");
    Ok(Submitted {
        appeal,
        replayed: false,
    })
}

/// An appeal that passed validation and the content check, ready to insert.
pub struct Prepared {
    title: String,
    content: String,
    address: Option<String>,
    phone_enc: Option<String>,
    lat: Option<f64>,
    lng: Option<f64>,
    category_id: i64,
    village_id: i64,
    is_public: bool,
    hold_reason: Option<String>,
    to: AppealState,
}

/// Validates a new appeal and runs the content check; a flagged text is held, never refused.
pub async fn prepare(state: &AppState, req: &NewAppeal) -> AppResult<Prepared> {
    let db = &state.db;
    let title = checked_text("title", &req.title, TITLE_MAX, false)?;
    let content = checked_text("content", &req.content, CONTENT_MAX, true)?;
    let address = optional_text("address", &req.address, 200)?;
    let phone = checked_phone(&req.contact_phone)?;
    catalog::check_coordinates(req.lat, req.lng)?;
    if catalog::category(db, req.category_id).await?.is_none() {
        return Err(AppError::validation("category_id", "unknown category"));
    }
    if catalog::village(db, req.village_id).await?.is_none() {
        return Err(AppError::validation("village_id", "unknown village"));
    }
    let verdict = LocalWordList
        .check(db, &format!("{title}\n{content}"))
        .await?;
    let (action, actor, hold_reason) = match verdict {
        Verdict::Pass => (Action::Submit, ActorRole::Resident, None),
        Verdict::Hold(why) => (Action::Hold, ActorRole::System, Some(why)),
    };
    let to = next_state(AppealState::Draft, &action, actor).map_err(transition_error)?;
    let phone_enc = match phone {
        Some(p) => Some(state.cipher.encrypt(&p).map_err(AppError::internal)?),
        None => None,
    };
    Ok(Prepared {
        title,
        content,
        address,
        phone_enc,
        lat: req.lat,
        lng: req.lng,
        category_id: req.category_id,
        village_id: req.village_id,
        is_public: req.is_public,
        hold_reason,
        to,
    })
}

/// Who the `submit` event names: the resident, or the staff member who filed it for them.
pub struct Submitter {
    pub user_id: i64,
    pub role: &'static str,
    pub reason: Option<String>,
    pub detail: Option<serde_json::Value>,
}

/// Inserts a prepared appeal with its `submit` (and `hold`) events and its search grams.
async fn insert_prepared(
    txn: &DatabaseTransaction,
    author_id: i64,
    p: Prepared,
    submitter: &Submitter,
    now: DateTime<Utc>,
) -> AppResult<appeals::Model> {
    let to = p.to;
    let appeal = appeals::ActiveModel {
        id: NotSet,
        author_id: Set(author_id),
        title: Set(p.title),
        content: Set(p.content),
        category_id: Set(p.category_id),
        village_id: Set(p.village_id),
        address: Set(p.address),
        lat: Set(p.lat),
        lng: Set(p.lng),
        contact_phone_enc: Set(p.phone_enc),
        is_public: Set(p.is_public),
        state: Set(to.as_str().into()),
        on_board: Set(board_projection(p.is_public, to.as_str()).is_some()),
        board_status: Set(board_projection(p.is_public, to.as_str()).map(Into::into)),
        urgency: Set(None),
        lead_department_id: Set(None),
        assisting_department_ids: Set(String::new()),
        deadline_at: Set(None),
        accepted_at: Set(None),
        assigned_at: Set(None),
        overdue_at: Set(None),
        escalated_at: Set(None),
        reopen_count: Set(0),
        master_id: Set(None),
        extension_requested_until: Set(None),
        extension_reason: Set(None),
        info_question: Set(None),
        reject_reason: Set(None),
        public_reply: Set(None),
        internal_note: Set(None),
        reply_private: Set(false),
        replied_at: Set(None),
        published_at: Set(None),
        rating: Set(None),
        solved: Set(None),
        rating_comment: Set(None),
        rated_at: Set(None),
        closed_at: Set(None),
        close_reason: Set(None),
        hold_reason: Set(p.hold_reason.clone()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    record_as(
        txn,
        appeal.id,
        ActionKind::Submit,
        AppealState::Draft,
        AppealState::Submitted,
        (Some(submitter.user_id), submitter.role, None),
        submitter.reason.clone(),
        submitter.detail.clone(),
        now,
    )
    .await?;
    if to == AppealState::HeldForReview {
        record(
            txn,
            appeal.id,
            ActionKind::Hold,
            AppealState::Draft,
            to,
            &Actor::SYSTEM,
            p.hold_reason,
            None,
            now,
        )
        .await?;
    }
    index(txn, appeal.id, &appeal.title, &appeal.content, None).await?;
    Ok(appeal)
}

/// Files an appeal for a resident inside the caller's transaction, e.g. when a leader turns a
/// live-session conversation into an appeal: the resident is its author, and the `submit` event
/// names the staff member who filed it, with `detail` linking back to where it came from.
/// Resubmission is the caller's business (the live-session outcome is unique per resident).
pub async fn submit_on_behalf(
    txn: &DatabaseTransaction,
    resident_id: i64,
    prepared: Prepared,
    submitter: &Submitter,
    now: DateTime<Utc>,
) -> AppResult<appeals::Model> {
    let appeal = insert_prepared(txn, resident_id, prepared, submitter, now).await?;
    tracing::info!(appeal_id = appeal.id, state = %appeal.state, filed_by = submitter.user_id, "appeal filed on a resident's behalf");
    Ok(appeal)
}

async fn replay(
    db: &impl ConnectionTrait,
    user_id: i64,
    key: &str,
    request_hash: &str,
) -> AppResult<Option<Submitted>> {
    let Some(row) = idempotency_keys::Entity::find()
        .filter(idempotency_keys::Column::UserId.eq(user_id))
        .filter(idempotency_keys::Column::Key.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.request_hash != request_hash {
        return Err(AppError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different appeal; use a new key",
        ));
    }
    let appeal = appeals::Entity::find_by_id(row.appeal_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("appeal of idempotency key missing")))?;
    Ok(Some(Submitted {
        appeal,
        replayed: true,
    }))
}

/// Replaces the appeal's search grams. Only what the board shows is indexed (see
/// [`search::public_text`]): a masked digit must never be findable.
pub async fn index(
    db: &impl ConnectionTrait,
    appeal_id: i64,
    title: &str,
    content: &str,
    shown_reply: Option<&str>,
) -> AppResult<()> {
    appeal_grams::Entity::delete_many()
        .filter(appeal_grams::Column::AppealId.eq(appeal_id))
        .exec(db)
        .await?;
    let grams: Vec<String> = search::grams(&search::public_text(title, content, shown_reply))
        .into_iter()
        .collect();
    for chunk in grams.chunks(300) {
        let rows = chunk.iter().map(|g| appeal_grams::ActiveModel {
            gram: Set(g.clone()),
            appeal_id: Set(appeal_id),
        });
        appeal_grams::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([appeal_grams::Column::Gram, appeal_grams::Column::AppealId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn record(
    db: &impl ConnectionTrait,
    appeal_id: i64,
    action: ActionKind,
    from: AppealState,
    to: AppealState,
    actor: &Actor,
    reason: Option<String>,
    detail: Option<serde_json::Value>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    record_as(
        db,
        appeal_id,
        action,
        from,
        to,
        (actor.user_id, actor.role.as_str(), actor.department_id),
        reason,
        detail,
        now,
    )
    .await
}

/// Like [`record`] with the actor spelled out as (user, role name, department), for actors the
/// transition table does not know, such as a leader filing an appeal for a resident.
#[allow(clippy::too_many_arguments)]
pub async fn record_as(
    db: &impl ConnectionTrait,
    appeal_id: i64,
    action: ActionKind,
    from: AppealState,
    to: AppealState,
    (actor_id, actor_role, department_id): (Option<i64>, &str, Option<i64>),
    reason: Option<String>,
    detail: Option<serde_json::Value>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    appeal_events::ActiveModel {
        appeal_id: Set(appeal_id),
        action: Set(action.as_str().into()),
        from_state: Set(from.as_str().into()),
        to_state: Set(to.as_str().into()),
        actor_id: Set(actor_id),
        actor_role: Set(actor_role.into()),
        department_id: Set(department_id),
        reason: Set(reason),
        detail: Set(detail.map(|d| d.to_string())),
        public: Set(is_public_event(action)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Events the resident sees on their timeline; the rest are the office's business.
pub fn is_public_event(action: ActionKind) -> bool {
    use ActionKind as A;
    matches!(
        action,
        A::Submit
            | A::Accept
            | A::Reject
            | A::RequestInfo
            | A::ProvideInfo
            | A::Merge
            | A::Assign
            | A::Reassign
            | A::Sign
            | A::ApproveReply
            | A::Rate
            | A::Reopen
            | A::Close
            | A::AutoClose
    )
}

/// Facts some actions carry beside the transition itself.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default)]
pub struct ActionExtras {
    /// provide_info: what the resident adds.
    pub info: Option<String>,
    /// reply: the answer published to the resident (and the board, if public).
    pub public_reply: Option<String>,
    /// reply: the department's internal handling note, for staff only.
    pub internal_note: Option<String>,
    /// request_extension: the date the department asks for (YYYY-MM-DD).
    pub until: Option<NaiveDate>,
    /// approve_extension: the new deadline date; the requested one when absent.
    pub deadline: Option<NaiveDate>,
    /// approve_reply: answer privately (only the author sees the reply).
    pub private: Option<bool>,
    /// rate: was the problem solved?
    pub solved: Option<bool>,
    /// rate: the resident's comment.
    pub comment: Option<String>,
}

/// `POST /appeals/{id}/actions` body: the action (tagged by `action`), the version the caller
/// saw, and any extras the action needs, all in one flat object. The flattening is for the
/// document; the server reads the body part by part ([`action_request`]).
#[derive(Deserialize, ToSchema)]
pub struct ActionRequest {
    /// The appeal's `version` as the caller last read it.
    pub version: i32,
    #[serde(flatten)]
    pub action: Action,
    #[serde(flatten)]
    pub extras: ActionExtras,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: i32,
}

/// Reads the flat body part by part, so that errors name the field at fault (serde's
/// `flatten` would report them at the top level).
/// A tagged enum loses the path of a bad variant value; find the field holding the value the
/// message quotes (`unknown variant \`x\``).
fn name_field(e: AppError, body: &serde_json::Value) -> AppError {
    match e {
        AppError::Validation { field, message } if field == "." => {
            let quoted = message.split('`').nth(1).unwrap_or_default();
            let found = body.as_object().and_then(|o| {
                o.iter()
                    .find(|(k, v)| k.as_str() != "action" && v.as_str() == Some(quoted))
                    .map(|(k, _)| k.clone())
            });
            let field = match (found, message.starts_with("unknown variant")) {
                (Some(k), _) => k,
                (None, true) => "action".into(),
                (None, false) => field,
            };
            AppError::Validation { field, message }
        }
        other => other,
    }
}

pub fn action_request(body: serde_json::Value) -> AppResult<ActionRequest> {
    if !body.is_object() {
        return Err(AppError::validation(".", "the body must be a JSON object"));
    }
    let VersionOnly { version } = crate::extract::from_value(body.clone())?;
    let action = crate::extract::from_value(body.clone()).map_err(|e| name_field(e, &body))?;
    let extras = crate::extract::from_value(body)?;
    Ok(ActionRequest {
        version,
        action,
        extras,
    })
}

pub fn transition_error(e: super::workflow::TransitionError) -> AppError {
    use super::workflow::TransitionError as T;
    match e {
        T::NotAllowed { state, action } => AppError::StateConflict {
            code: "invalid_transition",
            message: format!("`{action}` is not allowed while the appeal is `{state}`"),
            state: state.as_str().into(),
            version: None,
        },
        T::WrongActor { .. } => AppError::ForbiddenWith {
            code: "action_not_permitted",
            message: e.to_string(),
        },
        T::MissingReason { .. } => AppError::validation("reason", e.to_string()),
    }
}

fn end_of_day(date: NaiveDate) -> AppResult<DateTime<Utc>> {
    let t = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default();
    TIMEZONE
        .from_local_datetime(&date.and_time(t))
        .single()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| AppError::validation("deadline", "not a valid local date"))
}

fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&TIMEZONE).date_naive()
}

fn parse_ids(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|p| p.trim().parse().ok()).collect()
}

pub fn assisting_ids(a: &appeals::Model) -> Vec<i64> {
    parse_ids(&a.assisting_department_ids)
}

async fn check_departments(
    txn: &DatabaseTransaction,
    lead: i64,
    assisting: &[i64],
) -> AppResult<String> {
    if departments::Entity::find_by_id(lead)
        .one(txn)
        .await?
        .is_none()
    {
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
    for &d in assisting {
        if d == lead {
            return Err(AppError::validation(
                "assisting_department_ids",
                "the lead department cannot also assist",
            ));
        }
        if departments::Entity::find_by_id(d).one(txn).await?.is_none() {
            return Err(AppError::validation(
                "assisting_department_ids",
                "no such department",
            ));
        }
        if !ids.contains(&d) {
            ids.push(d);
        }
    }
    // Delimited at both ends so `LIKE '%,5,%'` finds department 5 and not 15.
    Ok(if ids.is_empty() {
        String::new()
    } else {
        format!(
            ",{},",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )
    })
}

/// Whether `actor` may touch this appeal at all; `NotFound` hides others' appeals.
fn check_party(actor: &Actor, a: &appeals::Model) -> AppResult<()> {
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

/// Performs one action on one appeal. The table decides whether it is allowed; this function
/// applies its effects, appends the event and bumps the version, all in one transaction.
pub async fn perform(
    state: &AppState,
    actor: Actor,
    appeal_id: i64,
    version: Option<i32>,
    action: Action,
    extras: ActionExtras,
) -> AppResult<appeals::Model> {
    let now = state.clock.now();
    let calendar = calendar_store::load(&state.db).await?;
    let _gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    let a = appeals::Entity::find_by_id(appeal_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    check_party(&actor, &a)?;
    let from = AppealState::parse(&a.state)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("appeal {} in unknown state", a.id)))?;
    if let Some(v) = version {
        if v != a.version {
            return Err(stale(&a));
        }
    }
    let to = next_state(from, &action, actor.role).map_err(transition_error)?;
    let kind = action.kind();
    let mut am: appeals::ActiveModel = Default::default();
    let mut reason: Option<String> = None;
    let mut detail = serde_json::Map::new();
    let mut reindex: Option<String> = None;
    // Some(the reply now shown on the board) when this action changes it.
    let mut reply_change: Option<Option<String>> = None;
    let urgency = a.urgency.as_deref().and_then(Urgency::parse);
    // The clock starts on the day work may start: acceptance for an assignment (being
    // returned and reassigned does not restart it), the reopening for a reopened appeal.
    let deadline_from = |start: DateTime<Utc>, u: Option<Urgency>| -> AppResult<DateTime<Utc>> {
        let u = u.ok_or_else(|| {
            AppError::conflict("no_urgency", "accept the appeal with an urgency first")
        })?;
        Ok(calendar.deadline_for(start, u.working_days()))
    };
    match &action {
        Action::Submit | Action::Hold => {}
        Action::Release => {
            am.hold_reason = Set(None);
        }
        Action::RequestInfo { question } => {
            let q = checked_text("question", question, REASON_MAX, true)?;
            am.info_question = Set(Some(q.clone()));
            reason = Some(q);
        }
        Action::ProvideInfo => {
            let info = checked_text(
                "info",
                extras.info.as_deref().unwrap_or(""),
                CONTENT_MAX,
                true,
            )?;
            let content = format!("{}\n\n【补充】{}", a.content, info);
            if content.chars().count() > CONTENT_MAX * 2 {
                return Err(AppError::validation(
                    "info",
                    "the appeal is already as long as it may be",
                ));
            }
            am.content = Set(content.clone());
            am.info_question = Set(None);
            reindex = Some(content);
            reason = Some(info);
        }
        Action::Accept { urgency } => {
            am.urgency = Set(Some(urgency.as_str().into()));
            am.accepted_at = Set(Some(now));
            detail.insert("urgency".into(), urgency.as_str().into());
        }
        Action::Reject { reason: r } => {
            let r = checked_text("reason", r, REASON_MAX, true)?;
            am.reject_reason = Set(Some(r.clone()));
            am.closed_at = Set(Some(now));
            reason = Some(r);
        }
        Action::Merge { master_id } => {
            let master = merge_target(&txn, &a, *master_id).await?;
            am.master_id = Set(Some(master.id));
            am.closed_at = Set(Some(now));
            detail.insert("master_id".into(), master.id.into());
        }
        Action::Assign {
            lead_department_id,
            assisting_department_ids,
        }
        | Action::Reassign {
            lead_department_id,
            assisting_department_ids,
        } => {
            let assisting =
                check_departments(&txn, *lead_department_id, assisting_department_ids).await?;
            let deadline = deadline_from(a.accepted_at.unwrap_or(now), urgency)?;
            am.lead_department_id = Set(Some(*lead_department_id));
            am.assisting_department_ids = Set(assisting);
            am.assigned_at = Set(Some(now));
            am.deadline_at = Set(Some(deadline));
            am.overdue_at = Set(None);
            am.escalated_at = Set(None);
            detail.insert("lead_department_id".into(), (*lead_department_id).into());
            detail.insert(
                "assisting_department_ids".into(),
                assisting_department_ids.clone().into(),
            );
            detail.insert("deadline_at".into(), deadline.to_rfc3339().into());
        }
        Action::Sign => {}
        Action::Return { reason: code, note } => {
            let note = note.trim();
            if note.chars().count() > REASON_MAX {
                return Err(AppError::validation(
                    "note",
                    format!("at most {REASON_MAX} characters"),
                ));
            }
            am.lead_department_id = Set(None);
            am.assisting_department_ids = Set(String::new());
            am.deadline_at = Set(None);
            am.extension_requested_until = Set(None);
            am.extension_reason = Set(None);
            detail.insert("reason_code".into(), code.as_str().into());
            detail.insert("department_id".into(), a.lead_department_id.into());
            reason = Some(if note.is_empty() {
                code.as_str().to_string()
            } else {
                format!("{}: {note}", code.as_str())
            });
        }
        Action::RequestExtension { reason: r } => {
            let r = checked_text("reason", r, REASON_MAX, true)?;
            let deadline = a
                .deadline_at
                .ok_or_else(|| AppError::conflict("no_deadline", "the appeal has no deadline"))?;
            if now > deadline {
                return Err(AppError::conflict(
                    "deadline_passed",
                    "an extension must be asked for before the deadline",
                ));
            }
            if a.extension_requested_until.is_some() {
                return Err(AppError::conflict(
                    "extension_pending",
                    "an extension request is already waiting",
                ));
            }
            let until = extras
                .until
                .ok_or_else(|| AppError::validation("until", "the date asked for is required"))?;
            if until <= local_date(deadline) {
                return Err(AppError::validation(
                    "until",
                    "must be after the current deadline",
                ));
            }
            am.extension_requested_until = Set(Some(until.to_string()));
            am.extension_reason = Set(Some(r.clone()));
            detail.insert("until".into(), until.to_string().into());
            reason = Some(r);
        }
        Action::ApproveExtension => {
            let requested = a
                .extension_requested_until
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| {
                    AppError::conflict("no_extension_pending", "no extension request is waiting")
                })?;
            let date = extras.deadline.unwrap_or(requested);
            let current = a.deadline_at.map(local_date);
            if current.is_some_and(|c| date <= c) {
                return Err(AppError::validation(
                    "deadline",
                    "must be after the current deadline",
                ));
            }
            let deadline = end_of_day(date)?;
            am.deadline_at = Set(Some(deadline));
            am.extension_requested_until = Set(None);
            am.extension_reason = Set(None);
            am.overdue_at = Set(None);
            am.escalated_at = Set(None);
            detail.insert("deadline_at".into(), deadline.to_rfc3339().into());
        }
        Action::RefuseExtension => {
            if a.extension_requested_until.is_none() {
                return Err(AppError::conflict(
                    "no_extension_pending",
                    "no extension request is waiting",
                ));
            }
            am.extension_requested_until = Set(None);
            am.extension_reason = Set(None);
            reason = extras
                .comment
                .as_deref()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty());
        }
        Action::Reply => {
            let reply = checked_text(
                "public_reply",
                extras.public_reply.as_deref().unwrap_or(""),
                REPLY_MAX,
                true,
            )?;
            let note = optional_text_multiline("internal_note", &extras.internal_note, REPLY_MAX)?;
            am.public_reply = Set(Some(reply.clone()));
            am.internal_note = Set(note);
            am.replied_at = Set(Some(now));
            detail.insert("public_reply".into(), reply.into());
        }
        Action::ApproveReply => {
            let private = extras.private.unwrap_or(false) || !a.is_public;
            am.reply_private = Set(private);
            am.published_at = Set(Some(now));
            detail.insert("private".into(), private.into());
            reply_change = Some(a.public_reply.clone().filter(|_| !private));
            if let Some(r) = &a.public_reply {
                detail.insert("public_reply".into(), r.clone().into());
            }
        }
        Action::SendBack { reason: r } => {
            reason = Some(checked_text("reason", r, REASON_MAX, true)?);
        }
        Action::Rate { rating } => {
            let comment = optional_text_multiline("comment", &extras.comment, REASON_MAX)?;
            let solved = extras.solved.ok_or_else(|| {
                AppError::validation("solved", "say whether the problem was solved")
            })?;
            am.rating = Set(Some(rating.as_str().into()));
            am.solved = Set(Some(solved));
            am.rating_comment = Set(comment.clone());
            am.rated_at = Set(Some(now));
            if to == AppealState::Closed {
                am.closed_at = Set(Some(now));
                am.close_reason = Set(Some("rated".into()));
            }
            detail.insert("rating".into(), rating.as_str().into());
            detail.insert("solved".into(), solved.into());
            reason = comment;
        }
        Action::Reopen => {
            let deadline = deadline_from(now, urgency)?;
            am.reopen_count = Set(a.reopen_count + 1);
            am.deadline_at = Set(Some(deadline));
            am.assigned_at = Set(Some(now));
            am.overdue_at = Set(None);
            am.escalated_at = Set(None);
            am.public_reply = Set(None);
            reply_change = Some(None);
            am.internal_note = Set(None);
            am.replied_at = Set(None);
            am.published_at = Set(None);
            am.rating = Set(None);
            am.solved = Set(None);
            am.rating_comment = Set(None);
            am.rated_at = Set(None);
            detail.insert("deadline_at".into(), deadline.to_rfc3339().into());
            detail.insert("reopen_count".into(), (a.reopen_count + 1).into());
        }
        Action::AutoClose => {
            am.closed_at = Set(Some(now));
            am.close_reason = Set(Some("not_rated".into()));
        }
        Action::Close => {
            am.closed_at = Set(Some(now));
            am.close_reason = Set(Some("closed_by_office".into()));
            reason = extras
                .comment
                .as_deref()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty());
        }
        Action::MarkOverdue => {
            am.overdue_at = Set(Some(now));
            detail.insert(
                "deadline_at".into(),
                a.deadline_at.map(|d| d.to_rfc3339()).into(),
            );
        }
        Action::Escalate => {
            am.escalated_at = Set(Some(now));
        }
    }
    am.state = Set(to.as_str().into());
    let board = board_projection(a.is_public, to.as_str());
    am.on_board = Set(board.is_some());
    am.board_status = Set(board.map(Into::into));
    am.version = Set(a.version + 1);
    am.updated_at = Set(now);
    let res = appeals::Entity::update_many()
        .set(am)
        .filter(appeals::Column::Id.eq(a.id))
        .filter(appeals::Column::Version.eq(a.version))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        txn.rollback().await?;
        let now_row = appeals::Entity::find_by_id(a.id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        return Err(stale(&now_row));
    }
    if reindex.is_some() || reply_change.is_some() {
        let content = reindex.as_deref().unwrap_or(&a.content);
        let reply = match &reply_change {
            Some(r) => r.as_deref(),
            None => board_reply(&a),
        };
        index(&txn, a.id, &a.title, content, reply).await?;
    }
    let event_actor = Actor {
        department_id: if actor.role == ActorRole::Handler {
            actor.department_id
        } else {
            a.lead_department_id.or(actor.department_id)
        },
        ..actor
    };
    if let Some(level) = super::supervision::notice_level(&action) {
        super::supervision::notice(&txn, &a, level, now).await?;
    }
    let detail = (!detail.is_empty()).then_some(serde_json::Value::Object(detail));
    record(
        &txn,
        a.id,
        kind,
        from,
        to,
        &event_actor,
        reason,
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(appeal_id = a.id, action = %kind, from = %from, to = %to, "appeal transition");
    appeals::Entity::find_by_id(a.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

fn optional_text_multiline(
    field: &str,
    s: &Option<String>,
    max: usize,
) -> AppResult<Option<String>> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => checked_text(field, v, max, true).map(Some),
    }
}

fn stale(a: &appeals::Model) -> AppError {
    AppError::StateConflict {
        code: "version_conflict",
        message: format!(
            "the appeal changed since you read it: it is now `{}` at version {}; reload and retry",
            a.state, a.version
        ),
        state: a.state.clone(),
        version: Some(a.version),
    }
}

async fn merge_target(
    txn: &DatabaseTransaction,
    a: &appeals::Model,
    master_id: i64,
) -> AppResult<appeals::Model> {
    if master_id == a.id {
        return Err(AppError::validation(
            "master_id",
            "an appeal cannot be merged into itself",
        ));
    }
    let master = appeals::Entity::find_by_id(master_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::validation("master_id", "no such appeal"))?;
    let ms = AppealState::parse(&master.state).unwrap_or(AppealState::Draft);
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
    if master.id > a.id {
        return Err(AppError::validation(
            "master_id",
            "merge into the earlier appeal",
        ));
    }
    Ok(master)
}

/// Ratings, for reports: whether a closed appeal counts as satisfied.
pub fn counts_as_satisfied(a: &appeals::Model) -> bool {
    a.rating
        .as_deref()
        .and_then(Rating::parse)
        .is_some_and(Rating::counts_as_satisfied)
}
