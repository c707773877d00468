//! The chain-family seam, after hyperlane's relayer: a chain-agnostic core and one crate per family.
//! The engine and the API see a configured chain only as a [`Chain`]: its tokens, where a session's
//! deposit goes on it, a queue for delivery [`Work`], a way to look at a transaction named by a `txHash`
//! hint, and its [`ChainStats`]. A chain delivers what it observes to an [`EventSink`] (the engine):
//! confirmed [`ChainEvent`]s, reorgs, and a [`WorkReport`] for every piece of work it was given.
//!
//! `relayer-evm` implements [`Chain`] for EVM and Tron chains, `relayer-svm` for Solana; another family
//! implements it again without touching the engine, whose payment policy it asks through the seam
//! ([`Chain::pays_by`], [`Chain::cross_chain_refusal`]). Outside its own crate a new family costs the
//! `Family` variant with its address codec (`relayer-types`), its `[[chains]]` entry in the composition
//! root (`relayer-node`) and its payment-method type in the API adapter: the README's "Adding a family"
//! lists them, and no match over a family has a wildcard arm (`scripts/family-arms.js`).
//!
//! What every family's delivery shares lives here too, written once: the [`refusal`] vocabulary and
//! its one mapping to a [`WorkResult`], the typed [`ledger`] of signed transactions, and the
//! [`pipeline`] (its expiry-ordered discipline in full; the nonce-ordered one is EVM's executor).

pub mod ledger;
pub mod pipeline;
pub mod refusal;
pub mod spending;

use std::{future::Future, pin::Pin, sync::Arc};

pub use ledger::{LedgerError, SendLedger};
pub use refusal::Refusal;
pub use relayer_util::causes;
pub use spending::{Spending, SpendingLimits, SpendingStats};

/// How often a chain reads the gauges of the relayer's own account ([`every`]).
pub const ACCOUNT_READ_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// Runs `read` every `period` (the first at once) until `cancel`: what keeps a chain's gauges of the
/// relayer's own account fresh (a read that fails is the family's to log; the last value stays).
pub async fn every<F, Fut>(
    period: std::time::Duration,
    cancel: tokio_util::sync::CancellationToken,
    mut read: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = read() => {}
        }
    }
}

use relayer_types::{
    Action, Bridging, ChainAddress, ChainKey, Commitment, Deposit, Fronting, SessionId, Settlement, TokenRef,
    TxId, U256,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How a chain family's payers pay a session (see [`Chain::pays_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaysBy {
    /// They send tokens to the session's receiver address (EVM, Tron).
    Transfer,
    /// They sign a transaction the relayer builds for their wallet, which becomes the session's refund
    /// address on this family's chains (Solana).
    WalletTransaction,
}

/// A boxed future, so the seam's traits stay object-safe (the engine holds chains of any family).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something a chain saw, confirmed, with what ties it to a session.
///
/// A chain event belongs to a session only through what the chain proves: the receiver the funds were
/// at or went to (an EVM or Tron receiver is `CREATE2(factory, paramsHash, …)` and the router derives it
/// from the params it was given; a Solana vault is the PDA of the params hash; a transfer in the Solana
/// inbox names the EVM receiver it was burnt for). Anyone can call the contracts with params of their own
/// that reuse a victim's session id, so the id an event carries ([`ChainEvent::named`]) never decides
/// which session it belongs to: the sink resolves `receiver` to a session, checks the receiver against
/// that session's own commitment again, and only uses `named` to recognise a forgery (an event that
/// names one of its sessions from a receiver that is not that session's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEvent {
    /// The receiver the event is about, as the chain shows it: the transfer's recipient, the router
    /// event's `receiver`, the vault the program moved funds out of, the EVM receiver a bridged transfer
    /// was burnt for.
    pub receiver: ChainAddress,
    /// The session id the event itself names, if it carries one (router and program events do). Chosen by
    /// whoever sent the transaction: used only to spot forgeries, never to attribute.
    pub named: Option<SessionId>,
    /// What happened.
    pub kind: EventKind,
}

/// What a [`ChainEvent`] says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A transfer into the receiver.
    Deposit(Deposit),
    /// Funds left the receiver for the destination or the refund address (or a fronter delivered).
    Settled(Settlement),
    /// Funds left the receiver through a bridge towards the session's destination chain.
    Bridged(Bridging),
    /// A relayer fronted the session on its destination chain, or was repaid.
    Fronted(Fronting),
}

impl EventKind {
    /// Where on the chain the event sits.
    pub const fn event(&self) -> &relayer_types::EventId {
        match self {
            Self::Deposit(deposit) => &deposit.event,
            Self::Settled(settlement) => &settlement.event,
            Self::Bridged(bridging) => &bridging.event,
            Self::Fronted(fronting) => &fronting.event,
        }
    }

    /// The metrics label of the kind (`deposit`, `settled`, `bridged`, `fronted`).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Deposit(_) => "deposit",
            Self::Settled(_) => "settled",
            Self::Bridged(_) => "bridged",
            Self::Fronted(_) => "fronted",
        }
    }
}

impl ChainEvent {
    /// An event at `receiver` that names no session (a plain transfer).
    pub const fn at(receiver: ChainAddress, kind: EventKind) -> Self {
        Self { receiver, named: None, kind }
    }

    /// Where on the chain the event sits.
    pub const fn event(&self) -> &relayer_types::EventId {
        self.kind.event()
    }
}

/// Why a sink did not apply a batch, with its cause kept (logs print the whole chain). The chain retries
/// the same range either way (no event may be skipped); whether a retry can help tells an operator
/// whether to wait or to act.
#[derive(Debug, thiserror::Error)]
#[error("the event sink did not apply the batch")]
pub struct SinkError {
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
    can_retry: bool,
}

impl SinkError {
    /// A failure caused by `source`; `can_retry`: whether trying the same batch again may succeed.
    pub fn new(source: impl std::error::Error + Send + Sync + 'static, can_retry: bool) -> Self {
        Self { source: Box::new(source), can_retry }
    }

    /// Whether trying the same batch again may succeed (a store that failed to write, say), as opposed
    /// to a batch the sink refuses by what it holds.
    pub const fn can_retry(&self) -> bool {
        self.can_retry
    }
}

/// Delivery work for one chain: move one token's funds of one session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Work {
    /// Session acted for.
    pub session_id: SessionId,
    /// Chain the funds sit on.
    pub chain_id: u64,
    /// The session's commitment (what the receiver was derived from).
    pub commitment: Commitment,
    /// What to do.
    pub action: Action,
}

/// What became of a piece of [`Work`], as the chain family saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkResult {
    /// A transaction was broadcast; its effect arrives later as a [`ChainEvent`].
    Sent {
        /// The transaction.
        tx_hash: TxId,
    },
    /// Nothing to send: the chain shows nothing left to move (e.g. another relayer settled first).
    Done(Refusal),
    /// Not possible yet (an RPC failed, an approval is on its way): worth trying again.
    NotYet(Refusal),
    /// Not possible before the chain's clock passes `at` (unix seconds), e.g. a refund before expiry.
    NotBefore {
        /// Why.
        reason: Refusal,
        /// Unix seconds.
        at: u64,
    },
    /// The session expired on chain before its funds started; only a refund is possible now.
    RefundInstead,
    /// Would fail for a reason retrying cannot fix.
    Failed(Refusal),
    /// The transaction was mined but reverted (typically another relayer moved the funds first).
    Reverted {
        /// The transaction.
        tx_hash: TxId,
    },
    /// The transaction is in a final block, and it cost this (reported by families that read costs).
    Landed {
        /// The transaction.
        tx_hash: TxId,
        /// What it cost the relayer.
        cost: relayer_types::Cost,
    },
}

/// A [`WorkResult`] with the work it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkReport {
    /// The work.
    pub work: Work,
    /// What became of it.
    pub result: WorkResult,
}

/// Where a chain delivers what it observes. Implementations must be durable before returning `Ok`
/// (the chain advances its cursor right after) and must tolerate replays (after a crash the same
/// range is delivered again).
pub trait EventSink: Send + Sync {
    /// The session owning `receiver`, if any (called for every transfer: keep it in memory). A chain uses
    /// it only to drop transfers to addresses that are nobody's receiver early; the sink attributes every
    /// event it is given by its receiver again.
    fn session_for_receiver(&self, receiver: ChainAddress) -> Option<SessionId>;

    /// Learns the receivers handed out since it last asked (by other instances sharing the store; a
    /// store one process owns has nothing to add). A watcher that moves a cursor past what it read calls
    /// it after reading a range and before filtering it by receiver: a payer pays only once the API has
    /// stored the receiver, and the range is read after the payment was made, so every receiver paid in
    /// the range is known by then.
    fn refresh_receivers(&self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Every receiver of `family` a session was given (for families whose watchers poll their receivers
    /// instead of reading all transfers of a token, as Solana's do).
    fn receivers_of(&self, family: relayer_types::Family) -> Vec<(ChainAddress, SessionId)>;

    /// Which of `sessions` are in a terminal status, in order (a terminal status never changes, so a
    /// watcher may remember the answer and look at their empty receivers less often). The default
    /// answers that none is.
    fn terminal(&self, sessions: &[SessionId]) -> Vec<bool> {
        vec![false; sessions.len()]
    }

    /// Applies confirmed events of `chain_id`, in chain order. An event whose receiver is no session's is
    /// dropped (counted as foreign when it names one of the sink's sessions).
    fn apply(&self, chain_id: u64, events: Vec<ChainEvent>) -> BoxFuture<'_, Result<(), SinkError>>;

    /// Blocks from `from_block` on were reorganised away: undo what was derived from them.
    fn reorg(&self, chain_id: u64, from_block: u64) -> BoxFuture<'_, Result<(), SinkError>>;

    /// What became of a piece of work. Called for every piece, whatever the result.
    fn report(&self, report: WorkReport) -> BoxFuture<'_, ()>;
}

/// Counters of one chain, read by `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainStats {
    /// Latest head seen.
    pub head: u64,
    /// Last block fully processed by the watcher.
    pub processed: u64,
    /// RPC calls that failed or timed out.
    pub rpc_errors: u64,
    /// Transactions broadcast (fee bumps included).
    pub broadcasts: u64,
    /// Mined transactions a reorg removed, sent again.
    pub resent_after_reorg: u64,
    /// Nonces a reorg emptied below the key's pending transactions, filled with a no-op transfer.
    pub nonce_gaps_filled: u64,
    /// Stuck transactions left at their price (see the logs for why).
    pub bumps_held: u64,
    /// How far the watcher may fall behind the head before the relayer reports itself not ready.
    pub lag_budget: u64,
    /// Transactions sent and not yet final.
    pub pending: u64,
    /// Seconds since the oldest of them was first signed (0 when none).
    pub oldest_pending_secs: u64,
    /// Nonces between the chain's next one and the lowest we hold: above 0, a nonce is missing and every
    /// later transaction waits.
    pub nonce_gap: u64,
    /// Send records that cannot be read (see [`ledger`]): above 0, `/readyz` fails until an operator
    /// looks at them.
    pub unreadable_sends: u64,
    /// What the relayer's account holds to pay for its transactions here, where the family reads it
    /// (Tron: TRX, energy and bandwidth; Solana: the fee payer's lamports): shown in `/metrics`; below
    /// its floor, `/readyz` fails.
    pub account: [Option<AccountGauge>; 3],
    /// Fees the relayer's landed transactions paid, in the chain's native base units (Solana:
    /// lamports); `None` where the family does not count them (no sample in `/metrics`, rather than a 0
    /// that reads as "paid nothing").
    pub fees_paid: Option<u64>,
    /// The part of [`ChainStats::fees_paid`] paid for priority (Solana's compute-unit price).
    pub priority_fees_paid: Option<u64>,
    /// Transactions on record under keys being rotated out (still to land).
    pub retiring_pending: u64,
    /// Transactions on record under keys this relayer has no key for: their work waits, and `/readyz`
    /// fails.
    pub unowned_sends: u64,
    /// Fees today against the operator's limits, where the family counts them.
    pub spending: Option<SpendingStats>,
}

/// One resource the relayer's account pays transactions with, as last read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountGauge {
    /// Which key holds it: `settle` (pays for deliveries, refunds and bridgings) or `inventory` (a
    /// separate key that fronts from its own balance, and pays for its frontings).
    pub role: &'static str,
    /// What it is (`trx_sun`, `energy`, `bandwidth`).
    pub resource: &'static str,
    /// How much is left, in the resource's unit.
    pub amount: u64,
    /// Below this the relayer is not ready (0: no floor).
    pub floor: u64,
    /// Whether `amount` was read: `false` before the first read, and once reads have failed for a
    /// while (the amount is then 0, and says nothing of what the account holds).
    pub read: bool,
}

impl ChainStats {
    /// Blocks between the head and what the watcher processed.
    pub const fn lag(&self) -> u64 {
        self.head.saturating_sub(self.processed)
    }
}

/// What looking at a hinted transaction found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inspection {
    /// The chain does not know the transaction, or it lacks confirmations: the watcher will see it.
    NotYet,
    /// Confirmed, and the chain's watcher has processed its block (through the same confirmation and
    /// reorg bookkeeping as everything else it reads).
    Processed,
    /// Confirmed, but the watcher did not reach its block in time; it will.
    Behind,
}

/// Why a chain could not take work: it stopped.
#[derive(Debug, thiserror::Error)]
#[error("chain {0} stopped; work not queued")]
pub struct Stopped(pub u64);

/// One configured chain of any family, as the engine and the API see it.
pub trait Chain: Send + Sync {
    /// Family and chain id.
    fn key(&self) -> ChainKey;

    /// The API's `chainId`.
    fn chain_id(&self) -> u64 {
        self.key().chain_id
    }

    /// Display name, e.g. "Base".
    fn name(&self) -> &str;

    /// Tokens deposits are accepted in, and delivered in.
    fn tokens(&self) -> &[TokenRef];

    /// The tokens payers may pay in here: those whose deposits the chain watches (all of them unless a
    /// family watches fewer: Solana watches the vault account of its first mint only). A payment method
    /// never sends a payer to anything else.
    fn deposit_tokens(&self) -> &[TokenRef] {
        self.tokens()
    }

    /// The configured token at `address`.
    fn token(&self, address: ChainAddress) -> Option<&TokenRef> {
        self.tokens().iter().find(|t| t.address == address)
    }

    /// Where a session with this commitment receives deposits on this chain (each family derives it
    /// its own way: CREATE2 with `0xff` on EVM, with `0x41` on Tron, a PDA on Solana).
    fn receiver(&self, commitment: &Commitment) -> ChainAddress;

    /// The configured route that bridges `token` from this chain to `to_chain_id`, if any.
    fn route(&self, _token: &ChainAddress, _to_chain_id: u64) -> Option<Route> {
        None
    }

    /// What must arrive of `token` (a destination token here) before an open-amount session starts:
    /// committed as the session's minimum, so a dust transfer cannot start it (and run its final call, or
    /// report it delivered) ahead of the payer's real payment.
    fn open_amount_minimum(&self, _token: &ChainAddress) -> U256 {
        U256::ZERO
    }

    /// Whether transfers bridged to a session's receiver here add up there, so that parts of a payment
    /// bridged separately are delivered together (an EVM receiver holds them all). Solana's inbox
    /// consumes each bridged transfer alone, so there each must carry the session's minimum.
    fn bridged_arrivals_add_up(&self) -> bool {
        true
    }

    /// How much of `token` this chain's relayer key may have fronted and not yet been repaid, at most
    /// (`None`: it never fronts that token here).
    fn fronting_cap(&self, _token: &ChainAddress) -> Option<U256> {
        None
    }

    /// The relayer's own address on this chain (the one that fronts and is repaid).
    fn relayer_address(&self) -> Option<ChainAddress> {
        None
    }

    /// The relayer's other addresses here whose frontings are still repaid to them (keys being rotated
    /// out; the signer that fronted before a separate inventory key took over): what they fronted
    /// counts against the fronting cap with what [`Chain::relayer_address`] fronted.
    fn other_addresses(&self) -> Vec<ChainAddress> {
        vec![]
    }

    /// Frontings sent here and not final yet, whoever of the relayer's keys signed them: session, token,
    /// amount (read at start, so what was in flight at a restart keeps counting against the cap).
    fn frontings_in_flight(&self) -> Result<Vec<(SessionId, ChainAddress, U256)>, relayer_store::StoreError> {
        Ok(vec![])
    }

    /// Fronting is configured here but off (the key that fronts could not be used at start): nothing
    /// is fronted, while what was fronted still counts.
    fn fronting_off(&self) -> bool {
        false
    }

    /// What the key that fronts here holds of each token it fronts, in base units, as last read (for
    /// `/metrics`; empty where it fronts nothing or nothing was read yet).
    fn inventory_balances(&self) -> Vec<(ChainAddress, U256)> {
        vec![]
    }

    /// How this family's payers pay (its payment policy; the core never names the family): by sending
    /// to the session's receiver address shown to them, or by signing a transaction built for their
    /// wallet ([`Chain::payment_transaction`]), which then is the session's refund address here.
    fn pays_by(&self) -> PaysBy {
        PaysBy::Transfer
    }

    /// Why a payer here cannot pay `session` whose destination is on another chain, if it cannot: what
    /// this family's receivers would do with what cannot be delivered (a refund, a bounce) must have
    /// somewhere to go. Asked before anyone pays, so nobody pays into a receiver that could lock funds.
    fn cross_chain_refusal(&self, _session: &relayer_types::Session) -> Option<String> {
        None
    }

    /// A sign-and-send payment (Solana): the unsigned transaction, serialized for the wallet, that moves
    /// `amount` of `token` from `payer` into the receiver of `commitment`. Families whose payers send to
    /// an address have none.
    fn payment_transaction(
        &self,
        _commitment: &Commitment,
        _payer: ChainAddress,
        _token: ChainAddress,
        _amount: U256,
    ) -> BoxFuture<'_, Result<Vec<u8>, String>> {
        Box::pin(async {
            Err("this chain's payers send to an address; there is no transaction to sign".into())
        })
    }

    /// How much of `token` `owner` holds on this chain now (a payer choosing what to pay with). Families
    /// that cannot read it answer an error.
    fn balance_of(&self, _token: ChainAddress, _owner: ChainAddress) -> BoxFuture<'_, Result<U256, String>> {
        Box::pin(async { Err("this chain does not read balances".into()) })
    }

    /// `session`'s funds left `from_chain` through a bridge towards this chain (`bridging`, the session's
    /// own, not sent home). A family where the bridge does not deliver by itself (Solana: nobody calls
    /// Circle's transmitter there but whoever wants the transfer) takes it from here: it fetches the
    /// attested message and delivers it. Called for every sighting (a replayed event, every restart while
    /// the session is unsettled), so it must be idempotent; it never waits on the network. `Ok` only once
    /// what the family must not forget is durable: an error fails the batch of events, which the source
    /// chain's watcher applies again.
    fn arriving(
        &self,
        _session: &relayer_types::Session,
        _from_chain: u64,
        _bridging: &relayer_types::Bridging,
    ) -> Result<(), relayer_store::StoreError> {
        Ok(())
    }

    /// Queues work; waits while the queue is full. A [`WorkReport`] follows for every piece queued.
    fn submit(&self, work: Work) -> BoxFuture<'_, Result<(), Stopped>>;

    /// Looks at the transaction `tx_hash` now (a `txHash` hint), so that a confirmed deposit counts
    /// without waiting for the next poll.
    /// Transactions of another family are `NotYet` here.
    fn inspect(&self, tx_hash: TxId) -> BoxFuture<'_, Inspection>;

    /// Current counters.
    fn stats(&self) -> ChainStats;

    /// Starts the chain's tasks (watcher, sender), delivering to `sink`, until `cancel`.
    fn start(self: Arc<Self>, sink: Arc<dyn EventSink>, cancel: CancellationToken, tasks: &TaskTracker);
}

/// A configured bridge route out of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The adapter bridges go through.
    pub adapter: ChainAddress,
    /// The token it delivers on the destination chain.
    pub to_token: ChainAddress,
    /// Smaller deposits are not bridged (refunded once the session expires).
    pub min_amount: U256,
    /// The largest fee anyone may make the adapter take, in basis points: fronting assumes it for a
    /// bridging someone else made.
    pub max_fee_bps: u32,
    /// The fee the relayer's own bridgings allow, in basis points.
    pub own_fee_bps: u32,
}

impl Route {
    /// What bridging `amount` delivers at the worst fee: the relayer's own fee if it bridged (`ours`),
    /// otherwise the worst the adapter allows anyone.
    pub fn worst_delivery(&self, amount: U256, ours: bool) -> U256 {
        let bps = if ours { self.own_fee_bps } else { self.max_fee_bps };
        amount - amount * U256::from(bps.min(10_000)) / U256::from(10_000u32)
    }
}
