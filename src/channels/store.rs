//! The only writes of channels: registering an appeal for a resident (one transaction: the
//! appeal with its `submit` event through the board, its channel, the intake record), the
//! resident's verdict recorded by the office, claiming by a verified phone, and imports.
use chrono::{DateTime, Utc};
use entity::{appeal_intakes, appeals};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set, SqlErr,
};

use super::decide::{check_intake, CheckedIntake, Known};
use super::model::{IntakeRequest, IntakeView, Phone, VerdictRequest};
use super::views;
use crate::auth::Caller;
use crate::board::model::Actor;
use crate::board::service::{prepare, submit_on_behalf, NewAppeal, Submitter};
use crate::board::store::apply_recorded_as;
use crate::board::workflow::{Action, ActorRole};
use crate::crypto::{sha256_hex, DataCipher};
use crate::db::begin_write;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

/// An intake with its hashes and ciphertexts, ready to store.
pub struct Sealed {
    pub intake: CheckedIntake,
    pub appeal_hash: String,
    pub contact_hash: String,
    pub phone_hash: String,
    pub name_enc: String,
    pub phone_enc: String,
}

pub fn seal(cipher: &DataCipher, intake: CheckedIntake) -> AppResult<Sealed> {
    Ok(Sealed {
        appeal_hash: sha256_hex(&intake.appeal_form()),
        // Keyed: a plain hash of a name and phone could be reversed by trying numbers.
        contact_hash: cipher.lookup_hash(&intake.contact_form()),
        phone_hash: phone_hash(cipher, &intake.phone),
        name_enc: cipher
            .encrypt(&intake.resident_name)
            .map_err(AppError::internal)?,
        phone_enc: cipher
            .encrypt(intake.phone.digits())
            .map_err(AppError::internal)?,
        intake,
    })
}

fn phone_hash(cipher: &DataCipher, phone: &Phone) -> String {
    cipher.lookup_hash(&format!("phone:{}", phone.digits()))
}

/// The appeal as the board prepares any appeal: checked, content-checked, held if flagged. The
/// resident's phone is not the board's contact phone: it stays in the intake record, masked.
pub async fn prepare_appeal(
    state: &AppState,
    i: &CheckedIntake,
) -> AppResult<crate::board::service::Prepared> {
    prepare(
        state,
        None,
        &NewAppeal {
            title: i.title.clone(),
            content: i.content.clone(),
            category_id: i.category_id,
            village_id: i.village_id,
            address: i.address.clone(),
            lat: None,
            lng: None,
            contact_phone: None,
            is_public: i.is_public,
        },
    )
    .await
}

/// What is registered under (channel, reference), if anything.
pub async fn known(
    db: &impl ConnectionTrait,
    channel: &str,
    reference: &str,
) -> AppResult<Option<(appeal_intakes::Model, Known)>> {
    Ok(appeal_intakes::Entity::find()
        .filter(appeal_intakes::Column::Channel.eq(channel))
        .filter(appeal_intakes::Column::ExternalRef.eq(reference))
        .one(db)
        .await?
        .map(|row| {
            let k = Known {
                appeal_id: row.appeal_id,
                appeal_hash: row.appeal_hash.clone(),
                contact_hash: row.contact_hash.clone(),
            };
            (row, k)
        }))
}

/// Inserts the appeal (through the board, so it enters the same workflow with the same
/// events), sets its channel and records the intake, inside the caller's transaction.
pub async fn insert_intake(
    txn: &DatabaseTransaction,
    filer: i64,
    s: &Sealed,
    prepared: crate::board::service::Prepared,
    import_job_id: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<appeals::Model> {
    let i = &s.intake;
    let submitter = Submitter {
        user_id: filer,
        role: ActorRole::Office.into(),
        reason: None,
        detail: Some(serde_json::json!({
            "channel": i.channel.as_str(),
            "external_ref": i.external_ref,
            "import_job_id": import_job_id,
        })),
    };
    // Until a resident claims it, the staff member who registered it stands as its author.
    let appeal = submit_on_behalf(txn, filer, prepared, &submitter, now).await?;
    appeals::Entity::update_many()
        .col_expr(
            appeals::Column::Channel,
            sea_orm::sea_query::Expr::value(i.channel.as_str()),
        )
        .filter(appeals::Column::Id.eq(appeal.id))
        .exec(txn)
        .await?;
    appeal_intakes::ActiveModel {
        appeal_id: Set(appeal.id),
        channel: Set(i.channel.as_str().to_string()),
        external_ref: Set(i.external_ref.clone()),
        resident_name_enc: Set(s.name_enc.clone()),
        phone_enc: Set(s.phone_enc.clone()),
        phone_hash: Set(s.phone_hash.clone()),
        appeal_hash: Set(s.appeal_hash.clone()),
        contact_hash: Set(s.contact_hash.clone()),
        received_at: Set(i.received_at),
        filed_by: Set(filer),
        import_job_id: Set(import_job_id),
        claimed_user_id: Set(None),
        claimed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(appeal)
}

/// Replaces the resident's name and phone of a known reference (an import's `updated` row).
pub async fn update_contact(
    txn: &DatabaseTransaction,
    intake_id: i64,
    s: &Sealed,
    now: DateTime<Utc>,
) -> AppResult<()> {
    appeal_intakes::ActiveModel {
        id: Set(intake_id),
        resident_name_enc: Set(s.name_enc.clone()),
        phone_enc: Set(s.phone_enc.clone()),
        phone_hash: Set(s.phone_hash.clone()),
        contact_hash: Set(s.contact_hash.clone()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(txn)
    .await?;
    Ok(())
}

/// Registers an appeal received by phone or letter. Idempotent by (channel, reference): the
/// same appeal again answers the first registration (`false`: not created now); a different
/// appeal under a known reference is a conflict.
pub async fn register(
    state: &AppState,
    filer: &Caller,
    req: &IntakeRequest,
) -> AppResult<(IntakeView, bool)> {
    let intake = check_intake(req, &state.settings.channels.names)?;
    let sealed = seal(&state.cipher, intake)?;
    if let Some(view) = replay(state, &sealed).await? {
        return Ok((view, false));
    }
    let prepared = prepare_appeal(state, &sealed.intake).await?;
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let inserted = insert_intake(&w.txn, filer.user_id, &sealed, prepared, None, now).await;
    let appeal = match inserted {
        Ok(a) => a,
        Err(AppError::Internal(e))
            if e.downcast_ref::<sea_orm::DbErr>()
                .and_then(sea_orm::DbErr::sql_err)
                .is_some_and(|e| matches!(e, SqlErr::UniqueConstraintViolation(_))) =>
        {
            // The same reference registered meanwhile (a double click, two clerks).
            w.rollback().await?;
            return match replay(state, &sealed).await? {
                Some(view) => Ok((view, false)),
                None => Err(AppError::internal(anyhow::anyhow!("intake row vanished"))),
            };
        }
        Err(e) => return Err(e),
    };
    w.commit().await?;
    tracing::info!(
        appeal_id = appeal.id,
        channel = sealed.intake.channel.as_str(),
        "appeal registered by the office"
    );
    Ok((views::intake(state, appeal.id).await?, true))
}

async fn replay(state: &AppState, s: &Sealed) -> AppResult<Option<IntakeView>> {
    let Some(reference) = s.intake.external_ref.as_deref() else {
        return Ok(None);
    };
    let Some((_, k)) = known(&state.db, s.intake.channel.as_str(), reference).await? else {
        return Ok(None);
    };
    if k.appeal_hash != s.appeal_hash {
        return Err(AppError::conflict(
            ErrorCode::ExternalRefTaken,
            format!(
                "reference {reference} of this channel is already appeal {} with other content",
                k.appeal_id
            ),
        ));
    }
    Ok(Some(views::intake(state, k.appeal_id).await?))
}

/// The office records the verdict a resident gave by phone, while no resident has claimed the
/// appeal: the transition table's `rate` row applies as if the resident rated; the event names
/// the office member who recorded it.
pub async fn record_verdict(
    state: &AppState,
    office: &Caller,
    appeal_id: i64,
    req: VerdictRequest,
) -> AppResult<()> {
    let intake = appeal_intakes::Entity::find()
        .filter(appeal_intakes::Column::AppealId.eq(appeal_id))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if intake.claimed_user_id.is_some() {
        return Err(AppError::conflict(
            ErrorCode::AppealClaimed,
            "the resident follows this appeal in the mini-program and rates it there",
        ));
    }
    let author = appeals::Entity::find_by_id(appeal_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?
        .author_id;
    // The rules see the resident's part (the unclaimed appeal's author); a claim in between
    // changes the author and so makes this fail as not found.
    let resident = Actor {
        user_id: Some(author),
        role: ActorRole::Resident,
        department_id: None,
    };
    apply_recorded_as(
        state,
        resident,
        Some(Actor::of(office)?),
        appeal_id,
        Some(req.version),
        Action::Rate {
            rating: req.rating,
            solved: req.solved,
            comment: req.comment,
        },
    )
    .await?;
    Ok(())
}

/// Makes the appeals registered for `phone` the resident's own, inside the caller's transaction
/// (the one that stores the verified phone): they appear in the resident's list, the resident
/// follows and rates them, and the office no longer records verdicts for them. Answers the
/// appeals claimed; a phone that is not a phone number claims nothing.
pub async fn claim_appeals_for_verified_phone(
    txn: &DatabaseTransaction,
    cipher: &DataCipher,
    user_id: i64,
    phone: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<i64>> {
    let Some(phone) = Phone::parse(phone) else {
        return Ok(Vec::new());
    };
    let open = appeal_intakes::Entity::find()
        .filter(appeal_intakes::Column::PhoneHash.eq(phone_hash(cipher, &phone)))
        .filter(appeal_intakes::Column::ClaimedUserId.is_null())
        .all(txn)
        .await?;
    let ids: Vec<i64> = open.iter().map(|i| i.appeal_id).collect();
    if ids.is_empty() {
        return Ok(ids);
    }
    appeals::Entity::update_many()
        .col_expr(
            appeals::Column::AuthorId,
            sea_orm::sea_query::Expr::value(user_id),
        )
        .filter(appeals::Column::Id.is_in(ids.clone()))
        .exec(txn)
        .await?;
    appeal_intakes::Entity::update_many()
        .col_expr(
            appeal_intakes::Column::ClaimedUserId,
            sea_orm::sea_query::Expr::value(user_id),
        )
        .col_expr(
            appeal_intakes::Column::ClaimedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(appeal_intakes::Column::Id.is_in(open.iter().map(|i| i.id)))
        .exec(txn)
        .await?;
    tracing::info!(
        user_id,
        appeals = ids.len(),
        "appeals claimed by a verified phone"
    );
    Ok(ids)
}
