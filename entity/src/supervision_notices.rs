use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supervision_notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub appeal_id: i64,
    pub department_id: i64,
    /// `overdue` or `escalated`.
    pub level: String,
    /// The deadline that was missed (a new deadline after an extension or reopen is a new case).
    pub deadline_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
