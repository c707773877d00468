//! A Tron chain behind the chain seam. Why a family of its own that reuses the EVM-shaped half rather
//! than a transport inside the EVM family: what Tron shares with EVM chains is exactly what the
//! contracts make the same (the router's calls and events, receivers derived by CREATE2, ERC-20-style
//! tokens, `eth_getLogs` on Tron's JSON-RPC), and what differs is all of sending (no nonces, a reference
//! block and an expiration, energy within a `fee_limit`, an HTTP API instead of
//! `eth_sendRawTransaction`), which is the other pipeline discipline. So a [`TronChain`] is an
//! [`EvmChain`] for watching and reading, and a [`TronSender`] on the shared expiry-ordered pipeline for
//! sending; the EVM executor never runs for it.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use relayer_chain::{
    AccountGauge, BoxFuture, Chain, ChainStats, EventSink, Inspection, PaysBy, Route, Stopped, Work, pipeline,
};
use relayer_evm::EvmChain;
use relayer_types::{ChainAddress, ChainKey, Commitment, Session, TokenRef, TxId, U256};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{answers::Resources, sender::TronSender};

/// How often the relayer's account is read (TRX, energy, bandwidth).
const ACCOUNT_EVERY: Duration = Duration::from_secs(15);

/// A Tron chain: watched as an EVM-shaped chain, sent to through its node's HTTP API.
pub struct TronChain {
    evm: Arc<EvmChain>,
    sender: Arc<TronSender>,
    jobs: mpsc::Sender<Work>,
    queued: Mutex<Option<mpsc::Receiver<Work>>>,
    /// The relayer's account as last read.
    account: Mutex<Option<Resources>>,
    /// Below this much TRX (in sun) the relayer is not ready.
    floor_sun: u64,
}

impl std::fmt::Debug for TronChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TronChain").field("chain_id", &self.evm.spec.chain_id).finish_non_exhaustive()
    }
}

impl TronChain {
    /// The chain `evm` watches, sending with `sender`; not ready while the account holds less than
    /// `floor_sun` of TRX.
    pub fn new(evm: Arc<EvmChain>, sender: Arc<TronSender>, floor_sun: u64) -> Self {
        let (jobs, queued) = pipeline::queue();
        Self { evm, sender, jobs, queued: Mutex::new(Some(queued)), account: Mutex::default(), floor_sun }
    }

    /// Reads the relayer's account (TRX, energy, bandwidth); a failed read keeps the last.
    async fn read_account(&self) {
        match self.sender.node().resources(self.sender.owner()).await {
            Ok(read) => *self.account.lock().unwrap_or_else(PoisonError::into_inner) = Some(read),
            Err(error) => {
                tracing::warn!(chain_id = self.evm.spec.chain_id, %error, "cannot read the relayer's Tron account")
            }
        }
    }

    /// The sender (its node, its counters).
    pub fn sender(&self) -> &Arc<TronSender> {
        &self.sender
    }
}

impl Chain for TronChain {
    fn key(&self) -> ChainKey {
        self.evm.key()
    }

    fn name(&self) -> &str {
        self.evm.name()
    }

    fn tokens(&self) -> &[TokenRef] {
        self.evm.tokens()
    }

    fn receiver(&self, commitment: &Commitment) -> ChainAddress {
        self.evm.receiver(commitment)
    }

    fn route(&self, token: &ChainAddress, to_chain_id: u64) -> Option<Route> {
        self.evm.route(token, to_chain_id)
    }

    fn open_amount_minimum(&self, token: &ChainAddress) -> U256 {
        self.evm.open_amount_minimum(token)
    }

    /// Nothing is fronted on Tron (a source chain).
    fn fronting_cap(&self, _token: &ChainAddress) -> Option<U256> {
        None
    }

    fn relayer_address(&self) -> Option<ChainAddress> {
        self.evm.relayer_address()
    }

    fn other_addresses(&self) -> Vec<ChainAddress> {
        self.evm.other_addresses()
    }

    fn pays_by(&self) -> PaysBy {
        self.evm.pays_by()
    }

    fn cross_chain_refusal(&self, session: &Session) -> Option<String> {
        self.evm.cross_chain_refusal(session)
    }

    fn balance_of(&self, token: ChainAddress, owner: ChainAddress) -> BoxFuture<'_, Result<U256, String>> {
        self.evm.balance_of(token, owner)
    }

    fn submit(&self, work: Work) -> BoxFuture<'_, Result<(), Stopped>> {
        Box::pin(async move { self.jobs.send(work).await.map_err(|_| Stopped(self.evm.spec.chain_id)) })
    }

    fn inspect(&self, tx_hash: TxId) -> BoxFuture<'_, Inspection> {
        self.evm.inspect(tx_hash)
    }

    fn stats(&self) -> ChainStats {
        let account = *self.account.lock().unwrap_or_else(PoisonError::into_inner);
        let read = account.is_some();
        let gauge =
            |resource, amount, floor| Some(AccountGauge { role: "settle", resource, amount, floor, read });
        ChainStats {
            broadcasts: self.sender.broadcasts(),
            // Until the first read, no TRX at all as far as `/readyz` can tell.
            account: [
                gauge("trx_sun", account.map_or(0, |a| a.balance_sun), self.floor_sun),
                gauge("energy", account.map_or(0, |a| a.energy), 0),
                gauge("bandwidth", account.map_or(0, |a| a.bandwidth), 0),
            ],
            unreadable_sends: pipeline::ExpiryOrdered::ledger(self.sender.as_ref()).unreadable(),
            // Tron's own (in sun), not the EVM-shaped watcher's.
            spending: self.sender.spending.as_ref().map(relayer_chain::Spending::stats),
            ..self.evm.stats()
        }
    }

    fn start(self: Arc<Self>, sink: Arc<dyn EventSink>, cancel: CancellationToken, tasks: &TaskTracker) {
        let Some(jobs) = self.queued.lock().unwrap_or_else(PoisonError::into_inner).take() else {
            tracing::error!(chain_id = self.evm.spec.chain_id, "chain started twice; ignored");
            return;
        };
        tasks.spawn(pipeline::run(Arc::clone(&self.sender), jobs, Arc::clone(&sink), cancel.child_token()));
        let chain = Arc::clone(&self);
        tasks.spawn(relayer_chain::every(ACCOUNT_EVERY, cancel.child_token(), move || {
            let chain = Arc::clone(&chain);
            async move { chain.read_account().await }
        }));
        Arc::clone(&self.evm).start_watcher(sink, cancel, tasks);
    }
}
