//! The burn every bridging instruction makes (`bridge`, `refund_home`, `send_back`): Circle's CCTP v2
//! `deposit_for_burn` on the TokenMessengerMinterV2 the cluster's deployment names
//! ([`evm::TOKEN_MESSENGER_MINTER`]), with Circle's 18 accounts, the program's PDA (a vault, or the inbox)
//! signing as the owner of the burnt tokens. The program chooses what the burn says (amount, destination
//! domain, mint recipient, no destination caller, Circle's minimum fee and no more, finalized); the token
//! messenger checks its own accounts (seeds, owners), as it does for any caller.

use anchor_lang::prelude::*;
use token_messenger_minter_v2::{DepositForBurnParams, cpi::accounts::DepositForBurnContext};

use crate::{error::VaultError, evm};

/// Finality a bridging asks for: finalized (Circle's Standard Transfer: no fee beyond Circle's minimum).
/// The largest fee a burn allows, in basis points of its amount (the EVM side's CCTP adapter allows the
/// same): should Circle's minimum fee rise above it, bridgings wait (refused, tried again) rather than pay
/// it. Also the relayer's worst case when it fronts a bridging from Solana.
pub const MAX_FEE_BPS: u64 = 10;
pub const FINALIZED: u32 = 2000;

/// Circle's accounts of `deposit_for_burn` but the four the instruction already has (the burn's owner,
/// its token account, the mint, the token program) and the rent payer (its fee payer).
#[derive(Accounts)]
pub struct CctpBurn<'info> {
    /// A fresh account the transmitter writes the message into: it signs, and the fee payer pays its rent
    /// (Circle's transmitter lets the rent payer reclaim it once the message is attested).
    #[account(mut)]
    pub message_sent_event_data: Signer<'info>,
    /// CHECK: the token messenger's sender authority; the token messenger checks it (seeds).
    pub sender_authority_pda: UncheckedAccount<'info>,
    /// CHECK: the owner's denylist entry; the token messenger checks it (seeds).
    pub denylist_account: UncheckedAccount<'info>,
    /// CHECK: the transmitter's state; the token messenger checks it (owner, type).
    #[account(mut)]
    pub message_transmitter: UncheckedAccount<'info>,
    /// CHECK: the token messenger's state; it checks it (owner, type).
    pub token_messenger: UncheckedAccount<'info>,
    /// CHECK: the destination domain's token messenger; the token messenger checks it (owner, type, the
    /// domain the program asks for).
    pub remote_token_messenger: UncheckedAccount<'info>,
    /// CHECK: the minter's state; the token messenger checks it (owner, type).
    pub token_minter: UncheckedAccount<'info>,
    /// CHECK: the burnt mint's record; the token messenger checks it (seeds).
    #[account(mut)]
    pub local_token: UncheckedAccount<'info>,
    /// CHECK: Circle's MessageTransmitterV2, as the deployment names it.
    #[account(address = evm::MESSAGE_TRANSMITTER)]
    pub message_transmitter_program: UncheckedAccount<'info>,
    /// CHECK: Circle's TokenMessengerMinterV2, as the deployment names it: the program the funds are
    /// handed to, so no caller can choose it.
    #[account(address = evm::TOKEN_MESSENGER_MINTER)]
    pub token_messenger_minter_program: UncheckedAccount<'info>,
    /// CHECK: the token messenger's event authority; it checks it (seeds).
    pub token_messenger_event_authority: UncheckedAccount<'info>,
    /// System program (the transmitter creates the message account).
    pub system_program: Program<'info, System>,
}

impl<'info> CctpBurn<'info> {
    /// The fee a burn of `amount` allows: Circle's minimum (`min_fee` of its token messenger's state, read
    /// from the account given, its owner checked here; the messenger refuses any other in the burn
    /// itself), at most [`MAX_FEE_BPS`]. Circle's messenger refuses a burn that allows less than its
    /// minimum, and its attestation executes at most what the burn allows.
    pub(crate) fn fee(&self, amount: u64) -> Result<u64> {
        require_keys_eq!(*self.token_messenger.owner, evm::TOKEN_MESSENGER_MINTER);
        let state = token_messenger_minter_v2::TokenMessenger::try_deserialize(
            &mut &self.token_messenger.try_borrow_data()?[..],
        )?;
        // Circle's minimum needs at least 2 base units (its own `amount > 1` rule).
        let fee = state.min_fee_amount(amount).map_err(|_| VaultError::BelowCircleMinimum)?;
        require!(
            u128::from(fee) * 10_000 <= u128::from(amount) * u128::from(MAX_FEE_BPS),
            VaultError::FeeAboveCap
        );
        Ok(fee)
    }

    /// Burns `amount` from `burn_token_account` (owned by `owner`, a PDA whose `seeds` sign) for
    /// `mint_recipient` on `destination_domain`, the message's rent paid by `payer`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn burn(
        &self,
        owner: AccountInfo<'info>,
        seeds: &[&[u8]],
        payer: AccountInfo<'info>,
        burn_token_account: AccountInfo<'info>,
        mint: AccountInfo<'info>,
        token_program: AccountInfo<'info>,
        amount: u64,
        destination_domain: u32,
        mint_recipient: [u8; 32],
    ) -> Result<()> {
        // Circle's minimum fee: its messenger refuses a burn that allows less (a vault whose session can
        // only be bridged or refunded home would be stuck), and the program allows no more.
        let max_fee = self.fee(amount)?;
        let accounts = DepositForBurnContext {
            owner,
            event_rent_payer: payer,
            sender_authority_pda: self.sender_authority_pda.to_account_info(),
            burn_token_account,
            denylist_account: self.denylist_account.to_account_info(),
            message_transmitter: self.message_transmitter.to_account_info(),
            token_messenger: self.token_messenger.to_account_info(),
            remote_token_messenger: self.remote_token_messenger.to_account_info(),
            token_minter: self.token_minter.to_account_info(),
            local_token: self.local_token.to_account_info(),
            burn_token_mint: mint,
            message_sent_event_data: self.message_sent_event_data.to_account_info(),
            message_transmitter_program: self.message_transmitter_program.to_account_info(),
            token_messenger_minter_program: self.token_messenger_minter_program.to_account_info(),
            token_program,
            system_program: self.system_program.to_account_info(),
            event_authority: self.token_messenger_event_authority.to_account_info(),
            program: self.token_messenger_minter_program.to_account_info(),
        };
        token_messenger_minter_v2::cpi::deposit_for_burn(
            CpiContext::new_with_signer(evm::TOKEN_MESSENGER_MINTER, accounts, &[seeds]),
            DepositForBurnParams {
                amount,
                destination_domain,
                mint_recipient: Pubkey::new_from_array(mint_recipient),
                destination_caller: Pubkey::default(),
                max_fee,
                min_finality_threshold: FINALIZED,
            },
        )
    }
}
