use sea_orm::entity::prelude::*;

/// The departments assisting an appeal's lead department (协办), in the order the office named
/// them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appeal_assisting_departments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appeal_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub department_id: i64,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
