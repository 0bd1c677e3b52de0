use sea_orm::entity::prelude::*;

/// One attempt to send a notification, whatever its outcome.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub notification_id: i64,
    pub attempt: i32,
    pub worker: String,
    pub template_id: String,
    /// `sent`, `retry`, `failed` or `skipped`.
    pub outcome: String,
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
