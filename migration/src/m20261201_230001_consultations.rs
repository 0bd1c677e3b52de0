//! Consultations (意见征集): the consultation with its frozen questions, its append-only event
//! log, residents' opinions (latest answers) and every version of them.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consultations {
    Table,
    Id,
    Title,
    Body,
    DepartmentId,
    OpensAt,
    ClosesAt,
    Scope,
    ResultsPublic,
    Questions,
    State,
    WithdrawReason,
    OutcomeStatement,
    OutcomePublishedAt,
    CreatedBy,
    Version,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum ConsultationEvents {
    Table,
    Id,
    ConsultationId,
    ResponseId,
    Action,
    FromState,
    ToState,
    ActorId,
    ActorRole,
    Reason,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ConsultationResponses {
    Table,
    Id,
    ConsultationId,
    UserId,
    VillageId,
    Answers,
    Version,
    Review,
    HoldReason,
    Outcome,
    OutcomeReason,
    Featured,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConsultationResponseVersions {
    Table,
    Id,
    ResponseId,
    ConsultationId,
    UserId,
    Version,
    Answers,
    VillageId,
    IdempotencyKey,
    RequestHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
}

fn pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

fn big_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().to_owned()
}

fn string(col: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().to_owned()
}

fn string_null(col: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).null().to_owned()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

fn index(name: &str, table: impl IntoIden + 'static, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Consultations::Table)
                .col(pk(Consultations::Id))
                .col(string(Consultations::Title, 200))
                .col(text(Consultations::Body))
                .col(big(Consultations::DepartmentId))
                .col(ts(Consultations::OpensAt))
                .col(ts(Consultations::ClosesAt))
                .col(text(Consultations::Scope))
                .col(
                    ColumnDef::new(Consultations::ResultsPublic)
                        .boolean()
                        .not_null(),
                )
                .col(text(Consultations::Questions))
                .col(string(Consultations::State, 16))
                .col(string_null(Consultations::WithdrawReason, 1000))
                .col(
                    ColumnDef::new(Consultations::OutcomeStatement)
                        .text()
                        .null(),
                )
                .col(ts_null(Consultations::OutcomePublishedAt))
                .col(big(Consultations::CreatedBy))
                .col(int(Consultations::Version))
                .col(ts(Consultations::CreatedAt))
                .col(ts(Consultations::UpdatedAt))
                .col(ts_null(Consultations::PublishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Consultations::Table, Consultations::DepartmentId)
                        .to(Departments::Table, Departments::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Consultations::Table, Consultations::CreatedBy)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_consultations_state_closes",
            Consultations::Table,
            &["state", "closes_at"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(ConsultationEvents::Table)
                .col(pk(ConsultationEvents::Id))
                .col(big(ConsultationEvents::ConsultationId))
                .col(big_null(ConsultationEvents::ResponseId))
                .col(string(ConsultationEvents::Action, 32))
                .col(string(ConsultationEvents::FromState, 32))
                .col(string(ConsultationEvents::ToState, 32))
                .col(big_null(ConsultationEvents::ActorId))
                .col(string(ConsultationEvents::ActorRole, 16))
                .col(string_null(ConsultationEvents::Reason, 1000))
                .col(ColumnDef::new(ConsultationEvents::Detail).text().null())
                .col(ts(ConsultationEvents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ConsultationEvents::Table,
                            ConsultationEvents::ConsultationId,
                        )
                        .to(Consultations::Table, Consultations::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_consultation_events_consultation",
            ConsultationEvents::Table,
            &["consultation_id", "id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(ConsultationResponses::Table)
                .col(pk(ConsultationResponses::Id))
                .col(big(ConsultationResponses::ConsultationId))
                .col(big(ConsultationResponses::UserId))
                .col(big_null(ConsultationResponses::VillageId))
                .col(text(ConsultationResponses::Answers))
                .col(int(ConsultationResponses::Version))
                .col(string(ConsultationResponses::Review, 16))
                .col(string_null(ConsultationResponses::HoldReason, 1000))
                .col(string_null(ConsultationResponses::Outcome, 16))
                .col(string_null(ConsultationResponses::OutcomeReason, 1000))
                .col(
                    ColumnDef::new(ConsultationResponses::Featured)
                        .boolean()
                        .not_null(),
                )
                .col(ts(ConsultationResponses::CreatedAt))
                .col(ts(ConsultationResponses::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ConsultationResponses::Table,
                            ConsultationResponses::ConsultationId,
                        )
                        .to(Consultations::Table, Consultations::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ConsultationResponses::Table, ConsultationResponses::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_consultation_responses_user",
                ConsultationResponses::Table,
                &["consultation_id", "user_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_consultation_responses_user",
            ConsultationResponses::Table,
            &["user_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(ConsultationResponseVersions::Table)
                .col(pk(ConsultationResponseVersions::Id))
                .col(big(ConsultationResponseVersions::ResponseId))
                .col(big(ConsultationResponseVersions::ConsultationId))
                .col(big(ConsultationResponseVersions::UserId))
                .col(int(ConsultationResponseVersions::Version))
                .col(text(ConsultationResponseVersions::Answers))
                .col(big_null(ConsultationResponseVersions::VillageId))
                .col(string(ConsultationResponseVersions::IdempotencyKey, 128))
                .col(string(ConsultationResponseVersions::RequestHash, 64))
                .col(ts(ConsultationResponseVersions::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ConsultationResponseVersions::Table,
                            ConsultationResponseVersions::ResponseId,
                        )
                        .to(ConsultationResponses::Table, ConsultationResponses::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_consultation_versions_key",
                ConsultationResponseVersions::Table,
                &["user_id", "idempotency_key"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_consultation_versions_response",
                ConsultationResponseVersions::Table,
                &["response_id", "version"],
            )
            .unique()
            .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ConsultationResponseVersions::Table.into_iden(),
            ConsultationResponses::Table.into_iden(),
            ConsultationEvents::Table.into_iden(),
            Consultations::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
