use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::users::Role;

/// What came of one resident's conversation in a session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_outcomes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: i64,
    pub resident_id: i64,
    pub outcome: OutcomeKind,
    pub note: Option<String>,
    /// The appeal filed on the resident's behalf, for `appeal`.
    pub appeal_id: Option<i64>,
    pub recorded_by: i64,
    pub recorder_role: Role,
    pub created_at: DateTimeUtc,
}

/// What came of a conversation.
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
pub enum OutcomeKind {
    /// Answered on the spot.
    Answered,
    /// Turned into an appeal on the resident's behalf.
    Appeal,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
