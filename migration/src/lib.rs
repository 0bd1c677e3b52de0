//! Schema migrations, written with the schema builder so one set runs on SQLite and PostgreSQL.
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;
mod m20261122_000002_board;
mod m20261122_000003_rota;
mod m20261122_000004_live_rooms;
mod m20261201_000005_masked_search_index;
mod m20261201_000006_one_rate_action;
mod m20261201_120001_user_token_version;
mod m20261201_220001_assisting_departments;
mod m20261201_230001_consultations;
mod m20261201_240001_wechat;
mod m20261201_250001_channels;
mod m20261201_260001_synonyms;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_foundation::Migration),
            Box::new(m20261122_000002_board::Migration),
            Box::new(m20261122_000003_rota::Migration),
            Box::new(m20261122_000004_live_rooms::Migration),
            Box::new(m20261201_000005_masked_search_index::Migration),
            Box::new(m20261201_120001_user_token_version::Migration),
            Box::new(m20261201_000006_one_rate_action::Migration),
            Box::new(m20261201_220001_assisting_departments::Migration),
            Box::new(m20261201_230001_consultations::Migration),
            Box::new(m20261201_240001_wechat::Migration),
            Box::new(m20261201_250001_channels::Migration),
            Box::new(m20261201_260001_synonyms::Migration),
        ]
    }
}
