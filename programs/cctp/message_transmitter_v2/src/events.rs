//! What the transmitter reports, through `emit_cpi!` (Circle's `MessageReceived`).

use anchor_lang::prelude::*;

/// An attested message was received and handed to its recipient program.
#[event]
pub struct MessageReceived {
    /// Who delivered it.
    pub caller: Pubkey,
    /// The domain it came from.
    pub source_domain: u32,
    /// Its nonce (assigned by the attester).
    pub nonce: [u8; 32],
    /// The sending program or contract.
    pub sender: Pubkey,
    /// The finality it was attested at.
    pub finality_threshold_executed: u32,
    /// Its body.
    pub message_body: Vec<u8>,
}
