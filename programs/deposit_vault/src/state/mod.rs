//! What the program keeps and what it is given: the session commitment ([`DepositParams`]), the record of
//! a transfer Circle's transmitter delivered ([`Received`]) and the claim record that consumes one.

use anchor_lang::prelude::*;

mod params;

pub use params::*;

/// A transfer Circle's transmitter delivered, as its attested message says (written by `record`, once
/// per nonce): what the inbox instructions will read.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Received {
    /// The domain it came from.
    pub source_domain: u32,
    /// Its nonce (Circle's: unique across domains).
    pub nonce: [u8; 32],
    /// The token account Circle's token messenger paid.
    pub mint_recipient: Pubkey,
    /// Base units paid (the burnt amount less the fee executed).
    pub amount: u64,
    /// The burn's hook data when it is one 32-byte word (the session's EVM receiver); `None` for no
    /// hook or any other length.
    pub hook: Option<[u8; 32]>,
}

/// Marks one bridge message as consumed; holds nothing.
#[account]
#[derive(InitSpace)]
pub struct ClaimRecord {}
