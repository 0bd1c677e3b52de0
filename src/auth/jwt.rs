//! Short-lived access tokens (HS256). Expiry is checked against the app clock, not the system
//! clock, so tests can age tokens.
use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::roles::Role;
use crate::config::Secret;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dept: Option<i64>,
    /// The user's token version at issue; tokens from before versions existed count as 0.
    #[serde(default)]
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

const ISSUER: &str = "minxin";

pub struct JwtKeys {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &Secret) -> Self {
        Self {
            enc: EncodingKey::from_secret(secret.expose().as_bytes()),
            dec: DecodingKey::from_secret(secret.expose().as_bytes()),
        }
    }

    pub fn issue(
        &self,
        user_id: i64,
        role: Role,
        dept: Option<i64>,
        ver: i32,
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            dept,
            ver,
            iat: now.timestamp(),
            exp: now.timestamp() + ttl_secs,
            iss: ISSUER.into(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
    }

    /// `None` for anything not issued by us, tampered with, or expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "sub", "iss"]);
        let claims = decode::<Claims>(token, &self.dec, &v).ok()?.claims;
        (claims.exp > now.timestamp()).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_verifies_and_expires() {
        let keys = JwtKeys::new(&Secret::new("x".repeat(40)));
        let now = Utc::now();
        let t = keys.issue(7, Role::Handler, Some(3), 4, now, 60).unwrap();
        let c = keys.verify(&t, now).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.role, c.dept, c.ver),
            ("7", Role::Handler, Some(3), 4)
        );
        assert!(keys
            .verify(&t, now + chrono::Duration::seconds(61))
            .is_none());
        let other = JwtKeys::new(&Secret::new("y".repeat(40)));
        assert!(other.verify(&t, now).is_none(), "foreign signature");
        assert!(keys.verify("not.a.jwt", now).is_none());
    }
}
