use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The duty rota of one date range.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rotas")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Local dates `YYYY-MM-DD`, both ends included.
    pub range_start: String,
    pub range_end: String,
    /// Comma-separated lowercase weekdays, e.g. `tue,thu`.
    pub weekdays: String,
    /// Local `HH:MM`.
    pub start_time: String,
    pub end_time: String,
    pub status: RotaStatus,
    /// How many times it was published; 0 for a draft never published.
    pub version: i32,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

crate::stored_enum! {
    /// `draft` until first published; `discarded` drafts free their range for a new generation.
    pub enum RotaStatus {
        Draft,
        Published,
        Discarded,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
