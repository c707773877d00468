//! `handle_receive_(un)finalized_message`: an attested burn, handed over by the transmitter, paid out of
//! custody.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};
use message_transmitter_v2::{AUTHORITY_SEED, HandleReceiveMessageParams, message::BurnMessageV2};

use crate::{
    CUSTODY_SEED, LOCAL_TOKEN_SEED, LocalToken, RemoteTokenMessenger, TOKEN_MINTER_SEED, TOKEN_PAIR_SEED,
    TokenMessenger, TokenMinter, TokenPair, error::TokenMessengerError, events::MintAndWithdraw,
};

/// The remote token a burn body names (the token pair's seed); refused if the body is not a burn.
pub fn burn_token_of(body: &[u8]) -> Result<[u8; 32]> {
    Ok(BurnMessageV2::parse(body).ok_or(TokenMessengerError::MalformedMessage)?.burn_token)
}

/// Accounts of both handlers, as Circle's `HandleReceiveMessageContext` (the transmitter's authority PDA,
/// then what `receive_message` was given as remaining accounts).
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: HandleReceiveMessageParams)]
pub struct HandleReceiveMessageContext<'info> {
    /// The transmitter's PDA for this program: only the transmitter can sign for it.
    #[account(
        seeds = [AUTHORITY_SEED, crate::ID.as_ref()],
        bump = params.authority_bump,
        seeds::program = message_transmitter_v2::ID
    )]
    pub authority_pda: Signer<'info>,
    /// The messenger's state.
    pub token_messenger: Box<Account<'info, TokenMessenger>>,
    /// The source domain's token messenger.
    #[account(
        constraint = params.remote_domain == remote_token_messenger.domain
            @ TokenMessengerError::InvalidDestinationDomain
    )]
    pub remote_token_messenger: Box<Account<'info, RemoteTokenMessenger>>,
    /// The minter's state (its PDA owns custody).
    pub token_minter: Box<Account<'info, TokenMinter>>,
    /// The paid mint's record.
    #[account(mut, seeds = [LOCAL_TOKEN_SEED, local_token.mint.key().as_ref()], bump = local_token.bump)]
    pub local_token: Box<Account<'info, LocalToken>>,
    /// The remote token burnt, paired with the local one.
    #[account(
        constraint = token_pair.local_token == local_token.key() @ TokenMessengerError::InvalidTokenPair,
        seeds = [
            TOKEN_PAIR_SEED,
            params.remote_domain.to_string().as_bytes(),
            &burn_token_of(&params.message_body)?
        ],
        bump = token_pair.bump,
    )]
    pub token_pair: Box<Account<'info, TokenPair>>,
    /// The fee recipient's associated token account.
    #[account(
        mut,
        associated_token::authority = token_messenger.fee_recipient,
        associated_token::mint = local_token.mint,
    )]
    pub fee_recipient_token_account: Box<Account<'info, TokenAccount>>,
    /// The mint recipient (checked against the message).
    #[account(mut, constraint = recipient_token_account.mint == local_token.mint)]
    pub recipient_token_account: Box<Account<'info, TokenAccount>>,
    /// Custody.
    #[account(
        mut,
        constraint = custody_token_account.mint == local_token.mint,
        seeds = [CUSTODY_SEED, local_token.mint.as_ref()],
        bump = local_token.custody_bump
    )]
    pub custody_token_account: Box<Account<'info, TokenAccount>>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
}

impl<'info> HandleReceiveMessageContext<'info> {
    /// Pays `amount` from custody to `to`, signed by the minter's PDA.
    fn pay(&self, to: AccountInfo<'info>, amount: u64) -> Result<()> {
        let bump = [self.token_minter.bump];
        let seeds: [&[u8]; 2] = [TOKEN_MINTER_SEED, &bump];
        token::transfer(
            CpiContext::new_with_signer(
                self.token_program.key(),
                Transfer {
                    from: self.custody_token_account.to_account_info(),
                    to,
                    authority: self.token_minter.to_account_info(),
                },
                &[&seeds],
            ),
            amount,
        )
    }

    /// Pays an attested burn from a registered remote token messenger: the amount less the fee executed
    /// to the mint recipient, the fee to the fee recipient (Circle's checks in Circle's order).
    pub fn handle_receive_message(
        ctx: Context<HandleReceiveMessageContext>,
        params: HandleReceiveMessageParams,
    ) -> Result<()> {
        let accounts = &ctx.accounts;
        require_keys_eq!(
            params.sender,
            accounts.remote_token_messenger.token_messenger,
            TokenMessengerError::InvalidTokenMessenger
        );
        let burn = BurnMessageV2::parse(&params.message_body)
            .filter(|b| b.version == accounts.token_messenger.message_body_version)
            .ok_or(TokenMessengerError::MalformedMessage)?;
        require!(
            burn.expiration_block == 0 || burn.expiration_block > Clock::get()?.slot,
            TokenMessengerError::MessageExpired
        );
        require!(burn.fee_executed < burn.amount, TokenMessengerError::FeeExceedsAmount);
        require!(burn.fee_executed <= burn.max_fee, TokenMessengerError::FeeExceedsMaxFee);
        require_keys_eq!(
            accounts.recipient_token_account.key(),
            Pubkey::new_from_array(burn.mint_recipient),
            TokenMessengerError::InvalidMintRecipient
        );
        require!(!accounts.token_minter.paused, TokenMessengerError::ProgramPaused);
        if burn.fee_executed > 0 {
            accounts.pay(accounts.fee_recipient_token_account.to_account_info(), burn.fee_executed)?;
        }
        let net = burn.amount - burn.fee_executed;
        accounts.pay(accounts.recipient_token_account.to_account_info(), net)?;
        let (recipient, mint) = (accounts.recipient_token_account.key(), accounts.local_token.mint);
        let local_token = &mut ctx.accounts.local_token;
        local_token.messages_received = local_token.messages_received.saturating_add(1);
        local_token.amount_received = local_token.amount_received.saturating_add(u128::from(burn.amount));
        emit_cpi!(MintAndWithdraw {
            mint_recipient: recipient,
            amount: net,
            mint_token: mint,
            fee_collected: burn.fee_executed,
        });
        Ok(())
    }
}
