//! Admin-maintained reference data of the board: categories (each with a default department
//! and an optional suggested urgency), villages with their township, and sensitive words.
use chrono::{DateTime, Utc};
use entity::{categories, departments, sensitive_words, villages};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::workflow::Urgency;
use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};

/// One-line names: trimmed, 1..=max characters, no control characters.
fn text(field: &str, s: &str, max: usize) -> AppResult<String> {
    super::model::checked_text(field, s, max, false)
}

#[derive(Deserialize, ToSchema)]
pub struct NewCategory {
    pub name: String,
    pub default_department_id: i64,
    pub suggested_urgency: Option<Urgency>,
}

#[derive(Serialize, ToSchema)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub default_department_id: i64,
    pub suggested_urgency: Option<Urgency>,
}

impl From<categories::Model> for Category {
    fn from(m: categories::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            default_department_id: m.default_department_id,
            suggested_urgency: m.suggested_urgency.as_deref().and_then(Urgency::parse),
        }
    }
}

pub async fn create_category(
    db: &DatabaseConnection,
    req: &NewCategory,
    now: DateTime<Utc>,
) -> AppResult<Category> {
    let name = text("name", &req.name, 64)?;
    if departments::Entity::find_by_id(req.default_department_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::validation(
            "default_department_id",
            "no such department",
        ));
    }
    if categories::Entity::find()
        .filter(categories::Column::Name.eq(&name))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            ErrorCode::CategoryExists,
            format!("category {name:?} exists"),
        ));
    }
    let m = categories::ActiveModel {
        name: Set(name),
        default_department_id: Set(req.default_department_id),
        suggested_urgency: Set(req.suggested_urgency.map(|u| u.as_str().to_string())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(m.into())
}

pub async fn list_categories(db: &DatabaseConnection) -> AppResult<Vec<Category>> {
    Ok(categories::Entity::find()
        .order_by_asc(categories::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub async fn category(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<categories::Model>> {
    Ok(categories::Entity::find_by_id(id).one(db).await?)
}

#[derive(Deserialize, ToSchema)]
pub struct NewVillage {
    pub name: String,
    pub township: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct Village {
    pub id: i64,
    pub name: String,
    pub township: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

impl From<villages::Model> for Village {
    fn from(m: villages::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            township: m.township,
            lat: m.lat,
            lng: m.lng,
        }
    }
}

pub fn check_coordinates(lat: Option<f64>, lng: Option<f64>) -> AppResult<()> {
    match (lat, lng) {
        (None, None) => Ok(()),
        (Some(la), Some(lo)) => {
            if !(-90.0..=90.0).contains(&la) || !la.is_finite() {
                return Err(AppError::validation("lat", "must be between -90 and 90"));
            }
            if !(-180.0..=180.0).contains(&lo) || !lo.is_finite() {
                return Err(AppError::validation("lng", "must be between -180 and 180"));
            }
            Ok(())
        }
        (Some(_), None) => Err(AppError::validation(
            "lng",
            "give both lat and lng, or neither",
        )),
        (None, Some(_)) => Err(AppError::validation(
            "lat",
            "give both lat and lng, or neither",
        )),
    }
}

pub async fn create_village(
    db: &DatabaseConnection,
    req: &NewVillage,
    now: DateTime<Utc>,
) -> AppResult<Village> {
    let name = text("name", &req.name, 64)?;
    let township = text("township", &req.township, 64)?;
    check_coordinates(req.lat, req.lng)?;
    if villages::Entity::find()
        .filter(villages::Column::Name.eq(&name))
        .filter(villages::Column::Township.eq(&township))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            ErrorCode::VillageExists,
            format!("{township} {name} exists"),
        ));
    }
    let m = villages::ActiveModel {
        name: Set(name),
        township: Set(township),
        lat: Set(req.lat),
        lng: Set(req.lng),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(m.into())
}

pub async fn list_villages(db: &DatabaseConnection) -> AppResult<Vec<Village>> {
    Ok(villages::Entity::find()
        .order_by_asc(villages::Column::Township)
        .order_by_asc(villages::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub async fn village(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<villages::Model>> {
    Ok(villages::Entity::find_by_id(id).one(db).await?)
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct Word {
    pub word: String,
}

pub async fn add_word(db: &DatabaseConnection, word: &str, now: DateTime<Utc>) -> AppResult<()> {
    let word = text("word", word, 64)?;
    if sensitive_words::Entity::find()
        .filter(sensitive_words::Column::Word.eq(&word))
        .one(db)
        .await?
        .is_none()
    {
        sensitive_words::ActiveModel {
            word: Set(word),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

pub async fn remove_word(db: &DatabaseConnection, word: &str) -> AppResult<()> {
    let res = sensitive_words::Entity::delete_many()
        .filter(sensitive_words::Column::Word.eq(word.trim()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

pub async fn list_words(db: &impl ConnectionTrait) -> AppResult<Vec<String>> {
    Ok(sensitive_words::Entity::find()
        .order_by_asc(sensitive_words::Column::Word)
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.word)
        .collect())
}
