//! The public board: what is on it (masked, author never shown), its filters, the Chinese
//! full-text search over the bigram index, and the per-address read limit.
use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{appeal_grams, appeals, categories, villages};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{next_cursor, page_limit, Page};
use crate::board::masking::mask_text;
use crate::board::model::{board_statuses, public_status};
use crate::board::search::query_grams;
use crate::board::workflow::PublicStatus;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
pub struct BoardQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u64>,
    pub category_id: Option<i64>,
    pub village_id: Option<i64>,
    /// processing, replied or closed.
    pub status: Option<String>,
    /// Words to find in the title, content and shown reply, as the board shows them (masked);
    /// Chinese needs no spaces; at least two characters in one word, at most 50 in all. A page
    /// may hold fewer than `limit` items yet have a `next_cursor` when the search reached its
    /// work bound.
    #[param(max_length = 50)]
    pub q: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BoardItem {
    pub id: i64,
    pub title: String,
    pub content: String,
    pub category_id: i64,
    pub category: Option<String>,
    pub village_id: i64,
    pub village: Option<String>,
    pub township: Option<String>,
    pub status: PublicStatus,
    /// The approved public reply, when there is one.
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The reply the board shows: approved, and not given privately.
pub fn board_reply(a: &appeals::Model) -> Option<&str> {
    (a.published_at.is_some() && !a.reply_private)
        .then_some(a.public_reply.as_deref())
        .flatten()
}

fn board_item(
    a: appeals::Model,
    cats: &HashMap<i64, String>,
    vils: &HashMap<i64, (String, String)>,
) -> BoardItem {
    let reply = board_reply(&a).map(mask_text);
    let v = vils.get(&a.village_id);
    BoardItem {
        id: a.id,
        title: mask_text(&a.title),
        content: mask_text(&a.content),
        category_id: a.category_id,
        category: cats.get(&a.category_id).cloned(),
        village_id: a.village_id,
        village: v.map(|v| v.0.clone()),
        township: v.map(|v| v.1.clone()),
        status: public_status(a.state),
        replied_at: if reply.is_some() {
            a.published_at
        } else {
            None
        },
        reply,
        created_at: a.created_at,
    }
}

async fn names(
    db: &impl ConnectionTrait,
) -> AppResult<(HashMap<i64, String>, HashMap<i64, (String, String)>)> {
    let cats = categories::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let vils = villages::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, (v.name, v.township)))
        .collect();
    Ok((cats, vils))
}

/// Public board reads per client address: a fixed one-minute window in the broker, shared by
/// every instance. The board stays readable when the broker is not: the limit then lapses
/// (logged) rather than the board failing with it.
pub async fn check_read_rate(state: &AppState, client: &str) -> AppResult<()> {
    let max = state.settings.board.reads_per_minute;
    if max == 0 {
        return Ok(());
    }
    let key = format!("rl:board:{client}");
    let n = match state
        .broker
        .incr_window(&key, Duration::from_secs(60))
        .await
    {
        Ok(n) => n,
        Err(e) => {
            let e = anyhow::Error::from(e);
            tracing::warn!(
                error = format!("{e:#}"),
                "board read limit skipped: broker failed"
            );
            return Ok(());
        }
    };
    if n > max {
        return Err(AppError::TooManyRequests {
            code: ErrorCode::RateLimited,
            message: "too many board requests from this address; wait a minute".into(),
            retry_after_secs: 60,
        });
    }
    Ok(())
}

fn board_condition() -> Condition {
    Condition::all().add(appeals::Column::OnBoard.eq(true))
}

pub async fn board(state: &AppState, q: &BoardQuery) -> AppResult<Page<BoardItem>> {
    let limit = page_limit(q.limit)?;
    let mut cond = board_condition();
    if let Some(status) = q.status.as_deref().filter(|s| !s.is_empty()) {
        let shown = board_statuses();
        let status = status
            .parse::<PublicStatus>()
            .ok()
            .filter(|s| shown.contains(s))
            .ok_or_else(|| {
                let names: Vec<String> = shown.iter().map(ToString::to_string).collect();
                AppError::validation("status", format!("one of: {}", names.join(", ")))
            })?;
        cond = cond.add(appeals::Column::BoardStatus.eq(status));
    }
    if let Some(c) = q.category_id {
        cond = cond.add(appeals::Column::CategoryId.eq(c));
    }
    if let Some(v) = q.village_id {
        cond = cond.add(appeals::Column::VillageId.eq(v));
    }
    if let Some(c) = q.cursor {
        cond = cond.add(appeals::Column::Id.lt(c));
    }
    let (rows, resume) = match q.q.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(text) => {
            if text.chars().count() > 50 {
                return Err(AppError::validation("q", "at most 50 characters"));
            }
            let grams = query_grams(text)
                .ok_or_else(|| AppError::validation("q", "search for at least two characters"))?;
            search(&state.db, cond, &grams, q.cursor, limit).await?
        }
        None => {
            let rows = appeals::Entity::find()
                .filter(cond)
                .order_by_desc(appeals::Column::Id)
                .limit(limit)
                .all(&state.db)
                .await?;
            (rows, None)
        }
    };
    let (cats, vils) = names(&state.db).await?;
    let items: Vec<BoardItem> = rows
        .into_iter()
        .map(|a| board_item(a, &cats, &vils))
        .collect();
    let next = next_cursor(&items, limit, |v| v.id).or(resume);
    Ok(Page {
        items,
        next_cursor: next,
    })
}

const POSTINGS_BATCH: u64 = 500;
/// The most index entries of its rarest gram one search reads (and the most entries of any
/// gram it counts): the bound on a request's work, whatever the query and filters.
pub const POSTINGS_BUDGET: u64 = 5_000;

/// Newest appeals matching `cond` that contain every gram, and where to resume when the
/// budget ran out first. Walks the rarest gram's postings newest first, in batches, keeping
/// those that have the other grams too, and stops as soon as a page is full: a common word
/// finds its page in the first batch, a rare one reads few postings. (Grouping all postings of
/// every gram cost seconds for common words at 50,000 appeals.) A filter that matches little
/// would make the walk read every posting, so it stops after [`POSTINGS_BUDGET`] and returns
/// the id to continue below.
async fn search(
    db: &impl ConnectionTrait,
    cond: Condition,
    grams: &[String],
    cursor: Option<i64>,
    limit: u64,
) -> AppResult<(Vec<appeals::Model>, Option<i64>)> {
    let mut by_rarity = Vec::with_capacity(grams.len());
    for g in grams {
        let n = capped_count(db, g).await?;
        if n == 0 {
            return Ok((Vec::new(), None));
        }
        by_rarity.push((n, g.as_str()));
    }
    by_rarity.sort();
    let (driver, others) = match by_rarity.split_first() {
        Some(((_, d), rest)) => (*d, rest.iter().map(|(_, g)| *g).collect::<Vec<_>>()),
        None => return Ok((Vec::new(), None)),
    };
    let mut found: Vec<appeals::Model> = Vec::new();
    let mut before = cursor.unwrap_or(i64::MAX);
    let mut read = 0;
    while (found.len() as u64) < limit {
        if read >= POSTINGS_BUDGET {
            return Ok((found, Some(before)));
        }
        let batch: Vec<i64> = appeal_grams::Entity::find()
            .select_only()
            .column(appeal_grams::Column::AppealId)
            .filter(appeal_grams::Column::Gram.eq(driver))
            .filter(appeal_grams::Column::AppealId.lt(before))
            .order_by_desc(appeal_grams::Column::AppealId)
            .limit(POSTINGS_BATCH.min(POSTINGS_BUDGET - read))
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = batch.last() else { break };
        before = *last;
        read += batch.len() as u64;
        let mut ids = batch;
        for g in &others {
            if ids.is_empty() {
                break;
            }
            ids = appeal_grams::Entity::find()
                .select_only()
                .column(appeal_grams::Column::AppealId)
                .filter(appeal_grams::Column::Gram.eq(*g))
                .filter(appeal_grams::Column::AppealId.is_in(ids))
                .into_tuple()
                .all(db)
                .await?;
        }
        if ids.is_empty() {
            continue;
        }
        let rows = appeals::Entity::find()
            .filter(cond.clone().add(appeals::Column::Id.is_in(ids)))
            .order_by_desc(appeals::Column::Id)
            .limit(limit - found.len() as u64)
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok((found, None))
}

/// Postings of `gram`, counted up to [`POSTINGS_BUDGET`]: enough to pick the rarest gram
/// without reading every posting of a common one.
async fn capped_count(db: &impl ConnectionTrait, gram: &str) -> AppResult<u64> {
    let postings = Query::select()
        .expr(Expr::val(1))
        .from(appeal_grams::Entity)
        .and_where(Expr::col(appeal_grams::Column::Gram).eq(gram))
        .limit(POSTINGS_BUDGET)
        .to_owned();
    let stmt = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(postings, Alias::new("p"))
        .to_owned();
    let row = db.query_one(db.get_database_backend().build(&stmt)).await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

pub async fn board_one(state: &AppState, id: i64) -> AppResult<BoardItem> {
    let a = appeals::Entity::find()
        .filter(board_condition().add(appeals::Column::Id.eq(id)))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let (cats, vils) = names(&state.db).await?;
    Ok(board_item(a, &cats, &vils))
}
