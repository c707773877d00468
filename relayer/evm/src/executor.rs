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
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use relayer_chain::{EventSink, Throttle, Work, WorkReport, WorkResult, causes};
use relayer_types::{Action, SessionId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    bindings::DepositRouter::{self, DepositRouterErrors},
    chain::{EvmChain, RpcFailure},
    create2::deposit_params,
    intent::{self, Attempt, Intent},
};

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
    Store(#[from] relayer_store::StoreError),
    #[error("signing: {0}")]
    Sign(String),
}

/// What the simulation said about a piece of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preflight {
    /// It would succeed, using this much gas and paying `value` of native coin (a bridge's messaging fee,
    /// quoted by the router): send it.
    Go {
        /// Gas the simulation used.
        gas: u64,
        /// Native coin to send along.
        value: alloy::primitives::U256,
    },
    /// Anything else goes back to the engine as this result.
    Report(WorkResult),
    /// Fronting: the router may not yet take this token from the relayer; approve `amount` first.
    Approve {
        /// The token.
        token: Address,
        /// The allowance to grant.
        amount: alloy::primitives::U256,
        /// Some allowance is left: set it to zero first (USDT refuses non-zero to non-zero).
        reset_first: bool,
    },
}

alloy::sol! {
    /// Raised by `TransferOutLib` inside a receiver or an executor when a token does not move what it was
    /// asked to (it bubbles up through the router, whose ABI does not list it).
    #[derive(Debug)]
    error TransferOutFailed(address token, address to, uint256 amount);
}

alloy::sol! {
    /// The ERC-20 calls fronting needs, and `balanceOf` (token options).
    interface IErc20Allowance {
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address owner) external view returns (uint256);
    }
}

/// `owner`'s balance of `token`.
pub(crate) async fn balance(
    chain: &EvmChain,
    token: Address,
    owner: Address,
) -> Result<alloy::primitives::U256, RpcFailure> {
    read_u256(chain, token, IErc20Allowance::balanceOfCall { owner }.abi_encode()).await
}

/// A view call of `token` answering one `uint256`.
async fn read_u256(
    chain: &EvmChain,
    token: Address,
    call: Vec<u8>,
) -> Result<alloy::primitives::U256, RpcFailure> {
    let tx = TransactionRequest::default().with_to(token).with_input(Bytes::from(call));
    let out = chain
        .rpc(|p| {
            let tx = tx.clone();
            async move { p.call(tx).await }
        })
        .await?;
    Ok(alloy::primitives::U256::try_from_be_slice(out.get(..32).unwrap_or_default()).unwrap_or_default())
}

/// The router's allowance over `signer`'s `token`.
async fn allowance(
    chain: &EvmChain,
    token: Address,
    signer: Address,
) -> Result<alloy::primitives::U256, RpcFailure> {
    read_u256(
        chain,
        token,
        IErc20Allowance::allowanceCall { owner: signer, spender: chain.spec.router }.abi_encode(),
    )
    .await
}

/// How a failed simulation failed.
#[derive(Debug)]
pub enum SimulationError {
    /// The router reverted with one of its own errors.
    Router(DepositRouterErrors),
    /// The token refused to move the funds (`TransferOutFailed`, from a receiver or the executor: a
    /// blacklisted recipient, a paused token): worth trying again later.
    TokenRefused(String),
    /// The node answered with an error that is not one of the router's (another revert, a node limit).
    Node(String),
    /// No answer: transport failure or timeout.
    Transport(String),
}

/// Maps a failed simulation of work for a session expiring at `expires_at` to what the engine is told.
/// Only the router's own errors are trusted to say something about the session; anything the node says
/// otherwise is a failure retrying cannot fix, and a missing answer is worth another try.
pub fn preflight(error: SimulationError, expires_at: u64) -> Preflight {
    let result = match error {
        SimulationError::Router(DepositRouterErrors::NothingToSettle(_)) => {
            WorkResult::Done("the receiver holds nothing of this token".into())
        }
        SimulationError::Router(DepositRouterErrors::NotExpired(e)) => WorkResult::NotBefore {
            reason: "the session has not expired on chain yet".into(),
            at: e.expiresAt.saturating_add(1),
        },
        // The chain's clock passed `expiresAt` before the settle could land; the router takes only a
        // refund now.
        SimulationError::Router(DepositRouterErrors::Expired(_)) => WorkResult::RefundInstead,
        // Someone else bridged or delivered first, or the bridged funds already arrived: fronting is moot.
        SimulationError::Router(DepositRouterErrors::AlreadyStarted(_)) => {
            WorkResult::Done("the session already started on this chain; nothing to front".into())
        }
        // Bridged funds could arrive only after expiry: they are refunded instead, on this chain. The refund's
        // own simulation waits for expiry (`NotExpired`), so nothing is retried as a bridge that can never
        // pass (before, such funds waited for a refund nobody scheduled).
        SimulationError::Router(DepositRouterErrors::TooLateToBridge(_)) => WorkResult::RefundInstead,
        // Nothing starts the session below its committed minimum: more may come; after expiry it is
        // refunded (the settle's retry then answers `Expired`).
        SimulationError::Router(DepositRouterErrors::BelowMinimum(_)) => WorkResult::NotBefore {
            reason: "less than the session's minimum is there; waiting for the rest until expiry".into(),
            at: expires_at.saturating_add(1),
        },
        SimulationError::Router(other) => WorkResult::Failed(format!("the router would revert: {other:?}")),
        SimulationError::TokenRefused(message) => WorkResult::NotYet(message),
        SimulationError::Node(message) => WorkResult::Failed(message),
        SimulationError::Transport(message) => WorkResult::NotYet(message),
    };
    Preflight::Report(result)
}

/// The nonce for a new transaction: the node's pending count, or past the highest nonce this key
/// still has stored in flight (the node may have dropped those from its pool, but they were signed
/// and may still land: reusing their nonce would replace them).
pub fn next_nonce(pending_on_node: u64, highest_stored: Option<u64>) -> u64 {
    pending_on_node.max(highest_stored.map_or(0, |n| n + 1))
}

/// Fees of a replacement: at least a quarter above the previous attempt (nodes require ~10% to accept
/// a replacement) and at least the current estimate; the priority fee never exceeds the max fee.
pub fn bumped_fees(previous: (u128, u128), estimate: (u128, u128)) -> (u128, u128) {
    let bump = |old: u128, now: u128| old.saturating_add(old / 4).max(now).max(old.saturating_add(1));
    let max_fee = bump(previous.0, estimate.0);
    (max_fee, bump(previous.1, estimate.1).min(max_fee))
}

/// Where one in-flight transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlight {
    /// Mined with the chain's confirmations: forget it.
    Final,
    /// Mined in `block`, not yet final: keep it (a reorg may still take it away).
    Mined {
        /// The block.
        block: u64,
    },
    /// Seen mined before, now without a receipt and with the key's nonce back at or below it: a reorg
    /// removed it. Send the same bytes again.
    Vanished,
    /// No receipt, but the chain has used the nonce (a transaction of ours we do not know of).
    UsedElsewhere,
    /// Not mined yet.
    Pending,
}

/// The chain as one check of the pending transactions saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The key's mined nonce.
    pub latest: u64,
    /// The head.
    pub head: u64,
    /// The last block the watcher had processed, read before the receipts were.
    pub processed: u64,
}

/// Classifies an in-flight transaction from its receipt's block (if any), whether it was seen mined
/// before, its own nonce, what the check saw and the chain's confirmations. Nothing is forgotten
/// before the chain's own confirmation rule makes it final: a transaction dropped at zero
/// confirmations by a reorg would leave a nonce gap no later transaction can pass. Nor before the
/// watcher has processed its block: a transaction final to the executor but reorganised away before
/// the watcher read it would leave its session with neither a recorded delivery nor anyone to send it
/// again. The watcher's mark is read before the receipt, so a receipt in a block the watcher read on
/// another branch means the watcher's cursor is on that branch, and it reads the block again.
pub fn in_flight_state(
    receipt_block: Option<u64>,
    was_mined: bool,
    nonce: u64,
    view: View,
    confirmations: u64,
) -> InFlight {
    let View { latest, head, processed } = view;
    match receipt_block {
        Some(block)
            if head.saturating_add(1) >= block.saturating_add(confirmations.max(1)) && processed >= block =>
        {
            InFlight::Final
        }
        Some(block) => InFlight::Mined { block },
        None if latest > nonce => InFlight::UsedElsewhere,
        None if was_mined => InFlight::Vanished,
        None => InFlight::Pending,
    }
}

/// What to do about nonces missing below the key's lowest pending transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// None missing.
    None,
    /// Some missing since the head was at this block: wait, a node that re-includes a reorganised
    /// transaction closes the gap by itself.
    Wait(u64),
    /// Missing for [`GAP_BLOCKS`] blocks: fill these nonces.
    Fill(std::ops::Range<u64>),
}

/// Final nonces whose landed transaction the executor keeps in memory.
const REMEMBERED: usize = 1024;

/// Blocks a nonce gap may last before it is filled.
pub const GAP_BLOCKS: u64 = 2;

/// Decides about a gap from the key's mined nonce (`latest`), the lowest nonce still held in flight,
/// the head, and the head when the gap was first seen. Every nonce below the lowest one held was
/// finished (final, or used by the chain), so the chain being behind it means a reorg deeper than the
/// confirmations took a final transaction away: every later one waits behind it for good unless the
/// nonce is used again.
pub fn nonce_gap(latest: u64, lowest_held: Option<u64>, head: u64, seen_at: Option<u64>) -> Gap {
    match lowest_held {
        Some(lowest) if latest < lowest => match seen_at {
            Some(seen) if head >= seen.saturating_add(GAP_BLOCKS) => Gap::Fill(latest..lowest),
            Some(seen) => Gap::Wait(seen),
            None => Gap::Wait(head),
        },
        _ => Gap::None,
    }
}

/// The most a chain's transactions may pay per gas: an absolute cap, and a multiple of the current base
/// fee (whichever is lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeCeiling {
    /// Absolute cap in wei per gas.
    pub absolute: Option<u128>,
    /// Cap as a multiple of the latest base fee.
    pub base_fee_multiple: u64,
}

impl Default for FeeCeiling {
    fn default() -> Self {
        Self { absolute: None, base_fee_multiple: 10 }
    }
}

impl FeeCeiling {
    /// The cap at `base_fee`.
    pub fn at(&self, base_fee: u128) -> u128 {
        let relative = base_fee.saturating_mul(u128::from(self.base_fee_multiple.max(1)));
        self.absolute.map_or(relative, |a| a.min(relative))
    }
}

/// What to do about a transaction pending past `bump_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    /// Replace it with these fees (max fee, priority fee).
    To(u128, u128),
    /// Leave it: a higher price would not help, or may not be paid.
    Hold(HoldReason),
}

/// Why a stuck transaction is not re-priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldReason {
    /// An earlier nonce of the key is not mined: this one waits for it, whatever its price.
    BehindEarlierNonce,
    /// Its fees already meet the current estimate: price is not why it waits.
    PriceIsNotWhy,
    /// A replacement would have to pay more than the ceiling allows.
    Ceiling,
}

impl HoldReason {
    /// For logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BehindEarlierNonce => "behind_earlier_nonce",
            Self::PriceIsNotWhy => "price_is_not_why",
            Self::Ceiling => "fee_ceiling",
        }
    }
}

/// Decides about a stuck transaction with `nonce` when the key's mined nonce is `latest`, its last
/// attempt paid `previous` (max fee, priority fee), the node now estimates `estimate`, and `cap` is the
/// ceiling. Re-pricing only helps when price is why it waits, and never goes past the ceiling.
pub fn bump_decision(
    nonce: u64,
    latest: u64,
    previous: (u128, u128),
    estimate: (u128, u128),
    cap: u128,
) -> Bump {
    if nonce > latest {
        return Bump::Hold(HoldReason::BehindEarlierNonce);
    }
    if previous.0 >= estimate.0 && previous.1 >= estimate.1 {
        return Bump::Hold(HoldReason::PriceIsNotWhy);
    }
    let (max_fee, priority) = bumped_fees(previous, estimate);
    let max_fee = max_fee.min(cap);
    // Nodes accept a replacement only at a real increase (about 10%); less than that is pointless.
    if max_fee < previous.0.saturating_add(previous.0 / 10).max(previous.0.saturating_add(1)) {
        return Bump::Hold(HoldReason::Ceiling);
    }
    Bump::To(max_fee, priority.min(max_fee))
}

/// Gas limit with `margin_percent` over the estimate.
pub fn gas_with_margin(estimate: u64, margin_percent: u64) -> u64 {
    estimate.saturating_mul(100 + margin_percent) / 100
}

/// Where the router refunds `params` on its chain (its `refundTarget`): `refundAddress` if it holds an EVM
/// address, else `toAddress` if it does, else nowhere (the session's funds can only be sent home).
pub fn refund_target(params: &crate::create2::DepositParams) -> Option<Address> {
    let evm = |word: B256| (word[..12] == [0u8; 12] && word != B256::ZERO).then(|| Address::from_word(word));
    evm(params.refundAddress).or_else(|| evm(params.toAddress))
}

/// The router's `quoteBridge` call for a transaction that bridges (`bridge`, or `refundHome`), if it is one.
fn quote_call(tx: &TransactionRequest) -> Option<Vec<u8>> {
    let input = tx.input.input()?;
    if let Ok(call) = DepositRouter::bridgeCall::abi_decode(input) {
        return Some(
            DepositRouter::quoteBridgeCall {
                params: call.params,
                token: call.token,
                adapter: call.adapter,
                data: call.data,
            }
            .abi_encode(),
        );
    }
    let call = DepositRouter::refundHomeCall::abi_decode(input).ok()?;
    Some(
        DepositRouter::quoteBridgeCall {
            params: call.params,
            token: call.token,
            adapter: call.adapter,
            data: call.data,
        }
        .abi_encode(),
    )
}

/// Simulates a transaction by estimating its gas: a revert answers with the router's error exactly as
/// `eth_call` would, and success gives the gas to send with (one call instead of two). Owns what it
/// needs, so several run while the executor sends the ones already decided.
async fn simulate(chain: Arc<EvmChain>, tx: TransactionRequest, expires_at: u64) -> Preflight {
    let error = match chain
        .rpc(|p| {
            let tx = tx.clone();
            async move { p.estimate_gas(tx).await }
        })
        .await
    {
        Ok(gas) => return Preflight::Go { gas, value: tx.value.unwrap_or_default() },
        Err(RpcFailure::Rpc(error)) => {
            let decoded = error
                .as_error_resp()
                .and_then(|resp| resp.as_decoded_interface_error::<DepositRouterErrors>());
            let refused = error.as_error_resp().and_then(|resp| resp.as_decoded_error::<TransferOutFailed>());
            match decoded {
                Some(router) => SimulationError::Router(router),
                None if refused.is_some() => SimulationError::TokenRefused(format!(
                    "the token refused to move the funds (a blacklisted recipient or a paused token): {refused:?}"
                )),
                None if error.as_error_resp().is_some() => SimulationError::Node(error.to_string()),
                None => SimulationError::Transport(error.to_string()),
            }
        }
        Err(timeout) => SimulationError::Transport(timeout.to_string()),
    };
    preflight(error, expires_at)
}

/// What one check found about one in-flight nonce.
#[derive(Debug)]
struct Lookup {
    /// The receipt of whichever attempt was mined.
    receipt: Option<TransactionReceipt>,
    /// Without a receipt: whether the node still knows the last attempt (asked only of attempts this
    /// process announced).
    known: Option<bool>,
}

/// What one check of the pending transactions found: the chain as it saw it, and whatever lookups
/// answered in time.
type Checked = (View, Vec<(u64, Result<Lookup, RpcFailure>)>);

/// One in-flight nonce as a check sees it: its attempts' hashes (newest first) and whether its last
/// attempt was announced by this process.
type ToCheck = (u64, Vec<B256>, bool);

/// The receipt of whichever of `hashes` (the attempts of one nonce, newest first) was mined; without
/// one, and if `ask_known`, whether the node still knows the newest.
async fn lookup(chain: &EvmChain, hashes: &[B256], ask_known: bool) -> Result<Lookup, RpcFailure> {
    for &hash in hashes {
        if let Some(receipt) = chain.rpc(|p| async move { p.get_transaction_receipt(hash).await }).await? {
            return Ok(Lookup { receipt: Some(receipt), known: None });
        }
    }
    let known = match hashes.first() {
        Some(&last) if ask_known => {
            Some(chain.rpc(|p| async move { p.get_transaction_by_hash(last).await }).await?.is_some())
        }
        _ => None,
    };
    Ok(Lookup { receipt: None, known })
}

/// Looks up every in-flight nonce at once, with the key's mined nonce and the head. Lookups still
/// unanswered after [`CHECK_BUDGET`] (an RPC hanging through every hedge) are left to the next check.
async fn check(chain: Arc<EvmChain>, signer: Address, nonces: Vec<ToCheck>) -> Result<Checked, RpcFailure> {
    use futures::StreamExt as _;
    let deadline = tokio::time::Instant::now() + CHECK_BUDGET;
    // Before any receipt is read: see [`in_flight_state`].
    let processed = *chain.processed.borrow();
    let heads = async {
        tokio::join!(
            chain.rpc(|p| async move { p.get_transaction_count(signer).await }),
            chain.rpc(|p| async move { p.get_block_number().await }),
        )
    };
    let mut lookups: futures::stream::FuturesUnordered<_> = nonces
        .into_iter()
        .map(|(nonce, hashes, ask_known)| {
            let chain = &chain;
            async move { (nonce, lookup(chain, &hashes, ask_known).await) }
        })
        .collect();
    let answered = async {
        let mut answered = vec![];
        while let Ok(Some(one)) = tokio::time::timeout_at(deadline, lookups.next()).await {
            answered.push(one);
        }
        answered
    };
    let (heads, answered) = tokio::join!(tokio::time::timeout_at(deadline, heads), answered);
    match heads {
        Ok((latest, head)) => Ok((View { latest: latest?, head: head?, processed }, answered)),
        Err(_) => Err(RpcFailure::Timeout(CHECK_BUDGET)),
    }
}

/// How long a fee estimate is used before the node is asked again.
const FEES_FRESH_FOR: Duration = Duration::from_secs(2);

/// The longest one check of pending transactions waits for its lookups.
const CHECK_BUDGET: Duration = Duration::from_secs(1);

/// The queue of one chain's executor: [`EvmChain`] holds the sender, the executor the receiver.
pub(crate) fn queue() -> (mpsc::Sender<Work>, mpsc::Receiver<Work>) {
    mpsc::channel(1024)
}

/// Runs the executor of `signer` on `chain`, reporting to `sink`, until `cancel`.
pub(crate) async fn run(
    chain: Arc<EvmChain>,
    signer: PrivateKeySigner,
    config: ExecutorConfig,
    sink: Arc<dyn EventSink>,
    jobs: mpsc::Receiver<Work>,
    cancel: CancellationToken,
) {
    let executor = Executor {
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
        match intent::list(self.chain.store.as_ref(), chain_id, self.signer) {
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
            // Stopping may drop a step at any await: every step is crash-safe by design (an intent is
            // persisted before its broadcast and reconciled after a restart), so a stop never waits
            // out a hanging RPC call. Tasks still running are aborted with the executor.
            let room = self.in_flight.len() + self.simulating.len() < self.config.max_in_flight;
            let step = async {
                tokio::select! {
                    job = jobs.recv(), if room => {
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
        if self.chain.spec.family != work.action.token().family() {
            let why = format!("{:?} is not a token of this chain's family", work.action.token());
            self.report(work, WorkResult::Failed(why)).await;
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
                            return (work, Preflight::Report(WorkResult::NotYet(error.to_string())));
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
                            return (work, Preflight::Report(WorkResult::NotYet(error.to_string())));
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
                (work, Preflight::Report(WorkResult::NotYet(format!("simulation failed: {error}"))))
            }
        };
        let key = (work.session_id, work.action);
        let result = match verdict {
            Preflight::Report(result) => result,
            Preflight::Approve { token, amount, reset_first } => match self
                .approve(token, amount, reset_first)
                .await
            {
                Ok(tx_hash) => {
                    WorkResult::NotYet(format!("approving the router to front with {token} ({tx_hash})"))
                }
                Err(error) => WorkResult::NotYet(format!("approving the router failed: {}", causes(&error))),
            },
            Preflight::Go { gas, value } => match self.send(&work, gas, value).await {
                Ok(tx_hash) => WorkResult::Sent { tx_hash: self.chain.tx(tx_hash) },
                Err(error) => WorkResult::NotYet(format!("sending failed: {}", causes(&error))),
            },
        };
        let sent = matches!(result, WorkResult::Sent { .. });
        self.report(work, result).await;
        if !sent && let Some(again) = self.rerun.remove(&key) {
            Box::pin(self.admit(again)).await;
        }
    }

    fn request(&self, work: &Work) -> TransactionRequest {
        let params = deposit_params(&work.commitment);
        // `handle` refused tokens of other families; an EVM-shaped token always has 20 bytes.
        let token = work.action.token().evm_shaped().unwrap_or_default();
        // A session without a refund address usable here (a Solana destination whose integrator gave no
        // EVM refund address) refunds by sending its destination token home, through the route to its
        // destination chain, where its own family refunds it.
        let home = match (work.action, refund_target(&params)) {
            (Action::Refund { token }, None) => self
                .chain
                .spec
                .routes
                .iter()
                .find(|r| r.token == token && r.to_chain_id == work.commitment.to_chain_id)
                .and_then(|r| r.route.adapter.evm_shaped()),
            _ => None,
        };
        let input = match work.action {
            Action::Settle { .. } => DepositRouter::settleCall { params, token }.abi_encode(),
            Action::Refund { .. } => match home {
                Some(adapter) => {
                    DepositRouter::refundHomeCall { params, token, adapter, data: Bytes::new() }.abi_encode()
                }
                None => DepositRouter::refundCall { params, token }.abi_encode(),
            },
            // No adapter options: no fee, standard finality (the cheapest route for the payer).
            Action::Bridge { adapter, .. } => {
                let adapter = adapter.evm_shaped().unwrap_or_default();
                DepositRouter::bridgeCall { params, token, adapter, data: Bytes::new() }.abi_encode()
            }
            Action::FastFinish { amount, .. } => {
                DepositRouter::fastFinishCall { params, amount }.abi_encode()
            }
        };
        TransactionRequest::default()
            .with_from(self.signer)
            .with_to(self.chain.spec.router)
            .with_input(Bytes::from(input))
    }

    /// The node's fee estimate, asked at most once per [`FEES_FRESH_FOR`] (a batch of sends shares it).
    async fn fees(&mut self) -> Result<alloy::eips::eip1559::Eip1559Estimation, ExecError> {
        if let Some((at, fees)) = self.fees
            && at.elapsed() < FEES_FRESH_FOR
        {
            return Ok(fees);
        }
        let fees = self.chain.rpc(|p| async move { p.estimate_eip1559_fees().await }).await?;
        self.fees = Some((std::time::Instant::now(), fees));
        Ok(fees)
    }

    async fn nonce(&mut self) -> Result<u64, ExecError> {
        if let Some(n) = self.next_nonce {
            return Ok(n);
        }
        let chain = &self.chain;
        let pending = {
            let signer = self.signer;
            chain.rpc(|p| async move { p.get_transaction_count(signer).pending().await }).await?
        };
        Ok(next_nonce(pending, self.in_flight.keys().next_back().copied()))
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
        let attempt = self.sign(tx).await?;
        let intent = Intent {
            chain_id: chain.spec.chain_id,
            signer: self.signer,
            nonce,
            session_id: work.session_id,
            action: work.action,
            attempts: vec![attempt.clone()],
        };
        // Persist before broadcast: a crash after this line is reconciled, never repeated.
        intent::put(chain.store.as_ref(), &intent)?;
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
                async move { p.send_raw_transaction(&raw).await }
            };
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

    /// Publishes what is pending for `/metrics`.
    fn publish(&self, latest: Option<u64>) {
        let stats = &self.chain.stats;
        stats.pending.store(self.in_flight.len() as u64, Ordering::Relaxed);
        let oldest = self.in_flight.values().filter_map(|i| i.attempts.first().map(|a| a.signed_at)).min();
        stats.oldest_pending_since.store(oldest.unwrap_or(0), Ordering::Relaxed);
        if let Some(latest) = latest {
            let lowest = self.in_flight.keys().next().copied();
            stats.nonce_gap.store(lowest.map_or(0, |n| n.saturating_sub(latest)), Ordering::Relaxed);
        }
    }

    /// Starts a check of the pending transactions, unless one is under way.
    fn poll(&mut self) {
        if self.in_flight.is_empty() {
            self.publish(None);
            self.chain.stats.nonce_gap.store(0, Ordering::Relaxed);
            // Idle: the next send asks the node for the nonce, so a reorg that emptied the nonces of
            // finished transactions leaves no gap behind it.
            self.next_nonce = None;
            return;
        }
        if !self.checks.is_empty() {
            return;
        }
        let nonces: Vec<ToCheck> = self
            .in_flight
            .iter()
            .map(|(nonce, intent)| {
                let hashes: Vec<B256> = intent.attempts.iter().rev().map(|a| a.tx_hash).collect();
                let announced = hashes.first().is_some_and(|h| self.announced.contains(h));
                (*nonce, hashes, announced)
            })
            .collect();
        self.checks.spawn(check(Arc::clone(&self.chain), self.signer, nonces));
    }

    /// Acts on what a check found, each transaction on its own: one failed lookup holds up no other.
    async fn checked(&mut self, checked: Result<Checked, RpcFailure>) {
        let chain_id = self.chain.spec.chain_id;
        let (view, lookups) = match checked {
            Ok(checked) => checked,
            Err(error) => {
                if let Some(suppressed) = self.throttle.allow("check", std::time::Instant::now()) {
                    tracing::warn!(chain_id, error = %causes(&error), suppressed, "checking pending transactions failed");
                }
                // The node may have forgotten what we sent; ask it again next time.
                self.next_nonce = None;
                return;
            }
        };
        for (nonce, found) in lookups {
            let checked = match found {
                Ok(found) => self.check_one(nonce, view, found).await,
                Err(error) => Err(error.into()),
            };
            if let Err(error) = checked
                && let Some(suppressed) = self.throttle.allow("check one", std::time::Instant::now())
            {
                tracing::warn!(chain_id, nonce, error = %causes(&error), suppressed, "checking a pending transaction failed; retrying");
            }
        }
        let View { latest, head, .. } = view;
        self.publish(Some(latest));
        match nonce_gap(latest, self.in_flight.keys().next().copied(), head, self.gap_seen) {
            Gap::None => {
                self.gap_seen = None;
                self.fillers.clear();
            }
            Gap::Wait(seen) => self.gap_seen = Some(seen),
            Gap::Fill(nonces) => {
                for nonce in nonces {
                    if let Err(error) = self.fill(nonce, head).await {
                        tracing::warn!(chain_id, nonce, error = %causes(&error), "filling a nonce gap failed; retrying");
                    }
                }
            }
        }
    }

    /// Grants the router an allowance of `amount` over the relayer's `token` (fronting pays through it),
    /// after setting what is left of the old one to zero if `reset_first` (USDT and its kin refuse to
    /// change a non-zero allowance to another non-zero one). Not stored as intents: lost in a crash, they
    /// are asked for again by the next fronting, and a nonce one used and the chain dropped is filled like
    /// any other gap. A fixed gas limit: the second call could not be estimated before the first lands.
    async fn approve(
        &mut self,
        token: Address,
        amount: alloy::primitives::U256,
        reset_first: bool,
    ) -> Result<B256, ExecError> {
        const APPROVE_GAS: u64 = 100_000;
        let fees = self.fees().await?;
        let mut last = B256::ZERO;
        let grants = if reset_first { vec![alloy::primitives::U256::ZERO, amount] } else { vec![amount] };
        for grant in grants {
            let input =
                IErc20Allowance::approveCall { spender: self.chain.spec.router, amount: grant }.abi_encode();
            let nonce = self.nonce().await?;
            let tx = TransactionRequest::default()
                .with_from(self.signer)
                .with_to(token)
                .with_input(Bytes::from(input))
                .with_nonce(nonce)
                .with_chain_id(self.chain.spec.chain_id)
                .with_gas_limit(APPROVE_GAS)
                .with_max_fee_per_gas(fees.max_fee_per_gas)
                .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
            let attempt = self.sign(tx).await?;
            self.next_nonce = Some(nonce + 1);
            tracing::info!(chain_id = self.chain.spec.chain_id, %token, amount = %grant, nonce, tx_hash = %attempt.tx_hash, "approving the router for fronting");
            self.broadcast(&attempt);
            last = attempt.tx_hash;
        }
        Ok(last)
    }

    /// Keeps `landed` as the transaction of final `nonce`, forgetting the oldest beyond [`REMEMBERED`].
    fn remember(&mut self, nonce: u64, landed: Attempt) {
        self.landed.insert(nonce, landed);
        while self.landed.len() > REMEMBERED {
            self.landed.pop_first();
        }
    }

    /// Uses `nonce` again, which a reorg emptied: every later transaction of the key waits for it. The
    /// transaction that had landed there is sent again (its signed bytes are valid again, as if the
    /// chain re-included it; if what it settled is gone too, it reverts harmlessly and the watcher sees
    /// the deposit orphaned). One this process no longer remembers (after a restart, or too long ago)
    /// is replaced by a no-op transfer to itself: a settlement it carried is seen orphaned by the
    /// watcher and sent again, or re-queued by the engine at start. If the gap lasts another
    /// [`GAP_BLOCKS`] blocks, the same is signed again at higher fees.
    async fn fill(&mut self, nonce: u64, head: u64) -> Result<(), ExecError> {
        let chain = Arc::clone(&self.chain);
        let previous = self.fillers.get(&nonce).copied();
        if previous.is_some_and(|(_, sent)| head < sent.saturating_add(GAP_BLOCKS)) {
            return Ok(());
        }
        let landed = self.landed.get(&nonce).cloned();
        let attempt = match (&landed, previous) {
            (Some(landed), None) => landed.clone(),
            _ => {
                let estimate = self.fees().await?;
                let estimate = (estimate.max_fee_per_gas, estimate.max_priority_fee_per_gas);
                let paid = previous.map(|(fees, _)| fees);
                let (max_fee, priority) = paid.map_or(estimate, |paid| bumped_fees(paid, estimate));
                let tx = match &landed {
                    Some(landed) => TransactionRequest::from_transaction(
                        TxEnvelope::decode_2718(&mut landed.raw.as_ref()).map_err(|e| {
                            ExecError::Sign(format!("remembered transaction unreadable: {e}"))
                        })?,
                    ),
                    None => TransactionRequest::default().with_to(self.signer).with_gas_limit(21_000),
                };
                let tx = tx
                    .with_from(self.signer)
                    .with_nonce(nonce)
                    .with_chain_id(chain.spec.chain_id)
                    .with_max_fee_per_gas(max_fee)
                    .with_max_priority_fee_per_gas(priority);
                self.sign(tx).await?
            }
        };
        if previous.is_none() {
            chain.stats.nonce_gaps_filled.fetch_add(1, Ordering::Relaxed);
        }
        tracing::error!(
            chain_id = chain.spec.chain_id,
            nonce,
            tx_hash = %attempt.tx_hash,
            again = landed.is_some(),
            "a reorg deeper than the confirmations emptied the nonce of a final transaction; using it again"
        );
        self.fillers.insert(nonce, ((attempt.max_fee_per_gas, attempt.max_priority_fee_per_gas), head));
        self.announced.remove(&attempt.tx_hash);
        self.broadcast(&attempt);
        Ok(())
    }

    async fn check_one(&mut self, nonce: u64, view: View, found: Lookup) -> Result<(), ExecError> {
        let View { latest, head, .. } = view;
        let Lookup { receipt: mined, known } = found;
        let chain = Arc::clone(&self.chain);
        let Some(intent) = self.in_flight.get(&nonce).cloned() else {
            return Ok(());
        };
        let was_mined = self.mined.contains_key(&nonce);
        let receipt_block = mined.as_ref().map(|r| r.block_number.unwrap_or(head));
        let (session_id, chain_id) = (intent.session_id, chain.spec.chain_id);
        match in_flight_state(receipt_block, was_mined, nonce, view, chain.spec.confirmations) {
            InFlight::Final => {
                let Some(receipt) = mined else { return Ok(()) };
                self.mined.remove(&nonce);
                if let Some(landed) = intent.attempts.iter().find(|a| a.tx_hash == receipt.transaction_hash) {
                    self.remember(nonce, landed.clone());
                }
                if receipt.status() {
                    tracing::info!(chain_id, session_id = %session_id, tx_hash = %receipt.transaction_hash, block = receipt.block_number, "final");
                    self.finish(nonce).await?;
                } else {
                    // Typically another relayer settled first; the watcher records what happened.
                    tracing::warn!(chain_id, session_id = %session_id, tx_hash = %receipt.transaction_hash, "final but reverted");
                    if let Some(work) = self.finish(nonce).await? {
                        let tx_hash = self.chain.tx(receipt.transaction_hash);
                        self.report(work, WorkResult::Reverted { tx_hash }).await;
                    }
                }
            }
            InFlight::Mined { block } => {
                if !was_mined {
                    tracing::info!(chain_id, session_id = %session_id, nonce, block, "mined; kept until final");
                }
                self.mined.insert(nonce, block);
            }
            InFlight::UsedElsewhere => {
                tracing::warn!(chain_id, session_id = %session_id, nonce, "nonce used without a known receipt; treating as done");
                self.mined.remove(&nonce);
                self.finish(nonce).await?;
            }
            InFlight::Vanished => {
                // A reorg took the block with it. The same signed bytes are valid again: announce them
                // at once, or every later nonce of this key would wait behind the gap forever.
                tracing::warn!(chain_id, session_id = %session_id, nonce, "a mined transaction vanished in a reorg; sending it again");
                self.mined.remove(&nonce);
                chain.stats.resent_after_reorg.fetch_add(1, Ordering::Relaxed);
                if let Some(last) = intent.attempts.last().cloned() {
                    self.announced.remove(&last.tx_hash);
                    self.broadcast(&last);
                }
            }
            InFlight::Pending => {
                let Some(last) = intent.attempts.last().cloned() else { return Ok(()) };
                if relayer_types::unix_now().saturating_sub(last.signed_at)
                    >= self.config.bump_after.as_secs()
                {
                    self.bump(intent, latest).await?;
                } else if !self.announced.contains(&last.tx_hash) {
                    self.broadcast(&last);
                } else if known == Some(false) {
                    // Neither mined nor known to the node: dropped from its pool, or mined and taken by a
                    // reorg between two looks. Announce the same bytes again now, not at the next bump.
                    if let Some(suppressed) = self.throttle.allow("forgotten", std::time::Instant::now()) {
                        tracing::warn!(chain_id, session_id = %session_id, nonce, tx_hash = %last.tx_hash, suppressed, "the node no longer knows a pending transaction; sending it again");
                    }
                    self.announced.remove(&last.tx_hash);
                    self.broadcast(&last);
                }
            }
        }
        Ok(())
    }

    /// Forgets a landed intent and runs work deferred behind it. Returns the deferred work, if any,
    /// after running it, so a revert can be reported against the session.
    async fn finish(&mut self, nonce: u64) -> Result<Option<Work>, ExecError> {
        intent::delete(self.chain.store.as_ref(), self.chain.spec.chain_id, self.signer, nonce)?;
        let Some(intent) = self.in_flight.remove(&nonce) else {
            return Ok(None);
        };
        let key = (intent.session_id, intent.action);
        self.keys.remove(&key);
        if let Some(work) = self.rerun.remove(&key) {
            Box::pin(self.admit(work.clone())).await;
            return Ok(Some(work));
        }
        Ok(None)
    }

    /// Replaces a stuck transaction: same nonce and calldata, fees up by at least a quarter (nodes
    /// require ~10% to accept a replacement) or to the current estimate, whichever is higher.
    async fn bump(&mut self, mut intent: Intent, latest: u64) -> Result<(), ExecError> {
        let chain = Arc::clone(&self.chain);
        let Some(last) = intent.attempts.last().cloned() else {
            return Ok(());
        };
        let envelope = TxEnvelope::decode_2718(&mut last.raw.as_ref())
            .map_err(|e| ExecError::Sign(format!("stored transaction unreadable: {e}")))?;
        let fees = chain.rpc(|p| async move { p.estimate_eip1559_fees().await }).await?;
        let block = chain
            .rpc(|p| async move { p.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await })
            .await?;
        let base_fee =
            block.and_then(|b| b.header.base_fee_per_gas).map_or(fees.max_fee_per_gas / 2, u128::from);
        let decision = bump_decision(
            intent.nonce,
            latest,
            (last.max_fee_per_gas, last.max_priority_fee_per_gas),
            (fees.max_fee_per_gas, fees.max_priority_fee_per_gas),
            chain.spec.fee_ceiling.at(base_fee),
        );
        let (max_fee, priority) = match decision {
            Bump::To(max_fee, priority) => (max_fee, priority),
            Bump::Hold(reason) => {
                // Said once per transaction and reason, not at every poll.
                if self.held.insert(intent.nonce, reason) != Some(reason) {
                    chain.stats.bumps_held.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        chain_id = chain.spec.chain_id,
                        session_id = %intent.session_id,
                        nonce = intent.nonce,
                        reason = reason.as_str(),
                        max_fee_per_gas = last.max_fee_per_gas,
                        estimate = fees.max_fee_per_gas,
                        base_fee,
                        "stuck transaction not re-priced"
                    );
                }
                return Ok(());
            }
        };
        self.held.remove(&intent.nonce);
        let tx = TransactionRequest::from_transaction(envelope)
            .with_from(self.signer)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority);
        let attempt = self.sign(tx).await?;
        intent.attempts.push(attempt.clone());
        intent::put(chain.store.as_ref(), &intent)?;
        tracing::info!(
            chain_id = chain.spec.chain_id,
            session_id = %intent.session_id,
            nonce = intent.nonce,
            tx_hash = %attempt.tx_hash,
            max_fee_per_gas = max_fee,
            "fee bump"
        );
        self.in_flight.insert(intent.nonce, intent);
        self.broadcast(&attempt);
        Ok(())
    }
}

fn is_known(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already known") || m.contains("already imported") || m.contains("nonce too low")
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;
    use crate::bindings::DepositRouter::{
        AlreadyStarted, BelowMinimum, Expired, NotExpired, NothingToSettle, TooLateToBridge, UnusableToken,
        WrongChain,
    };

    #[test]
    fn preflight_maps_each_revert_to_what_the_engine_is_told() {
        use DepositRouterErrors as E;
        let token = Address::repeat_byte(0x83);
        let failed = |what: &str| WorkResult::Failed(format!("the router would revert: {what}"));
        let table: Vec<(SimulationError, WorkResult)> = vec![
            (
                SimulationError::Router(E::NothingToSettle(NothingToSettle { receiver: token, token })),
                WorkResult::Done("the receiver holds nothing of this token".into()),
            ),
            // A refund before expiry waits until just after it (not a retry with backoff that may give up).
            (
                SimulationError::Router(E::NotExpired(NotExpired { expiresAt: 9 })),
                WorkResult::NotBefore { reason: "the session has not expired on chain yet".into(), at: 10 },
            ),
            (
                SimulationError::Router(E::AlreadyStarted(AlreadyStarted { paramsHash: B256::ZERO })),
                WorkResult::Done("the session already started on this chain; nothing to front".into()),
            ),
            (
                SimulationError::Router(E::TooLateToBridge(TooLateToBridge {
                    arrivesBy: U256::from(20),
                    expiresAt: 9,
                })),
                WorkResult::RefundInstead,
            ),
            (SimulationError::Router(E::Expired(Expired { expiresAt: 9 })), WorkResult::RefundInstead),
            (
                SimulationError::Router(E::UnusableToken(UnusableToken { token })),
                failed(&format!("{:?}", E::UnusableToken(UnusableToken { token }))),
            ),
            (
                SimulationError::Router(E::WrongChain(WrongChain {
                    toChainId: U256::ONE,
                    chainId: U256::ZERO,
                })),
                failed(&format!(
                    "{:?}",
                    E::WrongChain(WrongChain { toChainId: U256::ONE, chainId: U256::ZERO })
                )),
            ),
            (
                SimulationError::Node("execution reverted".into()),
                WorkResult::Failed("execution reverted".into()),
            ),
            (SimulationError::Transport("timed out".into()), WorkResult::NotYet("timed out".into())),
            // Below the committed minimum: more may come until expiry (then the retry answers `Expired`).
            (
                SimulationError::Router(E::BelowMinimum(BelowMinimum {
                    available: U256::from(1),
                    minAmount: U256::from(10),
                })),
                WorkResult::NotBefore {
                    reason: "less than the session's minimum is there; waiting for the rest until expiry"
                        .into(),
                    at: 100,
                },
            ),
        ];
        for (error, want) in table {
            let label = format!("{error:?}");
            assert_eq!(preflight(error, 99), Preflight::Report(want), "{label}");
        }
    }

    #[test]
    fn the_next_nonce_never_reuses_one_still_in_flight() {
        // (node's pending count, highest stored in-flight nonce, expected)
        let table = [
            (0, None, 0),
            (5, None, 5),
            (5, Some(4), 5),
            // The node forgot 5..=7 (restart, pool eviction) but they are signed and may land.
            (5, Some(7), 8),
            (9, Some(7), 9),
            (u64::MAX, None, u64::MAX),
        ];
        for (pending, stored, want) in table {
            assert_eq!(next_nonce(pending, stored), want, "pending {pending}, stored {stored:?}");
        }
    }

    #[test]
    fn replacement_fees_rise_by_a_quarter_or_to_the_estimate() {
        // ((previous max, previous priority), (estimate max, estimate priority), expected)
        let table = [
            ((100, 10), (50, 5), (125, 12)),
            ((100, 10), (300, 20), (300, 20)),
            // Tiny fees still rise (a quarter of 1 rounds to 0).
            ((1, 1), (0, 0), (2, 2)),
            ((0, 0), (0, 0), (1, 1)),
            // The priority fee never exceeds the max fee.
            ((100, 100), (0, 500), (125, 125)),
            // No overflow at the top.
            ((u128::MAX, u128::MAX), (0, 0), (u128::MAX, u128::MAX)),
        ];
        for (previous, estimate, want) in table {
            let got = bumped_fees(previous, estimate);
            assert_eq!(got, want, "previous {previous:?}, estimate {estimate:?}");
            assert!(got.0 > previous.0 || previous.0 == u128::MAX, "a replacement must pay more");
        }
    }

    #[test]
    fn a_transaction_is_kept_until_final_and_sent_again_when_a_reorg_removes_it() {
        use InFlight::*;
        // (receipt block, seen mined before, key's mined nonce, its nonce, head, confirmations, expected);
        // the watcher has processed the head.
        let table = [
            (Some(10), false, 6, 5, 10, 1, Final),
            (Some(10), false, 6, 5, 10, 3, Mined { block: 10 }),
            (Some(10), true, 6, 5, 11, 3, Mined { block: 10 }),
            (Some(10), true, 6, 5, 12, 3, Final),
            // The block with it was rolled back: the nonce is free again, the bytes must go out again.
            (None, true, 5, 5, 10, 3, Vanished),
            (None, false, 5, 5, 10, 3, Pending),
            (None, false, 6, 5, 10, 3, UsedElsewhere),
            (None, true, 6, 5, 10, 3, UsedElsewhere),
            // Zero confirmations configured still waits for the block itself.
            (Some(10), false, 6, 5, 10, 0, Final),
        ];
        for (block, was, latest, nonce, head, confirmations, want) in table {
            let view = View { latest, head, processed: head };
            assert_eq!(
                in_flight_state(block, was, nonce, view, confirmations),
                want,
                "{block:?} {was} {latest} {nonce} {head} {confirmations}"
            );
        }
    }

    #[test]
    fn a_final_transaction_is_kept_until_the_watcher_has_read_its_block() {
        // Final by the confirmations at head 12, but the watcher is behind its block: forgotten now, a
        // reorg before the watcher reads block 10 would take the delivery away unseen by anyone (the
        // reorg chaos test stranded a session this way: `processing`, its settle "sent", the funds
        // back in the receiver).
        for processed in [0, 8, 9] {
            let view = View { latest: 6, head: 12, processed };
            assert_eq!(
                in_flight_state(Some(10), true, 5, view, 3),
                InFlight::Mined { block: 10 },
                "{processed}"
            );
        }
        for processed in [10, 11, 12] {
            let view = View { latest: 6, head: 12, processed };
            assert_eq!(in_flight_state(Some(10), true, 5, view, 3), InFlight::Final, "{processed}");
        }
    }

    #[test]
    fn stuck_transactions_are_re_priced_only_when_price_is_why_and_never_past_the_ceiling() {
        use HoldReason::*;
        // (nonce, key's mined nonce, previous fees, estimate, cap, expected)
        let table = [
            // The estimate rose past what it pays: re-price.
            (5, 5, (100, 10), (300, 20), 1_000, Bump::To(300, 20)),
            (5, 5, (100, 10), (110, 11), 1_000, Bump::To(125, 12)),
            // Capped at the ceiling, as long as that is still a real increase.
            (5, 5, (100, 10), (300, 20), 150, Bump::To(150, 20)),
            (5, 5, (100, 10), (300, 20), 105, Bump::Hold(Ceiling)),
            (5, 5, (100, 10), (300, 20), 100, Bump::Hold(Ceiling)),
            // It already pays what the node asks: something else holds it.
            (5, 5, (100, 10), (100, 10), 1_000, Bump::Hold(PriceIsNotWhy)),
            (5, 5, (100, 10), (90, 5), 1_000, Bump::Hold(PriceIsNotWhy)),
            // An earlier nonce is not mined: this one cannot go first at any price.
            (6, 5, (100, 10), (300, 20), 1_000, Bump::Hold(BehindEarlierNonce)),
        ];
        for (nonce, latest, previous, estimate, cap, want) in table {
            assert_eq!(
                bump_decision(nonce, latest, previous, estimate, cap),
                want,
                "{previous:?} {estimate:?} cap {cap}"
            );
        }
        let ceiling = FeeCeiling { absolute: Some(500), base_fee_multiple: 3 };
        assert_eq!(ceiling.at(100), 300);
        assert_eq!(ceiling.at(1_000), 500);
        assert_eq!(FeeCeiling::default().at(7), 70);
    }

    #[test]
    fn a_nonce_gap_below_the_pending_transactions_is_filled_once_it_lasts_two_blocks() {
        // (latest, lowest held, head, seen at, expected)
        let table = [
            (5, Some(5), 100, None, Gap::None),
            (7, Some(5), 100, Some(90), Gap::None), // the chain is past it: nothing missing
            (5, None, 100, None, Gap::None),        // nothing held: the next send asks the node
            (3, Some(5), 100, None, Gap::Wait(100)),
            (3, Some(5), 101, Some(100), Gap::Wait(100)),
            (3, Some(5), 102, Some(100), Gap::Fill(3..5)),
            (4, Some(5), 150, Some(100), Gap::Fill(4..5)),
        ];
        for (latest, lowest, head, seen, want) in table {
            assert_eq!(nonce_gap(latest, lowest, head, seen), want, "{latest} {lowest:?} {head} {seen:?}");
        }
    }

    #[test]
    fn gas_margin_is_added_without_overflow() {
        assert_eq!(gas_with_margin(100_000, 25), 125_000);
        assert_eq!(gas_with_margin(0, 25), 0);
        assert_eq!(gas_with_margin(u64::MAX, 25), u64::MAX / 100);
    }
}
