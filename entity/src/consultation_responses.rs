use sea_orm::entity::prelude::*;

/// A resident's opinion on a consultation: one row per resident and consultation holding the
/// latest answers; every version is kept in `consultation_response_versions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultation_responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub consultation_id: i64,
    pub user_id: i64,
    pub village_id: Option<i64>,
    /// JSON object of the latest answers, keyed by question id.
    #[sea_orm(column_type = "Text")]
    pub answers: String,
    /// Number of the latest version (1 for the first submission).
    pub version: i32,
    /// Review of the free text: `visible`, `held` (content check) or `rejected`.
    pub review: String,
    pub hold_reason: Option<String>,
    /// `adopted`, `partly_adopted` or `noted`, once staff decide.
    pub outcome: Option<String>,
    pub outcome_reason: Option<String>,
    /// Staff published this opinion's text (masked) for residents to read.
    pub featured: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
