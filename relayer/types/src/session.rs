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

use std::collections::BTreeMap;

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

    /// Whether a session in this status can still expire (nothing paid into it yet): the sessions the
    /// expiry timers and the stores' expiry indexes hold.
    pub const fn can_expire(self) -> bool {
        matches!(self, Self::RequiresPaymentMethod | Self::WaitingPayment)
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
    /// The method of a payer of `family`, set at `now`: `address` is the session's receiver on that
    /// family's chains where payers send to one (EVM, Tron), or the paying wallet where they sign a
    /// transaction for it (Solana).
    pub const fn new(family: crate::Family, address: ChainAddress, now: u64) -> Self {
        match family {
            crate::Family::Evm => Self::Evm { receiver: address, source: None, created_at: now },
            crate::Family::Tron => Self::Tron { receiver: address, source: None, created_at: now },
            crate::Family::Solana => Self::Solana { wallet: address, source: None, created_at: now },
        }
    }

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

mod machine;

#[cfg(test)]
mod tests;
