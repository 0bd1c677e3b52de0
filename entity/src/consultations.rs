use sea_orm::entity::prelude::*;

/// A consultation (意见征集) put to residents for a period. Questions are frozen once published.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub department_id: i64,
    pub opens_at: DateTimeUtc,
    pub closes_at: DateTimeUtc,
    /// JSON `{"townships": [...], "village_ids": [...]}`; both empty: the whole county.
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    pub results_public: bool,
    /// JSON array of questions, as authored.
    #[sea_orm(column_type = "Text")]
    pub questions: String,
    /// `draft`, `published` or `withdrawn`.
    pub state: String,
    pub withdraw_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub outcome_statement: Option<String>,
    pub outcome_published_at: Option<DateTimeUtc>,
    pub created_by: i64,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
