//! The synonym lexicon of duplicate suggestions: `term` is scored as `canonical`. Filled here
//! from `migration/seed/synonyms.txt` (source `seed`); admins add (`admin`) and remove rows.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Synonyms {
    Table,
    Id,
    Term,
    Canonical,
    Source,
    CreatedBy,
    CreatedAt,
}

const SEED: &str = include_str!("../seed/synonyms.txt");

/// (term, canonical) of the seed file: one group per line, the first word canonical; a term
/// met again keeps its first line (as `minxin::similar::lexicon::parse_groups` reads it).
fn seed_pairs() -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in SEED.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(head) = words.next() else { continue };
        seen.insert(head.to_owned());
        for w in words {
            if w != head && seen.insert(w.to_owned()) {
                out.push((w.to_lowercase(), head.to_lowercase()));
            }
        }
    }
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Synonyms::Table)
                .col(
                    ColumnDef::new(Synonyms::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Synonyms::Term)
                        .string_len(80)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Synonyms::Canonical)
                        .string_len(80)
                        .not_null(),
                )
                .col(ColumnDef::new(Synonyms::Source).string_len(8).not_null())
                .col(ColumnDef::new(Synonyms::CreatedBy).big_integer().null())
                .col(
                    ColumnDef::new(Synonyms::CreatedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        for chunk in seed_pairs().chunks(100) {
            let mut q = Query::insert();
            q.into_table(Synonyms::Table).columns([
                Synonyms::Term,
                Synonyms::Canonical,
                Synonyms::Source,
            ]);
            for (term, canonical) in chunk {
                q.values([
                    term.as_str().into(),
                    canonical.as_str().into(),
                    "seed".into(),
                ])
                .map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            m.exec_stmt(q).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Synonyms::Table).to_owned())
            .await
    }
}
