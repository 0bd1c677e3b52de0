//! The one trait for everything Redis does for minxin: a cache with expiry, counters for rate
//! limits, leases so only one instance runs a job, pub/sub between instances, and FIFO queues.
//! `memory` serves a single embedded instance; `redis` serves several instances side by side.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub mod memory;
pub mod redis;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// The broker did not answer within `CALL_TIMEOUT`: callers fail fast instead of hanging.
    #[error("broker: no answer within {0:?}")]
    Timeout(Duration),
    #[error("broker: {0}")]
    Other(String),
}

pub type BrokerResult<T> = Result<T, BrokerError>;

/// The longest any single broker call may take, reconnection included; past it the call fails
/// (and the HTTP layer answers 503 `broker_unavailable`).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Message(Vec<u8>),
    /// Messages may have been lost (the subscription reconnected, or its reader fell behind):
    /// the reader must rebuild what it derives from them from the stored state.
    Resync,
}

/// Messages of one channel, in publication order, for as long as the receiver is kept; a gap
/// is never silent but marked by `Delivery::Resync`.
pub type Subscription = mpsc::Receiver<Delivery>;

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    async fn get(&self, key: &str) -> BrokerResult<Option<Vec<u8>>>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> BrokerResult<()>;
    /// Sets only if absent; true when this call set it.
    async fn set_nx(&self, key: &str, value: &[u8], ttl: Duration) -> BrokerResult<bool>;
    async fn delete(&self, key: &str) -> BrokerResult<()>;
    /// Gets and deletes in one step: exactly one caller gets a value (single-use tickets).
    async fn take(&self, key: &str) -> BrokerResult<Option<Vec<u8>>>;
    /// Replaces the value only if it still equals `expected` (`None`: only if absent); true when
    /// replaced. The building block for atomic read-modify-write across instances.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl: Duration,
    ) -> BrokerResult<bool>;
    /// Increments a counter that expires `window` after its first increment (fixed window).
    async fn incr_window(&self, key: &str, window: Duration) -> BrokerResult<u64>;
    /// Takes the lease if it is free or already `holder`'s (then it is renewed).
    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> BrokerResult<bool>;
    /// Gives the lease up if `holder` still holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> BrokerResult<()>;
    async fn publish(&self, channel: &str, payload: &[u8]) -> BrokerResult<()>;
    async fn subscribe(&self, channel: &str) -> BrokerResult<Subscription>;
    async fn queue_push(&self, queue: &str, item: &[u8]) -> BrokerResult<()>;
    async fn queue_pop(&self, queue: &str) -> BrokerResult<Option<Vec<u8>>>;
    async fn queue_len(&self, queue: &str) -> BrokerResult<u64>;
    /// Reachability, for `/readyz`.
    async fn ping(&self) -> BrokerResult<()>;
    fn kind(&self) -> &'static str;
}

pub type SharedBroker = Arc<dyn Broker>;

/// Connects to Redis when a URL is configured, else the in-process broker.
pub async fn connect(redis_url: &str, prefix: &str) -> BrokerResult<SharedBroker> {
    if redis_url.is_empty() {
        Ok(Arc::new(memory::MemoryBroker::default()))
    } else {
        Ok(Arc::new(
            redis::RedisBroker::connect(redis_url, prefix).await?,
        ))
    }
}

#[cfg(test)]
pub(crate) mod contract {
    //! The behaviour both implementations must share; run against each.
    use super::*;

    pub async fn run(b: &dyn Broker) {
        let ttl = Duration::from_secs(30);
        assert_eq!(b.get("k").await.unwrap(), None);
        b.set("k", b"v", ttl).await.unwrap();
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
        assert!(!b.set_nx("k", b"w", ttl).await.unwrap());
        assert!(b.set_nx("k2", b"w", ttl).await.unwrap());
        b.delete("k").await.unwrap();
        assert_eq!(b.get("k").await.unwrap(), None);
        assert_eq!(b.take("k2").await.unwrap().as_deref(), Some(&b"w"[..]));
        assert_eq!(b.take("k2").await.unwrap(), None, "taken once");
        assert!(b.compare_and_set("cas", None, b"1", ttl).await.unwrap());
        assert!(!b.compare_and_set("cas", None, b"2", ttl).await.unwrap());
        assert!(!b
            .compare_and_set("cas", Some(b"0"), b"2", ttl)
            .await
            .unwrap());
        assert!(b
            .compare_and_set("cas", Some(b"1"), b"2", ttl)
            .await
            .unwrap());
        assert_eq!(b.get("cas").await.unwrap().as_deref(), Some(&b"2"[..]));

        b.set("short", b"x", Duration::from_millis(50))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(b.get("short").await.unwrap(), None, "entries expire");

        assert_eq!(b.incr_window("c", ttl).await.unwrap(), 1);
        assert_eq!(b.incr_window("c", ttl).await.unwrap(), 2);

        assert!(b.try_lease("job", "a", ttl).await.unwrap());
        assert!(b.try_lease("job", "a", ttl).await.unwrap(), "holder renews");
        assert!(!b.try_lease("job", "b", ttl).await.unwrap(), "others wait");
        b.release_lease("job", "b").await.unwrap();
        assert!(
            !b.try_lease("job", "b", ttl).await.unwrap(),
            "only the holder releases"
        );
        b.release_lease("job", "a").await.unwrap();
        assert!(b.try_lease("job", "b", ttl).await.unwrap());

        let mut sub = b.subscribe("ch").await.unwrap();
        b.publish("ch", b"one").await.unwrap();
        b.publish("ch", b"two").await.unwrap();
        let one = tokio::time::timeout(Duration::from_secs(5), sub.recv())
            .await
            .unwrap();
        let two = tokio::time::timeout(Duration::from_secs(5), sub.recv())
            .await
            .unwrap();
        assert_eq!(one, Some(Delivery::Message(b"one".to_vec())));
        assert_eq!(two, Some(Delivery::Message(b"two".to_vec())));

        b.queue_push("q", b"1").await.unwrap();
        b.queue_push("q", b"2").await.unwrap();
        assert_eq!(b.queue_len("q").await.unwrap(), 2);
        assert_eq!(b.queue_pop("q").await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(b.queue_pop("q").await.unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(b.queue_pop("q").await.unwrap(), None);
        b.ping().await.unwrap();
    }
}
