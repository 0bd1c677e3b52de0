//! Staff lists: the office's inbox, a department's (what it leads or assists), and the
//! supervision notices.
use chrono::{DateTime, Utc};
use entity::{appeal_assisting_departments, appeals, supervision_notices};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{next_cursor, page_limit, parse_states, Page};
use crate::auth::{Caller, Role};
use crate::board::model::running_states;
use crate::board::workflow::AppealState;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct AppealSummary {
    pub id: i64,
    pub version: i32,
    pub title: String,
    pub state: AppealState,
    pub urgency: Option<String>,
    pub category_id: i64,
    pub village_id: i64,
    pub lead_department_id: Option<i64>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub escalated: bool,
    pub reopen_count: i32,
    pub extension_requested_until: Option<String>,
    pub created_at: DateTime<Utc>,
    /// How many times the matter was raised: 1 + the appeals merged into this one.
    pub raised_count: i64,
}

impl From<appeals::Model> for AppealSummary {
    fn from(a: appeals::Model) -> Self {
        Self {
            id: a.id,
            version: a.version,
            title: a.title,
            state: a.state,
            urgency: a.urgency,
            category_id: a.category_id,
            village_id: a.village_id,
            lead_department_id: a.lead_department_id,
            deadline_at: a.deadline_at,
            overdue: a.overdue_at.is_some(),
            escalated: a.escalated_at.is_some(),
            reopen_count: a.reopen_count,
            extension_requested_until: a.extension_requested_until,
            created_at: a.created_at,
            raised_count: 1,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct StaffQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u64>,
    /// Comma-separated states; the inbox default when absent.
    pub state: Option<String>,
    /// Only overdue appeals.
    pub overdue: Option<bool>,
    /// Only appeals with a pending extension request.
    pub extension_pending: Option<bool>,
}

/// What waits for the office; a department's inbox is where its clock runs.
pub const OFFICE_INBOX: [AppealState; 5] = [
    AppealState::Submitted,
    AppealState::HeldForReview,
    AppealState::Returned,
    AppealState::Replied,
    AppealState::RatedUnsatisfied,
];

async fn staff_list(
    state: &AppState,
    base: Condition,
    default_states: &[AppealState],
    q: &StaffQuery,
) -> AppResult<Page<AppealSummary>> {
    let limit = page_limit(q.limit)?;
    let mut cond = base;
    let explicit = parse_states(&q.state)?;
    let filtered = q.overdue == Some(true) || q.extension_pending == Some(true);
    match explicit {
        Some(states) => cond = cond.add(appeals::Column::State.is_in(states)),
        None if !filtered => {
            cond = cond.add(appeals::Column::State.is_in(default_states.iter().copied()))
        }
        None => {}
    }
    if q.overdue == Some(true) {
        cond = cond
            .add(appeals::Column::OverdueAt.is_not_null())
            .add(appeals::Column::State.is_in(running_states()));
    }
    if q.extension_pending == Some(true) {
        cond = cond.add(appeals::Column::ExtensionRequestedUntil.is_not_null());
    }
    if let Some(c) = q.cursor {
        cond = cond.add(appeals::Column::Id.lt(c));
    }
    let mut items: Vec<AppealSummary> = appeals::Entity::find()
        .filter(cond)
        .order_by_desc(appeals::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
    let merged = super::detail::merged_counts(&state.db, &ids).await?;
    for i in &mut items {
        i.raised_count += merged.get(&i.id).copied().unwrap_or(0);
    }
    let next = next_cursor(&items, limit, |v| v.id);
    Ok(Page {
        items,
        next_cursor: next,
    })
}

pub async fn office_list(state: &AppState, q: &StaffQuery) -> AppResult<Page<AppealSummary>> {
    staff_list(state, Condition::all(), &OFFICE_INBOX, q).await
}

pub async fn department_list(
    state: &AppState,
    caller: &Caller,
    q: &StaffQuery,
) -> AppResult<Page<AppealSummary>> {
    let dept = caller.department_id.ok_or(AppError::Forbidden)?;
    let assisted = Query::select()
        .column(appeal_assisting_departments::Column::AppealId)
        .from(appeal_assisting_departments::Entity)
        .and_where(appeal_assisting_departments::Column::DepartmentId.eq(dept))
        .to_owned();
    let base = Condition::any()
        .add(appeals::Column::LeadDepartmentId.eq(dept))
        .add(appeals::Column::Id.in_subquery(assisted));
    let inbox: Vec<AppealState> = running_states().collect();
    staff_list(state, Condition::all().add(base), &inbox, q).await
}

#[derive(Serialize, ToSchema)]
pub struct NoticeView {
    pub id: i64,
    pub appeal_id: i64,
    pub department_id: i64,
    /// `overdue` or `escalated`.
    pub level: String,
    pub deadline_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
pub struct NoticeQuery {
    pub department_id: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u64>,
}

pub async fn notices(
    state: &AppState,
    caller: &Caller,
    q: &NoticeQuery,
) -> AppResult<Page<NoticeView>> {
    let limit = page_limit(q.limit)?;
    let dept = match caller.role {
        Role::Handler => Some(caller.department_id.ok_or(AppError::Forbidden)?),
        _ => q.department_id,
    };
    let mut sel = supervision_notices::Entity::find()
        .order_by_desc(supervision_notices::Column::Id)
        .limit(limit);
    if let Some(d) = dept {
        sel = sel.filter(supervision_notices::Column::DepartmentId.eq(d));
    }
    if let Some(c) = q.cursor {
        sel = sel.filter(supervision_notices::Column::Id.lt(c));
    }
    let items: Vec<NoticeView> = sel
        .all(&state.db)
        .await?
        .into_iter()
        .map(|n| NoticeView {
            id: n.id,
            appeal_id: n.appeal_id,
            department_id: n.department_id,
            level: n.level,
            deadline_at: n.deadline_at,
            created_at: n.created_at,
        })
        .collect();
    let next = next_cursor(&items, limit, |v| v.id);
    Ok(Page {
        items,
        next_cursor: next,
    })
}
