//! WeChat calls that need the access token, for every instance at once: the token lives in the
//! broker, one caller per process refreshes it (a local single-flight lock) and one per
//! deployment (a broker lease only its holder releases, expiring on its own if the holder
//! dies); everyone else waits, bounded by `token_wait_ms`, or keeps using a token that is still
//! valid. Refused tokens are refreshed only when the cache still holds the refused one, and the
//! call is retried once. `-1` is retried with backoff only for idempotent calls; 45009/45011
//! open a breaker; configuration errors are remembered for `/readyz` and metrics.
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};
use serde_json::Value;

use super::client::{WechatClient, WechatError};
use super::decide::{self, CachedToken, ForceRefused};
use crate::broker::{BrokerError, SharedBroker};
use crate::clock::SharedClock;
use crate::config::{Secret, WechatSettings};

const TOKEN_KEY: &str = "wechat:access_token";
const LEASE: &str = "wechat:token_refresh";
const CONFIG_ERROR_KEY: &str = "wechat:config_error";

/// Whether a call may be repeated without effect (WeChat answered -1: it may or may not have
/// acted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotent {
    Yes,
    No,
}

pub struct Platform {
    client: WechatClient,
    broker: SharedBroker,
    clock: SharedClock,
    settings: WechatSettings,
    holder: String,
    local: tokio::sync::Mutex<()>,
    config_error: AtomicI64,
    metrics: PlatformMetrics,
}

struct PlatformMetrics {
    refreshes: IntCounterVec,
    errors: IntCounterVec,
    config_error: IntGauge,
}

fn broker_err(e: BrokerError) -> WechatError {
    WechatError::Unavailable(format!("broker: {e}"))
}

impl Platform {
    pub fn new(
        client: WechatClient,
        broker: SharedBroker,
        clock: SharedClock,
        settings: &WechatSettings,
        instance_id: &str,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let refreshes = IntCounterVec::new(
            Opts::new(
                "wechat_token_refreshes_total",
                "Access token fetches by mode (normal, force) and outcome",
            ),
            &["mode", "outcome"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "wechat_errors_total",
                "WeChat call failures by API and errcode",
            ),
            &["api", "errcode"],
        )?;
        let config_error = IntGauge::new(
            "wechat_config_error",
            "The last configuration errcode WeChat answered (40013, 40125, 40164, 40243), 0 when none",
        )?;
        registry.register(Box::new(refreshes.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(config_error.clone()))?;
        Ok(Self {
            client,
            broker,
            clock,
            settings: settings.clone(),
            holder: format!("{instance_id}:{}", uuid::Uuid::new_v4().simple()),
            local: tokio::sync::Mutex::new(()),
            config_error: AtomicI64::new(0),
            metrics: PlatformMetrics {
                refreshes,
                errors,
                config_error,
            },
        })
    }

    /// The configuration errcode WeChat last answered, if the last token fetch failed on it.
    pub fn config_error(&self) -> Option<i64> {
        Some(self.config_error.load(Ordering::Relaxed)).filter(|c| *c != 0)
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    fn wait(&self) -> Duration {
        Duration::from_millis(self.settings.token_wait_ms.max(1))
    }

    async fn cached(&self) -> Result<Option<CachedToken>, WechatError> {
        let raw = self.broker.get(TOKEN_KEY).await.map_err(broker_err)?;
        Ok(raw.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// The shared access token; a clear error within `token_wait_ms`, never a hang.
    pub async fn token(&self) -> Result<Secret, WechatError> {
        self.token_replacing(None).await
    }

    async fn token_replacing(&self, failed: Option<&str>) -> Result<Secret, WechatError> {
        let now = self.now();
        if let Some(c) = self.cached().await? {
            if decide::fresh(&c, failed, now, self.settings.token_refresh_ahead_secs) {
                return Ok(Secret::new(c.token));
            }
        }
        tokio::time::timeout(self.wait(), self.refresh_or_wait(failed))
            .await
            .map_err(|_| WechatError::Unavailable("no access token within token_wait_ms".into()))?
    }

    async fn refresh_or_wait(&self, failed: Option<&str>) -> Result<Secret, WechatError> {
        // One refresh per process: the others queue here and then find the new token.
        let _local = self.local.lock().await;
        let ahead = self.settings.token_refresh_ahead_secs;
        let lease_ttl = Duration::from_millis(
            self.settings
                .timeout_ms
                .saturating_mul(3 + u64::from(self.settings.busy_retries))
                .max(2_000),
        );
        loop {
            let cached = self.cached().await?;
            let now = self.now();
            if let Some(c) = &cached {
                if decide::fresh(c, failed, now, ahead) {
                    return Ok(Secret::new(c.token.clone()));
                }
            }
            if let Some(code) = self.config_error_shared().await? {
                return Err(WechatError::Other {
                    errcode: code,
                    errmsg: "WeChat refused our configuration; not retried until breaker_secs pass"
                        .into(),
                });
            }
            let leased = self
                .broker
                .try_lease(LEASE, &self.holder, lease_ttl)
                .await
                .map_err(broker_err)?;
            if leased {
                let result = self.refresh_under_lease(failed).await;
                if let Err(e) = self.broker.release_lease(LEASE, &self.holder).await {
                    tracing::warn!(error = %e, "cannot release the token lease; it expires");
                }
                return result;
            }
            // Another instance is refreshing: a still-valid token serves meanwhile.
            if let Some(c) = cached.filter(|c| decide::valid(c, failed, now)) {
                return Ok(Secret::new(c.token));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn config_error_shared(&self) -> Result<Option<i64>, WechatError> {
        let raw = self
            .broker
            .get(CONFIG_ERROR_KEY)
            .await
            .map_err(broker_err)?;
        Ok(raw
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok()))
    }

    async fn refresh_under_lease(&self, failed: Option<&str>) -> Result<Secret, WechatError> {
        let now = self.now();
        let cached = self.cached().await?;
        // Someone replaced the refused token between our read and the lease.
        if let Some(c) = &cached {
            if decide::fresh(c, failed, now, self.settings.token_refresh_ahead_secs) {
                return Ok(Secret::new(c.token.clone()));
            }
        }
        let mut issued = match self.fetch(false).await {
            Ok(t) => t,
            Err(e) => {
                // A refresh ahead of expiry that fails leaves the old token in service.
                if let Some(c) = cached.filter(|c| decide::valid(c, failed, now)) {
                    tracing::warn!(error = %e, "token refresh failed; the current token serves until it expires");
                    return Ok(Secret::new(c.token));
                }
                return Err(e);
            }
        };
        if failed == Some(issued.token.expose()) {
            // Normal mode returned the very token WeChat refused: only a forced refresh helps.
            issued = self.force().await?;
        }
        let entry = CachedToken {
            token: issued.token.expose().to_string(),
            expires_at: now + issued.expires_in_secs,
        };
        let bytes =
            serde_json::to_vec(&entry).map_err(|e| WechatError::Unavailable(e.to_string()))?;
        let ttl = Duration::from_secs(issued.expires_in_secs.max(1).unsigned_abs());
        self.broker
            .set(TOKEN_KEY, &bytes, ttl)
            .await
            .map_err(broker_err)?;
        tracing::info!(
            expires_in_secs = issued.expires_in_secs,
            "wechat access token refreshed"
        );
        Ok(issued.token)
    }

    async fn fetch(&self, force: bool) -> Result<super::client::IssuedToken, WechatError> {
        let mode = if force { "force" } else { "normal" };
        match self.client.stable_token(force).await {
            Ok(t) => {
                self.metrics
                    .refreshes
                    .with_label_values(&[mode, "ok"])
                    .inc();
                self.config_error.store(0, Ordering::Relaxed);
                self.metrics.config_error.set(0);
                Ok(t)
            }
            Err(e) => {
                self.metrics
                    .refreshes
                    .with_label_values(&[mode, "error"])
                    .inc();
                self.note_error("stable_token", &e).await;
                Err(e)
            }
        }
    }

    /// A forced refresh, within WeChat's limits (per day, and spacing between two).
    async fn force(&self) -> Result<super::client::IssuedToken, WechatError> {
        let spacing = Duration::from_secs(self.settings.force_refresh_spacing_secs.max(1));
        let first_in_window = self
            .broker
            .set_nx("wechat:force_refresh:last", b"1", spacing)
            .await
            .map_err(broker_err)?;
        let today = if first_in_window {
            let day = crate::clock::local_date(self.clock.now());
            self.broker
                .incr_window(
                    &format!("wechat:force_refresh:{day}"),
                    Duration::from_secs(86_400),
                )
                .await
                .map_err(broker_err)?
        } else {
            0
        };
        if let Err(why) =
            decide::force_allowed(!first_in_window, today, self.settings.force_refresh_per_day)
        {
            self.metrics
                .refreshes
                .with_label_values(&["force", "refused"])
                .inc();
            tracing::warn!(reason = ?why, "forced token refresh refused by its limits");
            return Err(match why {
                ForceRefused::TooSoon | ForceRefused::DailyLimit => WechatError::RateLimited,
            });
        }
        tracing::warn!(today, "forcing a new WeChat access token");
        self.fetch(true).await
    }

    /// Force a new token now (an operator's or a test's request), within the limits.
    pub async fn force_refresh(&self) -> Result<(), WechatError> {
        let _local = self.local.lock().await;
        let leased = self
            .broker
            .try_lease(LEASE, &self.holder, self.wait())
            .await
            .map_err(broker_err)?;
        if !leased {
            return Err(WechatError::Unavailable(
                "another instance is refreshing the token".into(),
            ));
        }
        let result = async {
            let issued = self.force().await?;
            let entry = CachedToken {
                token: issued.token.expose().to_string(),
                expires_at: self.now() + issued.expires_in_secs,
            };
            let bytes =
                serde_json::to_vec(&entry).map_err(|e| WechatError::Unavailable(e.to_string()))?;
            self.broker
                .set(
                    TOKEN_KEY,
                    &bytes,
                    Duration::from_secs(issued.expires_in_secs.max(1).unsigned_abs()),
                )
                .await
                .map_err(broker_err)
        }
        .await;
        if let Err(e) = self.broker.release_lease(LEASE, &self.holder).await {
            tracing::warn!(error = %e, "cannot release the token lease; it expires");
        }
        result
    }

    async fn note_error(&self, api: &str, e: &WechatError) {
        let code = match e {
            WechatError::RateLimited => "45011".to_string(),
            WechatError::Unavailable(_) => "unavailable".to_string(),
            other => other
                .errcode()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "other".into()),
        };
        self.metrics.errors.with_label_values(&[api, &code]).inc();
        if let Some(c) = e.config_errcode() {
            self.config_error.store(c, Ordering::Relaxed);
            self.metrics.config_error.set(c);
            tracing::error!(
                errcode = c,
                api,
                "WeChat refused our configuration (app id, secret, IP whitelist or app state)"
            );
            let ttl = Duration::from_secs(self.settings.breaker_secs.max(1));
            if let Err(be) = self
                .broker
                .set(CONFIG_ERROR_KEY, c.to_string().as_bytes(), ttl)
                .await
            {
                tracing::warn!(error = %be, "cannot share the configuration error");
            }
        }
    }

    /// `POST path?access_token=…` with the shared token; see the module comment for what each
    /// failure does.
    pub async fn call(
        &self,
        api: &'static str,
        path: &str,
        body: &Value,
        idempotent: Idempotent,
    ) -> Result<Value, WechatError> {
        let breaker = format!("wechat:breaker:{api}");
        if self
            .broker
            .get(&breaker)
            .await
            .map_err(broker_err)?
            .is_some()
        {
            return Err(WechatError::RateLimited);
        }
        let mut token = self.token().await?;
        let mut replaced = false;
        let mut busy = 0u32;
        loop {
            let err = match self.client.post_with_token(path, &token, body).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            self.note_error(api, &err).await;
            if err.is_token_invalid() && !replaced {
                replaced = true;
                tracing::warn!(api, errcode = ?err.errcode(), "access token refused; replacing it once");
                token = self.token_replacing(Some(token.expose())).await?;
                continue;
            }
            if err == WechatError::RateLimited {
                let ttl = Duration::from_secs(self.settings.breaker_secs.max(1));
                if let Err(e) = self.broker.set(&breaker, b"1", ttl).await {
                    tracing::warn!(error = %e, "cannot open the breaker");
                }
                tracing::warn!(api, "WeChat limit reached; calls pause for breaker_secs");
                return Err(err);
            }
            if err.is_busy() && idempotent == Idempotent::Yes && busy < self.settings.busy_retries {
                busy += 1;
                let ms = decide::busy_backoff_ms(self.settings.retry_backoff_ms, busy);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                continue;
            }
            return Err(err);
        }
    }
}
