//! In-process broker for the embedded single-instance setup.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::{Broker, BrokerResult, Delivery, Subscription};

#[derive(Default)]
pub struct MemoryBroker {
    values: Mutex<HashMap<String, (Vec<u8>, Instant)>>,
    queues: Mutex<HashMap<String, VecDeque<Vec<u8>>>>,
    channels: Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated, so poison is moot.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryBroker {
    fn live<'a>(
        map: &'a mut HashMap<String, (Vec<u8>, Instant)>,
        key: &str,
    ) -> Option<&'a mut (Vec<u8>, Instant)> {
        let now = Instant::now();
        if map.get(key).is_some_and(|(_, exp)| *exp <= now) {
            map.remove(key);
        }
        if map.len() > 10_000 {
            map.retain(|_, (_, exp)| *exp > now);
        }
        map.get_mut(key)
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn get(&self, key: &str) -> BrokerResult<Option<Vec<u8>>> {
        let mut m = lock(&self.values);
        Ok(Self::live(&mut m, key).map(|(v, _)| v.clone()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> BrokerResult<()> {
        lock(&self.values).insert(key.into(), (value.to_vec(), Instant::now() + ttl));
        Ok(())
    }

    async fn set_nx(&self, key: &str, value: &[u8], ttl: Duration) -> BrokerResult<bool> {
        let mut m = lock(&self.values);
        if Self::live(&mut m, key).is_some() {
            return Ok(false);
        }
        m.insert(key.into(), (value.to_vec(), Instant::now() + ttl));
        Ok(true)
    }

    async fn delete(&self, key: &str) -> BrokerResult<()> {
        lock(&self.values).remove(key);
        Ok(())
    }

    async fn take(&self, key: &str) -> BrokerResult<Option<Vec<u8>>> {
        let mut m = lock(&self.values);
        let hit = Self::live(&mut m, key).map(|(v, _)| v.clone());
        m.remove(key);
        Ok(hit)
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl: Duration,
    ) -> BrokerResult<bool> {
        let mut m = lock(&self.values);
        let current = Self::live(&mut m, key).map(|(v, _)| v.as_slice());
        if current != expected {
            return Ok(false);
        }
        m.insert(key.into(), (new.to_vec(), Instant::now() + ttl));
        Ok(true)
    }

    async fn incr_window(&self, key: &str, window: Duration) -> BrokerResult<u64> {
        let mut m = lock(&self.values);
        let next = match Self::live(&mut m, key) {
            Some((v, _)) => {
                let n = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                *v = n.to_string().into_bytes();
                n
            }
            None => {
                m.insert(key.into(), (b"1".to_vec(), Instant::now() + window));
                1
            }
        };
        Ok(next)
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> BrokerResult<bool> {
        let key = format!("lease:{name}");
        let mut m = lock(&self.values);
        let free_or_mine = match Self::live(&mut m, &key) {
            Some((v, _)) => v.as_slice() == holder.as_bytes(),
            None => true,
        };
        if free_or_mine {
            m.insert(key, (holder.as_bytes().to_vec(), Instant::now() + ttl));
        }
        Ok(free_or_mine)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> BrokerResult<()> {
        let key = format!("lease:{name}");
        let mut m = lock(&self.values);
        if Self::live(&mut m, &key).is_some_and(|(v, _)| v.as_slice() == holder.as_bytes()) {
            m.remove(&key);
        }
        Ok(())
    }

    async fn publish(&self, channel: &str, payload: &[u8]) -> BrokerResult<()> {
        if let Some(tx) = lock(&self.channels).get(channel) {
            // No receiver is not an error: pub/sub delivers only to current subscribers.
            let _ = tx.send(payload.to_vec());
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> BrokerResult<Subscription> {
        let mut rx = {
            let mut chans = lock(&self.channels);
            chans.retain(|_, tx| tx.receiver_count() > 0);
            chans
                .entry(channel.into())
                .or_insert_with(|| broadcast::channel(1024).0)
                .subscribe()
        };
        let (tx, out) = mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(msg) => {
                        if tx.send(Delivery::Message(msg)).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // The reader fell behind and messages are gone: say so, so it resyncs
                        // from the stored state instead of carrying on without them.
                        tracing::warn!(skipped = n, "slow subscriber lost messages: resync");
                        if tx.send(Delivery::Resync).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        Ok(out)
    }

    async fn queue_push(&self, queue: &str, item: &[u8]) -> BrokerResult<()> {
        lock(&self.queues)
            .entry(queue.into())
            .or_default()
            .push_back(item.to_vec());
        Ok(())
    }

    async fn queue_pop(&self, queue: &str) -> BrokerResult<Option<Vec<u8>>> {
        Ok(lock(&self.queues)
            .get_mut(queue)
            .and_then(|q| q.pop_front()))
    }

    async fn queue_len(&self, queue: &str) -> BrokerResult<u64> {
        Ok(lock(&self.queues).get(queue).map_or(0, |q| q.len() as u64))
    }

    async fn ping(&self) -> BrokerResult<()> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_broker_keeps_the_contract() {
        super::super::contract::run(&MemoryBroker::default()).await;
    }

    /// A burst larger than the channel's buffers while the reader is busy: every message
    /// arrives, or the gap is marked so the reader can resync; never a silent loss.
    #[tokio::test]
    async fn a_lagging_subscriber_is_told_to_resync() {
        let b = MemoryBroker::default();
        let mut sub = b.subscribe("room").await.unwrap();
        let total = 5_000u32;
        for i in 0..total {
            b.publish("room", &i.to_be_bytes()).await.unwrap();
        }
        let (mut got, mut resyncs, mut last) = (0u32, 0u32, None);
        while let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(300), sub.recv()).await {
            match d {
                Delivery::Message(m) => {
                    got += 1;
                    last = Some(u32::from_be_bytes(m.try_into().unwrap()));
                }
                Delivery::Resync => resyncs += 1,
            }
        }
        assert!(got < total, "the burst overflows the buffers in this setup");
        assert!(
            resyncs > 0,
            "{} of {total} messages lost silently",
            total - got
        );
        assert_eq!(last, Some(total - 1), "messages after the gap still arrive");
    }
}
