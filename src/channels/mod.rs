//! Channels: appeals that come in by the hotline, the mailbox, live sessions or other apps,
//! registered by the office on a resident's behalf or imported from another system's export,
//! into the same closed loop as mini-program appeals; claimed by the resident who verifies the
//! phone they were registered under.
pub mod decide;
pub mod import;
pub mod importer;
pub mod model;
pub mod routes;
pub mod store;
pub mod views;

pub use store::claim_appeals_for_verified_phone;

/// Verifying a phone claims the appeals the office registered under that number.
pub struct VerifiedPhoneClaims;

#[async_trait::async_trait]
impl crate::auth::phone::PhoneClaims for VerifiedPhoneClaims {
    async fn claim(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        cipher: &crate::crypto::DataCipher,
        user_id: i64,
        phone: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::error::AppResult<Vec<i64>> {
        store::claim_appeals_for_verified_phone(txn, cipher, user_id, phone, now).await
    }
}
