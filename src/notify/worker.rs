//! The worker that sends the outbox as WeChat subscription messages. Every instance runs one;
//! rows are claimed one by one (see [`super::store::claim`]), so each is sent by exactly one
//! worker, and a worker that dies mid-send leaves its rows to others when the lease runs out.
use std::time::Duration;

use entity::users;
use sea_orm::EntityTrait;
use serde_json::json;

use super::decide;
use super::model::Outcome;
use super::store::{self, Claimed, Finish};
use crate::error::AppResult;
use crate::state::AppState;
use crate::wechat::platform::Idempotent;

pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_millis(state.settings.wechat.notify_interval_ms.max(10));
    let worker = format!("{}:notify", state.instance_id);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = round(&state, &worker).await {
                tracing::error!(error = %format!("{e:#}"), "notification round failed");
            }
        }
    })
}

/// What one round did, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Claims and sends every due row it can; rows other workers hold are left to them.
pub async fn round(state: &AppState, worker: &str) -> AppResult<RoundReport> {
    let cfg = &state.settings.wechat;
    let kinds: Vec<String> = cfg
        .templates
        .iter()
        .filter(|(_, t)| !t.template_id.is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    let mut report = RoundReport::default();
    let now = state.clock.now();
    for (id, row_kind) in store::due(state, &kinds, now, cfg.notify_batch.max(1)).await? {
        let now = state.clock.now();
        let Some(template) = cfg.templates.get(&row_kind) else {
            continue;
        };
        let Some(c) = store::claim(
            state,
            id,
            worker,
            &template.template_id,
            now,
            cfg.notify_lease_secs,
        )
        .await?
        else {
            continue;
        };
        let outcome = send_one(state, worker, &c, template).await?;
        match outcome {
            Outcome::Sent => report.sent += 1,
            Outcome::Retry => report.retried += 1,
            Outcome::Failed => report.failed += 1,
            Outcome::Skipped => report.skipped += 1,
        }
    }
    Ok(report)
}

async fn send_one(
    state: &AppState,
    worker: &str,
    c: &Claimed,
    template: &crate::config::TemplateSettings,
) -> AppResult<Outcome> {
    let cfg = &state.settings.wechat;
    let tid = template.template_id.as_str();
    let done = |outcome, errcode, error: Option<String>, next| Finish {
        outcome,
        template_id: tid,
        errcode,
        error,
        next_attempt_at: next,
    };
    let now = state.clock.now();
    if c.consent_id.is_none() {
        store::finish(
            state,
            c,
            worker,
            done(Outcome::Skipped, None, Some("no_consent".into()), None),
            now,
        )
        .await?;
        return Ok(Outcome::Skipped);
    }
    let payload: serde_json::Value = serde_json::from_str(&c.row.payload).unwrap_or_default();
    let data = match decide::build_data(&template.fields, &payload) {
        Ok(d) => d,
        Err(why) => {
            store::finish(
                state,
                c,
                worker,
                done(Outcome::Failed, None, Some(why), None),
                now,
            )
            .await?;
            return Ok(Outcome::Failed);
        }
    };
    let Some(user) = users::Entity::find_by_id(c.row.user_id)
        .one(&state.db)
        .await?
    else {
        store::finish(
            state,
            c,
            worker,
            done(Outcome::Failed, None, Some("user_missing".into()), None),
            now,
        )
        .await?;
        return Ok(Outcome::Failed);
    };
    let body = json!({
        "touser": user.openid,
        "template_id": tid,
        "page": decide::page(&template.page, c.row.subject_id),
        "data": data,
        "miniprogram_state": cfg.miniprogram_state,
        "lang": "zh_CN",
    });
    let result = state
        .platform
        .call(
            "subscribe_send",
            "/cgi-bin/message/subscribe/send",
            &body,
            Idempotent::No,
        )
        .await;
    let now = state.clock.now();
    let (outcome, f) = match result {
        Ok(_) => (Outcome::Sent, done(Outcome::Sent, None, None, None)),
        Err(e) => {
            let (o, next) = decide::after_failure(
                &e,
                c.row.attempts,
                cfg.notify_max_attempts,
                cfg.notify_backoff_secs,
                now,
            );
            (o, done(o, e.errcode(), Some(e.to_string()), next))
        }
    };
    if !store::finish(state, c, worker, f, now).await? {
        tracing::warn!(
            notification_id = c.row.id,
            "notification lease lost before it was finished"
        );
    }
    tracing::info!(notification_id = c.row.id, kind = %c.row.kind, outcome = outcome.as_str(), attempt = c.row.attempts, "notification attempt");
    Ok(outcome)
}
