use sea_orm::entity::prelude::*;

/// Every submission of an opinion, append-only; the idempotency key of the request that made it
/// is unique per user, so a retried submission finds its version instead of adding one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultation_response_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub response_id: i64,
    pub consultation_id: i64,
    pub user_id: i64,
    pub version: i32,
    #[sea_orm(column_type = "Text")]
    pub answers: String,
    pub village_id: Option<i64>,
    pub idempotency_key: String,
    pub request_hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
