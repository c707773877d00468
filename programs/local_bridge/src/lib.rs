//! A devnet stand-in for CCTP's token messenger on Solana. `deposit_for_burn` locks the tokens in a
//! custody account and emits (with `emit_cpi!`) a message in the layout the EVM chains' local CCTP
//! transmitter accepts (`contracts/src/devnet/LocalCCTP.sol`): `abi.encode(version, sourceDomain,
//! destinationDomain, nonce, sender, recipient, destinationCaller, body)` with the burn body
//! `abi.encode(1, burnToken, mintRecipient, amount, depositor, maxFee)`. The devnet attester signs its
//! hash and delivers it to the destination chain, which mints. Solana's CCTP domain is 5.
//!
//! The other way, `receive_message` takes a message from an EVM chain's local CCTP with the attester's
//! secp256k1 signature of its hash, once per (source domain, nonce): it releases the burnt amount (less
//! the fee the burn allowed, as the EVM side charges) from custody to the message's mint recipient, and
//! records what arrived in a `Received` account that programs receiving through a fixed inbox (the
//! deposit-vault program) read to learn who the transfer was for (the burn's hook data).
//!
//! It is not Circle's program (whose accounts differ): production bridging from Solana goes through
//! Circle's TokenMessengerMinter, which the deposit-vault program would call the same way.
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
pub use message::{Incoming, message, signer_of};
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
        attestation: [u8; 65],
    ) -> Result<()> {
        ReceiveMessage::receive_message(ctx, message, attestation)
    }

    /// See [`DepositForBurn::deposit_for_burn`].
    pub fn deposit_for_burn(
        ctx: Context<DepositForBurn>,
        amount: u64,
        destination_domain: u32,
        mint_recipient: [u8; 32],
        max_fee: u64,
    ) -> Result<()> {
        DepositForBurn::deposit_for_burn(ctx, amount, destination_domain, mint_recipient, max_fee)
    }
}
