//! The engine connects everything: the API asks it to create sessions and set payment methods, the
//! chains feed it confirmed events and report what became of delivery work (it is their
//! [`EventSink`]), and it hands settle/refund work to the chains. It knows chains only through the
//! family-neutral [`Chain`] seam. Every session change goes through the pure state machine and the
//! store's compare-and-swap, and is logged as one structured line. In memory it keeps only what the hot
//! paths need: receiver → session (for the watchers), the expiry queue and the retry queue.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};

use relayer_chain::{
    BoxFuture, Chain, ChainEvent, EventKind, EventSink, Inspection, SinkError, Work, WorkReport, WorkResult,
};
use relayer_store::{
    Creation, IdempotencyRecord, Store, StoreError, UpdateError, update_session, update_session_with_events,
};
use relayer_types::{
    Action, Bridging, ChainAddress, ClientSecret, Deposit, Destination, DisplayInfo, Family, FiatMethod,
    PaymentMethod, Session, SessionEvent, SessionId, SessionStatus, StateError, TokenRef, TxId, U256,
    WorkRecord, WorkState, unix_now,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

mod attribution;

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
    /// No configured chain takes this payment method.
    #[error("payment method {0} is not supported on this deployment")]
    UnsupportedPaymentMethod(&'static str),
    /// No route from the payment method's chains delivers the session's token (no swaps yet).
    #[error("{0}")]
    NoRoute(String),
    /// A chain event's receiver is not the session's own (recomputed from its commitment): the event
    /// is someone else's and changes nothing.
    #[error("the event's receiver is not the session's")]
    Foreign,
}

/// Why a change to a session was refused inside its compare-and-swap.
#[derive(Debug)]
enum Refused {
    /// The state machine refused.
    State(StateError),
    /// The event is not the session's (see [`EngineError::Foreign`]).
    Foreign,
}

impl From<UpdateError<Refused>> for EngineError {
    fn from(e: UpdateError<Refused>) -> Self {
        match e {
            UpdateError::Store(StoreError::NotFound(_)) => Self::NotFound,
            UpdateError::Store(s) => Self::Store(s),
            UpdateError::Rejected(Refused::State(s)) => Self::State(s),
            UpdateError::Rejected(Refused::Foreign) => Self::Foreign,
        }
    }
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
    pub refund_address: Option<ChainAddress>,
}

/// How the payer pays, as the API asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentKind {
    /// Send tokens to the session's receiver on any configured EVM chain.
    Evm,
    /// Send tokens to the session's receiver on Tron.
    Tron,
    /// Sign and send from a Solana wallet.
    Solana {
        /// The paying wallet.
        wallet: ChainAddress,
        /// The mint it pays with (the Solana chain's first token if not given).
        mint: Option<ChainAddress>,
    },
    /// The hosted fiat flow, optionally pinned to one rail.
    Fiat(Option<FiatMethod>),
}

impl PaymentKind {
    /// The API's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Evm => "evm",
            Self::Tron => "tron",
            Self::Solana { .. } => "solana",
            Self::Fiat(_) => "fiat",
        }
    }
}

/// Counters by (chain, name), for metrics.
pub type Counts = BTreeMap<(u64, &'static str), u64>;

/// Later than any session's expiry (`Instant` cannot hold `u64::MAX` seconds from now).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

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
    expiries: Mutex<BTreeSet<(u64, SessionId)>>,
    deliveries: Mutex<Counts>,
    /// Settlements reorganised away after they counted, by chain and outcome.
    orphaned: Mutex<Counts>,
    reports: Mutex<Counts>,
    /// Events that named one of our sessions from a receiver that is not that session's.
    foreign: Mutex<attribution::ForeignEvents>,
    /// Work to submit again once its time comes.
    retries: Mutex<Vec<(Instant, Work)>>,
    /// Sessions found at start-up holding funds not yet settled; drained by [`Engine::resume`].
    unsettled: Mutex<Vec<Session>>,
    /// What the relayer has fronted (or decided to front) and not been repaid, by destination chain and
    /// token, per session: the cap check and `/metrics` read it.
    exposure: Mutex<BTreeMap<(u64, ChainAddress), BTreeMap<SessionId, U256>>>,
    /// Notified after a commit wrote outbox events (the webhook dispatcher waits on it).
    outbox: Arc<tokio::sync::Notify>,
    settings: EngineSettings,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why payers of `family` cannot pay `session` from a chain other than its destination's, if they
/// cannot. An EVM receiver of a Solana destination bridges, and refunds on its EVM chain what cannot be
/// bridged (late, below the route's minimum, sent back after expiry): that needs an EVM refund address
/// (the router refuses to refund to a Solana key, so the funds would sit in the receiver). A Solana vault
/// commits to the paying wallet as its Solana refund address (see `Session::commitment`): a reverted
/// final call on the EVM side could bounce nowhere.
fn cross_chain_refusal(family: Family, session: &Session) -> Option<EngineError> {
    let refusal = match family {
        Family::Evm => (session.destination.address.family() != Family::Evm
            && session.refund_address.is_none_or(|r| r.family() != Family::Evm))
        .then_some(
            "an EVM payment for a Solana destination needs the session's refundAddress (an EVM address): what cannot be bridged is refunded on the paying chain",
        ),
        // Tron bridges to EVM destinations only, and commits its refund on Tron.
        Family::Tron => None,
        Family::Solana => session.destination.calldata.is_some().then_some(
            "a session with a final call cannot be paid from Solana (a bounce on the destination chain needs an EVM refund address)",
        ),
    }?;
    Some(EngineError::NoRoute(refusal.into()))
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
            expiries: Mutex::default(),
            deliveries: Mutex::default(),
            orphaned: Mutex::default(),
            reports: Mutex::default(),
            foreign: Mutex::default(),
            retries: Mutex::default(),
            unsettled: Mutex::default(),
            exposure: Mutex::default(),
            outbox: Arc::default(),
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
            let Some(me) = chain.relayer_address() else { continue };
            if !chain.tokens().iter().any(|t| chain.fronting_cap(&t.address).is_some()) {
                continue;
            }
            for session in engine.store.sessions_touched_since(chain.chain_id(), 0)? {
                let owed = session.owed_to(&me);
                if !owed.is_zero() {
                    let key = (chain.chain_id(), session.destination.token.address);
                    lock(&engine.exposure).entry(key).or_default().insert(session.id, owed);
                }
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

    /// Fronted and not yet repaid, by destination chain and token (base units).
    pub fn exposure(&self) -> BTreeMap<(u64, ChainAddress), U256> {
        lock(&self.exposure)
            .iter()
            .map(|(k, v)| (*k, v.values().fold(U256::ZERO, |a, b| a.saturating_add(*b))))
            .collect()
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

    /// Settlements seen, by chain and outcome.
    pub fn delivery_counts(&self) -> Counts {
        lock(&self.deliveries).clone()
    }

    /// Settlements reorganised away after they counted, by chain and outcome.
    pub fn orphaned_counts(&self) -> Counts {
        lock(&self.orphaned).clone()
    }

    /// Work reports received, by chain and result.
    pub fn report_counts(&self) -> Counts {
        lock(&self.reports).clone()
    }

    /// Creates and durably stores a session (concurrent creations share the store's flushes).
    pub async fn create_session(&self, new: NewSession) -> Result<Session, EngineError> {
        let session = self.new_session(new);
        self.store.create_session(&session).await?;
        self.created(&session);
        Ok(session)
    }

    /// Creates a session under an idempotency key: `respond` renders the response to store with the key,
    /// in the same commit as the session. If the key already has a record younger than `valid_since`
    /// (unix seconds), nothing is created and that record is returned instead (`Err`), whoever wrote it:
    /// of concurrent requests with one key, exactly one creates.
    pub fn create_session_idempotent(
        &self,
        new: NewSession,
        key: String,
        request_sha256: String,
        valid_since: u64,
        respond: impl FnOnce(&Session) -> (u16, String),
    ) -> Result<Result<IdempotencyRecord, IdempotencyRecord>, EngineError> {
        let session = self.new_session(new);
        let (status, body) = respond(&session);
        let record = IdempotencyRecord { key, request_sha256, status, body, created_at: unix_now() };
        if let Some(existing) =
            self.store.create_idempotent(Creation::Session(&session), &record, valid_since)?
        {
            return Ok(Err(existing));
        }
        self.created(&session);
        Ok(Ok(record))
    }

    fn new_session(&self, new: NewSession) -> Session {
        let now = unix_now();
        let min_amount = self.min_amount_for(&new.destination);
        Session {
            min_amount,
            id: SessionId::from_bytes(crate::random_bytes()),
            client_secret: ClientSecret::from_bytes(crate::random_bytes()),
            status: SessionStatus::RequiresPaymentMethod,
            destination: new.destination,
            display: new.display,
            metadata: new.metadata,
            refund_address: new.refund_address,
            payment_method: None,
            created_at: now,
            expires_at: now + self.settings.session_lifetime.as_secs(),
            deposits: vec![],
            bridges: vec![],
            frontings: vec![],
            settlements: vec![],
            work: vec![],
        }
    }

    /// What must be at a receiver before anything starts a session delivering to `dest` (committed as its
    /// `minAmount`): a fixed amount less the worst fee any configured route into the destination token may
    /// take on the way (a payment bridged at that fee still starts it, so nobody can make a bridged payment
    /// undeliverable by bridging it at the worst fee; a payer may pay that much less); for an open amount,
    /// the destination token's configured minimum. Either way a dust transfer cannot start the session,
    /// run its final call or have it reported delivered ahead of the payer's real payment.
    fn min_amount_for(&self, dest: &Destination) -> U256 {
        let token = &dest.token;
        match dest.amount {
            Some(amount) => {
                let worst_bps = self
                    .chains
                    .values()
                    .flat_map(|c| c.tokens().iter().filter_map(|t| c.route(&t.address, token.chain_id)))
                    .filter(|r| r.to_token == token.address)
                    .map(|r| r.max_fee_bps.min(10_000))
                    .max()
                    .unwrap_or(0);
                amount - amount * U256::from(worst_bps) / U256::from(10_000u32)
            }
            None => {
                self.chains.get(&token.chain_id).map_or(U256::ZERO, |c| c.open_amount_minimum(&token.address))
            }
        }
    }

    /// How much of `amount` of `token`, arriving at a receiver on `chain_id`, a session delivering `dest`
    /// can use (in `dest`'s base units): all of it for the destination token on its chain, or for a token
    /// a configured route delivers as it; nothing otherwise (it is refunded).
    fn usable_amount(&self, dest: &TokenRef, chain_id: u64, token: &TokenRef, amount: U256) -> U256 {
        let usable = if chain_id == dest.chain_id {
            token.address == dest.address
        } else {
            self.chains
                .get(&chain_id)
                .and_then(|c| c.route(&token.address, dest.chain_id))
                .is_some_and(|r| r.to_token == dest.address)
        };
        if !usable {
            return U256::ZERO;
        }
        relayer_types::rescale_units(amount, token.decimals, dest.decimals).unwrap_or(U256::MAX)
    }

    fn created(&self, session: &Session) {
        lock(&self.expiries).insert((session.expires_at, session.id));
        tracing::info!(session_id = %session.id, chain_id = session.destination.token.chain_id, status = session.status.as_str(), "session created");
    }

    /// The session, with expiry applied if it is due (so no read shows a stale open status).
    pub fn session(&self, id: &SessionId) -> Result<Session, EngineError> {
        self.apply(id, SessionEvent::Tick { now: unix_now() }, None)
    }

    /// Sets the payment method. For `Evm` and `Tron` that is the session's receiver address on that
    /// family's chains; the receiver follows from fields fixed at creation, so any loaded copy of the
    /// session serves; the status check runs on the latest. For `Solana` it is the paying wallet, which
    /// the Solana vault commits to as its refund address. A method no configured chain serves is refused
    /// (fiat rails have no chain family here).
    pub fn set_payment_method(&self, session: &Session, kind: PaymentKind) -> Result<Session, EngineError> {
        let id = &session.id;
        let dest = session.destination.token.chain_id;
        self.chain(dest)?;
        let unsupported = || EngineError::UnsupportedPaymentMethod(kind.name());
        let now = unix_now();
        let method = match kind {
            PaymentKind::Evm => {
                // An EVM receiver of a Solana destination bridges, and refunds on its EVM chain what cannot
                // be bridged (late, below the route's minimum, sent back after expiry): that needs a route,
                // and an EVM refund address (the router refuses to refund to a Solana key, so the funds
                // would sit in the receiver).
                if session.destination.address.family() != Family::Evm {
                    self.route_from(Family::Evm, session)?;
                    if let Some(refusal) = cross_chain_refusal(Family::Evm, session) {
                        return Err(refusal);
                    }
                }
                PaymentMethod::Evm {
                    receiver: self.receiver_on(session, Family::Evm).ok_or_else(unsupported)?,
                    source: None,
                    created_at: now,
                }
            }
            PaymentKind::Tron => {
                let receiver = self.receiver_on(session, Family::Tron).ok_or_else(unsupported)?;
                self.route_from(Family::Tron, session)?;
                PaymentMethod::Tron { receiver, source: None, created_at: now }
            }
            PaymentKind::Solana { wallet, mint } => {
                let (chain, _) = self.solana_token(session, mint)?;
                if chain != dest {
                    self.route_from(Family::Solana, session)?;
                    if let Some(refusal) = cross_chain_refusal(Family::Solana, session) {
                        return Err(refusal);
                    }
                }
                PaymentMethod::Solana { wallet, source: None, created_at: now }
            }
            PaymentKind::Fiat(_) => return Err(unsupported()),
        };
        // Index before the status change is visible: a deposit seen right after must find its session.
        // Every chain gets its own receiver (families derive them differently, and a Solana vault also
        // commits to the paying wallet, so the receivers are those of the session with this method). A
        // method the state machine would refuse (another one is set) indexes nothing: its receivers are
        // not the session's. (Should a concurrent request win the race anyway, events at the receivers
        // indexed here are refused by the check against the session as stored.)
        let mut with_method = session.clone();
        with_method.apply(SessionEvent::PaymentMethodSet { method: method.clone(), now })?;
        let receivers: BTreeSet<ChainAddress> =
            self.chains.values().map(|c| c.receiver(&with_method.commitment())).collect();
        for receiver in receivers {
            self.store.index_receiver(receiver, id)?;
            self.receivers.write().unwrap_or_else(PoisonError::into_inner).insert(receiver, *id);
        }
        self.apply(id, SessionEvent::PaymentMethodSet { method, now }, None)
    }

    /// Every configured chain and token a payer can pay `session` with: the destination token on its own
    /// chain, and each token whose route delivers it there, where payers of that family can pay the
    /// session at all (see [`cross_chain_refusal`]).
    pub fn token_options(&self, session: &Session) -> Vec<(Arc<dyn Chain>, relayer_types::TokenRef)> {
        let dest = &session.destination.token;
        let mut options = vec![];
        for chain in self.chains.values() {
            let same = chain.chain_id() == dest.chain_id;
            if !same && cross_chain_refusal(chain.key().family, session).is_some() {
                continue;
            }
            for token in chain.tokens() {
                let delivers = if same {
                    token.address == dest.address
                } else {
                    chain.route(&token.address, dest.chain_id).is_some_and(|r| r.to_token == dest.address)
                };
                if delivers {
                    options.push((Arc::clone(chain), token.clone()));
                }
            }
        }
        options
    }

    /// The token and chain of `family` a session can be paid with: one with a configured route to the
    /// session's destination chain that delivers its token. None is a clear error naming what is missing,
    /// before anyone pays: bridges deliver the token they carry, and swapping is not offered (yet).
    pub fn route_from(&self, family: Family, session: &Session) -> Result<(u64, ChainAddress), EngineError> {
        let dest = &session.destination.token;
        for chain in self.chains.values().filter(|c| c.key().family == family) {
            if chain.chain_id() == dest.chain_id && chain.token(dest.address).is_some() {
                return Ok((chain.chain_id(), dest.address));
            }
            for token in chain.tokens() {
                if chain.route(&token.address, dest.chain_id).is_some_and(|r| r.to_token == dest.address) {
                    return Ok((chain.chain_id(), token.address));
                }
            }
        }
        let offered: Vec<String> = self
            .chains
            .values()
            .filter(|c| c.key().family == family)
            .flat_map(|c| c.tokens().iter().map(move |t| format!("{} on {}", t.symbol, c.name())))
            .collect();
        Err(EngineError::NoRoute(format!(
            "no route delivers {} on chain {} from {} ({}): paying there would be refunded, not delivered",
            dest.symbol,
            dest.chain_id,
            family.as_str(),
            if offered.is_empty() { "nothing configured".into() } else { offered.join(", ") }
        )))
    }

    /// The session's receiver on the chains of `family` (the same on all of them: config requires one
    /// router deployment per family), if any chain of that family is configured.
    fn receiver_on(&self, session: &Session, family: Family) -> Option<ChainAddress> {
        let chain = self.chains.values().find(|c| c.key().family == family)?;
        Some(chain.receiver(&session.commitment()))
    }

    /// The Solana chain and the token a Solana wallet pays `session` with: `mint` (the first that fits
    /// when `None`), which must be one the chain watches deposits in (a payment into anything else would
    /// never be seen) and must deliver the session's token (its destination token on its own chain, or a
    /// token whose route delivers it there). Otherwise a clear error naming what Solana payments take.
    pub fn solana_token(
        &self,
        session: &Session,
        mint: Option<ChainAddress>,
    ) -> Result<(u64, relayer_types::TokenRef), EngineError> {
        let unsupported = || EngineError::UnsupportedPaymentMethod("solana");
        let chain =
            self.chains.values().find(|c| c.key().family == Family::Solana).ok_or_else(unsupported)?;
        let dest = &session.destination.token;
        let delivers = |t: &&relayer_types::TokenRef| {
            if chain.chain_id() == dest.chain_id {
                t.address == dest.address
            } else {
                chain.route(&t.address, dest.chain_id).is_some_and(|r| r.to_token == dest.address)
            }
        };
        let usable: Vec<&relayer_types::TokenRef> = chain.deposit_tokens().iter().filter(delivers).collect();
        let token = usable.iter().find(|t| mint.is_none_or(|m| t.address == m));
        let token = token.ok_or_else(|| {
            let offered: Vec<String> =
                usable.iter().map(|t| format!("{} ({})", t.address, t.symbol)).collect();
            EngineError::NoRoute(if offered.is_empty() {
                format!("no Solana mint delivers {} on chain {}", dest.symbol, dest.chain_id)
            } else {
                format!("Solana payments for this session take {}", offered.join(", "))
            })
        })?;
        Ok((chain.chain_id(), (*token).clone()))
    }

    /// The session's receiver address on its destination chain. Fails, rather than panicking in a
    /// request handler, when that chain is not configured (a session stored before the operator removed
    /// its chain from the config).
    pub fn receiver_of(&self, session: &Session) -> Result<ChainAddress, EngineError> {
        let chain = self.chain(session.destination.token.chain_id)?;
        Ok(chain.receiver(&session.commitment()))
    }

    /// Looks at `tx_hash` right away on every chain (a `txHash` hint). The chains run it through their
    /// watchers, so it gets the same confirmations and reorg handling as everything else.
    pub async fn check_transaction(&self, tx_hash: TxId) -> Inspection {
        let mut found = Inspection::NotYet;
        for chain in self.chains.values() {
            // A 32-byte hash may name a transaction of any EVM-shaped family: ask each in its own terms.
            let id =
                tx_hash.evm_shaped().and_then(|h| TxId::of_family(chain.key().family, h)).unwrap_or(tx_hash);
            match chain.inspect(id).await {
                Inspection::NotYet => {}
                other => found = other,
            }
        }
        found
    }

    /// Applies one event to one session and records what changed.
    fn apply(&self, id: &SessionId, event: SessionEvent, tx: Option<TxId>) -> Result<Session, EngineError> {
        self.apply_event(id, event, tx, None).map(|(session, _)| session)
    }

    /// Like [`Self::apply`], also telling whether the event changed anything (false for a replay). With
    /// `at = Some((chain, receiver))` (a chain event), the change is refused with
    /// [`EngineError::Foreign`] unless `receiver` is the session's own receiver on that chain, checked on
    /// the session as stored, inside the same compare-and-swap.
    fn apply_event(
        &self,
        id: &SessionId,
        event: SessionEvent,
        tx: Option<TxId>,
        at: Option<(u64, ChainAddress)>,
    ) -> Result<(Session, bool), EngineError> {
        let mut transition = None;
        let mut wrote_events = false;
        // The change and the webhook events it causes are one commit (the outbox): a crash can neither
        // lose an event nor record one for a change that did not happen.
        let session = update_session_with_events(self.store.as_ref(), id, |s| {
            if let Some((chain_id, receiver)) = at
                && !attribution::is_sessions_receiver(&self.chains, s, chain_id, receiver)
            {
                return Err(Refused::Foreign);
            }
            let applied = s.apply(event.clone()).map_err(Refused::State)?;
            transition = Some(applied);
            let events = crate::webhooks::session_events(&event, applied, s, crate::unix_now_ms());
            wrote_events = !events.is_empty();
            Ok(applied.changed.then_some(events))
        })?;
        if wrote_events {
            self.outbox.notify_one();
        }
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

    /// Applies confirmed events of `chain_id`, each to the session its receiver proves it belongs to
    /// (see [`attribution`]).
    async fn apply_chain_events(&self, chain_id: u64, events: Vec<ChainEvent>) -> Result<(), EngineError> {
        for event in events {
            let Some(session) = self.attribute(chain_id, &event)? else { continue };
            let at = Some((chain_id, event.receiver));
            let tx = event.event().tx_hash;
            let change = match &event.kind {
                EventKind::Deposit(deposit) => {
                    tracing::info!(session_id = %session, chain_id, tx_hash = %tx, amount = %deposit.amount, "deposit confirmed");
                    // What of it the session can use (the destination token never changes, so any copy
                    // of the session serves).
                    let Some(stored) = self.store.session(&session)? else { continue };
                    let dest = &stored.value.destination.token;
                    let counts = self.usable_amount(dest, chain_id, &deposit.token, deposit.amount);
                    SessionEvent::DepositDetected(Deposit { counts: Some(counts), ..deposit.clone() })
                }
                EventKind::Bridged(bridging) => {
                    tracing::info!(session_id = %session, chain_id, tx_hash = %tx, amount = %bridging.amount, "bridged");
                    SessionEvent::Bridged(bridging.clone())
                }
                EventKind::Fronted(fronting) => SessionEvent::Fronted(fronting.clone()),
                EventKind::Settled(settlement) => SessionEvent::Settled(settlement.clone()),
            };
            let (updated, changed) = match self.apply_event(&session, change, Some(tx), at) {
                Err(EngineError::NotFound) => continue,
                Err(EngineError::Foreign) => {
                    let named = event.named.unwrap_or(session);
                    self.foreign(chain_id, &event, named, Some(session));
                    continue;
                }
                Err(e) => return Err(e),
                Ok(applied) => applied,
            };
            match event.kind {
                // A replayed deposit was scheduled when first seen (or by `resume` after a restart).
                EventKind::Deposit(deposit) if changed => {
                    self.schedule(&updated, chain_id, deposit.token.address).await;
                }
                EventKind::Bridged(bridging) if changed => {
                    self.consider_fronting(&updated, chain_id, event.receiver, &bridging).await;
                }
                EventKind::Fronted(_) => self.update_exposure(&updated, chain_id),
                EventKind::Settled(settlement) if changed => {
                    let outcome = outcome_name(settlement.outcome);
                    *lock(&self.deliveries).entry((chain_id, outcome)).or_default() += 1;
                }
                EventKind::Deposit(_) | EventKind::Bridged(_) | EventKind::Settled(_) => {}
            }
        }
        Ok(())
    }

    /// Decides what to do with what sits at a session's receiver (see [`decide`]) and queues it, now or
    /// for the session's expiry.
    async fn schedule(&self, session: &Session, chain_id: u64, token: ChainAddress) {
        let dest_chain = session.destination.token.chain_id;
        let chain = self.chains.get(&chain_id);
        let route = chain.and_then(|c| c.route(&token, dest_chain));
        let terms = Terms {
            route: route.as_ref(),
            floor: chain.map_or(U256::ZERO, |c| c.open_amount_minimum(&token)),
            destination_adds_up: self.chains.get(&dest_chain).is_none_or(|c| c.bridged_arrivals_add_up()),
        };
        let floor = terms.floor;
        let Some(plan) = decide(session, chain_id, token, terms) else {
            tracing::info!(session_id = %session.id, chain_id, %token, %floor, "below what is worth a transaction: left at the receiver");
            return;
        };
        let work =
            Work { session_id: session.id, chain_id, commitment: session.commitment(), action: plan.action };
        match plan.when {
            When::Now => self.submit(work).await,
            When::AtExpiry => {
                tracing::info!(session_id = %session.id, chain_id, %token, action = plan.action.name(), "waiting for expiry (short of the minimum, or dust)");
                let wait = session.expires_at.saturating_add(1).saturating_sub(unix_now());
                self.retry_at(work, Duration::from_secs(wait));
            }
        }
    }

    /// Fronts a bridged session on its destination chain when the relayer may: the bridging left the
    /// session's own receiver on the source chain (`source`, checked against the commitment the fronting
    /// will name, so the bridged funds go to the very receiver that repays the fronter), the destination
    /// chain fronts that token, the session has a fixed amount and has not started there, the bridging
    /// went through a configured route whose worst fee still leaves the whole amount, the session is not
    /// close to expiry, and the cap leaves room. Every condition stops an attack or a loss: a bridging of
    /// someone else's params is never repaid to us; a fronting above what the bridge delivers is a
    /// shortfall the relayer carries; past the cap, inventory runs dry for everyone else.
    async fn consider_fronting(
        &self,
        session: &Session,
        from_chain: u64,
        source: ChainAddress,
        bridging: &Bridging,
    ) {
        let dest = &session.destination.token;
        let Some(chain) = self.chains.get(&dest.chain_id) else { return };
        let Some(cap) = chain.fronting_cap(&dest.address) else { return };
        let commitment = session.commitment();
        // The bridging left the session's own receiver, towards the session's destination chain (a Solana
        // inbox transfer sent back to the chain it came from is a bridging too, away from the destination:
        // nothing would ever repay a fronting of it).
        // And it is on its way to the very receiver that repays the fronter (a misconfigured destination
        // table, or a program pinned to another deployment, would send it elsewhere).
        let lands_at_receiver = bridging
            .to_receiver
            .is_some_and(|to| attribution::is_sessions_receiver(&self.chains, session, dest.chain_id, to));
        let proven = attribution::is_sessions_receiver(&self.chains, session, from_chain, source)
            && bridging.to_chain_id == Some(dest.chain_id)
            && lands_at_receiver
            && !bridging.home;
        if !proven {
            tracing::warn!(session_id = %session.id, chain_id = from_chain, %source, to_chain_id = ?bridging.to_chain_id, "not fronting: the bridging is not the session's own funds on their way to its destination");
            return;
        }
        let amount = commitment.amount;
        let source_chain = self.chains.get(&from_chain);
        let route = source_chain.and_then(|c| c.route(&bridging.token, dest.chain_id));
        // In the destination token's base units (a route may bridge a token of other decimals).
        let decimals = source_chain.and_then(|c| c.token(bridging.token)).map(|t| t.decimals);
        let Some(bridged) =
            decimals.and_then(|d| relayer_types::rescale_units(bridging.amount, d, dest.decimals))
        else {
            return;
        };
        // Our own bridging paid the fee we chose; anyone else's may have paid the most the adapter allows.
        let ours = session.work.iter().any(|w| {
            matches!(w.action, Action::Bridge { .. })
                && matches!(w.state, WorkState::Sent { tx_hash } if tx_hash == bridging.event.tx_hash)
        });
        let worst = route
            .filter(|r| r.adapter == bridging.adapter && r.to_token == dest.address)
            .map(|r| r.worst_delivery(bridged, ours));
        // Started on the destination: a fronting, or a delivery of the destination token there (a junk
        // token refunded from the receiver starts nothing, and must not turn fronting off).
        let started = !session.frontings.is_empty()
            || session
                .settlements
                .iter()
                .any(|x| x.event.chain_id == dest.chain_id && x.token == dest.address)
            || session.work.iter().any(|w| matches!(w.action, Action::FastFinish { .. }));
        // The fronting must land well before expiry (the router refuses it after).
        let late = unix_now().saturating_add(60) > session.expires_at;
        if amount.is_zero() || started || late || worst.is_none_or(|w| w < amount) {
            return;
        }
        {
            let mut exposure = lock(&self.exposure);
            let book = exposure.entry((dest.chain_id, dest.address)).or_default();
            let outstanding = book.values().fold(U256::ZERO, |a, b| a.saturating_add(*b));
            if outstanding.saturating_add(amount) > cap {
                tracing::warn!(session_id = %session.id, chain_id = dest.chain_id, %outstanding, %cap, "not fronting: the cap is reached; delivered when the bridge arrives");
                return;
            }
            book.insert(session.id, amount);
        }
        let action = Action::FastFinish { token: dest.address, amount };
        self.submit(Work { session_id: session.id, chain_id: dest.chain_id, commitment, action }).await;
    }

    /// Frees the cap reserved for `work` (a fronting) unless the chain shows the relayer did front it.
    fn release_fronting(&self, work: &Work) {
        let me = self.chains.get(&work.chain_id).and_then(|c| c.relayer_address());
        let fronted = self
            .store
            .session(&work.session_id)
            .ok()
            .flatten()
            .is_some_and(|s| me.is_some_and(|me| s.value.frontings.iter().any(|f| f.relayer == me)));
        if !fronted {
            let mut exposure = lock(&self.exposure);
            if let Some(book) = exposure.get_mut(&(work.chain_id, work.action.token())) {
                book.remove(&work.session_id);
            }
        }
    }

    /// After a fronting or repayment event: what the relayer is now owed on this session.
    fn update_exposure(&self, session: &Session, chain_id: u64) {
        let Some(me) = self.chains.get(&chain_id).and_then(|c| c.relayer_address()) else { return };
        let key = (chain_id, session.destination.token.address);
        let owed = session.owed_to(&me);
        let mut exposure = lock(&self.exposure);
        let book = exposure.entry(key).or_default();
        if owed.is_zero() {
            if session.frontings.iter().any(|f| f.relayer == me) {
                book.remove(&session.id);
            }
        } else {
            book.insert(session.id, owed);
        }
    }

    async fn submit(&self, work: Work) {
        let (chain_id, session_id) = (work.chain_id, work.session_id);
        let result = match self.chain(chain_id) {
            Ok(chain) => chain.submit(work.clone()).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(reason) = result {
            tracing::error!(chain_id, %session_id, %reason, "work not queued");
            self.record(&work, 0, WorkState::GaveUp { reason });
        }
    }

    /// Records the latest state of `work` on its session (never fails the caller: a store failure is
    /// logged, and the work itself goes on).
    fn record(&self, work: &Work, attempts: u32, state: WorkState) {
        let record = WorkRecord {
            chain_id: work.chain_id,
            action: work.action,
            attempts,
            state,
            updated_at: unix_now(),
        };
        if let Err(error) = self.apply(&work.session_id, SessionEvent::Work(record), None) {
            tracing::warn!(session_id = %work.session_id, error = %relayer_util::causes(&error), "recording work state failed");
        }
    }

    /// Queues `work` for `delay` from now; the same work already queued as early is not queued twice
    /// (a griefer's thousand dust transfers wait as one sweep).
    fn retry_at(&self, work: Work, delay: Duration) {
        // A session that never expires (far-future `expires_at`) waits for good, not a panic.
        let at = Instant::now().checked_add(delay).unwrap_or_else(|| Instant::now() + FOREVER);
        let mut retries = lock(&self.retries);
        if !retries.iter().any(|(due, queued)| *due <= at && *queued == work) {
            retries.push((at, work));
        }
    }

    /// What a chain reported: recorded on the session, counted, and retried within the policy.
    pub fn handle_report(&self, report: WorkReport) {
        let WorkReport { work, result } = report;
        *lock(&self.reports).entry((work.chain_id, result_name(&result))).or_default() += 1;
        // One read-modify-write: the attempt count comes from the record this one replaces.
        let mut decided = None;
        let written = update_session(self.store.as_ref(), &work.session_id, |s| {
            let previous = s.work.iter().find(|w| w.chain_id == work.chain_id && w.action == work.action);
            let attempts =
                previous.filter(|w| matches!(w.state, WorkState::Retrying { .. })).map_or(0, |w| w.attempts)
                    + 1;
            let (state, follow_up) = self.decide(&work, &result, attempts);
            let record = WorkRecord {
                chain_id: work.chain_id,
                action: work.action,
                attempts,
                state: state.clone(),
                updated_at: unix_now(),
            };
            decided = Some((attempts, state, follow_up));
            s.apply(SessionEvent::Work(record)).map(|a| a.changed)
        });
        if let Err(error) = written.map_err(EngineError::from) {
            tracing::warn!(session_id = %work.session_id, error = %relayer_util::causes(&error), "recording work state failed");
        }
        // Recorded or not, the work goes on.
        let (attempts, state, follow_up) = decided.unwrap_or_else(|| {
            let (state, follow_up) = self.decide(&work, &result, 1);
            (1, state, follow_up)
        });
        // A fronting that will not happen (someone else delivered, it reverted, it gave up) frees its
        // place under the cap; one that is sent or retried keeps it until the chain says what was fronted.
        if matches!(work.action, Action::FastFinish { .. })
            && matches!(state, WorkState::Done { .. } | WorkState::GaveUp { .. } | WorkState::Reverted { .. })
        {
            self.release_fronting(&work);
        }
        if let Some((next, delay)) = follow_up {
            self.retry_at(next, delay);
        }
        let (session_id, chain_id, action) = (work.session_id, work.chain_id, work.action.name());
        match &state {
            WorkState::GaveUp { .. } => {
                tracing::error!(%session_id, chain_id, action, attempts, ?state, "work gave up")
            }
            WorkState::Retrying { .. } | WorkState::Reverted { .. } => {
                tracing::warn!(%session_id, chain_id, action, attempts, ?state, "work not done");
            }
            _ => tracing::info!(%session_id, chain_id, action, attempts, ?state, "work"),
        }
    }

    /// The state a report puts its work in at its `attempts`-th try, and the work to submit next (and
    /// after how long), if any.
    fn decide(
        &self,
        work: &Work,
        result: &WorkResult,
        attempts: u32,
    ) -> (WorkState, Option<(Work, Duration)>) {
        let policy = self.settings.retry;
        match result.clone() {
            WorkResult::Sent { tx_hash } => (WorkState::Sent { tx_hash }, None),
            WorkResult::Done(reason) => (WorkState::Done { reason }, None),
            // E.g. the router refunds a usable token only after expiry: wait for it, without giving up.
            WorkResult::NotBefore { reason, at } => {
                let reason = if work.chain_id == work.commitment.to_chain_id {
                    reason
                } else {
                    format!("not bridged (no route to the destination chain, or below its minimum): {reason}")
                };
                let delay = Duration::from_secs(at.saturating_sub(unix_now())).max(policy.delay(1));
                (WorkState::Retrying { reason, retry_at: at }, Some((work.clone(), delay)))
            }
            WorkResult::NotYet(reason) if attempts >= policy.max_attempts => {
                (WorkState::GaveUp { reason: format!("gave up after {attempts} attempts: {reason}") }, None)
            }
            WorkResult::NotYet(reason) => {
                let delay = policy.delay(attempts);
                (
                    WorkState::Retrying { reason, retry_at: unix_now() + delay.as_secs() },
                    Some((work.clone(), delay)),
                )
            }
            WorkResult::RefundInstead => {
                let refund = Work { action: Action::Refund { token: work.action.token() }, ..work.clone() };
                if refund.action == work.action {
                    (WorkState::GaveUp { reason: "the router refused a refund as expired".into() }, None)
                } else {
                    let done = WorkState::Done {
                        reason: "expired on chain before delivery; refunding instead".into(),
                    };
                    (done, Some((refund, Duration::ZERO)))
                }
            }
            WorkResult::Failed(reason) => (WorkState::GaveUp { reason }, None),
            // Usually someone else moved the funds first; a retry's simulation finds out.
            WorkResult::Reverted { tx_hash } => {
                (WorkState::Reverted { tx_hash }, Some((work.clone(), policy.delay(1))))
            }
        }
    }

    /// Work queued for later (retries, and sweeps waiting for a session's expiry), soonest first.
    pub fn waiting_work(&self) -> Vec<Work> {
        let mut queued = lock(&self.retries).clone();
        queued.sort_by_key(|(at, _)| *at);
        queued.into_iter().map(|(_, work)| work).collect()
    }

    /// Submits the retries due at `now`.
    pub async fn submit_due(&self, now: Instant) {
        let due: Vec<Work> = {
            let mut retries = lock(&self.retries);
            let (due, wait) = std::mem::take(&mut *retries).into_iter().partition(|(at, _)| *at <= now);
            *retries = wait;
            due.into_iter().map(|(_, work)| work).collect()
        };
        for work in due {
            self.submit(work).await;
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

    /// Expires sessions and submits due retries as their time comes, until `cancel`.
    pub async fn run_timers(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            self.submit_due(Instant::now()).await;
            let now = unix_now();
            let due: Vec<SessionId> = {
                let expiries = lock(&self.expiries);
                expiries.iter().take_while(|(at, _)| *at <= now).map(|(_, id)| *id).collect()
            };
            // `apply` takes expired sessions out of the queue; a failure leaves them in for a retry.
            for id in due {
                if let Err(error) = self.apply(&id, SessionEvent::Tick { now }, None) {
                    tracing::warn!(session_id = %id, error = %relayer_util::causes(&error), "expiry failed; will retry");
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }
}

/// The metrics label of a work result.
const fn result_name(result: &WorkResult) -> &'static str {
    match result {
        WorkResult::Sent { .. } => "sent",
        WorkResult::Done(_) => "done",
        WorkResult::NotYet(_) => "not_yet",
        WorkResult::NotBefore { .. } => "not_before",
        WorkResult::RefundInstead => "refund_instead",
        WorkResult::Failed(_) => "failed",
        WorkResult::Reverted { .. } => "reverted",
    }
}

/// The metrics label of a settlement outcome.
const fn outcome_name(outcome: relayer_types::Outcome) -> &'static str {
    match outcome {
        relayer_types::Outcome::Delivered => "delivered",
        relayer_types::Outcome::Bounced => "bounced",
        relayer_types::Outcome::Refunded => "refunded",
    }
}

/// When a [`Plan`] is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Now.
    Now,
    /// Once the session has expired (the router and the program refund a usable token only then; and
    /// dust waits for one sweep rather than costing the relayer a transaction per transfer).
    AtExpiry,
}

/// What to do with what sits at a session's receiver, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The action.
    pub action: Action,
    /// When.
    pub when: When,
}

/// What a chain's configuration says about planning for one of its receivers (see [`decide`]).
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    /// The route out of this chain to the session's destination chain, for this token, if any.
    pub route: Option<&'a relayer_chain::Route>,
    /// Less than this of the token is not worth a transaction of the relayer's (base units).
    pub floor: U256,
    /// Whether transfers bridged to the session's receiver on its destination chain add up there (see
    /// [`Chain::bridged_arrivals_add_up`]).
    pub destination_adds_up: bool,
}

/// What to do with what sits at a session's receiver on `chain_id` in `token` (see
/// [`Session::at_receiver`]: the deposits seen there, less what already left it). `None`: nothing worth
/// a transaction of the relayer's (anyone may still move it: every router and program entry point is
/// permissionless).
///
/// - Deliver it on the destination chain in the destination token once it reaches the session's minimum
///   (the first delivery), or the token's `floor` (a later arrival of a started session).
/// - Bridge it from another chain on a configured `route` delivering the destination token once what
///   the relayer's bridging delivers, with what was already bridged towards the destination when
///   arrivals add up there, reaches the session's minimum, and what sits here the route's minimum; once
///   the payment is on its way, a later arrival only when it reaches `floor`.
///   Where they do not add up (the Solana inbox claims each transfer alone), each bridging must carry the
///   minimum on its own, and a transfer that arrived short is sent back at once, to rejoin the rest.
/// - Refund a token the session cannot use at once (the router and the program allow it), when it
///   reaches `floor`.
/// - Anything else (a payment short of the minimum, dust after a delivery or a bridging, a chain with no
///   route) waits for expiry and is refunded then, in one transaction for all of it; after expiry, what
///   is below `floor` is left for whoever wants to pay for moving it.
///
/// The attacks this stops: a griefer sending 1 base unit at a time to a public receiver, each making
/// the relayer pay a settle or a bridge (and a bridge's messaging fee); a griefer bridging part of a
/// payment ahead of the rest (the permissionless `bridge` has no minimum), so that neither part ever
/// reaches the minimum on its own.
pub fn decide(session: &Session, chain_id: u64, token: ChainAddress, terms: Terms<'_>) -> Option<Plan> {
    let dest = &session.destination.token;
    let now = |action| Some(Plan { action, when: When::Now });
    let refund = Action::Refund { token };
    let holding = session.at_receiver(chain_id, token);
    let at_receiver = holding.remaining();
    if at_receiver.is_zero() {
        return None;
    }
    let worth_a_transaction = at_receiver >= terms.floor;
    if session.status == SessionStatus::Expired {
        return worth_a_transaction.then_some(Plan { action: refund, when: When::Now });
    }
    // Zero counted means the session cannot use the token here.
    let Some(decimals) = decimals_of(session, chain_id, token, true) else {
        return worth_a_transaction.then_some(Plan { action: refund, when: When::Now });
    };
    // In the destination token's base units.
    let in_dest = |amount: U256, decimals: u8| {
        relayer_types::rescale_units(amount, decimals, dest.decimals).unwrap_or(U256::MAX)
    };
    let usable = in_dest(at_receiver, decimals);
    let reaches_minimum = |amount: U256| !amount.is_zero() && amount >= session.min_amount;
    let later = Some(Plan { action: refund, when: When::AtExpiry });
    if chain_id == dest.chain_id {
        // Started here: something left this receiver already, or a relayer fronted the session.
        let started = !holding.left.is_zero() || !session.frontings.is_empty();
        if token == dest.address && (if started { worth_a_transaction } else { reaches_minimum(usable) }) {
            return now(Action::Settle { token });
        }
        // Short here, where bridged transfers do not add up: back where it came from, at once.
        let sent_back = !started && !terms.destination_adds_up && worth_a_transaction;
        return if sent_back { now(refund) } else { later };
    }
    let Some(r) = terms.route.filter(|r| r.to_token == dest.address && at_receiver >= r.min_amount) else {
        return later;
    };
    // What is already on its way to (or at) the destination receiver, at the worst fee its sender may
    // have chosen.
    let on_its_way = if terms.destination_adds_up {
        session
            .bridges
            .iter()
            .filter(|b| b.to_chain_id == Some(dest.chain_id) && !b.home)
            .filter_map(|b| {
                let decimals = decimals_of(session, b.event.chain_id, b.token, false)?;
                Some(in_dest(r.worst_delivery(b.amount, false), decimals))
            })
            .fold(U256::ZERO, U256::saturating_add)
    } else {
        U256::ZERO
    };
    // Once the payment is on its way, what arrives later is bridged only if it is worth a transaction.
    let enough = if reaches_minimum(on_its_way) {
        worth_a_transaction
    } else {
        reaches_minimum(r.worst_delivery(usable, true).saturating_add(on_its_way))
    };
    if enough { now(Action::Bridge { token, adapter: r.adapter }) } else { later }
}

/// The decimals of `token` on `chain_id`, from a deposit of it there (only one the session can use, if
/// `usable`).
fn decimals_of(session: &Session, chain_id: u64, token: ChainAddress, usable: bool) -> Option<u8> {
    session
        .deposits
        .iter()
        .find(|d| {
            d.event.chain_id == chain_id && d.token.address == token && (!usable || !d.counted().is_zero())
        })
        .map(|d| d.token.decimals)
}

impl EventSink for Engine {
    fn session_for_receiver(&self, receiver: ChainAddress) -> Option<SessionId> {
        self.receivers.read().unwrap_or_else(PoisonError::into_inner).get(&receiver).copied()
    }

    fn receivers_of(&self, family: Family) -> Vec<(ChainAddress, SessionId)> {
        let receivers = self.receivers.read().unwrap_or_else(PoisonError::into_inner);
        receivers.iter().filter(|(r, _)| r.family() == family).map(|(r, id)| (*r, *id)).collect()
    }

    fn apply(&self, chain_id: u64, events: Vec<ChainEvent>) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            self.apply_chain_events(chain_id, events).await.map_err(|e| SinkError(e.to_string()))
        })
    }

    fn reorg(&self, chain_id: u64, from_block: u64) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(
            async move { self.reorg_from(chain_id, from_block).await.map_err(|e| SinkError(e.to_string())) },
        )
    }

    fn report(&self, report: WorkReport) -> BoxFuture<'_, ()> {
        Box::pin(async move { self.handle_report(report) })
    }
}

impl Engine {
    async fn reorg_from(&self, chain_id: u64, from_block: u64) -> Result<(), EngineError> {
        let mut orphaned = vec![];
        let mut unsettled = vec![];
        let mut movements = vec![];
        for s in self.store.sessions_touched_since(chain_id, from_block)? {
            let gone = |e: &relayer_types::EventId| e.chain_id == chain_id && e.block_number >= from_block;
            orphaned.extend(s.deposits.iter().filter(|d| gone(&d.event)).map(|d| (s.id, d.event)));
            for x in s.settlements.iter().filter(|x| gone(&x.event)) {
                unsettled.push((s.id, x.event, x.token, x.outcome));
            }
            let moved = s.bridges.iter().map(|b| b.event).chain(s.frontings.iter().map(|f| f.event));
            movements.extend(moved.filter(|e| gone(e)).map(|e| (s.id, e)));
        }
        for (id, event) in orphaned {
            tracing::warn!(session_id = %id, chain_id, tx_hash = %event.tx_hash, "deposit orphaned by reorg");
            self.apply(&id, SessionEvent::DepositOrphaned(event), Some(event.tx_hash))?;
        }
        for (id, event) in movements {
            tracing::warn!(session_id = %id, chain_id, tx_hash = %event.tx_hash, "bridging or fronting orphaned by reorg");
            let session = self.apply(&id, SessionEvent::MovementOrphaned(event), Some(event.tx_hash))?;
            self.update_exposure(&session, chain_id);
        }
        for (id, event, token, outcome) in unsettled {
            // Deeper than the confirmations allowed for: the funds may be back in the receiver. Nothing
            // may be stranded: record it, say it loudly, and settle again (the simulation finds out
            // whether the chain re-included the old settlement instead).
            tracing::error!(session_id = %id, chain_id, tx_hash = %event.tx_hash, from_block, "a settlement was reorganised away; settling again");
            *lock(&self.orphaned).entry((chain_id, outcome_name(outcome))).or_default() += 1;
            let session = self.apply(&id, SessionEvent::SettlementOrphaned(event), Some(event.tx_hash))?;
            self.schedule(&session, chain_id, token).await;
        }
        Ok(())
    }
}
