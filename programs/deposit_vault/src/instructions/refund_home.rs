//! `refund_home`: the bridged mint of a session with no Solana refund target, through the bridge to the
//! session's receiver on its EVM destination chain, where the router refunds it.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::{bridge::burn_out, cctp::*, vault_move::Moved};
use crate::{DepositParams, VAULT_SEED, error::VaultError, events::RefundedHome, evm};

/// Accounts of [`deposit_vault::refund_home`](crate::deposit_vault::refund_home).
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct RefundHome<'info> {
    /// Pays the fee.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: as in [`Settle::vault`](super::Settle::vault).
    #[account(seeds = [VAULT_SEED, params.hash().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// The bridged mint ([`evm::BRIDGED_MINT`]; its supply falls by the burn).
    #[account(mut)]
    pub mint: InterfaceAccount<'info, Mint>,
    /// The vault's associated token account for `mint`.
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = vault,
        associated_token::token_program = token_program,
    )]
    pub vault_token: InterfaceAccount<'info, TokenAccount>,
    /// Circle's CCTP v2 accounts of the burn.
    pub cctp: CctpBurn<'info>,
    /// SPL Token (the bridge takes the classic program only).
    pub token_program: Interface<'info, TokenInterface>,
}

impl<'info> RefundHome<'info> {
    fn validate(&self, params: &DepositParams) -> Result<()> {
        // Where the session names a Solana account, refunds go there (`refund`), never through a bridge.
        require!(params.solana_refund_target().is_none(), VaultError::HasSolanaRefundTarget);
        require!(evm::route(&params.to_chain_id).is_some(), VaultError::UnsupportedChain);
        require_keys_eq!(self.mint.key(), evm::BRIDGED_MINT, VaultError::NotBridgedMint);
        // The router there must have somewhere to refund it, or it would send it home again: here.
        require!(params.evm_refund_target().is_some(), VaultError::DestinationCannotRefund);
        // A refund: after expiry (when the router there only refunds), or at any time when the session can
        // never bridge (what arrives there is then a token it cannot use, which the router refunds at once).
        // Before that, a usable deposit is bridged by `bridge`, with its timing and minimum checks.
        require!(params.expired()? || params.bridge_route().is_err(), VaultError::NotRefundable);
        require!(self.vault_token.amount > 0, VaultError::NothingToMove);
        Ok(())
    }

    /// Sends the vault's whole balance of the bridged mint through the bridge to the session's receiver on
    /// its EVM destination chain, where the router refunds it to the EVM refund target (`refund_address`,
    /// else `to_address`). Only for a session with no Solana refund target (nothing else can ever empty
    /// such a vault); after expiry, or at any time when the session cannot be bridged. The vault token
    /// account stays open: the session names no Solana account for its rent. Other mints in such a vault
    /// stay there (no route carries them, and no Solana account may receive them).
    #[access_control(ctx.accounts.validate(&params))]
    pub fn refund_home(ctx: Context<RefundHome>, params: DepositParams) -> Result<()> {
        let domain = evm::cctp_domain(&params.to_chain_id).ok_or(VaultError::UnsupportedChain)?;
        let accounts = &ctx.accounts;
        let moved = Moved::new(&params, ctx.bumps.vault, &accounts.vault_token, &accounts.mint)?;
        let (event, recipient) = burn_out(
            &accounts.cctp,
            moved,
            &accounts.payer,
            &accounts.vault,
            &accounts.vault_token,
            &accounts.mint,
            &accounts.token_program,
            domain,
            None,
        )?;
        emit_cpi!(RefundedHome { event, destination_domain: domain, mint_recipient: recipient });
        Ok(())
    }
}
