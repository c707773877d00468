//! One configured EVM chain: its RPC provider (every call bounded by a timeout), the router deployment,
//! the tokens the relayer watches, counters the metrics endpoint reads, and the [`Chain`] seam the
//! engine sees: receivers by CREATE2, work queued to the executor, hints answered by the watcher.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    transports::{RpcError, TransportErrorKind},
};
use relayer_chain::{BoxFuture, Chain, ChainStats, EventSink, Inspection, SendLedger, Stopped, Work};
use relayer_store::ChainStore;
use relayer_types::{Action, ChainAddress, ChainKey, Commitment, Family, SessionId, TokenRef, TxId};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    create2::{Deployment, deposit_params},
    executor::{self, ExecutorConfig},
    intent::Intent,
    watcher,
};

/// A failed RPC call: the node answered with an error, the transport failed, or it timed out.
#[derive(Debug, thiserror::Error)]
pub enum RpcFailure {
    /// Transport or node error.
    #[error("rpc: {0}")]
    Rpc(#[from] RpcError<TransportErrorKind>),
    /// No answer within the timeout. Retrying may help.
    #[error("rpc call timed out after {0:?}")]
    Timeout(Duration),
}

/// Counters for one chain.
#[derive(Debug, Default)]
pub struct Counters {
    /// Latest head seen.
    pub head: AtomicU64,
    /// RPC calls that failed or timed out.
    pub rpc_errors: AtomicU64,
    /// Transactions broadcast (attempts included).
    pub broadcasts: AtomicU64,
    /// Mined transactions a reorg removed, sent again.
    pub resent_after_reorg: AtomicU64,
    /// Nonces filled with a no-op transfer after a reorg emptied them.
    pub nonce_gaps_filled: AtomicU64,
    /// Stuck transactions left at their price (behind an earlier nonce, price not the cause, ceiling).
    pub bumps_held: AtomicU64,
    /// Moving average of how long the RPC takes to answer, in microseconds (0: nothing measured yet).
    pub rpc_latency_us: AtomicU64,
    /// What the relayer's key holds of the chain's native coin, in gwei, as last read (0 until then, and
    /// again once reads have failed for a minute: a figure nobody can confirm is not trusted).
    pub native_gwei: AtomicU64,
    /// The same for the inventory key, where one fronts here.
    pub inventory_native_gwei: AtomicU64,
    /// Balance reads that failed in a row: the settle key's coin, the inventory key's, the tokens.
    pub balance_failures: [AtomicU64; 3],
    /// Whether each of those figures is one that was read (not yet, or stale: not).
    pub balance_known: [std::sync::atomic::AtomicBool; 3],
}

/// What one working key's executor has in flight, as it last said (for `/metrics`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeyFigures {
    /// Transactions sent and not yet final.
    pub pending: u64,
    /// Unix seconds when the oldest of them was first signed (0: none).
    pub oldest_since: u64,
    /// Nonces missing below the lowest one held.
    pub nonce_gap: u64,
}

impl Counters {
    /// After balance read `which` (see [`Counters::balance_failures`]): the figure to show, if it
    /// changes. A failed read keeps the last figure for a minute ([`STALE_BALANCE_READS`] reads in a
    /// row), then drops it to nothing (`T::default()`: a figure nobody can confirm is not trusted).
    fn balance_read<T: Default>(&self, which: usize, read: Option<T>) -> Option<T> {
        let (failures, known) = (&self.balance_failures[which], &self.balance_known[which]);
        match read {
            Some(value) => {
                failures.store(0, Ordering::Relaxed);
                known.store(true, Ordering::Relaxed);
                Some(value)
            }
            None => {
                let stale = failures.fetch_add(1, Ordering::Relaxed) + 1 >= STALE_BALANCE_READS;
                if stale {
                    known.store(false, Ordering::Relaxed);
                }
                stale.then(T::default)
            }
        }
    }

    /// Adds one answer time to the moving average (weight 1/8).
    pub fn observe_rpc_latency(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self.rpc_latency_us.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
            Some(if old == 0 {
                sample.max(1)
            } else {
                (old.saturating_mul(7).saturating_add(sample) / 8).max(1)
            })
        });
    }

    /// How long a call waits before it is raced by a hedge: 4× the usual answer time, at least
    /// [`HEDGE_FLOOR`], at most `ceiling` (also used until anything was measured).
    pub fn hedge_after(&self, ceiling: Duration) -> Duration {
        match self.rpc_latency_us.load(Ordering::Relaxed) {
            0 => ceiling,
            us => Duration::from_micros(us.saturating_mul(4)).clamp(HEDGE_FLOOR.min(ceiling), ceiling),
        }
    }
}

/// The soonest a call is raced by a hedge, however fast the endpoint usually is.
pub const HEDGE_FLOOR: Duration = Duration::from_millis(50);

/// Static description of a chain, from config.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// Chain id.
    pub chain_id: u64,
    /// An EVM-shaped family: `Evm`, or `Tron` (same contracts; base58 addresses, CREATE2 prefix `0x41`).
    pub family: Family,
    /// Display name, e.g. "Base".
    pub name: String,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Further endpoints, tried in turn when one fails (failover).
    pub fallback_rpc_urls: Vec<String>,
    /// The router; factory and implementation follow from it.
    pub router: Address,
    /// Tokens deposits are accepted in.
    pub tokens: Vec<TokenRef>,
    /// Blocks a log needs (its own included) before it counts.
    pub confirmations: u64,
    /// Larger deposits need more blocks: see [`ChainSpec::confirmations_for`].
    pub confirmation_tiers: Vec<ConfirmationTier>,
    /// How often the watcher polls.
    pub poll_interval: Duration,
    /// First block to index when no cursor is stored (default: the head at first start).
    pub start_block: Option<u64>,
    /// Most blocks per `eth_getLogs` request.
    pub max_block_range: u64,
    /// Bound on every RPC call.
    pub rpc_timeout: Duration,
    /// The longest a call waits unanswered before another try races it (sooner when the endpoint is
    /// usually fast: see [`Counters::hedge_after`]).
    pub rpc_hedge_after: Duration,
    /// The most a transaction may pay per gas on this chain.
    pub fee_ceiling: executor::FeeCeiling,
    /// Blocks the watcher may lag behind the head before the relayer reports itself not ready.
    pub lag_budget_blocks: u64,
    /// Below this much native coin (gwei) at the relayer's key, the relayer reports itself not ready
    /// (0: no floor).
    pub min_native_gwei: u64,
    /// The daily fee cap and the costly-transaction ceiling, in gwei.
    pub spending: relayer_chain::SpendingLimits,
    /// Bridge routes out of this chain.
    pub routes: Vec<RouteSpec>,
    /// Tokens the relayer key may front on this chain, with the most it may have outstanding.
    pub front_caps: Vec<(ChainAddress, U256)>,
    /// Per token, what must arrive before an open-amount session delivering it starts.
    pub open_minimums: Vec<(ChainAddress, U256)>,
    /// The CREATE2 prefix byte of receiver addresses (`0xff` on EVM, `0x41` on Tron).
    pub create2_prefix: u8,
    /// The router deployment: where receivers are, and how they are derived.
    pub deployment: Deployment,
    /// Count confirmations against the chain's `finalized` block too (Tron: its solidified block): the
    /// watcher reads nothing above it, whatever `confirmations` says (its lag is still measured from the
    /// head, so `lag_budget_blocks` must allow for the finalization depth).
    pub finalized_head: bool,
}

/// A configured route out of a chain, with the source token and destination it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The token bridged from this chain.
    pub token: ChainAddress,
    /// The destination chain.
    pub to_chain_id: u64,
    /// The destination token as configured (in the destination family's spelling).
    pub to_token: String,
    /// The route.
    pub route: relayer_chain::Route,
}

/// Deposits of `token` of at least `at_least` (base units) need `confirmations` blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmationTier {
    /// The token.
    pub token: ChainAddress,
    /// Smallest amount, in base units.
    pub at_least: U256,
    /// Blocks needed, its own included.
    pub confirmations: u64,
}

impl ChainSpec {
    /// Blocks a deposit of `amount` of `token` needs before it counts: the chain's confirmations, or the
    /// highest tier the amount reaches.
    pub fn confirmations_for(&self, token: &ChainAddress, amount: U256) -> u64 {
        self.confirmation_tiers
            .iter()
            .filter(|t| t.token == *token && amount >= t.at_least)
            .map(|t| t.confirmations)
            .fold(self.confirmations.max(1), u64::max)
    }
}

/// The key that signs this chain's transactions, and how its executor is tuned.
#[derive(Clone)]
pub struct Sender {
    /// The key.
    pub signer: crate::EvmKey,
    /// The key that fronts from its own token balance (`[signer.inventory]`): on a chain that fronts,
    /// it signs the frontings (and the router's allowances over its tokens), holds the inventory and is
    /// repaid, while `signer` pays the gas of everything else and holds no tokens. `None`: `signer` does
    /// both.
    pub inventory: Option<crate::EvmKey>,
    /// The inventory key, when it could not be used at start (a KMS outage): fronting is off on every
    /// chain (frontings must never fall back to `signer`), while what it fronted still counts as ours
    /// and its balances are still shown.
    pub inventory_unusable: Option<Address>,
    /// Keys being rotated out: each one's transactions on record are seen through to the end (fees
    /// bumped, a nonce a reorg emptied filled) by an executor of its own that takes no new work; work
    /// one of them still has in flight waits for it rather than being sent again by `signer`.
    pub retiring: Vec<crate::EvmKey>,
    /// Retiring keys that could not be used at start (a KMS key already disabled): their work waits, and
    /// what they fronted still counts against the fronting cap.
    pub unusable: Vec<Address>,
    /// Tuning.
    pub config: ExecutorConfig,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key; the address identifies it.
        let retiring: Vec<Address> = self.retiring.iter().map(crate::EvmKey::address).collect();
        f.debug_struct("Sender")
            .field("address", &self.signer.address())
            .field("inventory", &self.inventory.as_ref().map(crate::EvmKey::address))
            .field("retiring", &retiring)
            .finish_non_exhaustive()
    }
}

/// Failed balance reads in a row after which the last figure is dropped (a minute's worth, at
/// [`relayer_chain::ACCOUNT_READ_EVERY`]).
const STALE_BALANCE_READS: u64 = 4;

/// Where the keys that fronted on a chain are on record: one record per key, so instances never
/// overwrite each other's.
const FRONTER_PREFIX: &[u8] = b"fronters/";

/// Every key that fronted on `chain_id`, as on record (a key is put on record before its first fronting:
/// [`EvmChain::record_fronter`]). What a key fronted is repaid to it and counts against the fronting cap
/// until it is, even once the key is no longer configured (an inventory key removed or swapped without a
/// retirement): without the record, the relayer would front a second cap's worth after a restart.
/// The signers of fronting send records count too (frontings signed before keys were put on record).
fn fronters_on_record(store: &Arc<dyn ChainStore>, chain_id: u64) -> Result<Vec<Address>, String> {
    let cannot = |e: &(dyn std::error::Error + 'static)| {
        format!("cannot read the fronting keys on record: {}", relayer_util::causes(e))
    };
    let records = store.records(chain_id).map_err(|e| cannot(&e))?;
    let on_record = records.iter().filter_map(|(k, _)| k.strip_prefix(FRONTER_PREFIX));
    let mut fronters: Vec<Address> = on_record.filter_map(|a| Address::try_from(a).ok()).collect();
    let sends = SendLedger::<Intent>::new(Arc::clone(store), chain_id).list(&[]).map_err(|e| cannot(&e))?;
    let fronted = sends.records.into_iter().filter(|(_, i)| matches!(i.action, Action::FastFinish { .. }));
    fronters.extend(fronted.map(|(_, i)| i.signer));
    fronters.sort_unstable();
    fronters.dedup();
    Ok(fronters)
}

/// The executors' ends of the work queues: the signer's, and the inventory key's where one fronts.
type Queued = (mpsc::Receiver<Work>, Option<mpsc::Receiver<Work>>);

/// A chain with a live provider.
pub struct EvmChain {
    /// From config.
    pub spec: ChainSpec,
    /// Router, factory and receiver implementation.
    pub deployment: Deployment,
    /// Providers for reads and raw broadcasts: `rpc_url` first, then the fallbacks.
    providers: Vec<DynProvider>,
    /// The provider calls start with (the last one that answered).
    active: std::sync::atomic::AtomicUsize,
    /// Counters.
    pub stats: Counters,
    /// Cursors.
    pub store: Arc<dyn ChainStore>,
    /// Signed transactions, on record from before they are broadcast until final.
    pub(crate) sends: SendLedger<Intent>,
    sender: Sender,
    jobs: mpsc::Sender<Work>,
    /// Frontings, for the inventory key's executor, where one fronts here.
    inventory_jobs: Option<mpsc::Sender<Work>>,
    /// The executors' ends of `jobs` and `inventory_jobs`, until [`Chain::start`] takes them.
    queued: Mutex<Option<Queued>>,
    /// What each working key's executor has in flight.
    figures: Mutex<HashMap<Address, KeyFigures>>,
    /// The inventory key's balances of the tokens it fronts, as last read.
    inventory_balances: Mutex<Vec<(Address, U256)>>,
    /// Every key that ever fronted here, on record (see [`fronters_on_record`]).
    fronters: Vec<Address>,
    /// Wakes the watcher before its poll interval is up (a `txHash` hint).
    pub(crate) wake: Notify,
    /// The last block the watcher fully processed.
    pub(crate) processed: watch::Sender<u64>,
    /// Blocks per `eth_getLogs` request now, and answers in a row at that size (see [`LogRange`]).
    log_range: Mutex<LogRange>,
    /// Fees paid, against the operator's limits.
    pub(crate) spending: relayer_chain::Spending,
    /// Work held back from the current key (see [`Holds`]).
    holds: Mutex<Holds>,
}

/// Work on record under another key than the one that takes such work now: a key being rotated out
/// (its executor finishes it), the other working key (a fronting the signer sent before an inventory key
/// was configured, or the other way round) or a key this relayer has no key for (a rotation rolled
/// back, a key removed too soon, an instance of another configuration on the same store). Sent again
/// by the key that takes it now, such work would race the other key's transaction, and one of the two
/// would revert, paid for; so it waits until the other key's transaction is final.
#[derive(Debug, Default)]
pub(crate) struct Holds {
    /// By signer: who it is, and its work in flight (`None`: its records could not be read yet, so
    /// every piece of work waits).
    by_signer: HashMap<Address, (Holder, Option<WorkSet>)>,
    /// Keys whose executor has said what it holds: theirs is the last word.
    published: HashSet<Address>,
}

/// A key holding work another key would take now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// Being rotated out: its executor here sees the work through.
    Retiring,
    /// A working key (the signer, the inventory key): its executor sees the work through.
    Working,
    /// Not configured (or not usable) here: the work waits until an operator sees to it.
    Unowned,
}

/// Pieces of work, by session and action.
pub(crate) type WorkSet = HashSet<(SessionId, Action)>;

/// How many blocks one `eth_getLogs` asks for: the configured most, halved each time the provider
/// refuses a range (a provider may cap ranges lower than configured: Tron's nodes at `maxBlockRange`,
/// 5,000 by default, hosted ones lower), doubled back towards the most after [`LogRange::GROW_AFTER`]
/// answers in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRange {
    /// Blocks per request now.
    pub span: u64,
    /// Answers in a row at this span.
    pub streak: u64,
}

impl LogRange {
    /// Answers in a row before the span grows again.
    pub const GROW_AFTER: u64 = 16;

    /// After an answer, with `most` the configured range.
    pub fn answered(self, most: u64) -> Self {
        if self.streak + 1 >= Self::GROW_AFTER && self.span < most {
            Self { span: self.span.saturating_mul(2).min(most), streak: 0 }
        } else {
            Self { span: self.span, streak: self.streak + 1 }
        }
    }

    /// After a refusal.
    pub fn refused(self) -> Self {
        Self { span: (self.span / 2).max(1), streak: 0 }
    }
}

impl std::fmt::Debug for EvmChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmChain")
            .field("spec", &self.spec)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl EvmChain {
    /// Connects to `spec.rpc_url` (lazily: no request is made here). Work queued before
    /// [`Chain::start`] waits in the queue.
    pub fn connect(spec: ChainSpec, store: Arc<dyn ChainStore>, sender: Sender) -> Result<Self, String> {
        let providers = std::iter::once(&spec.rpc_url)
            .chain(&spec.fallback_rpc_urls)
            .map(|url| {
                let parsed = url.parse().map_err(|e| format!("invalid rpc url {url}: {e}"))?;
                Ok(ProviderBuilder::new().connect_http(parsed).erased())
            })
            .collect::<Result<Vec<_>, String>>()?;
        let (jobs, queued) = relayer_chain::pipeline::queue();
        let fronts = !spec.front_caps.is_empty() && sender.inventory_unusable.is_none();
        let fronters = fronters_on_record(&store, spec.chain_id)?;
        let (inventory_jobs, inventory_queued) = if fronts && sender.inventory.is_some() {
            let (jobs, queued) = relayer_chain::pipeline::queue();
            (Some(jobs), Some(queued))
        } else {
            (None, None)
        };
        let spec_chain_id = spec.chain_id;
        let max_block_range = spec.max_block_range.max(1);
        let spending = relayer_chain::Spending::new(spec_chain_id, "gwei", spec.spending, Arc::clone(&store));
        Ok(Self {
            spending,
            deployment: spec.deployment,
            spec,
            providers,
            active: std::sync::atomic::AtomicUsize::new(0),
            stats: Counters::default(),
            sends: SendLedger::new(Arc::clone(&store), spec_chain_id),
            store,
            sender,
            jobs,
            inventory_jobs,
            queued: Mutex::new(Some((queued, inventory_queued))),
            figures: Mutex::default(),
            inventory_balances: Mutex::default(),
            fronters,
            wake: Notify::new(),
            processed: watch::Sender::new(0),
            log_range: Mutex::new(LogRange { span: max_block_range, streak: 0 }),
            holds: Mutex::new(Holds::default()),
        })
    }

    /// The inventory key, where it fronts here.
    fn inventory_key(&self) -> Option<&crate::EvmKey> {
        self.sender.inventory.as_ref().filter(|_| self.inventory_jobs.is_some())
    }

    /// The key that takes `action` now: frontings go to the inventory key where one fronts here,
    /// everything else to the signer.
    pub(crate) fn takes(&self, action: &Action) -> Address {
        match (action, self.inventory_key()) {
            (Action::FastFinish { .. }, Some(inventory)) => inventory.address(),
            _ => self.sender.signer.address(),
        }
    }

    /// What `signer` has in flight now that another key would take (`None` while unknown). Called by
    /// the executor of `signer` (whose word is then the last), or for a key with none here.
    pub(crate) fn hold(&self, signer: Address, holder: Holder, work: Option<WorkSet>) {
        let mut holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        if holder != Holder::Unowned {
            holds.published.insert(signer);
        }
        match work {
            Some(work) if work.is_empty() => holds.by_signer.remove(&signer),
            work => holds.by_signer.insert(signer, (holder, work)),
        };
    }

    /// What the executor of the working key `signer` has in flight now.
    pub(crate) fn figures(&self, signer: Address, update: impl FnOnce(&mut KeyFigures)) {
        update(self.figures.lock().unwrap_or_else(PoisonError::into_inner).entry(signer).or_default());
    }

    /// The other key that has `work` in flight (or whose records are not read yet), if one has. Behind
    /// another key's settlement, refund or bridging, any work of the same session waits (a refund sent
    /// while a settlement of the same receiver is in flight races it as surely as a second
    /// settlement); behind a fronting, only a fronting (a settlement racing a fronting is safe: the
    /// router repays the fronter, or the fronting reverts having moved nothing).
    pub(crate) fn held_by(&self, work: &(SessionId, Action)) -> Option<Address> {
        let asker = self.takes(&work.1);
        let waits_behind = |(session, action): &(SessionId, Action)| {
            *session == work.0 && (*action == work.1 || !matches!(action, Action::FastFinish { .. }))
        };
        let holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        holds
            .by_signer
            .iter()
            .filter(|(signer, _)| **signer != asker)
            .find(|(_, (_, w))| w.as_ref().is_none_or(|w| w.iter().any(waits_behind)))
            .map(|(s, _)| *s)
    }

    /// Reads every send record on this chain and holds the work of every signer but the one that takes
    /// it now ([`EvmChain::takes`]): working and `retiring` keys have an executor here; others, `unusable`
    /// retiring keys among them, are logged, and `/readyz` fails while they hold work. `false` when the
    /// records could not be read (then everything waits: try again).
    pub(crate) fn hold_other_keys(&self, retiring: &[Address], unusable: &[Address]) -> bool {
        // Read outside the lock (the store may be slow; `/metrics` and the executors take the lock). A
        // retiring executor that published meanwhile keeps the last word, so no record it already
        // removed is held again with nobody left to clear it.
        let listing = match self.sends.list(&[]) {
            Ok(listing) => listing,
            Err(error) => {
                tracing::error!(chain_id = self.spec.chain_id, error = %relayer_util::causes(&error), "cannot read the send records; no new work is sent until they are read");
                self.hold(Address::ZERO, Holder::Unowned, None);
                return false;
            }
        };
        let mut holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        let mut by_signer: HashMap<Address, WorkSet> = HashMap::new();
        let working: Vec<Address> = std::iter::once(&self.sender.signer)
            .chain(self.inventory_key())
            .map(crate::EvmKey::address)
            .collect();
        for (_, intent) in listing.records.iter().filter(|(_, i)| i.signer != self.takes(&i.action)) {
            by_signer.entry(intent.signer).or_default().insert((intent.session_id, intent.action));
        }
        holds.by_signer.remove(&Address::ZERO);
        for (signer, work) in by_signer {
            let holder = if working.contains(&signer) {
                Holder::Working
            } else if retiring.contains(&signer) {
                Holder::Retiring
            } else {
                Holder::Unowned
            };
            if holds.published.contains(&signer) {
                continue;
            }
            if unusable.contains(&signer) || self.sender.inventory_unusable == Some(signer) {
                tracing::error!(chain_id = self.spec.chain_id, %signer, transactions = work.len(), "transactions on record were signed by a key that could not be used at start: their work waits; make the key usable again and restart to see them through");
            } else if holder == Holder::Unowned {
                tracing::error!(chain_id = self.spec.chain_id, %signer, transactions = work.len(), "transactions on record were signed by a key not configured here: their work waits until they are final; configure the key under [[signer.retiring]] to see them through");
            }
            holds.by_signer.insert(signer, (holder, Some(work)));
        }
        true
    }

    /// Transactions on record under retiring keys, and under keys not configured here (a working key's
    /// are in its pending figure).
    fn held_counts(&self) -> (u64, u64) {
        let holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        let count = |holder: Holder| {
            let held = holds.by_signer.values().filter(|(h, _)| *h == holder);
            // Records not read yet count as one: everything waits, and `/readyz` must say so.
            held.map(|(_, w)| w.as_ref().map_or(1, |w| w.len() as u64)).sum()
        };
        (count(Holder::Retiring), count(Holder::Unowned))
    }

    /// The working keys' figures together: pending transactions, when the oldest was signed, the
    /// widest nonce gap.
    fn figures_together(&self) -> KeyFigures {
        let figures = self.figures.lock().unwrap_or_else(PoisonError::into_inner);
        figures.values().fold(KeyFigures::default(), |all, one| KeyFigures {
            pending: all.pending + one.pending,
            oldest_since: match (all.oldest_since, one.oldest_since) {
                (0, x) | (x, 0) => x,
                (a, b) => a.min(b),
            },
            nonce_gap: all.nonce_gap.max(one.nonce_gap),
        })
    }

    /// Reads what the relayer's key holds of the native coin (for `/metrics` and `/readyz`). A failed read
    /// keeps the last figure for a minute, then drops it to 0 (the RPC layer counts and logs failures).
    /// Also the inventory key's coin, and the token balances of the key that fronts: each read on its
    /// own (one failing read leaves the others' figures alone).
    async fn read_balance(&self) {
        let native = |owner: Address| async move {
            let wei = self.rpc(|p| async move { p.get_balance(owner).await }).await?;
            let gwei = wei / U256::from(1_000_000_000u64);
            Ok::<u64, RpcFailure>(u64::try_from(gwei).unwrap_or(u64::MAX))
        };
        let settle = native(self.sender.signer.address()).await;
        if let Some(settle) = self.stats.balance_read(0, settle.ok()) {
            self.stats.native_gwei.store(settle, Ordering::Relaxed);
        }
        if let Some(key) = self.inventory_key() {
            let inventory = native(key.address()).await;
            if let Some(inventory) = self.stats.balance_read(1, inventory.ok()) {
                self.stats.inventory_native_gwei.store(inventory, Ordering::Relaxed);
            }
        }
        if self.spec.front_caps.is_empty() {
            return;
        }
        let fronter = self.fronting_key();
        let mut tokens = vec![];
        for token in self.spec.front_caps.iter().filter_map(|(t, _)| t.evm_shaped()) {
            match executor::balance(self, token, fronter).await {
                Ok(amount) => tokens.push((token, amount)),
                Err(_) => {
                    tokens.clear();
                    break;
                }
            }
        }
        let read = (!tokens.is_empty()).then_some(tokens);
        if let Some(tokens) = self.stats.balance_read(2, read) {
            *self.inventory_balances.lock().unwrap_or_else(PoisonError::into_inner) = tokens;
        }
    }

    /// Puts `fronter` on record as a key that fronts here (before its first fronting: see
    /// [`fronters_on_record`]).
    pub(crate) fn record_fronter(&self, fronter: Address) -> Result<(), relayer_store::StoreError> {
        let key = [FRONTER_PREFIX, fronter.as_slice()].concat();
        self.store.put_record(self.spec.chain_id, &key, b"{}")
    }

    /// The key that fronts here, and is repaid: the inventory key where one is configured, else the
    /// signer.
    fn fronting_key(&self) -> Address {
        let inventory = self.inventory_key().map(crate::EvmKey::address).or(self.sender.inventory_unusable);
        inventory.unwrap_or_else(|| self.sender.signer.address())
    }

    /// Runs one RPC call: the one place RPC faults are handled. Each try is bounded by the chain's
    /// timeout. A try still unanswered after a few times the usual answer time (at most
    /// `rpc_hedge_after`) is raced by another on the next configured URL (a hedged request, as in "The
    /// Tail at Scale": a hanging or slow reply costs that long, not the timeout); a transport failure
    /// or timeout is followed by another try after a short jittered pause. A failure is returned after
    /// [`RPC_TRIES`] failed tries, with nothing still racing ([`RPC_RACING`] race at most,
    /// [`RPC_MAX_STARTS`] start in all, so tries that fail at once do not use up the hedges a hanging
    /// one needs). The URL that answers becomes the one calls start with. An error the node answered
    /// with (a revert, a rejected transaction) is an answer, not a fault: it is returned at once, unless
    /// it says the node is limiting or cannot serve us now (a rate limit, "header not found": alloy's
    /// `is_retry_err`), which is a fault like a timeout, tried again on the next URL. `call` makes the
    /// request on the provider it is given; it must be safe to repeat (reads, gas estimates, and
    /// broadcasts of signed bytes are).
    pub async fn rpc<T, Fut>(&self, call: impl Fn(DynProvider) -> Fut) -> Result<T, RpcFailure>
    where
        Fut: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        use futures::StreamExt as _;
        let first = self.active.load(Ordering::Relaxed);
        let start = |try_: usize| {
            let index = (first + try_) % self.providers.len();
            let answer = tokio::time::timeout(self.spec.rpc_timeout, call(self.providers[index].clone()));
            async move {
                let began = tokio::time::Instant::now();
                let answer = answer.await;
                if matches!(&answer, Ok(Ok(_)))
                    || matches!(&answer, Ok(Err(e)) if e.as_error_resp().is_some())
                {
                    self.stats.observe_rpc_latency(began.elapsed());
                }
                (index, answer)
            }
        };
        let mut running = futures::stream::FuturesUnordered::new();
        running.push(start(0));
        let (mut started, mut failed, mut pause) = (1, 0, RPC_FIRST_PAUSE);
        loop {
            let hedge = tokio::time::sleep(self.stats.hedge_after(self.spec.rpc_hedge_after));
            let may_hedge = running.len() < RPC_RACING && started < RPC_MAX_STARTS;
            let answered = tokio::select! {
                Some(answered) = running.next() => answered,
                () = hedge, if may_hedge => {
                    running.push(start(started));
                    started += 1;
                    continue;
                }
            };
            let failure = match answered {
                (index, Ok(Ok(value))) => {
                    if index != first {
                        self.active.store(index, Ordering::Relaxed);
                        tracing::info!(
                            chain_id = self.spec.chain_id,
                            rpc = index,
                            "switched to another RPC URL"
                        );
                    }
                    return Ok(value);
                }
                (_, Ok(Err(error))) if error.as_error_resp().is_some_and(|e| !e.is_retry_err()) => {
                    return Err(RpcFailure::Rpc(error));
                }
                (_, Ok(Err(error))) => RpcFailure::Rpc(error),
                (_, Err(_)) => RpcFailure::Timeout(self.spec.rpc_timeout),
            };
            self.stats.rpc_errors.fetch_add(1, Ordering::Relaxed);
            failed += 1;
            if running.is_empty() {
                if failed >= RPC_TRIES || started >= RPC_MAX_STARTS {
                    return Err(failure);
                }
                tokio::time::sleep(crate::watcher::jittered(pause)).await;
                pause = pause.saturating_mul(2);
                running.push(start(started));
                started += 1;
            }
        }
    }

    /// The configured token at `address`.
    pub fn token(&self, address: Address) -> Option<&TokenRef> {
        Chain::token(self, self.address(address))
    }

    /// `address` as an address of this chain's family.
    pub fn address(&self, address: Address) -> ChainAddress {
        ChainAddress::of_family(self.spec.family, address).unwrap_or(ChainAddress::Evm(address))
    }

    /// `hash` as a transaction id of this chain's family.
    pub fn tx(&self, hash: B256) -> TxId {
        TxId::of_family(self.spec.family, hash).unwrap_or(TxId::Evm(hash))
    }

    /// Whether `tx_hash` is mined with the chain's confirmations; its block if so.
    async fn confirmed_block(&self, tx_hash: B256) -> Option<u64> {
        let receipt = self.rpc(|p| async move { p.get_transaction_receipt(tx_hash).await }).await.ok()??;
        let block = receipt.block_number?;
        let head = self.rpc(|p| async move { p.get_block_number().await }).await.ok()?;
        (head + 1 >= block + self.spec.confirmations).then_some(block)
    }
}

/// Failed tries of one RPC call (errors, timeouts) before its failure is returned.
pub const RPC_TRIES: usize = 3;
/// Most tries of one call racing at once (hedges of a hanging try).
pub const RPC_RACING: usize = 3;
/// Most tries of one call in all, hedges included.
pub const RPC_MAX_STARTS: usize = 8;
/// Pause after the first failed try; doubled after each further one.
const RPC_FIRST_PAUSE: Duration = Duration::from_millis(25);

/// How long a hint waits for the watcher to reach the hinted block before answering anyway.
const HINT_WAIT: Duration = Duration::from_secs(5);

/// Why a receiver on an EVM-shaped chain of `family` must not take a payment for `session` bound for
/// another chain, if it must not: it refunds what cannot be bridged on its own chain, to the session's
/// refund address or its destination, whichever is an EVM address; a Solana destination without an EVM
/// `refundAddress` leaves it none (the router refuses to refund to a Solana key). The same for Tron: a
/// Tron route to Solana, which the config allows, would otherwise lock what it cannot bridge.
pub fn refund_refusal(family: Family, session: &relayer_types::Session) -> Option<String> {
    let evm = |a: ChainAddress| a.as_evm().is_some();
    let refundable = evm(session.destination.address) || session.refund_address.is_some_and(evm);
    (!refundable).then(|| {
        format!(
            "a payment on {} for a Solana destination needs the session's refundAddress (an EVM address): what cannot be bridged is refunded on the paying chain",
            family.as_str()
        )
    })
}

impl Chain for EvmChain {
    /// A receiver here that bridges refunds, on this chain, what cannot be bridged (late, below the
    /// route's minimum, sent back after expiry): to the session's refund address, or its destination,
    /// whichever is an EVM address (the router refuses to refund to a Solana key, so without one the
    /// funds would sit in the receiver). An EVM destination always is one.
    fn cross_chain_refusal(&self, session: &relayer_types::Session) -> Option<String> {
        refund_refusal(self.spec.family, session)
    }

    fn key(&self) -> ChainKey {
        ChainKey { family: self.spec.family, chain_id: self.spec.chain_id }
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn tokens(&self) -> &[TokenRef] {
        &self.spec.tokens
    }

    fn receiver(&self, commitment: &Commitment) -> ChainAddress {
        self.address(self.deployment.receiver(&deposit_params(commitment)))
    }

    fn route(&self, token: &ChainAddress, to_chain_id: u64) -> Option<relayer_chain::Route> {
        let spec = self.spec.routes.iter().find(|r| r.token == *token && r.to_chain_id == to_chain_id)?;
        Some(spec.route.clone())
    }

    fn fronting_cap(&self, token: &ChainAddress) -> Option<U256> {
        self.spec.front_caps.iter().find(|(t, _)| t == token).map(|(_, cap)| *cap)
    }

    fn fronting_off(&self) -> bool {
        self.sender.inventory_unusable.is_some() && !self.spec.front_caps.is_empty()
    }

    fn open_amount_minimum(&self, token: &ChainAddress) -> U256 {
        self.spec.open_minimums.iter().find(|(t, _)| t == token).map_or(U256::ZERO, |(_, m)| *m)
    }

    fn relayer_address(&self) -> Option<ChainAddress> {
        Some(self.address(self.fronting_key()))
    }

    fn other_addresses(&self) -> Vec<ChainAddress> {
        let retiring = self.sender.retiring.iter().map(crate::EvmKey::address);
        let signer = self.inventory_key().map(|_| self.sender.signer.address());
        let mut others: Vec<Address> = retiring
            .chain(self.sender.unusable.iter().copied())
            .chain(signer)
            .chain(self.fronters.iter().copied())
            .filter(|a| *a != self.fronting_key())
            .collect();
        others.sort_unstable();
        others.dedup();
        others.into_iter().map(|a| self.address(a)).collect()
    }

    fn frontings_in_flight(&self) -> Result<Vec<(SessionId, ChainAddress, U256)>, relayer_store::StoreError> {
        let listing = self.sends.list(&[]).map_err(|e| match e {
            relayer_chain::LedgerError::Store(e) => e,
            other => {
                relayer_store::StoreError::Backend(relayer_store::BackendError::caused("send records", other))
            }
        })?;
        let frontings = listing.records.into_iter().filter_map(|(_, intent)| match intent.action {
            Action::FastFinish { token, amount } => Some((intent.session_id, token, amount)),
            _ => None,
        });
        Ok(frontings.collect())
    }

    fn inventory_balances(&self) -> Vec<(ChainAddress, U256)> {
        let balances = self.inventory_balances.lock().unwrap_or_else(PoisonError::into_inner);
        balances.iter().map(|(token, amount)| (self.address(*token), *amount)).collect()
    }

    fn balance_of(&self, token: ChainAddress, owner: ChainAddress) -> BoxFuture<'_, Result<U256, String>> {
        Box::pin(async move {
            let evm = |a| match a {
                ChainAddress::Evm(a) | ChainAddress::Tron(a) => Some(a),
                ChainAddress::Solana(_) => None,
            };
            let (Some(token), Some(owner)) = (evm(token), evm(owner)) else {
                return Err("not an address of this chain".into());
            };
            executor::balance(self, token, owner).await.map_err(|e| e.to_string())
        })
    }

    fn submit(&self, work: Work) -> BoxFuture<'_, Result<(), Stopped>> {
        Box::pin(async move {
            let jobs = match (&work.action, &self.inventory_jobs) {
                (Action::FastFinish { .. }, Some(inventory)) => inventory,
                _ => &self.jobs,
            };
            jobs.send(work).await.map_err(|_| Stopped(self.spec.chain_id))
        })
    }

    /// A hint never applies events itself: it wakes the watcher and waits for it to pass the hinted
    /// block, so hinted deposits get the same confirmation count, block-hash record and reorg handling
    /// as every other one (a deposit applied from a hint above the cursor would escape a reorg there).
    fn inspect(&self, tx_hash: TxId) -> BoxFuture<'_, Inspection> {
        Box::pin(async move {
            // Only this family's ids: an EVM hash is not looked up on a Tron chain, nor the reverse.
            let Some(hash) = tx_hash.evm_shaped().filter(|h| self.tx(*h) == tx_hash) else {
                return Inspection::NotYet;
            };
            let Some(block) = self.confirmed_block(hash).await else {
                return Inspection::NotYet;
            };
            let mut processed = self.processed.subscribe();
            if *processed.borrow() >= block {
                return Inspection::Processed;
            }
            self.wake.notify_one();
            match tokio::time::timeout(HINT_WAIT, processed.wait_for(|p| *p >= block)).await {
                Ok(Ok(_)) => Inspection::Processed,
                _ => Inspection::Behind,
            }
        })
    }

    fn stats(&self) -> ChainStats {
        let (retiring_pending, unowned_sends) = self.held_counts();
        let figures = self.figures_together();
        let native = |role, which: usize, amount: &AtomicU64| relayer_chain::AccountGauge {
            role,
            resource: "native_gwei",
            amount: amount.load(Ordering::Relaxed),
            floor: self.spec.min_native_gwei,
            read: self.stats.balance_known[which].load(Ordering::Relaxed),
        };
        ChainStats {
            head: self.stats.head.load(Ordering::Relaxed),
            processed: *self.processed.borrow(),
            rpc_errors: self.stats.rpc_errors.load(Ordering::Relaxed),
            broadcasts: self.stats.broadcasts.load(Ordering::Relaxed),
            resent_after_reorg: self.stats.resent_after_reorg.load(Ordering::Relaxed),
            nonce_gaps_filled: self.stats.nonce_gaps_filled.load(Ordering::Relaxed),
            bumps_held: self.stats.bumps_held.load(Ordering::Relaxed),
            lag_budget: self.spec.lag_budget_blocks,
            pending: figures.pending,
            oldest_pending_secs: match figures.oldest_since {
                0 => 0,
                since => relayer_types::unix_now().saturating_sub(since),
            },
            nonce_gap: figures.nonce_gap,
            unreadable_sends: self.sends.unreadable(),
            retiring_pending,
            unowned_sends,
            // Until the first read, none at all as far as `/readyz` can tell.
            account: [
                Some(native("settle", 0, &self.stats.native_gwei)),
                self.inventory_key().map(|_| native("inventory", 1, &self.stats.inventory_native_gwei)),
                None,
            ],
            // In wei these would overflow a counter; the day's spending is in gwei.
            fees_paid: None,
            priority_fees_paid: None,
            spending: Some(self.spending.stats()),
        }
    }

    fn start(self: Arc<Self>, sink: Arc<dyn EventSink>, cancel: CancellationToken, tasks: &TaskTracker) {
        let chain = Arc::clone(&self);
        tasks.spawn(relayer_chain::every(relayer_chain::ACCOUNT_READ_EVERY, cancel.clone(), move || {
            let chain = Arc::clone(&chain);
            async move { chain.read_balance().await }
        }));
        let queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some((jobs, inventory_jobs)) = queued {
            let Sender { signer, inventory, mut retiring, unusable, config, .. } = self.sender.clone();
            // An inventory key on a chain that does not front takes no work here, but sees through what
            // it may have on record (fronting was configured here before), like a retiring key.
            let inventory = match (inventory, inventory_jobs) {
                (Some(key), Some(jobs)) => Some((key, jobs)),
                (Some(key), None) => {
                    retiring.push(key);
                    None
                }
                (None, _) => None,
            };
            // Read before the working keys' executors take work, so none of the other keys' is sent
            // twice; tried again until the records can be read (everything waits until then).
            let retiring_addresses: Vec<Address> = retiring.iter().map(crate::EvmKey::address).collect();
            if !self.hold_other_keys(&retiring_addresses, &unusable) {
                let (chain, cancel) = (Arc::clone(&self), cancel.clone());
                tasks.spawn(async move {
                    while !chain.hold_other_keys(&retiring_addresses, &unusable) {
                        tokio::select! {
                            () = cancel.cancelled() => return,
                            () = tokio::time::sleep(Duration::from_secs(5)) => {}
                        }
                    }
                });
            }
            let working = std::iter::once((signer, jobs)).chain(inventory);
            let keys =
                working.map(|(key, jobs)| (key, Some(jobs))).chain(retiring.into_iter().map(|k| (k, None)));
            for (key, jobs) in keys {
                let chain = Arc::clone(&self);
                tasks.spawn(executor::run(
                    chain,
                    key,
                    config.clone(),
                    Arc::clone(&sink),
                    jobs,
                    cancel.child_token(),
                ));
            }
        } else {
            tracing::error!(chain_id = self.spec.chain_id, "chain started twice; ignored");
            return;
        }
        self.start_watcher(sink, cancel, tasks);
    }
}

impl EvmChain {
    /// Blocks the next `eth_getLogs` asks for.
    pub(crate) fn log_range(&self) -> u64 {
        self.log_range.lock().unwrap_or_else(PoisonError::into_inner).span.max(1)
    }

    /// The provider answered a range.
    pub(crate) fn log_range_answered(&self) {
        let mut range = self.log_range.lock().unwrap_or_else(PoisonError::into_inner);
        *range = range.answered(self.spec.max_block_range.max(1));
    }

    /// The provider refused a range.
    pub(crate) fn log_range_refused(&self) {
        let mut range = self.log_range.lock().unwrap_or_else(PoisonError::into_inner);
        *range = range.refused();
        tracing::info!(
            chain_id = self.spec.chain_id,
            blocks = range.span,
            "the provider refused a log range; asking for fewer blocks"
        );
    }

    /// Starts only the chain's watcher, for a family that sends its own way over the same contracts and
    /// JSON-RPC (Tron: its transactions go through a Tron node's HTTP API).
    pub fn start_watcher(
        self: Arc<Self>,
        sink: Arc<dyn EventSink>,
        cancel: CancellationToken,
        tasks: &TaskTracker,
    ) {
        tasks.spawn(watcher::run(self, sink, cancel));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USDC: Address = Address::repeat_byte(0x83);

    /// A chain over a fresh store on which `inventory` fronts USDC (if `fronts`) and `signer` sends the
    /// rest. Nothing is asked of the RPC URL.
    fn chain_with_keys(fronts: bool) -> (EvmChain, Address, Address, tempfile::TempDir) {
        let mut token = serde_json::json!({ "address": USDC, "symbol": "USDC", "decimals": 6 });
        if fronts {
            token["front_cap"] = "100".into();
        }
        let config: crate::config::ChainConfig = serde_json::from_value(serde_json::json!({
            "chain_id": 8453, "name": "Base", "rpc_url": "http://127.0.0.1:1",
            "router": Address::repeat_byte(0x11), "tokens": [token],
        }))
        .expect("config");
        let spec = config.validate(Family::Evm, "chains[0]").expect("valid");
        let signer = crate::EvmKey::from(alloy::signers::local::PrivateKeySigner::random());
        let inventory = crate::EvmKey::from(alloy::signers::local::PrivateKeySigner::random());
        let (signer_address, inventory_address) = (signer.address(), inventory.address());
        let sender = Sender {
            signer,
            inventory: Some(inventory),
            inventory_unusable: None,
            retiring: vec![],
            unusable: vec![],
            config: Default::default(),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn ChainStore> = Arc::new(relayer_store::SledStore::open(dir.path()).expect("store"));
        let chain = EvmChain::connect(spec, store, sender).expect("chain");
        (chain, signer_address, inventory_address, dir)
    }

    fn on_record(chain: &EvmChain, signer: Address, nonce: u64, session: u8, action: Action) {
        let session_id = relayer_store::conformance::session(session).id;
        let intent = Intent { chain_id: 8453, signer, nonce, session_id, action, attempts: vec![] };
        chain.sends.put(&intent.key(), &intent).expect("put");
    }

    /// Frontings go to the inventory key and everything else to the signer; work on record under the
    /// working key that no longer takes it (a fronting the signer sent before the inventory key was
    /// configured; a settlement the inventory key sent when it was the signer) is held from the key that
    /// takes it now until it is final, so it is never sent twice; neither counts as unowned. On a chain
    /// that does not front, the inventory key takes nothing. The attack this stops: an operator (or an
    /// attacker with the config) splitting the keys mid-flight to make the relayer front one session
    /// twice.
    #[test]
    fn work_on_record_under_the_working_key_that_no_longer_takes_it_waits_for_it() {
        let (chain, signer, inventory, _dir) = chain_with_keys(true);
        let usdc = ChainAddress::Evm(USDC);
        let (front, settle) =
            (Action::FastFinish { token: usdc, amount: U256::from(5) }, Action::Settle { token: usdc });
        assert_eq!((chain.takes(&front), chain.takes(&settle)), (inventory, signer));
        on_record(&chain, signer, 0, 1, front);
        on_record(&chain, signer, 1, 2, settle);
        on_record(&chain, inventory, 0, 3, settle);
        on_record(&chain, Address::repeat_byte(0x99), 0, 4, settle);
        let retiring = Address::repeat_byte(0x77);
        on_record(&chain, retiring, 0, 5, front);
        assert!(chain.hold_other_keys(&[retiring], &[]));
        let id = |n| relayer_store::conformance::session(n).id;
        assert_eq!(
            chain.held_by(&(id(1), front)),
            Some(signer),
            "the inventory key waits for the signer's fronting"
        );
        assert_eq!(chain.held_by(&(id(2), settle)), None, "the signer's own settlement is its executor's");
        assert_eq!(
            chain.held_by(&(id(3), settle)),
            Some(inventory),
            "the signer waits for the inventory key's"
        );
        assert_eq!(chain.relayer_address(), Some(ChainAddress::Evm(inventory)), "frontings are repaid to it");
        assert_eq!(
            chain.other_addresses(),
            vec![ChainAddress::Evm(signer)],
            "what the signer fronted still counts"
        );

        let refund = Action::Refund { token: usdc };
        assert_eq!(
            chain.held_by(&(id(3), refund)),
            Some(inventory),
            "any work of the session waits behind a settlement"
        );
        assert_eq!(chain.held_by(&(id(5), front)), Some(retiring), "a fronting waits behind a fronting");
        assert_eq!(
            chain.held_by(&(id(5), settle)),
            None,
            "a settlement does not (the router makes the race safe)"
        );
        assert_eq!(chain.held_counts(), (1, 1), "the retiring key's one, the stranger's one");

        // Its executor says the fronting is final: the inventory key may front that session again.
        chain.hold(signer, Holder::Working, Some(WorkSet::new()));
        assert_eq!(chain.held_by(&(id(1), front)), None);

        let (plain, signer, _, _dir) = chain_with_keys(false);
        assert_eq!(plain.takes(&front), signer, "no fronting here: the inventory key takes nothing");
        assert_eq!(plain.relayer_address(), Some(ChainAddress::Evm(signer)));
    }

    /// A key that fronted is on record, so after a restart without it (an inventory key removed or
    /// swapped without a retirement) what it fronted still counts as the relayer's, against the cap.
    #[test]
    fn a_key_that_fronted_stays_the_relayers_once_it_is_no_longer_configured() {
        let (chain, _, inventory, _dir) = chain_with_keys(true);
        chain.record_fronter(inventory).expect("on record");
        let (spec, store) = (chain.spec.clone(), Arc::clone(&chain.store));
        drop(chain);
        let signer = crate::EvmKey::from(alloy::signers::local::PrivateKeySigner::random());
        let sender = Sender {
            signer,
            inventory: None,
            inventory_unusable: None,
            retiring: vec![],
            unusable: vec![],
            config: Default::default(),
        };
        let again = EvmChain::connect(spec, store, sender).expect("chain");
        assert_eq!(again.other_addresses(), vec![ChainAddress::Evm(inventory)]);
    }

    /// A receiver on an EVM-shaped chain refunds what it cannot bridge on its own chain: a payment there
    /// for a Solana destination needs an EVM refund address, from EVM and Tron alike (a Tron route to
    /// Solana is allowed by the config, and the receiver would lock what it cannot bridge).
    #[test]
    fn an_evm_shaped_payment_for_a_solana_destination_needs_an_evm_refund_address() {
        let mut session = relayer_store::conformance::session(1);
        assert!(refund_refusal(Family::Evm, &session).is_none(), "an EVM destination is its own refund");
        session.destination.address = ChainAddress::Solana([7; 32]);
        session.refund_address = None;
        for family in [Family::Evm, Family::Tron] {
            let refusal = refund_refusal(family, &session);
            assert!(refusal.is_some_and(|r| r.contains("refundAddress")), "{family:?}");
        }
        session.refund_address = Some(ChainAddress::Evm(Address::repeat_byte(0xfe)));
        assert!(refund_refusal(Family::Tron, &session).is_none());
        session.refund_address = Some(ChainAddress::Solana([9; 32]));
        assert!(refund_refusal(Family::Evm, &session).is_some(), "a Solana refund address is none here");
    }

    #[test]
    fn a_refused_log_range_halves_down_to_one_and_grows_back_after_a_streak() {
        let most = 1000;
        let mut range = LogRange { span: most, streak: 0 };
        for want in [500, 250, 125, 62, 31, 15, 7, 3, 1, 1] {
            range = range.refused();
            assert_eq!(range.span, want);
        }
        for _ in 1..LogRange::GROW_AFTER {
            range = range.answered(most);
            assert_eq!(range.span, 1, "not before the streak");
        }
        range = range.answered(most);
        assert_eq!(range, LogRange { span: 2, streak: 0 });
        let near = LogRange { span: 600, streak: LogRange::GROW_AFTER - 1 }.answered(most);
        assert_eq!(near.span, most, "never past the configured most");
        assert_eq!(LogRange { span: most, streak: 100 }.answered(most).span, most);
    }

    #[test]
    fn hedges_follow_the_usual_answer_time_within_floor_and_ceiling() {
        let ceiling = Duration::from_millis(500);
        let stats = Counters::default();
        assert_eq!(stats.hedge_after(ceiling), ceiling, "nothing measured yet: the configured wait");
        stats.observe_rpc_latency(Duration::from_millis(40));
        assert_eq!(stats.hedge_after(ceiling), Duration::from_millis(160));
        for _ in 0..100 {
            stats.observe_rpc_latency(Duration::from_millis(2));
        }
        assert_eq!(stats.hedge_after(ceiling), HEDGE_FLOOR, "a fast endpoint is still given 50 ms");
        for _ in 0..100 {
            stats.observe_rpc_latency(Duration::from_secs(3));
        }
        assert_eq!(stats.hedge_after(ceiling), ceiling, "a slow endpoint never waits past the ceiling");
        // One slow answer among fast ones moves the average by an eighth of the difference.
        let stats = Counters::default();
        stats.observe_rpc_latency(Duration::from_millis(10));
        stats.observe_rpc_latency(Duration::from_millis(90));
        assert_eq!(stats.rpc_latency_us.load(Ordering::Relaxed), 20_000);
    }
}
