//! Delivery work and what became of it. The engine decides the [`Action`] for funds a receiver holds;
//! a chain family carries it out and reports back; the engine records the latest state of each piece
//! of work on the session as a [`WorkRecord`], where the API (with an API key) and the operator see it.

use serde::{Deserialize, Serialize};

use crate::chain::{ChainAddress, TxId};

/// What to do with the funds of one token in a session's receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Deliver to the destination (`router.settle(params, token)` on EVM).
    Settle {
        /// Token to settle.
        token: ChainAddress,
    },
    /// Return to the refund address (`router.refund(params, token)` on EVM).
    Refund {
        /// Token to refund.
        token: ChainAddress,
    },
    /// Send the receiver's `token` through a bridge to the same receiver on the destination chain
    /// (`router.bridge(params, token, adapter, data)` on EVM), on a chain other than the destination.
    Bridge {
        /// Token to bridge.
        token: ChainAddress,
        /// The bridge adapter (on the router's allow-list).
        adapter: ChainAddress,
    },
    /// Deliver the session's amount from the relayer's own funds now, to be repaid from the bridged
    /// funds when they arrive (`router.fastFinish(params, amount)` on EVM), on the destination chain.
    FastFinish {
        /// The destination token paid.
        token: ChainAddress,
        /// The session's amount, in base units.
        amount: alloy_primitives::U256,
    },
}

impl Action {
    /// The token acted on.
    pub const fn token(self) -> ChainAddress {
        match self {
            Self::Settle { token }
            | Self::Refund { token }
            | Self::Bridge { token, .. }
            | Self::FastFinish { token, .. } => token,
        }
    }

    /// `settle`, `refund`, `bridge` or `fast_finish`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Settle { .. } => "settle",
            Self::Refund { .. } => "refund",
            Self::Bridge { .. } => "bridge",
            Self::FastFinish { .. } => "fast_finish",
        }
    }
}

/// Where one piece of work stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WorkState {
    /// A transaction was broadcast; its effect arrives as a chain event.
    Sent {
        /// The transaction.
        tx_hash: TxId,
    },
    /// Nothing left to send (e.g. another relayer settled first).
    Done {
        /// Why.
        reason: String,
    },
    /// Not possible yet; tried again at `retry_at`.
    Retrying {
        /// Why not yet.
        reason: String,
        /// Unix seconds of the next try.
        retry_at: u64,
    },
    /// Stopped: retrying cannot help, or the retry limit was reached. A restart tries again.
    GaveUp {
        /// Why.
        reason: String,
    },
    /// Mined but reverted (typically another relayer moved the funds first).
    Reverted {
        /// The transaction.
        tx_hash: TxId,
    },
    /// In a final block, and what it cost the relayer, where the family reads it (Tron: the TRX its
    /// energy and bandwidth burnt).
    Landed {
        /// The transaction.
        tx_hash: TxId,
        /// What it cost.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost: Option<Cost>,
    },
}

/// What a transaction cost the relayer, in base units of the chain's fee coin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// Base units (sun on Tron).
    pub amount: u64,
    /// The coin's decimals (6 for TRX).
    pub decimals: u8,
    /// The coin (`TRX`).
    pub symbol: String,
}

impl WorkState {
    /// Short name, for logs and metrics.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Sent { .. } => "sent",
            Self::Done { .. } => "done",
            Self::Retrying { .. } => "retrying",
            Self::GaveUp { .. } => "gave_up",
            Self::Reverted { .. } => "reverted",
            Self::Landed { .. } => "landed",
        }
    }
}

/// The latest state of one piece of work of a session: one record per (chain, action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkRecord {
    /// Chain the work runs on.
    pub chain_id: u64,
    /// The work.
    pub action: Action,
    /// Attempts so far (a retry counts one).
    pub attempts: u32,
    /// Transactions for this work in a row that landed and failed on chain (each burnt fees): at the
    /// retry limit the work is given up instead of sent again for ever.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reverts: u32,
    /// Latest state.
    #[serde(flatten)]
    pub state: WorkState,
    /// Unix seconds of the latest change.
    pub updated_at: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
const fn is_zero(n: &u32) -> bool {
    *n == 0
}
