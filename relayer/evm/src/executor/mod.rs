//! The executor: one per (chain, signing key), the only code that sends transactions for that key.
//! It owns the key's nonces. Every transaction is simulated first, signed, **persisted as an intent
//! (with its signed bytes) before broadcast**, and tracked until one of its attempts is mined. After a
//! restart it reconciles stored intents against the chain (receipts by hash, the key's nonce) and
//! re-announces the same signed bytes rather than signing anything new, so a crash can never turn into
//! a second transaction; the router's on-chain guards make even a duplicate harmless. Stuck
//! transactions are replaced with the same nonce at a higher fee.
//!
//! Every piece of work gets a [`WorkReport`] back to the engine (sent, nothing to do, not yet, refund
//! instead, failed, reverted); retrying is the engine's decision, not the executor's. The decisions
//! that need no chain (how a preflight revert maps to a result, which nonce to use, the replacement
//! fees) are pure functions, tested as tables below.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use alloy::{
    consensus::TxEnvelope,
    eips::{Decodable2718, Encodable2718},
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, B256, Bytes},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::SolCall,
};
use relayer_chain::{EventSink, Refusal, Work, WorkReport, WorkResult};
use relayer_types::{Action, SessionId};
use relayer_util::{Throttle, causes};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    bindings::DepositRouter::{self, DepositRouterErrors},
    chain::{EvmChain, Holder, RpcFailure},
    create2::deposit_params,
    intent::{Attempt, Intent},
};

mod fees;
mod fronting;
mod inflight;
mod nonce;
mod preflight;

pub use fees::{Bump, FeeCeiling, HoldReason, bump_decision, bumped_fees, gas_with_margin};
pub(crate) use fronting::balance;
use fronting::{allowance, read_u256};
use inflight::Checked;
pub use inflight::{InFlight, View, in_flight_state};
pub use nonce::{GAP_BLOCKS, Gap, next_nonce, nonce_gap};
pub use preflight::{
    Preflight, SimulationError, preflight, quote_input, refund_target, refusal, revert_refusal, router_input,
};
use preflight::{quote_call, simulate};

/// Tuning of one executor.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Transactions in flight at once (consecutive nonces).
    pub max_in_flight: usize,
    /// Replace a transaction still pending after this long.
    pub bump_after: Duration,
    /// How often pending transactions are checked.
    pub poll_interval: Duration,
    /// Extra gas over the estimate, in percent.
    pub gas_margin_percent: u64,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 32,
            bump_after: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            gas_margin_percent: 25,
        }
    }
}

/// Why an executor step failed; all are retried.
#[derive(Debug, thiserror::Error)]
enum ExecError {
    #[error(transparent)]
    Rpc(#[from] RpcFailure),
    #[error(transparent)]
    Ledger(#[from] relayer_chain::LedgerError),
    #[error("signing: {0}")]
    Sign(String),
    /// The key's signer did not sign.
    #[error("the signer did not sign: {0}")]
    Signer(String),
    /// The daily fee cap (or a store that cannot say how much was spent) holds new transactions back.
    #[error("{0}")]
    Capped(Refusal),
}

/// How a transaction about to be signed counts against the daily fee cap.
pub(super) enum Reserve {
    /// New work: counted at its most, or refused at the cap.
    New,
    /// A fee bump of an attempt that counted this much: counted by its increase, never refused.
    Over(u64),
    /// A filler of a nonce gap: counted, never refused (later nonces wait on it).
    Filler,
}

/// How long work held behind another key's transaction waits before it is looked at again.
const HELD_WORK_RECHECK: Duration = Duration::from_secs(30);

/// Runs the executor of `signer` on `chain`, reporting to `sink`, until `cancel`: with `jobs`, a working
/// key's (the signer's, or the inventory key's, which takes the frontings); without, a retiring key's,
/// which sees its transactions on record through to the end and then stops.
pub(crate) async fn run(
    chain: Arc<EvmChain>,
    signer: crate::EvmKey,
    config: ExecutorConfig,
    sink: Arc<dyn EventSink>,
    jobs: Option<mpsc::Receiver<Work>>,
    cancel: CancellationToken,
) {
    let retiring = jobs.is_none();
    let jobs = jobs.unwrap_or_else(|| mpsc::channel(1).1);
    let executor = Executor {
        retiring,
        listed: None,
        recorded_as_fronter: false,
        signer_rests_until: None,
        signer: signer.address(),
        wallet: EthereumWallet::from(signer),
        chain,
        sink,
        config,
        in_flight: BTreeMap::new(),
        keys: HashMap::new(),
        rerun: HashMap::new(),
        simulations: tokio::task::JoinSet::new(),
        simulating: HashMap::new(),
        checks: tokio::task::JoinSet::new(),
        announced: HashSet::new(),
        broadcasts: tokio::task::JoinSet::new(),
        sending: HashSet::new(),
        next_nonce: None,
        mined: BTreeMap::new(),
        held: HashMap::new(),
        throttle: Arc::new(Throttle::new(crate::watcher::WARN_WINDOW)),
        fees: None,
        gap_seen: None,
        fillers: HashMap::new(),
        landed: BTreeMap::new(),
    };
    executor.run(jobs, cancel).await;
}

/// The executor's state. Its loop never waits on the network except to send (fees, nonce, the
/// signed bytes persisted), so new work is taken while simulations, broadcasts and checks of pending
/// transactions run as tasks of their own and report back into the loop.
struct Executor {
    /// A key being rotated out: takes no work, stops once nothing of its own is in flight.
    retiring: bool,
    /// Whether its records were read (`Some`), and all of them (`Some(true)`): a retiring key stops only
    /// then, so records it could not read are never taken for "nothing in flight".
    listed: Option<bool>,
    /// Whether this key was put on record as one that fronts ([`EvmChain::record_fronter`]).
    recorded_as_fronter: bool,
    /// Until when fee bumps wait after the signer failed to sign one.
    signer_rests_until: Option<std::time::Instant>,
    chain: Arc<EvmChain>,
    signer: Address,
    wallet: EthereumWallet,
    sink: Arc<dyn EventSink>,
    config: ExecutorConfig,
    in_flight: BTreeMap<u64, Intent>,
    keys: HashMap<(SessionId, Action), u64>,
    /// Work that arrived while the same work was simulated or in flight: run again once that is done,
    /// for funds that arrived after the in-flight transaction was mined.
    rerun: HashMap<(SessionId, Action), Work>,
    /// Simulations under way, each a task: one slow answer holds up no other work.
    simulations: tokio::task::JoinSet<(Work, Preflight)>,
    /// The work each simulation task is for (so even a task that panicked is answered).
    simulating: HashMap<tokio::task::Id, Work>,
    /// The check of pending transactions under way (at most one).
    checks: tokio::task::JoinSet<Result<Checked, RpcFailure>>,
    /// Attempts broadcast by this process (after a restart, stored ones are announced again).
    announced: HashSet<B256>,
    /// Broadcasts under way: each runs on its own, so a slow or failing one holds up no other work
    /// (the node queues a later nonce until the earlier one arrives). Yields the hash and whether the
    /// node has it.
    broadcasts: tokio::task::JoinSet<(B256, bool)>,
    /// Hashes of the broadcasts under way.
    sending: HashSet<B256>,
    next_nonce: Option<u64>,
    /// In-flight nonces whose transaction is mined but not yet final, with the block it is in.
    mined: BTreeMap<u64, u64>,
    /// Stuck nonces not re-priced, and why (so each reason is said once).
    held: HashMap<u64, HoldReason>,
    /// Repeated warnings are said once per window.
    throttle: Arc<Throttle>,
    /// The last fee estimate, and when it was asked.
    fees: Option<(std::time::Instant, alloy::eips::eip1559::Eip1559Estimation)>,
    /// The head when a nonce gap was first seen.
    gap_seen: Option<u64>,
    /// Transactions sent into a nonce gap: their fees (max, priority) and the head when sent.
    fillers: HashMap<u64, ((u128, u128), u64)>,
    /// The landed attempt of the latest final nonces (at most [`REMEMBERED`]), to send again should a
    /// reorg deeper than the confirmations take one away.
    landed: BTreeMap<u64, Attempt>,
}

impl Executor {
    async fn run(mut self, mut jobs: mpsc::Receiver<Work>, cancel: CancellationToken) {
        let chain_id = self.chain.spec.chain_id;
        self.load();
        let mut tick = tokio::time::interval(self.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Stopping may drop a step at any await: every step is crash-safe by design (an intent is
            // persisted before its broadcast and reconciled after a restart), so a stop never waits
            // out a hanging RPC call. Tasks still running are aborted with the executor.
            if self.listed.is_none() {
                // At every tick until the records can be read; no work is taken before (it could be
                // what a record not read yet has in flight).
                self.load();
            }
            if self.retiring && self.listed == Some(true) && self.in_flight.is_empty() {
                self.publish(None);
                tracing::info!(chain_id, signer = %self.signer, "the retiring key has nothing in flight; keep it configured while anything it fronted is unrepaid (relayer_fronted_outstanding), then remove it");
                return;
            }
            let room = self.in_flight.len() + self.simulating.len() < self.config.max_in_flight;
            let step = async {
                tokio::select! {
                    job = jobs.recv(), if room && !self.retiring && self.listed.is_some() => {
                        let Some(job) = job else { return false };
                        self.admit(job).await;
                    }
                    Some(done) = self.simulations.join_next_with_id(), if !self.simulations.is_empty() => {
                        self.simulated(done).await;
                    }
                    Some(done) = self.checks.join_next(), if !self.checks.is_empty() => {
                        // A panicked check is simply followed by the next one.
                        if let Ok(checked) = done {
                            self.checked(checked).await;
                        }
                    }
                    Some(done) = self.broadcasts.join_next(), if !self.broadcasts.is_empty() => {
                        // A panicked or aborted broadcast is simply tried again by the next check.
                        if let Ok((tx_hash, known)) = done {
                            self.sending.remove(&tx_hash);
                            if known {
                                self.announced.insert(tx_hash);
                            }
                        }
                    }
                    _ = tick.tick() => self.poll(),
                }
                true
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                more = step => if !more { return },
            }
        }
    }

    /// Reads this key's records (after a restart, what a previous run left in flight). An unreadable
    /// record is reported by the ledger (logged, counted: `/readyz` fails) and left in the store for an
    /// operator.
    fn load(&mut self) {
        let chain_id = self.chain.spec.chain_id;
        match self.chain.sends.list(self.signer.as_slice()) {
            Ok(listing) => {
                if !listing.records.is_empty() {
                    tracing::info!(chain_id, signer = %self.signer, pending = listing.records.len(), "reconciling stored intents");
                }
                if self.retiring && !listing.unreadable.is_empty() {
                    tracing::error!(chain_id, signer = %self.signer, "the retiring key has unreadable send records: it keeps running until an operator looks at them");
                }
                self.listed = Some(listing.unreadable.is_empty());
                for (_, intent) in listing.records {
                    self.keys.insert((intent.session_id, intent.action), intent.nonce);
                    self.in_flight.insert(intent.nonce, intent);
                }
            }
            Err(error) => {
                if self.throttle.allow("list", std::time::Instant::now()).is_some() {
                    tracing::error!(chain_id, signer = %self.signer, error = %causes(&error), "cannot read stored intents");
                }
            }
        }
    }

    async fn report(&self, work: Work, result: WorkResult) {
        self.sink.report(WorkReport { work, result }).await;
    }

    /// Takes `work`: deferred if the same work is being simulated or is in flight (it runs again once
    /// that is done), refused if its token is of another family, otherwise simulated on a task of its
    /// own.
    async fn admit(&mut self, work: Work) {
        let key = (work.session_id, work.action);
        if self.keys.contains_key(&key) || self.simulating.values().any(|w| (w.session_id, w.action) == key) {
            self.rerun.insert(key, work);
            return;
        }
        if let Some(old) = self.chain.held_by(&key) {
            // Sent again by this key, it would race the other key's transaction: one of the two reverts,
            // paid for. Looked at again in a while, for as long as it takes (never given up).
            let why = if old == Address::ZERO {
                "the send records cannot be read, so another key may have this work in flight; waiting until they can be read".to_owned()
            } else {
                format!("key {old} has a transaction for this work on record; waiting for it to be final")
            };
            let now = relayer_types::unix_now();
            // A delivery past the session's expiry retries counted: if the other key's transaction never
            // lands (or the records stay unreadable), it gives up into the refund sweep, whose refund is
            // held the same way until it is safe. A refund, which only runs after the expiry, waits
            // without giving up.
            let delivery = matches!(work.action, Action::Settle { .. } | Action::Bridge { .. });
            let result = if delivery && now > work.commitment.expires_at {
                Refusal::Preparing(why).result(work.commitment.expires_at)
            } else {
                let at = now + HELD_WORK_RECHECK.as_secs();
                WorkResult::NotBefore { reason: Refusal::Preparing(why), at }
            };
            self.report(work, result).await;
            return;
        }
        // The daily fee cap: the work waits for the next day's allowance (what is in flight still lands).
        if let Err(refusal) = self.chain.spending.check() {
            let result = refusal.result(work.commitment.expires_at);
            self.report(work, result).await;
            return;
        }
        if self.chain.spec.family != work.action.token().family() {
            let why = format!("{:?} is not a token of this chain's family", work.action.token());
            self.report(work, WorkResult::Failed(Refusal::Permanent(why))).await;
            return;
        }
        let (chain, tx) = (Arc::clone(&self.chain), self.request(&work));
        // Fronting pays from the relayer's own balance through the router: it needs an allowance (the
        // configured cap, renewed when used up), granted before the first simulation can pass.
        let fronting = match work.action {
            Action::FastFinish { token, amount } => {
                let token_address = token.evm_shaped().unwrap_or_default();
                let cap = self.chain.spec.front_caps.iter().find(|(t, _)| *t == token).map(|(_, c)| *c);
                Some((token_address, amount, cap.unwrap_or(amount).max(amount)))
            }
            _ => None,
        };
        // On record as a key that fronts before its first fronting, so what it fronts keeps counting
        // against the cap after a restart even if it is no longer configured then.
        if fronting.is_some() && !self.recorded_as_fronter {
            if let Err(error) = self.chain.record_fronter(self.signer) {
                self.report(work, WorkResult::NotYet(Refusal::unanswered(&error))).await;
                return;
            }
            self.recorded_as_fronter = true;
        }
        let signer = self.signer;
        let task = {
            let work = work.clone();
            self.simulations.spawn(async move {
                if let Some((token, amount, grant)) = fronting {
                    match allowance(&chain, token, signer).await {
                        Ok(allowed) if allowed < amount => {
                            let reset_first = !allowed.is_zero();
                            return (work, Preflight::Approve { token, amount: grant, reset_first });
                        }
                        Ok(_) => {}
                        Err(error) => {
                            let why = Refusal::unanswered(&error);
                            return (work, Preflight::Report(WorkResult::NotYet(why)));
                        }
                    }
                }
                // A bridge (or a refund sent home through one) pays the bridge's messaging fee, quoted by
                // the router for what the receiver holds now.
                let tx = match quote_call(&tx) {
                    None => tx,
                    Some(quote) => match read_u256(&chain, chain.spec.router, quote).await {
                        Ok(fee) => tx.with_value(fee),
                        Err(error) => {
                            let why = Refusal::unanswered(&error);
                            return (work, Preflight::Report(WorkResult::NotYet(why)));
                        }
                    },
                };
                let verdict = simulate(chain, tx, work.commitment.expires_at).await;
                (work, verdict)
            })
        };
        self.simulating.insert(task.id(), work);
    }

    /// A simulation answered: work that would succeed is signed, persisted and broadcast now (one at a
    /// time, so nonces stay consecutive); anything else is reported. Work deferred behind it that was
    /// not sent runs again.
    async fn simulated(
        &mut self,
        done: Result<(tokio::task::Id, (Work, Preflight)), tokio::task::JoinError>,
    ) {
        let (work, verdict) = match done {
            Ok((id, answer)) => {
                self.simulating.remove(&id);
                answer
            }
            Err(error) => {
                let Some(work) = self.simulating.remove(&error.id()) else { return };
                let why = Refusal::Unanswered(format!("the simulation's task failed: {error}"));
                (work, Preflight::Report(WorkResult::NotYet(why)))
            }
        };
        let key = (work.session_id, work.action);
        let result = match verdict {
            Preflight::Report(result) => result,
            Preflight::Approve { token, amount, reset_first } => {
                match self.approve(token, amount, reset_first).await {
                    Ok(tx_hash) => WorkResult::NotYet(Refusal::Preparing(format!(
                        "approving the router to front with {token} ({tx_hash})"
                    ))),
                    Err(ExecError::Capped(refusal)) => refusal.result(work.commitment.expires_at),
                    Err(error) => WorkResult::NotYet(Refusal::Unanswered(format!(
                        "approving the router failed: {}",
                        causes(&error)
                    ))),
                }
            }
            Preflight::Go { gas, value } => match self.send(&work, gas, value).await {
                Ok(tx_hash) => WorkResult::Sent { tx_hash: self.chain.tx(tx_hash) },
                Err(ExecError::Capped(refusal)) => refusal.result(work.commitment.expires_at),
                Err(error) => {
                    WorkResult::NotYet(Refusal::Unanswered(format!("sending failed: {}", causes(&error))))
                }
            },
        };
        let sent = matches!(result, WorkResult::Sent { .. });
        self.report(work, result).await;
        if !sent && let Some(again) = self.rerun.remove(&key) {
            Box::pin(self.admit(again)).await;
        }
    }

    fn request(&self, work: &Work) -> TransactionRequest {
        TransactionRequest::default()
            .with_from(self.signer)
            .with_to(self.chain.spec.router)
            .with_input(Bytes::from(router_input(&self.chain.spec, work)))
    }

    /// Signs, persists and broadcasts `work` with `value` of native coin (a bridge's fee); returns the
    /// transaction hash.
    async fn send(
        &mut self,
        work: &Work,
        gas: u64,
        value: alloy::primitives::U256,
    ) -> Result<B256, ExecError> {
        let chain = Arc::clone(&self.chain);
        let tx = self.request(work).with_value(value);
        let gas = gas_with_margin(gas, self.config.gas_margin_percent);
        let fees = self.fees().await?;
        let nonce = self.nonce().await?;
        let tx = tx
            .with_nonce(nonce)
            .with_chain_id(chain.spec.chain_id)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        let attempt = self.sign(tx, Reserve::New).await?;
        let intent = Intent {
            chain_id: chain.spec.chain_id,
            signer: self.signer,
            nonce,
            session_id: work.session_id,
            action: work.action,
            attempts: vec![attempt.clone()],
        };
        // Persist before broadcast: a crash after this line is reconciled, never repeated.
        // (A failed write keeps its reservation: the write may have committed all the same, and
        // counting too much only stops sending early.)
        chain.sends.put(&intent.key(), &intent)?;
        self.next_nonce = Some(nonce + 1);
        tracing::info!(
            chain_id = chain.spec.chain_id,
            session_id = %work.session_id,
            action = ?work.action,
            nonce,
            tx_hash = %attempt.tx_hash,
            "broadcasting"
        );
        self.keys.insert((work.session_id, work.action), nonce);
        self.in_flight.insert(nonce, intent);
        self.broadcast(&attempt);
        Ok(attempt.tx_hash)
    }

    async fn sign(&self, tx: TransactionRequest, reserve: Reserve) -> Result<Attempt, ExecError> {
        let max_fee_per_gas = tx.max_fee_per_gas.unwrap_or_default();
        let max_priority_fee_per_gas = tx.max_priority_fee_per_gas.unwrap_or_default();
        let envelope: TxEnvelope = tx.build(&self.wallet).await.map_err(|e| ExecError::Signer(causes(&e)))?;
        let attempt = Attempt {
            tx_hash: *envelope.tx_hash(),
            raw: Bytes::from(envelope.encoded_2718()),
            max_fee_per_gas,
            max_priority_fee_per_gas,
            signed_at: relayer_types::unix_now(),
        };
        // Counted against the daily fee cap at once, at the most it may cost (corrected when final), in
        // the same step as the cap is checked: transactions in flight together cannot overrun it.
        let most = attempt.most_gwei();
        match reserve {
            Reserve::New => self.chain.spending.try_reserve(most).map_err(ExecError::Capped)?,
            Reserve::Over(counted) => self.chain.spending.reserve(most.saturating_sub(counted)),
            Reserve::Filler => self.chain.spending.reserve(most),
        }
        Ok(attempt)
    }

    /// Starts announcing `attempt` (unless that is under way); the outcome comes back through
    /// `broadcasts`. One that fails is announced again by the next check of pending transactions.
    fn broadcast(&mut self, attempt: &Attempt) {
        if !self.sending.insert(attempt.tx_hash) {
            return;
        }
        let (chain, throttle) = (Arc::clone(&self.chain), Arc::clone(&self.throttle));
        let (tx_hash, raw) = (attempt.tx_hash, attempt.raw.clone());
        chain.stats.broadcasts.fetch_add(1, Ordering::Relaxed);
        self.broadcasts.spawn(async move {
            let send = |p: alloy::providers::DynProvider| {
                let raw = raw.clone();
                // Asked again before every try: the RPC layer's retries and hedges may outlast the lease.
                let fenced = chain.sends.may_broadcast().is_err();
                async move {
                    if fenced {
                        return Err(alloy::transports::TransportErrorKind::custom_str(
                            "not broadcast: this instance no longer holds the signing lease",
                        ));
                    }
                    p.send_raw_transaction(&raw).await
                }
            };
            // A former holder of the signing lease sends nothing, not even again what it sent before.
            if let Err(error) = chain.sends.may_broadcast() {
                if let Some(suppressed) = throttle.allow("fenced", std::time::Instant::now()) {
                    tracing::warn!(chain_id = chain.spec.chain_id, %tx_hash, error = %causes(&error), suppressed, "not broadcast");
                }
                return (tx_hash, false);
            }
            let known = match chain.rpc(send).await {
                Ok(_) => true,
                // Re-announcing bytes the node already has is the expected case after a restart.
                Err(RpcFailure::Rpc(e)) if is_known(&e.to_string()) => true,
                Err(error) => {
                    if let Some(suppressed) = throttle.allow("broadcast", std::time::Instant::now()) {
                        tracing::warn!(
                            chain_id = chain.spec.chain_id,
                            %tx_hash,
                            error = %causes(&error),
                            suppressed,
                            "broadcast failed; will retry"
                        );
                    }
                    false
                }
            };
            (tx_hash, known)
        });
    }

    /// Whether fee bumps wait for the signer (it failed to sign one less than a bump period ago).
    fn signer_resting(&self) -> bool {
        self.signer_rests_until.is_some_and(|until| std::time::Instant::now() < until)
    }

    /// The signer failed to sign a fee bump: bumps wait a bump period (each failed call to a remote
    /// signer may take its whole timeout, and the loop waits on it).
    fn signer_failed(&mut self, why: &str) {
        if !self.signer_resting() {
            tracing::warn!(chain_id = self.chain.spec.chain_id, signer = %self.signer, error = why, "the signer did not sign a fee bump; bumps wait a period");
        }
        self.signer_rests_until = Some(std::time::Instant::now() + self.config.bump_after);
    }

    /// Publishes what is pending for `/metrics`.
    fn publish(&self, latest: Option<u64>) {
        // Once its records are read, every key says what it has in flight that another key would take
        // now (a retiring key: all of it), so that key waits for it instead of sending it again.
        if self.listed.is_some() {
            let elsewhere = self.keys.keys().filter(|(_, action)| self.chain.takes(action) != self.signer);
            let holder = if self.retiring { Holder::Retiring } else { Holder::Working };
            self.chain.hold(self.signer, holder, Some(elsewhere.copied().collect()));
        }
        if self.retiring {
            return; // counted by what it holds
        }
        self.chain.figures(self.signer, |figures| {
            figures.pending = self.in_flight.len() as u64;
            let oldest =
                self.in_flight.values().filter_map(|i| i.attempts.first().map(|a| a.signed_at)).min();
            figures.oldest_since = oldest.unwrap_or(0);
            if let Some(latest) = latest {
                let lowest = self.in_flight.keys().next().copied();
                figures.nonce_gap = lowest.map_or(0, |n| n.saturating_sub(latest));
            } else if self.in_flight.is_empty() {
                figures.nonce_gap = 0;
            }
        });
    }
}

fn is_known(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already known") || m.contains("already imported") || m.contains("nonce too low")
}
