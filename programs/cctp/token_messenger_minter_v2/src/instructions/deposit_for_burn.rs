//! `deposit_for_burn` and `deposit_for_burn_with_hook`: the owner's tokens burnt, and the burn message
//! sent through the transmitter to the destination's token messenger.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, Token, TokenAccount};
use message_transmitter_v2::{
    MessageTransmitter, SendMessageParams, cpi::accounts::SendMessageContext, message::BurnMessageV2,
    program::MessageTransmitterV2,
};

use crate::{
    DENYLIST_SEED, LOCAL_TOKEN_SEED, LocalToken, RemoteTokenMessenger, TokenMessenger, TokenMinter,
    error::TokenMessengerError, events::DepositForBurn, program::TokenMessengerMinterV2,
};

/// Accounts of both burns, as Circle's `DepositForBurnContext` (18 metas with the two `#[event_cpi]`
/// appends). Circle's struct reads the destination domain from the instruction data to check
/// `remote_token_messenger`; Anchor 1 refuses one accounts struct for two instruction types, so that
/// check runs first in the handler instead, with the same error.
#[event_cpi]
#[derive(Accounts)]
pub struct DepositForBurnContext<'info> {
    /// Owner of the burnt tokens (a PDA signing through CPI, or a wallet).
    pub owner: Signer<'info>,
    /// Pays the `MessageSent` account's rent.
    #[account(mut)]
    pub event_rent_payer: Signer<'info>,
    /// CHECK: the PDA this program signs `send_message` with.
    #[account(seeds = [message_transmitter_v2::SENDER_AUTHORITY_SEED], bump = token_messenger.authority_bump)]
    pub sender_authority_pda: UncheckedAccount<'info>,
    /// The owner's tokens.
    #[account(mut, constraint = burn_token_account.mint == burn_token_mint.key(), has_one = owner)]
    pub burn_token_account: Box<Account<'info, TokenAccount>>,
    /// CHECK: the owner is denylisted if an account exists here.
    #[account(seeds = [DENYLIST_SEED, owner.to_account_info().key().as_ref()], bump)]
    pub denylist_account: UncheckedAccount<'info>,
    /// The transmitter's state.
    #[account(mut)]
    pub message_transmitter: Box<Account<'info, MessageTransmitter>>,
    /// The messenger's state.
    pub token_messenger: Box<Account<'info, TokenMessenger>>,
    /// The destination's token messenger (its domain is checked against the instruction's).
    pub remote_token_messenger: Box<Account<'info, RemoteTokenMessenger>>,
    /// The minter's state.
    pub token_minter: Box<Account<'info, TokenMinter>>,
    /// The burnt mint's record.
    #[account(mut, seeds = [LOCAL_TOKEN_SEED, burn_token_mint.key().as_ref()], bump = local_token.bump)]
    pub local_token: Box<Account<'info, LocalToken>>,
    /// The burnt mint.
    #[account(mut)]
    pub burn_token_mint: Box<Account<'info, Mint>>,
    /// A fresh account the transmitter writes the message into (it must sign).
    #[account(mut)]
    pub message_sent_event_data: Signer<'info>,
    /// The transmitter.
    pub message_transmitter_program: Program<'info, MessageTransmitterV2>,
    /// This program (the message's sender).
    pub token_messenger_minter_program: Program<'info, TokenMessengerMinterV2>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Instruction data of `deposit_for_burn` (Circle's `DepositForBurnParams`).
#[repr(C)]
#[derive(AnchorSerialize, AnchorDeserialize, Clone)]
pub struct DepositForBurnParams {
    /// Base units to burn.
    pub amount: u64,
    /// The destination domain.
    pub destination_domain: u32,
    /// Who is paid there (an EVM address left-padded).
    pub mint_recipient: Pubkey,
    /// Who may deliver it there (zero: anyone).
    pub destination_caller: Pubkey,
    /// The most fee allowed.
    pub max_fee: u64,
    /// The finality asked for (1000 fast, 2000 finalized).
    pub min_finality_threshold: u32,
}

/// Instruction data of `deposit_for_burn_with_hook` (Circle's `DepositForBurnWithHookParams`: the same
/// leading fields, then the hook).
#[repr(C)]
#[derive(AnchorSerialize, AnchorDeserialize, Clone)]
pub struct DepositForBurnWithHookParams {
    /// Base units to burn.
    pub amount: u64,
    /// The destination domain.
    pub destination_domain: u32,
    /// Who is paid there (an EVM address left-padded).
    pub mint_recipient: Pubkey,
    /// Who may deliver it there (zero: anyone).
    pub destination_caller: Pubkey,
    /// The most fee allowed.
    pub max_fee: u64,
    /// The finality asked for (1000 fast, 2000 finalized).
    pub min_finality_threshold: u32,
    /// Data for the destination (not empty).
    pub hook_data: Vec<u8>,
}

impl DepositForBurnContext<'_> {
    /// Burns `params.amount` of the owner's tokens and sends the burn message.
    pub fn deposit_for_burn(ctx: Context<DepositForBurnContext>, params: DepositForBurnParams) -> Result<()> {
        let DepositForBurnParams {
            amount,
            destination_domain,
            mint_recipient,
            destination_caller,
            max_fee,
            min_finality_threshold,
        } = params;
        let with_hook = DepositForBurnWithHookParams {
            amount,
            destination_domain,
            mint_recipient,
            destination_caller,
            max_fee,
            min_finality_threshold,
            hook_data: Vec::new(),
        };
        burn(ctx, with_hook)
    }

    /// As [`Self::deposit_for_burn`], with hook data (which must not be empty).
    pub fn deposit_for_burn_with_hook(
        ctx: Context<DepositForBurnContext>,
        params: DepositForBurnWithHookParams,
    ) -> Result<()> {
        require!(!params.hook_data.is_empty(), TokenMessengerError::InvalidHookData);
        burn(ctx, params)
    }
}

/// Circle's checks in Circle's order, the burn, the message, the event.
fn burn(ctx: Context<DepositForBurnContext>, params: DepositForBurnWithHookParams) -> Result<()> {
    let accounts = &ctx.accounts;
    require!(
        params.destination_domain == accounts.remote_token_messenger.domain,
        TokenMessengerError::InvalidDestinationDomain
    );
    require!(params.amount > 0, TokenMessengerError::InvalidAmount);
    require!(accounts.denylist_account.data_is_empty(), TokenMessengerError::DenylistedAccount);
    require!(params.mint_recipient != Pubkey::default(), TokenMessengerError::InvalidMintRecipient);
    require!(params.amount > params.max_fee, TokenMessengerError::MaxFeeMustBeLessThanAmount);
    require!(
        params.max_fee >= accounts.token_messenger.min_fee_amount(params.amount)?,
        TokenMessengerError::InsufficientMaxFee
    );
    require!(!accounts.token_minter.paused, TokenMessengerError::ProgramPaused);
    require!(
        accounts.local_token.burn_limit_per_message >= params.amount,
        TokenMessengerError::BurnAmountExceeded
    );
    token::burn(
        CpiContext::new(
            accounts.token_program.key(),
            Burn {
                mint: accounts.burn_token_mint.to_account_info(),
                from: accounts.burn_token_account.to_account_info(),
                authority: accounts.owner.to_account_info(),
            },
        ),
        params.amount,
    )?;
    let body = BurnMessageV2 {
        version: accounts.token_messenger.message_body_version,
        burn_token: accounts.burn_token_mint.key().to_bytes(),
        mint_recipient: params.mint_recipient.to_bytes(),
        amount: params.amount,
        message_sender: accounts.owner.key().to_bytes(),
        max_fee: params.max_fee,
        fee_executed: 0,
        expiration_block: 0,
        hook_data: params.hook_data.clone(),
    }
    .encode();
    let bump = [accounts.token_messenger.authority_bump];
    let seeds: [&[u8]; 2] = [message_transmitter_v2::SENDER_AUTHORITY_SEED, &bump];
    message_transmitter_v2::cpi::send_message(
        CpiContext::new_with_signer(
            accounts.message_transmitter_program.key(),
            SendMessageContext {
                event_rent_payer: accounts.event_rent_payer.to_account_info(),
                sender_authority_pda: accounts.sender_authority_pda.to_account_info(),
                message_transmitter: accounts.message_transmitter.to_account_info(),
                message_sent_event_data: accounts.message_sent_event_data.to_account_info(),
                sender_program: accounts.token_messenger_minter_program.to_account_info(),
                system_program: accounts.system_program.to_account_info(),
            },
            &[&seeds],
        ),
        SendMessageParams {
            destination_domain: params.destination_domain,
            recipient: accounts.remote_token_messenger.token_messenger,
            destination_caller: params.destination_caller,
            min_finality_threshold: params.min_finality_threshold,
            message_body: body,
        },
    )?;
    let local_token = &mut ctx.accounts.local_token;
    local_token.messages_sent = local_token.messages_sent.saturating_add(1);
    local_token.amount_sent = local_token.amount_sent.saturating_add(u128::from(params.amount));
    let accounts = &ctx.accounts;
    emit_cpi!(DepositForBurn {
        burn_token: accounts.burn_token_mint.key(),
        amount: params.amount,
        depositor: accounts.owner.key(),
        mint_recipient: params.mint_recipient,
        destination_domain: params.destination_domain,
        destination_token_messenger: accounts.remote_token_messenger.token_messenger,
        destination_caller: params.destination_caller,
        max_fee: params.max_fee,
        min_finality_threshold: params.min_finality_threshold,
        hook_data: params.hook_data,
    });
    Ok(())
}
