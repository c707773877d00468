//! `refund_inbound`: a bridged-in transfer the session cannot take, from the inbox to the session's Solana
//! refund target, when the EVM side has nowhere to refund it.

use anchor_lang::prelude::*;
use anchor_spl::{
    associated_token::AssociatedToken,
    token::{self, Mint, Token, TokenAccount, TransferChecked},
};

use super::inbound::{Inbound, claimable};
use crate::{
    CLAIMED_SEED, DepositParams, INBOX_SEED, RECEIVED_SEED, Received, error::VaultError,
    events::RefundedInbound, state::ClaimRecord,
};

/// Accounts of [`deposit_vault::refund_inbound`](crate::deposit_vault::refund_inbound).
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct RefundInbound<'info> {
    /// Pays the fee, the claim record's rent, and the refund token account's if it does not exist yet.
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
    /// CHECK: as in [`Claim::inbox`](super::Claim::inbox).
    #[account(seeds = [INBOX_SEED], bump)]
    pub inbox: UncheckedAccount<'info>,
    /// The transfer's mint.
    pub mint: Account<'info, Mint>,
    /// The inbox token account of `mint` (checked against the message's mint recipient).
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = inbox,
        associated_token::token_program = token_program,
    )]
    pub inbox_token: Account<'info, TokenAccount>,
    /// CHECK: the session's Solana refund target (checked against the params); owns `refund_token`.
    pub refund_owner: UncheckedAccount<'info>,
    /// The refund target's associated token account.
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = refund_owner,
        associated_token::token_program = token_program,
    )]
    pub refund_token: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

impl RefundInbound<'_> {
    fn validate(&self, params: &DepositParams) -> Result<()> {
        require!(!claimable(params, &self.mint.key(), self.received.amount)?, VaultError::Claimable);
        // Where the EVM side can refund, the transfer goes back there (`send_back`): it came from there.
        require!(params.evm_refund_target().is_none(), VaultError::HasEvmRefundAddress);
        let target = params.solana_refund_target().ok_or(VaultError::NoSolanaRefundTarget)?;
        require_keys_eq!(self.refund_owner.key(), target, VaultError::WrongRecipient);
        Ok(())
    }

    /// Pays one transfer bridged to the inbox for this session, which the session cannot take (expired, or
    /// one that does not settle on Solana or not in this mint), to the session's Solana refund target's
    /// associated token account (created if missing, paid by the caller), when the session commits no EVM
    /// refund target: sending it back would make the router there send it home, here, again. The transfer
    /// is consumed for good.
    #[access_control(ctx.accounts.validate(&params))]
    pub fn refund_inbound(ctx: Context<RefundInbound>, params: DepositParams) -> Result<()> {
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
                        to: accounts.refund_token.to_account_info(),
                        authority: accounts.inbox.to_account_info(),
                    },
                    &[&inbound.seeds()],
                ),
                inbound.amount,
                accounts.mint.decimals,
            )?;
        }
        inbound.event.to = accounts.refund_token.key();
        emit_cpi!(RefundedInbound { event: inbound.event });
        Ok(())
    }
}
