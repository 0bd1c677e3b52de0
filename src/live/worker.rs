//! A socket's command worker: runs its room commands one at a time, off the socket's loop, and
//! answers each with the error to send, if any. Host rights and ending a session are checked
//! here, against the session as the rota knows it now.
use std::sync::Arc;
use std::time::Duration;

use super::directory::SessionDirectory;
use super::hub::ConnRole;
use super::protocol::ClientMsg;
use super::room::Command;
use super::store::{self, Broadcast, LiveError};
use super::ws::Ticket;
use crate::error::ErrorCode;
use crate::state::AppState;

/// The worker finished the client message numbered `.0`; with the error to answer, if any.
pub(super) type Reply = (u64, Option<(ErrorCode, String)>);

/// A command that cannot complete in this time is answered with an error (each broker call is
/// bounded too; this also covers compare-and-set retries and the database).
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the socket's room commands one at a time, in order, off the socket's loop; each
/// outcome goes back to the loop.
pub(super) async fn work(
    state: AppState,
    sessions: Arc<dyn SessionDirectory>,
    ticket: Ticket,
    mut commands: tokio::sync::mpsc::Receiver<(u64, ClientMsg)>,
    replies: tokio::sync::mpsc::Sender<Reply>,
) {
    while let Some((seq, msg)) = commands.recv().await {
        let outcome =
            tokio::time::timeout(COMMAND_TIMEOUT, dispatch(&state, &*sessions, &ticket, msg)).await;
        let err = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some((
                ErrorCode::BrokerUnavailable,
                "the room could not be reached in time; try again".to_string(),
            )),
        };
        if replies.send((seq, err)).await.is_err() {
            return;
        }
    }
}

async fn dispatch(
    state: &AppState,
    sessions: &dyn SessionDirectory,
    t: &Ticket,
    msg: ClientMsg,
) -> Result<(), (ErrorCode, String)> {
    let role = t.conn_role();
    let host_only = |r: ConnRole| {
        if r.is_host() {
            Ok(())
        } else {
            Err((
                ErrorCode::Forbidden,
                "only the session's hosts may do this".to_string(),
            ))
        }
    };
    let resident_only = |r: ConnRole| {
        if r == ConnRole::Resident {
            Ok(())
        } else {
            Err((ErrorCode::Forbidden, "only residents queue".to_string()))
        }
    };
    let cmd = match msg {
        // Answered by the socket's loop itself.
        ClientMsg::Ping {} | ClientMsg::Pong {} => return Ok(()),
        ClientMsg::Signal { payload } => return signal(state, sessions, t, payload).await,
        ClientMsg::Join { topic } => {
            resident_only(role)?;
            let registered = sessions
                .registered_topic(&state.db, t.session_id, t.user_id)
                .await
                .map_err(|e| (ErrorCode::InternalError, internal(e)))?;
            let topic = registered
                .clone()
                .or(topic.map(|s| s.chars().take(200).collect()));
            Command::Join {
                user_id: t.user_id,
                registered: registered.is_some(),
                topic,
            }
        }
        ClientMsg::Leave {} => {
            resident_only(role)?;
            Command::Leave { user_id: t.user_id }
        }
        ClientMsg::Confirm {} => {
            resident_only(role)?;
            Command::Confirm { user_id: t.user_id }
        }
        ClientMsg::CallNext {} => host_only(role).map(|_| Command::CallNext)?,
        ClientMsg::Call { user_id } => host_only(role).map(|_| Command::Call { user_id })?,
        ClientMsg::Skip {} => host_only(role).map(|_| Command::Skip)?,
        ClientMsg::Defer { user_id } => host_only(role).map(|_| Command::Defer { user_id })?,
        ClientMsg::Remove { user_id } => host_only(role).map(|_| Command::Remove { user_id })?,
        ClientMsg::Extend { secs } => host_only(role).map(|_| Command::Extend { secs })?,
        ClientMsg::Pause {} => host_only(role).map(|_| Command::Pause)?,
        ClientMsg::Resume {} => host_only(role).map(|_| Command::Resume)?,
        ClientMsg::EndTurn {} => host_only(role).map(|_| Command::EndTurn)?,
        ClientMsg::EndSession {} => {
            host_only(role)?;
            // The session's lifecycle owns ending: it checks who may, ends the record and
            // then the room, so the two never disagree.
            let actor = crate::auth::Caller {
                user_id: t.user_id,
                role: t.user_role,
                department_id: None,
            };
            return sessions
                .end(state, t.session_id, actor)
                .await
                .map_err(app_error);
        }
    };
    if cmd.is_host_command() {
        check_still_host(state, sessions, t).await?;
    }
    store::apply(state, t.session_id, cmd, Some(t.user_id))
        .await
        .map_err(live_error)?;
    Ok(())
}

/// Host rights follow the session's current leader, not the ticket: a leader reassigned
/// away loses them at once, whatever instance or socket they act through.
async fn check_still_host(
    state: &AppState,
    sessions: &dyn SessionDirectory,
    t: &Ticket,
) -> Result<(), (ErrorCode, String)> {
    if t.conn_role() != ConnRole::Leader {
        return Ok(());
    }
    if current_leader(state, sessions, t).await? == Some(t.user_id) {
        Ok(())
    } else {
        Err((
            ErrorCode::NotSessionLeader,
            "the session was reassigned: you no longer host it".into(),
        ))
    }
}

async fn current_leader(
    state: &AppState,
    sessions: &dyn SessionDirectory,
    t: &Ticket,
) -> Result<Option<i64>, (ErrorCode, String)> {
    sessions
        .session(&state.db, t.session_id)
        .await
        .map_err(app_error)
        .map(|s| s.and_then(|s| s.leader_id))
}

/// SDP and ICE go only between the leader and the resident on stage.
async fn signal(
    state: &AppState,
    sessions: &dyn SessionDirectory,
    t: &Ticket,
    payload: serde_json::Value,
) -> Result<(), (ErrorCode, String)> {
    let room = store::load(state, t.session_id)
        .await
        .map_err(live_error)?
        .ok_or_else(|| (ErrorCode::NotOnStage, "nobody is on stage".to_string()))?;
    let on_stage = room.on_stage();
    let leader = current_leader(state, sessions, t).await?;
    let (to, from) = match t.conn_role() {
        ConnRole::Leader if leader == Some(t.user_id) => (on_stage, "leader"),
        ConnRole::Resident if on_stage == Some(t.user_id) => (leader, "stage"),
        _ => (None, ""),
    };
    let to = to.ok_or_else(|| {
        (
            ErrorCode::NotOnStage,
            "signals pass only between the leader and the resident on stage".to_string(),
        )
    })?;
    store::publish(
        state,
        t.session_id,
        &Broadcast::Signal {
            to_user: to,
            from: from.into(),
            payload,
        },
    )
    .await
    .map_err(live_error)
}

fn internal(e: impl std::fmt::Display) -> String {
    tracing::error!(error = %e, "live room");
    "internal error".into()
}

fn live_error(e: LiveError) -> (ErrorCode, String) {
    match e {
        LiveError::Room(r) => (r.code(), r.to_string()),
        LiveError::Busy => (ErrorCode::Busy, e.to_string()),
        // The broker is down or stalled: the client may retry shortly (logged where it arose).
        LiveError::App(a @ crate::error::AppError::Unavailable { .. }) => (a.code(), a.to_string()),
        LiveError::App(a) => (ErrorCode::InternalError, internal(a)),
    }
}

fn app_error(e: crate::error::AppError) -> (ErrorCode, String) {
    match e {
        crate::error::AppError::Internal(inner) => {
            (ErrorCode::InternalError, internal(format!("{inner:#}")))
        }
        other => (other.code(), other.to_string()),
    }
}
