//! Ordering rules of a live-session waiting queue. Pure data: callers load
//! it (one JSON blob), apply an operation and store it back.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub user_id: i64,
    /// Registered a topic in advance; goes ahead of walk-ins.
    pub registered: bool,
    /// Arrival order, unique within a queue.
    pub joined_seq: u64,
    /// Missed calls so far; a second miss drops the entry.
    pub deferrals: u32,
    pub topic: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("queue is full ({max_len} waiting)")]
    Full { max_len: usize },
    #[error("user {0} is not in the queue")]
    NotInQueue(i64),
    #[error("user {0} is already in the queue")]
    AlreadyInQueue(i64),
    #[error("invalid stored queue: {0}")]
    Invalid(&'static str),
}

/// Result of [`WaitingQueue::join`]; both carry the 0-based position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    New(usize),
    /// The user was already waiting; their place is unchanged.
    Already(usize),
}

impl Joined {
    pub fn position(self) -> usize {
        match self {
            Joined::New(p) | Joined::Already(p) => p,
        }
    }
}

/// Who missed a call: someone still in the queue, or an entry already popped
/// by [`WaitingQueue::call_next`] / [`WaitingQueue::call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeferTarget {
    User(i64),
    Entry(QueueEntry),
}

impl From<i64> for DeferTarget {
    fn from(user_id: i64) -> Self {
        DeferTarget::User(user_id)
    }
}

impl From<QueueEntry> for DeferTarget {
    fn from(entry: QueueEntry) -> Self {
        DeferTarget::Entry(entry)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeferOutcome {
    /// First miss: re-inserted with this many people ahead.
    Deferred { position: usize },
    /// Second miss: removed from the queue.
    Dropped(QueueEntry),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredQueue")]
pub struct WaitingQueue {
    max_len: usize,
    next_seq: u64,
    entries: Vec<QueueEntry>,
}

/// Wire shape; validated on load so a corrupted blob cannot hold one user
/// twice or reuse arrival numbers.
#[derive(Deserialize)]
struct StoredQueue {
    max_len: usize,
    next_seq: u64,
    entries: Vec<QueueEntry>,
}

impl TryFrom<StoredQueue> for WaitingQueue {
    type Error = QueueError;

    fn try_from(s: StoredQueue) -> Result<Self, QueueError> {
        let mut seen = HashSet::with_capacity(s.entries.len());
        if !s.entries.iter().all(|e| seen.insert(e.user_id)) {
            return Err(QueueError::Invalid("duplicate user_id"));
        }
        let min_next = s
            .entries
            .iter()
            .map(|e| e.joined_seq.saturating_add(1))
            .max()
            .unwrap_or(0);
        Ok(WaitingQueue {
            max_len: s.max_len,
            next_seq: s.next_seq.max(min_next),
            entries: s.entries,
        })
    }
}

impl WaitingQueue {
    /// `max_len` caps new joins only; a deferred resident is re-inserted even
    /// if others filled the queue meanwhile, since they already held a place.
    pub fn new(max_len: usize) -> Self {
        WaitingQueue {
            max_len,
            next_seq: 0,
            entries: Vec::new(),
        }
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    pub fn entries(&self) -> &[QueueEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of people ahead of `user_id`.
    pub fn position_of(&self, user_id: i64) -> Option<usize> {
        self.entries.iter().position(|e| e.user_id == user_id)
    }

    /// Registered residents go right after the last registered entry that
    /// has not missed a call, walk-ins at the end. A deferred entry keeps the
    /// place its deferral gave it and does not move where others join (a
    /// deferred registered resident among walk-ins must not pull later
    /// registered joiners behind them). Joining again keeps the place.
    pub fn join(
        &mut self,
        user_id: i64,
        registered: bool,
        topic: Option<String>,
    ) -> Result<Joined, QueueError> {
        if let Some(p) = self.position_of(user_id) {
            return Ok(Joined::Already(p));
        }
        if self.entries.len() >= self.max_len {
            return Err(QueueError::Full {
                max_len: self.max_len,
            });
        }
        let at = if registered {
            self.entries
                .iter()
                .rposition(|e| e.registered && e.deferrals == 0)
                .map_or(0, |i| i + 1)
        } else {
            self.entries.len()
        };
        let entry = QueueEntry {
            user_id,
            registered,
            joined_seq: self.next_seq,
            deferrals: 0,
            topic,
        };
        self.next_seq += 1;
        self.entries.insert(at, entry);
        Ok(Joined::New(at))
    }

    /// The resident withdrew.
    pub fn leave(&mut self, user_id: i64) -> Result<QueueEntry, QueueError> {
        self.take(user_id)
    }

    /// A host removed the resident.
    pub fn remove(&mut self, user_id: i64) -> Result<QueueEntry, QueueError> {
        self.take(user_id)
    }

    /// Pops the head of the queue.
    pub fn call_next(&mut self) -> Option<QueueEntry> {
        if self.entries.is_empty() {
            None
        } else {
            Some(self.entries.remove(0))
        }
    }

    /// Pops a resident chosen by the host, out of turn.
    pub fn call(&mut self, user_id: i64) -> Result<QueueEntry, QueueError> {
        self.take(user_id)
    }

    /// A resident missed their call. The first miss puts them back with
    /// `places` people ahead (or last, if fewer wait); a second miss drops
    /// them so one absent resident cannot stall the session.
    pub fn defer(
        &mut self,
        target: impl Into<DeferTarget>,
        places: usize,
    ) -> Result<DeferOutcome, QueueError> {
        let mut entry = match target.into() {
            DeferTarget::User(id) => self.take(id)?,
            DeferTarget::Entry(e) => {
                if self.position_of(e.user_id).is_some() {
                    return Err(QueueError::AlreadyInQueue(e.user_id));
                }
                e
            }
        };
        if entry.deferrals >= 1 {
            return Ok(DeferOutcome::Dropped(entry));
        }
        entry.deferrals += 1;
        let position = places.min(self.entries.len());
        self.entries.insert(position, entry);
        Ok(DeferOutcome::Deferred { position })
    }

    fn take(&mut self, user_id: i64) -> Result<QueueEntry, QueueError> {
        let i = self
            .position_of(user_id)
            .ok_or(QueueError::NotInQueue(user_id))?;
        Ok(self.entries.remove(i))
    }
}

/// Rough wait for someone with `position` people ahead.
pub fn estimated_wait_secs(position: usize, avg_turn_secs: u64) -> u64 {
    u64::try_from(position)
        .unwrap_or(u64::MAX)
        .saturating_mul(avg_turn_secs)
}

#[cfg(test)]
// Workspace lints deny unwrap/expect; they are fine in tests.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ids(q: &WaitingQueue) -> Vec<i64> {
        q.entries().iter().map(|e| e.user_id).collect()
    }

    fn queue_of(max: usize, users: &[(i64, bool)]) -> WaitingQueue {
        let mut q = WaitingQueue::new(max);
        for &(u, r) in users {
            q.join(u, r, None).unwrap();
        }
        q
    }

    #[test]
    fn walk_ins_keep_arrival_order() {
        let q = queue_of(10, &[(1, false), (2, false), (3, false)]);
        assert_eq!(ids(&q), [1, 2, 3]);
        let seqs: Vec<u64> = q.entries().iter().map(|e| e.joined_seq).collect();
        assert_eq!(seqs, [0, 1, 2]);
    }

    #[test]
    fn registered_go_after_last_registered() {
        let mut q = queue_of(10, &[(1, false), (2, false)]);
        assert_eq!(
            q.join(3, true, Some("roads".into())).unwrap(),
            Joined::New(0)
        );
        assert_eq!(q.join(4, false, None).unwrap(), Joined::New(3));
        assert_eq!(q.join(5, true, None).unwrap(), Joined::New(1));
        assert_eq!(ids(&q), [3, 5, 1, 2, 4]);
        assert_eq!(q.entries()[0].topic.as_deref(), Some("roads"));
    }

    #[test]
    fn registered_joiners_go_ahead_of_walk_ins_after_a_registered_deferral() {
        // R1 missed a call and went back three places, among the walk-ins.
        let mut q = queue_of(10, &[(1, true), (2, false), (3, false), (4, false)]);
        let r1 = q.call_next().unwrap();
        q.defer(r1, 3).unwrap();
        assert_eq!(ids(&q), [2, 3, 4, 1]);
        // A later registered joiner still goes ahead of every walk-in.
        assert_eq!(q.join(5, true, None).unwrap(), Joined::New(0));
        assert_eq!(q.join(6, true, None).unwrap(), Joined::New(1));
        assert_eq!(q.join(7, false, None).unwrap(), Joined::New(6));
        assert_eq!(ids(&q), [5, 6, 2, 3, 4, 1, 7]);
    }

    #[test]
    fn a_deferred_walk_in_among_registered_does_not_reorder_them() {
        let mut q = queue_of(
            10,
            &[(9, false), (1, true), (2, true), (3, true), (4, true)],
        );
        // The walk-in was called out of turn and missed it.
        let w = q.call(9).unwrap();
        q.defer(w, 2).unwrap();
        assert_eq!(ids(&q), [1, 2, 9, 3, 4]);
        // The new registered joiner goes behind every registered one waiting, in arrival order.
        assert_eq!(q.join(5, true, None).unwrap(), Joined::New(5));
        assert_eq!(ids(&q), [1, 2, 9, 3, 4, 5]);
    }

    #[test]
    fn join_is_idempotent() {
        let mut q = queue_of(10, &[(1, false), (2, false)]);
        let before = q.clone();
        // Joining again, even as registered with a topic, keeps the place.
        assert_eq!(
            q.join(2, true, Some("x".into())).unwrap(),
            Joined::Already(1)
        );
        assert_eq!(q, before);
        assert_eq!(Joined::Already(1).position(), 1);
    }

    #[test]
    fn full_queue_refuses_new_but_not_repeat_join() {
        let mut q = queue_of(2, &[(1, false), (2, false)]);
        assert_eq!(q.join(3, false, None), Err(QueueError::Full { max_len: 2 }));
        assert_eq!(q.join(3, true, None), Err(QueueError::Full { max_len: 2 }));
        assert_eq!(q.join(1, false, None), Ok(Joined::Already(0)));
        q.leave(1).unwrap();
        assert_eq!(q.join(3, false, None), Ok(Joined::New(1)));
    }

    #[test]
    fn zero_capacity_refuses_everyone() {
        let mut q = WaitingQueue::new(0);
        assert_eq!(q.join(1, true, None), Err(QueueError::Full { max_len: 0 }));
        assert!(q.is_empty());
    }

    #[test]
    fn leave_and_remove() {
        let mut q = queue_of(10, &[(1, false), (2, false), (3, false)]);
        assert_eq!(q.leave(2).unwrap().user_id, 2);
        assert_eq!(q.remove(1).unwrap().user_id, 1);
        assert_eq!(ids(&q), [3]);
        assert_eq!(q.leave(2), Err(QueueError::NotInQueue(2)));
        assert_eq!(q.remove(9), Err(QueueError::NotInQueue(9)));
        // A fresh join after leaving gets a new arrival number at the back.
        q.join(1, false, None).unwrap();
        assert_eq!(ids(&q), [3, 1]);
        assert_eq!(q.entries()[1].joined_seq, 3);
    }

    #[test]
    fn position_of_counts_people_ahead() {
        let q = queue_of(10, &[(1, false), (2, false), (3, true)]);
        assert_eq!(q.position_of(3), Some(0));
        assert_eq!(q.position_of(1), Some(1));
        assert_eq!(q.position_of(2), Some(2));
        assert_eq!(q.position_of(4), None);
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn call_next_pops_head() {
        let mut q = queue_of(10, &[(1, false), (2, true)]);
        assert_eq!(q.call_next().map(|e| e.user_id), Some(2));
        assert_eq!(q.call_next().map(|e| e.user_id), Some(1));
        assert_eq!(q.call_next(), None);
    }

    #[test]
    fn call_pops_chosen() {
        let mut q = queue_of(10, &[(1, false), (2, false), (3, false)]);
        assert_eq!(q.call(2).unwrap().user_id, 2);
        assert_eq!(ids(&q), [1, 3]);
        assert_eq!(q.call(2), Err(QueueError::NotInQueue(2)));
    }

    #[test]
    fn defer_in_queue_user_moves_back_places() {
        let mut q = queue_of(10, &[(1, false), (2, false), (3, false), (4, false)]);
        assert_eq!(
            q.defer(1, 2).unwrap(),
            DeferOutcome::Deferred { position: 2 }
        );
        assert_eq!(ids(&q), [2, 3, 1, 4]);
        assert_eq!(q.entries()[2].deferrals, 1);
    }

    #[test]
    fn defer_called_entry_reinserts() {
        let mut q = queue_of(10, &[(1, false), (2, false), (3, false)]);
        let called = q.call_next().unwrap();
        assert_eq!(
            q.defer(called, 1).unwrap(),
            DeferOutcome::Deferred { position: 1 }
        );
        assert_eq!(ids(&q), [2, 1, 3]);
    }

    #[test]
    fn defer_past_end_goes_last() {
        let mut q = queue_of(10, &[(1, false), (2, false)]);
        assert_eq!(
            q.defer(1, 5).unwrap(),
            DeferOutcome::Deferred { position: 1 }
        );
        assert_eq!(ids(&q), [2, 1]);
        let mut solo = queue_of(10, &[(7, false)]);
        let e = solo.call_next().unwrap();
        assert_eq!(
            solo.defer(e, 3).unwrap(),
            DeferOutcome::Deferred { position: 0 }
        );
    }

    #[test]
    fn defer_zero_places_goes_to_front() {
        let mut q = queue_of(10, &[(1, false), (2, false)]);
        let e = q.call_next().unwrap();
        assert_eq!(
            q.defer(e, 0).unwrap(),
            DeferOutcome::Deferred { position: 0 }
        );
        assert_eq!(ids(&q), [1, 2]);
    }

    #[test]
    fn defer_once_then_drop() {
        let mut q = queue_of(10, &[(1, false), (2, false), (3, false)]);
        let first = q.call_next().unwrap();
        q.defer(first, 1).unwrap();
        assert_eq!(ids(&q), [2, 1, 3]);
        q.call_next().unwrap();
        let second = q.call_next().unwrap();
        assert_eq!(second.user_id, 1);
        match q.defer(second, 1).unwrap() {
            DeferOutcome::Dropped(e) => {
                assert_eq!(e.user_id, 1);
                assert_eq!(e.deferrals, 1);
            }
            other => panic!("expected drop, got {other:?}"),
        }
        assert_eq!(ids(&q), [3]);
    }

    #[test]
    fn defer_drop_of_in_queue_user_removes_them() {
        let mut q = queue_of(10, &[(1, false), (2, false)]);
        q.defer(1, 1).unwrap();
        assert!(matches!(q.defer(1, 1).unwrap(), DeferOutcome::Dropped(_)));
        assert_eq!(ids(&q), [2]);
    }

    #[test]
    fn defer_errors() {
        let mut q = queue_of(10, &[(1, false)]);
        assert_eq!(q.defer(9, 1), Err(QueueError::NotInQueue(9)));
        let stale = q.entries()[0].clone();
        assert_eq!(q.defer(stale, 1), Err(QueueError::AlreadyInQueue(1)));
        assert_eq!(ids(&q), [1]);
    }

    #[test]
    fn defer_ignores_capacity() {
        let mut q = queue_of(2, &[(1, false), (2, false)]);
        let e = q.call_next().unwrap();
        q.join(3, false, None).unwrap();
        assert_eq!(
            q.defer(e, 1).unwrap(),
            DeferOutcome::Deferred { position: 1 }
        );
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn wait_estimate() {
        assert_eq!(estimated_wait_secs(0, 300), 0);
        assert_eq!(estimated_wait_secs(3, 300), 900);
        assert_eq!(estimated_wait_secs(usize::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn serde_round_trip() {
        let mut q = queue_of(5, &[(1, false), (2, true)]);
        q.defer(1, 0).unwrap();
        let json = serde_json::to_string(&q).unwrap();
        let back: WaitingQueue = serde_json::from_str(&json).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn deserialize_rejects_duplicates_and_repairs_seq() {
        let dup = r#"{"max_len":5,"next_seq":2,"entries":[
            {"user_id":1,"registered":false,"joined_seq":0,"deferrals":0,"topic":null},
            {"user_id":1,"registered":false,"joined_seq":1,"deferrals":0,"topic":null}]}"#;
        assert!(serde_json::from_str::<WaitingQueue>(dup).is_err());

        let stale_seq = r#"{"max_len":5,"next_seq":0,"entries":[
            {"user_id":1,"registered":false,"joined_seq":7,"deferrals":0,"topic":null}]}"#;
        let mut q: WaitingQueue = serde_json::from_str(stale_seq).unwrap();
        q.join(2, false, None).unwrap();
        assert_eq!(q.entries()[1].joined_seq, 8);
    }
}
