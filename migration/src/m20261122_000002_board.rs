//! The message board: calendar, villages, categories, sensitive words, appeals, their event
//! log, search grams, idempotency keys and supervision notices.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CalendarDays {
    Table,
    Date,
    Kind,
    Name,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Villages {
    Table,
    Id,
    Name,
    Township,
    Lat,
    Lng,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    Name,
    DefaultDepartmentId,
    SuggestedUrgency,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SensitiveWords {
    Table,
    Id,
    Word,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Appeals {
    Table,
    Id,
    AuthorId,
    Title,
    Content,
    CategoryId,
    VillageId,
    Address,
    Lat,
    Lng,
    ContactPhoneEnc,
    IsPublic,
    State,
    OnBoard,
    BoardStatus,
    Urgency,
    LeadDepartmentId,
    AssistingDepartmentIds,
    DeadlineAt,
    AcceptedAt,
    AssignedAt,
    OverdueAt,
    EscalatedAt,
    ReopenCount,
    MasterId,
    ExtensionRequestedUntil,
    ExtensionReason,
    InfoQuestion,
    RejectReason,
    PublicReply,
    InternalNote,
    ReplyPrivate,
    RepliedAt,
    PublishedAt,
    Rating,
    Solved,
    RatingComment,
    RatedAt,
    ClosedAt,
    CloseReason,
    HoldReason,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppealEvents {
    Table,
    Id,
    AppealId,
    Action,
    FromState,
    ToState,
    ActorId,
    ActorRole,
    DepartmentId,
    Reason,
    Detail,
    Public,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppealGrams {
    Table,
    Gram,
    AppealId,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    UserId,
    Key,
    RequestHash,
    AppealId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SupervisionNotices {
    Table,
    Id,
    AppealId,
    DepartmentId,
    Level,
    DeadlineAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
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

fn index(name: &str, table: impl IntoIden + 'static, cols: Vec<Alias>) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CalendarDays::Table)
                .col(
                    ColumnDef::new(CalendarDays::Date)
                        .string_len(10)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(CalendarDays::Kind).string_len(16).not_null())
                .col(
                    ColumnDef::new(CalendarDays::Name)
                        .string_len(100)
                        .not_null(),
                )
                .col(ts(CalendarDays::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Villages::Table)
                .col(pk(Villages::Id))
                .col(ColumnDef::new(Villages::Name).string_len(64).not_null())
                .col(ColumnDef::new(Villages::Township).string_len(64).not_null())
                .col(ColumnDef::new(Villages::Lat).double().null())
                .col(ColumnDef::new(Villages::Lng).double().null())
                .col(ts(Villages::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_villages_township_name")
                .table(Villages::Table)
                .col(Villages::Township)
                .col(Villages::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Categories::Table)
                .col(pk(Categories::Id))
                .col(
                    ColumnDef::new(Categories::Name)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Categories::DefaultDepartmentId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Categories::SuggestedUrgency)
                        .string_len(16)
                        .null(),
                )
                .col(ts(Categories::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Categories::Table, Categories::DefaultDepartmentId)
                        .to(Departments::Table, Departments::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SensitiveWords::Table)
                .col(pk(SensitiveWords::Id))
                .col(
                    ColumnDef::new(SensitiveWords::Word)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ts(SensitiveWords::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Appeals::Table)
                .col(pk(Appeals::Id))
                .col(ColumnDef::new(Appeals::AuthorId).big_integer().not_null())
                .col(ColumnDef::new(Appeals::Title).string_len(200).not_null())
                .col(ColumnDef::new(Appeals::Content).text().not_null())
                .col(ColumnDef::new(Appeals::CategoryId).big_integer().not_null())
                .col(ColumnDef::new(Appeals::VillageId).big_integer().not_null())
                .col(ColumnDef::new(Appeals::Address).string_len(200).null())
                .col(ColumnDef::new(Appeals::Lat).double().null())
                .col(ColumnDef::new(Appeals::Lng).double().null())
                .col(ColumnDef::new(Appeals::ContactPhoneEnc).text().null())
                .col(ColumnDef::new(Appeals::IsPublic).boolean().not_null())
                .col(ColumnDef::new(Appeals::State).string_len(24).not_null())
                .col(ColumnDef::new(Appeals::OnBoard).boolean().not_null())
                .col(ColumnDef::new(Appeals::BoardStatus).string_len(16).null())
                .col(ColumnDef::new(Appeals::Urgency).string_len(16).null())
                .col(
                    ColumnDef::new(Appeals::LeadDepartmentId)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(Appeals::AssistingDepartmentIds)
                        .string_len(200)
                        .not_null(),
                )
                .col(ts_null(Appeals::DeadlineAt))
                .col(ts_null(Appeals::AcceptedAt))
                .col(ts_null(Appeals::AssignedAt))
                .col(ts_null(Appeals::OverdueAt))
                .col(ts_null(Appeals::EscalatedAt))
                .col(ColumnDef::new(Appeals::ReopenCount).integer().not_null())
                .col(ColumnDef::new(Appeals::MasterId).big_integer().null())
                .col(
                    ColumnDef::new(Appeals::ExtensionRequestedUntil)
                        .string_len(10)
                        .null(),
                )
                .col(ColumnDef::new(Appeals::ExtensionReason).text().null())
                .col(ColumnDef::new(Appeals::InfoQuestion).text().null())
                .col(ColumnDef::new(Appeals::RejectReason).text().null())
                .col(ColumnDef::new(Appeals::PublicReply).text().null())
                .col(ColumnDef::new(Appeals::InternalNote).text().null())
                .col(ColumnDef::new(Appeals::ReplyPrivate).boolean().not_null())
                .col(ts_null(Appeals::RepliedAt))
                .col(ts_null(Appeals::PublishedAt))
                .col(ColumnDef::new(Appeals::Rating).string_len(24).null())
                .col(ColumnDef::new(Appeals::Solved).boolean().null())
                .col(ColumnDef::new(Appeals::RatingComment).text().null())
                .col(ts_null(Appeals::RatedAt))
                .col(ts_null(Appeals::ClosedAt))
                .col(ColumnDef::new(Appeals::CloseReason).string_len(24).null())
                .col(ColumnDef::new(Appeals::HoldReason).text().null())
                .col(ColumnDef::new(Appeals::Version).integer().not_null())
                .col(ts(Appeals::CreatedAt))
                .col(ts(Appeals::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Appeals::Table, Appeals::AuthorId)
                        .to(Users::Table, Users::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Appeals::Table, Appeals::CategoryId)
                        .to(Categories::Table, Categories::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Appeals::Table, Appeals::VillageId)
                        .to(Villages::Table, Villages::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Appeals::Table, Appeals::LeadDepartmentId)
                        .to(Departments::Table, Departments::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            // The board reads newest first: (flag, id) lets both backends walk the index in
            // order instead of sorting every public appeal.
            ("idx_appeals_on_board", vec!["on_board", "id"]),
            ("idx_appeals_board_status", vec!["board_status", "id"]),
            ("idx_appeals_author", vec!["author_id", "id"]),
            ("idx_appeals_state", vec!["state", "id"]),
            (
                "idx_appeals_lead_department",
                vec!["lead_department_id", "state"],
            ),
            ("idx_appeals_deadline", vec!["deadline_at"]),
            ("idx_appeals_category", vec!["category_id", "id"]),
            ("idx_appeals_village", vec!["village_id", "id"]),
        ] {
            m.create_index(index(
                name,
                Appeals::Table,
                cols.into_iter().map(Alias::new).collect(),
            ))
            .await?;
        }
        m.create_table(
            Table::create()
                .table(AppealEvents::Table)
                .col(pk(AppealEvents::Id))
                .col(
                    ColumnDef::new(AppealEvents::AppealId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealEvents::Action)
                        .string_len(32)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealEvents::FromState)
                        .string_len(24)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealEvents::ToState)
                        .string_len(24)
                        .not_null(),
                )
                .col(ColumnDef::new(AppealEvents::ActorId).big_integer().null())
                .col(
                    ColumnDef::new(AppealEvents::ActorRole)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealEvents::DepartmentId)
                        .big_integer()
                        .null(),
                )
                .col(ColumnDef::new(AppealEvents::Reason).text().null())
                .col(ColumnDef::new(AppealEvents::Detail).text().null())
                .col(ColumnDef::new(AppealEvents::Public).boolean().not_null())
                .col(ts(AppealEvents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(AppealEvents::Table, AppealEvents::AppealId)
                        .to(Appeals::Table, Appeals::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_appeal_events_appeal",
            AppealEvents::Table,
            vec![Alias::new("appeal_id"), Alias::new("id")],
        ))
        .await?;
        m.create_index(index(
            "idx_appeal_events_action",
            AppealEvents::Table,
            vec![Alias::new("action"), Alias::new("created_at")],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(AppealGrams::Table)
                .col(ColumnDef::new(AppealGrams::Gram).string_len(16).not_null())
                .col(
                    ColumnDef::new(AppealGrams::AppealId)
                        .big_integer()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(AppealGrams::Gram)
                        .col(AppealGrams::AppealId),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(pk(IdempotencyKeys::Id))
                .col(
                    ColumnDef::new(IdempotencyKeys::UserId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IdempotencyKeys::Key)
                        .string_len(128)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IdempotencyKeys::RequestHash)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IdempotencyKeys::AppealId)
                        .big_integer()
                        .not_null(),
                )
                .col(ts(IdempotencyKeys::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_idempotency_user_key")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::UserId)
                .col(IdempotencyKeys::Key)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SupervisionNotices::Table)
                .col(pk(SupervisionNotices::Id))
                .col(
                    ColumnDef::new(SupervisionNotices::AppealId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(SupervisionNotices::DepartmentId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(SupervisionNotices::Level)
                        .string_len(16)
                        .not_null(),
                )
                .col(ts(SupervisionNotices::DeadlineAt))
                .col(ts(SupervisionNotices::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_supervision_appeal_level_deadline")
                .table(SupervisionNotices::Table)
                .col(SupervisionNotices::AppealId)
                .col(SupervisionNotices::Level)
                .col(SupervisionNotices::DeadlineAt)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SupervisionNotices::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            AppealGrams::Table.into_iden(),
            AppealEvents::Table.into_iden(),
            Appeals::Table.into_iden(),
            SensitiveWords::Table.into_iden(),
            Categories::Table.into_iden(),
            Villages::Table.into_iden(),
            CalendarDays::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
