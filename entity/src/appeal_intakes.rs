use sea_orm::entity::prelude::*;

/// An appeal the office registered on a resident's behalf (phone call, letter, import).
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "appeal_intakes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub appeal_id: i64,
    pub channel: String,
    /// The other system's reference (e.g. the 12345 ticket number); unique per channel.
    pub external_ref: Option<String>,
    /// AES-GCM ciphertext of the resident's name.
    pub resident_name_enc: String,
    /// AES-GCM ciphertext of the resident's phone.
    pub phone_enc: String,
    /// Keyed hash of the normalised phone, to find the appeals of a verified phone.
    pub phone_hash: String,
    /// Hash of the appeal's fields as registered, to tell a resend from a different appeal.
    pub appeal_hash: String,
    /// Hash of the resident's name and phone as registered.
    pub contact_hash: String,
    pub received_at: Option<DateTimeUtc>,
    pub filed_by: i64,
    pub import_job_id: Option<i64>,
    /// The resident who verified this phone and so owns the appeal now.
    pub claimed_user_id: Option<i64>,
    pub claimed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

// Hand-written so ciphertexts and hashes of personal data never reach a log line.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("appeal_intakes::Model")
            .field("id", &self.id)
            .field("appeal_id", &self.appeal_id)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
