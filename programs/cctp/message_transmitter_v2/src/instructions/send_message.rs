//! `send_message`: a sender program's message written into a fresh `MessageSent` account.

use anchor_lang::prelude::*;

use crate::{
    MessageSent, MessageTransmitter, SENDER_AUTHORITY_SEED, error::MessageTransmitterError,
    message::MessageV2,
};

/// Accounts of [`message_transmitter_v2::send_message`](crate::message_transmitter_v2::send_message),
/// as Circle's `SendMessageContext`.
#[derive(Accounts)]
#[instruction(params: SendMessageParams)]
pub struct SendMessageContext<'info> {
    /// Pays the `MessageSent` account's rent.
    #[account(mut)]
    pub event_rent_payer: Signer<'info>,
    /// The sender program's `[b"sender_authority"]` PDA: only that program can sign for it.
    #[account(seeds = [SENDER_AUTHORITY_SEED], bump, seeds::program = sender_program.key())]
    pub sender_authority_pda: Signer<'info>,
    /// The transmitter's state.
    #[account(mut)]
    pub message_transmitter: Box<Account<'info, MessageTransmitter>>,
    /// A fresh account (a new keypair signing, or a PDA of the caller) the message is written into.
    #[account(init, payer = event_rent_payer, space = MessageSent::len(params.message_body.len())?)]
    pub message_sent_event_data: Box<Account<'info, MessageSent>>,
    /// CHECK: the sender program (the token messenger); its PDA signed above.
    #[account(constraint = sender_program.executable)]
    pub sender_program: UncheckedAccount<'info>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Instruction data of `send_message` (Circle's `SendMessageParams`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone)]
pub struct SendMessageParams {
    /// The domain it is for.
    pub destination_domain: u32,
    /// The receiving program or contract there.
    pub recipient: Pubkey,
    /// Who may deliver it there (zero: anyone).
    pub destination_caller: Pubkey,
    /// The finality the sender asks for.
    pub min_finality_threshold: u32,
    /// The body.
    pub message_body: Vec<u8>,
}

impl SendMessageContext<'_> {
    /// Writes the message (nonce and executed finality zero: the attester fills them in) with its rent
    /// payer and time.
    pub fn send_message(ctx: Context<SendMessageContext>, params: SendMessageParams) -> Result<()> {
        let transmitter = &ctx.accounts.message_transmitter;
        require!(!transmitter.paused, MessageTransmitterError::ProgramPaused);
        require!(
            params.destination_domain != transmitter.local_domain,
            MessageTransmitterError::DestinationDomainIsLocalDomain
        );
        require!(
            transmitter.max_message_body_size >= params.message_body.len() as u64,
            MessageTransmitterError::MessageBodyLimitExceeded
        );
        require!(params.recipient != Pubkey::default(), MessageTransmitterError::InvalidRecipient);
        let message = MessageV2 {
            version: transmitter.version,
            source_domain: transmitter.local_domain,
            destination_domain: params.destination_domain,
            nonce: [0; 32],
            sender: ctx.accounts.sender_program.key().to_bytes(),
            recipient: params.recipient.to_bytes(),
            destination_caller: params.destination_caller.to_bytes(),
            min_finality_threshold: params.min_finality_threshold,
            finality_threshold_executed: 0,
            body: params.message_body,
        };
        let sent = &mut ctx.accounts.message_sent_event_data;
        sent.rent_payer = ctx.accounts.event_rent_payer.key();
        sent.created_at = Clock::get()?.unix_timestamp;
        sent.message = message.encode();
        Ok(())
    }
}
