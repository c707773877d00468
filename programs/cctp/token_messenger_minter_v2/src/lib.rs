//! The devnet's stand-in for Circle's CCTP v2 **TokenMessengerMinterV2** on Solana, at Circle's program id
//! (`CCTPV2vPZJS2u2BBsUoscuikbYjnpFmbFsvVuJdgUMQe`) and with its interface, read from Circle's published
//! sources (`programs/v2/token-messenger-minter-v2`; `programs/CCTP_V2_SPEC.md`): the same account lists,
//! flags and constraints, instruction data, state layouts and discriminators, and events.
//!
//! - [`deposit_for_burn`](token_messenger_minter_v2::deposit_for_burn) and
//!   [`deposit_for_burn_with_hook`](token_messenger_minter_v2::deposit_for_burn_with_hook): burn the
//!   owner's tokens and send the burn message through the transmitter (signing the `sender_authority`
//!   PDA), to the remote token messenger registered for the destination domain.
//! - [`handle_receive_finalized_message`](token_messenger_minter_v2::handle_receive_finalized_message) and
//!   [`handle_receive_unfinalized_message`](token_messenger_minter_v2::handle_receive_unfinalized_message):
//!   called by the transmitter only (its authority PDA signs) with an attested burn from a registered
//!   remote token messenger; pays the amount less the fee executed from custody to the mint recipient
//!   and the fee to the fee recipient. As on Circle's program, nothing is minted: custody is funded, and
//!   the hook data is not executed.
//!
//! What it is not: the admin instructions (token controller, pauser, denylister, min fee controller,
//! linking tokens, burn limits) are not reproduced: the devnet writes the state accounts directly. Error
//! codes keep Circle's names, not its numbers.

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod instructions;
#[cfg(not(target_os = "solana"))]
pub mod ix;
#[cfg(feature = "native")]
pub mod native;
pub mod state;

pub use error::*;
pub use events::*;
pub use instructions::*;
pub use message_transmitter_v2::HandleReceiveMessageParams;
pub use state::*;

declare_id!("CCTPV2vPZJS2u2BBsUoscuikbYjnpFmbFsvVuJdgUMQe");

/// The instructions; each handler lives with its accounts in [`instructions`].
#[program]
pub mod token_messenger_minter_v2 {
    use super::*;

    /// See [`DepositForBurnContext::deposit_for_burn`].
    pub fn deposit_for_burn(ctx: Context<DepositForBurnContext>, params: DepositForBurnParams) -> Result<()> {
        DepositForBurnContext::deposit_for_burn(ctx, params)
    }

    /// See [`DepositForBurnContext::deposit_for_burn_with_hook`].
    pub fn deposit_for_burn_with_hook(
        ctx: Context<DepositForBurnContext>,
        params: DepositForBurnWithHookParams,
    ) -> Result<()> {
        DepositForBurnContext::deposit_for_burn_with_hook(ctx, params)
    }

    /// See [`HandleReceiveMessageContext::handle_receive_message`] (finality 2000 and above).
    pub fn handle_receive_finalized_message(
        ctx: Context<HandleReceiveMessageContext>,
        params: HandleReceiveMessageParams,
    ) -> Result<()> {
        HandleReceiveMessageContext::handle_receive_message(ctx, params)
    }

    /// See [`HandleReceiveMessageContext::handle_receive_message`] (a fast transfer: finality at least 500).
    pub fn handle_receive_unfinalized_message(
        ctx: Context<HandleReceiveMessageContext>,
        params: HandleReceiveMessageParams,
    ) -> Result<()> {
        require!(
            params.finality_threshold_executed >= MIN_FINALITY_THRESHOLD,
            TokenMessengerError::UnsupportedFinalityThreshold
        );
        HandleReceiveMessageContext::handle_receive_message(ctx, params)
    }
}
