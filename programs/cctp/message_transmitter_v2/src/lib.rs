//! The devnet's stand-in for Circle's CCTP v2 **MessageTransmitterV2** on Solana, at Circle's program id
//! (`CCTPV2Sm4AdWt5296sk4P66VBZ7bEhcARwFaaS9YPbeC`) and with its interface, read from Circle's published
//! sources (circlefin/solana-cctp-contracts, `programs/v2/message-transmitter-v2`, the commit deployed on
//! mainnet; `programs/CCTP_V2_SPEC.md` in this repository has the details): the same account lists, flags
//! and constraints, instruction data, state layouts and discriminators, events and message format, so a
//! program that CPIs into it runs the very instruction it runs on mainnet.
//!
//! - [`send_message`](message_transmitter_v2::send_message): called by a sender program (the token
//!   messenger) signing its `sender_authority` PDA; writes the message, with a zero nonce, into a fresh
//!   `MessageSent` account (the account *is* the event; the attester reads it).
//! - [`receive_message`](message_transmitter_v2::receive_message): an attested message for this domain,
//!   once per nonce (its `used_nonce` PDA is created), delivered by its `destination_caller` if it names one,
//!   handed to its recipient program's `handle_receive_(un)finalized_message` with this program's
//!   `message_transmitter_authority` PDA as signer.
//!
//! What it is not: Circle's attestation service (Iris) assigns nonces and signs; on the devnet the devnet's
//! attester does, with its own keys enabled in the state account the devnet writes. The admin
//! instructions (owner, attester manager, pauser, reclaiming event accounts) are not reproduced: the devnet
//! writes the state account directly. Error codes keep Circle's names, not its numbers.

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod instructions;
pub mod message;
#[cfg(feature = "native")]
pub mod native;
pub mod state;

pub use error::*;
pub use events::*;
pub use instructions::*;
pub use state::*;

declare_id!("CCTPV2Sm4AdWt5296sk4P66VBZ7bEhcARwFaaS9YPbeC");

/// The instructions; each handler lives with its accounts in [`instructions`].
#[program]
pub mod message_transmitter_v2 {
    use super::*;

    /// See [`SendMessageContext::send_message`].
    pub fn send_message(ctx: Context<SendMessageContext>, params: SendMessageParams) -> Result<()> {
        SendMessageContext::send_message(ctx, params)
    }

    /// See [`ReceiveMessageContext::receive_message`].
    pub fn receive_message<'info>(
        ctx: Context<'info, ReceiveMessageContext<'info>>,
        params: ReceiveMessageParams,
    ) -> Result<()> {
        ReceiveMessageContext::receive_message(ctx, params)
    }
}
