//! Fills in the search grams of appeals that have none. A migration empties the index when what
//! it must hold changes (it once held unmasked text); the server rebuilds it here at start,
//! before it serves, in batches, from the text the board shows.
use entity::{appeal_grams, appeals};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use super::queries::board_reply;
use super::store::index;
use crate::error::AppResult;

const BATCH: u64 = 200;

/// Indexes every appeal without grams; returns how many it indexed.
pub async fn fill_missing(db: &DatabaseConnection) -> AppResult<u64> {
    let mut after = 0;
    let mut done = 0;
    loop {
        let unindexed = Query::select()
            .expr(Expr::val(1))
            .from(appeal_grams::Entity)
            .and_where(
                Expr::col((appeal_grams::Entity, appeal_grams::Column::AppealId))
                    .equals((appeals::Entity, appeals::Column::Id)),
            )
            .to_owned();
        let batch = appeals::Entity::find()
            .filter(appeals::Column::Id.gt(after))
            .filter(Expr::exists(unindexed).not())
            .order_by_asc(appeals::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let txn = db.begin().await?;
        for a in &batch {
            index(&txn, a.id, &a.title, &a.content, board_reply(a)).await?;
        }
        txn.commit().await?;
        done += batch.len() as u64;
    }
    if done > 0 {
        tracing::info!(appeals = done, "search index rebuilt from the masked text");
    }
    Ok(done)
}
