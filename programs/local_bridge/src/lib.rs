//! A devnet stand-in for CCTP's token messenger on Solana, receiving side only, speaking Circle's CCTP v2
//! message format (`MessageV2` and `BurnMessageV2`, byte for byte: [`mod@message`]). Solana's CCTP domain
//! is 5. What leaves Solana goes through the stand-ins of Circle's own programs (programs/cctp), as the
//! deposit-vault program burns through Circle's TokenMessengerMinterV2 on every cluster.
//!
//! `receive_message` takes an attested message from an EVM chain's local CCTP (checked
//! as Circle's MessageTransmitterV2 checks attestations), once per nonce: it releases the burnt amount
//! less the fee the attestation executed from custody to the message's mint recipient, and records what
//! arrived in a `Received` account that programs receiving through a fixed inbox (the deposit-vault
//! program) read to learn who the transfer was for (the burn's hook data).
//!
//! Its accounts and instructions are not Circle's (programs/cctp holds stand-ins with Circle's
//! interface; issue 24 moves the inbox onto Circle's MessageTransmitterV2 next).
//!
//! Layout: `lib.rs` only dispatches; [`constants`], [`state`], [`mod@message`] (the layout), [`instructions`],
//! [`events`], [`mod@error`], `ix` (the instructions built off chain).

use anchor_lang::prelude::*;

pub mod constants;
pub mod error;
pub mod events;
pub mod instructions;
#[cfg(not(target_os = "solana"))]
pub mod ix;
pub mod message;
#[cfg(feature = "native")]
pub mod native;
pub mod state;

pub use constants::*;
pub use error::*;
pub use events::*;
pub use instructions::*;
pub use message::Incoming;
pub use state::*;

declare_id!("21c1vhVU6a2qVzQvzWKQSM8XFwQPMh8iusmgQAafAdHx");

/// The instructions; each handler lives with its accounts in [`instructions`].
#[program]
pub mod local_bridge {
    use super::*;

    /// See [`Initialize::initialize`].
    pub fn initialize(ctx: Context<Initialize>, attester: [u8; 20]) -> Result<()> {
        Initialize::initialize(ctx, attester)
    }

    /// See [`ReceiveMessage::receive_message`].
    pub fn receive_message(
        ctx: Context<ReceiveMessage>,
        message: Vec<u8>,
        attestation: Vec<u8>,
    ) -> Result<()> {
        ReceiveMessage::receive_message(ctx, message, attestation)
    }
}
