use sea_orm::entity::prelude::*;

/// One `accept` a resident's `wx.requestSubscribeMessage` returned: WeChat lets us send one
/// message of that template per accept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscription_consents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub template_id: String,
    /// `available` or `used`.
    pub status: String,
    pub notification_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
