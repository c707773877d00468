//! The engine connects everything: the API asks it to create sessions and set payment methods, the
//! chains feed it confirmed events and report what became of delivery work (it is their
//! [`EventSink`]), and it hands settle/refund work to the chains. It knows chains only through the
//! family-neutral [`Chain`] seam. Every session change goes through the pure state machine and the
//! store's compare-and-swap, and is logged as one structured line. In memory it keeps only what the hot
//! paths need: receiver → session (for the watchers), the expiry queue and the retry queue.
//!
//! One file a job:
//! - `mod.rs`: the [`Engine`], its construction, small accessors, and its [`EventSink`] impl (which only
//!   delegates).
//! - `error.rs`: [`EngineError`], and why a compare-and-swap refused a change.
//! - `sessions.rs`: what the API calls: creating sessions, payment methods, routes and receivers.
//! - `planner.rs`: the pure planner: what to do with what sits at a receiver, and when ([`plan`]).
//! - `reports.rs`: delivery work: scheduling and submitting it, the chains' reports and what state and
//!   follow-up each puts its work in, the retries as they come due, resuming after a restart, the timers.
//! - `retry.rs`: [`RetryPolicy`] and the retry queue (a heap by due time).
//! - `fronting.rs`: the fronting book: when the relayer fronts a bridged session, and what it is owed.
//! - `events.rs`: applying session events and the chains' confirmed events.
//! - `reorg.rs`: undoing what a reorganisation took away.
//! - `attribution.rs`: which session a chain event belongs to.
//! - `counters.rs`: the counters `/metrics` reads, and their labels.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};

use relayer_chain::{BoxFuture, Chain, ChainEvent, EventSink, SinkError, WorkReport};
use relayer_store::{Store, StoreError};
use relayer_types::{ChainAddress, Family, Session, SessionId, SessionStatus, U256};

/// How far ahead an expiry reload looks (see [`Engine::reload_expiries_every`]), in seconds.
pub const EXPIRY_HORIZON_SECS: u64 = 60;

mod attribution;
mod counters;
mod error;
mod events;
mod fronting;
mod planner;
mod reorg;
mod reports;
mod retry;
mod sessions;

pub use counters::Counts;
pub use error::EngineError;
pub use planner::{Plan, Terms, When, plan};
pub use retry::RetryPolicy;
pub use sessions::{NewSession, PaymentRequest};

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    /// Lifetime of a new session.
    pub session_lifetime: Duration,
    /// Retrying work.
    pub retry: RetryPolicy,
}

/// See the module docs.
pub struct Engine {
    store: Arc<dyn Store>,
    chains: BTreeMap<u64, Arc<dyn Chain>>,
    receivers: RwLock<HashMap<ChainAddress, SessionId>>,
    /// How far [`EventSink::refresh_receivers`] has read the store's receivers (held while it reads).
    receiver_mark: Mutex<u64>,
    expiries: Mutex<BTreeSet<(u64, SessionId)>>,
    deliveries: Mutex<Counts>,
    /// Settlements reorganised away after they counted, by chain and outcome.
    orphaned: Mutex<Counts>,
    reports: Mutex<Counts>,
    /// Events that named one of our sessions from a receiver that is not that session's.
    foreign: Mutex<attribution::ForeignEvents>,
    /// Work to submit again once its time comes.
    retries: Mutex<retry::RetryQueue>,
    /// Turns sessions' expiries into due times of the retry queue.
    clock: retry::Anchor,
    /// Sessions found at start-up holding funds not yet settled; drained by [`Engine::resume`].
    unsettled: Mutex<Vec<Session>>,
    /// What the relayer has fronted (or decided to front) and not been repaid, by destination chain and
    /// token, per session: the cap check and `/metrics` read it.
    exposure: Mutex<BTreeMap<(u64, ChainAddress), BTreeMap<SessionId, U256>>>,
    /// Notified after a commit wrote outbox events (the webhook dispatcher waits on it).
    outbox: Arc<tokio::sync::Notify>,
    /// Whether this process runs the chains (always, but for a standby of several instances sharing a
    /// store, which serves the API while another holds the signing lease).
    active: std::sync::atomic::AtomicBool,
    /// The signing lease, where several instances share the store (`/metrics` shows it).
    lease: std::sync::OnceLock<Arc<LeaseGauges>>,
    /// The engine that runs this instance's chains, when it is not this one (an API engine of an
    /// instance holding the signing lease): `/metrics` and `/readyz` report from it.
    worker: Mutex<Option<Arc<Engine>>>,
    /// Where other instances create sessions too: how often the timers reload the expiry queue from
    /// the store, and when they last did.
    expiry_reload: Mutex<Option<(Duration, std::time::Instant)>>,
    settings: EngineSettings,
}

/// Where this instance stands in the signing lease, for `/metrics`.
#[derive(Debug, Default)]
pub struct LeaseGauges {
    /// Whether it holds the lease now.
    pub held: std::sync::atomic::AtomicBool,
    /// The epoch it holds (or last held).
    pub epoch: std::sync::atomic::AtomicU64,
    /// Unix seconds when it took the lease (0: never).
    pub since: std::sync::atomic::AtomicU64,
    /// How many times it took the lease.
    pub takeovers: std::sync::atomic::AtomicU64,
    /// How many times it lost the lease while holding it (renewal refused or too late).
    pub losses: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Engine {
    /// Builds the engine over `chains` and loads its in-memory indexes from the store.
    pub fn new(
        store: Arc<dyn Store>,
        chains: Vec<Arc<dyn Chain>>,
        settings: EngineSettings,
    ) -> Result<Self, StoreError> {
        let engine = Self {
            store,
            chains: chains.into_iter().map(|c| (c.chain_id(), c)).collect(),
            receivers: RwLock::default(),
            receiver_mark: Mutex::default(),
            expiries: Mutex::default(),
            deliveries: Mutex::default(),
            orphaned: Mutex::default(),
            reports: Mutex::default(),
            foreign: Mutex::default(),
            retries: Mutex::default(),
            clock: retry::Anchor::now(),
            unsettled: Mutex::default(),
            exposure: Mutex::default(),
            outbox: Arc::default(),
            active: std::sync::atomic::AtomicBool::new(true),
            lease: std::sync::OnceLock::new(),
            expiry_reload: Mutex::default(),
            worker: Mutex::default(),
            settings,
        };
        // Query-shaped reads: start-up costs what is open, not every session ever stored.
        let receivers: HashMap<ChainAddress, SessionId> = engine.store.receivers()?.into_iter().collect();
        let expiries: BTreeSet<(u64, SessionId)> = engine.store.expiring_sessions()?.into_iter().collect();
        let unsettled = engine.store.unsettled_sessions()?;
        *engine.receivers.write().unwrap_or_else(PoisonError::into_inner) = receivers;
        *lock(&engine.expiries) = expiries;
        *lock(&engine.unsettled) = unsettled;
        // What this relayer fronted and is still owed survives restarts on the sessions themselves.
        for chain in engine.chains.values() {
            let ours = fronting::ours(chain.as_ref());
            if ours.is_empty() || !chain.tokens().iter().any(|t| chain.fronting_cap(&t.address).is_some()) {
                continue;
            }
            for session in engine.store.sessions_touched_since(chain.chain_id(), 0)? {
                // Only sessions delivered here are fronted here (one seen here as a source chain is
                // another chain's to count).
                if session.destination.token.chain_id != chain.chain_id() {
                    continue;
                }
                let owed = fronting::owed_to_us(&session, &ours);
                if !owed.is_zero() {
                    let key = (chain.chain_id(), session.destination.token.address);
                    lock(&engine.exposure).entry(key).or_default().insert(session.id, owed);
                }
            }
            // Frontings sent and not final yet may still land: counted until the chain says what became
            // of them (a fronting of the session, ours or anyone's, settles the figure).
            // A session already fronted (what is owed was counted above), finished or expired has none
            // that can still land (the router fronts a session once, before its expiry).
            let in_flight = chain.frontings_in_flight()?;
            for (session_id, token, amount) in in_flight {
                let Some(session) = engine.store.session(&session_id)?.map(|v| v.value) else { continue };
                if !session.frontings.is_empty()
                    || session.status.is_terminal()
                    || session.expires_at < relayer_types::unix_now()
                {
                    continue;
                }
                lock(&engine.exposure)
                    .entry((chain.chain_id(), token))
                    .or_default()
                    .entry(session_id)
                    .or_insert(amount);
            }
        }
        Ok(engine)
    }

    /// The store (the API reads webhooks and idempotency records from it).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Notified whenever a session change wrote outbox events.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.outbox)
    }

    /// This engine, notifying `outbox` of outbox events (an instance's API engine and the engine that runs
    /// its chains share one, which the webhook dispatcher waits on).
    #[must_use]
    pub fn with_outbox(mut self, outbox: Arc<tokio::sync::Notify>) -> Self {
        self.outbox = outbox;
        self
    }

    /// Marks this engine as one that runs the chains (`true`) or serves only the API while another
    /// instance holds the signing lease (`false`): a standby is ready without watching any chain, and
    /// leaves transaction hints to the holder's watchers.
    pub fn set_active(&self, active: bool) {
        self.active.store(active, std::sync::atomic::Ordering::SeqCst);
    }

    /// Has the timers reload the sessions that can expire from the store every `every`: other instances
    /// sharing the store create sessions this engine never hears of (a session found late expires at the
    /// next reload; any read of it through the API expires it anyway). Each reload reads only the
    /// sessions expiring within [`EXPIRY_HORIZON_SECS`], so its cost follows those, not every open
    /// session; `every` must be well below that horizon.
    pub fn reload_expiries_every(&self, every: Duration) {
        *lock(&self.expiry_reload) = Some((every, std::time::Instant::now()));
    }

    /// How many sessions wait in this engine's expiry queue.
    pub fn expiries_queued(&self) -> usize {
        lock(&self.expiries).len()
    }

    /// Reloads the expiry queue if its time has come (see [`Engine::reload_expiries_every`]).
    pub(crate) fn reload_expiries_if_due(&self) {
        let mut reload = lock(&self.expiry_reload);
        let Some((every, last)) = reload.as_mut() else { return };
        if last.elapsed() < *every {
            return;
        }
        *last = std::time::Instant::now();
        drop(reload);
        match self.store.expiring_before(relayer_types::unix_now().saturating_add(EXPIRY_HORIZON_SECS)) {
            Ok(expiring) => lock(&self.expiries).extend(expiring),
            Err(error) => {
                tracing::warn!(error = %relayer_util::causes(&error), "cannot reload expiring sessions; will retry")
            }
        }
    }

    /// Sets (or clears) the engine that runs this instance's chains on its behalf.
    pub fn set_worker(&self, worker: Option<Arc<Self>>) {
        *lock(&self.worker) = worker;
    }

    /// The engine whose counters and chains describe this instance: the one running its chains if that
    /// is another, else this one.
    pub fn reporter(self: &Arc<Self>) -> Arc<Self> {
        lock(&self.worker).clone().unwrap_or_else(|| Arc::clone(self))
    }

    /// Refuses chain events, reorgs and reports once this instance may no longer sign (a former holder
    /// of the signing lease that was paused or cut off): what it would apply, the holder applies.
    fn fenced(&self) -> Result<(), SinkError> {
        self.store.may_sign().map_err(|e| SinkError::new(e, true))
    }

    /// Whether this engine runs the chains.
    pub fn is_active(&self) -> bool {
        self.active.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The lease gauges `/metrics` shows (set once, by a node that shares its store).
    pub fn lease_gauges(&self) -> Option<&Arc<LeaseGauges>> {
        self.lease.get()
    }

    /// Shows `gauges` in `/metrics`.
    pub fn set_lease_gauges(&self, gauges: Arc<LeaseGauges>) {
        let _ = self.lease.set(gauges);
    }

    /// Configured chains, by id.
    pub fn chains(&self) -> &BTreeMap<u64, Arc<dyn Chain>> {
        &self.chains
    }

    /// The configured chain `chain_id`.
    pub fn chain(&self, chain_id: u64) -> Result<&Arc<dyn Chain>, EngineError> {
        self.chains.get(&chain_id).ok_or(EngineError::ChainNotConfigured(chain_id))
    }

    /// Whether the store takes a durable write now.
    pub fn store_probe(&self) -> Result<(), StoreError> {
        self.store.probe()
    }

    /// What keeps the relayer from being ready (empty: ready): a store that cannot take durable writes,
    /// a watcher further behind its chain's head than its budget, or a chain not reached yet.
    pub fn readiness(&self) -> Vec<String> {
        let mut problems = vec![];
        if let Err(error) = self.store_probe() {
            problems.push(format!("store cannot write: {}", relayer_util::causes(&error)));
        }
        if !self.is_active() {
            return problems; // a standby: another instance watches the chains
        }
        for (id, chain) in &self.chains {
            let stats = chain.stats();
            if stats.head == 0 {
                problems.push(format!("chain {id}: no block seen yet"));
            } else if stats.lag() > stats.lag_budget {
                problems.push(format!(
                    "chain {id}: watcher {} blocks behind the head (budget {})",
                    stats.lag(),
                    stats.lag_budget
                ));
            }
            for gauge in stats.account.iter().flatten().filter(|g| g.amount < g.floor) {
                problems.push(if gauge.read {
                    format!(
                        "chain {id}: the relayer's {} key has {} {} left, below the floor of {}",
                        gauge.role, gauge.amount, gauge.resource, gauge.floor
                    )
                } else {
                    format!(
                        "chain {id}: the relayer's {} key's {} cannot be read (not yet, or the reads keep failing), so it may not pay for the next transaction",
                        gauge.role, gauge.resource
                    )
                });
            }
            if let Some(s) = stats.spending
                && let Some(cap) = s.daily_cap
                && s.today >= cap
            {
                problems.push(format!(
                    "chain {id}: the daily fee cap is reached ({} of {cap} {}): nothing new is sent until 00:00 UTC",
                    s.today, s.unit
                ));
            }
            if stats.unowned_sends > 0 {
                problems.push(format!(
                    "chain {id}: {} transactions on record were signed by a key not configured here, or by a retiring key that could not be used at start; their work waits (configure the key under [[signer.retiring]], usable)",
                    stats.unowned_sends
                ));
            }
            if stats.unreadable_sends > 0 {
                problems.push(format!(
                    "chain {id}: {} send records cannot be read (see the logs); what they describe may be in flight",
                    stats.unreadable_sends
                ));
            }
        }
        problems
    }

    /// Sessions by status, as the store keeps them (in the same transaction as every session write).
    pub fn status_counts(&self) -> Result<HashMap<SessionStatus, u64>, EngineError> {
        Ok(self.store.status_counts()?)
    }
}

impl EventSink for Engine {
    fn session_for_receiver(&self, receiver: ChainAddress) -> Option<SessionId> {
        self.receivers.read().unwrap_or_else(PoisonError::into_inner).get(&receiver).copied()
    }

    fn refresh_receivers(&self) -> Result<(), SinkError> {
        // Not held across the read (a slow database must not block every watcher's thread); two
        // watchers refreshing at once read some receivers twice, which changes nothing.
        let mark = *lock(&self.receiver_mark);
        let fresh = self.store.receivers_since(mark).map_err(|e| EngineError::from(e).into_sink())?;
        if let Some((found, next)) = fresh {
            if !found.is_empty() {
                self.receivers.write().unwrap_or_else(PoisonError::into_inner).extend(found);
            }
            let mut mark = lock(&self.receiver_mark);
            *mark = (*mark).max(next);
        }
        Ok(())
    }

    fn receivers_of(&self, family: Family) -> Vec<(ChainAddress, SessionId)> {
        let receivers = self.receivers.read().unwrap_or_else(PoisonError::into_inner);
        receivers.iter().filter(|(r, _)| r.family() == family).map(|(r, id)| (*r, *id)).collect()
    }

    /// From the store; a session that cannot be read counts as not terminal (watched as usual).
    fn terminal(&self, sessions: &[SessionId]) -> Vec<bool> {
        sessions
            .iter()
            .map(|id| matches!(self.store.session(id), Ok(Some(s)) if s.value.status.is_terminal()))
            .collect()
    }

    fn apply(&self, chain_id: u64, events: Vec<ChainEvent>) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            self.fenced()?;
            self.apply_chain_events(chain_id, events).await.map_err(EngineError::into_sink)
        })
    }

    fn reorg(&self, chain_id: u64, from_block: u64) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            self.fenced()?;
            self.reorg_from(chain_id, from_block).await.map_err(EngineError::into_sink)
        })
    }

    fn report(&self, report: WorkReport) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(error) = self.fenced() {
                // The holder reconciles this work from the send records and the chain.
                tracing::warn!(error = %relayer_util::causes(&error), "work report dropped: no longer the signing lease's holder");
                return;
            }
            self.handle_report(report);
        })
    }
}
