//! Appeals in the database around the pure core: one write transaction (holding the SQLite
//! write gate), [`apply`] that reads the appeal and its facts, asks [`decide`] and writes the
//! change under the version guard with its event, the event writer, and the search index.
use chrono::{DateTime, Utc};
use entity::{appeal_events, appeal_grams, appeals, departments, supervision_notices};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set, TransactionTrait,
};

use super::decide::{check_party, decide, Facts};
use super::model::{Actor, Appeal};
use super::queries::{board_projection, board_reply};
use super::search;
use super::workflow::{Action, ActionKind, AppealState};
use crate::calendar::store as calendar_store;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A write transaction that holds the SQLite write gate until it ends, so that every writer
/// takes the gate the same way. Dropping it uncommitted rolls back.
pub struct Write<'a> {
    // Declared first so the transaction ends before the gate opens.
    pub txn: DatabaseTransaction,
    _gate: Option<tokio::sync::MutexGuard<'a, ()>>,
}

impl Write<'_> {
    pub async fn commit(self) -> AppResult<()> {
        let Write { txn, _gate } = self;
        txn.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> AppResult<()> {
        let Write { txn, _gate } = self;
        txn.rollback().await?;
        Ok(())
    }
}

pub async fn begin_write(state: &AppState) -> AppResult<Write<'_>> {
    let gate = state.write_guard().await;
    let txn = state.db.begin().await?;
    Ok(Write { txn, _gate: gate })
}

/// Performs one action on one appeal: the table and the action's rule decide ([`decide`]);
/// this writes the change, the event and any supervision notice in one transaction, guarded
/// by the appeal's version so that two staff acting at once cannot both win.
pub async fn apply(
    state: &AppState,
    actor: Actor,
    appeal_id: i64,
    version: Option<i32>,
    action: Action,
) -> AppResult<appeals::Model> {
    let now = state.clock.now();
    let calendar = calendar_store::load(&state.db).await?;
    let w = begin_write(state).await?;
    let row = appeals::Entity::find_by_id(appeal_id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound)?;
    check_party(&actor, &row)?;
    let a = Appeal::from_row(row)?;
    if version.is_some_and(|v| v != a.row.version) {
        return Err(stale(&a.row));
    }
    let facts = facts(&w.txn, &action).await?;
    let change = decide(&a, &action, &actor, &calendar, now, &facts)?;
    let mut set = change.set;
    let board = board_projection(a.row.is_public, change.to.as_str());
    set.state = Set(change.to.as_str().into());
    set.on_board = Set(board.is_some());
    set.board_status = Set(board.map(Into::into));
    set.version = Set(a.row.version + 1);
    set.updated_at = Set(now);
    let res = appeals::Entity::update_many()
        .set(set)
        .filter(appeals::Column::Id.eq(a.row.id))
        .filter(appeals::Column::Version.eq(a.row.version))
        .exec(&w.txn)
        .await?;
    if res.rows_affected != 1 {
        w.rollback().await?;
        let now_row = appeals::Entity::find_by_id(a.row.id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        return Err(stale(&now_row));
    }
    if change.reindex.is_some() || change.reply_change.is_some() {
        let content = change.reindex.as_deref().unwrap_or(&a.row.content);
        let reply = match &change.reply_change {
            Some(r) => r.as_deref(),
            None => board_reply(&a.row),
        };
        index(&w.txn, a.row.id, &a.row.title, content, reply).await?;
    }
    if let Some(level) = change.notice {
        notice(&w.txn, &a.row, level, now).await?;
    }
    record(
        &w.txn,
        a.row.id,
        change.kind,
        change.from,
        change.to,
        &change.event_actor,
        change.reason,
        change.detail,
        now,
    )
    .await?;
    w.commit().await?;
    tracing::info!(appeal_id = a.row.id, action = %change.kind, from = %change.from, to = %change.to, "appeal transition");
    appeals::Entity::find_by_id(a.row.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Reads what the action's rule needs beyond the appeal: the master of a merge, the departments
/// of an assignment.
async fn facts(txn: &DatabaseTransaction, action: &Action) -> AppResult<Facts> {
    let mut facts = Facts::default();
    match action {
        Action::Merge { master_id } => {
            if let Some(m) = appeals::Entity::find_by_id(*master_id).one(txn).await? {
                facts.master = Some(Appeal::from_row(m)?);
            }
        }
        Action::Assign {
            lead_department_id,
            assisting_department_ids,
        }
        | Action::Reassign {
            lead_department_id,
            assisting_department_ids,
        } => {
            let mut ids = assisting_department_ids.clone();
            ids.push(*lead_department_id);
            facts.departments = departments::Entity::find()
                .filter(departments::Column::Id.is_in(ids))
                .all(txn)
                .await?
                .into_iter()
                .map(|d| d.id)
                .collect();
        }
        _ => {}
    }
    Ok(facts)
}

/// Records a notice for the appeal's lead department, inside the caller's transaction.
async fn notice(
    txn: &impl ConnectionTrait,
    a: &appeals::Model,
    level: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (Some(dept), Some(deadline)) = (a.lead_department_id, a.deadline_at) else {
        return Ok(());
    };
    supervision_notices::Entity::insert(supervision_notices::ActiveModel {
        appeal_id: Set(a.id),
        department_id: Set(dept),
        level: Set(level.into()),
        deadline_at: Set(deadline),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            supervision_notices::Column::AppealId,
            supervision_notices::Column::Level,
            supervision_notices::Column::DeadlineAt,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

fn stale(a: &appeals::Model) -> AppError {
    AppError::version_conflict(
        format!(
            "the appeal changed since you read it: it is now `{}` at version {}; reload and retry",
            a.state, a.version
        ),
        a.state.clone(),
        a.version,
    )
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
