//! Supervision (督办): the day after a deadline passes the appeal is marked overdue and a notice
//! is recorded for its department; still overdue after a configured number of working days, it
//! escalates. Published replies nobody rated within the configured days close as "not rated".
//! Every instance runs the loop; a lease makes one of them do each round, and the conditional
//! updates make a round idempotent even if two ever overlapped.
use std::time::Duration;

use entity::appeals;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::model::{running_states, Actor};
use super::store::apply;
use super::workflow::{Action, AppealState};
use crate::calendar::{store as calendar_store, workdays::TIMEZONE};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Appeals are read a page at a time, in id order, each page after the last id seen: every
/// appeal that matches is looked at however many there are, and those that stay matching (not
/// yet due to escalate) never hide the ones after them.
const PAGE: u64 = 500;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Round {
    pub overdue: usize,
    pub escalated: usize,
    pub auto_closed: usize,
}

/// One round over every appeal that needs attention now.
pub async fn run_once(state: &AppState) -> AppResult<Round> {
    let now = state.clock.now();
    let mut round = Round::default();
    let calendar = calendar_store::load(&state.db).await?;
    let settings = &state.settings.board;

    let overdue = Condition::all()
        .add(appeals::Column::State.is_in(running_states()))
        .add(appeals::Column::DeadlineAt.lt(now))
        .add(appeals::Column::OverdueAt.is_null());
    let mut after = Some(0);
    while let Some(last) = after {
        let page = page(state, overdue.clone(), last).await?;
        for a in &page {
            if act(state, a, Action::MarkOverdue).await? {
                round.overdue += 1;
            }
        }
        after = next_after(&page);
    }

    let to_escalate = Condition::all()
        .add(appeals::Column::State.is_in(running_states()))
        .add(appeals::Column::OverdueAt.is_not_null())
        .add(appeals::Column::EscalatedAt.is_null());
    let today = now.with_timezone(&TIMEZONE).date_naive();
    let mut after = Some(0);
    while let Some(last) = after {
        let page = page(state, to_escalate.clone(), last).await?;
        for a in &page {
            let Some(overdue_at) = a.overdue_at else {
                continue;
            };
            let since = overdue_at.with_timezone(&TIMEZONE).date_naive();
            if calendar.working_days_between(since, today) >= settings.escalate_after_working_days
                && act(state, a, Action::Escalate).await?
            {
                round.escalated += 1;
            }
        }
        after = next_after(&page);
    }

    let rating_cutoff = now - chrono::Duration::days(settings.rating_days);
    let unrated = Condition::all()
        .add(appeals::Column::State.eq(AppealState::Published))
        .add(appeals::Column::PublishedAt.lt(rating_cutoff));
    let mut after = Some(0);
    while let Some(last) = after {
        let page = page(state, unrated.clone(), last).await?;
        for a in &page {
            if act(state, a, Action::AutoClose).await? {
                round.auto_closed += 1;
            }
        }
        after = next_after(&page);
    }
    if round != Round::default() {
        tracing::info!(?round, "supervision round");
    }
    Ok(round)
}

/// The next page of appeals matching `condition` with ids above `after`.
async fn page(
    state: &AppState,
    condition: Condition,
    after: i64,
) -> AppResult<Vec<appeals::Model>> {
    Ok(appeals::Entity::find()
        .filter(condition)
        .filter(appeals::Column::Id.gt(after))
        .order_by_asc(appeals::Column::Id)
        .limit(PAGE)
        .all(&state.db)
        .await?)
}

/// Where the next page starts, or `None` after the last one.
fn next_after(page: &[appeals::Model]) -> Option<i64> {
    match page.last() {
        Some(last) if page.len() as u64 == PAGE => Some(last.id),
        _ => None,
    }
}

/// Acts as the system; someone else changing the appeal first is not an error here. Marking
/// overdue and escalating write their supervision notice in the same transaction (see
/// [`super::decide::notice_level`]), so a crash never leaves one without the other.
async fn act(state: &AppState, a: &appeals::Model, action: Action) -> AppResult<bool> {
    match apply(state, Actor::SYSTEM, a.id, Some(a.version), action).await {
        Ok(_) => Ok(true),
        Err(AppError::StateConflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The background loop; one instance at a time does a round, by lease.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(state.settings.board.supervision_interval_secs.max(1));
    crate::jobs::spawn_leased(state, "supervision", every, |s| async move {
        run_once(&s).await
    })
}
