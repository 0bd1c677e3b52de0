//! The log of live-room events: every queue action (join, call, defer, turn end…) with who did it.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LiveRoomEvents {
    Table,
    Id,
    SessionId,
    Seq,
    Kind,
    SubjectId,
    ActorId,
    Detail,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LiveRoomEvents::Table)
                .col(
                    ColumnDef::new(LiveRoomEvents::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(LiveRoomEvents::SessionId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(LiveRoomEvents::Seq).big_integer().not_null())
                .col(
                    ColumnDef::new(LiveRoomEvents::Kind)
                        .string_len(32)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(LiveRoomEvents::SubjectId)
                        .big_integer()
                        .null(),
                )
                .col(ColumnDef::new(LiveRoomEvents::ActorId).big_integer().null())
                .col(ColumnDef::new(LiveRoomEvents::Detail).text().not_null())
                .col(
                    ColumnDef::new(LiveRoomEvents::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_live_room_events_session_seq")
                .table(LiveRoomEvents::Table)
                .col(LiveRoomEvents::SessionId)
                .col(LiveRoomEvents::Seq)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LiveRoomEvents::Table).to_owned())
            .await
    }
}
