use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_days")]
pub struct Model {
    /// ISO date `YYYY-MM-DD`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub date: String,
    pub kind: DayKind,
    pub name: String,
    pub updated_at: DateTimeUtc,
}

/// Whether a listed date is a day off or an extra working day; spelled so in CSV files, JSON
/// and the table.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DayKind {
    /// Public holiday: not a working day, even on a weekday.
    Holiday,
    /// Adjusted working day (调休): a working day, even on a weekend.
    Workday,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
