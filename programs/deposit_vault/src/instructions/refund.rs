//! `refund`: a vault's funds to the session's Solana refund target.

use anchor_lang::prelude::*;
use anchor_spl::{
    associated_token::AssociatedToken,
    token_interface::{Mint, TokenAccount, TokenInterface},
};

use super::vault_move::Moved;
use crate::{DepositParams, VAULT_SEED, error::VaultError, events::Refunded};

/// Accounts of [`deposit_vault::refund`](crate::deposit_vault::refund).
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct Refund<'info> {
    /// Pays the fee, and the refund token account's rent if it does not exist yet.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: as in [`Settle::vault`](super::Settle::vault).
    #[account(seeds = [VAULT_SEED, params.hash().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// The mint refunded (any, of SPL Token or Token-2022).
    pub mint: InterfaceAccount<'info, Mint>,
    /// The vault's associated token account for `mint`.
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = vault,
        associated_token::token_program = token_program,
    )]
    pub vault_token: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: the session's Solana refund target (checked against the params); owns `refund_token` and
    /// receives the closed vault token account's lamports.
    #[account(mut)]
    pub refund_owner: UncheckedAccount<'info>,
    /// The refund target's associated token account.
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = refund_owner,
        associated_token::token_program = token_program,
    )]
    pub refund_token: InterfaceAccount<'info, TokenAccount>,
    /// The mint's token program (SPL Token or Token-2022).
    pub token_program: Interface<'info, TokenInterface>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

impl Refund<'_> {
    fn validate(&self, params: &DepositParams) -> Result<()> {
        // Before expiry only what the session can never use: refunding a usable deposit early would cancel
        // a payment the payer meant to make.
        require!(params.expired()? || !params.can_use(&self.mint.key()), VaultError::NotRefundable);
        let target = params.solana_refund_target().ok_or(VaultError::NoSolanaRefundTarget)?;
        require_keys_eq!(self.refund_owner.key(), target, VaultError::WrongRecipient);
        Ok(())
    }

    /// Sends the vault's whole balance of `mint` to the session's Solana refund target's associated token
    /// account (created if missing, paid by the caller), then closes the vault token account, its rent to
    /// the same target. Allowed after expiry for any mint, and at any time for a mint the session can never
    /// use ([`DepositParams::can_use`]).
    #[access_control(ctx.accounts.validate(&params))]
    pub fn refund(ctx: Context<Refund>, params: DepositParams) -> Result<()> {
        let accounts = &ctx.accounts;
        let moved = Moved::new(&params, ctx.bumps.vault, &accounts.vault_token, &accounts.mint)?;
        let to = accounts.refund_token.to_account_info();
        moved.transfer(
            &accounts.token_program,
            &accounts.vault,
            &accounts.mint,
            &accounts.vault_token,
            to,
        )?;
        let event = moved.finish(
            &accounts.token_program,
            &accounts.vault,
            &accounts.mint,
            &accounts.vault_token,
            accounts.refund_token.key(),
            Some(accounts.refund_owner.to_account_info()),
        )?;
        emit_cpi!(Refunded { event });
        Ok(())
    }
}
