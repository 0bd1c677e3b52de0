//! Redis broker for several instances side by side. Every key carries the configured prefix.
//! Every call is bounded (`CALL_TIMEOUT`), reconnection waits at most 2 s between attempts, and
//! subscriptions re-subscribe on their own after a lost connection, marking the gap.
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::{AsyncCommands, Script};
use tokio::sync::mpsc;

use super::{Broker, BrokerError, BrokerResult, Delivery, Subscription, CALL_TIMEOUT};

/// Connecting and each answer: a dead or stalled Redis is noticed in about a second.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Re-subscribing after a lost connection: from this, doubling, up to `RESUBSCRIBE_MAX`.
const RESUBSCRIBE_MIN: Duration = Duration::from_millis(100);
const RESUBSCRIBE_MAX: Duration = Duration::from_secs(2);

/// The crate's defaults wait a second, then up to a minute plus jitter between reconnection
/// attempts, and never time out an answer: a restarted Redis stalled every call for a minute
/// or two. Here each delay is at most 1 s plus up to 1 s of jitter, and after one retry the
/// attempt fails (the next call starts another).
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_factor(1)
        .set_max_delay(1000)
        .set_number_of_retries(1)
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
}

/// Runs one broker call, failing with `Timeout` instead of waiting past `CALL_TIMEOUT`.
async fn bounded<T, E>(call: impl Future<Output = Result<T, E>>) -> BrokerResult<T>
where
    BrokerError: From<E>,
{
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(r) => r.map_err(BrokerError::from),
        Err(_) => Err(BrokerError::Timeout(CALL_TIMEOUT)),
    }
}

pub struct RedisBroker {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
}

const INCR_WINDOW: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

const TRY_LEASE: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0";

const RELEASE_LEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

const COMPARE_AND_SET: &str = r"
local cur = redis.call('GET', KEYS[1])
local expected = ARGV[1]
if (ARGV[3] == '0' and cur == false) or (ARGV[3] == '1' and cur == expected) then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
  return 1
end
return 0";

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisBroker {
    pub async fn connect(url: &str, prefix: &str) -> BrokerResult<Self> {
        let client = redis::Client::open(url)?;
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client.clone(), manager_config()),
        )
        .await
        .map_err(|_| BrokerError::Other("timed out connecting to redis".into()))??;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_string(),
        })
    }

    fn key(&self, k: &str) -> String {
        format!("{}{}", self.prefix, k)
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn get(&self, key: &str) -> BrokerResult<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        bounded(c.get(self.key(key))).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let cmd = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .clone();
        bounded(cmd.query_async::<()>(&mut c)).await
    }

    async fn set_nx(&self, key: &str, value: &[u8], ttl: Duration) -> BrokerResult<bool> {
        let mut c = self.conn.clone();
        let cmd = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .clone();
        let r: Option<String> = bounded(cmd.query_async(&mut c)).await?;
        Ok(r.is_some())
    }

    async fn delete(&self, key: &str) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = bounded(c.del(self.key(key))).await?;
        Ok(())
    }

    async fn take(&self, key: &str) -> BrokerResult<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        let cmd = redis::cmd("GETDEL").arg(self.key(key)).clone();
        bounded(cmd.query_async(&mut c)).await
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl: Duration,
    ) -> BrokerResult<bool> {
        let mut c = self.conn.clone();
        let script = Script::new(COMPARE_AND_SET);
        let mut call = script.key(self.key(key));
        call.arg(expected.unwrap_or_default())
            .arg(new)
            .arg(if expected.is_some() { "1" } else { "0" })
            .arg(millis(ttl));
        let done: i64 = bounded(call.invoke_async(&mut c)).await?;
        Ok(done == 1)
    }

    async fn incr_window(&self, key: &str, window: Duration) -> BrokerResult<u64> {
        let mut c = self.conn.clone();
        let script = Script::new(INCR_WINDOW);
        let mut call = script.key(self.key(key));
        call.arg(millis(window));
        bounded(call.invoke_async(&mut c)).await
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> BrokerResult<bool> {
        let mut c = self.conn.clone();
        let script = Script::new(TRY_LEASE);
        let mut call = script.key(self.key(&format!("lease:{name}")));
        call.arg(holder).arg(millis(ttl));
        let got: i64 = bounded(call.invoke_async(&mut c)).await?;
        Ok(got == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let script = Script::new(RELEASE_LEASE);
        let mut call = script.key(self.key(&format!("lease:{name}")));
        call.arg(holder);
        let _: i64 = bounded(call.invoke_async(&mut c)).await?;
        Ok(())
    }

    async fn publish(&self, channel: &str, payload: &[u8]) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = bounded(c.publish(self.key(channel), payload)).await?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> BrokerResult<Subscription> {
        let name = self.key(channel);
        let (tx, rx) = mpsc::channel(1024);
        // Subscribed before returning when Redis is up, so nothing published after this call
        // is missed; when it is down the task keeps trying and marks the gap.
        let first = match open_pubsub(&self.client, &name).await {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(channel = %name, error = %e, "cannot subscribe yet; retrying");
                None
            }
        };
        tokio::spawn(forward(self.client.clone(), name, first, tx));
        Ok(rx)
    }

    async fn queue_push(&self, queue: &str, item: &[u8]) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = bounded(c.rpush(self.key(queue), item)).await?;
        Ok(())
    }

    async fn queue_pop(&self, queue: &str) -> BrokerResult<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        bounded(c.lpop(self.key(queue), None)).await
    }

    async fn queue_len(&self, queue: &str) -> BrokerResult<u64> {
        let mut c = self.conn.clone();
        bounded(c.llen(self.key(queue))).await
    }

    async fn ping(&self) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let cmd = redis::cmd("PING");
        let _: String = bounded(cmd.query_async(&mut c)).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

async fn open_pubsub(client: &redis::Client, channel: &str) -> BrokerResult<PubSub> {
    bounded(async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    })
    .await
}

/// Forwards a channel's messages until the receiver is dropped. A lost connection (a Redis
/// restart, `CLIENT KILL TYPE pubsub`) is re-subscribed with backoff and followed by
/// `Delivery::Resync`, since whatever was published meanwhile is gone.
async fn forward(
    client: redis::Client,
    channel: String,
    mut current: Option<PubSub>,
    tx: mpsc::Sender<Delivery>,
) {
    let mut gap = current.is_none();
    let mut delay = RESUBSCRIBE_MIN;
    loop {
        let pubsub = match current.take() {
            Some(p) => p,
            None => {
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                match open_pubsub(&client, &channel).await {
                    Ok(p) => {
                        tracing::info!(channel = %channel, "re-subscribed: readers resync");
                        delay = RESUBSCRIBE_MIN;
                        p
                    }
                    Err(e) => {
                        tracing::warn!(channel = %channel, error = %e, "re-subscribe failed");
                        delay = (delay * 2).min(RESUBSCRIBE_MAX);
                        continue;
                    }
                }
            }
        };
        if gap && tx.send(Delivery::Resync).await.is_err() {
            return;
        }
        let mut stream = pubsub.into_on_message();
        loop {
            let msg = tokio::select! {
                _ = tx.closed() => return,
                msg = stream.next() => msg,
            };
            let Some(msg) = msg else { break };
            let payload = Delivery::Message(msg.get_payload_bytes().to_vec());
            if tx.send(payload).await.is_err() {
                return;
            }
        }
        tracing::warn!(channel = %channel, "subscription lost; re-subscribing");
        gap = true;
    }
}

#[cfg(test)]
mod tests {
    /// Runs only where `MINXIN_TEST_REDIS_URL` is set, and then fails if Redis is unreachable.
    #[tokio::test]
    async fn redis_broker_keeps_the_contract() {
        let Ok(url) = std::env::var("MINXIN_TEST_REDIS_URL") else {
            eprintln!("MINXIN_TEST_REDIS_URL not set: redis contract not exercised in this run");
            return;
        };
        let prefix = format!("test:{}:", uuid::Uuid::new_v4());
        let b = super::RedisBroker::connect(&url, &prefix)
            .await
            .expect("MINXIN_TEST_REDIS_URL is set but Redis is unreachable");
        super::super::contract::run(&b).await;
    }
}
