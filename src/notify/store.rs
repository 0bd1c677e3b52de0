//! The outbox in the database: writing rows in the caller's transaction, residents' consents,
//! and the worker's claim and finish. A claim is one conditional UPDATE (`status = 'pending'`
//! and due, or `sending` with an expired lease), so of several workers on several instances
//! exactly one wins each row, on SQLite and PostgreSQL alike.
use chrono::{DateTime, Utc};
use entity::{notification_attempts, notifications, subscription_consents};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::model::{consent, Outcome, Status};
use crate::error::AppResult;
use crate::state::AppState;

/// Writes a pending notification inside the caller's transaction (the change it reports
/// commits with it, or neither does).
pub async fn enqueue(
    db: &impl ConnectionTrait,
    user_id: i64,
    kind: &str,
    subject: (&str, i64),
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    notifications::ActiveModel {
        user_id: Set(user_id),
        kind: Set(kind.into()),
        subject_type: Set(subject.0.into()),
        subject_id: Set(subject.1),
        payload: Set(payload.to_string()),
        status: Set(Status::Pending),
        attempts: Set(0),
        created_at: Set(now),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records what the mini-program's `wx.requestSubscribeMessage` returned.
pub async fn report_consents(
    state: &AppState,
    user_id: i64,
    results: &std::collections::BTreeMap<String, serde_json::Value>,
) -> AppResult<()> {
    let configured: Vec<&str> = state
        .settings
        .wechat
        .templates
        .values()
        .map(|t| t.template_id.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    let accepted = super::decide::accepted(results, &configured)
        .map_err(|(field, msg)| crate::error::AppError::validation(field, msg))?;
    add_consents(state, user_id, &accepted, MAX_CONSENTS).await
}

/// Unused consents a resident may hold per template.
pub const MAX_CONSENTS: u64 = 50;

/// Records one `accept` per template; a resident holds at most `cap` unused consents per
/// template (the mini-program can ask again and again).
pub async fn add_consents(
    state: &AppState,
    user_id: i64,
    template_ids: &[String],
    cap: u64,
) -> AppResult<()> {
    let now = state.clock.now();
    let w = crate::db::begin_write(state).await?;
    let txn = &w.txn;
    for t in template_ids {
        let held = subscription_consents::Entity::find()
            .filter(subscription_consents::Column::UserId.eq(user_id))
            .filter(subscription_consents::Column::TemplateId.eq(t.as_str()))
            .filter(subscription_consents::Column::Status.eq(consent::AVAILABLE))
            .count(txn)
            .await?;
        if held >= cap {
            continue;
        }
        subscription_consents::ActiveModel {
            user_id: Set(user_id),
            template_id: Set(t.clone()),
            status: Set(consent::AVAILABLE.into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    w.commit().await?;
    Ok(())
}

/// Ids of rows a worker may claim now: pending and due, or abandoned by a worker whose lease
/// ran out. Only kinds with a configured template are picked up.
pub async fn due(
    state: &AppState,
    kinds: &[String],
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<(i64, String)>> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let ids = notifications::Entity::find()
        .select_only()
        .column(notifications::Column::Id)
        .column(notifications::Column::Kind)
        .filter(notifications::Column::Kind.is_in(kinds.iter().map(String::as_str)))
        .filter(claimable(now))
        .order_by_asc(notifications::Column::Id)
        .limit(limit)
        .into_tuple::<(i64, String)>()
        .all(&state.db)
        .await?;
    Ok(ids)
}

fn claimable(now: DateTime<Utc>) -> Condition {
    use notifications::Column as C;
    Condition::any()
        .add(
            Condition::all().add(C::Status.eq(Status::Pending)).add(
                Condition::any()
                    .add(C::NextAttemptAt.is_null())
                    .add(C::NextAttemptAt.lte(now)),
            ),
        )
        .add(
            Condition::all()
                .add(C::Status.eq(Status::Sending))
                .add(C::ClaimedUntil.lt(now)),
        )
}

/// A row this worker holds, with the consent it uses.
pub struct Claimed {
    pub row: notifications::Model,
    pub consent_id: Option<i64>,
}

/// Claims the row for `worker` and takes a consent for `template_id` (kept across retries).
/// `None`: another worker has it. A claimed row without consent is finished as `skipped`.
pub async fn claim(
    state: &AppState,
    id: i64,
    worker: &str,
    template_id: &str,
    now: DateTime<Utc>,
    lease_secs: i64,
) -> AppResult<Option<Claimed>> {
    use notifications::Column as C;
    let w = crate::db::begin_write(state).await?;
    let txn = &w.txn;
    let res = notifications::Entity::update_many()
        .col_expr(C::Status, Expr::value(Status::Sending))
        .col_expr(C::ClaimedBy, Expr::value(worker))
        .col_expr(
            C::ClaimedUntil,
            Expr::value(now + chrono::Duration::seconds(lease_secs.max(1))),
        )
        .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::Id.eq(id))
        .filter(claimable(now))
        .exec(txn)
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    let Some(row) = notifications::Entity::find_by_id(id).one(txn).await? else {
        return Ok(None);
    };
    let mut consent_id = row.consent_id;
    // Another worker may take the same consent between our read and our update: then try the
    // next one. Each miss means a consent was used up, so this ends.
    while consent_id.is_none() {
        let Some(c) = subscription_consents::Entity::find()
            .filter(subscription_consents::Column::UserId.eq(row.user_id))
            .filter(subscription_consents::Column::TemplateId.eq(template_id))
            .filter(subscription_consents::Column::Status.eq(consent::AVAILABLE))
            .order_by_asc(subscription_consents::Column::Id)
            .one(txn)
            .await?
        else {
            break;
        };
        let used = subscription_consents::Entity::update_many()
            .col_expr(
                subscription_consents::Column::Status,
                Expr::value(consent::USED),
            )
            .col_expr(subscription_consents::Column::UsedAt, Expr::value(now))
            .col_expr(
                subscription_consents::Column::NotificationId,
                Expr::value(id),
            )
            .filter(subscription_consents::Column::Id.eq(c.id))
            .filter(subscription_consents::Column::Status.eq(consent::AVAILABLE))
            .exec(txn)
            .await?;
        if used.rows_affected == 1 {
            consent_id = Some(c.id);
            notifications::Entity::update_many()
                .col_expr(C::ConsentId, Expr::value(c.id))
                .filter(C::Id.eq(id))
                .exec(txn)
                .await?;
        }
    }
    w.commit().await?;
    Ok(Some(Claimed { row, consent_id }))
}

/// How an attempt ended, to be written with its attempt row.
pub struct Finish<'a> {
    pub outcome: Outcome,
    pub template_id: &'a str,
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Ends this worker's claim: the row's new state and the attempt, in one transaction. A row
/// whose lease this worker lost (another worker re-claimed it) is left alone.
pub async fn finish(
    state: &AppState,
    c: &Claimed,
    worker: &str,
    f: Finish<'_>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    use notifications::Column as C;
    let status = match f.outcome {
        Outcome::Sent => Status::Sent,
        Outcome::Retry => Status::Pending,
        Outcome::Failed => Status::Failed,
        Outcome::Skipped => Status::Skipped,
    };
    let error = f.error.map(|e| e.chars().take(300).collect::<String>());
    let w = crate::db::begin_write(state).await?;
    let txn = &w.txn;
    let mut update = notifications::Entity::update_many()
        .col_expr(C::Status, Expr::value(status))
        .col_expr(C::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(C::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(C::NextAttemptAt, Expr::value(f.next_attempt_at))
        .col_expr(C::LastError, Expr::value(error.clone()))
        .col_expr(C::UpdatedAt, Expr::value(now));
    if f.outcome == Outcome::Sent {
        update = update.col_expr(C::SentAt, Expr::value(now));
    }
    let res = update
        .filter(C::Id.eq(c.row.id))
        .filter(C::Status.eq(Status::Sending))
        .filter(C::ClaimedBy.eq(worker))
        .exec(txn)
        .await?;
    let attempt = notifications::Entity::find_by_id(c.row.id)
        .one(txn)
        .await?
        .map_or(c.row.attempts, |r| r.attempts);
    notification_attempts::ActiveModel {
        notification_id: Set(c.row.id),
        attempt: Set(attempt),
        worker: Set(worker.chars().take(80).collect()),
        template_id: Set(f.template_id.chars().take(128).collect()),
        outcome: Set(f.outcome.as_str().into()),
        errcode: Set(f.errcode),
        error: Set(error),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    w.commit().await?;
    Ok(res.rows_affected == 1)
}
