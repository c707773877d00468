//! `initialize`: the config and custody of the bridge for USDC, by USDC's mint authority only.

use anchor_lang::{prelude::*, solana_program::program_option::COption};
use anchor_spl::{
    associated_token::AssociatedToken,
    token::{Mint, Token, TokenAccount},
};

use crate::{BridgeConfig, CONFIG_SEED, USDC_MINT, error::BridgeError};

/// Accounts of [`local_bridge::initialize`](crate::local_bridge::initialize).
#[derive(Accounts)]
pub struct Initialize<'info> {
    /// Pays the rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The bridged mint's mint authority: only it may pick the attester.
    pub mint_authority: Signer<'info>,
    /// The config PDA.
    #[account(init, payer = payer, space = 8 + BridgeConfig::INIT_SPACE, seeds = [CONFIG_SEED], bump)]
    pub config: Account<'info, BridgeConfig>,
    /// The bridged mint: [`USDC_MINT`], whose mint authority signs.
    #[account(
        address = USDC_MINT @ BridgeError::UnsupportedMint,
        constraint = mint.mint_authority == COption::Some(mint_authority.key()) @ BridgeError::NotMintAuthority,
    )]
    pub mint: Account<'info, Mint>,
    /// Custody: the config's associated token account.
    #[account(init, payer = payer, associated_token::mint = mint, associated_token::authority = config)]
    pub custody: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

impl Initialize<'_> {
    /// Creates the config and the custody account for [`USDC_MINT`], trusting `attester`'s signatures (the
    /// devnet does this once at start). Only the mint's mint authority may (the account constraints):
    /// whoever initializes picks the attester, whose signatures release custody, so a first-caller-wins
    /// `initialize` would let anyone take a bridge for a mint they do not control.
    pub fn initialize(ctx: Context<Initialize>, attester: [u8; 20]) -> Result<()> {
        ctx.accounts.config.set_inner(BridgeConfig { mint: ctx.accounts.mint.key(), attester });
        Ok(())
    }
}
