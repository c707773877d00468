//! What the bridge reports, through `emit_cpi!`.

use anchor_lang::prelude::*;

use crate::Received;

/// A message left Solana; the attester fills in its nonce and executed fields and signs
/// `keccak256` of the result.
#[event]
pub struct MessageSent {
    /// The message, in Circle's format, as the source writes it.
    pub message: Vec<u8>,
}

/// A message was delivered here.
#[event]
pub struct MessageReceived {
    /// What its record holds.
    pub received: Received,
}
