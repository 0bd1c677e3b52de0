use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A resident's topic registered in advance for a session; one row per resident and session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_registrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: i64,
    pub user_id: i64,
    pub topic: String,
    pub status: RegistrationStatus,
    pub hold_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

crate::stored_enum! {
    /// Where a registration is. `held` waits for the office after the content check flagged the
    /// topic.
    pub enum RegistrationStatus {
        Registered,
        Held,
        Cancelled,
        Rejected,
    }
}

impl RegistrationStatus {
    /// Registrations that hold a place (and are told about changes).
    pub const ACTIVE: [Self; 2] = [Self::Registered, Self::Held];
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
