//! What the bridge reports, through `emit_cpi!`.

use anchor_lang::prelude::*;

use crate::Received;

/// A message left Solana; the attester signs `keccak256(message)`.
#[event]
pub struct MessageSent {
    /// Its nonce.
    pub nonce: u64,
    /// The message, in the EVM transmitter's layout.
    pub message: Vec<u8>,
}

/// A message was delivered here.
#[event]
pub struct MessageReceived {
    /// What its record holds.
    pub received: Received,
}
