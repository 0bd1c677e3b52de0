//! One appeal as a party sees it (author, office, department, leader), and the resident's own
//! list: what each may read, the timeline, the actions open to them.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{appeal_assisting_departments, appeal_events, appeals};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::similar::suggest_for_existing;
use super::{next_cursor, page_limit, parse_states, Page, PageQuery};
use crate::auth::{Caller, Role};
use crate::board::duplicates::Suggestion;
use crate::board::model::public_status;
use crate::board::workflow::{allowed_actions, ActionKind, ActorRole, AppealState, PublicStatus};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub action: ActionKind,
    pub from_state: AppealState,
    pub to_state: AppealState,
    pub actor_role: String,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<i64>,
    pub department_id: Option<i64>,
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AppealView {
    pub id: i64,
    pub version: i32,
    pub title: String,
    pub content: String,
    pub category_id: i64,
    pub village_id: i64,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub is_public: bool,
    pub state: AppealState,
    /// What the resident and the public call the state.
    pub status: PublicStatus,
    pub urgency: Option<String>,
    pub lead_department_id: Option<i64>,
    pub assisting_department_ids: Vec<i64>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub escalated: bool,
    pub reopen_count: i32,
    /// Set on a merged appeal: the master it was merged into.
    pub master_id: Option<i64>,
    /// How many times the matter was raised: this appeal and every appeal merged into it
    /// (and into those). 1 for an appeal nobody repeated.
    pub raised_count: i64,
    /// Staff only: the appeals merged into this one, directly or through another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_ids: Option<Vec<i64>>,
    pub info_question: Option<String>,
    pub reject_reason: Option<String>,
    /// The department's answer: for the author once approved; for staff from when it is written.
    pub reply: Option<String>,
    pub reply_private: bool,
    pub rating: Option<String>,
    pub solved: Option<bool>,
    pub rating_comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_note: Option<String>,
    /// Office and the lead department only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_phone: Option<String>,
    /// Staff only: the date a pending extension request asks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension_requested_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<String>,
    /// Staff only: how the appeal came in (`mini_program`, `hotline`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The author sees the public timeline; staff see every event.
    pub timeline: Vec<EventView>,
    /// What the caller may do now.
    pub allowed_actions: Vec<ActionKind>,
    /// Office only, while the appeal awaits acceptance: likely duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<Vec<Suggestion>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Viewer {
    Author,
    Office,
    Department,
    Leader,
}

fn viewer_of(caller: &Caller, a: &appeals::Model, assisting: &[i64]) -> Option<Viewer> {
    match caller.role {
        Role::Office | Role::Admin => Some(Viewer::Office),
        Role::Leader => Some(Viewer::Leader),
        Role::Handler => {
            let dept = caller.department_id?;
            (a.lead_department_id == Some(dept) || assisting.contains(&dept))
                .then_some(Viewer::Department)
        }
        Role::Resident => (a.author_id == caller.user_id).then_some(Viewer::Author),
    }
}

/// The full view for a party to the appeal; anyone else gets 404, not 403, so that the
/// existence of someone's private appeal is not revealed.
pub async fn appeal_for(state: &AppState, caller: &Caller, id: i64) -> AppResult<AppealView> {
    let a = appeals::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut assisting = assisting_of(&state.db, &[a.id]).await?;
    let assisting = assisting.remove(&a.id).unwrap_or_default();
    let viewer = match viewer_of(caller, &a, &assisting) {
        Some(v) => v,
        // A department that handled the appeal before (and returned it) keeps read access.
        None if caller.role == Role::Handler && handled_before(&state.db, &a, caller).await? => {
            Viewer::Department
        }
        None => return Err(AppError::NotFound),
    };
    let events = events_of(&state.db, &[a.id], viewer == Viewer::Author).await?;
    let master = master_reply(&state.db, &a).await?;
    let merged = merged_into(&state.db, a.id).await?;
    let mut view = build_view(
        state,
        caller,
        a,
        assisting,
        viewer,
        events.into_values().next().unwrap_or_default(),
        master,
    )?;
    view.raised_count = 1 + merged.len() as i64;
    if viewer != Viewer::Author {
        view.merged_ids = Some(merged);
    }
    if viewer == Viewer::Office
        && matches!(
            view.state,
            AppealState::Submitted | AppealState::HeldForReview | AppealState::Accepted
        )
    {
        view.duplicates = Some(suggest_for_existing(state, id).await?);
    }
    Ok(view)
}

async fn handled_before(
    db: &impl ConnectionTrait,
    a: &appeals::Model,
    caller: &Caller,
) -> AppResult<bool> {
    let Some(dept) = caller.department_id else {
        return Ok(false);
    };
    Ok(appeal_events::Entity::find()
        .filter(appeal_events::Column::AppealId.eq(a.id))
        .filter(appeal_events::Column::DepartmentId.eq(dept))
        .filter(appeal_events::Column::ActorRole.eq(<&str>::from(ActorRole::Handler)))
        .one(db)
        .await?
        .is_some())
}

/// Appeals merged into `id`, directly or through an appeal merged into it (a master that was
/// itself merged later), in id order. Derived from the records, never a counter.
pub async fn merged_into(db: &impl ConnectionTrait, id: i64) -> AppResult<Vec<i64>> {
    let mut all: Vec<i64> = merged_under(db, &[id])
        .await?
        .into_iter()
        .map(|(child, _)| child)
        .collect();
    all.sort_unstable();
    Ok(all)
}

/// For each of `ids`, how many appeals are merged into it (as [`merged_into`] counts them).
pub(super) async fn merged_counts(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, i64>> {
    let mut counts = HashMap::new();
    for (_, root) in merged_under(db, ids).await? {
        *counts.entry(root).or_default() += 1;
    }
    Ok(counts)
}

/// (merged appeal, the one of `roots` it is merged under), level by level.
async fn merged_under(db: &impl ConnectionTrait, roots: &[i64]) -> AppResult<Vec<(i64, i64)>> {
    let mut root_of: HashMap<i64, i64> = roots.iter().map(|&r| (r, r)).collect();
    let mut out = Vec::new();
    let mut frontier = roots.to_vec();
    // Merges go into earlier appeals only, so chains are short; the bound keeps them so.
    for _ in 0..8 {
        if frontier.is_empty() {
            break;
        }
        let rows: Vec<(i64, Option<i64>)> = appeals::Entity::find()
            .select_only()
            .column(appeals::Column::Id)
            .column(appeals::Column::MasterId)
            .filter(appeals::Column::MasterId.is_in(frontier.clone()))
            .filter(appeals::Column::State.eq(AppealState::Merged))
            .into_tuple()
            .all(db)
            .await?;
        frontier.clear();
        for (child, master) in rows {
            let Some(root) = master.and_then(|m| root_of.get(&m).copied()) else {
                continue;
            };
            if root_of.insert(child, root).is_none() {
                out.push((child, root));
                frontier.push(child);
            }
        }
    }
    Ok(out)
}

async fn master_reply(db: &impl ConnectionTrait, a: &appeals::Model) -> AppResult<Option<String>> {
    let Some(mid) = a.master_id else {
        return Ok(None);
    };
    let Some(m) = appeals::Entity::find_by_id(mid).one(db).await? else {
        return Ok(None);
    };
    // A merged appeal receives its master's reply, unless that reply was given privately.
    Ok((m.published_at.is_some() && !m.reply_private)
        .then_some(m.public_reply)
        .flatten())
}

fn build_view(
    state: &AppState,
    caller: &Caller,
    a: appeals::Model,
    assisting: Vec<i64>,
    viewer: Viewer,
    events: Vec<appeal_events::Model>,
    master_reply: Option<String>,
) -> AppResult<AppealView> {
    let staff = viewer != Viewer::Author;
    let sees_phone = matches!(viewer, Viewer::Office)
        || (viewer == Viewer::Department && a.lead_department_id == caller.department_id);
    let contact_phone = match (&a.contact_phone_enc, sees_phone) {
        (Some(enc), true) => Some(
            state
                .cipher
                .decrypt(enc)
                .map_err(AppError::internal)?
                .expose()
                .to_string(),
        ),
        _ => None,
    };
    let reply = if staff || a.published_at.is_some() {
        a.public_reply.clone()
    } else {
        None
    }
    .or(master_reply);
    let actor = match viewer {
        Viewer::Author => Some(ActorRole::Resident),
        Viewer::Office => Some(ActorRole::Office),
        Viewer::Department if a.lead_department_id == caller.department_id => {
            Some(ActorRole::Handler)
        }
        _ => None,
    };
    let allowed = match actor {
        Some(r) => allowed_actions(a.state, r),
        None => Vec::new(),
    };
    let timeline = events
        .into_iter()
        .map(|e| EventView {
            action: e.action,
            from_state: e.from_state,
            to_state: e.to_state,
            actor_role: e.actor_role,
            actor_id: if staff { e.actor_id } else { None },
            department_id: e.department_id,
            reason: e.reason,
            detail: e
                .detail
                .and_then(|d| serde_json::from_str(&d).ok())
                .map(|d| if staff { d } else { public_detail(d) }),
            created_at: e.created_at,
        })
        .collect();
    Ok(AppealView {
        id: a.id,
        version: a.version,
        status: public_status(a.state),
        assisting_department_ids: assisting,
        title: a.title,
        content: a.content,
        category_id: a.category_id,
        village_id: a.village_id,
        address: a.address,
        lat: a.lat,
        lng: a.lng,
        is_public: a.is_public,
        state: a.state,
        urgency: a.urgency,
        lead_department_id: a.lead_department_id,
        deadline_at: a.deadline_at,
        overdue: a.overdue_at.is_some(),
        escalated: a.escalated_at.is_some(),
        reopen_count: a.reopen_count,
        master_id: a.master_id,
        raised_count: 1,
        merged_ids: None,
        info_question: a.info_question,
        reject_reason: a.reject_reason,
        reply,
        reply_private: a.reply_private,
        rating: a.rating,
        solved: a.solved,
        rating_comment: a.rating_comment,
        created_at: a.created_at,
        updated_at: a.updated_at,
        internal_note: if staff { a.internal_note } else { None },
        contact_phone,
        extension_requested_until: if staff {
            a.extension_requested_until
        } else {
            None
        },
        hold_reason: if staff { a.hold_reason } else { None },
        channel: staff.then_some(a.channel),
        timeline,
        allowed_actions: allowed,
        duplicates: None,
    })
}

/// The resident's timeline shows what happened, not internal figures.
fn public_detail(d: serde_json::Value) -> serde_json::Value {
    let keep = [
        "urgency",
        "deadline_at",
        "lead_department_id",
        "rating",
        "solved",
        "public_reply",
        "master_id",
        "raised_count",
        "live_session_id",
    ];
    match d {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .collect(),
        ),
        other => other,
    }
}

/// The assisting departments of each appeal, in the order the office named them.
async fn assisting_of(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Vec<i64>>> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    let rows: Vec<(i64, i64)> = appeal_assisting_departments::Entity::find()
        .select_only()
        .column(appeal_assisting_departments::Column::AppealId)
        .column(appeal_assisting_departments::Column::DepartmentId)
        .filter(appeal_assisting_departments::Column::AppealId.is_in(ids.to_vec()))
        .order_by_asc(appeal_assisting_departments::Column::AppealId)
        .order_by_asc(appeal_assisting_departments::Column::Position)
        .into_tuple()
        .all(db)
        .await?;
    for (appeal, dept) in rows {
        out.entry(appeal).or_default().push(dept);
    }
    Ok(out)
}

async fn events_of(
    db: &impl ConnectionTrait,
    ids: &[i64],
    public_only: bool,
) -> AppResult<HashMap<i64, Vec<appeal_events::Model>>> {
    let mut q = appeal_events::Entity::find()
        .filter(appeal_events::Column::AppealId.is_in(ids.to_vec()))
        .order_by_asc(appeal_events::Column::Id);
    if public_only {
        q = q.filter(appeal_events::Column::Public.eq(true));
    }
    let mut out: HashMap<i64, Vec<appeal_events::Model>> = HashMap::new();
    for e in q.all(db).await? {
        out.entry(e.appeal_id).or_default().push(e);
    }
    Ok(out)
}

/// "My appeals": every appeal of the resident, newest first, with the public timeline.
pub async fn my_appeals(
    state: &AppState,
    caller: &Caller,
    q: &PageQuery,
) -> AppResult<Page<AppealView>> {
    let limit = page_limit(q.limit)?;
    let mut sel = appeals::Entity::find()
        .filter(appeals::Column::AuthorId.eq(caller.user_id))
        .order_by_desc(appeals::Column::Id)
        .limit(limit);
    if let Some(c) = q.cursor {
        sel = sel.filter(appeals::Column::Id.lt(c));
    }
    if let Some(states) = parse_states(&q.state)? {
        sel = sel.filter(appeals::Column::State.is_in(states));
    }
    let rows = sel.all(&state.db).await?;
    let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
    let mut events = events_of(&state.db, &ids, true).await?;
    let mut assisting = assisting_of(&state.db, &ids).await?;
    let mut items = Vec::with_capacity(rows.len());
    for a in rows {
        let ev = events.remove(&a.id).unwrap_or_default();
        let helpers = assisting.remove(&a.id).unwrap_or_default();
        let master = master_reply(&state.db, &a).await?;
        items.push(build_view(
            state,
            caller,
            a,
            helpers,
            Viewer::Author,
            ev,
            master,
        )?);
    }
    let next = next_cursor(&items, limit, |v| v.id);
    Ok(Page {
        items,
        next_cursor: next,
    })
}
