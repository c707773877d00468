//! `bridge`: an EVM destination's funds from its vault through the bridge to the session's receiver on the
//! destination chain.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::vault_move::Moved;
use crate::{BRIDGE_DELIVERY_SECS, DepositParams, VAULT_SEED, error::VaultError, events::Bridged, evm};

/// Accounts of [`deposit_vault::bridge`](crate::deposit_vault::bridge).
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct Bridge<'info> {
    /// Pays the fee.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: as in [`Settle::vault`](super::Settle::vault).
    #[account(seeds = [VAULT_SEED, params.hash().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// The bridged mint ([`evm::BRIDGED_MINT`]).
    pub mint: InterfaceAccount<'info, Mint>,
    /// The vault's associated token account for `mint`.
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = vault,
        associated_token::token_program = token_program,
    )]
    pub vault_token: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: receives the closed vault token account's lamports; checked against the session's Solana
    /// refund target. Absent when the session has none (the account then stays open).
    #[account(mut)]
    pub rent_to: Option<UncheckedAccount<'info>>,
    /// CHECK: the bridge's config; the bridge program checks it (seeds, mint).
    #[account(mut)]
    pub bridge_config: UncheckedAccount<'info>,
    /// CHECK: the bridge's custody; the bridge program checks it (its config's token account).
    #[account(mut)]
    pub bridge_custody: UncheckedAccount<'info>,
    /// CHECK: the bridge's event authority; the bridge program checks it.
    pub bridge_event_authority: UncheckedAccount<'info>,
    /// The bridge (only this program id).
    pub bridge_program: Program<'info, local_bridge::program::LocalBridge>,
    /// SPL Token (the bridge takes the classic program only).
    pub token_program: Interface<'info, TokenInterface>,
}

impl<'info> Bridge<'info> {
    fn validate(&self, params: &DepositParams) -> Result<()> {
        // Only what the destination can deliver (its token is what the bridge mints there) and refund.
        params.bridge_route()?;
        require_keys_eq!(self.mint.key(), evm::BRIDGED_MINT, VaultError::NotBridgedMint);
        // Funds must arrive before the session expires, or only a refund remains there.
        require!(!params.expired()?, VaultError::Expired);
        let now = u64::try_from(Clock::get()?.unix_timestamp).unwrap_or(0);
        require!(now.saturating_add(BRIDGE_DELIVERY_SECS) <= params.expires_at, VaultError::TooLateToBridge);
        let rent_to = self.rent_to.as_ref().map(|a| a.key());
        require!(rent_to == params.solana_refund_target(), VaultError::WrongRecipient);
        require!(self.vault_token.amount > 0, VaultError::NothingToMove);
        // Below the minimum the destination would not start the session: keep it here, where more deposits
        // may join it, or where it is refunded after expiry.
        require!(params.meets_minimum(self.vault_token.amount), VaultError::BelowMinimum);
        Ok(())
    }

    /// Sends the vault's whole balance of the bridged mint through the bridge's token messenger to the
    /// session's receiver on its EVM destination chain, then closes the vault token account (its rent to
    /// the session's Solana refund target; left open when there is none). The destination domain and the
    /// mint recipient follow from the params; the caller chooses neither. A session with a final call is
    /// bridged too: the router there runs the call once `min_amount` is there, and bounces to the EVM
    /// refund target (`refund_address`, else `to_address`) if it fails.
    #[access_control(ctx.accounts.validate(&params))]
    pub fn bridge(ctx: Context<Bridge>, params: DepositParams) -> Result<()> {
        let domain = params.bridge_route()?;
        let accounts = &ctx.accounts;
        let moved = Moved::new(&params, ctx.bumps.vault, &accounts.vault_token, &accounts.mint)?;
        let recipient = evm::receiver_word(&moved.hash);
        burn(&moved, accounts.to_burn(), domain, recipient)?;
        let event = moved.finish(
            &accounts.token_program,
            &accounts.vault,
            &accounts.mint,
            &accounts.vault_token,
            accounts.bridge_custody.key(),
            accounts.rent_to.as_ref().map(|a| a.to_account_info()),
        )?;
        emit_cpi!(Bridged { event, destination_domain: domain, mint_recipient: recipient });
        Ok(())
    }

    fn to_burn(&self) -> local_bridge::cpi::accounts::DepositForBurn<'info> {
        burn_accounts(
            &self.vault,
            &self.vault_token,
            &self.mint,
            &self.token_program,
            &self.bridge_config,
            &self.bridge_custody,
            &self.bridge_event_authority,
            &self.bridge_program,
        )
    }
}

/// The bridge's `deposit_for_burn` accounts for a burn out of a vault token account.
#[allow(clippy::too_many_arguments)]
pub(crate) fn burn_accounts<'info>(
    vault: &UncheckedAccount<'info>,
    vault_token: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    config: &UncheckedAccount<'info>,
    custody: &UncheckedAccount<'info>,
    event_authority: &UncheckedAccount<'info>,
    program: &Program<'info, local_bridge::program::LocalBridge>,
) -> local_bridge::cpi::accounts::DepositForBurn<'info> {
    local_bridge::cpi::accounts::DepositForBurn {
        owner: vault.to_account_info(),
        from: vault_token.to_account_info(),
        config: config.to_account_info(),
        custody: custody.to_account_info(),
        mint: mint.to_account_info(),
        token_program: token_program.to_account_info(),
        event_authority: event_authority.to_account_info(),
        program: program.to_account_info(),
    }
}

/// The whole of `moved` into the bridge, for `recipient` on `domain`, the vault signing.
pub(crate) fn burn<'info>(
    moved: &Moved,
    accounts: local_bridge::cpi::accounts::DepositForBurn<'info>,
    domain: u32,
    recipient: [u8; 32],
) -> Result<()> {
    local_bridge::cpi::deposit_for_burn(
        CpiContext::new_with_signer(local_bridge::ID, accounts, &[&moved.seeds()]),
        moved.amount,
        domain,
        recipient,
        0,
    )
}
