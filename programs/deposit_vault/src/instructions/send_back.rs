//! `send_back`: a bridged-in transfer the session cannot take, back through the bridge to the session's
//! receiver on the chain it came from, where the router refunds it to the EVM refund target.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use super::{
    cctp::*,
    inbound::{Inbound, claimable},
};
use crate::{
    CLAIMED_SEED, DepositParams, INBOX_SEED, RECEIVED_SEED, Received, error::VaultError, events::SentBack,
    state::ClaimRecord,
};

/// Accounts of [`deposit_vault::send_back`](crate::deposit_vault::send_back).
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct SendBack<'info> {
    /// Pays the fee and the claim record's rent.
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
    /// The bridged mint (the bridge refuses any other; its supply falls by the burn).
    #[account(mut)]
    pub mint: Account<'info, Mint>,
    /// The inbox token account of `mint` (checked against the message's mint recipient).
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = inbox,
        associated_token::token_program = token_program,
    )]
    pub inbox_token: Account<'info, TokenAccount>,
    /// Circle's CCTP v2 accounts of the burn.
    pub cctp: CctpBurn<'info>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// System program.
    pub system_program: Program<'info, System>,
}

impl SendBack<'_> {
    fn validate(&self, params: &DepositParams) -> Result<()> {
        // Sending back a transfer the session can still take would grief it.
        require!(!claimable(params, &self.mint.key(), self.received.amount)?, VaultError::Claimable);
        // Only where the router there can refund it: with no EVM refund target it would send it home
        // again, to this inbox, for ever. Such a transfer is refunded here (`refund_inbound`).
        require!(params.evm_refund_target().is_some(), VaultError::NoEvmRefundAddress);
        Ok(())
    }

    /// Sends one transfer bridged to the inbox for this session back through the bridge to the session's
    /// receiver on the chain it came from, when the session cannot take it here (expired, or a session
    /// that does not settle on Solana or not in this mint) and the EVM side can refund it (the session
    /// commits an EVM refund address, or an EVM `to_address`: the router's refund rules). The transfer is
    /// consumed for good.
    #[access_control(ctx.accounts.validate(&params))]
    pub fn send_back(ctx: Context<SendBack>, params: DepositParams) -> Result<()> {
        let accounts = &ctx.accounts;
        let mut inbound = Inbound::new(
            &params,
            &accounts.received,
            &accounts.inbox_token,
            &accounts.mint,
            ctx.bumps.inbox,
        )?;
        if inbound.amount > 0 {
            accounts.cctp.burn(
                accounts.inbox.to_account_info(),
                &inbound.seeds(),
                accounts.payer.to_account_info(),
                accounts.inbox_token.to_account_info(),
                accounts.mint.to_account_info(),
                accounts.token_program.to_account_info(),
                inbound.amount,
                inbound.source_domain,
                inbound.hook,
            )?;
        }
        inbound.event.to = crate::evm::TOKEN_MESSENGER_MINTER;
        emit_cpi!(SentBack { event: inbound.event, mint_recipient: inbound.hook });
        Ok(())
    }
}
