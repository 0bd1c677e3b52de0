use sea_orm::entity::prelude::*;

/// Append-only: one row per publication of a rota.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rota_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub rota_id: i64,
    pub version: i32,
    pub published_by: i64,
    pub published_at: DateTimeUtc,
    /// Sessions first published by this version.
    pub sessions: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
