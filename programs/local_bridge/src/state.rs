//! The bridge's accounts: its config and the record of each message delivered here.

use anchor_lang::prelude::*;

/// The bridge's state.
#[account]
#[derive(InitSpace)]
pub struct BridgeConfig {
    /// The one mint it bridges.
    pub mint: Pubkey,
    /// The next outgoing nonce.
    pub next_nonce: u64,
    /// The EVM address whose signature of a message's `keccak256` attests it.
    pub attester: [u8; 20],
}

/// A message delivered here: its record exists exactly once per (source domain, nonce).
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Received {
    /// The domain it came from.
    pub source_domain: u32,
    /// Its nonce there.
    pub nonce: u64,
    /// The token account it paid.
    pub mint_recipient: Pubkey,
    /// Base units paid (the burnt amount less the fee).
    pub amount: u64,
    /// The burn's hook data when it is one 32-byte word (the deposit-vault program reads the session's
    /// receiver from it); `None` for no hook or any other length.
    pub hook: Option<[u8; 32]>,
}

/// The seeds of the record of (`source_domain`, `nonce`), after [`RECEIVED_SEED`](crate::RECEIVED_SEED).
pub fn received_key(source_domain: u32, nonce: u64) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..4].copy_from_slice(&source_domain.to_be_bytes());
    key[4..].copy_from_slice(&nonce.to_be_bytes());
    key
}
