//! `receive_message`: an attested message for this domain, once per nonce, handed to its recipient
//! program.

use anchor_lang::{
    prelude::*,
    solana_program::{
        instruction::{AccountMeta, Instruction},
        program::invoke_signed,
    },
};

use crate::{
    AUTHORITY_SEED, FINALITY_THRESHOLD_FINALIZED, MessageTransmitter, USED_NONCE_SEED, UsedNonce,
    error::MessageTransmitterError,
    events::MessageReceived,
    message::{self, MessageV2},
};

/// Accounts of [`message_transmitter_v2::receive_message`](crate::message_transmitter_v2::receive_message),
/// as Circle's `ReceiveMessageContext`; the remaining accounts go to the receiver.
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: ReceiveMessageParams)]
pub struct ReceiveMessageContext<'info> {
    /// Pays the used nonce's rent (never returned).
    #[account(mut)]
    pub payer: Signer<'info>,
    /// Who delivers it: must be the message's `destination_caller` when it names one.
    pub caller: Signer<'info>,
    /// CHECK: the PDA this program signs the receiver's handler with.
    #[account(seeds = [AUTHORITY_SEED, receiver.key().as_ref()], bump)]
    pub authority_pda: UncheckedAccount<'info>,
    /// The transmitter's state.
    pub message_transmitter: Box<Account<'info, MessageTransmitter>>,
    /// The nonce's record, created here: a second delivery of the nonce fails.
    #[account(
        init,
        payer = payer,
        space = 8 + UsedNonce::INIT_SPACE,
        seeds = [USED_NONCE_SEED, &params.message[message::NONCE..message::SENDER]],
        bump
    )]
    pub used_nonce: Box<Account<'info, UsedNonce>>,
    /// CHECK: the recipient program (the token messenger, or any program implementing the handlers).
    #[account(constraint = receiver.executable, constraint = receiver.key() != crate::ID)]
    pub receiver: UncheckedAccount<'info>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// `sha256("global:handle_receive_finalized_message")[..8]`: the receiver's handler of a finalized message.
pub const HANDLE_FINALIZED: [u8; 8] = [0xba, 0xfc, 0xef, 0x46, 0x56, 0xb4, 0x6e, 0x5f];
/// `sha256("global:handle_receive_unfinalized_message")[..8]`: the receiver's handler below finality 2000.
pub const HANDLE_UNFINALIZED: [u8; 8] = [0xc8, 0xa9, 0xaf, 0x14, 0xc8, 0x3a, 0xb6, 0x3d];

/// Instruction data of `receive_message`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone)]
pub struct ReceiveMessageParams {
    /// The message, as attested (nonce, executed finality and fee filled in).
    pub message: Vec<u8>,
    /// `signature_threshold` signatures of its `keccak256`, 65 bytes each, signers ascending.
    pub attestation: Vec<u8>,
}

/// What the receiver's handler is given (Circle's `HandleReceiveMessageParams`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone)]
pub struct HandleReceiveMessageParams {
    /// The domain it came from.
    pub remote_domain: u32,
    /// The sending program or contract there.
    pub sender: Pubkey,
    /// The finality it was attested at.
    pub finality_threshold_executed: u32,
    /// Its body.
    pub message_body: Vec<u8>,
    /// The bump of the signing PDA.
    pub authority_bump: u8,
}

impl<'info> ReceiveMessageContext<'info> {
    /// Checks the message and its attestation, marks its nonce used and calls the recipient's handler
    /// (finalized at 2000 and above, unfinalized below) with the remaining accounts.
    pub fn receive_message(
        ctx: Context<'info, ReceiveMessageContext<'info>>,
        params: ReceiveMessageParams,
    ) -> Result<()> {
        let transmitter = &ctx.accounts.message_transmitter;
        require!(!transmitter.paused, MessageTransmitterError::ProgramPaused);
        let message = MessageV2::parse(&params.message).ok_or(MessageTransmitterError::MalformedMessage)?;
        require!(message.version == transmitter.version, MessageTransmitterError::InvalidMessageVersion);
        let threshold = usize::try_from(transmitter.signature_threshold)
            .map_err(|_| MessageTransmitterError::InvalidAttestationLength)?;
        let enabled = transmitter.attester_addresses();
        message::verify_attestation(&params.message, &params.attestation, threshold, &enabled)
            .map_err(MessageTransmitterError::from)?;
        require!(
            message.destination_domain == transmitter.local_domain,
            MessageTransmitterError::InvalidDestinationDomain
        );
        if message.destination_caller != [0; 32] {
            require!(
                message.destination_caller == ctx.accounts.caller.key().to_bytes(),
                MessageTransmitterError::InvalidDestinationCaller
            );
        }
        ctx.accounts.used_nonce.is_used = true;
        let receiver = ctx.accounts.receiver.key();
        require!(message.recipient == receiver.to_bytes(), MessageTransmitterError::InvalidRecipientProgram);

        let handler = if message.finality_threshold_executed < FINALITY_THRESHOLD_FINALIZED {
            HANDLE_UNFINALIZED
        } else {
            HANDLE_FINALIZED
        };
        let bump = ctx.bumps.authority_pda;
        let mut data = handler.to_vec();
        HandleReceiveMessageParams {
            remote_domain: message.source_domain,
            sender: Pubkey::new_from_array(message.sender),
            finality_threshold_executed: message.finality_threshold_executed,
            message_body: message.body.clone(),
            authority_bump: bump,
        }
        .serialize(&mut data)?;
        let authority = ctx.accounts.authority_pda.to_account_info();
        let mut metas = vec![AccountMeta::new_readonly(authority.key(), true)];
        metas.extend(ctx.remaining_accounts.iter().map(|a| AccountMeta {
            pubkey: a.key(),
            is_signer: a.is_signer,
            is_writable: a.is_writable,
        }));
        let mut infos = vec![authority];
        infos.extend(ctx.remaining_accounts.iter().cloned());
        infos.push(ctx.accounts.receiver.to_account_info());
        invoke_signed(
            &Instruction { program_id: receiver, accounts: metas, data },
            &infos,
            &[&[AUTHORITY_SEED, receiver.as_ref(), &[bump]]],
        )?;
        emit_cpi!(MessageReceived {
            caller: ctx.accounts.caller.key(),
            source_domain: message.source_domain,
            nonce: message.nonce,
            sender: Pubkey::new_from_array(message.sender),
            finality_threshold_executed: message.finality_threshold_executed,
            message_body: message.body,
        });
        Ok(())
    }
}
