//! The deposit session and its state machine. `Session::apply` is the only way a session changes; it
//! is pure (time comes in with the event) and refuses anything that would change a terminal status.
//!
//! ```text
//! requires_payment_method ─set payment method─▶ waiting_payment ─deposit seen─▶ processing
//!          │                                         │                           ├─delivered─▶ succeeded
//!          └────────────────expiresAt────────────────┴──▶ expired                └─bounced / refunded─▶ bounced
//! ```
//! Deposits and settlements after a terminal status are still recorded (nothing is lost), but never
//! change the status.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{B256, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::{
    chain::{ChainAddress, TxId},
    ids::{ClientSecret, SessionId},
    work::WorkRecord,
};

/// Where a session stands. Serialized exactly as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Created; waiting for the user to choose how to pay.
    RequiresPaymentMethod,
    /// Payment method set; waiting for the deposit.
    WaitingPayment,
    /// Deposit seen; funds are being delivered.
    Processing,
    /// Delivered to the destination. Terminal.
    Succeeded,
    /// Returned to the refund address. Terminal.
    Bounced,
    /// Timed out before a deposit was seen. Terminal.
    Expired,
}

impl SessionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 6] = [
        Self::RequiresPaymentMethod,
        Self::WaitingPayment,
        Self::Processing,
        Self::Succeeded,
        Self::Bounced,
        Self::Expired,
    ];

    /// Terminal statuses never change.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Bounced | Self::Expired)
    }

    /// The API spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::WaitingPayment => "waiting_payment",
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Bounced => "bounced",
            Self::Expired => "expired",
        }
    }
}

/// A token as configured for a chain, captured into the session so it is self-describing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRef {
    /// Chain the token lives on.
    pub chain_id: u64,
    /// Chain display name (from config), e.g. "Base".
    pub chain_name: String,
    /// Token contract (or mint).
    pub address: ChainAddress,
    /// Symbol (from config), e.g. "USDC".
    pub symbol: String,
    /// Decimals (from config).
    pub decimals: u8,
}

/// A landed delivery (or, for a bounced session, the refund).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Transaction that moved the funds.
    pub tx_hash: TxId,
    /// Amount that actually arrived, in base units.
    pub received: U256,
}

/// Where a session's funds go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// Recipient, or the contract called with `calldata`.
    pub address: ChainAddress,
    /// Token (and chain) to deliver.
    pub token: TokenRef,
    /// Fixed amount in base units; `None` lets the user choose.
    pub amount: Option<U256>,
    /// Calldata for `address`; delivery is approve + call.
    pub calldata: Option<Bytes>,
    /// Set once funds are delivered (or refunded, for `bounced`).
    pub delivery: Option<Delivery>,
}

/// Display settings for the checkout page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayInfo {
    /// Title, e.g. "Deposit to Acme".
    pub title: String,
    /// One-word verb, e.g. "Deposit".
    pub verb: String,
    /// Custom theme CSS.
    pub theme_css_url: Option<String>,
    /// Payment options in display order, as given (strings or nested arrays of strings).
    pub payment_options: Option<Vec<PaymentOption>>,
}

/// One entry of `display.paymentOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PaymentOption {
    /// A single option.
    One(String),
    /// A group, shown in this order.
    Group(Vec<String>),
}

/// The detected source of a deposit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Sender.
    pub from: ChainAddress,
    /// Token (and chain) sent.
    pub token: TokenRef,
    /// Amount sent, in base units.
    pub sent: U256,
    /// Deposit transaction.
    pub tx_hash: TxId,
}

/// A fiat rail of the hosted fiat flow, as the spec names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FiatMethod {
    /// Interac (Canada).
    Interac,
    /// ACH (US).
    Ach,
    /// SEPA (Europe).
    Sepa,
    /// Apple Pay.
    ApplePay,
    /// JPYC.
    Jpyc,
    /// ARS.
    Ars,
}

/// How the user pays: the spec's four payment-method types (`stripe` is not offered here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Send tokens to `receiver` on any supported EVM chain.
    Evm {
        /// The session's counterfactual receiver (same on every supported EVM chain).
        receiver: ChainAddress,
        /// First detected deposit.
        source: Option<Source>,
        /// When the payment method was set (unix seconds).
        created_at: u64,
    },
    /// Send USDT to `receiver` on Tron.
    Tron {
        /// The session's receiver on Tron (CREATE2 with Tron's `0x41` prefix).
        receiver: ChainAddress,
        /// First detected deposit.
        source: Option<Source>,
        /// Unix seconds.
        created_at: u64,
    },
    /// Sign and send from a Solana wallet.
    Solana {
        /// The paying wallet: committed as the refund address of the session's Solana vault (the API's
        /// `refundAddress` is an EVM address, and nobody could spend funds sent to one on Solana).
        wallet: ChainAddress,
        /// First detected deposit.
        source: Option<Source>,
        /// Unix seconds.
        created_at: u64,
    },
    /// The hosted fiat flow.
    Fiat {
        /// The rail, when pinned.
        fiat_method: Option<FiatMethod>,
        /// Unix seconds.
        created_at: u64,
    },
}

impl PaymentMethod {
    /// The deposit address, if this method has one.
    pub const fn receiver(&self) -> Option<ChainAddress> {
        match self {
            Self::Evm { receiver, .. } | Self::Tron { receiver, .. } => Some(*receiver),
            Self::Solana { .. } | Self::Fiat { .. } => None,
        }
    }

    /// The paying wallet of a sign-and-send method.
    pub const fn wallet(&self) -> Option<ChainAddress> {
        match self {
            Self::Solana { wallet, .. } => Some(*wallet),
            Self::Evm { .. } | Self::Tron { .. } | Self::Fiat { .. } => None,
        }
    }

    /// The `type` the API names it by.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Evm { .. } => "evm",
            Self::Tron { .. } => "tron",
            Self::Solana { .. } => "solana",
            Self::Fiat { .. } => "fiat",
        }
    }

    /// Where the detected deposit is recorded (`None` for methods without one).
    pub const fn source_mut(&mut self) -> Option<&mut Option<Source>> {
        match self {
            Self::Evm { source, .. } | Self::Tron { source, .. } | Self::Solana { source, .. } => {
                Some(source)
            }
            Self::Fiat { .. } => None,
        }
    }

    /// The detected deposit.
    pub const fn source(&self) -> Option<&Source> {
        match self {
            Self::Evm { source, .. } | Self::Tron { source, .. } | Self::Solana { source, .. } => {
                source.as_ref()
            }
            Self::Fiat { .. } => None,
        }
    }
}

/// Where a chain event sits; identifies it uniquely so replays are recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventId {
    /// Chain.
    pub chain_id: u64,
    /// Block number.
    pub block_number: u64,
    /// Transaction.
    pub tx_hash: TxId,
    /// Log index within the block.
    pub log_index: u64,
}

/// A token transfer into the session's receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    /// The `Transfer` log.
    pub event: EventId,
    /// Block hash of the log (for reorg handling).
    pub block_hash: B256,
    /// Sender.
    pub from: ChainAddress,
    /// Token.
    pub token: TokenRef,
    /// Amount, in base units.
    pub amount: U256,
    /// How much of it counts towards starting the session, in the destination token's base units: what
    /// the session can use (its destination token on its chain, or a token a route delivers it as), 0 for
    /// a token it cannot use. Set by the engine, which knows the routes; `None` on deposits stored by
    /// earlier builds, which all counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<U256>,
}

impl Deposit {
    /// What counts towards starting the session (see [`Deposit::counts`]).
    pub fn counted(&self) -> U256 {
        self.counts.unwrap_or(self.amount)
    }
}

/// How an on-chain settlement ended (mirrors `IDepositRouter.Outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Reached the destination.
    Delivered,
    /// The final call reverted; everything went to the refund address.
    Bounced,
    /// Sent to the refund address without a delivery attempt.
    Refunded,
}

/// A `Settled` event carried an outcome the router does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown settlement outcome {0}")]
pub struct UnknownOutcome(pub u8);

impl TryFrom<u8> for Outcome {
    type Error = UnknownOutcome;

    /// `IDepositRouter.Outcome` is a `uint8` in the ABI, in declaration order.
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(Self::Delivered),
            1 => Ok(Self::Bounced),
            2 => Ok(Self::Refunded),
            other => Err(UnknownOutcome(other)),
        }
    }
}

/// A router `Settled` event for this session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The `Settled` log.
    pub event: EventId,
    /// Token moved.
    pub token: ChainAddress,
    /// Outcome.
    pub outcome: Outcome,
    /// Taken from the receiver.
    pub amount: U256,
    /// Reached the destination.
    pub delivered: U256,
    /// Reached the refund address.
    pub refunded: U256,
}

/// Funds of this session sent from a source chain's receiver through a bridge to the same receiver on
/// the destination chain (a router `Bridged` event; anyone may have called it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridging {
    /// The `Bridged` log (on the source chain).
    pub event: EventId,
    /// Token sent.
    pub token: ChainAddress,
    /// The adapter it went through.
    pub adapter: ChainAddress,
    /// Amount handed to the bridge (a bridge fee may keep part of it).
    pub amount: U256,
    /// The chain the funds are on their way to, as the event says (the session's destination chain
    /// for a bridging towards it; the chain a transfer came from when the Solana inbox sends it back).
    /// `None` on bridgings stored by earlier builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_chain_id: Option<u64>,
    /// The receiver the funds are on their way to there, as the event names it (the router computes it
    /// from the destination chain's deployment; the Solana program from its pinned EVM deployment). `None`
    /// on bridgings stored by earlier builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_receiver: Option<ChainAddress>,
    /// A refund that went home through the bridge (the session names no refund address usable where the
    /// funds were; the destination chain's family refunds them): never a payment on its way, never
    /// fronted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub home: bool,
}

/// A relayer paid the session's amount from its own funds on the destination chain (`FastFinished`), or
/// was repaid part of what it fronted from funds that reached the receiver (`Repaid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fronting {
    /// The log (on the destination chain).
    pub event: EventId,
    /// The relayer.
    pub relayer: ChainAddress,
    /// Amount fronted (`FastFinished`) or repaid (`Repaid`).
    pub amount: U256,
    /// `Repaid` only: what the relayer is still owed after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub still_owed: Option<U256>,
}

/// What arrived at one of a session's receivers in one token, and what left it, in that token's base
/// units (see [`Session::at_receiver`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    /// Deposits seen there.
    pub arrived: U256,
    /// Settled, refunded, bridged or repaid from there.
    pub left: U256,
}

impl Holding {
    /// What is still there.
    pub fn remaining(&self) -> U256 {
        self.arrived.saturating_sub(self.left)
    }
}

/// A deposit session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Public id.
    pub id: SessionId,
    /// Per-session client credential.
    pub client_secret: ClientSecret,
    /// Current status.
    pub status: SessionStatus,
    /// Where funds go.
    pub destination: Destination,
    /// Display settings.
    pub display: DisplayInfo,
    /// Integrator's key-value pairs.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Refund address as given by the integrator (the committed one defaults to the destination).
    pub refund_address: Option<ChainAddress>,
    /// Nothing starts the session (a delivery, its final call) before this much of the destination token
    /// is at one chain's receiver (committed on chain as `minAmount`): for a fixed amount, the amount less
    /// the worst fee a bridge may take on the way; for an open amount, the deployment's minimum. Fixed when
    /// the session is created.
    #[serde(default)]
    pub min_amount: U256,
    /// How the user pays.
    pub payment_method: Option<PaymentMethod>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// Every deposit seen, including late and extra ones.
    pub deposits: Vec<Deposit>,
    /// Every settlement seen.
    pub settlements: Vec<Settlement>,
    /// Every bridging of the session's funds seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bridges: Vec<Bridging>,
    /// Every fronting and repayment seen (`still_owed` tells them apart).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frontings: Vec<Fronting>,
    /// The latest state of each piece of delivery work (one per chain and action). Records never
    /// change the status: only chain events do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub work: Vec<WorkRecord>,
}

/// Something that happened to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The user chose how to pay, at `now`.
    PaymentMethodSet {
        /// The method.
        method: PaymentMethod,
        /// Unix seconds.
        now: u64,
    },
    /// A transfer into the receiver reached the required confirmations.
    DepositDetected(Deposit),
    /// A deposit's block was reorganised away.
    DepositOrphaned(EventId),
    /// The router settled funds of this session.
    Settled(Settlement),
    /// A settlement's block was reorganised away (deeper than the confirmations allowed for).
    SettlementOrphaned(EventId),
    /// The session's funds were bridged towards the destination.
    Bridged(Bridging),
    /// A relayer fronted the session, or was repaid.
    Fronted(Fronting),
    /// A bridging, fronting or repayment's block was reorganised away.
    MovementOrphaned(EventId),
    /// Delivery work changed state.
    Work(WorkRecord),
    /// The clock passed `now`.
    Tick {
        /// Unix seconds.
        now: u64,
    },
}

/// Why an event was refused. Refusals change nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The session is past `expiresAt`.
    #[error("session has expired")]
    Expired,
    /// The status does not accept this event.
    #[error("session is {0}, which does not accept this")]
    WrongStatus(&'static str),
    /// A different payment method is already set.
    #[error("a different payment method is already set")]
    PaymentMethodConflict,
}

/// What `apply` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Status before.
    pub from: SessionStatus,
    /// Status after.
    pub to: SessionStatus,
    /// Whether anything at all changed (false for a replayed event).
    pub changed: bool,
}

impl Session {
    /// Applies `event`. On `Err` the session is unchanged.
    pub fn apply(&mut self, event: SessionEvent) -> Result<Applied, StateError> {
        let from = self.status;
        let changed = match event {
            SessionEvent::PaymentMethodSet { method, now } => self.set_payment_method(method, now)?,
            SessionEvent::DepositDetected(deposit) => self.record_deposit(deposit),
            SessionEvent::DepositOrphaned(id) => self.orphan_deposit(id),
            SessionEvent::Settled(settlement) => self.record_settlement(settlement),
            SessionEvent::SettlementOrphaned(id) => self.orphan_settlement(id),
            SessionEvent::Bridged(bridging) => record_once(&mut self.bridges, bridging, |b| b.event),
            SessionEvent::Fronted(fronting) => record_once(&mut self.frontings, fronting, |f| f.event),
            SessionEvent::MovementOrphaned(id) => {
                let before = self.bridges.len() + self.frontings.len();
                self.bridges.retain(|b| b.event != id);
                self.frontings.retain(|f| f.event != id);
                self.bridges.len() + self.frontings.len() != before
            }
            SessionEvent::Work(record) => self.record_work(record),
            SessionEvent::Tick { now } => self.tick(now),
        };
        Ok(Applied { from, to: self.status, changed })
    }

    fn set_payment_method(&mut self, method: PaymentMethod, now: u64) -> Result<bool, StateError> {
        if now >= self.expires_at || self.status == SessionStatus::Expired {
            return Err(StateError::Expired);
        }
        match (self.status, &self.payment_method) {
            (SessionStatus::RequiresPaymentMethod, _) => {
                self.payment_method = Some(method);
                self.status = SessionStatus::WaitingPayment;
                Ok(true)
            }
            // Setting the same method again is idempotent: the user reloaded the page.
            (SessionStatus::WaitingPayment, Some(existing))
                if existing.kind() == method.kind()
                    && existing.receiver() == method.receiver()
                    && existing.wallet() == method.wallet() =>
            {
                Ok(false)
            }
            (SessionStatus::WaitingPayment, _) => Err(StateError::PaymentMethodConflict),
            (status, _) => Err(StateError::WrongStatus(status.as_str())),
        }
    }

    /// Whether what the session can use has reached its minimum at one chain's receiver: what the
    /// contracts and the program require before anything starts, so the session is `processing` only once
    /// funds can actually move (a dust transfer, or a payer who paid too little, leaves it waiting; what
    /// arrived is refunded after expiry unless the rest comes).
    pub fn started_on_some_chain(&self) -> bool {
        let mut by_chain: BTreeMap<u64, U256> = BTreeMap::new();
        for d in &self.deposits {
            let sum = by_chain.entry(d.event.chain_id).or_default();
            *sum = sum.saturating_add(d.counted());
        }
        by_chain.values().any(|sum| !sum.is_zero() && *sum >= self.min_amount)
    }

    /// What sits at the session's receiver on `chain_id` in `token`, as the chain's events tell it.
    pub fn at_receiver(&self, chain_id: u64, token: ChainAddress) -> Holding {
        let here = |event: &EventId| event.chain_id == chain_id;
        let arrived = self
            .deposits
            .iter()
            .filter(|d| here(&d.event) && d.token.address == token)
            .map(|d| d.amount)
            .fold(U256::ZERO, U256::saturating_add);
        // A fronting's own delivery is paid from the fronter's wallet, not the receiver: its `Settled`
        // shares the transaction of its `FastFinished` (the relayer's fronting, `still_owed` unset).
        let fronted_in = |x: &Settlement| {
            self.frontings.iter().any(|f| f.still_owed.is_none() && f.event.tx_hash == x.event.tx_hash)
        };
        let settled =
            self.settlements.iter().filter(|x| here(&x.event) && x.token == token && !fronted_in(x));
        let bridged = self.bridges.iter().filter(|b| here(&b.event) && b.token == token);
        // A repayment is paid from the receiver, in the destination token.
        let repaid = self
            .frontings
            .iter()
            .filter(|f| here(&f.event) && f.still_owed.is_some() && token == self.destination.token.address);
        let left = settled
            .map(|x| x.amount)
            .chain(bridged.map(|b| b.amount))
            .chain(repaid.map(|f| f.amount))
            .fold(U256::ZERO, U256::saturating_add);
        Holding { arrived, left }
    }

    /// Whether any of the session's receivers still holds something, by the chain's events: the
    /// sessions a restart must plan for again.
    pub fn holds_funds(&self) -> bool {
        let places: BTreeSet<(u64, ChainAddress)> =
            self.deposits.iter().map(|d| (d.event.chain_id, d.token.address)).collect();
        places.into_iter().any(|(chain_id, token)| !self.at_receiver(chain_id, token).remaining().is_zero())
    }

    fn record_deposit(&mut self, deposit: Deposit) -> bool {
        if self.deposits.iter().any(|d| d.event == deposit.event) {
            return false;
        }
        let source = Source {
            from: deposit.from,
            token: deposit.token.clone(),
            sent: deposit.amount,
            tx_hash: deposit.event.tx_hash,
        };
        let counts = !deposit.counted().is_zero();
        self.deposits.push(deposit);
        if matches!(self.status, SessionStatus::RequiresPaymentMethod | SessionStatus::WaitingPayment) {
            let starts = self.started_on_some_chain();
            // While the session waits, the first usable deposit is what arrived so far; the one that starts
            // it replaces it. Dust sent ahead of the payer's transaction is never reported as the payment.
            if let Some(slot) = self.payment_method.as_mut().and_then(PaymentMethod::source_mut)
                && counts
                && (slot.is_none() || starts)
            {
                *slot = Some(source);
            }
            if starts {
                self.status = SessionStatus::Processing;
            }
        }
        true
    }

    fn orphan_deposit(&mut self, id: EventId) -> bool {
        let before = self.deposits.len();
        self.deposits.retain(|d| d.event != id);
        if self.deposits.len() == before {
            return false;
        }
        // The source was this deposit: the next counted one (if any) is the source now.
        let source_gone = self.payment_method.as_ref().and_then(PaymentMethod::source).is_some_and(|s| {
            s.tx_hash == id.tx_hash && !self.deposits.iter().any(|d| d.event.tx_hash == id.tx_hash)
        });
        if source_gone {
            let next = self.deposits.iter().find(|d| !d.counted().is_zero()).map(|d| Source {
                from: d.from,
                token: d.token.clone(),
                sent: d.amount,
                tx_hash: d.event.tx_hash,
            });
            if let Some(slot) = self.payment_method.as_mut().and_then(PaymentMethod::source_mut) {
                *slot = next;
            }
        }
        if self.status == SessionStatus::Processing
            && !self.started_on_some_chain()
            && self.settlements.is_empty()
        {
            self.status = SessionStatus::WaitingPayment;
        }
        true
    }

    /// Whether `settlement` is about the session's payment, and so may decide its status: a delivery or
    /// bounce of the destination token on the destination chain, or a refund of a token the session
    /// received a deposit of on that chain. Anything else (a token someone sent to the receiver only to
    /// have it refunded, say) is recorded as a movement and changes no status: otherwise a refund of junk
    /// would report the session `bounced` before its payer paid.
    fn decides_status(&self, settlement: &Settlement) -> bool {
        let chain_id = settlement.event.chain_id;
        match settlement.outcome {
            // Only a settlement that itself moved at least the minimum (the payer's deposit, a fronting,
            // a bridged payment) is the session's delivery, whatever the status: a claim or settle of dust
            // is a movement. In `processing` too: while the payer's payment is on its way across chains,
            // anyone can bridge dust to the destination; claimed there, it must not finish the session.
            Outcome::Delivered | Outcome::Bounced => {
                chain_id == self.destination.token.chain_id
                    && settlement.token == self.destination.token.address
                    && !settlement.amount.is_zero()
                    && settlement.amount >= self.min_amount
            }
            // Only once the payment started: a refund of dust that never started the session, or of a token
            // it cannot use, is a movement (and after expiry the session is `expired` anyway).
            // And only once the refunds of the payment on that chain reach the minimum (in the destination
            // token's units): dust refunded from the Solana inbox while the payer's deposit waits in the
            // vault must not end a paid session as `bounced`; but a payment refunded in pieces (part of it
            // bridged ahead by a third party, the rest sent home at expiry) does end it, or it would stay
            // `processing` for good.
            Outcome::Refunded => {
                let Some(paid) = self.deposits.iter().find(|d| {
                    d.event.chain_id == chain_id
                        && d.token.address == settlement.token
                        && !d.counted().is_zero()
                }) else {
                    return false;
                };
                let refunded = self
                    .settlements
                    .iter()
                    .filter(|s| {
                        s.outcome == Outcome::Refunded
                            && s.event.chain_id == chain_id
                            && s.token == settlement.token
                    })
                    .fold(settlement.amount, |sum, s| sum.saturating_add(s.amount));
                let refunded = rescale_down(refunded, paid.token.decimals, self.destination.token.decimals);
                self.status != SessionStatus::WaitingPayment
                    && !settlement.amount.is_zero()
                    && !refunded.is_zero()
                    && refunded >= self.min_amount
            }
        }
    }

    fn record_settlement(&mut self, settlement: Settlement) -> bool {
        if self.settlements.iter().any(|s| s.event == settlement.event) {
            return false;
        }
        let delivery = |received| Delivery { tx_hash: settlement.event.tx_hash, received };
        let (status, received) = match settlement.outcome {
            Outcome::Delivered => (SessionStatus::Succeeded, settlement.delivered),
            Outcome::Bounced | Outcome::Refunded => (SessionStatus::Bounced, settlement.refunded),
        };
        if !self.decides_status(&settlement) {
            self.settlements.push(settlement);
            return true;
        }
        if matches!(self.status, SessionStatus::Processing | SessionStatus::WaitingPayment) {
            self.status = status;
            self.destination.delivery = Some(delivery(received));
        } else if self.status == status && self.destination.delivery.is_none() {
            // The delivery that made this status was reorganised away; this one replaces it.
            self.destination.delivery = Some(delivery(received));
        }
        self.settlements.push(settlement);
        true
    }

    /// A settlement vanished in a reorg. The status stays (terminal statuses never change), but the
    /// delivery it recorded no longer exists: it is cleared until a new settlement lands.
    fn orphan_settlement(&mut self, id: EventId) -> bool {
        let before = self.settlements.len();
        self.settlements.retain(|s| s.event != id);
        if self.settlements.len() == before {
            return false;
        }
        if self.destination.delivery.as_ref().is_some_and(|d| d.tx_hash == id.tx_hash) {
            self.destination.delivery = None;
        }
        true
    }

    /// What `relayer` fronted on this session and has not been repaid: the least `still_owed` of its
    /// repayments (what it is owed only ever falls), or the whole fronting when none followed.
    pub fn owed_to(&self, relayer: &ChainAddress) -> U256 {
        let mine = self.frontings.iter().filter(|f| f.relayer == *relayer);
        match mine.clone().filter_map(|f| f.still_owed).min() {
            Some(owed) => owed,
            None => mine.map(|f| f.amount).fold(U256::ZERO, U256::saturating_add),
        }
    }

    fn record_work(&mut self, record: WorkRecord) -> bool {
        let slot = self.work.iter_mut().find(|w| w.chain_id == record.chain_id && w.action == record.action);
        match slot {
            Some(existing) if *existing == record => false,
            Some(existing) => {
                *existing = record;
                true
            }
            None => {
                self.work.push(record);
                true
            }
        }
    }

    fn tick(&mut self, now: u64) -> bool {
        let open =
            matches!(self.status, SessionStatus::RequiresPaymentMethod | SessionStatus::WaitingPayment);
        if open && now >= self.expires_at {
            self.status = SessionStatus::Expired;
            return true;
        }
        false
    }

    /// Total deposited so far, in base units.
    pub fn deposited(&self) -> U256 {
        self.deposits.iter().map(|d| d.amount).sum()
    }
}

/// Appends `item` unless one with the same event is there; whether it was added. These records never
/// move the status: the `Settled` events that go with them do.
fn record_once<T>(list: &mut Vec<T>, item: T, event: impl Fn(&T) -> EventId) -> bool {
    if list.iter().any(|x| event(x) == event(&item)) {
        return false;
    }
    list.push(item);
    true
}

/// `value` in `from` decimals, in `to` decimals, rounded down: a sum compared against a minimum never
/// reaches it by rounding.
fn rescale_down(value: U256, from: u8, to: u8) -> U256 {
    if to >= from {
        return crate::rescale_units(value, from, to).unwrap_or(U256::MAX);
    }
    value / U256::from(10u8).pow(U256::from(from - to))
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;

    use super::*;

    #[test]
    fn every_family_commits_a_refund_address_it_can_pay_or_none() {
        let wallet = ChainAddress::Solana([9; 32]);
        let refund = ChainAddress::Evm(Address::repeat_byte(0xbe));
        let dest = Address::repeat_byte(0xd0);
        let mut s = session(RequiresPaymentMethod);
        // An EVM destination: its own address unless the integrator gave a refund address; nothing on
        // Solana until a Solana wallet pays.
        assert_eq!(s.commitment().refund_address, dest.into_word());
        assert_eq!(s.commitment().solana_refund_address, B256::ZERO);
        s.refund_address = Some(refund);
        assert_eq!(s.commitment().refund_address, refund.word());
        s.payment_method = Some(PaymentMethod::Solana { wallet, source: None, created_at: 1 });
        let c = s.commitment();
        assert_eq!((c.refund_address, c.solana_refund_address), (refund.word(), wallet.word()));
        // A Solana destination: the destination itself on Solana, and on EVM chains only the
        // integrator's refund address (a Solana key is no EVM address).
        let mut solana_dest = session(RequiresPaymentMethod);
        solana_dest.destination.address = ChainAddress::Solana([7; 32]);
        let c = solana_dest.commitment();
        assert_eq!((c.refund_address, c.solana_refund_address), (B256::ZERO, B256::from([7; 32])));
        solana_dest.refund_address = Some(refund);
        solana_dest.payment_method = Some(evm());
        let c = solana_dest.commitment();
        assert_eq!((c.refund_address, c.solana_refund_address), (refund.word(), B256::from([7; 32])));
        // The minimum is the session's, fixed at creation.
        solana_dest.min_amount = U256::from(9_990_000u64);
        assert_eq!(solana_dest.commitment().min_amount, U256::from(9_990_000u64));
    }

    #[test]
    fn outcome_mirrors_the_solidity_enum_in_declaration_order() {
        assert_eq!(Outcome::try_from(0), Ok(Outcome::Delivered));
        assert_eq!(Outcome::try_from(1), Ok(Outcome::Bounced));
        assert_eq!(Outcome::try_from(2), Ok(Outcome::Refunded));
        assert_eq!(Outcome::try_from(3), Err(UnknownOutcome(3)));
        assert_eq!(Outcome::try_from(u8::MAX), Err(UnknownOutcome(u8::MAX)));
    }
    use SessionStatus::*;

    const EXPIRES: u64 = 1_700_003_600;

    fn token() -> TokenRef {
        TokenRef {
            chain_id: 8453,
            chain_name: "Base".into(),
            address: Address::repeat_byte(0x83).into(),
            symbol: "USDC".into(),
            decimals: 6,
        }
    }

    fn session(status: SessionStatus) -> Session {
        Session {
            id: SessionId::from_bytes([1; 16]),
            client_secret: ClientSecret::from_bytes([2; 16]),
            status,
            destination: Destination {
                address: Address::repeat_byte(0xd0).into(),
                token: token(),
                amount: Some(U256::from(10_000_000u64)),
                calldata: None,
                delivery: None,
            },
            display: DisplayInfo {
                title: "Deposit to Acme".into(),
                verb: "Deposit".into(),
                theme_css_url: None,
                payment_options: None,
            },
            metadata: None,
            refund_address: None,
            min_amount: U256::from(9_990_000u64),
            payment_method: (status != RequiresPaymentMethod).then(evm),
            created_at: EXPIRES - 3600,
            expires_at: EXPIRES,
            deposits: vec![],
            bridges: vec![],
            frontings: vec![],
            settlements: vec![],
            work: vec![],
        }
    }

    fn evm() -> PaymentMethod {
        PaymentMethod::Evm {
            receiver: Address::repeat_byte(0xee).into(),
            source: None,
            created_at: EXPIRES - 3000,
        }
    }

    fn event(n: u8) -> EventId {
        EventId {
            chain_id: 8453,
            block_number: u64::from(n),
            tx_hash: B256::repeat_byte(n).into(),
            log_index: 0,
        }
    }

    fn deposit(n: u8) -> SessionEvent {
        SessionEvent::DepositDetected(Deposit {
            event: event(n),
            block_hash: B256::repeat_byte(0xbb),
            from: Address::repeat_byte(0xaa).into(),
            token: token(),
            amount: U256::from(10_000_000u64),
            counts: None,
        })
    }

    fn settled(n: u8, outcome: Outcome) -> SessionEvent {
        SessionEvent::Settled(Settlement {
            event: event(n),
            token: token().address,
            outcome,
            amount: U256::from(10_000_000u64),
            delivered: U256::from(if outcome == Outcome::Delivered { 10_000_000u64 } else { 0 }),
            refunded: U256::from(if outcome == Outcome::Delivered { 0 } else { 10_000_000u64 }),
        })
    }

    fn set_pm(now: u64) -> SessionEvent {
        SessionEvent::PaymentMethodSet { method: evm(), now }
    }

    #[test]
    fn transitions_follow_the_lifecycle_table() {
        let before = EXPIRES - 10;
        let after = EXPIRES;
        // (from, event, expected status or error)
        let table: Vec<(SessionStatus, SessionEvent, Result<SessionStatus, StateError>)> = vec![
            (RequiresPaymentMethod, set_pm(before), Ok(WaitingPayment)),
            (RequiresPaymentMethod, set_pm(after), Err(StateError::Expired)),
            (RequiresPaymentMethod, SessionEvent::Tick { now: before }, Ok(RequiresPaymentMethod)),
            (RequiresPaymentMethod, SessionEvent::Tick { now: after }, Ok(Expired)),
            (WaitingPayment, set_pm(before), Ok(WaitingPayment)),
            (WaitingPayment, deposit(1), Ok(Processing)),
            (WaitingPayment, SessionEvent::Tick { now: after }, Ok(Expired)),
            (WaitingPayment, settled(1, Outcome::Delivered), Ok(Succeeded)),
            (Processing, SessionEvent::Tick { now: after }, Ok(Processing)),
            (Processing, deposit(2), Ok(Processing)),
            (Processing, settled(1, Outcome::Delivered), Ok(Succeeded)),
            (Processing, settled(1, Outcome::Bounced), Ok(Bounced)),
            // A refund moves the status only when it returns a deposit the session received (below).
            (Processing, settled(1, Outcome::Refunded), Ok(Processing)),
            (Processing, set_pm(before), Err(StateError::WrongStatus("processing"))),
            (Succeeded, deposit(2), Ok(Succeeded)),
            (Succeeded, settled(2, Outcome::Refunded), Ok(Succeeded)),
            (Succeeded, set_pm(before), Err(StateError::WrongStatus("succeeded"))),
            (Bounced, settled(2, Outcome::Delivered), Ok(Bounced)),
            (Bounced, SessionEvent::Tick { now: after }, Ok(Bounced)),
            (Expired, deposit(1), Ok(Expired)),
            (Expired, settled(1, Outcome::Delivered), Ok(Expired)),
            (Expired, set_pm(before), Err(StateError::Expired)),
        ];
        for (from, ev, want) in table {
            let mut s = session(from);
            let original = s.clone();
            let got = s.apply(ev.clone()).map(|a| a.to);
            assert_eq!(got, want, "{from:?} + {ev:?}");
            if got.is_err() {
                assert_eq!(s, original, "a refused event changed the session: {from:?} + {ev:?}");
            }
        }
    }

    #[test]
    fn terminal_statuses_never_change() {
        let events = [
            set_pm(0),
            deposit(3),
            settled(3, Outcome::Delivered),
            settled(4, Outcome::Bounced),
            SessionEvent::Tick { now: u64::MAX },
            SessionEvent::DepositOrphaned(event(3)),
        ];
        for status in SessionStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            let mut s = session(status);
            for ev in events.clone() {
                let _ = s.apply(ev);
                assert_eq!(s.status, status);
            }
        }
    }

    #[test]
    fn deposit_sets_the_payment_method_source_and_replays_are_ignored() {
        let mut s = session(WaitingPayment);
        assert!(s.apply(deposit(1)).is_ok_and(|a| a.changed));
        let Some(PaymentMethod::Evm { source: Some(source), .. }) = &s.payment_method else {
            panic!("source not set")
        };
        assert_eq!(source.tx_hash, B256::repeat_byte(1).into());
        assert_eq!(source.sent, U256::from(10_000_000u64));
        assert_eq!(s.apply(deposit(1)), Ok(Applied { from: Processing, to: Processing, changed: false }));
        assert_eq!(s.deposits.len(), 1);
    }

    #[test]
    fn delivery_carries_the_settlement_tx_and_measured_amount() {
        let mut s = session(Processing);
        let mut ev = settled(7, Outcome::Delivered);
        if let SessionEvent::Settled(st) = &mut ev {
            st.delivered = U256::from(9_900_000u64);
        }
        s.apply(ev).ok();
        assert_eq!(
            s.destination.delivery,
            Some(Delivery { tx_hash: B256::repeat_byte(7).into(), received: U256::from(9_900_000u64) })
        );
    }

    #[test]
    fn bounced_delivery_is_the_refund() {
        let mut s = session(Processing);
        s.apply(settled(8, Outcome::Bounced)).ok();
        assert_eq!(s.status, Bounced);
        assert_eq!(s.destination.delivery.map(|d| d.received), Some(U256::from(10_000_000u64)));
    }

    #[test]
    fn late_deposits_and_settlements_are_recorded_on_terminal_sessions() {
        let mut s = session(Succeeded);
        s.apply(deposit(5)).ok();
        s.apply(settled(6, Outcome::Delivered)).ok();
        assert_eq!((s.deposits.len(), s.settlements.len(), s.status), (1, 1, Succeeded));
    }

    #[test]
    fn an_orphaned_only_deposit_returns_the_session_to_waiting_payment() {
        let mut s = session(WaitingPayment);
        s.apply(deposit(1)).ok();
        s.apply(SessionEvent::DepositOrphaned(event(1))).ok();
        assert_eq!(s.status, WaitingPayment);
        assert!(matches!(s.payment_method, Some(PaymentMethod::Evm { source: None, .. })));
    }

    #[test]
    fn work_records_keep_the_latest_state_per_chain_and_action_and_never_change_the_status() {
        use crate::work::{Action, WorkState};
        let token = token().address;
        let record = |action, attempts, state| {
            SessionEvent::Work(WorkRecord { chain_id: 8453, action, attempts, state, updated_at: 1 })
        };
        let waiting = WorkState::Retrying { reason: "rpc".into(), retry_at: 9 };
        for status in SessionStatus::ALL {
            let mut s = session(status);
            let settle = Action::Settle { token };
            assert!(s.apply(record(settle, 1, waiting.clone())).is_ok_and(|a| a.changed));
            assert!(s.apply(record(settle, 1, waiting.clone())).is_ok_and(|a| !a.changed), "replay");
            let sent = WorkState::Sent { tx_hash: B256::repeat_byte(3).into() };
            assert!(s.apply(record(settle, 2, sent.clone())).is_ok_and(|a| a.changed));
            s.apply(record(Action::Refund { token }, 1, waiting.clone())).ok();
            assert_eq!(s.work.len(), 2, "one record per action");
            assert_eq!(s.work[0].state, sent);
            assert_eq!(s.work[0].attempts, 2);
            assert_eq!(s.status, status, "work never moves the status");
        }
    }

    #[test]
    fn sessions_stored_before_work_records_existed_still_read() {
        let mut stored = serde_json::to_value(session(Processing)).expect("encode");
        assert!(stored.get("work").is_none(), "no records: not written");
        stored.as_object_mut().map(|o| o.remove("work"));
        let read: Session = serde_json::from_value(stored).expect("decode");
        assert!(read.work.is_empty());
    }

    #[test]
    fn a_delivery_reorganised_away_is_cleared_and_the_next_one_recorded_without_changing_the_status() {
        let mut s = session(Processing);
        s.apply(deposit(1)).ok();
        s.apply(settled(2, Outcome::Delivered)).ok();
        assert_eq!(s.status, Succeeded);
        assert!(s.apply(SessionEvent::SettlementOrphaned(event(2))).is_ok_and(|a| a.changed));
        assert_eq!((s.status, s.destination.delivery.clone(), s.settlements.len()), (Succeeded, None, 0));
        assert!(s.apply(SessionEvent::SettlementOrphaned(event(2))).is_ok_and(|a| !a.changed), "replay");
        let mut again = settled(3, Outcome::Delivered);
        if let SessionEvent::Settled(st) = &mut again {
            st.delivered = U256::from(9_990_000u64);
        }
        s.apply(again).ok();
        assert_eq!(
            s.destination.delivery,
            Some(Delivery { tx_hash: B256::repeat_byte(3).into(), received: U256::from(9_990_000u64) })
        );
        // A later settlement never overwrites a delivery that stands, nor one of the other outcome.
        s.apply(settled(4, Outcome::Delivered)).ok();
        assert_eq!(s.destination.delivery.as_ref().map(|d| d.tx_hash), Some(B256::repeat_byte(3).into()));
        let mut b = session(Bounced);
        b.apply(settled(5, Outcome::Delivered)).ok();
        assert_eq!(b.destination.delivery, None, "a delivery does not describe a bounced session");
    }

    #[test]
    fn only_settlements_of_the_sessions_payment_decide_its_status() {
        let junk = ChainAddress::Evm(Address::repeat_byte(0x99));
        let with_token = |ev: SessionEvent, token: ChainAddress, chain_id: u64| match ev {
            SessionEvent::Settled(mut st) => {
                st.token = token;
                st.event.chain_id = chain_id;
                SessionEvent::Settled(st)
            }
            other => other,
        };
        // Someone sends a junk token to a waiting session's receiver and has the router refund it: a
        // movement on the session, not a bounce of a payment nobody made.
        let mut s = session(WaitingPayment);
        assert!(s.apply(with_token(settled(1, Outcome::Refunded), junk, 8453)).is_ok_and(|a| a.changed));
        assert_eq!(
            (s.status, s.destination.delivery.clone(), s.settlements.len()),
            (WaitingPayment, None, 1)
        );
        // A delivery or bounce of another token, or on another chain, decides nothing either.
        for (outcome, token, chain) in [
            (Outcome::Delivered, junk, 8453),
            (Outcome::Bounced, junk, 8453),
            (Outcome::Delivered, token().address, 42161),
        ] {
            let mut s = session(WaitingPayment);
            s.apply(with_token(settled(2, outcome), token, chain)).ok();
            assert_eq!(s.status, WaitingPayment, "{outcome:?} of {token} on {chain}");
        }
        // A refund of what the payer deposited (expired, or no route) is the session's bounce.
        let mut s = session(WaitingPayment);
        s.apply(deposit(3)).ok();
        s.apply(settled(4, Outcome::Refunded)).ok();
        assert_eq!(s.status, Bounced);
        assert_eq!(s.destination.delivery.map(|d| d.tx_hash), Some(B256::repeat_byte(4).into()));
        // On a source chain: deposited there, refunded there.
        let mut s = session(WaitingPayment);
        let mut paid = deposit(5);
        if let SessionEvent::DepositDetected(d) = &mut paid {
            d.event.chain_id = 42161;
        }
        s.apply(paid).ok();
        s.apply(with_token(settled(6, Outcome::Refunded), token().address, 42161)).ok();
        assert_eq!(s.status, Bounced);
    }

    /// A refund decides the status once the refunds of the payment on that chain reach the minimum in
    /// the destination token's units: dust (however fine the source token's units) never does, pieces
    /// that add up do.
    #[test]
    fn refunds_decide_the_status_once_they_add_up_to_the_minimum_in_the_destinations_units() {
        // The payment on a chain whose USDT has 18 decimals (BNB Chain's).
        let usdt = TokenRef { chain_id: 56, decimals: 18, ..token() };
        let on_bsc = |n: u8| EventId { chain_id: 56, ..event(n) };
        let refund = |n: u8, amount: U256| {
            SessionEvent::Settled(Settlement {
                event: on_bsc(n),
                token: usdt.address,
                outcome: Outcome::Refunded,
                amount,
                delivered: U256::ZERO,
                refunded: amount,
            })
        };
        let mut s = session(WaitingPayment);
        let paid = U256::from(10u64).pow(U256::from(19u64)); // 10.00 at 18 decimals
        s.apply(SessionEvent::DepositDetected(Deposit {
            event: on_bsc(1),
            block_hash: B256::ZERO,
            from: Address::repeat_byte(0xaa).into(),
            token: usdt.clone(),
            amount: paid,
            counts: Some(U256::from(10_000_000u64)),
        }))
        .ok();
        assert_eq!(s.status, Processing);
        // 9,989,999,999,999 wei is more than the 6-decimal minimum's 9,990,000 units, but not 9.99 USDT.
        s.apply(refund(2, U256::from(9_989_999_999_999u64))).ok();
        assert_eq!(s.status, Processing, "dust in fine units is no bounce");
        // The rest, refunded in a second piece: together they reach the minimum.
        s.apply(refund(3, paid - U256::from(9_989_999_999_999u64))).ok();
        assert_eq!(s.status, Bounced, "a payment refunded in pieces ends the session");
        assert_eq!(s.destination.delivery.map(|d| d.tx_hash), Some(B256::repeat_byte(3).into()));
    }

    #[test]
    fn a_different_payment_method_conflicts() {
        let mut s = session(WaitingPayment);
        let other =
            PaymentMethod::Evm { receiver: Address::repeat_byte(1).into(), source: None, created_at: 0 };
        assert_eq!(
            s.apply(SessionEvent::PaymentMethodSet { method: other, now: 0 }),
            Err(StateError::PaymentMethodConflict)
        );
    }
}
