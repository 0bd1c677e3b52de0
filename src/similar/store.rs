//! The synonym lexicon in the database: read whole for every scoring (a few hundred rows),
//! added to and removed from by admins.
use chrono::{DateTime, Utc};
use entity::synonyms;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::lexicon::{Lexicon, SynonymPair};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

/// One entry of the lexicon as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SynonymView {
    pub term: String,
    pub canonical: String,
    /// `seed` (shipped with the server) or `admin`.
    pub source: String,
    pub created_by: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<synonyms::Model> for SynonymView {
    fn from(m: synonyms::Model) -> Self {
        Self {
            term: m.term,
            canonical: m.canonical,
            source: m.source,
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

/// The lexicon as it stands.
pub async fn lexicon(db: &impl ConnectionTrait) -> AppResult<Lexicon> {
    let pairs: Vec<SynonymPair> = synonyms::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| SynonymPair {
            term: m.term,
            canonical: m.canonical,
        })
        .collect();
    Ok(Lexicon::from_pairs(&pairs))
}

/// Every entry, by canonical word and then term.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<SynonymView>> {
    Ok(synonyms::Entity::find()
        .order_by_asc(synonyms::Column::Canonical)
        .order_by_asc(synonyms::Column::Term)
        .all(db)
        .await?
        .into_iter()
        .map(SynonymView::from)
        .collect())
}

/// Adds `term` as a synonym of `canonical`; a term already in the lexicon is
/// `409 synonym_exists` (remove it first to give it another meaning).
pub async fn add(
    state: &AppState,
    caller: &Caller,
    term: &str,
    canonical: &str,
    now: DateTime<Utc>,
) -> AppResult<SynonymView> {
    let pair = SynonymPair::parse(term, canonical).map_err(|(f, m)| AppError::validation(f, m))?;
    let w = crate::db::begin_write(state).await?;
    let exists = synonyms::Entity::find()
        .filter(synonyms::Column::Term.eq(&pair.term))
        .one(&w.txn)
        .await?;
    if let Some(e) = exists {
        return Err(AppError::conflict(
            ErrorCode::SynonymExists,
            format!("`{}` is already a synonym of `{}`", e.term, e.canonical),
        ));
    }
    let row = synonyms::ActiveModel {
        term: Set(pair.term),
        canonical: Set(pair.canonical),
        source: Set("admin".into()),
        created_by: Set(Some(caller.user_id)),
        created_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&w.txn)
    .await?;
    w.commit().await?;
    tracing::info!(term = %row.term, canonical = %row.canonical, "synonym added");
    Ok(row.into())
}

/// Removes a term (seeded or added); 404 when it is not in the lexicon.
pub async fn remove(state: &AppState, term: &str) -> AppResult<()> {
    let term = super::lexicon::normalize(term.trim());
    let w = crate::db::begin_write(state).await?;
    let res = synonyms::Entity::delete_many()
        .filter(synonyms::Column::Term.eq(&term))
        .exec(&w.txn)
        .await?;
    w.commit().await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(term = %term, "synonym removed");
    Ok(())
}
