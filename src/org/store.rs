use chrono::{DateTime, Utc};
use entity::departments;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::error::ErrorCode;
use crate::error::{AppError, AppResult};

pub fn validate_name(name: &str) -> AppResult<String> {
    crate::board::service::checked_text("name", name, 100, false)
}

pub async fn create(
    db: &DatabaseConnection,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<departments::Model> {
    let name = validate_name(name)?;
    if departments::Entity::find()
        .filter(departments::Column::Name.eq(&name))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            ErrorCode::DepartmentExists,
            format!("a department named {name:?} already exists"),
        ));
    }
    Ok(departments::ActiveModel {
        name: Set(name),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<departments::Model>> {
    Ok(departments::Entity::find()
        .order_by_asc(departments::Column::Name)
        .all(db)
        .await?)
}
