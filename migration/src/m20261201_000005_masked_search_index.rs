//! The search index held grams of the unmasked text, so a search could confirm a phone or ID
//! number the board hides. This empties it (the server rebuilds it from the masked text at
//! start: `board::reindex`) and indexes it by appeal, which that rebuild and every reindexing
//! of one appeal look up.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppealGrams {
    Table,
    AppealId,
}

const INDEX: &str = "idx_appeal_grams_appeal";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.exec_stmt(Query::delete().from_table(AppealGrams::Table).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(AppealGrams::Table)
                .col(AppealGrams::AppealId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(AppealGrams::Table)
                .to_owned(),
        )
        .await
    }
}
