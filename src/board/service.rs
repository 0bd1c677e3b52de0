//! Submission of appeals: idempotent, validated, content-checked and indexed, with its
//! `submit` (and `hold`) events. The actions after it are decided in [`super::decide`] and
//! written by [`super::store`].
use chrono::{DateTime, Utc};
use entity::{appeals, idempotency_keys};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog;
use super::moderation::{check_text, scene, ContentCheck, LocalWordList, Verdict};
use super::queries::board_projection;
use super::store::{begin_write, index, record, record_as};
use super::workflow::{next_state, Action, ActionKind, ActorRole, AppealState};
use crate::auth::Caller;
use crate::crypto::sha256_hex;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub use super::decide::transition_error;
use super::model::optional_text;
pub use super::model::{
    checked_text, Actor, CONTENT_MAX, MAX_ASSISTING, REASON_MAX, REPLY_MAX, TITLE_MAX,
};
use crate::error::ErrorCode;

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
    let checked = prepare(state, Some(author.user_id), req).await?;
    let now = state.clock.now();
    let submitter = Submitter {
        user_id: author.user_id,
        role: ActorRole::Resident.into(),
        reason: None,
        detail: None,
    };
    let w = begin_write(state).await?;
    let appeal = insert_prepared(&w.txn, author.user_id, checked, &submitter, now).await?;
    let stored_key = idempotency_keys::ActiveModel {
        user_id: Set(author.user_id),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.clone()),
        appeal_id: Set(appeal.id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&w.txn)
    .await;
    match stored_key {
        Ok(_) => {}
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // A concurrent resend of the same submission won the race: answer with its appeal.
            w.rollback().await?;
            return replay(db, author.user_id, key, &request_hash)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("idempotency row vanished")));
        }
        Err(e) => return Err(e.into()),
    }
    w.commit().await?;
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

/// Validates a new appeal and runs the content check; a flagged text is held. With WeChat's
/// content security on, the resident `author` is checked by WeChat (a `risky` text is refused
/// on `content`); text staff write for someone (`author` none) meets the local word list.
pub async fn prepare(
    state: &AppState,
    author: Option<i64>,
    req: &NewAppeal,
) -> AppResult<Prepared> {
    let db = &state.db;
    let title = checked_text("title", &req.title, TITLE_MAX, false)?;
    let content = checked_text("content", &req.content, CONTENT_MAX, true)?;
    let address = optional_text("address", &req.address, 200, false)?;
    let phone = checked_phone(&req.contact_phone)?;
    catalog::check_coordinates(req.lat, req.lng)?;
    if catalog::category(db, req.category_id).await?.is_none() {
        return Err(AppError::validation("category_id", "unknown category"));
    }
    if catalog::village(db, req.village_id).await?.is_none() {
        return Err(AppError::validation("village_id", "unknown village"));
    }
    let text = format!("{title}\n{content}");
    let verdict = match author {
        Some(id) => check_text(state, id, "content", scene::FORUM, &text).await?,
        None => LocalWordList.check(db, &text).await?,
    };
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
        state: Set(to),
        on_board: Set(board_projection(p.is_public, to).is_some()),
        board_status: Set(board_projection(p.is_public, to)),
        urgency: Set(None),
        lead_department_id: Set(None),
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
        // The column's default: the mini-program; office intake sets its own.
        channel: NotSet,
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
            ErrorCode::IdempotencyKeyReused,
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
