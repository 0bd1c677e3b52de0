use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leader_unavailable_dates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub leader_id: i64,
    /// Local (Asia/Shanghai) date `YYYY-MM-DD`.
    pub date: String,
    pub reason: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
