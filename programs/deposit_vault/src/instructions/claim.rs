//! `claim`: one transfer bridged in from an EVM chain, from the inbox to the session's Solana recipient.

use anchor_lang::prelude::*;
use anchor_spl::{
    associated_token::AssociatedToken,
    token::{self, Mint, Token, TokenAccount, TransferChecked},
};

use super::inbound::Inbound;
use crate::{
    CLAIMED_SEED, DepositParams, INBOX_SEED, RECEIVED_SEED, Received, error::VaultError, events::Claimed,
    state::ClaimRecord, state::require_solana_key,
};

/// Accounts of [`deposit_vault::claim`](crate::deposit_vault::claim).
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct Claim<'info> {
    /// Pays the fee, the claim record's rent, and the recipient token account's if it does not exist yet.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The program's record of the transfer (owned by this program: only `record` writes one, from a
    /// message Circle's transmitter delivered and its attesters signed), at its own address (the PDA of
    /// its nonce).
    #[account(seeds = [RECEIVED_SEED, received.nonce.as_ref()], bump)]
    pub received: Account<'info, Received>,
    /// Created here: a message is consumed once, by `claim`, `send_back` or `refund_inbound`.
    #[account(
        init,
        payer = payer,
        space = 8 + ClaimRecord::INIT_SPACE,
        seeds = [CLAIMED_SEED, received.key().as_ref()],
        bump,
    )]
    pub claimed: Account<'info, ClaimRecord>,
    /// CHECK: holds no data and only signs for the inbox token account, inside this program (seeds checked).
    #[account(seeds = [INBOX_SEED], bump)]
    pub inbox: UncheckedAccount<'info>,
    /// The session's token (checked against `params.to_token`).
    pub mint: Account<'info, Mint>,
    /// The inbox token account of `mint` (checked against the message's mint recipient).
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = inbox,
        associated_token::token_program = token_program,
    )]
    pub inbox_token: Account<'info, TokenAccount>,
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
    pub recipient_token: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

impl Claim<'_> {
    fn validate(&self, params: &DepositParams) -> Result<()> {
        require!(params.delivers_on_solana(), VaultError::NotSolanaDestination);
        require!(params.final_call.is_empty(), VaultError::FinalCallUnsupported);
        require_keys_eq!(self.mint.key(), Pubkey::new_from_array(params.to_token), VaultError::WrongMint);
        require!(!params.expired()?, VaultError::Expired);
        require!(params.meets_minimum(self.received.amount), VaultError::BelowMinimum);
        require_keys_eq!(
            self.recipient.key(),
            require_solana_key(&params.to_address)?,
            VaultError::WrongRecipient
        );
        Ok(())
    }

    /// Pays one transfer bridged to the inbox for this session (the program's `received` record) to the
    /// committed recipient's associated token account (created if missing, paid by the caller). Before
    /// expiry only, like `settle`, and only a transfer that alone meets `min_amount` (inbox transfers
    /// cannot be added up; anyone can bridge dust naming the session's receiver): a smaller one is
    /// refunded (`send_back`, `refund_inbound`). The transfer is consumed for good.
    #[access_control(ctx.accounts.validate(&params))]
    pub fn claim(ctx: Context<Claim>, params: DepositParams) -> Result<()> {
        let accounts = &ctx.accounts;
        let mut inbound = Inbound::new(
            &params,
            &accounts.received,
            &accounts.inbox_token,
            &accounts.mint,
            ctx.bumps.inbox,
        )?;
        if inbound.amount > 0 {
            token::transfer_checked(
                CpiContext::new_with_signer(
                    accounts.token_program.key(),
                    TransferChecked {
                        from: accounts.inbox_token.to_account_info(),
                        mint: accounts.mint.to_account_info(),
                        to: accounts.recipient_token.to_account_info(),
                        authority: accounts.inbox.to_account_info(),
                    },
                    &[&inbound.seeds()],
                ),
                inbound.amount,
                accounts.mint.decimals,
            )?;
        }
        inbound.event.to = accounts.recipient_token.key();
        emit_cpi!(Claimed { event: inbound.event });
        Ok(())
    }
}
