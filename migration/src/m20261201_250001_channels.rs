//! Channels and office intake: every appeal names the channel it came in by (existing ones came
//! from the mini-program); appeals registered by the office on a resident's behalf keep the
//! resident's name and phone (encrypted, with a keyed hash to find them by phone) and the other
//! system's reference; imports of hotline exports run as jobs whose progress can be read.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Appeals {
    Table,
    Channel,
}

#[derive(DeriveIden)]
enum AppealIntakes {
    Table,
    Id,
    AppealId,
    Channel,
    ExternalRef,
    ResidentNameEnc,
    PhoneEnc,
    PhoneHash,
    AppealHash,
    ContactHash,
    ReceivedAt,
    FiledBy,
    ImportJobId,
    ClaimedUserId,
    ClaimedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    Id,
    Channel,
    Format,
    DryRun,
    Status,
    RowsRead,
    Created,
    Updated,
    Unchanged,
    Refused,
    Report,
    Error,
    CreatedBy,
    CreatedAt,
    FinishedAt,
}

fn ts(col: impl IntoIden, null: bool) -> ColumnDef {
    let mut c = ColumnDef::new(col);
    c.timestamp_with_time_zone();
    if null {
        c.null();
    } else {
        c.not_null();
    }
    c.to_owned()
}

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .integer()
        .not_null()
        .default(0)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Appeals::Table)
                .add_column(
                    ColumnDef::new(Appeals::Channel)
                        .string_len(32)
                        .not_null()
                        .default("mini_program"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ImportJobs::Table)
                .col(
                    ColumnDef::new(ImportJobs::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(ImportJobs::Channel)
                        .string_len(32)
                        .not_null(),
                )
                .col(ColumnDef::new(ImportJobs::Format).string_len(8).not_null())
                .col(ColumnDef::new(ImportJobs::DryRun).boolean().not_null())
                .col(ColumnDef::new(ImportJobs::Status).string_len(16).not_null())
                .col(int(ImportJobs::RowsRead))
                .col(int(ImportJobs::Created))
                .col(int(ImportJobs::Updated))
                .col(int(ImportJobs::Unchanged))
                .col(int(ImportJobs::Refused))
                .col(ColumnDef::new(ImportJobs::Report).text().null())
                .col(ColumnDef::new(ImportJobs::Error).text().null())
                .col(
                    ColumnDef::new(ImportJobs::CreatedBy)
                        .big_integer()
                        .not_null(),
                )
                .col(ts(ImportJobs::CreatedAt, false))
                .col(ts(ImportJobs::FinishedAt, true))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AppealIntakes::Table)
                .col(
                    ColumnDef::new(AppealIntakes::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(AppealIntakes::AppealId)
                        .big_integer()
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(AppealIntakes::Channel)
                        .string_len(32)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealIntakes::ExternalRef)
                        .string_len(64)
                        .null(),
                )
                .col(
                    ColumnDef::new(AppealIntakes::ResidentNameEnc)
                        .text()
                        .not_null(),
                )
                .col(ColumnDef::new(AppealIntakes::PhoneEnc).text().not_null())
                .col(
                    ColumnDef::new(AppealIntakes::PhoneHash)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealIntakes::AppealHash)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealIntakes::ContactHash)
                        .string_len(64)
                        .not_null(),
                )
                .col(ts(AppealIntakes::ReceivedAt, true))
                .col(
                    ColumnDef::new(AppealIntakes::FiledBy)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealIntakes::ImportJobId)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(AppealIntakes::ClaimedUserId)
                        .big_integer()
                        .null(),
                )
                .col(ts(AppealIntakes::ClaimedAt, true))
                .col(ts(AppealIntakes::CreatedAt, false))
                .col(ts(AppealIntakes::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        // One appeal per reference and channel: resending or reimporting finds it again.
        m.create_index(
            Index::create()
                .name("ux_appeal_intakes_channel_ref")
                .table(AppealIntakes::Table)
                .col(AppealIntakes::Channel)
                .col(AppealIntakes::ExternalRef)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_appeal_intakes_phone_hash")
                .table(AppealIntakes::Table)
                .col(AppealIntakes::PhoneHash)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AppealIntakes::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ImportJobs::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Appeals::Table)
                .drop_column(Appeals::Channel)
                .to_owned(),
        )
        .await
    }
}
