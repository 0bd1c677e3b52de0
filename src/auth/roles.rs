//! Roles and what each endpoint admits.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Resident,
        Role::Handler,
        Role::Leader,
        Role::Office,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Handler => "handler",
            Role::Leader => "leader",
            Role::Office => "office",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug)]
pub enum Access {
    Public,
    /// Any logged-in user, whatever the role.
    Authenticated,
    Roles(&'static [Role]),
}

impl Access {
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Public | Access::Authenticated => true,
            Access::Roles(rs) => rs.contains(&role),
        }
    }
}

pub const ADMIN: Access = Access::Roles(&[Role::Admin]);
pub const OFFICE: Access = Access::Roles(&[Role::Office, Role::Admin]);
