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

crate::stored_enum! {
    /// What came of a conversation.
    pub enum OutcomeKind {
        /// Answered on the spot.
        Answered,
        /// Turned into an appeal on the resident's behalf.
        Appeal,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
