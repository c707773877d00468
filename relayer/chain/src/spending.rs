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
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use relayer_store::ChainStore;
use serde::{Deserialize, Serialize};

use crate::Refusal;

/// Seconds in a UTC day: a day is `unix seconds / DAY_SECS`.
pub const DAY_SECS: u64 = 86_400;
const RECORD_KEY: &[u8] = b"spending/today";

/// The operator's limits for one chain, in the family's fee unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendingLimits {
    /// Fees a UTC day may cost; nothing new is sent once today's reach it.
    pub daily_cap: Option<u64>,
    /// A transaction costing more than this is counted (`relayer_costly_transactions_total`).
    pub costly_above: Option<u64>,
}

impl SpendingLimits {
    /// Limits written in whole coins (`max_daily_fees`, `costly_fee`, e.g. `"0.5"`), counted in the
    /// fee unit `decimals` below the coin (EVM: 9, gwei; Tron: 6, sun; Solana: 9, lamports). A cap of 0
    /// is refused (it would stop every delivery and refund: leave it out for no cap). `at` names a field.
    pub fn parse(
        max_daily_fees: Option<&str>,
        costly_fee: Option<&str>,
        decimals: u8,
        at: impl Fn(&str) -> String,
    ) -> Result<Self, relayer_util::FieldError> {
        let units = |coins: Option<&str>, name: &str| -> Result<Option<u64>, relayer_util::FieldError> {
            let Some(coins) = coins else { return Ok(None) };
            let units = relayer_types::parse_units(coins, decimals)
                .map_err(|e| relayer_util::FieldError::new(at(name), e.to_string()))?;
            u64::try_from(units)
                .map(Some)
                .map_err(|_| relayer_util::FieldError::new(at(name), "is too large"))
        };
        let daily_cap = units(max_daily_fees, "max_daily_fees")?;
        if daily_cap == Some(0) {
            return Err(relayer_util::FieldError::new(
                at("max_daily_fees"),
                "must be above 0 (0 would stop every delivery and refund; leave it out for no cap)",
            ));
        }
        Ok(Self { daily_cap, costly_above: units(costly_fee, "costly_fee")? })
    }
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
    seen: Mutex<Seen>,
    /// One read-and-write of the day's figure at a time (the current key's and retiring keys' executors
    /// record concurrently).
    writing: Mutex<()>,
    /// Fees a failed read or write could not record yet.
    unrecorded: AtomicU64,
    costly: AtomicU64,
}

impl std::fmt::Debug for Spending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spending").field("chain_id", &self.chain_id).field("limits", &self.limits).finish()
    }
}

/// The day's figure as last read or written, for `/metrics` without a store read.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    day: u64,
    spent: u64,
}

impl Spending {
    /// The spending of `chain_id` (whose fees are counted in `unit`) under `limits`, recorded in `store`.
    pub fn new(
        chain_id: u64,
        unit: &'static str,
        limits: SpendingLimits,
        store: Arc<dyn ChainStore>,
    ) -> Self {
        let spending = Self {
            chain_id,
            unit,
            limits,
            store,
            seen: Mutex::new(Seen::default()),
            writing: Mutex::new(()),
            unrecorded: AtomicU64::new(0),
            costly: AtomicU64::new(0),
        };
        let _ = spending.read(relayer_types::unix_now());
        spending
    }

    /// Today's record (none, or one of an earlier day, is 0 today; an unparsable one too, said in the
    /// log). A record of a later day (another instance's clock, or this one's correction of the day
    /// before, late) is that day's: it is never overwritten as today's. `Err` when the store cannot be
    /// read.
    fn read(&self, now: u64) -> Result<Day, String> {
        let today = now / DAY_SECS;
        let records = self.store.records(self.chain_id).map_err(|e| crate::causes(&e))?;
        let stored = records.into_iter().find(|(k, _)| k.as_slice() == RECORD_KEY);
        let day = match stored.map(|(_, bytes)| serde_json::from_slice::<Day>(&bytes)) {
            Some(Ok(day)) if day.day >= today => day,
            Some(Err(error)) => {
                tracing::error!(chain_id = self.chain_id, %error, "today's spending record cannot be read; counting from 0");
                Day { day: today, spent: 0 }
            }
            _ => Day { day: today, spent: 0 },
        };
        *lock(&self.seen) = Seen { day: day.day, spent: day.spent };
        Ok(day)
    }

    /// Adds `fee` to today's figure (`subtract`: takes it off), in one read and write under the lock.
    /// What a failed write (or read) could not record is kept and added to the next one that works.
    fn add(&self, fee: u64, subtract: bool, now: u64) {
        let _ = self.add_checked(fee, subtract, now, false);
    }

    /// [`Spending::add`]; with `checked`, refused (nothing added) when the cap is reached or the day's
    /// figure cannot be read, in the same read and write, so two transactions cannot both pass one check.
    fn add_checked(&self, fee: u64, subtract: bool, now: u64, checked: bool) -> Result<(), Refusal> {
        let checked = checked && self.limits.daily_cap.is_some();
        let _one_at_a_time = lock(&self.writing);
        let mut day = match self.read(now) {
            Ok(day) => day,
            Err(error) if checked => {
                return Err(Refusal::Unanswered(format!(
                    "cannot read today's spending of chain {}: {error}",
                    self.chain_id
                )));
            }
            Err(error) => {
                if !subtract {
                    self.unrecorded.fetch_add(fee, Ordering::Relaxed);
                }
                tracing::error!(chain_id = self.chain_id, %error, "cannot read today's spending; counted at the next write");
                return Ok(());
            }
        };
        if checked && let Some(refused) = self.refusal(&day) {
            return Err(refused);
        }
        if subtract && day.day > now / DAY_SECS {
            return Ok(()); // a correction of an earlier day does not lower a later one
        }
        let carried = self.unrecorded.swap(0, Ordering::Relaxed);
        let before = day.spent;
        day.spent = if subtract {
            day.spent.saturating_sub(fee).saturating_add(carried)
        } else {
            day.spent.saturating_add(fee).saturating_add(carried)
        };
        let bytes = serde_json::to_vec(&day).unwrap_or_default();
        if let Err(error) = self.store.put_record(self.chain_id, RECORD_KEY, &bytes) {
            self.unrecorded
                .fetch_add(if subtract { carried } else { fee.saturating_add(carried) }, Ordering::Relaxed);
            tracing::error!(chain_id = self.chain_id, error = %crate::causes(&error), "cannot record today's spending; counted at the next write");
            return Ok(());
        }
        *lock(&self.seen) = Seen { day: day.day, spent: day.spent };
        if let Some(cap) = self.limits.daily_cap
            && day.spent >= cap
            && before < cap
        {
            tracing::error!(
                chain_id = self.chain_id,
                spent = day.spent,
                cap,
                unit = self.unit,
                "the daily fee cap is reached: nothing new is sent on this chain until 00:00 UTC"
            );
        }
        Ok(())
    }

    /// A new transaction is about to be sent: the most it may cost (its gas limit at its fee cap)
    /// counts at once, so transactions in flight together cannot overrun the cap; refused (nothing
    /// counted) once the cap is reached. [`Spending::landed`] corrects it.
    pub fn try_reserve(&self, most: u64) -> Result<(), Refusal> {
        self.add_checked(most, false, relayer_types::unix_now(), true)
    }

    /// Counts `most` without asking (a fee bump's increase, a filler: what is already in flight must
    /// land).
    pub fn reserve(&self, most: u64) {
        self.add(most, false, relayer_types::unix_now());
    }

    /// A transaction is final at `now`: it cost `actual`, and `reserved` of what was reserved for it
    /// was reserved on `now`'s day (an earlier day's reservation stays that day's).
    pub fn landed(&self, reserved: u64, actual: u64, now: u64) {
        if self.limits.costly_above.is_some_and(|ceiling| actual > ceiling) {
            self.costly.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                chain_id = self.chain_id,
                fee = actual,
                unit = self.unit,
                ceiling = self.limits.costly_above,
                "a transaction cost more than the ceiling"
            );
        }
        if reserved >= actual {
            self.add(reserved - actual, true, now);
        } else {
            self.add(actual - reserved, false, now);
        }
    }

    /// Whether a new transaction may be sent now (asked before each new piece of work; fee bumps and
    /// resends of what is on record are not new). A store that cannot be read answers "not yet".
    pub fn check(&self) -> Result<(), Refusal> {
        self.check_at(relayer_types::unix_now())
    }

    fn check_at(&self, now: u64) -> Result<(), Refusal> {
        if self.limits.daily_cap.is_none() {
            return Ok(());
        }
        let day = self.read(now).map_err(|e| {
            Refusal::Unanswered(format!("cannot read today's spending of chain {}: {e}", self.chain_id))
        })?;
        self.refusal(&day).map_or(Ok(()), Err)
    }

    /// The refusal while `day` (with what is not recorded yet) is at the cap.
    fn refusal(&self, day: &Day) -> Option<Refusal> {
        let cap = self.limits.daily_cap?;
        let spent = day.spent.saturating_add(self.unrecorded.load(Ordering::Relaxed));
        (spent >= cap).then(|| Refusal::DailyCapReached {
            why: format!(
                "the daily fee cap of chain {} is reached ({} of {} {}): nothing new is sent until 00:00 UTC",
                self.chain_id, spent, cap, self.unit
            ),
            until: (day.day + 1) * DAY_SECS,
        })
    }

    /// The figures, as last read or written (0 once that was another day).
    pub fn stats(&self) -> SpendingStats {
        self.stats_at(relayer_types::unix_now())
    }

    fn stats_at(&self, now: u64) -> SpendingStats {
        let seen = *lock(&self.seen);
        let today = if seen.day == now / DAY_SECS { seen.spent } else { 0 };
        SpendingStats {
            unit: self.unit,
            today: today.saturating_add(self.unrecorded.load(Ordering::Relaxed)),
            daily_cap: self.limits.daily_cap,
            costly: self.costly.load(Ordering::Relaxed),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spending(store: &Arc<relayer_store::SledStore>, limits: SpendingLimits) -> Spending {
        Spending::new(1, "gwei", limits, Arc::clone(store) as Arc<dyn ChainStore>)
    }

    #[test]
    fn the_cap_counts_what_is_in_flight_and_holds_for_the_rest_of_the_utc_day_across_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(relayer_store::SledStore::open(dir.path()).expect("store"));
        let limits = SpendingLimits { daily_cap: Some(100), costly_above: Some(50) };
        let noon = 20_000 * DAY_SECS + DAY_SECS / 2;
        let first = spending(&store, limits);
        assert_eq!(first.check_at(noon), Ok(()));
        // Two transactions signed, neither final: each counts at the most it may cost.
        first.add(60, false, noon);
        first.add(45, false, noon + 1);
        let refused = first.check_at(noon + 2).expect_err("105 of 100 reserved");
        let Refusal::DailyCapReached { why, until } = refused else { panic!("{refused:?}") };
        assert_eq!(until, 20_001 * DAY_SECS, "until the next UTC midnight");
        assert!(why.contains("105 of 100 gwei"), "{why}");
        assert!(first.add_checked(1, false, noon + 2, true).is_err(), "a reservation is refused at the cap");
        // They land for less: the day's figure is corrected, and the costly one counted.
        first.landed(60, 55, noon + 3);
        first.landed(45, 20, noon + 4);
        assert_eq!(first.check_at(noon + 5), Ok(()), "75 of 100");
        let stats = first.stats_at(noon + 5);
        assert_eq!(stats, SpendingStats { unit: "gwei", today: 75, daily_cap: Some(100), costly: 1 });
        first.add(30, false, noon + 6);

        // A restart reads the day's figure back: the cap still holds.
        drop(first);
        let second = spending(&store, limits);
        assert!(second.check_at(noon + 7).is_err(), "a restart does not reset the day");
        // The next day starts at 0; a reservation of the day before is not taken off it.
        assert_eq!(second.check_at(20_001 * DAY_SECS), Ok(()));
        second.landed(0, 7, 20_001 * DAY_SECS + 1);
        assert_eq!(second.read(20_001 * DAY_SECS + 2).expect("read").spent, 7);
    }

    #[test]
    fn without_limits_nothing_is_refused_and_fees_are_still_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(relayer_store::SledStore::open(dir.path()).expect("store"));
        let s = spending(&store, SpendingLimits::default());
        s.add(u64::MAX, false, relayer_types::unix_now());
        s.add(1, false, relayer_types::unix_now());
        assert_eq!(s.check_at(12), Ok(()));
        assert_eq!(s.stats(), SpendingStats { unit: "gwei", today: u64::MAX, daily_cap: None, costly: 0 });
    }

    /// Found by review: a correction of the day before, written just after midnight, overwrote the new
    /// day's figure as its own.
    #[test]
    fn a_late_correction_of_yesterday_never_lowers_today() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(relayer_store::SledStore::open(dir.path()).expect("store"));
        let s = spending(&store, SpendingLimits { daily_cap: Some(1_000), costly_above: None });
        let midnight = 20_001 * DAY_SECS;
        s.add(300, false, midnight + 5); // the new day's first reservation
        s.landed(200, 50, midnight - 1); // yesterday's transaction, corrected late
        assert_eq!(s.read(midnight + 6).expect("read").spent, 300, "today's figure is untouched");
        s.add(10, false, midnight - 1); // a late addition still counts (on the later day)
        assert_eq!(s.read(midnight + 7).expect("read").spent, 310);
    }

    #[test]
    fn yesterdays_figure_is_not_shown_today() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(relayer_store::SledStore::open(dir.path()).expect("store"));
        let s = spending(&store, SpendingLimits { daily_cap: Some(10), costly_above: None });
        s.add(50, false, relayer_types::unix_now() - DAY_SECS);
        assert_eq!(s.stats().today, 0, "a figure of another day");
        assert_eq!(s.stats_at(relayer_types::unix_now() - DAY_SECS).today, 50);
    }
}
