//! `rate` is one action whatever the rating (issue 8, item 20): events written before under
//! `rate_satisfied`, `rate_basically_satisfied` or `rate_unsatisfied` take the one name. Their
//! `detail` already carries the rating, so nothing is lost.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppealEvents {
    Table,
    Action,
}

const OLD: [&str; 3] = [
    "rate_satisfied",
    "rate_basically_satisfied",
    "rate_unsatisfied",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let stmt = Query::update()
            .table(AppealEvents::Table)
            .value(AppealEvents::Action, "rate")
            .and_where(Expr::col(AppealEvents::Action).is_in(OLD))
            .to_owned();
        m.exec_stmt(stmt).await
    }

    /// The old names are not restored: the server no longer knows them.
    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
