//! What a chain's transactions cost the relayer, against the operator's limits: fees paid today (UTC)
//! and in all, the transactions that cost more than a ceiling, and a daily cap beyond which the chain
//! sends nothing new until the next UTC day (transactions already on record still land: a cap never
//! strands one half-sent).
//!
//! The day's figure lives in the chain's store, so a restart (or a crash an attacker provokes, or
//! another instance taking the signing lease over) does not reset it. Amounts are in the family's fee
//! unit ([`Spending::unit`]: EVM gwei, Tron sun, Solana lamports).
//!
//! The attack the cap stops: sessions made to cost the relayer more in fees than they are worth (many
//! small deposits, a calldata call that burns gas up to the limit, fees pushed up on purpose) drain at
//! most one day's cap per chain before the relayer stops and says so (`/readyz`, the logs, the metric).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use relayer_store::ChainStore;
use serde::{Deserialize, Serialize};

const DAY_SECS: u64 = 86_400;
const RECORD_KEY: &[u8] = b"spending/today";

/// The operator's limits for one chain, in the family's fee unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendingLimits {
    /// Fees a UTC day may cost; nothing new is sent once today's reach it.
    pub daily_cap: Option<u64>,
    /// A transaction costing more than this is counted (`relayer_costly_transactions_total`).
    pub costly_above: Option<u64>,
}

/// The figures `/metrics` and `/readyz` show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendingStats {
    /// The fee unit (`gwei`, `sun`, `lamports`).
    pub unit: &'static str,
    /// Fees paid today (UTC), as the store records them.
    pub today: u64,
    /// The daily cap, if any.
    pub daily_cap: Option<u64>,
    /// Transactions that cost more than the ceiling, since the process started.
    pub costly: u64,
}

/// The day's figure as stored.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Day {
    /// Days since 1970-01-01 (UTC).
    day: u64,
    /// Fees paid that day.
    spent: u64,
}

/// A chain's spending (see the module's docs).
pub struct Spending {
    chain_id: u64,
    unit: &'static str,
    limits: SpendingLimits,
    store: Arc<dyn ChainStore>,
    /// The last figure read or written (what `/metrics` shows without a store read).
    today: AtomicU64,
    costly: AtomicU64,
}

impl std::fmt::Debug for Spending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spending").field("chain_id", &self.chain_id).field("limits", &self.limits).finish()
    }
}

/// Why nothing new is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapReached {
    /// What is said (in the work's reason, the logs).
    pub why: String,
    /// When sending resumes: the next UTC midnight, unix seconds.
    pub until: u64,
}

impl Spending {
    /// The spending of `chain_id` (whose fees are counted in `unit`) under `limits`, recorded in `store`.
    pub fn new(
        chain_id: u64,
        unit: &'static str,
        limits: SpendingLimits,
        store: Arc<dyn ChainStore>,
    ) -> Self {
        let spending =
            Self { chain_id, unit, limits, store, today: AtomicU64::new(0), costly: AtomicU64::new(0) };
        spending.today.store(spending.read(relayer_types::unix_now()).spent, Ordering::Relaxed);
        spending
    }

    /// Today's record (a record of another day, or none, or an unreadable one, reads as 0 today).
    fn read(&self, now: u64) -> Day {
        let today = now / DAY_SECS;
        let stored = match self.store.records(self.chain_id) {
            Ok(records) => records.into_iter().find(|(k, _)| k.as_slice() == RECORD_KEY),
            Err(error) => {
                tracing::warn!(chain_id = self.chain_id, error = %crate::causes(&error), "cannot read today's spending");
                None
            }
        };
        match stored.and_then(|(_, bytes)| serde_json::from_slice::<Day>(&bytes).ok()) {
            Some(day) if day.day == today => day,
            _ => Day { day: today, spent: 0 },
        }
    }

    /// Counts a landed transaction that cost `fee`.
    pub fn record(&self, fee: u64) {
        self.record_at(fee, relayer_types::unix_now());
    }

    fn record_at(&self, fee: u64, now: u64) {
        if self.limits.costly_above.is_some_and(|ceiling| fee > ceiling) {
            self.costly.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                chain_id = self.chain_id,
                fee,
                unit = self.unit,
                ceiling = self.limits.costly_above,
                "a transaction cost more than the ceiling"
            );
        }
        let mut day = self.read(now);
        day.spent = day.spent.saturating_add(fee);
        self.today.store(day.spent, Ordering::Relaxed);
        let bytes = serde_json::to_vec(&day).unwrap_or_default();
        if let Err(error) = self.store.put_record(self.chain_id, RECORD_KEY, &bytes) {
            tracing::error!(chain_id = self.chain_id, error = %crate::causes(&error), "cannot record today's spending");
        }
        if let Some(cap) = self.limits.daily_cap
            && day.spent >= cap
            && day.spent.saturating_sub(fee) < cap
        {
            tracing::error!(
                chain_id = self.chain_id,
                spent = day.spent,
                cap,
                unit = self.unit,
                "the daily fee cap is reached: nothing new is sent on this chain until 00:00 UTC"
            );
        }
    }

    /// Whether a new transaction may be sent now (asked before each; fee bumps and resends of what is
    /// on record are not new).
    pub fn check(&self) -> Result<(), CapReached> {
        self.check_at(relayer_types::unix_now())
    }

    fn check_at(&self, now: u64) -> Result<(), CapReached> {
        let Some(cap) = self.limits.daily_cap else { return Ok(()) };
        let day = self.read(now);
        self.today.store(day.spent, Ordering::Relaxed);
        if day.spent < cap {
            return Ok(());
        }
        Err(CapReached {
            why: format!(
                "the daily fee cap of chain {} is reached ({} of {} {}): nothing new is sent until 00:00 UTC",
                self.chain_id, day.spent, cap, self.unit
            ),
            until: (day.day + 1) * DAY_SECS,
        })
    }

    /// The figures, as last read or written.
    pub fn stats(&self) -> SpendingStats {
        SpendingStats {
            unit: self.unit,
            today: self.today.load(Ordering::Relaxed),
            daily_cap: self.limits.daily_cap,
            costly: self.costly.load(Ordering::Relaxed),
        }
    }

    /// The unit fees are counted in.
    pub fn unit(&self) -> &'static str {
        self.unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spending(store: &Arc<relayer_store::SledStore>, limits: SpendingLimits) -> Spending {
        Spending::new(1, "gwei", limits, Arc::clone(store) as Arc<dyn ChainStore>)
    }

    #[test]
    fn the_cap_stops_new_sends_for_the_rest_of_the_utc_day_across_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(relayer_store::SledStore::open(dir.path()).expect("store"));
        let limits = SpendingLimits { daily_cap: Some(100), costly_above: Some(50) };
        let noon = 20_000 * DAY_SECS + DAY_SECS / 2;
        let first = spending(&store, limits);
        assert_eq!(first.check_at(noon), Ok(()));
        first.record_at(40, noon);
        first.record_at(55, noon + 1);
        assert_eq!(first.check_at(noon + 2), Ok(()), "95 of 100");
        first.record_at(5, noon + 3);
        let refused = first.check_at(noon + 4).expect_err("100 of 100");
        assert_eq!(refused.until, 20_001 * DAY_SECS, "until the next UTC midnight");
        assert!(refused.why.contains("100 of 100 gwei"), "{}", refused.why);
        assert_eq!(
            first.stats(),
            SpendingStats { unit: "gwei", today: 100, daily_cap: Some(100), costly: 1 }
        );

        // A restart reads the day's figure back: the cap still holds.
        drop(first);
        let second = spending(&store, limits);
        assert!(second.check_at(noon + 5).is_err(), "a restart does not reset the day");
        // The next day starts at 0.
        assert_eq!(second.check_at(20_001 * DAY_SECS), Ok(()));
        second.record_at(7, 20_001 * DAY_SECS + 1);
        assert_eq!(second.stats().today, 7);
    }

    #[test]
    fn without_limits_nothing_is_refused_and_fees_are_still_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(relayer_store::SledStore::open(dir.path()).expect("store"));
        let s = spending(&store, SpendingLimits::default());
        s.record_at(u64::MAX, 10);
        s.record_at(1, 11);
        assert_eq!(s.check_at(12), Ok(()));
        assert_eq!(s.stats(), SpendingStats { unit: "gwei", today: u64::MAX, daily_cap: None, costly: 0 });
    }
}
