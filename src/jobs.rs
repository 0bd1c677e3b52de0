//! Background jobs that every instance runs and only one performs at a time: each round is
//! taken under a broker lease, so several instances never do the same work twice.
use std::future::Future;
use std::time::Duration;

use crate::error::AppResult;
use crate::state::AppState;

/// Runs `round` every `every` on whichever instance holds the lease `name`.
pub fn spawn_leased<F, Fut, T>(
    state: AppState,
    name: &'static str,
    every: Duration,
    round: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: Future<Output = AppResult<T>> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let lease = format!("job:{name}");
        loop {
            tick.tick().await;
            match state
                .broker
                .try_lease(&lease, &state.instance_id, every * 2)
                .await
            {
                Ok(true) => {
                    if let Err(e) = round(state.clone()).await {
                        tracing::error!(job = name, error = %format!("{e:#}"), "job round failed");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(job = name, error = %e, "job lease unavailable"),
            }
        }
    })
}
