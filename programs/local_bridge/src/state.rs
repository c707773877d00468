//! The bridge's accounts: its config and the record of each message delivered here.

use anchor_lang::prelude::*;

/// The bridge's state.
#[account]
#[derive(InitSpace)]
pub struct BridgeConfig {
    /// The one mint it bridges.
    pub mint: Pubkey,
    /// The EVM address whose signature of a message's `keccak256` attests it.
    pub attester: [u8; 20],
}

/// A message delivered here: its record exists exactly once per nonce (the attester's, unique across
/// domains as Circle's are).
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Received {
    /// The domain it came from.
    pub source_domain: u32,
    /// The nonce the attester gave it.
    pub nonce: [u8; 32],
    /// The token account it paid.
    pub mint_recipient: Pubkey,
    /// Base units paid (the burnt amount less the fee the attestation executed).
    pub amount: u64,
    /// The burn's hook data when it is one 32-byte word (the deposit-vault program reads the session's
    /// receiver from it); `None` for no hook or any other length.
    pub hook: Option<[u8; 32]>,
}
