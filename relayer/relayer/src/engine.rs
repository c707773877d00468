//! The engine connects everything: the API asks it to create sessions and set payment methods, the
//! watchers feed it confirmed chain events (it is their [`EventSink`]), and it hands settle/refund work
//! to the executors. Every session change goes through the pure state machine and the store's
//! compare-and-swap, and is logged as one structured line. In memory it keeps only what the hot paths
//! need: receiver → session (for the watchers) and the expiry queue.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use relayer_evm::{
    EvmChain, commitment,
    executor::{ExecutorHandle, Job},
    watcher::{ChainEvent, EventSink, SinkError, decode_logs},
};
use relayer_store::{Store, StoreError, UpdateError, update_session};
use relayer_types::{
    Action, ClientSecret, Destination, DisplayInfo, PaymentMethod, Session, SessionEvent, SessionId,
    SessionStatus, StateError, unix_now,
};
use tokio_util::sync::CancellationToken;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such session.
    #[error("session not found")]
    NotFound,
    /// The state machine refused.
    #[error(transparent)]
    State(#[from] StateError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session's destination chain is not (or no longer) configured on this relayer.
    #[error("chain {0} is not configured")]
    ChainNotConfigured(u64),
}

impl From<UpdateError<StateError>> for EngineError {
    fn from(e: UpdateError<StateError>) -> Self {
        match e {
            UpdateError::Store(StoreError::NotFound(_)) => Self::NotFound,
            UpdateError::Store(s) => Self::Store(s),
            UpdateError::Rejected(s) => Self::State(s),
        }
    }
}

/// A validated create-session request.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Destination (no delivery yet).
    pub destination: Destination,
    /// Display settings.
    pub display: DisplayInfo,
    /// Integrator metadata.
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
    /// Refund address, if given.
    pub refund_address: Option<Address>,
}

/// Delivery counters by (chain, outcome), for metrics.
pub type DeliveryCounts = BTreeMap<(u64, &'static str), u64>;

/// See the module docs.
pub struct Engine {
    store: Arc<dyn Store>,
    chains: BTreeMap<u64, Arc<EvmChain>>,
    executors: HashMap<u64, ExecutorHandle>,
    receivers: RwLock<HashMap<Address, SessionId>>,
    expiries: Mutex<BTreeSet<(u64, SessionId)>>,
    deliveries: Mutex<DeliveryCounts>,
    /// Sessions found at start-up holding funds not yet settled; drained by [`Engine::resume`].
    unsettled: Mutex<Vec<Session>>,
    lifetime: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Engine {
    /// Builds the engine and loads its in-memory indexes from the store.
    pub fn new(
        store: Arc<dyn Store>,
        chains: BTreeMap<u64, Arc<EvmChain>>,
        executors: HashMap<u64, ExecutorHandle>,
        lifetime: Duration,
    ) -> Result<Self, StoreError> {
        let engine = Self {
            store,
            chains,
            executors,
            receivers: RwLock::default(),
            expiries: Mutex::default(),
            deliveries: Mutex::default(),
            unsettled: Mutex::default(),
            lifetime,
        };
        // Query-shaped reads: start-up costs what is open, not every session ever stored.
        let receivers: HashMap<Address, SessionId> = engine.store.receivers()?.into_iter().collect();
        let expiries: BTreeSet<(u64, SessionId)> = engine.store.expiring_sessions()?.into_iter().collect();
        let unsettled = engine.store.unsettled_sessions()?;
        *engine.receivers.write().unwrap_or_else(PoisonError::into_inner) = receivers;
        *lock(&engine.expiries) = expiries;
        *lock(&engine.unsettled) = unsettled;
        Ok(engine)
    }

    /// Configured chains.
    pub fn chains(&self) -> &BTreeMap<u64, Arc<EvmChain>> {
        &self.chains
    }

    /// Sessions by status, as the store keeps them (in the same transaction as every session write).
    pub fn status_counts(&self) -> Result<HashMap<SessionStatus, u64>, EngineError> {
        Ok(self.store.status_counts()?)
    }

    /// Settlements seen, by chain and outcome.
    pub fn delivery_counts(&self) -> DeliveryCounts {
        lock(&self.deliveries).clone()
    }

    /// Creates and durably stores a session.
    pub fn create_session(&self, new: NewSession) -> Result<Session, EngineError> {
        let now = unix_now();
        let session = Session {
            id: SessionId::from_bytes(crate::random_bytes()),
            client_secret: ClientSecret::from_bytes(crate::random_bytes()),
            status: SessionStatus::RequiresPaymentMethod,
            destination: new.destination,
            display: new.display,
            metadata: new.metadata,
            refund_address: new.refund_address,
            payment_method: None,
            created_at: now,
            expires_at: now + self.lifetime.as_secs(),
            deposits: vec![],
            settlements: vec![],
        };
        self.store.insert_session(&session)?;
        lock(&self.expiries).insert((session.expires_at, session.id));
        tracing::info!(session_id = %session.id, chain_id = session.destination.token.chain_id, status = session.status.as_str(), "session created");
        Ok(session)
    }

    /// The session, with expiry applied if it is due (so no read shows a stale open status).
    pub fn session(&self, id: &SessionId) -> Result<Session, EngineError> {
        self.apply(id, SessionEvent::Tick { now: unix_now() }, None)
    }

    /// Sets the EVM payment method: the session's receiver address. The receiver follows from fields
    /// fixed at creation, so any loaded copy of the session serves; the status check runs on the latest.
    pub fn set_evm_payment_method(&self, session: &Session) -> Result<Session, EngineError> {
        let id = &session.id;
        let receiver = self.receiver_of(session)?;
        let method = PaymentMethod::Evm { receiver, source: None, created_at: unix_now() };
        // Index before the status change is visible: a deposit seen right after must find its session.
        self.store.index_receiver(receiver, id)?;
        self.receivers.write().unwrap_or_else(PoisonError::into_inner).insert(receiver, *id);
        self.apply(id, SessionEvent::PaymentMethodSet { method, now: unix_now() }, None)
    }

    /// The session's receiver address (the same on every configured EVM chain). Fails, rather than
    /// panicking in a request handler, when the session's destination chain is not configured (a
    /// session stored before the operator removed its chain from the config).
    pub fn receiver_of(&self, session: &Session) -> Result<Address, EngineError> {
        let chain_id = session.destination.token.chain_id;
        let chain = self.chains.get(&chain_id).ok_or(EngineError::ChainNotConfigured(chain_id))?;
        Ok(chain.deployment.receiver(&commitment(session)))
    }

    /// Looks at `tx_hash` right away on every chain and applies confirmed deposits into known receivers.
    pub async fn check_transaction(&self, tx_hash: B256) -> Result<(), EngineError> {
        for chain in self.chains.values() {
            let Ok(Some(receipt)) =
                chain.rpc(chain.provider.get_transaction_receipt(tx_hash).into_future()).await
            else {
                continue;
            };
            let Some(block) = receipt.block_number else {
                continue;
            };
            let Ok(head) = chain.rpc(chain.provider.get_block_number().into_future()).await else {
                continue;
            };
            if head + 1 < block + chain.spec.confirmations {
                continue; // not confirmed yet; the watcher will pick it up
            }
            let events = decode_logs(chain, self, receipt.inner.logs());
            if let Err(error) = self.apply_chain_events(chain.spec.chain_id, events).await {
                tracing::warn!(%tx_hash, %error, "applying hinted transaction failed");
            }
        }
        Ok(())
    }

    /// Applies one event to one session and records what changed.
    fn apply(&self, id: &SessionId, event: SessionEvent, tx: Option<B256>) -> Result<Session, EngineError> {
        self.apply_event(id, event, tx).map(|(session, _)| session)
    }

    /// Like [`Self::apply`], also telling whether the event changed anything (false for a replay).
    fn apply_event(
        &self,
        id: &SessionId,
        event: SessionEvent,
        tx: Option<B256>,
    ) -> Result<(Session, bool), EngineError> {
        let mut transition = None;
        let session = update_session(self.store.as_ref(), id, |s| {
            let applied = s.apply(event.clone())?;
            transition = Some(applied);
            Ok(applied.changed)
        })?;
        if let Some(t) = transition.filter(|t| t.from != t.to) {
            if t.to.is_terminal() || t.to == SessionStatus::Processing {
                lock(&self.expiries).remove(&(session.expires_at, session.id));
            } else {
                lock(&self.expiries).insert((session.expires_at, session.id));
            }
            tracing::info!(
                session_id = %id,
                chain_id = session.destination.token.chain_id,
                tx_hash = tx.map(|h| h.to_string()).unwrap_or_default(),
                from = t.from.as_str(),
                to = t.to.as_str(),
                "session status changed"
            );
        }
        Ok((session, transition.is_some_and(|t| t.changed)))
    }

    async fn apply_chain_events(&self, chain_id: u64, events: Vec<ChainEvent>) -> Result<(), EngineError> {
        for event in events {
            match event {
                ChainEvent::Deposit { session, deposit } => {
                    let (token, tx) = (deposit.token.address, deposit.event.tx_hash);
                    tracing::info!(session_id = %session, chain_id, tx_hash = %tx, amount = %deposit.amount, "deposit confirmed");
                    match self.apply_event(&session, SessionEvent::DepositDetected(deposit), Some(tx)) {
                        Err(EngineError::NotFound) => continue,
                        Err(e) => return Err(e),
                        // A replayed deposit was scheduled when first seen (or by `resume` after a restart).
                        Ok((_, false)) => {}
                        Ok((updated, true)) => self.schedule(&updated, chain_id, token).await,
                    }
                }
                ChainEvent::Settled { session, settlement } => {
                    let tx = settlement.event.tx_hash;
                    let outcome = match settlement.outcome {
                        relayer_types::Outcome::Delivered => "delivered",
                        relayer_types::Outcome::Bounced => "bounced",
                        relayer_types::Outcome::Refunded => "refunded",
                    };
                    match self.apply_event(&session, SessionEvent::Settled(settlement), Some(tx)) {
                        Err(EngineError::NotFound) => continue,
                        Err(e) => return Err(e),
                        Ok((_, false)) => {}
                        Ok((_, true)) => *lock(&self.deliveries).entry((chain_id, outcome)).or_default() += 1,
                    }
                }
            }
        }
        Ok(())
    }

    /// Decides what to do with funds that arrived at a session's receiver and queues it.
    async fn schedule(&self, session: &Session, chain_id: u64, token: Address) {
        let dest = &session.destination.token;
        let action =
            if chain_id == dest.chain_id && token == dest.address && session.status != SessionStatus::Expired
            {
                Action::Settle { token }
            } else {
                // Expired sessions and tokens or chains the session cannot use: back to the refund address
                // (the router allows it after expiry, or at once for unusable tokens).
                Action::Refund { token }
            };
        let Some(executor) = self.executors.get(&chain_id) else {
            tracing::error!(chain_id, session_id = %session.id, "no executor for chain");
            return;
        };
        let job = Job { session_id: session.id, params: commitment(session), action };
        if executor.submit(job).await.is_err() {
            tracing::error!(chain_id, session_id = %session.id, "executor stopped; job not queued");
        }
    }

    /// Re-queues work for the sessions [`Engine::new`] found holding funds not yet settled (after a
    /// restart); the executors' simulation drops what turns out to be settled already.
    pub async fn resume(&self) {
        let unsettled = std::mem::take(&mut *lock(&self.unsettled));
        for session in unsettled {
            let mut seen = BTreeSet::new();
            for d in &session.deposits {
                if seen.insert((d.event.chain_id, d.token.address)) {
                    self.schedule(&session, d.event.chain_id, d.token.address).await;
                }
            }
        }
    }

    /// Expires sessions as their time comes, until `cancel`.
    pub async fn run_expiry(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let now = unix_now();
            let due: Vec<SessionId> = {
                let expiries = lock(&self.expiries);
                expiries.iter().take_while(|(at, _)| *at <= now).map(|(_, id)| *id).collect()
            };
            // `apply` takes expired sessions out of the queue; a failure leaves them in for a retry.
            for id in due {
                if let Err(error) = self.apply(&id, SessionEvent::Tick { now }, None) {
                    tracing::warn!(session_id = %id, %error, "expiry failed; will retry");
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }
}

impl EventSink for Engine {
    fn session_for_receiver(&self, receiver: Address) -> Option<SessionId> {
        self.receivers.read().unwrap_or_else(PoisonError::into_inner).get(&receiver).copied()
    }

    async fn apply(&self, chain_id: u64, events: Vec<ChainEvent>) -> Result<(), SinkError> {
        self.apply_chain_events(chain_id, events).await.map_err(|e| SinkError(e.to_string()))
    }

    async fn reorg(&self, chain_id: u64, from_block: u64) -> Result<(), SinkError> {
        let mut orphaned = vec![];
        let touched =
            self.store.sessions_touched_since(chain_id, from_block).map_err(|e| SinkError(e.to_string()))?;
        for s in touched {
            for d in &s.deposits {
                if d.event.chain_id == chain_id && d.event.block_number >= from_block {
                    orphaned.push((s.id, d.event));
                }
            }
            if s.settlements
                .iter()
                .any(|x| x.event.chain_id == chain_id && x.event.block_number >= from_block)
            {
                tracing::error!(session_id = %s.id, chain_id, from_block, "a settlement was reorganised away; deeper than the confirmations allow for");
            }
        }
        for (id, event) in orphaned {
            tracing::warn!(session_id = %id, chain_id, tx_hash = %event.tx_hash, "deposit orphaned by reorg");
            Engine::apply(self, &id, SessionEvent::DepositOrphaned(event), Some(event.tx_hash))
                .map_err(|e| SinkError(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use relayer_evm::chain::ChainSpec;
    use relayer_store::{SledStore, conformance};

    use super::*;

    fn chain(chain_id: u64) -> Arc<EvmChain> {
        let spec = ChainSpec {
            chain_id,
            name: "Base".into(),
            rpc_url: "http://127.0.0.1:9".into(), // never contacted by these tests
            router: Address::repeat_byte(0xaa),
            tokens: vec![],
            confirmations: 1,
            poll_interval: Duration::from_secs(1),
            start_block: None,
            max_block_range: 1000,
            rpc_timeout: Duration::from_secs(1),
        };
        Arc::new(EvmChain::connect(spec).expect("chain"))
    }

    #[test]
    fn a_session_for_a_chain_no_longer_configured_is_refused_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
        let mut orphan = conformance::session(1); // destination on chain 8453
        orphan.expires_at = u64::MAX;
        store.insert_session(&orphan).expect("insert");
        // The operator since removed chain 8453 from the config; only chain 1 is served.
        let chains = BTreeMap::from([(1, chain(1))]);
        let engine = Engine::new(store, chains, HashMap::new(), Duration::from_secs(3600)).expect("engine");

        assert!(matches!(engine.receiver_of(&orphan), Err(EngineError::ChainNotConfigured(8453))));
        let refused = engine.set_evm_payment_method(&orphan);
        assert!(matches!(refused, Err(EngineError::ChainNotConfigured(8453))), "{refused:?}");
        let stored = engine.session(&orphan.id).expect("session");
        assert_eq!(stored.status, SessionStatus::RequiresPaymentMethod, "nothing changed");
        assert_eq!(stored.payment_method, None);
    }
}
