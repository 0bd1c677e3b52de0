//! The admin-maintained holiday table.
use chrono::{DateTime, NaiveDate, Utc};
use entity::calendar_days;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

use super::workdays::{parse_csv, CalendarDay, DayKind, WorkCalendar};
use crate::error::{AppError, AppResult};

fn to_day(m: calendar_days::Model) -> Option<CalendarDay> {
    Some(CalendarDay {
        date: NaiveDate::parse_from_str(&m.date, "%Y-%m-%d").ok()?,
        kind: m.kind,
        name: m.name,
    })
}

/// The calendar as it stands; small (a few dozen rows a year), so read whole.
pub async fn load(db: &impl ConnectionTrait) -> AppResult<WorkCalendar> {
    Ok(WorkCalendar::new(list(db, None).await?))
}

pub async fn list(db: &impl ConnectionTrait, year: Option<i32>) -> AppResult<Vec<CalendarDay>> {
    let mut q = calendar_days::Entity::find().order_by_asc(calendar_days::Column::Date);
    if let Some(y) = year {
        q = q.filter(calendar_days::Column::Date.starts_with(format!("{y:04}-")));
    }
    Ok(q.all(db).await?.into_iter().filter_map(to_day).collect())
}

pub async fn upsert<C: ConnectionTrait>(
    db: &C,
    days: &[CalendarDay],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    for chunk in days.chunks(200) {
        let rows = chunk.iter().map(|d| calendar_days::ActiveModel {
            date: Set(d.date.format("%Y-%m-%d").to_string()),
            kind: Set(d.kind),
            name: Set(d.name.clone()),
            updated_at: Set(now),
        });
        calendar_days::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(calendar_days::Column::Date)
                    .update_columns([
                        calendar_days::Column::Kind,
                        calendar_days::Column::Name,
                        calendar_days::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(days.len())
}

pub async fn set_day(
    db: &impl ConnectionTrait,
    date: NaiveDate,
    kind: DayKind,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<CalendarDay> {
    let name = name.trim();
    if name.chars().count() > 100 {
        return Err(AppError::validation("name", "at most 100 characters"));
    }
    let day = CalendarDay {
        date,
        kind,
        name: name.into(),
    };
    upsert(db, std::slice::from_ref(&day), now).await?;
    Ok(day)
}

pub async fn delete_day(db: &impl ConnectionTrait, date: NaiveDate) -> AppResult<()> {
    let res = calendar_days::Entity::delete_by_id(date.format("%Y-%m-%d").to_string())
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Imports `date,kind,name` CSV all or nothing: one bad line rejects the file, naming the line.
/// The server's path, under the SQLite write gate.
pub async fn import(state: &crate::state::AppState, text: &str) -> AppResult<usize> {
    let days = parse_csv(text).map_err(|e| AppError::validation("csv", e.to_string()))?;
    let w = crate::db::begin_write(state).await?;
    let n = upsert(&w.txn, &days, state.clock.now()).await?;
    w.commit().await?;
    tracing::info!(days = n, "calendar imported");
    Ok(n)
}

/// Like [`import`], for seeding demo data before the server (and its write gate) exists.
pub async fn import_csv<C: TransactionTrait>(
    db: &C,
    text: &str,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let days = parse_csv(text).map_err(|e| AppError::validation("csv", e.to_string()))?;
    let txn = db.begin().await?;
    let n = upsert(&txn, &days, now).await?;
    txn.commit().await?;
    tracing::info!(days = n, "calendar imported");
    Ok(n)
}

/// Shipped with the project for demo data and tests: the official 2025–2026 notices.
pub const CN_2025_2026: &str = include_str!("../../tests/data/cn-2025-2026.csv");
