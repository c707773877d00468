//! A transaction the relayer intends to send, persisted (with its signed bytes) before broadcast so a
//! restart can reconcile against the chain instead of guessing.

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};

use crate::ids::SessionId;

/// What the transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// `router.settle(params, token)`.
    Settle {
        /// Token to settle.
        token: Address,
    },
    /// `router.refund(params, token)`.
    Refund {
        /// Token to refund.
        token: Address,
    },
}

/// One signed attempt of an intent (a fee bump adds another with the same nonce).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Transaction hash.
    pub tx_hash: B256,
    /// EIP-2718 encoded signed transaction.
    pub raw: Bytes,
    /// Max fee per gas of this attempt.
    pub max_fee_per_gas: u128,
    /// Priority fee of this attempt.
    pub max_priority_fee_per_gas: u128,
    /// Unix seconds when signed.
    pub signed_at: u64,
}

/// A pending transaction of one sender on one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// Chain.
    pub chain_id: u64,
    /// Sender.
    pub signer: Address,
    /// Nonce all attempts share: at most one of them can ever be mined.
    pub nonce: u64,
    /// Session acted for.
    pub session_id: SessionId,
    /// What the transaction does.
    pub action: Action,
    /// Signed attempts, oldest first.
    pub attempts: Vec<Attempt>,
}
