//! A devnet stand-in for CCTP's token messenger on Solana. `deposit_for_burn` locks the tokens in a
//! custody account and emits (with `emit_cpi!`) a message in the layout the EVM chains' local CCTP
//! transmitter accepts (`contracts/src/devnet/LocalCCTP.sol`): `abi.encode(version, sourceDomain,
//! destinationDomain, nonce, sender, recipient, destinationCaller, body)` with the burn body
//! `abi.encode(1, burnToken, mintRecipient, amount, depositor, maxFee)`. The devnet attester signs its
//! hash and delivers it to the destination chain, which mints. Solana's CCTP domain is 5.
//!
//! It is not Circle's program (whose accounts differ): production bridging from Solana goes through
//! Circle's TokenMessengerMinter, which the deposit-vault program would call the same way.

use anchor_lang::prelude::*;
use anchor_spl::{
    associated_token::AssociatedToken,
    token::{self, Mint, Token, TokenAccount, TransferChecked},
};

#[cfg(not(target_os = "solana"))]
pub mod ix;
#[cfg(feature = "native")]
pub mod native;

declare_id!("CWD9pZJd7mNZy86embWSJZqY6EGmNk5PawibmUHnGh78");

/// Solana's CCTP domain.
pub const LOCAL_DOMAIN: u32 = 5;
/// Message format version (the EVM transmitter's `VERSION`).
pub const VERSION: u32 = 1;
/// Seed of the config PDA (also the custody account's owner).
pub const CONFIG_SEED: &[u8] = b"config";

/// The bridge's state.
#[account]
#[derive(InitSpace)]
pub struct BridgeConfig {
    /// The one mint it bridges.
    pub mint: Pubkey,
    /// The next outgoing nonce.
    pub next_nonce: u64,
}

fn word(value: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&value.to_be_bytes());
    w
}

/// The message `deposit_for_burn` emits.
pub fn message(
    nonce: u64,
    destination_domain: u32,
    mint: &Pubkey,
    mint_recipient: &[u8; 32],
    amount: u64,
    max_fee: u64,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(6 * 32);
    body.extend_from_slice(&word(1));
    body.extend_from_slice(&mint.to_bytes());
    body.extend_from_slice(mint_recipient);
    body.extend_from_slice(&word(amount));
    body.extend_from_slice(&[0u8; 32]); // depositor: an EVM `address`; none on this side
    body.extend_from_slice(&word(max_fee));
    let mut out = Vec::with_capacity(10 * 32 + body.len());
    out.extend_from_slice(&word(u64::from(VERSION)));
    out.extend_from_slice(&word(u64::from(LOCAL_DOMAIN)));
    out.extend_from_slice(&word(u64::from(destination_domain)));
    out.extend_from_slice(&word(nonce));
    out.extend_from_slice(&crate::ID.to_bytes()); // sender
    out.extend_from_slice(&[0u8; 32]); // recipient: the destination's paired messenger
    out.extend_from_slice(&[0u8; 32]); // destination caller: anyone
    out.extend_from_slice(&word(8 * 32)); // offset of `body`
    out.extend_from_slice(&word(body.len() as u64));
    out.extend_from_slice(&body);
    out
}

#[program]
pub mod local_bridge {
    use super::*;

    /// Creates the config and the custody account for `mint` (the devnet does this once at start).
    pub fn initialize(ctx: Context<Initialize>) -> Result<()> {
        ctx.accounts.config.set_inner(BridgeConfig { mint: ctx.accounts.mint.key(), next_nonce: 0 });
        Ok(())
    }

    /// Locks `amount` from `from` (signed for by `owner`) and emits the message for `destination_domain`.
    pub fn deposit_for_burn(
        ctx: Context<DepositForBurn>,
        amount: u64,
        destination_domain: u32,
        mint_recipient: [u8; 32],
        max_fee: u64,
    ) -> Result<()> {
        require!(amount > 0, BridgeError::ZeroAmount);
        require!(destination_domain != LOCAL_DOMAIN, BridgeError::SameDomain);
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
        let config = &mut ctx.accounts.config;
        let nonce = config.next_nonce;
        config.next_nonce += 1;
        let message = message(nonce, destination_domain, &config.mint, &mint_recipient, amount, max_fee);
        emit_cpi!(MessageSent { nonce, message });
        Ok(())
    }
}

/// A message left Solana; the attester signs `keccak256(message)`.
#[event]
pub struct MessageSent {
    /// Its nonce.
    pub nonce: u64,
    /// The message, in the EVM transmitter's layout.
    pub message: Vec<u8>,
}

/// Accounts of [`local_bridge::initialize`].
#[derive(Accounts)]
pub struct Initialize<'info> {
    /// Pays the rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The config PDA.
    #[account(init, payer = payer, space = 8 + BridgeConfig::INIT_SPACE, seeds = [CONFIG_SEED], bump)]
    pub config: Account<'info, BridgeConfig>,
    /// The bridged mint.
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

/// Accounts of [`local_bridge::deposit_for_burn`].
#[event_cpi]
#[derive(Accounts)]
pub struct DepositForBurn<'info> {
    /// Owner of `from` (a PDA signing through CPI, or a wallet).
    pub owner: Signer<'info>,
    /// Where the tokens come from.
    #[account(mut, token::mint = mint, token::authority = owner)]
    pub from: Account<'info, TokenAccount>,
    /// The config.
    #[account(mut, seeds = [CONFIG_SEED], bump, has_one = mint)]
    pub config: Account<'info, BridgeConfig>,
    /// Custody.
    #[account(mut, associated_token::mint = mint, associated_token::authority = config)]
    pub custody: Account<'info, TokenAccount>,
    /// The bridged mint.
    pub mint: Account<'info, Mint>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
}

/// Why the bridge refused. Append-only.
#[error_code]
pub enum BridgeError {
    /// 6000.
    #[msg("nothing to bridge")]
    ZeroAmount,
    /// 6001.
    #[msg("the destination is this domain")]
    SameDomain,
}
