//! The duty rota: leader profiles and unavailable dates, rotas and their published versions,
//! live sessions with their event log, residents' registrations, conversation outcomes, and the
//! notification outbox.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Leaders {
    Table,
    UserId,
    DisplayName,
    Title,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LeaderUnavailableDates {
    Table,
    Id,
    LeaderId,
    Date,
    Reason,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Rotas {
    Table,
    Id,
    RangeStart,
    RangeEnd,
    Weekdays,
    StartTime,
    EndTime,
    Status,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum RotaVersions {
    Table,
    Id,
    RotaId,
    Version,
    PublishedBy,
    PublishedAt,
    Sessions,
}

#[derive(DeriveIden)]
enum LiveSessions {
    Table,
    Id,
    RotaId,
    LeaderId,
    LocalDate,
    StartsAt,
    EndsAt,
    Status,
    PublishedAt,
    PublishedVersion,
    Sequence,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LiveSessionEvents {
    Table,
    Id,
    SessionId,
    Action,
    FromStatus,
    ToStatus,
    ActorId,
    ActorRole,
    Reason,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LiveRegistrations {
    Table,
    Id,
    SessionId,
    UserId,
    Topic,
    Status,
    HoldReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LiveOutcomes {
    Table,
    Id,
    SessionId,
    ResidentId,
    Outcome,
    Note,
    AppealId,
    RecordedBy,
    RecorderRole,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    SubjectType,
    SubjectId,
    Payload,
    Status,
    Attempts,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Appeals {
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
                .table(Leaders::Table)
                .col(
                    ColumnDef::new(Leaders::UserId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(string(Leaders::DisplayName, 64))
                .col(string(Leaders::Title, 64))
                .col(ts(Leaders::CreatedAt))
                .col(ts(Leaders::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Leaders::Table, Leaders::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LeaderUnavailableDates::Table)
                .col(pk(LeaderUnavailableDates::Id))
                .col(big(LeaderUnavailableDates::LeaderId))
                .col(string(LeaderUnavailableDates::Date, 10))
                .col(
                    ColumnDef::new(LeaderUnavailableDates::Reason)
                        .string_len(200)
                        .null(),
                )
                .col(big_null(LeaderUnavailableDates::CreatedBy))
                .col(ts(LeaderUnavailableDates::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            LeaderUnavailableDates::Table,
                            LeaderUnavailableDates::LeaderId,
                        )
                        .to(Leaders::Table, Leaders::UserId),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_leader_unavailable_leader_date",
                LeaderUnavailableDates::Table,
                &["leader_id", "date"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Rotas::Table)
                .col(pk(Rotas::Id))
                .col(string(Rotas::RangeStart, 10))
                .col(string(Rotas::RangeEnd, 10))
                .col(string(Rotas::Weekdays, 32))
                .col(string(Rotas::StartTime, 5))
                .col(string(Rotas::EndTime, 5))
                .col(string(Rotas::Status, 16))
                .col(int(Rotas::Version))
                .col(big(Rotas::CreatedBy))
                .col(ts(Rotas::CreatedAt))
                .col(ts(Rotas::UpdatedAt))
                .col(ts_null(Rotas::PublishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Rotas::Table, Rotas::CreatedBy)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_rotas_range",
            Rotas::Table,
            &["status", "range_start", "range_end"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(RotaVersions::Table)
                .col(pk(RotaVersions::Id))
                .col(big(RotaVersions::RotaId))
                .col(int(RotaVersions::Version))
                .col(big(RotaVersions::PublishedBy))
                .col(ts(RotaVersions::PublishedAt))
                .col(int(RotaVersions::Sessions))
                .foreign_key(
                    ForeignKey::create()
                        .from(RotaVersions::Table, RotaVersions::RotaId)
                        .to(Rotas::Table, Rotas::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_rota_versions_rota_version",
                RotaVersions::Table,
                &["rota_id", "version"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LiveSessions::Table)
                .col(pk(LiveSessions::Id))
                .col(big(LiveSessions::RotaId))
                .col(big_null(LiveSessions::LeaderId))
                .col(string(LiveSessions::LocalDate, 10))
                .col(ts(LiveSessions::StartsAt))
                .col(ts(LiveSessions::EndsAt))
                .col(string(LiveSessions::Status, 16))
                .col(ts_null(LiveSessions::PublishedAt))
                .col(
                    ColumnDef::new(LiveSessions::PublishedVersion)
                        .integer()
                        .null(),
                )
                .col(int(LiveSessions::Sequence))
                .col(int(LiveSessions::Version))
                .col(ts(LiveSessions::CreatedAt))
                .col(ts(LiveSessions::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(LiveSessions::Table, LiveSessions::RotaId)
                        .to(Rotas::Table, Rotas::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(LiveSessions::Table, LiveSessions::LeaderId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("idx_live_sessions_rota", &["rota_id", "starts_at"][..]),
            ("idx_live_sessions_leader", &["leader_id", "starts_at"][..]),
            ("idx_live_sessions_status", &["status", "starts_at"][..]),
            ("idx_live_sessions_starts", &["starts_at"][..]),
        ] {
            m.create_index(index(name, LiveSessions::Table, cols))
                .await?;
        }
        m.create_table(
            Table::create()
                .table(LiveSessionEvents::Table)
                .col(pk(LiveSessionEvents::Id))
                .col(big(LiveSessionEvents::SessionId))
                .col(string(LiveSessionEvents::Action, 24))
                .col(string(LiveSessionEvents::FromStatus, 16))
                .col(string(LiveSessionEvents::ToStatus, 16))
                .col(big_null(LiveSessionEvents::ActorId))
                .col(string(LiveSessionEvents::ActorRole, 16))
                .col(ColumnDef::new(LiveSessionEvents::Reason).text().null())
                .col(ColumnDef::new(LiveSessionEvents::Detail).text().null())
                .col(ts(LiveSessionEvents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(LiveSessionEvents::Table, LiveSessionEvents::SessionId)
                        .to(LiveSessions::Table, LiveSessions::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_live_session_events_session",
            LiveSessionEvents::Table,
            &["session_id", "id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(LiveRegistrations::Table)
                .col(pk(LiveRegistrations::Id))
                .col(big(LiveRegistrations::SessionId))
                .col(big(LiveRegistrations::UserId))
                .col(ColumnDef::new(LiveRegistrations::Topic).text().not_null())
                .col(string(LiveRegistrations::Status, 16))
                .col(ColumnDef::new(LiveRegistrations::HoldReason).text().null())
                .col(ts(LiveRegistrations::CreatedAt))
                .col(ts(LiveRegistrations::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(LiveRegistrations::Table, LiveRegistrations::SessionId)
                        .to(LiveSessions::Table, LiveSessions::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(LiveRegistrations::Table, LiveRegistrations::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_live_registrations_session_user",
                LiveRegistrations::Table,
                &["session_id", "user_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_live_registrations_user",
            LiveRegistrations::Table,
            &["user_id", "id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(LiveOutcomes::Table)
                .col(pk(LiveOutcomes::Id))
                .col(big(LiveOutcomes::SessionId))
                .col(big(LiveOutcomes::ResidentId))
                .col(string(LiveOutcomes::Outcome, 16))
                .col(ColumnDef::new(LiveOutcomes::Note).text().null())
                .col(big_null(LiveOutcomes::AppealId))
                .col(big(LiveOutcomes::RecordedBy))
                .col(string(LiveOutcomes::RecorderRole, 16))
                .col(ts(LiveOutcomes::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(LiveOutcomes::Table, LiveOutcomes::SessionId)
                        .to(LiveSessions::Table, LiveSessions::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(LiveOutcomes::Table, LiveOutcomes::ResidentId)
                        .to(Users::Table, Users::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(LiveOutcomes::Table, LiveOutcomes::AppealId)
                        .to(Appeals::Table, Appeals::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_live_outcomes_session_resident",
                LiveOutcomes::Table,
                &["session_id", "resident_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(pk(Notifications::Id))
                .col(big(Notifications::UserId))
                .col(string(Notifications::Kind, 32))
                .col(string(Notifications::SubjectType, 32))
                .col(big(Notifications::SubjectId))
                .col(ColumnDef::new(Notifications::Payload).text().not_null())
                .col(string(Notifications::Status, 16))
                .col(int(Notifications::Attempts))
                .col(ts(Notifications::CreatedAt))
                .col(ts_null(Notifications::SentAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Notifications::Table, Notifications::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_notifications_status",
            Notifications::Table,
            &["status", "id"],
        ))
        .await?;
        m.create_index(index(
            "idx_notifications_user",
            Notifications::Table,
            &["user_id", "id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Notifications::Table.into_iden(),
            LiveOutcomes::Table.into_iden(),
            LiveRegistrations::Table.into_iden(),
            LiveSessionEvents::Table.into_iden(),
            LiveSessions::Table.into_iden(),
            RotaVersions::Table.into_iden(),
            Rotas::Table.into_iden(),
            LeaderUnavailableDates::Table.into_iden(),
            Leaders::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
