use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub openid: String,
    pub unionid: Option<String>,
    pub role: Role,
    pub department_id: Option<i64>,
    pub display_name: Option<String>,
    /// AES-GCM ciphertext of WeChat's session_key; never leaves the server.
    pub session_key_enc: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
    /// Bumped by logout, a reused refresh token and role changes; access tokens carry the
    /// version they were issued under and stop working once it moves on.
    pub token_version: i32,
    /// AES-GCM ciphertext of the phone number WeChat verified (`getuserphonenumber`).
    pub phone_enc: Option<String>,
    /// Keyed hash (HMAC-SHA256, hex) of the verified number, to find users by phone.
    pub phone_hash: Option<String>,
    pub phone_verified_at: Option<DateTimeUtc>,
}

// Hand-written so the encrypted session key and the openid never reach a log line.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("users::Model")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("department_id", &self.department_id)
            .finish_non_exhaustive()
    }
}

crate::stored_enum! {
    /// What a user may do; stored as its snake_case name.
    pub enum Role {
        /// Default for everyone who logs in through WeChat.
        Resident,
        /// Staff of a department (承办单位); always bound to one department.
        Handler,
        /// County leader hosting live sessions.
        Leader,
        /// Office staff of the online mass-work centre: accept, assign, review.
        Office,
        /// Office staff with admin rights: everything office does, plus rota, categories,
        /// departments, calendar and staff invitations.
        Admin,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
