//! Reading the outbox: counts per kind and status for operators and metrics, recent failures
//! with their reason, and what a resident will be notified of.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::{notifications, subscription_consents};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{consent, Status};
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct OutboxCount {
    pub kind: String,
    /// The configured template, empty when none is (such rows wait until one is).
    pub template_id: String,
    pub status: String,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct FailedNotification {
    pub id: i64,
    pub kind: String,
    pub status: Status,
    pub attempts: i32,
    /// Why the last attempt failed (`no_consent`, `WeChat error 43101: …`, …).
    pub last_error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct Outbox {
    pub counts: Vec<OutboxCount>,
    /// The 50 latest rows that failed or were skipped, newest first.
    pub recent_failures: Vec<FailedNotification>,
}

pub async fn counts(state: &AppState) -> AppResult<Vec<OutboxCount>> {
    let rows: Vec<(String, String, i64)> = notifications::Entity::find()
        .select_only()
        .column(notifications::Column::Kind)
        .column(notifications::Column::Status)
        .column_as(notifications::Column::Id.count(), "n")
        .group_by(notifications::Column::Kind)
        .group_by(notifications::Column::Status)
        .into_tuple()
        .all(&state.db)
        .await?;
    let templates = &state.settings.wechat.templates;
    Ok(rows
        .into_iter()
        .map(|(kind, status, n)| OutboxCount {
            template_id: templates
                .get(&kind)
                .map(|t| t.template_id.clone())
                .unwrap_or_default(),
            kind,
            status,
            count: n.max(0).unsigned_abs(),
        })
        .collect())
}

pub async fn outbox(state: &AppState) -> AppResult<Outbox> {
    let failed = notifications::Entity::find()
        .filter(notifications::Column::Status.is_in([Status::Failed, Status::Skipped]))
        .order_by_desc(notifications::Column::Id)
        .limit(50)
        .all(&state.db)
        .await?;
    Ok(Outbox {
        counts: counts(state).await?,
        recent_failures: failed
            .into_iter()
            .map(|r| FailedNotification {
                id: r.id,
                kind: r.kind,
                status: r.status,
                attempts: r.attempts,
                last_error: r.last_error,
                updated_at: r.updated_at,
            })
            .collect(),
    })
}

/// The outbox as Prometheus gauges (`minxin_notifications{kind,template,status}`), derived
/// from the rows at scrape time.
pub async fn metrics_text(state: &AppState) -> AppResult<String> {
    use prometheus::{Encoder, IntGaugeVec, Opts, Registry};
    let counts = counts(state).await?;
    let text = (|| -> Result<String, prometheus::Error> {
        let registry = Registry::new_custom(Some("minxin".into()), None)?;
        let gauge = IntGaugeVec::new(
            Opts::new(
                "notifications",
                "Notification outbox rows by kind, template and status",
            ),
            &["kind", "template", "status"],
        )?;
        registry.register(Box::new(gauge.clone()))?;
        for c in &counts {
            gauge
                .with_label_values(&[&c.kind, &c.template_id, &c.status])
                .set(i64::try_from(c.count).unwrap_or(i64::MAX));
        }
        let mut buf = Vec::new();
        prometheus::TextEncoder::new().encode(&registry.gather(), &mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    })();
    text.map_err(crate::error::AppError::internal)
}

#[derive(Serialize, ToSchema)]
pub struct Subscription {
    /// The notification kind (`appeal_replied`, …).
    pub kind: String,
    pub template_id: String,
    /// Messages of this template that can still be sent to you: one per `accept`.
    pub available: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Subscriptions {
    pub items: Vec<Subscription>,
}

/// Every configured notification and how many of each the resident will still receive.
pub async fn subscriptions(state: &AppState, user_id: i64) -> AppResult<Subscriptions> {
    let mut available: BTreeMap<String, u64> = BTreeMap::new();
    for t in state.settings.wechat.templates.values() {
        if t.template_id.is_empty() || available.contains_key(&t.template_id) {
            continue;
        }
        let n = subscription_consents::Entity::find()
            .filter(subscription_consents::Column::UserId.eq(user_id))
            .filter(subscription_consents::Column::TemplateId.eq(t.template_id.as_str()))
            .filter(subscription_consents::Column::Status.eq(consent::AVAILABLE))
            .count(&state.db)
            .await?;
        available.insert(t.template_id.clone(), n);
    }
    Ok(Subscriptions {
        items: state
            .settings
            .wechat
            .templates
            .iter()
            .filter(|(_, t)| !t.template_id.is_empty())
            .map(|(kind, t)| Subscription {
                kind: kind.clone(),
                template_id: t.template_id.clone(),
                available: available.get(&t.template_id).copied().unwrap_or(0),
            })
            .collect(),
    })
}
