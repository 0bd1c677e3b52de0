//! After each conversation in a session the leader (or the office) records its outcome for the
//! resident: answered on the spot, or turned into an appeal filed on the resident's behalf. The
//! appeal is a real one: it enters the board's workflow as `submitted` (or is held by the
//! content check), and its `submit` event names who filed it and links back to the session.
use chrono::{DateTime, Utc};
pub use entity::live_outcomes::{self, OutcomeKind};
use entity::live_sessions::SessionStatus;
use entity::{users, AsStr};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::lifecycle::check_host;
use super::{appeal_actor_role, queries, registrations};
use crate::auth::{Caller, Role};
use crate::board::service::{self as board, checked_text, NewAppeal, Submitter};
use crate::db::begin_write;
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const NOTE_MAX: usize = 1000;

#[derive(Deserialize, ToSchema)]
pub struct NewOutcome {
    /// The resident the leader talked with.
    pub resident_id: i64,
    pub outcome: OutcomeKind,
    /// What was said or promised, at most 1000 characters.
    pub note: Option<String>,
    /// For `appeal`: the appeal to file, as the resident would submit it.
    pub appeal: Option<NewAppeal>,
}

#[derive(Serialize, ToSchema)]
pub struct OutcomeView {
    pub id: i64,
    pub session_id: i64,
    pub resident_id: i64,
    pub outcome: OutcomeKind,
    pub note: Option<String>,
    pub appeal_id: Option<i64>,
    pub recorded_by: i64,
    pub recorder_role: Role,
    pub created_at: DateTime<Utc>,
}

impl From<live_outcomes::Model> for OutcomeView {
    fn from(m: live_outcomes::Model) -> Self {
        Self {
            id: m.id,
            session_id: m.session_id,
            resident_id: m.resident_id,
            outcome: m.outcome,
            note: m.note,
            appeal_id: m.appeal_id,
            recorded_by: m.recorded_by,
            recorder_role: m.recorder_role,
            created_at: m.created_at,
        }
    }
}

/// Validation errors of the nested appeal name their field under `appeal.`.
fn nested(e: AppError) -> AppError {
    match e {
        AppError::Validation { field, message } => AppError::Validation {
            field: format!("appeal.{field}"),
            message,
        },
        other => other,
    }
}

fn exists() -> AppError {
    AppError::conflict(
        ErrorCode::OutcomeExists,
        "an outcome is already recorded for this resident in this session",
    )
}

pub async fn record(
    state: &AppState,
    caller: &Caller,
    session_id: i64,
    req: &NewOutcome,
) -> AppResult<OutcomeView> {
    let s = queries::visible_session(&state.db, caller, session_id).await?;
    if caller.role == Role::Leader {
        check_host(caller, &s)?;
    }
    if s.status != SessionStatus::Live && s.status != SessionStatus::Ended {
        return Err(AppError::StateConflict {
            code: ErrorCode::InvalidSessionState,
            message: format!(
                "session {} is `{}`: outcomes are recorded while it is live or after it ended",
                s.id, s.status
            ),
            state: s.status.to_string(),
            version: Some(s.version),
        });
    }
    let note = match req.note.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(checked_text("note", n, NOTE_MAX, true)?),
    };
    let resident = users::Entity::find_by_id(req.resident_id)
        .one(&state.db)
        .await?
        .filter(|u| u.role == Role::Resident)
        .ok_or_else(|| AppError::validation("resident_id", "no such resident"))?;
    // An appeal is filed in the resident's name: only for someone who took part.
    if req.outcome == OutcomeKind::Appeal
        && !registrations::took_part(&state.db, s.id, resident.id).await?
    {
        return Err(AppError::validation(
            "resident_id",
            "this resident neither registered for this session nor joined its queue",
        ));
    }
    let prepared = match (req.outcome, &req.appeal) {
        (OutcomeKind::Appeal, Some(a)) => {
            Some(board::prepare(state, None, a).await.map_err(nested)?)
        }
        (OutcomeKind::Appeal, None) => {
            return Err(AppError::validation(
                "appeal",
                "required for outcome `appeal`: the appeal to file for the resident",
            ))
        }
        (OutcomeKind::Answered, Some(_)) => {
            return Err(AppError::validation("appeal", "only for outcome `appeal`"))
        }
        (OutcomeKind::Answered, None) => None,
    };
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let txn = &w.txn;
    if live_outcomes::Entity::find()
        .filter(live_outcomes::Column::SessionId.eq(s.id))
        .filter(live_outcomes::Column::ResidentId.eq(resident.id))
        .one(txn)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let appeal = match prepared {
        Some(p) => {
            let submitter = Submitter {
                user_id: caller.user_id,
                role: appeal_actor_role(caller.role),
                reason: Some(format!(
                    "filed for the resident during live session {}",
                    s.id
                )),
                detail: Some(json!({
                    "channel": "live_session",
                    "live_session_id": s.id,
                    "filed_by": caller.user_id,
                })),
            };
            Some(board::submit_on_behalf(txn, resident.id, p, &submitter, now).await?)
        }
        None => None,
    };
    let saved = live_outcomes::ActiveModel {
        session_id: Set(s.id),
        resident_id: Set(resident.id),
        outcome: Set(req.outcome),
        note: Set(note),
        appeal_id: Set(appeal.as_ref().map(|a| a.id)),
        recorded_by: Set(caller.user_id),
        recorder_role: Set(caller.role),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await;
    let saved = match saved {
        Ok(m) => m,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(exists())
        }
        Err(e) => return Err(e.into()),
    };
    w.commit().await?;
    tracing::info!(
        session_id = s.id,
        outcome = req.outcome.as_str(),
        appeal_id = saved.appeal_id,
        "conversation outcome recorded"
    );
    Ok(saved.into())
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    session_id: i64,
) -> AppResult<Vec<OutcomeView>> {
    let s = queries::visible_session(&state.db, caller, session_id).await?;
    // Outcomes carry residents' private notes: other leaders may not read them.
    if caller.role == Role::Leader {
        check_host(caller, &s)?;
    }
    Ok(live_outcomes::Entity::find()
        .filter(live_outcomes::Column::SessionId.eq(s.id))
        .order_by_asc(live_outcomes::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}
