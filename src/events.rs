//! The one event writer: every state change of an appeal or a session appends one row (who,
//! when, what, from which state to which, why) to its table's log, inside the transaction of the
//! change. Each log table says how an [`Event`] becomes its row ([`EventTable`]); the capability
//! that owns the table implements it, so this file knows no capability.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
};

use crate::error::AppResult;

/// Who did it, as a log records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor<'a> {
    /// `None` for the system (timers, background rounds).
    pub user_id: Option<i64>,
    /// A role name, or `system`.
    pub role: &'a str,
    pub department_id: Option<i64>,
}

impl Actor<'_> {
    pub const SYSTEM: Actor<'static> = Actor {
        user_id: None,
        role: "system",
        department_id: None,
    };
}

/// One change of one subject (an appeal, a session).
#[derive(Clone, Debug)]
pub struct Event<'a, S, A> {
    pub subject_id: i64,
    pub action: A,
    pub from: S,
    pub to: S,
    pub actor: Actor<'a>,
    pub reason: Option<String>,
    /// Action-specific facts, stored as JSON text.
    pub detail: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

/// An append-only log table: how an event becomes its row.
pub trait EventTable: ActiveModelTrait + ActiveModelBehavior + Send
where
    <Self::Entity as EntityTrait>::Model: IntoActiveModel<Self>,
{
    type State;
    type Action;
    fn row(event: Event<'_, Self::State, Self::Action>) -> Self;
}

/// Appends one event, inside the caller's transaction.
pub async fn append<T>(
    db: &impl ConnectionTrait,
    event: Event<'_, T::State, T::Action>,
) -> AppResult<()>
where
    T: EventTable,
    <T::Entity as EntityTrait>::Model: IntoActiveModel<T>,
{
    T::row(event).insert(db).await?;
    Ok(())
}
