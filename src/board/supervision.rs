//! Supervision (督办): the day after a deadline passes the appeal is marked overdue and a notice
//! is recorded for its department; still overdue after a configured number of working days, it
//! escalates. Published replies nobody rated within the configured days close as "not rated".
//! Every instance runs the loop; a lease makes one of them do each round, and the conditional
//! updates make a round idempotent even if two ever overlapped.
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{appeals, supervision_notices};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::Serialize;

use super::service::{perform, ActionExtras, Actor};
use super::workflow::{Action, AppealState};
use crate::calendar::{store as calendar_store, workdays::TIMEZONE};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

const BATCH: u64 = 500;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Round {
    pub overdue: usize,
    pub escalated: usize,
    pub auto_closed: usize,
}

const RUNNING: [&str; 3] = ["assigned", "signed", "reopened"];

/// One round over every appeal that needs attention now.
pub async fn run_once(state: &AppState) -> AppResult<Round> {
    let now = state.clock.now();
    let mut round = Round::default();
    let calendar = calendar_store::load(&state.db).await?;
    let settings = &state.settings.board;

    let overdue = appeals::Entity::find()
        .filter(appeals::Column::State.is_in(RUNNING))
        .filter(appeals::Column::DeadlineAt.lt(now))
        .filter(appeals::Column::OverdueAt.is_null())
        .limit(BATCH)
        .all(&state.db)
        .await?;
    for a in overdue {
        if act(state, &a, Action::MarkOverdue).await? {
            notice(state, &a, "overdue", now).await?;
            round.overdue += 1;
        }
    }

    let to_escalate = appeals::Entity::find()
        .filter(appeals::Column::State.is_in(RUNNING))
        .filter(appeals::Column::OverdueAt.is_not_null())
        .filter(appeals::Column::EscalatedAt.is_null())
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let today = now.with_timezone(&TIMEZONE).date_naive();
    for a in to_escalate {
        let Some(overdue_at) = a.overdue_at else {
            continue;
        };
        let since = overdue_at.with_timezone(&TIMEZONE).date_naive();
        if calendar.working_days_between(since, today) >= settings.escalate_after_working_days
            && act(state, &a, Action::Escalate).await?
        {
            notice(state, &a, "escalated", now).await?;
            round.escalated += 1;
        }
    }

    let rating_cutoff = now - chrono::Duration::days(settings.rating_days);
    let unrated = appeals::Entity::find()
        .filter(appeals::Column::State.eq(AppealState::Published.as_str()))
        .filter(appeals::Column::PublishedAt.lt(rating_cutoff))
        .limit(BATCH)
        .all(&state.db)
        .await?;
    for a in unrated {
        if act(state, &a, Action::AutoClose).await? {
            round.auto_closed += 1;
        }
    }
    if round != Round::default() {
        tracing::info!(?round, "supervision round");
    }
    Ok(round)
}

/// Acts as the system; someone else changing the appeal first is not an error here.
async fn act(state: &AppState, a: &appeals::Model, action: Action) -> AppResult<bool> {
    match perform(
        state,
        Actor::SYSTEM,
        a.id,
        Some(a.version),
        action,
        ActionExtras::default(),
    )
    .await
    {
        Ok(_) => Ok(true),
        Err(AppError::StateConflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn notice(
    state: &AppState,
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
    .exec_without_returning(&state.db)
    .await?;
    Ok(())
}

/// The background loop; one instance at a time does a round, by lease.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(state.settings.board.supervision_interval_secs.max(1));
    crate::jobs::spawn_leased(state, "supervision", every, |s| async move {
        run_once(&s).await
    })
}
