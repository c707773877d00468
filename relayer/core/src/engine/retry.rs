//! How the engine retries work a chain could not do yet: the [`RetryPolicy`], and the queue of work
//! waiting for its time.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, binary_heap::PeekMut},
    time::Duration,
};

use relayer_chain::Work;
use tokio::time::Instant;

/// Later than any session's expiry (`Instant` cannot hold `u64::MAX` seconds from now).
pub(super) const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Unix time read once against the monotonic clock, so that a moment given in unix seconds (a session's
/// expiry) is always the same [`Instant`]. Converting with `unix_now()` at each call gave two sweeps of
/// one session different due times whenever a second boundary fell between them, and the queue kept
/// both (the later one is not "queued as early").
#[derive(Debug, Clone, Copy)]
pub(super) struct Anchor {
    at: Instant,
    unix: u64,
}

impl Anchor {
    /// Now.
    pub(super) fn now() -> Self {
        Self { at: Instant::now(), unix: relayer_types::unix_now() }
    }

    /// The instant of unix time `secs` (at most a second early: the anchor's unix time is whole
    /// seconds); a moment already past is the anchor itself, due at once.
    pub(super) fn instant_of(&self, secs: u64) -> Instant {
        let ahead = Duration::from_secs(secs.saturating_sub(self.unix));
        self.at.checked_add(ahead).unwrap_or_else(|| self.at + FOREVER)
    }
}

/// How the engine retries work a chain could not do yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry; doubled for each further one.
    pub first_delay: Duration,
    /// Longest delay between two tries.
    pub max_delay: Duration,
    /// Tries (the first included) before giving up. A restart tries again.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(300),
            max_attempts: 14,
        }
    }
}

impl RetryPolicy {
    /// Delay before retrying after `attempts` tries (at least 1): doubling from `first_delay`, capped.
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_delay.saturating_mul(1 << doublings).min(self.max_delay)
    }
}

/// Work to submit again once its time comes: a min-heap by due time (ties in the order queued), and an
/// index from each queued work to its due times, so that a push finds a copy queued as early without
/// scanning the queue.
#[derive(Default)]
pub(super) struct RetryQueue {
    heap: BinaryHeap<Reverse<Queued>>,
    /// The due times of each work's queued copies, latest first. A copy is queued only when it is due
    /// before every copy already there, and copies leave the heap earliest first, so the last is always
    /// the earliest.
    due: HashMap<Work, Vec<Instant>>,
    /// Breaks ties between equal due times: the order of queueing.
    pushed: u64,
}

/// One queued work, ordered by due time, then by when it was queued.
struct Queued {
    at: Instant,
    seq: u64,
    work: Work,
}

impl Queued {
    const fn key(&self) -> (Instant, u64) {
        (self.at, self.seq)
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl RetryQueue {
    /// Queues `work` due `at`, unless the same work is already queued as early or earlier (a griefer's
    /// thousand dust transfers wait as one sweep). A copy queued later stays queued too. Whether it
    /// was queued.
    pub(super) fn push(&mut self, at: Instant, work: Work) -> bool {
        if self.due.get(&work).and_then(|due| due.last()).is_some_and(|earliest| *earliest <= at) {
            return false;
        }
        self.due.entry(work.clone()).or_default().push(at);
        self.heap.push(Reverse(Queued { at, seq: self.pushed, work }));
        self.pushed += 1;
        true
    }

    /// Takes out the work due at `now`, soonest first.
    pub(super) fn pop_due(&mut self, now: Instant) -> Vec<Work> {
        let mut due = vec![];
        while let Some(top) = self.heap.peek_mut()
            && top.0.at <= now
        {
            let Reverse(Queued { at, work, .. }) = PeekMut::pop(top);
            if let Some(times) = self.due.get_mut(&work) {
                let earliest = times.pop();
                debug_assert_eq!(earliest, Some(at), "copies of a work leave the queue earliest first");
                if times.is_empty() {
                    self.due.remove(&work);
                }
            }
            due.push(work);
        }
        due
    }

    /// Everything queued, soonest first.
    pub(super) fn waiting(&self) -> Vec<Work> {
        let mut queued: Vec<&Queued> = self.heap.iter().map(|q| &q.0).collect();
        queued.sort_unstable();
        queued.into_iter().map(|q| q.work.clone()).collect()
    }

    /// When the soonest work is due, if any is queued.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|q| q.0.at)
    }
}

#[cfg(test)]
mod tests {
    use relayer_types::{Action, ChainAddress, Commitment, SessionId, U256};

    use super::*;

    /// Work that differs by `chain_id`.
    fn work(chain_id: u64) -> Work {
        let token = ChainAddress::Evm(relayer_types::Address::repeat_byte(1));
        let commitment = Commitment {
            session_id: Default::default(),
            to_chain_id: 1,
            to_token: Default::default(),
            to_address: Default::default(),
            amount: U256::ZERO,
            min_amount: U256::ZERO,
            final_call: Default::default(),
            refund_address: Default::default(),
            solana_refund_address: Default::default(),
            expires_at: 0,
        };
        let session_id = SessionId::from_bytes([7; 16]);
        Work { session_id, chain_id, commitment, action: Action::Refund { token } }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn work_waits_soonest_first_and_ties_in_the_order_queued() {
        let t = Instant::now();
        let mut queue = RetryQueue::default();
        assert_eq!(queue.next_due(), None);
        for (due, chain) in [(3, 1), (1, 2), (2, 3), (1, 4)] {
            assert!(queue.push(t + secs(due), work(chain)));
        }
        let chains = |works: Vec<Work>| works.into_iter().map(|w| w.chain_id).collect::<Vec<_>>();
        assert_eq!(chains(queue.waiting()), [2, 4, 3, 1]);
        assert_eq!(queue.next_due(), Some(t + secs(1)));
        assert_eq!(chains(queue.pop_due(t + secs(3))), [2, 4, 3, 1], "popped in the same order");
    }

    #[test]
    fn the_same_work_queued_as_early_is_not_queued_again() {
        let t = Instant::now();
        let mut queue = RetryQueue::default();
        assert!(queue.push(t + secs(5), work(1)));
        assert!(!queue.push(t + secs(5), work(1)), "as early");
        assert!(!queue.push(t + secs(9), work(1)), "later");
        assert!(queue.push(t + secs(9), work(2)), "other work");
        assert_eq!(queue.waiting().len(), 2);
    }

    #[test]
    fn the_same_work_due_sooner_is_queued_and_the_later_copy_stays() {
        let t = Instant::now();
        let mut queue = RetryQueue::default();
        assert!(queue.push(t + secs(5), work(1)));
        assert!(queue.push(t + secs(2), work(1)), "sooner than the copy queued");
        assert_eq!(queue.waiting(), [work(1), work(1)]);
        assert_eq!(queue.next_due(), Some(t + secs(2)));
        assert_eq!(queue.pop_due(t + secs(3)), [work(1)]);
        // What is left is the copy due at 5: a push due before it is queued, one after it is not.
        assert!(!queue.push(t + secs(6), work(1)));
        assert!(queue.push(t + secs(4), work(1)));
        assert_eq!(queue.pop_due(t + secs(5)), [work(1), work(1)]);
        assert!(queue.push(t + secs(9), work(1)), "nothing queued any more");
    }

    #[test]
    fn pop_due_takes_only_what_is_due() {
        let t = Instant::now();
        let mut queue = RetryQueue::default();
        for (due, chain) in [(4, 1), (2, 2), (6, 3)] {
            queue.push(t + secs(due), work(chain));
        }
        assert!(queue.pop_due(t + secs(1)).is_empty());
        assert_eq!(queue.pop_due(t + secs(4)), [work(2), work(1)], "due at the instant counts");
        assert_eq!(queue.waiting(), [work(3)]);
        assert_eq!(queue.next_due(), Some(t + secs(6)));
        assert_eq!(queue.pop_due(t + secs(60)), [work(3)]);
        assert_eq!(queue.next_due(), None);
        assert!(queue.waiting().is_empty());
    }

    #[test]
    fn one_unix_moment_is_always_one_instant() {
        let anchor = Anchor::now();
        let expiry = relayer_types::unix_now() + 30;
        let first = anchor.instant_of(expiry);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(anchor.instant_of(expiry), first, "the same expiry, the same due time");
        assert!(anchor.instant_of(0) <= Instant::now(), "a moment past is due at once");
        assert!(anchor.instant_of(u64::MAX) > first, "no overflow for a session that never expires");
    }
}
