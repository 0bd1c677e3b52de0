use sea_orm::entity::prelude::*;

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
    /// `draft`, `published` or `discarded`.
    pub status: String,
    /// How many times it was published; 0 for a draft never published.
    pub version: i32,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
