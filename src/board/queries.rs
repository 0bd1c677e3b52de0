//! Reading appeals: the party's full view, lists for the resident, the office and departments,
//! duplicate suggestions, and the public board (masked, author never shown).
use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{appeal_events, appeal_grams, appeals, categories, supervision_notices, villages};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::duplicates::{find_duplicates, Candidate, DuplicateReason, Suggestion};
use super::masking::mask_text;
use super::model::{assisting_ids, running_states};
use super::search::query_grams;
use super::workflow::{allowed_actions, ActionKind, ActorRole, AppealState};
use crate::auth::{Caller, Role};
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const PAGE_MAX: u64 = 50;
pub const PAGE_DEFAULT: u64 = 20;

/// What the public (and the resident) calls the state.
pub fn public_status(state: &str) -> &'static str {
    match AppealState::parse(state) {
        Some(AppealState::Published | AppealState::RatedUnsatisfied) => "replied",
        Some(AppealState::Closed) => "closed",
        Some(AppealState::Rejected) => "rejected",
        Some(AppealState::Merged) => "merged",
        Some(AppealState::Submitted | AppealState::HeldForReview | AppealState::Draft) => {
            "received"
        }
        Some(AppealState::InfoRequested) => "info_requested",
        _ => "processing",
    }
}

/// States that appear on the public board (accepted and after, not rejected or merged).
pub const BOARD_STATES: [&str; 9] = [
    "accepted",
    "assigned",
    "signed",
    "returned",
    "replied",
    "published",
    "rated_unsatisfied",
    "reopened",
    "closed",
];

/// Where an appeal stands on the public board: `None` when it is not there. Stored beside the
/// state on every change (so the board can be read in index order), computed only here.
pub fn board_projection(is_public: bool, state: &str) -> Option<&'static str> {
    (is_public && BOARD_STATES.contains(&state)).then(|| public_status(state))
}

#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub action: String,
    pub from_state: String,
    pub to_state: String,
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
    pub state: String,
    /// received, info_requested, processing, replied, closed, rejected or merged.
    pub status: &'static str,
    pub urgency: Option<String>,
    pub lead_department_id: Option<i64>,
    pub assisting_department_ids: Vec<i64>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub escalated: bool,
    pub reopen_count: i32,
    pub master_id: Option<i64>,
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

fn viewer_of(caller: &Caller, a: &appeals::Model) -> Option<Viewer> {
    match caller.role {
        Role::Office | Role::Admin => Some(Viewer::Office),
        Role::Leader => Some(Viewer::Leader),
        Role::Handler => {
            let dept = caller.department_id?;
            (a.lead_department_id == Some(dept) || assisting_ids(a).contains(&dept))
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
    let viewer = match viewer_of(caller, &a) {
        Some(v) => v,
        // A department that handled the appeal before (and returned it) keeps read access.
        None if caller.role == Role::Handler && handled_before(&state.db, &a, caller).await? => {
            Viewer::Department
        }
        None => return Err(AppError::NotFound),
    };
    let events = events_of(&state.db, &[a.id], viewer == Viewer::Author).await?;
    let master = master_reply(&state.db, &a).await?;
    let mut view = build_view(
        state,
        caller,
        a,
        viewer,
        events.into_values().next().unwrap_or_default(),
        master,
    )?;
    if viewer == Viewer::Office
        && matches!(
            view.state.as_str(),
            "submitted" | "held_for_review" | "accepted"
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
        .filter(appeal_events::Column::ActorRole.eq("handler"))
        .one(db)
        .await?
        .is_some())
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
    let allowed = match (actor, AppealState::parse(&a.state)) {
        (Some(r), Some(s)) => allowed_actions(s, r),
        _ => Vec::new(),
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
        status: public_status(&a.state),
        assisting_department_ids: assisting_ids(&a),
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

fn page_limit(limit: Option<u64>) -> AppResult<u64> {
    match limit {
        None => Ok(PAGE_DEFAULT),
        Some(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        Some(_) => Err(AppError::validation(
            "limit",
            format!("must be 1 to {PAGE_MAX}"),
        )),
    }
}

fn parse_states(s: &Option<String>) -> AppResult<Option<Vec<String>>> {
    let Some(s) = s.as_deref().filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for part in s.split(',') {
        let st = AppealState::parse(part.trim()).ok_or_else(|| {
            AppError::validation("state", format!("unknown state {:?}", part.trim()))
        })?;
        out.push(st.as_str().to_string());
    }
    Ok(Some(out))
}

#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

fn next_cursor<T>(items: &[T], limit: u64, id: impl Fn(&T) -> i64) -> Option<i64> {
    (items.len() as u64 == limit)
        .then(|| items.last().map(id))
        .flatten()
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
    let mut items = Vec::with_capacity(rows.len());
    for a in rows {
        let ev = events.remove(&a.id).unwrap_or_default();
        let master = master_reply(&state.db, &a).await?;
        items.push(build_view(state, caller, a, Viewer::Author, ev, master)?);
    }
    let next = next_cursor(&items, limit, |v| v.id);
    Ok(Page {
        items,
        next_cursor: next,
    })
}

#[derive(Serialize, ToSchema)]
pub struct AppealSummary {
    pub id: i64,
    pub version: i32,
    pub title: String,
    pub state: String,
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
    default_states: &[&str],
    q: &StaffQuery,
) -> AppResult<Page<AppealSummary>> {
    let limit = page_limit(q.limit)?;
    let mut cond = base;
    let explicit = parse_states(&q.state)?;
    let filtered = q.overdue == Some(true) || q.extension_pending == Some(true);
    match explicit {
        Some(states) => cond = cond.add(appeals::Column::State.is_in(states)),
        None if !filtered => {
            cond =
                cond.add(appeals::Column::State.is_in(default_states.iter().map(|s| s.to_string())))
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
    let items: Vec<AppealSummary> = appeals::Entity::find()
        .filter(cond)
        .order_by_desc(appeals::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next = next_cursor(&items, limit, |v| v.id);
    Ok(Page {
        items,
        next_cursor: next,
    })
}

pub async fn office_list(state: &AppState, q: &StaffQuery) -> AppResult<Page<AppealSummary>> {
    staff_list(
        state,
        Condition::all(),
        &OFFICE_INBOX.map(AppealState::as_str),
        q,
    )
    .await
}

pub async fn department_list(
    state: &AppState,
    caller: &Caller,
    q: &StaffQuery,
) -> AppResult<Page<AppealSummary>> {
    let dept = caller.department_id.ok_or(AppError::Forbidden)?;
    let base = Condition::any()
        .add(appeals::Column::LeadDepartmentId.eq(dept))
        .add(appeals::Column::AssistingDepartmentIds.contains(format!(",{dept},")));
    let inbox: Vec<&str> = running_states().collect();
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

// ---- duplicates ----

const OPEN_EXCLUDED: [&str; 5] = ["draft", "rejected", "merged", "closed", "held_for_review"];
const CANDIDATE_LIMIT: u64 = 500;

fn candidate(a: &appeals::Model) -> Candidate {
    Candidate {
        id: a.id,
        author_id: a.author_id,
        category_id: a.category_id,
        village: a.village_id.to_string(),
        title: a.title.clone(),
        content: a.content.clone(),
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

async fn suggest_for_existing(state: &AppState, id: i64) -> AppResult<Vec<Suggestion>> {
    let Some(a) = appeals::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(Vec::new());
    };
    let open = open_candidates(&state.db, a.category_id, a.author_id).await?;
    let cands: Vec<Candidate> = open
        .iter()
        .filter(|o| o.id != a.id)
        .map(candidate)
        .collect();
    Ok(find_duplicates(&candidate(&a), &cands, state.clock.now()))
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
    pub status: &'static str,
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
    if req.title.chars().count() > super::model::TITLE_MAX {
        return Err(AppError::validation("title", "too long"));
    }
    if req.content.chars().count() > super::model::CONTENT_MAX {
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
        .filter(|a| {
            a.author_id == caller.user_id
                || (a.is_public && BOARD_STATES.contains(&a.state.as_str()))
        })
        .collect();
    // Both sides masked: the score must not depend on digits the board hides.
    let cands: Vec<Candidate> = visible
        .iter()
        .map(|a| Candidate {
            title: mask_text(&a.title),
            content: mask_text(&a.content),
            ..candidate(a)
        })
        .collect();
    let by_id: HashMap<i64, &&appeals::Model> = visible.iter().map(|a| (a.id, a)).collect();
    Ok(find_duplicates(&probe, &cands, state.clock.now())
        .into_iter()
        .filter_map(|s| {
            let a = by_id.get(&s.id)?;
            Some(SimilarAppeal {
                id: a.id,
                title: mask_text(&a.title),
                status: public_status(&a.state),
                score: s.score,
                reason: s.reason,
                mine: a.author_id == caller.user_id,
            })
        })
        .collect())
}

// ---- the public board ----

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
    pub status: &'static str,
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
        status: public_status(&a.state),
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
        if !["processing", "replied", "closed"].contains(&status) {
            return Err(AppError::validation(
                "status",
                "one of: processing, replied, closed",
            ));
        }
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
