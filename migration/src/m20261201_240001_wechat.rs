//! WeChat platform services: the notification outbox gains what its worker needs (the next
//! attempt, the last error, the claim with its lease, the consent used); every attempt is a
//! row; residents' one-time subscription consents; and the verified phone number, encrypted
//! with a keyed hash for lookup.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    NextAttemptAt,
    LastError,
    ClaimedBy,
    ClaimedUntil,
    ConsentId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NotificationAttempts {
    Table,
    Id,
    NotificationId,
    Attempt,
    Worker,
    TemplateId,
    Outcome,
    Errcode,
    Error,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SubscriptionConsents {
    Table,
    Id,
    UserId,
    TemplateId,
    Status,
    NotificationId,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    PhoneEnc,
    PhoneHash,
    PhoneVerifiedAt,
}

fn pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn string(col: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().to_owned()
}

fn string_null(col: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).null().to_owned()
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
        // SQLite alters one column per statement.
        for col in [
            ts_null(Notifications::NextAttemptAt),
            string_null(Notifications::LastError, 300),
            string_null(Notifications::ClaimedBy, 80),
            ts_null(Notifications::ClaimedUntil),
            ColumnDef::new(Notifications::ConsentId)
                .big_integer()
                .null()
                .to_owned(),
            ts_null(Notifications::UpdatedAt),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(index(
            "idx_notifications_due",
            Notifications::Table,
            &["status", "next_attempt_at"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(NotificationAttempts::Table)
                .col(pk(NotificationAttempts::Id))
                .col(
                    ColumnDef::new(NotificationAttempts::NotificationId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(NotificationAttempts::Attempt)
                        .integer()
                        .not_null(),
                )
                .col(string(NotificationAttempts::Worker, 80))
                .col(string(NotificationAttempts::TemplateId, 128))
                .col(string(NotificationAttempts::Outcome, 16))
                .col(
                    ColumnDef::new(NotificationAttempts::Errcode)
                        .big_integer()
                        .null(),
                )
                .col(string_null(NotificationAttempts::Error, 300))
                .col(ts(NotificationAttempts::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            NotificationAttempts::Table,
                            NotificationAttempts::NotificationId,
                        )
                        .to(Notifications::Table, Notifications::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_notification_attempts_notification",
            NotificationAttempts::Table,
            &["notification_id", "id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(SubscriptionConsents::Table)
                .col(pk(SubscriptionConsents::Id))
                .col(
                    ColumnDef::new(SubscriptionConsents::UserId)
                        .big_integer()
                        .not_null(),
                )
                .col(string(SubscriptionConsents::TemplateId, 128))
                .col(string(SubscriptionConsents::Status, 16))
                .col(
                    ColumnDef::new(SubscriptionConsents::NotificationId)
                        .big_integer()
                        .null(),
                )
                .col(ts(SubscriptionConsents::CreatedAt))
                .col(ts_null(SubscriptionConsents::UsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(SubscriptionConsents::Table, SubscriptionConsents::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_subscription_consents_user",
            SubscriptionConsents::Table,
            &["user_id", "template_id", "status"],
        ))
        .await?;
        for col in [
            string_null(Users::PhoneEnc, 200),
            string_null(Users::PhoneHash, 64),
            ts_null(Users::PhoneVerifiedAt),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(index("idx_users_phone_hash", Users::Table, &["phone_hash"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_users_phone_hash").to_owned())
            .await?;
        for col in [
            Users::PhoneEnc.into_iden(),
            Users::PhoneHash.into_iden(),
            Users::PhoneVerifiedAt.into_iden(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(SubscriptionConsents::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(NotificationAttempts::Table).to_owned())
            .await?;
        m.drop_index(Index::drop().name("idx_notifications_due").to_owned())
            .await?;
        for col in [
            Notifications::NextAttemptAt.into_iden(),
            Notifications::LastError.into_iden(),
            Notifications::ClaimedBy.into_iden(),
            Notifications::ClaimedUntil.into_iden(),
            Notifications::ConsentId.into_iden(),
            Notifications::UpdatedAt.into_iden(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
