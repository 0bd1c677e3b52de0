//! Redis broker for several instances side by side. Every key carries the configured prefix.
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use tokio::sync::mpsc;

use super::{Broker, BrokerError, BrokerResult, Subscription};

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
            ConnectionManager::new(client.clone()),
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
        Ok(c.get(self.key(key)).await?)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: () = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn set_nx(&self, key: &str, value: &[u8], ttl: Duration) -> BrokerResult<bool> {
        let mut c = self.conn.clone();
        let r: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(r.is_some())
    }

    async fn delete(&self, key: &str) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = c.del(self.key(key)).await?;
        Ok(())
    }

    async fn take(&self, key: &str) -> BrokerResult<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        Ok(redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?)
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl: Duration,
    ) -> BrokerResult<bool> {
        let mut c = self.conn.clone();
        let done: i64 = Script::new(COMPARE_AND_SET)
            .key(self.key(key))
            .arg(expected.unwrap_or_default())
            .arg(new)
            .arg(if expected.is_some() { "1" } else { "0" })
            .arg(millis(ttl))
            .invoke_async(&mut c)
            .await?;
        Ok(done == 1)
    }

    async fn incr_window(&self, key: &str, window: Duration) -> BrokerResult<u64> {
        let mut c = self.conn.clone();
        Ok(Script::new(INCR_WINDOW)
            .key(self.key(key))
            .arg(millis(window))
            .invoke_async(&mut c)
            .await?)
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> BrokerResult<bool> {
        let mut c = self.conn.clone();
        let got: i64 = Script::new(TRY_LEASE)
            .key(self.key(&format!("lease:{name}")))
            .arg(holder)
            .arg(millis(ttl))
            .invoke_async(&mut c)
            .await?;
        Ok(got == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = Script::new(RELEASE_LEASE)
            .key(self.key(&format!("lease:{name}")))
            .arg(holder)
            .invoke_async(&mut c)
            .await?;
        Ok(())
    }

    async fn publish(&self, channel: &str, payload: &[u8]) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = c.publish(self.key(channel), payload).await?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> BrokerResult<Subscription> {
        use futures_util::StreamExt;
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(self.key(channel)).await?;
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            let mut stream = pubsub.into_on_message();
            while let Some(msg) = stream.next().await {
                let payload: Vec<u8> = msg.get_payload_bytes().to_vec();
                if tx.send(payload).await.is_err() {
                    break;
                }
            }
        });
        Ok(rx)
    }

    async fn queue_push(&self, queue: &str, item: &[u8]) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = c.rpush(self.key(queue), item).await?;
        Ok(())
    }

    async fn queue_pop(&self, queue: &str) -> BrokerResult<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        Ok(c.lpop(self.key(queue), None).await?)
    }

    async fn queue_len(&self, queue: &str) -> BrokerResult<u64> {
        let mut c = self.conn.clone();
        Ok(c.llen(self.key(queue)).await?)
    }

    async fn ping(&self) -> BrokerResult<()> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
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
