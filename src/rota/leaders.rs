//! Leaders on the rota: a profile (display name and title) for each user holding the `leader`
//! role, and the dates each cannot host. An admin maintains them, or the leader themself.
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use entity::{leader_unavailable_dates as unavailable, leaders, live_sessions, users};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{date_str, parse_date, SessionStatus};
use crate::auth::{Caller, Role};
use crate::board::service::checked_text;
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const NAME_MAX: usize = 32;
pub const TITLE_MAX: usize = 64;
pub const REASON_MAX: usize = 200;
/// Dates one request may add: a year's worth.
pub const DATES_MAX: usize = 366;

#[derive(Deserialize, ToSchema)]
pub struct LeaderProfile {
    /// Shown to residents, e.g. 张明.
    #[schema(min_length = 1, max_length = 32)]
    pub display_name: String,
    /// e.g. 县长, 副县长.
    #[schema(min_length = 1, max_length = 64)]
    pub title: String,
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct LeaderView {
    pub user_id: i64,
    pub display_name: String,
    pub title: String,
}

impl From<leaders::Model> for LeaderView {
    fn from(m: leaders::Model) -> Self {
        Self {
            user_id: m.user_id,
            display_name: m.display_name,
            title: m.title,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct NewUnavailable {
    /// Local dates `YYYY-MM-DD`; ones already listed are left as they are.
    pub dates: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UnavailableDate {
    pub date: String,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UnavailableList {
    pub leader_id: i64,
    pub dates: Vec<UnavailableDate>,
    /// Sessions still assigned to this leader on an unavailable date: the admin must reassign
    /// them (publication refuses drafts like these).
    pub conflicting_session_ids: Vec<i64>,
}

/// A leader may change only their own profile and dates; an admin any leader's.
fn check_maintainer(caller: &Caller, leader_id: i64) -> AppResult<()> {
    if caller.role == Role::Admin || caller.user_id == leader_id {
        Ok(())
    } else {
        Err(AppError::ForbiddenWith {
            code: ErrorCode::NotYourProfile,
            message: "a leader maintains only their own profile and dates".into(),
        })
    }
}

/// The user, who must hold the leader role: 404 for no such user, 409 `not_a_leader` otherwise.
async fn leader_user(db: &impl ConnectionTrait, user_id: i64) -> AppResult<users::Model> {
    let u = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if u.role != Role::Leader.as_str() {
        return Err(AppError::conflict(
            ErrorCode::NotALeader,
            format!("user {user_id} does not hold the leader role"),
        ));
    }
    Ok(u)
}

pub async fn put_profile(
    state: &AppState,
    caller: &Caller,
    user_id: i64,
    req: &LeaderProfile,
) -> AppResult<LeaderView> {
    let display_name = checked_text("display_name", &req.display_name, NAME_MAX, false)?;
    let title = checked_text("title", &req.title, TITLE_MAX, false)?;
    leader_user(&state.db, user_id).await?;
    check_maintainer(caller, user_id)?;
    let now = state.clock.now();
    leaders::Entity::insert(leaders::ActiveModel {
        user_id: Set(user_id),
        display_name: Set(display_name),
        title: Set(title),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(leaders::Column::UserId)
            .update_columns([
                leaders::Column::DisplayName,
                leaders::Column::Title,
                leaders::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    let m = leaders::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("leader profile vanished")))?;
    tracing::info!(leader_id = user_id, "leader profile saved");
    Ok(m.into())
}

/// Leaders who can be put on the rota: a profile, and the leader role still held.
pub async fn pool(db: &impl ConnectionTrait) -> AppResult<Vec<LeaderView>> {
    let profiles = leaders::Entity::find()
        .order_by_asc(leaders::Column::UserId)
        .all(db)
        .await?;
    let ids: Vec<i64> = profiles.iter().map(|p| p.user_id).collect();
    let active: BTreeSet<i64> = users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .filter(users::Column::Role.eq(Role::Leader.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    Ok(profiles
        .into_iter()
        .filter(|p| active.contains(&p.user_id))
        .map(Into::into)
        .collect())
}

/// Profiles by user id, for views (kept even if the role was later taken away).
pub async fn profiles(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<BTreeMap<i64, LeaderView>> {
    let ids: BTreeSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(leaders::Entity::find()
        .filter(leaders::Column::UserId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.user_id, m.into()))
        .collect())
}

/// Checks that `leader_id` may be assigned a session: 422 naming `field` otherwise.
pub async fn check_assignable(
    db: &impl ConnectionTrait,
    field: &str,
    leader_id: i64,
) -> AppResult<()> {
    let user = users::Entity::find_by_id(leader_id).one(db).await?;
    match user {
        None => Err(AppError::validation(field, "no such user")),
        Some(u) if u.role != Role::Leader.as_str() => Err(AppError::validation(
            field,
            format!("user {leader_id} is not a leader"),
        )),
        Some(_) => {
            if leaders::Entity::find_by_id(leader_id)
                .one(db)
                .await?
                .is_none()
            {
                return Err(AppError::validation(
                    field,
                    format!("leader {leader_id} has no leader profile yet"),
                ));
            }
            Ok(())
        }
    }
}

/// Whether the leader marked `date` unavailable.
pub async fn is_unavailable(
    db: &impl ConnectionTrait,
    leader_id: i64,
    date: NaiveDate,
) -> AppResult<bool> {
    Ok(unavailable::Entity::find()
        .filter(unavailable::Column::LeaderId.eq(leader_id))
        .filter(unavailable::Column::Date.eq(date_str(date)))
        .one(db)
        .await?
        .is_some())
}

/// Unavailable dates of the given leaders within `from..=to`.
pub async fn unavailable_in(
    db: &impl ConnectionTrait,
    leader_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<BTreeMap<i64, BTreeSet<NaiveDate>>> {
    let rows = unavailable::Entity::find()
        .filter(unavailable::Column::LeaderId.is_in(leader_ids.to_vec()))
        .filter(unavailable::Column::Date.gte(date_str(from)))
        .filter(unavailable::Column::Date.lte(date_str(to)))
        .all(db)
        .await?;
    let mut out: BTreeMap<i64, BTreeSet<NaiveDate>> = BTreeMap::new();
    for r in rows {
        if let Ok(d) = NaiveDate::parse_from_str(&r.date, "%Y-%m-%d") {
            out.entry(r.leader_id).or_default().insert(d);
        }
    }
    Ok(out)
}

async fn list_for(state: &AppState, leader_id: i64) -> AppResult<UnavailableList> {
    let rows = unavailable::Entity::find()
        .filter(unavailable::Column::LeaderId.eq(leader_id))
        .order_by_asc(unavailable::Column::Date)
        .all(&state.db)
        .await?;
    let dates: Vec<String> = rows.iter().map(|r| r.date.clone()).collect();
    let conflicting_session_ids = live_sessions::Entity::find()
        .filter(live_sessions::Column::LeaderId.eq(leader_id))
        .filter(live_sessions::Column::Status.eq(SessionStatus::Scheduled.as_str()))
        .filter(live_sessions::Column::LocalDate.is_in(dates))
        .filter(live_sessions::Column::StartsAt.gt(state.clock.now()))
        .order_by_asc(live_sessions::Column::StartsAt)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    Ok(UnavailableList {
        leader_id,
        dates: rows
            .into_iter()
            .map(|r| UnavailableDate {
                date: r.date,
                reason: r.reason,
            })
            .collect(),
        conflicting_session_ids,
    })
}

pub async fn list_unavailable(state: &AppState, leader_id: i64) -> AppResult<UnavailableList> {
    leader_user(&state.db, leader_id).await?;
    list_for(state, leader_id).await
}

pub async fn add_unavailable(
    state: &AppState,
    caller: &Caller,
    leader_id: i64,
    req: &NewUnavailable,
) -> AppResult<UnavailableList> {
    if req.dates.is_empty() || req.dates.len() > DATES_MAX {
        return Err(AppError::validation(
            "dates",
            format!("give 1 to {DATES_MAX} dates"),
        ));
    }
    let mut dates = BTreeSet::new();
    for (i, d) in req.dates.iter().enumerate() {
        dates.insert(parse_date(&format!("dates[{i}]"), d)?);
    }
    let reason = match req.reason.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(checked_text("reason", r, REASON_MAX, false)?),
    };
    leader_user(&state.db, leader_id).await?;
    check_maintainer(caller, leader_id)?;
    if leaders::Entity::find_by_id(leader_id)
        .one(&state.db)
        .await?
        .is_none()
    {
        return Err(AppError::conflict(
            ErrorCode::LeaderProfileMissing,
            "create the leader's profile first (PUT /api/v1/leaders/{user_id})",
        ));
    }
    let now = state.clock.now();
    let rows = dates.iter().map(|d| unavailable::ActiveModel {
        leader_id: Set(leader_id),
        date: Set(date_str(*d)),
        reason: Set(reason.clone()),
        created_by: Set(Some(caller.user_id)),
        created_at: Set(now),
        ..Default::default()
    });
    unavailable::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([unavailable::Column::LeaderId, unavailable::Column::Date])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
    tracing::info!(leader_id, dates = dates.len(), "unavailable dates added");
    list_for(state, leader_id).await
}

pub async fn remove_unavailable(
    state: &AppState,
    caller: &Caller,
    leader_id: i64,
    date: &str,
) -> AppResult<()> {
    let date = parse_date("date", date)?;
    leader_user(&state.db, leader_id).await?;
    check_maintainer(caller, leader_id)?;
    let res = unavailable::Entity::delete_many()
        .filter(unavailable::Column::LeaderId.eq(leader_id))
        .filter(unavailable::Column::Date.eq(date_str(date)))
        .exec(&state.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

pub async fn list(state: &AppState) -> AppResult<Vec<LeaderView>> {
    pool(&state.db).await
}
