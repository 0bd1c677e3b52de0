use sea_orm::entity::prelude::*;

/// Append-only log of live-room events; `seq` is the room's own counter.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_room_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: i64,
    pub seq: i64,
    pub kind: String,
    /// The resident the event is about.
    pub subject_id: Option<i64>,
    /// Who caused it (None: the room's timers).
    pub actor_id: Option<i64>,
    pub detail: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
