//! Residents' opinions: submission and change, idempotent under retries, checked against the
//! questions and by the content check, every version kept; written through the store's one
//! transaction helper and event writer.
use entity::{appeals, consultation_response_versions, consultation_responses, villages};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr,
};

use super::decide::{check_answerable, check_answers};
use super::model::{ConsultationState, ResponseInput, Review};
use super::store::{begin_write, json, load, record, EventActor};
use crate::auth::{Caller, Role};
use crate::board::moderation::{check_text, scene, Verdict};
use crate::crypto::sha256_hex;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

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
            ErrorCode::IdempotencyKeyReused,
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
        match check_text(
            state,
            resident.user_id,
            "answers",
            scene::FORUM,
            &texts.join("\n"),
        )
        .await?
        {
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
                    return Err(AppError::version_conflict(
                        "your opinion was saved by another request meanwhile: reload and retry",
                        ConsultationState::Published.as_str(),
                        0,
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
                    AppError::version_conflict(
                        "your opinion was changed by another request meanwhile: reload and retry",
                        ConsultationState::Published.as_str(),
                        0,
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
