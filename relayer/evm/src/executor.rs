//! The executor: one per (chain, signing key), the only code that sends transactions for that key.
//! It owns the key's nonces. Every transaction is simulated first, signed, **persisted as an intent
//! (with its signed bytes) before broadcast**, and tracked until one of its attempts is mined. After a
//! restart it reconciles stored intents against the chain (receipts by hash, the key's nonce) and
//! re-announces the same signed bytes rather than signing anything new, so a crash can never turn into
//! a second transaction; the router's on-chain guards make even a duplicate harmless. Stuck
//! transactions are replaced with the same nonce at a higher fee.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use alloy::{
    consensus::TxEnvelope,
    eips::{Decodable2718, Encodable2718},
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, B256, Bytes},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use relayer_store::Store;
use relayer_types::{Action, Attempt, Intent, SessionId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    bindings::DepositRouter::{self, DepositRouterErrors},
    chain::{EvmChain, RpcFailure},
    create2::DepositParams,
};

/// Work for the executor: move a session's funds.
#[derive(Debug, Clone)]
pub struct Job {
    /// Session acted for.
    pub session_id: SessionId,
    /// Its on-chain commitment.
    pub params: DepositParams,
    /// What to do.
    pub action: Action,
}

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
    /// Delay before retrying a job the chain is not ready for (e.g. a refund before expiry).
    pub retry_after: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 32,
            bump_after: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            gas_margin_percent: 25,
            retry_after: Duration::from_secs(5),
        }
    }
}

/// Sends jobs to a running executor.
#[derive(Debug, Clone)]
pub struct ExecutorHandle {
    jobs: mpsc::Sender<Job>,
}

impl ExecutorHandle {
    /// Queues `job`; waits while the queue is full. Fails only when the executor stopped.
    pub async fn submit(&self, job: Job) -> Result<(), Job> {
        self.jobs.send(job).await.map_err(|e| e.0)
    }
}

/// Why an executor step failed; all are retried.
#[derive(Debug, thiserror::Error)]
enum ExecError {
    #[error(transparent)]
    Rpc(#[from] RpcFailure),
    #[error(transparent)]
    Store(#[from] relayer_store::StoreError),
    #[error("signing: {0}")]
    Sign(String),
}

/// What the simulation said about a job.
enum Preflight {
    Go,
    /// Nothing to do (e.g. another relayer settled first).
    Done(&'static str),
    /// Not yet (e.g. a refund before expiry, an RPC hiccup).
    Later(String),
    /// The session expired on chain before its funds started: they may only be refunded now.
    RefundInstead,
    /// Would revert for a reason retrying cannot fix.
    Fail(String),
}

/// Starts the executor of `signer` on `chain`; it stops when `cancel` fires.
pub fn spawn(
    chain: Arc<EvmChain>,
    signer: PrivateKeySigner,
    store: Arc<dyn Store>,
    config: ExecutorConfig,
    cancel: CancellationToken,
    tasks: &tokio_util::task::TaskTracker,
) -> ExecutorHandle {
    let (jobs, rx) = mpsc::channel(1024);
    let executor = Executor {
        signer: signer.address(),
        wallet: EthereumWallet::from(signer),
        chain,
        store,
        config,
        in_flight: BTreeMap::new(),
        keys: HashMap::new(),
        rerun: HashMap::new(),
        later: vec![],
        announced: HashSet::new(),
        next_nonce: None,
    };
    tasks.spawn(executor.run(rx, cancel));
    ExecutorHandle { jobs }
}

struct Executor {
    chain: Arc<EvmChain>,
    signer: Address,
    wallet: EthereumWallet,
    store: Arc<dyn Store>,
    config: ExecutorConfig,
    in_flight: BTreeMap<u64, Intent>,
    keys: HashMap<(SessionId, Action), u64>,
    /// Jobs that arrived while the same work was in flight: run again once it lands, for funds that
    /// arrived after the in-flight transaction was mined.
    rerun: HashMap<(SessionId, Action), Job>,
    later: Vec<(Instant, Job)>,
    /// Attempts broadcast by this process (after a restart, stored ones are announced again).
    announced: HashSet<B256>,
    next_nonce: Option<u64>,
}

impl Executor {
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>, cancel: CancellationToken) {
        let chain_id = self.chain.spec.chain_id;
        match self.store.intents(chain_id, self.signer) {
            Ok(intents) => {
                if !intents.is_empty() {
                    tracing::info!(chain_id, pending = intents.len(), "reconciling stored intents");
                }
                for intent in intents {
                    self.keys.insert((intent.session_id, intent.action), intent.nonce);
                    self.in_flight.insert(intent.nonce, intent);
                }
            }
            Err(error) => tracing::error!(chain_id, %error, "cannot read stored intents"),
        }
        let mut tick = tokio::time::interval(self.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                job = jobs.recv(), if self.in_flight.len() < self.config.max_in_flight => {
                    let Some(job) = job else { return };
                    self.handle(job).await;
                }
                _ = tick.tick() => self.poll().await,
            }
        }
    }

    /// Whether the same work is already in flight; if so `job` is kept to run again once that is done.
    fn defer_if_in_flight(&mut self, job: &Job) -> bool {
        let key = (job.session_id, job.action);
        if !self.keys.contains_key(&key) {
            return false;
        }
        self.rerun.insert(key, job.clone());
        true
    }

    async fn handle(&mut self, mut job: Job) {
        let chain_id = self.chain.spec.chain_id;
        if self.defer_if_in_flight(&job) {
            return;
        }
        let mut preflight = self.preflight(&job).await;
        if let (Preflight::RefundInstead, Action::Settle { token }) = (&preflight, job.action) {
            // The chain's clock passed `expiresAt` before the settle could land; the router now takes
            // only a refund, so send that instead of dropping the work.
            tracing::info!(chain_id, session_id = %job.session_id, "expired on chain; refunding instead");
            job.action = Action::Refund { token };
            if self.defer_if_in_flight(&job) {
                return;
            }
            preflight = self.preflight(&job).await;
        }
        match preflight {
            Preflight::Go => {}
            Preflight::Done(why) => {
                tracing::debug!(chain_id, session_id = %job.session_id, why, "nothing to send");
                return;
            }
            Preflight::Later(why) => {
                tracing::debug!(chain_id, session_id = %job.session_id, why, "not ready; retrying later");
                self.later.push((Instant::now() + self.config.retry_after, job));
                return;
            }
            Preflight::Fail(why) => {
                tracing::error!(chain_id, session_id = %job.session_id, action = ?job.action, why, "job would revert; dropped");
                return;
            }
            Preflight::RefundInstead => {
                tracing::error!(chain_id, session_id = %job.session_id, action = ?job.action, "refund refused as expired; dropped");
                return;
            }
        }
        if let Err(error) = self.send(job.clone()).await {
            tracing::warn!(chain_id, session_id = %job.session_id, %error, "send failed; retrying later");
            self.later.push((Instant::now() + self.config.retry_after, job));
        }
    }

    fn request(&self, job: &Job) -> TransactionRequest {
        let input = match job.action {
            Action::Settle { token } => {
                DepositRouter::settleCall { params: job.params.clone(), token }.abi_encode()
            }
            Action::Refund { token } => {
                DepositRouter::refundCall { params: job.params.clone(), token }.abi_encode()
            }
        };
        TransactionRequest::default()
            .with_from(self.signer)
            .with_to(self.chain.spec.router)
            .with_input(Bytes::from(input))
    }

    async fn preflight(&self, job: &Job) -> Preflight {
        let tx = self.request(job);
        match self.chain.rpc(self.chain.provider.call(tx).into_future()).await {
            Ok(_) => Preflight::Go,
            Err(RpcFailure::Rpc(error)) => {
                let decoded = error
                    .as_error_resp()
                    .and_then(|resp| resp.as_decoded_interface_error::<DepositRouterErrors>());
                match decoded {
                    Some(DepositRouterErrors::NothingToSettle(_)) => {
                        Preflight::Done("receiver holds nothing")
                    }
                    Some(DepositRouterErrors::NotExpired(_)) => {
                        Preflight::Later("session not expired on chain".into())
                    }
                    Some(DepositRouterErrors::Expired(_)) => Preflight::RefundInstead,
                    Some(other) => Preflight::Fail(format!("{other:?}")),
                    None if error.as_error_resp().is_some() => Preflight::Fail(error.to_string()),
                    None => Preflight::Later(error.to_string()),
                }
            }
            Err(timeout) => Preflight::Later(timeout.to_string()),
        }
    }

    async fn nonce(&mut self) -> Result<u64, ExecError> {
        if let Some(n) = self.next_nonce {
            return Ok(n);
        }
        let chain = &self.chain;
        let pending =
            chain.rpc(chain.provider.get_transaction_count(self.signer).pending().into_future()).await?;
        let stored = self.in_flight.keys().next_back().map_or(0, |n| n + 1);
        Ok(pending.max(stored))
    }

    async fn send(&mut self, job: Job) -> Result<(), ExecError> {
        let chain = Arc::clone(&self.chain);
        let tx = self.request(&job);
        let gas = chain.rpc(chain.provider.estimate_gas(tx.clone()).into_future()).await?;
        let gas = gas * (100 + self.config.gas_margin_percent) / 100;
        let fees = chain.rpc(chain.provider.estimate_eip1559_fees()).await?;
        let nonce = self.nonce().await?;
        let tx = tx
            .with_nonce(nonce)
            .with_chain_id(chain.spec.chain_id)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        let attempt = self.sign(tx).await?;
        let intent = Intent {
            chain_id: chain.spec.chain_id,
            signer: self.signer,
            nonce,
            session_id: job.session_id,
            action: job.action,
            attempts: vec![attempt.clone()],
        };
        // Persist before broadcast: a crash after this line is reconciled, never repeated.
        self.store.put_intent(&intent)?;
        self.next_nonce = Some(nonce + 1);
        tracing::info!(
            chain_id = chain.spec.chain_id,
            session_id = %job.session_id,
            action = ?job.action,
            nonce,
            tx_hash = %attempt.tx_hash,
            "broadcasting"
        );
        self.keys.insert((job.session_id, job.action), nonce);
        self.in_flight.insert(nonce, intent);
        self.broadcast(&attempt).await;
        Ok(())
    }

    async fn sign(&self, tx: TransactionRequest) -> Result<Attempt, ExecError> {
        let max_fee_per_gas = tx.max_fee_per_gas.unwrap_or_default();
        let max_priority_fee_per_gas = tx.max_priority_fee_per_gas.unwrap_or_default();
        let envelope: TxEnvelope =
            tx.build(&self.wallet).await.map_err(|e| ExecError::Sign(e.to_string()))?;
        Ok(Attempt {
            tx_hash: *envelope.tx_hash(),
            raw: Bytes::from(envelope.encoded_2718()),
            max_fee_per_gas,
            max_priority_fee_per_gas,
            signed_at: relayer_types::unix_now(),
        })
    }

    async fn broadcast(&mut self, attempt: &Attempt) {
        let chain = &self.chain;
        chain.stats.broadcasts.fetch_add(1, Ordering::Relaxed);
        match chain.rpc(chain.provider.send_raw_transaction(&attempt.raw).into_future()).await {
            Ok(_) => {}
            // Re-announcing bytes the node already has is the expected case after a restart.
            Err(RpcFailure::Rpc(e)) if is_known(&e.to_string()) => {}
            Err(error) => {
                tracing::warn!(chain_id = chain.spec.chain_id, tx_hash = %attempt.tx_hash, %error, "broadcast failed; will retry");
                return;
            }
        }
        self.announced.insert(attempt.tx_hash);
    }

    async fn poll(&mut self) {
        let due: Vec<Job> = {
            let now = Instant::now();
            let (due, wait) = std::mem::take(&mut self.later).into_iter().partition(|(at, _)| *at <= now);
            self.later = wait;
            due.into_iter().map(|(_, job)| job).collect()
        };
        for job in due {
            self.handle(job).await;
        }
        if self.in_flight.is_empty() {
            return;
        }
        if let Err(error) = self.check_in_flight().await {
            tracing::warn!(chain_id = self.chain.spec.chain_id, %error, "checking pending transactions failed");
            // The node may have forgotten what we sent; ask it again next time.
            self.next_nonce = None;
        }
    }

    async fn check_in_flight(&mut self) -> Result<(), ExecError> {
        let chain = Arc::clone(&self.chain);
        let latest = chain.rpc(chain.provider.get_transaction_count(self.signer).into_future()).await?;
        let nonces: Vec<u64> = self.in_flight.keys().copied().collect();
        for nonce in nonces {
            let Some(intent) = self.in_flight.get(&nonce).cloned() else {
                continue;
            };
            let mut mined = None;
            for attempt in intent.attempts.iter().rev() {
                let receipt =
                    chain.rpc(chain.provider.get_transaction_receipt(attempt.tx_hash).into_future()).await?;
                if let Some(receipt) = receipt {
                    mined = Some(receipt);
                    break;
                }
            }
            if let Some(receipt) = mined {
                if receipt.status() {
                    tracing::info!(chain_id = chain.spec.chain_id, session_id = %intent.session_id, tx_hash = %receipt.transaction_hash, block = receipt.block_number, "mined");
                } else {
                    // Typically another relayer settled first; the watcher records what happened.
                    tracing::warn!(chain_id = chain.spec.chain_id, session_id = %intent.session_id, tx_hash = %receipt.transaction_hash, "mined but reverted");
                }
                self.finish(nonce).await?;
            } else if latest > nonce {
                tracing::warn!(chain_id = chain.spec.chain_id, session_id = %intent.session_id, nonce, "nonce used without a known receipt; treating as done");
                self.finish(nonce).await?;
            } else if let Some(last) = intent.attempts.last() {
                if relayer_types::unix_now().saturating_sub(last.signed_at)
                    >= self.config.bump_after.as_secs()
                {
                    self.bump(intent).await?;
                } else if !self.announced.contains(&last.tx_hash) {
                    let last = last.clone();
                    self.broadcast(&last).await;
                }
            }
        }
        Ok(())
    }

    async fn finish(&mut self, nonce: u64) -> Result<(), ExecError> {
        self.store.delete_intent(self.chain.spec.chain_id, self.signer, nonce)?;
        if let Some(intent) = self.in_flight.remove(&nonce) {
            let key = (intent.session_id, intent.action);
            self.keys.remove(&key);
            if let Some(job) = self.rerun.remove(&key) {
                Box::pin(self.handle(job)).await;
            }
        }
        Ok(())
    }

    /// Replaces a stuck transaction: same nonce and calldata, fees up by at least a quarter (nodes
    /// require ~10% to accept a replacement) or to the current estimate, whichever is higher.
    async fn bump(&mut self, mut intent: Intent) -> Result<(), ExecError> {
        let chain = Arc::clone(&self.chain);
        let Some(last) = intent.attempts.last().cloned() else {
            return Ok(());
        };
        let envelope = TxEnvelope::decode_2718(&mut last.raw.as_ref())
            .map_err(|e| ExecError::Sign(format!("stored transaction unreadable: {e}")))?;
        let fees = chain.rpc(chain.provider.estimate_eip1559_fees()).await?;
        let bump = |old: u128, now: u128| (old + old / 4).max(now).max(old + 1);
        let max_fee = bump(last.max_fee_per_gas, fees.max_fee_per_gas);
        let priority = bump(last.max_priority_fee_per_gas, fees.max_priority_fee_per_gas).min(max_fee);
        let tx = TransactionRequest::from_transaction(envelope)
            .with_from(self.signer)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority);
        let attempt = self.sign(tx).await?;
        intent.attempts.push(attempt.clone());
        self.store.put_intent(&intent)?;
        tracing::info!(
            chain_id = chain.spec.chain_id,
            session_id = %intent.session_id,
            nonce = intent.nonce,
            tx_hash = %attempt.tx_hash,
            max_fee_per_gas = max_fee,
            "fee bump"
        );
        self.in_flight.insert(intent.nonce, intent);
        self.broadcast(&attempt).await;
        Ok(())
    }
}

fn is_known(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already known") || m.contains("already imported") || m.contains("nonce too low")
}
