use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The notification outbox: rows are written in the transaction of the change they report and
/// sent later by a worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// e.g. `live_session_changed`.
    pub kind: String,
    /// e.g. `live_session`.
    pub subject_type: String,
    pub subject_id: i64,
    /// JSON for the message template.
    pub payload: String,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

/// Where an outbox row is.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
    utoipa::ToSchema,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum NotificationStatus {
    /// Written with its change, waiting for the sender.
    Pending,
    /// Handed to WeChat (the sender arrives with the notifications issue).
    Sent,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
