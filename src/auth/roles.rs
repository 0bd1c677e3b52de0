//! Roles and what each endpoint admits.

/// Stored in `users.role` as a sea-orm active enum, so it is defined with the entity; its
/// spellings (serde, strum, the database) are one snake_case name.
pub use entity::users::Role;

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
