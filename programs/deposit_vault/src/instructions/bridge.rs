//! `bridge`: an EVM destination's funds from its vault through the bridge to the session's receiver on the
//! destination chain.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::{cctp::*, vault_move::Moved};
use crate::{
    BRIDGE_DELIVERY_SECS, DepositParams, VAULT_SEED,
    error::VaultError,
    events::{Bridged, VaultEvent},
    evm,
};

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
    /// CHECK: receives the closed vault token account's lamports; checked against the session's Solana
    /// refund target. Absent when the session has none (the account then stays open).
    #[account(mut)]
    pub rent_to: Option<UncheckedAccount<'info>>,
    /// Circle's CCTP v2 accounts of the burn.
    pub cctp: CctpBurn<'info>,
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
        // may join it, or where it is refunded after expiry. What arrives is the balance less the fee.
        let arriving = self.vault_token.amount.saturating_sub(self.cctp.fee(self.vault_token.amount)?);
        require!(params.meets_minimum(arriving), VaultError::BelowMinimum);
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
        let (event, recipient) = burn_out(
            &accounts.cctp,
            moved,
            &accounts.payer,
            &accounts.vault,
            &accounts.vault_token,
            &accounts.mint,
            &accounts.token_program,
            domain,
            accounts.rent_to.as_ref().map(|a| a.to_account_info()),
        )?;
        emit_cpi!(Bridged { event, destination_domain: domain, mint_recipient: recipient });
        Ok(())
    }
}

/// The whole of `moved` burnt through CCTP for the session's receiver on `domain` (the vault signing, the
/// message's rent paid by `payer`), then the vault token account closed to `rent_to` when there is one:
/// what the move was, and the receiver it was for.
#[allow(clippy::too_many_arguments)]
pub(crate) fn burn_out<'info>(
    cctp: &CctpBurn<'info>,
    moved: Moved,
    payer: &Signer<'info>,
    vault: &UncheckedAccount<'info>,
    vault_token: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    domain: u32,
    rent_to: Option<AccountInfo<'info>>,
) -> Result<(VaultEvent, [u8; 32])> {
    let recipient = evm::receiver_word(&moved.hash);
    cctp.burn(
        vault.to_account_info(),
        &moved.seeds(),
        payer.to_account_info(),
        vault_token.to_account_info(),
        mint.to_account_info(),
        token_program.to_account_info(),
        moved.amount,
        domain,
        recipient,
    )?;
    let event =
        moved.finish(token_program, vault, mint, vault_token, evm::TOKEN_MESSENGER_MINTER, rent_to)?;
    Ok((event, recipient))
}
