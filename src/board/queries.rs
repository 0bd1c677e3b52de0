//! Reading appeals, by topic: [`detail`] (the party's full view and the resident's own list),
//! [`lists`] (the office's and departments' inboxes, supervision notices), [`similar`] (likely
//! duplicates) and [`public`] (the public board: masked, author never shown). Paging is shared.
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::workflow::AppealState;
use crate::error::{AppError, AppResult};

pub mod detail;
pub mod lists;
pub mod public;
pub mod similar;

pub use super::model::{board_projection, public_status};
pub use detail::{appeal_for, merged_into, my_appeals, AppealView, EventView};
pub use lists::{
    department_list, notices, office_list, AppealSummary, NoticeQuery, NoticeView, StaffQuery,
    OFFICE_INBOX,
};
pub use public::{board, board_one, board_reply, check_read_rate, BoardItem, BoardQuery};
pub use similar::{similar, SimilarAppeal, SimilarRequest};

pub const PAGE_MAX: u64 = 50;
pub const PAGE_DEFAULT: u64 = 20;

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u64>,
    /// Comma-separated internal states to include.
    pub state: Option<String>,
}

pub(crate) fn page_limit(limit: Option<u64>) -> AppResult<u64> {
    match limit {
        None => Ok(PAGE_DEFAULT),
        Some(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        Some(_) => Err(AppError::validation(
            "limit",
            format!("must be 1 to {PAGE_MAX}"),
        )),
    }
}

/// The states named in a comma-separated filter.
pub(crate) fn parse_states(s: &Option<String>) -> AppResult<Option<Vec<AppealState>>> {
    let Some(s) = s.as_deref().filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for part in s.split(',') {
        let st = part.trim().parse::<AppealState>().map_err(|_| {
            AppError::validation("state", format!("unknown state {:?}", part.trim()))
        })?;
        out.push(st);
    }
    Ok(Some(out))
}

#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

pub(crate) fn next_cursor<T>(items: &[T], limit: u64, id: impl Fn(&T) -> i64) -> Option<i64> {
    (items.len() as u64 == limit)
        .then(|| items.last().map(id))
        .flatten()
}
