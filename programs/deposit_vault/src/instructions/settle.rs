//! `settle`: a Solana destination's funds from its vault to the committed recipient.

use anchor_lang::prelude::*;
use anchor_spl::{
    associated_token::AssociatedToken,
    token_interface::{Mint, TokenAccount, TokenInterface},
};

use super::vault_move::Moved;
use crate::{DepositParams, VAULT_SEED, error::VaultError, events::Settled, state::require_solana_key};

/// Accounts of [`deposit_vault::settle`](crate::deposit_vault::settle).
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct Settle<'info> {
    /// Pays the fee, and the recipient token account's rent if it does not exist yet.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: holds no data and only signs, inside this program; its address is checked against the seeds,
    /// which are the hash of `params`, so the params cannot be other than what the vault committed to.
    #[account(seeds = [VAULT_SEED, params.hash().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// The session's token (checked against `params.to_token`); SPL Token or Token-2022.
    pub mint: InterfaceAccount<'info, Mint>,
    /// The deposit address: the vault's associated token account for `mint`.
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = vault,
        associated_token::token_program = token_program,
    )]
    pub vault_token: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: only names the owner of `recipient_token`; checked against `params.to_address`.
    pub recipient: UncheckedAccount<'info>,
    /// The recipient's associated token account.
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = recipient,
        associated_token::token_program = token_program,
    )]
    pub recipient_token: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: receives the closed vault token account's lamports; checked against the session's Solana
    /// refund target (which exists for every session that settles: its recipient is a Solana key).
    #[account(mut)]
    pub rent_to: UncheckedAccount<'info>,
    /// The mint's token program (SPL Token or Token-2022).
    pub token_program: Interface<'info, TokenInterface>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

impl Settle<'_> {
    fn validate(&self, params: &DepositParams) -> Result<()> {
        // An EVM destination is reached by bridging; delivering its funds here would break the commitment.
        require!(params.delivers_on_solana(), VaultError::NotSolanaDestination);
        // No final call can run on Solana: such a session is only ever refunded.
        require!(params.final_call.is_empty(), VaultError::FinalCallUnsupported);
        require_keys_eq!(self.mint.key(), Pubkey::new_from_array(params.to_token), VaultError::WrongMint);
        require!(!params.expired()?, VaultError::Expired);
        let recipient = require_solana_key(&params.to_address)?;
        require_keys_eq!(self.recipient.key(), recipient, VaultError::WrongRecipient);
        let rent_to = params.solana_refund_target().ok_or(VaultError::NoSolanaRefundTarget)?;
        require_keys_eq!(self.rent_to.key(), rent_to, VaultError::WrongRecipient);
        require!(self.vault_token.amount > 0, VaultError::NothingToMove);
        // Nothing starts below the committed minimum (a dust deposit cannot stand for the payment).
        require!(params.meets_minimum(self.vault_token.amount), VaultError::BelowMinimum);
        Ok(())
    }

    /// Delivers the vault's whole balance of the session's token to the committed recipient's associated
    /// token account (created if missing, paid by the caller), before expiry and once the vault holds at
    /// least `min_amount`; then closes the vault token account, its rent to the Solana refund target.
    #[access_control(ctx.accounts.validate(&params))]
    pub fn settle(ctx: Context<Settle>, params: DepositParams) -> Result<()> {
        let accounts = &ctx.accounts;
        let moved = Moved::new(&params, ctx.bumps.vault, &accounts.vault_token, &accounts.mint)?;
        let to = accounts.recipient_token.to_account_info();
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
            accounts.recipient_token.key(),
            Some(accounts.rent_to.to_account_info()),
        )?;
        emit_cpi!(Settled { event });
        Ok(())
    }
}
