//! `deposit_for_burn`: tokens locked in custody, and the message for the destination chain emitted.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::{
    BridgeConfig, CONFIG_SEED, LOCAL_DOMAIN, error::BridgeError, events::MessageSent, message::message,
};

/// Accounts of [`local_bridge::deposit_for_burn`](crate::local_bridge::deposit_for_burn).
#[event_cpi]
#[derive(Accounts)]
pub struct DepositForBurn<'info> {
    /// Owner of `from` (a PDA signing through CPI, or a wallet).
    pub owner: Signer<'info>,
    /// Where the tokens come from.
    #[account(mut, token::mint = mint, token::authority = owner)]
    pub from: Account<'info, TokenAccount>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump, has_one = mint)]
    pub config: Account<'info, BridgeConfig>,
    /// Custody.
    #[account(mut, associated_token::mint = mint, associated_token::authority = config)]
    pub custody: Account<'info, TokenAccount>,
    /// The bridged mint.
    pub mint: Account<'info, Mint>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
}

impl DepositForBurn<'_> {
    fn validate(&self, amount: u64, destination_domain: u32, max_fee: u64) -> Result<()> {
        require!(amount > 0, BridgeError::ZeroAmount);
        // Circle's rule (`max_fee < amount`): the recipient always gets something.
        require!(max_fee < amount, BridgeError::FeeNotBelowAmount);
        require!(destination_domain != LOCAL_DOMAIN, BridgeError::SameDomain);
        Ok(())
    }

    /// Locks `amount` from `from` (signed for by `owner`) and emits the message for `destination_domain`.
    #[access_control(ctx.accounts.validate(amount, destination_domain, max_fee))]
    pub fn deposit_for_burn(
        ctx: Context<DepositForBurn>,
        amount: u64,
        destination_domain: u32,
        mint_recipient: [u8; 32],
        max_fee: u64,
    ) -> Result<()> {
        token::transfer_checked(
            CpiContext::new(
                ctx.accounts.token_program.key(),
                TransferChecked {
                    from: ctx.accounts.from.to_account_info(),
                    mint: ctx.accounts.mint.to_account_info(),
                    to: ctx.accounts.custody.to_account_info(),
                    authority: ctx.accounts.owner.to_account_info(),
                },
            ),
            amount,
            ctx.accounts.mint.decimals,
        )?;
        let accounts = &ctx.accounts;
        let message = message(
            destination_domain,
            &accounts.mint.key(),
            &accounts.owner.key(),
            &mint_recipient,
            amount,
            max_fee,
        );
        emit_cpi!(MessageSent { message });
        Ok(())
    }
}
