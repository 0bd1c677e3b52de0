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

crate::stored_enum! {
    /// Whether a listed date is a day off or an extra working day; spelled so in CSV files, JSON
    /// and the table.
    pub enum DayKind {
        /// Public holiday: not a working day, even on a weekday.
        Holiday,
        /// Adjusted working day (调休): a working day, even on a weekend.
        Workday,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
