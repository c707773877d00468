//! A transaction the executor intends to send, persisted (with its signed bytes) before broadcast so a
//! restart can reconcile against the chain instead of guessing. Kept on the chain's
//! [`SendLedger`](relayer_chain::SendLedger), keyed by signer ‖ nonce; the JSON is the same as when the
//! record lived in `relayer-types`, so stores written before keep working.

use alloy::primitives::{Address, B256, Bytes};
use relayer_types::{Action, SessionId};
use serde::{Deserialize, Serialize};

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

impl Attempt {
    /// The most it may cost, in gwei (rounded up): its gas limit at its fee cap.
    pub fn most_gwei(&self) -> u64 {
        use alloy::{consensus::Transaction, eips::Decodable2718};
        let gas =
            alloy::consensus::TxEnvelope::decode_2718(&mut self.raw.as_ref()).map_or(0, |tx| tx.gas_limit());
        gwei(u128::from(gas).saturating_mul(self.max_fee_per_gas))
    }
}

/// `wei` in gwei, rounded up (saturating).
pub fn gwei(wei: u128) -> u64 {
    u64::try_from(wei.div_ceil(1_000_000_000)).unwrap_or(u64::MAX)
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

impl Intent {
    /// The record's key among the chain's send records.
    pub fn key(&self) -> Vec<u8> {
        key(self.signer, self.nonce)
    }
}

/// The key of `signer`'s transaction at `nonce`: signer ‖ nonce (big-endian), so a signer's records
/// list in nonce order.
pub fn key(signer: Address, nonce: u64) -> Vec<u8> {
    [signer.as_slice(), &nonce.to_be_bytes()].concat()
}
