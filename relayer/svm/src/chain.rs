//! Solana as a [`Chain`]: receivers are vault token accounts (the deposit address of a vault PDA of the
//! params hash); the watcher ([`crate::watcher`]) reads what happened to them and to the program's inbox,
//! and the executor ([`crate::executor`]) sends `settle`, `refund`, `bridge`, `claim` and `send_back` with
//! persist-before-send, reconciling after a restart.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use relayer_chain::{
    AccountGauge, BoxFuture, Chain, ChainStats, EventSink, Inspection, Route, SendLedger, Stopped, Work,
    pipeline::Signed,
};
use relayer_store::ChainStore;
use relayer_types::{ChainAddress, ChainKey, Commitment, Family, SessionId, TokenRef, TxId, U256};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signature},
    signer::Signer,
};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    client::{Confirmation, SvmClient},
    tx,
};

/// How one Solana cluster is used.
#[derive(Debug, Clone)]
pub struct SvmConfig {
    /// The API's `chainId` (501).
    pub chain_id: u64,
    /// Display name; also the `chainName` of Solana sources (`solana`).
    pub name: String,
    /// Tokens (mints) accepted and delivered; the first is the one vault token accounts are watched for.
    pub tokens: Vec<TokenRef>,
    /// Pause between watcher polls (and executor reconciliations).
    pub poll: Duration,
    /// Bridge routes out of Solana (through Circle's CCTP v2 token messenger, its `adapter`), by destination
    /// chain.
    pub routes: Vec<(u64, Route)>,
    /// Transfers bridged into the inbox below this (base units of the first mint) are not claimed by the
    /// relayer: each claim pays a claim record's rent, and anyone can burn dust naming a receiver.
    pub min_inbox_amount: u64,
    /// Per mint, what must arrive before an open-amount session delivering it starts.
    pub open_minimums: Vec<(ChainAddress, U256)>,
    /// Slots the watcher may fall behind the cluster's finalized slot before `/readyz` fails. A healthy
    /// watcher is behind by what passes during a poll and the pause after it (the head is read as a poll
    /// starts, and what it processed is that same slot once the poll ends), so the budget must cover
    /// the longest healthy poll, not zero.
    pub lag_budget_slots: u64,
    /// How the relayer's transactions are priced and when they count as landed.
    pub landing: Landing,
    /// Circle's attestation service (Iris: `https://iris-api.circle.com`, the sandbox's for Solana's
    /// devnet, the devnet attester's locally), asked for the messages of the sessions' bridgings towards
    /// Solana, which the relayer delivers itself ([`crate::arrivals`]). `None`: nobody here delivers
    /// them (someone else must).
    pub attestation_url: Option<String>,
}

/// How the relayer's transactions land on a busy cluster: a compute-unit limit from a simulation (a
/// priority fee is paid on the limit asked for, not on what was used), a price per unit from what
/// recently landed beside the same accounts, never above a ceiling, and the commitment at which a sent
/// transaction counts as landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landing {
    /// A sent transaction counts as landed once the cluster confirmed it this far (`confirmed` or
    /// `finalized`); below, it is still pending (sent again while its blockhash is valid).
    pub commitment: Confirmation,
    /// Which percentile of the recent priority fees (per slot, over the transaction's writable accounts)
    /// to pay, 0–100.
    pub fee_percentile: u8,
    /// The most paid per compute unit, in micro-lamports, whatever the cluster's fees say.
    pub max_micro_lamports: u64,
    /// Compute units asked for above what the simulation used, in percent (state can change between the
    /// simulation and the block).
    pub unit_margin_percent: u32,
    /// Below this many lamports in the fee payer's account, `/readyz` fails (0: no floor).
    pub min_lamports: u64,
    /// The operator's limits on the fees paid, in lamports.
    pub spending: relayer_chain::SpendingLimits,
}

impl Default for Landing {
    fn default() -> Self {
        Self {
            commitment: Confirmation::Finalized,
            fee_percentile: 75,
            max_micro_lamports: 1_000_000,
            unit_margin_percent: 20,
            min_lamports: 0,
            spending: relayer_chain::SpendingLimits::default(),
        }
    }
}

/// How long one ask of the attestation service may take.
const ATTESTATION_TIMEOUT: Duration = Duration::from_secs(10);

/// A configured Solana cluster.
pub struct SvmChain {
    pub(crate) config: SvmConfig,
    pub(crate) client: Arc<dyn SvmClient>,
    pub(crate) signer: Keypair,
    /// Signed transactions, on record from before they are sent until they land or never can.
    pub(crate) ledger: SendLedger<Signed>,
    /// Where the watcher keeps its marks (see [`crate::watcher`]).
    pub(crate) store: Arc<dyn ChainStore>,
    pub(crate) queue: mpsc::Sender<Work>,
    pub(crate) jobs: Mutex<Option<mpsc::Receiver<Work>>>,
    stats: Mutex<ChainStats>,
    /// Transfers in the inbox not yet claimed or sent back, by the session whose receiver their hook
    /// names.
    inbound: Mutex<HashMap<SessionId, Vec<Pending>>>,
    /// Changes to `inbound` so far (its mark is written again only after one).
    inbound_changes: std::sync::atomic::AtomicU64,
    /// Whether the watcher has read everything there was when it started.
    pub(crate) caught_up: tokio::sync::watch::Sender<bool>,
    /// The fee payer's lamports as last read (`None` before the first read).
    balance: Mutex<Option<u64>>,
    /// The priority fee last paid, micro-lamports per unit (paid again when the node has no fees to say).
    pub(crate) last_price: std::sync::atomic::AtomicU64,
    /// Bridgings towards Solana whose messages the relayer delivers ([`crate::arrivals`]).
    pub(crate) arrivals: crate::arrivals::Arrivals,
    /// Asks the attestation service.
    pub(crate) http: reqwest::Client,
    /// Fees paid, against the operator's limits (where any are set: otherwise nothing is counted in the
    /// store, and `relayer_fees_paid_total` still says what was paid).
    pub(crate) spending: Option<relayer_chain::Spending>,
}

/// A transfer in the inbox not yet claimed or sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The program's record of it (made by `record`; it may not exist yet).
    pub(crate) at: Pubkey,
    /// Base units it brought.
    pub(crate) amount: u64,
    /// Whether its delivery reported it (else the program's record of it, when that was seen first).
    pub(crate) by_delivery: bool,
    /// The attested message Circle's transmitter delivered (what `record` takes before the claim), when the
    /// watcher saw the delivery of a transfer the relayer claims (at least `min_inbox_amount`).
    pub(crate) delivery: Option<crate::tx::Delivery>,
}

/// A Solana signature as a [`TxId`].
pub fn tx_id(signature: &Signature) -> TxId {
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(signature.as_ref());
    TxId::Solana(bytes)
}

/// The Solana public key of `address`, if it is one.
pub(crate) fn pubkey(address: ChainAddress) -> Option<Pubkey> {
    match address {
        ChainAddress::Solana(key) => Some(Pubkey::new_from_array(key)),
        ChainAddress::Evm(_) | ChainAddress::Tron(_) => None,
    }
}

impl SvmChain {
    /// A chain over `client`, sending with `signer` (it pays fees and the rent of recipients' token
    /// accounts that do not exist yet), keeping its send records in `store`.
    pub fn new(
        config: SvmConfig,
        client: Arc<dyn SvmClient>,
        store: Arc<dyn ChainStore>,
        signer: Keypair,
    ) -> Self {
        let (queue, jobs) = relayer_chain::pipeline::queue();
        let limits = config.landing.spending;
        let spending = (limits != relayer_chain::SpendingLimits::default())
            .then(|| relayer_chain::Spending::new(config.chain_id, "lamports", limits, Arc::clone(&store)));
        Self {
            spending,
            ledger: SendLedger::new(Arc::clone(&store), config.chain_id),
            store,
            config,
            client,
            signer,
            queue,
            jobs: Mutex::new(Some(jobs)),
            stats: Mutex::default(),
            inbound: Mutex::default(),
            inbound_changes: std::sync::atomic::AtomicU64::new(0),
            caught_up: tokio::sync::watch::Sender::new(false),
            balance: Mutex::default(),
            last_price: std::sync::atomic::AtomicU64::new(0),
            arrivals: crate::arrivals::Arrivals::default(),
            http: reqwest::Client::builder().timeout(ATTESTATION_TIMEOUT).build().unwrap_or_default(),
        }
    }

    /// Reads the fee payer's SOL; a failed read keeps the last.
    async fn read_balance(&self) {
        match self.client.balance(self.signer.pubkey()).await {
            Ok(lamports) => *self.balance.lock().unwrap_or_else(PoisonError::into_inner) = Some(lamports),
            Err(error) => {
                self.stats_mut().rpc_errors += 1;
                tracing::warn!(chain_id = self.config.chain_id, error = %relayer_chain::causes(&error), "cannot read the fee payer's SOL");
            }
        }
    }

    /// Changes to the inbox transfers so far.
    pub(crate) fn inbound_changes(&self) -> u64 {
        self.inbound_changes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Notes a change to the inbox transfers.
    pub(crate) fn inbound_changed(&self) {
        self.inbound_changes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn inbound_mut(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Vec<Pending>>> {
        self.inbound.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The mint deposits are watched in (the first configured).
    pub(crate) fn watched_mint(&self) -> Option<Pubkey> {
        self.config.tokens.first().and_then(|t| pubkey(t.address))
    }

    pub(crate) fn token_ref(&self, mint: &Pubkey) -> Option<TokenRef> {
        self.config.tokens.iter().find(|t| t.address == ChainAddress::Solana(mint.to_bytes())).cloned()
    }

    pub(crate) fn stats_mut(&self) -> std::sync::MutexGuard<'_, ChainStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn signer_pubkey(&self) -> Pubkey {
        self.signer.pubkey()
    }

    /// Resolves once the watcher has read everything there was when it started (its first poll that
    /// read the inbox).
    pub async fn caught_up(&self) {
        let mut caught_up = self.caught_up.subscribe();
        let _ = caught_up.wait_for(|done| *done).await;
    }

    async fn watch(self: Arc<Self>, sink: Arc<dyn EventSink>, cancel: CancellationToken) {
        let mut state = crate::watcher::WatchState::load(&self);
        loop {
            let step = tokio::select! {
                () = cancel.cancelled() => return,
                step = self.watch_step(sink.as_ref(), &mut state) => step,
            };
            if let Err(error) = step {
                self.stats_mut().rpc_errors += 1;
                tracing::warn!(chain_id = self.config.chain_id, error = %relayer_chain::causes(&error), "solana watcher step failed; retrying");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }
}

impl Chain for SvmChain {
    /// A Solana payer signs the vault payment built for its wallet, which the vault commits to as the
    /// session's Solana refund address.
    fn pays_by(&self) -> relayer_chain::PaysBy {
        relayer_chain::PaysBy::WalletTransaction
    }

    /// A vault bridging to an EVM destination commits the paying wallet as its refund address: a final
    /// call that reverts on the destination chain could bounce nowhere the router can pay.
    fn cross_chain_refusal(&self, session: &relayer_types::Session) -> Option<String> {
        session.destination.calldata.is_some().then(|| {
            "a session with a final call cannot be paid from Solana (a bounce on the destination chain needs an EVM refund address)".into()
        })
    }

    fn key(&self) -> ChainKey {
        ChainKey { family: Family::Solana, chain_id: self.config.chain_id }
    }

    fn name(&self) -> &str {
        &self.config.name
    }

    fn tokens(&self) -> &[TokenRef] {
        &self.config.tokens
    }

    fn open_amount_minimum(&self, token: &ChainAddress) -> U256 {
        self.config.open_minimums.iter().find(|(t, _)| t == token).map_or(U256::ZERO, |(_, m)| *m)
    }

    fn deposit_tokens(&self) -> &[TokenRef] {
        // Only the first mint's vault accounts are watched (and only it has bridge routes).
        &self.config.tokens[..self.config.tokens.len().min(1)]
    }

    fn receiver(&self, commitment: &Commitment) -> ChainAddress {
        let mint = self.watched_mint().unwrap_or_default();
        ChainAddress::Solana(tx::vault_token(commitment, &mint).to_bytes())
    }

    fn route(&self, token: &ChainAddress, to_chain_id: u64) -> Option<Route> {
        // Circle's CCTP carries the watched mint (USDC) only.
        let watched = self.watched_mint().map(|m| ChainAddress::Solana(m.to_bytes()));
        (Some(*token) == watched)
            .then(|| self.config.routes.iter().find(|(to, _)| *to == to_chain_id).map(|(_, r)| r.clone()))
            .flatten()
    }

    fn relayer_address(&self) -> Option<ChainAddress> {
        Some(ChainAddress::Solana(self.signer.pubkey().to_bytes()))
    }

    /// Each transfer bridged into the inbox is claimed alone (the program keeps no state to add them up).
    fn bridged_arrivals_add_up(&self) -> bool {
        false
    }

    fn payment_transaction(
        &self,
        commitment: &Commitment,
        payer: ChainAddress,
        token: ChainAddress,
        amount: U256,
    ) -> BoxFuture<'_, Result<Vec<u8>, String>> {
        let commitment = commitment.clone();
        Box::pin(async move {
            let payer = pubkey(payer).ok_or("the payer is not a Solana address")?;
            let mint = pubkey(token).ok_or("the token is not a Solana mint")?;
            let decimals = self.token_ref(&mint).ok_or("the mint is not configured")?.decimals;
            let amount =
                u64::try_from(amount).map_err(|_| "the amount does not fit a Solana token amount")?;
            let (blockhash, _) = self.client.latest_blockhash().await.map_err(|e| e.to_string())?;
            let tx =
                tx::payment_transaction(&payer, &tx::vault(&commitment), &mint, decimals, amount, blockhash)?;
            Ok(tx::serialize(&tx))
        })
    }

    fn balance_of(&self, token: ChainAddress, owner: ChainAddress) -> BoxFuture<'_, Result<U256, String>> {
        Box::pin(async move {
            let (Some(mint), Some(owner)) = (pubkey(token), pubkey(owner)) else {
                return Err("not a Solana address".into());
            };
            // The owner's associated token account; none is a zero balance.
            let ata = anchor_spl::associated_token::get_associated_token_address(&owner, &mint);
            let accounts = self.client.accounts(vec![ata]).await.map_err(|e| e.to_string())?;
            let amount = accounts.into_iter().flatten().next().and_then(|a| tx::token_account(&a.data));
            Ok(U256::from(amount.map_or(0, |(_, _, amount)| amount)))
        })
    }

    /// Follows a session's bridging towards Solana until its messages are delivered, when an attestation
    /// service is configured ([`crate::arrivals`]): from a chain Circle's CCTP serves on the program's
    /// routes, in an EVM transaction.
    fn arriving(
        &self,
        session: &relayer_types::Session,
        from_chain: u64,
        bridging: &relayer_types::Bridging,
    ) -> Result<(), relayer_store::StoreError> {
        if self.config.attestation_url.is_none() || bridging.to_chain_id != Some(self.config.chain_id) {
            return Ok(());
        }
        let domain = deposit_vault::evm::cctp_domain(&deposit_vault::u64_word(from_chain));
        let (Some(domain), Some(tx_hash)) = (domain, bridging.event.tx_hash.as_evm()) else {
            tracing::warn!(chain_id = self.config.chain_id, session_id = %session.id, from_chain, "a bridging towards Solana from a chain no CCTP route of the program serves; not followed");
            return Ok(());
        };
        // Circle's USDC has 6 decimals on every chain: the bridged amount reads in the mint's units. Less
        // than the relayer claims is not worth delivering (and a flood of such bridgings costs nothing).
        if bridging.amount < relayer_types::U256::from(self.config.min_inbox_amount) {
            tracing::info!(chain_id = self.config.chain_id, session_id = %session.id, amount = %bridging.amount, "a bridging towards Solana below the least the relayer claims; not delivered by it");
            return Ok(());
        }
        if self.follow_arrival((domain, tx_hash.0, session.id), session.commitment())? {
            tracing::info!(chain_id = self.config.chain_id, session_id = %session.id, from_chain, tx_hash = %tx_hash, "following a bridging towards Solana");
        }
        Ok(())
    }

    fn submit(&self, work: Work) -> BoxFuture<'_, Result<(), Stopped>> {
        Box::pin(async move { self.queue.send(work).await.map_err(|_| Stopped(self.config.chain_id)) })
    }

    fn inspect(&self, _tx_hash: TxId) -> BoxFuture<'_, Inspection> {
        // The watcher polls every vault each `poll`; a hint would not be faster.
        Box::pin(async { Inspection::NotYet })
    }

    /// `head` and `processed` are both finalized slots (the watcher's `getSlot`), so the lag and its
    /// budget are in slots.
    fn stats(&self) -> ChainStats {
        let stats = *self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        let balance = *self.balance.lock().unwrap_or_else(PoisonError::into_inner);
        ChainStats {
            unreadable_sends: self.ledger.unreadable(),
            lag_budget: self.config.lag_budget_slots,
            // Until the first read, no SOL at all as far as `/readyz` can tell.
            account: [
                Some(AccountGauge {
                    role: "settle",
                    resource: "sol_lamports",
                    amount: balance.unwrap_or(0),
                    floor: self.config.landing.min_lamports,
                    read: balance.is_some(),
                }),
                None,
                None,
            ],
            spending: self.spending.as_ref().map(relayer_chain::Spending::stats),
            ..stats
        }
    }

    fn start(self: Arc<Self>, sink: Arc<dyn EventSink>, cancel: CancellationToken, tasks: &TaskTracker) {
        let chain = Arc::clone(&self);
        tasks.spawn(relayer_chain::every(relayer_chain::ACCOUNT_READ_EVERY, cancel.clone(), move || {
            let chain = Arc::clone(&chain);
            async move { chain.read_balance().await }
        }));
        tasks.spawn(Arc::clone(&self).watch(Arc::clone(&sink), cancel.clone()));
        tasks.spawn(Arc::clone(&self).follow_arrivals(Arc::clone(&sink), cancel.clone()));
        tasks.spawn(crate::executor::run(self, sink, cancel));
    }
}
