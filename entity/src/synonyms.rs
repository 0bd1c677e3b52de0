use sea_orm::entity::prelude::*;

/// One entry of the synonym lexicon: `term` is scored as `canonical`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "synonyms")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub term: String,
    pub canonical: String,
    /// `seed` (the migration) or `admin`.
    pub source: String,
    pub created_by: Option<i64>,
    pub created_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
