//! `record`: a transfer Circle's CCTP v2 transmitter delivered to Solana, recorded by the program from its
//! attested message, once per nonce. Circle's programs keep no record of a burn's hook data on Solana (its
//! token messenger pays the mint recipient and forgets the rest), so nothing else could tell the inbox
//! whose a transfer is. Anyone may record any delivered burn; the inbox instructions decide what a record
//! may pay.

use anchor_lang::prelude::*;
use message_transmitter_v2::{
    MESSAGE_TRANSMITTER_SEED, MessageTransmitter, USED_NONCE_SEED,
    message::{BurnMessageV2, MessageV2, nonce_of, source_domain_of, verify_attestation},
};
use token_messenger_minter_v2::{REMOTE_TOKEN_MESSENGER_SEED, RemoteTokenMessenger};

use crate::{RECEIVED_SEED, Received, SOLANA_DOMAIN, error::VaultError, events::Recorded, evm};

/// Accounts of [`deposit_vault::record`](crate::deposit_vault::record).
#[event_cpi]
#[derive(Accounts)]
#[instruction(message: Vec<u8>)]
pub struct Record<'info> {
    /// Pays the record's rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: Circle's transmitter state (its attesters, threshold and message version): the
    /// transmitter's own PDA, owned by the transmitter the deployment names, read by its type below.
    #[account(
        owner = evm::MESSAGE_TRANSMITTER,
        seeds = [MESSAGE_TRANSMITTER_SEED],
        bump,
        seeds::program = evm::MESSAGE_TRANSMITTER,
    )]
    pub message_transmitter: UncheckedAccount<'info>,
    /// CHECK: Circle's token messenger's record of the message's source domain (that domain's token
    /// messenger): the messenger's PDA for the domain, owned by the messenger the deployment names.
    #[account(
        owner = evm::TOKEN_MESSENGER_MINTER,
        seeds = [REMOTE_TOKEN_MESSENGER_SEED, source_domain_of(&message).to_string().as_bytes()],
        bump,
        seeds::program = evm::TOKEN_MESSENGER_MINTER,
    )]
    pub remote_token_messenger: UncheckedAccount<'info>,
    /// CHECK: the transmitter's used-nonce account of the message's nonce: it exists (owned by the
    /// transmitter, at its PDA) only once the transmitter delivered the message.
    #[account(
        owner = evm::MESSAGE_TRANSMITTER,
        seeds = [USED_NONCE_SEED, nonce_of(&message).as_ref()],
        bump,
        seeds::program = evm::MESSAGE_TRANSMITTER,
    )]
    pub used_nonce: UncheckedAccount<'info>,
    /// CHECK: the token account the burn paid (its message's mint recipient; checked in `validate`). Only
    /// named, never read: so the record is in that account's history, where the inbox's watcher reads
    /// what arrived (a relayer that watches the inbox token account sees every transfer recorded to it).
    pub mint_recipient: UncheckedAccount<'info>,
    /// The record: created here, so a nonce is recorded once.
    #[account(
        init,
        payer = payer,
        space = 8 + Received::INIT_SPACE,
        seeds = [RECEIVED_SEED, nonce_of(&message).as_ref()],
        bump,
    )]
    pub received: Account<'info, Received>,
    /// System program.
    pub system_program: Program<'info, System>,
}

impl Record<'_> {
    /// What the attested `message` says was paid, checked: a burn in Circle's format, for Solana, sent by
    /// its source domain's token messenger (Circle attests any body anyone sends through its transmitter
    /// on EVM) to the deployment's token messenger (so the transmitter handed it to that messenger, which
    /// checked its sender and token and paid its mint recipient: a message to another recipient moved no
    /// tokens), in the transmitter's message version, with an executed fee Circle's messenger accepts,
    /// attested under Circle's rules by the attesters the transmitter's own state names.
    fn validate(&self, message: &[u8], attestation: &[u8]) -> Result<Received> {
        let state =
            MessageTransmitter::try_deserialize(&mut &self.message_transmitter.try_borrow_data()?[..])?;
        let remote =
            RemoteTokenMessenger::try_deserialize(&mut &self.remote_token_messenger.try_borrow_data()?[..])?;
        let header = MessageV2::parse(message).ok_or(VaultError::NotABurnForSolana)?;
        let burn = BurnMessageV2::parse(&header.body).ok_or(VaultError::NotABurnForSolana)?;
        require!(
            header.version == state.version
                && burn.version == 1
                && header.destination_domain == SOLANA_DOMAIN
                && header.source_domain == remote.domain
                && header.sender == remote.token_messenger.to_bytes()
                && header.recipient == evm::TOKEN_MESSENGER_MINTER.to_bytes(),
            VaultError::NotABurnForSolana
        );
        require!(
            burn.fee_executed <= burn.max_fee && burn.fee_executed < burn.amount,
            VaultError::NotABurnForSolana
        );
        let attesters = state.attester_addresses();
        let threshold = usize::try_from(state.signature_threshold).unwrap_or(usize::MAX);
        verify_attestation(message, attestation, threshold, &attesters)
            .map_err(|_| VaultError::BadAttestation)?;
        // Delivered: the transmitter's own account of this nonce (its seeds and owner checked above).
        require!(!self.used_nonce.data_is_empty(), VaultError::NotDelivered);
        require_keys_eq!(
            self.mint_recipient.key(),
            Pubkey::new_from_array(burn.mint_recipient),
            VaultError::NotTheMintRecipient
        );
        Ok(Received {
            source_domain: header.source_domain,
            nonce: header.nonce,
            mint_recipient: Pubkey::new_from_array(burn.mint_recipient),
            amount: burn.amount - burn.fee_executed,
            hook: <[u8; 32]>::try_from(burn.hook_data.as_slice()).ok(),
        })
    }

    /// Records the transfer an attested CCTP v2 `message` (with its `attestation`) delivered to Solana:
    /// where it came from, the token account paid, the net amount, the hook. Anyone may send it; the
    /// message and Circle's accounts decide everything. What ties the recorded bytes to the delivered ones
    /// is the nonce (the transmitter's used-nonce account) and Circle signing one message per nonce: a
    /// re-attestation of a fast transfer (Circle's `reattest`) changes its finality and expiration, not
    /// its fee, so every attested version records the same transfer. The attestation is checked against
    /// the attesters enabled when it is recorded: a transfer delivered before Circle rotates its attesters
    /// must be recorded before the rotation, or with a new attestation (open: recording in the delivery's
    /// own transaction, programs/CCTP_V2_PLAN.md).
    pub fn record(ctx: Context<Record>, message: Vec<u8>, attestation: Vec<u8>) -> Result<()> {
        let received = ctx.accounts.validate(&message, &attestation)?;
        ctx.accounts.received.set_inner(received.clone());
        emit_cpi!(Recorded { at: ctx.accounts.received.key(), received });
        Ok(())
    }
}
