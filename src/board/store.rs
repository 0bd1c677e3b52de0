//! Appeals in the database around the pure core: one write transaction (holding the SQLite
//! write gate), [`apply`] that reads the appeal and its facts, asks [`decide`] and writes the
//! change under the version guard with its event, the event writer, and the search index.
use chrono::{DateTime, Utc};
use entity::{
    appeal_assisting_departments, appeal_events, appeal_grams, appeals, departments,
    supervision_notices,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};

use super::decide::{check_party, decide, Facts};
use super::model::{Actor, Appeal};
use super::queries::{board_projection, board_reply, merged_into};
use super::search;
use super::workflow::{Action, ActionKind, AppealState};
use crate::calendar::store as calendar_store;
use crate::error::{AppError, AppResult};
use crate::events::{self, Event, EventTable};
use crate::state::AppState;

// The shared transaction helper (it takes the SQLite write gate), re-exported for the board.
pub use crate::db::{begin_write, Write};

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
    apply_recorded_as(state, actor, None, appeal_id, version, action).await
}

/// The content check of a reply that will be public, before the transaction (it may call
/// WeChat): `risky` refuses on `public_reply`; a hold is the reason the office sees when it
/// approves the reply.
async fn check_reply(
    state: &AppState,
    actor: &Actor,
    action: &Action,
) -> AppResult<Option<String>> {
    let (
        Action::Reply {
            public_reply: Some(text),
            ..
        },
        Some(user_id),
    ) = (action, actor.user_id)
    else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let verdict = super::moderation::check_text(
        state,
        user_id,
        "public_reply",
        super::moderation::scene::COMMENT,
        text,
    )
    .await?;
    Ok(match verdict {
        super::moderation::Verdict::Pass => None,
        super::moderation::Verdict::Hold(why) => Some(why),
    })
}

/// Like [`apply`], but the event names `recorded_by` instead of `actor`: the office recording a
/// verdict that a resident without the mini-program gave by phone. The rules still see the
/// resident's part (`actor`), so the office gains no action of its own.
pub async fn apply_recorded_as(
    state: &AppState,
    actor: Actor,
    recorded_by: Option<Actor>,
    appeal_id: i64,
    version: Option<i32>,
    action: Action,
) -> AppResult<appeals::Model> {
    let now = state.clock.now();
    let calendar = calendar_store::load(&state.db).await?;
    let reply_hold = check_reply(state, &actor, &action).await?;
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
    let mut change = decide(&a, &action, &actor, &calendar, now, &facts)?;
    if let Some(why) = reply_hold {
        // The reply waits for the office's approval anyway; the reason is shown beside it.
        let mut detail = change
            .detail
            .take()
            .unwrap_or_else(|| serde_json::json!({}));
        detail["content_check"] = serde_json::Value::String(why);
        change.detail = Some(detail);
    }
    if let Some(by) = recorded_by {
        change.event_actor = Actor {
            department_id: change.event_actor.department_id,
            ..by
        };
        let mut detail = change
            .detail
            .take()
            .unwrap_or_else(|| serde_json::json!({}));
        detail["recorded_for_resident"] = serde_json::Value::Bool(true);
        change.detail = Some(detail);
    }
    let mut set = change.set;
    let board = board_projection(a.row.is_public, change.to);
    set.state = Set(change.to);
    set.on_board = Set(board.is_some());
    set.board_status = Set(board);
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
    if let Some(ids) = &change.assisting {
        set_assisting(&w.txn, a.row.id, ids).await?;
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
    notify_author(&w.txn, a.row.id, change.kind, now).await?;
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
    if let (ActionKind::Merge, Some(master)) = (change.kind, facts.master.as_ref()) {
        merged_into_master(&w.txn, master, a.row.id, &change.event_actor, now).await?;
    }
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

/// The master's side of a merge, in the merge's transaction: an event that names the appeal
/// merged into it and how many times the matter has now been raised. The master's state and
/// version stay as they are (nothing of its own changed).
async fn merged_into_master(
    txn: &DatabaseTransaction,
    master: &Appeal,
    child_id: i64,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let raised = 1 + merged_into(txn, master.row.id).await?.len();
    record(
        txn,
        master.row.id,
        ActionKind::Merge,
        master.state,
        master.state,
        actor,
        None,
        Some(serde_json::json!({ "merged_id": child_id, "raised_count": raised })),
        now,
    )
    .await
}

/// Replaces the appeal's assisting departments, keeping their order.
async fn set_assisting(txn: &DatabaseTransaction, appeal_id: i64, ids: &[i64]) -> AppResult<()> {
    appeal_assisting_departments::Entity::delete_many()
        .filter(appeal_assisting_departments::Column::AppealId.eq(appeal_id))
        .exec(txn)
        .await?;
    if ids.is_empty() {
        return Ok(());
    }
    let rows =
        ids.iter().zip(0..).map(
            |(&dept, position)| appeal_assisting_departments::ActiveModel {
                appeal_id: Set(appeal_id),
                department_id: Set(dept),
                position: Set(position),
            },
        );
    appeal_assisting_departments::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
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

/// Writes the author's notification for the changes a resident is told about (the outbox row
/// commits with the change; `crate::notify` sends it).
async fn notify_author(
    txn: &impl ConnectionTrait,
    appeal_id: i64,
    action: ActionKind,
    now: DateTime<Utc>,
) -> AppResult<()> {
    use crate::notify::model::kind;
    let (what, label) = match action {
        ActionKind::Accept => (kind::APPEAL_ACCEPTED, "已受理"),
        ActionKind::RequestInfo => (kind::APPEAL_INFO_REQUESTED, "待补充"),
        ActionKind::ApproveReply => (kind::APPEAL_REPLIED, "已答复"),
        ActionKind::Close | ActionKind::AutoClose => (kind::APPEAL_CLOSED, "已办结"),
        _ => return Ok(()),
    };
    let Some(a) = appeals::Entity::find_by_id(appeal_id).one(txn).await? else {
        return Ok(());
    };
    let note = match action {
        ActionKind::RequestInfo => a.info_question.clone(),
        ActionKind::ApproveReply if !a.reply_private => a.public_reply.clone(),
        ActionKind::ApproveReply => Some("答复已送达，请在小程序中查看".into()),
        _ => a.close_reason.clone(),
    };
    let payload = serde_json::json!({
        "appeal_id": a.id,
        "title": a.title,
        "status": label,
        "time": now.to_rfc3339(),
        "note": note.unwrap_or_else(|| label.to_string()),
    });
    crate::notify::store::enqueue(txn, a.author_id, what, ("appeal", a.id), &payload, now).await
}

fn stale(a: &appeals::Model) -> AppError {
    AppError::version_conflict(
        format!(
            "the appeal changed since you read it: it is now `{}` at version {}; reload and retry",
            a.state, a.version
        ),
        a.state.to_string(),
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
        (actor.user_id, actor.role.into(), actor.department_id),
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
    crate::events::append::<appeal_events::ActiveModel>(
        db,
        Event {
            subject_id: appeal_id,
            action,
            from,
            to,
            actor: events::Actor {
                user_id: actor_id,
                role: actor_role,
                department_id,
            },
            reason,
            detail,
            at: now,
        },
    )
    .await
}

impl EventTable for appeal_events::ActiveModel {
    type State = AppealState;
    type Action = ActionKind;
    fn row(e: Event<'_, AppealState, ActionKind>) -> Self {
        appeal_events::ActiveModel {
            appeal_id: Set(e.subject_id),
            action: Set(e.action),
            from_state: Set(e.from),
            to_state: Set(e.to),
            actor_id: Set(e.actor.user_id),
            actor_role: Set(e.actor.role.into()),
            department_id: Set(e.actor.department_id),
            reason: Set(e.reason),
            detail: Set(e.detail.map(|d| d.to_string())),
            public: Set(is_public_event(e.action)),
            created_at: Set(e.at),
            ..Default::default()
        }
    }
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
