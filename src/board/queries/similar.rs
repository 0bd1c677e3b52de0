//! Likely duplicates: for the office reading an appeal that awaits acceptance, and for a
//! resident before submitting (others' appeals only as the board shows them, masked).
use std::collections::HashMap;

use entity::appeals;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::board::duplicates::{find_duplicates, Candidate, DuplicateReason, Suggestion};
use crate::board::masking::mask_text;
use crate::board::model::{public_status, shown_on_board, CONTENT_MAX, TITLE_MAX};
use crate::board::workflow::{AppealState, PublicStatus};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Appeals that no longer (or not yet) count as open problems.
const OPEN_EXCLUDED: [AppealState; 5] = [
    AppealState::Draft,
    AppealState::Rejected,
    AppealState::Merged,
    AppealState::Closed,
    AppealState::HeldForReview,
];
const CANDIDATE_LIMIT: u64 = 500;

/// Only masked text is ever scored: a hidden digit must not raise or lower a score.
fn candidate(a: &appeals::Model) -> Candidate {
    Candidate {
        id: a.id,
        author_id: a.author_id,
        category_id: a.category_id,
        village: a.village_id.to_string(),
        title: mask_text(&a.title),
        content: mask_text(&a.content),
        lat: a.lat,
        lng: a.lng,
        submitted_at: a.created_at,
    }
}

async fn open_candidates(
    db: &impl ConnectionTrait,
    category_id: i64,
    author_id: i64,
) -> AppResult<Vec<appeals::Model>> {
    Ok(appeals::Entity::find()
        .filter(appeals::Column::State.is_not_in(OPEN_EXCLUDED))
        .filter(
            Condition::any()
                .add(appeals::Column::CategoryId.eq(category_id))
                .add(appeals::Column::AuthorId.eq(author_id)),
        )
        .order_by_desc(appeals::Column::Id)
        .limit(CANDIDATE_LIMIT)
        .all(db)
        .await?)
}

pub(super) async fn suggest_for_existing(state: &AppState, id: i64) -> AppResult<Vec<Suggestion>> {
    let Some(a) = appeals::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(Vec::new());
    };
    let open = open_candidates(&state.db, a.category_id, a.author_id).await?;
    let cands: Vec<Candidate> = open
        .iter()
        .filter(|o| o.id != a.id)
        .map(candidate)
        .collect();
    score(state, candidate(&a), cands).await
}

/// Runs the matcher off the async workers (segmenting a few hundred appeals is CPU work) with
/// the lexicon as it stands.
async fn score(
    state: &AppState,
    new: Candidate,
    open: Vec<Candidate>,
) -> AppResult<Vec<Suggestion>> {
    let lex = crate::similar::store::lexicon(&state.db).await?;
    let now = state.clock.now();
    tokio::task::spawn_blocking(move || find_duplicates(&new, &open, now, &lex))
        .await
        .map_err(AppError::internal)
}

#[derive(Deserialize, ToSchema)]
pub struct SimilarRequest {
    pub title: String,
    pub content: String,
    pub category_id: i64,
    pub village_id: i64,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct SimilarAppeal {
    pub id: i64,
    pub title: String,
    pub status: PublicStatus,
    pub score: f64,
    pub reason: DuplicateReason,
    /// The resident's own appeal.
    pub mine: bool,
}

/// Before submitting: open appeals that look like the same problem. Others' appeals are shown
/// only when they are on the public board, and masked; the score sees masked text only.
pub async fn similar(
    state: &AppState,
    caller: &Caller,
    req: &SimilarRequest,
) -> AppResult<Vec<SimilarAppeal>> {
    if req.title.chars().count() > TITLE_MAX {
        return Err(AppError::validation("title", "too long"));
    }
    if req.content.chars().count() > CONTENT_MAX {
        return Err(AppError::validation("content", "too long"));
    }
    let open = open_candidates(&state.db, req.category_id, caller.user_id).await?;
    let probe = Candidate {
        id: 0,
        author_id: caller.user_id,
        category_id: req.category_id,
        village: req.village_id.to_string(),
        title: mask_text(&req.title),
        content: mask_text(&req.content),
        lat: req.lat,
        lng: req.lng,
        submitted_at: state.clock.now(),
    };
    let visible: Vec<&appeals::Model> = open
        .iter()
        .filter(|a| a.author_id == caller.user_id || (a.is_public && shown_on_board(a.state)))
        .collect();
    // Both sides masked: the score must not depend on digits the board hides.
    let cands: Vec<Candidate> = visible.iter().map(|a| candidate(a)).collect();
    let by_id: HashMap<i64, &&appeals::Model> = visible.iter().map(|a| (a.id, a)).collect();
    Ok(score(state, probe, cands)
        .await?
        .into_iter()
        .filter_map(|s| {
            let a = by_id.get(&s.id)?;
            Some(SimilarAppeal {
                id: a.id,
                title: mask_text(&a.title),
                status: public_status(a.state),
                score: s.score,
                reason: s.reason,
                mine: a.author_id == caller.user_id,
            })
        })
        .collect())
}
