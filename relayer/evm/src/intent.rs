//! A transaction the executor intends to send, persisted (with its signed bytes) before broadcast so a
//! restart can reconcile against the chain instead of guessing. Stored as the EVM family's send
//! records (`ChainStore::put_send`), keyed by signer ‖ nonce; the JSON is the same as when the record
//! lived in `relayer-types`, so stores written before keep working.

use alloy::primitives::{Address, B256, Bytes};
use relayer_store::{ChainStore, StoreError};
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

fn key(signer: Address, nonce: u64) -> Vec<u8> {
    [signer.as_slice(), &nonce.to_be_bytes()].concat()
}

fn codec(e: serde_json::Error) -> StoreError {
    StoreError::Codec(e.to_string())
}

/// Stores (or replaces) `intent` durably.
pub fn put(store: &dyn ChainStore, intent: &Intent) -> Result<(), StoreError> {
    store.put_send(intent.chain_id, &intent.key(), &serde_json::to_vec(intent).map_err(codec)?)
}

/// Pending intents of `signer` on `chain_id`, by nonce.
pub fn list(store: &dyn ChainStore, chain_id: u64, signer: Address) -> Result<Vec<Intent>, StoreError> {
    store
        .sends(chain_id, signer.as_slice())?
        .iter()
        .map(|bytes| serde_json::from_slice(bytes).map_err(codec))
        .collect()
}

/// Removes a finished intent.
pub fn delete(store: &dyn ChainStore, chain_id: u64, signer: Address, nonce: u64) -> Result<(), StoreError> {
    store.delete_send(chain_id, &key(signer, nonce))
}
