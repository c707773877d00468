//! `receive_message`: an attested message from an EVM chain pays its mint recipient from custody, once
//! per nonce.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::{
    BridgeConfig, CONFIG_SEED, Incoming, LOCAL_DOMAIN, RECEIVED_SEED, Received, error::BridgeError,
    events::MessageReceived, message::verify_attestation,
};

/// Accounts of [`local_bridge::receive_message`](crate::local_bridge::receive_message).
#[event_cpi]
#[derive(Accounts)]
#[instruction(message: Vec<u8>)]
pub struct ReceiveMessage<'info> {
    /// Pays the fee and the record's rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump, has_one = mint)]
    pub config: Account<'info, BridgeConfig>,
    /// The message's record: created here, so a second delivery fails.
    #[account(
        init,
        payer = payer,
        space = 8 + Received::INIT_SPACE,
        seeds = [RECEIVED_SEED, crate::message::nonce_of(&message).as_ref()],
        bump,
    )]
    pub received: Account<'info, Received>,
    /// Custody.
    #[account(mut, associated_token::mint = mint, associated_token::authority = config)]
    pub custody: Account<'info, TokenAccount>,
    /// The message's mint recipient (checked against it).
    #[account(mut, token::mint = mint)]
    pub recipient_token: Account<'info, TokenAccount>,
    /// The bridged mint.
    pub mint: Account<'info, Mint>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// System program.
    pub system_program: Program<'info, System>,
}

impl ReceiveMessage<'_> {
    /// The message, parsed and checked: a burn in Circle's format, for this domain, attested by the
    /// attester under Circle's rules (65-byte `r ‖ s ‖ v` of `keccak256(message)`, `v` 27–30, low `s`),
    /// with an executed fee Circle's messenger would accept, delivered by its named caller if it names one,
    /// paying the account it names.
    fn validate(&self, message: &[u8], attestation: &[u8]) -> Result<Incoming> {
        let incoming = Incoming::parse(message).ok_or(BridgeError::MalformedMessage)?;
        require!(incoming.destination_domain == LOCAL_DOMAIN, BridgeError::WrongDomain);
        // A forged or altered message recovers to another key; a high-s twin of the attester's own
        // signature is refused too.
        verify_attestation(message, attestation, 1, &[self.config.attester])
            .map_err(|_| BridgeError::BadAttestation)?;
        // An attester overcharging (above what the burner allowed, or everything) is refused, as Circle's
        // token messenger refuses it.
        require!(
            incoming.fee_executed <= incoming.max_fee && incoming.fee_executed < incoming.amount,
            BridgeError::FeeExceeded
        );
        // A message for a named deliverer is delivered only by it, as on the EVM side.
        if incoming.destination_caller != [0u8; 32] {
            require!(incoming.destination_caller == self.payer.key().to_bytes(), BridgeError::WrongCaller);
        }
        require_keys_eq!(
            self.recipient_token.key(),
            Pubkey::new_from_array(incoming.mint_recipient),
            BridgeError::WrongRecipient
        );
        Ok(incoming)
    }

    /// Delivers an attested message from an EVM chain: pays its amount less the fee the attestation
    /// executed from custody to its mint recipient and records it (once: the record's address is its
    /// nonce). Anyone may send it; the message decides everything.
    pub fn receive_message(
        ctx: Context<ReceiveMessage>,
        message: Vec<u8>,
        attestation: Vec<u8>,
    ) -> Result<()> {
        let incoming = ctx.accounts.validate(&message, &attestation)?;
        let accounts = &ctx.accounts;
        let amount = incoming.amount - incoming.fee_executed;
        if amount > 0 {
            let bump = [ctx.bumps.config];
            let seeds: [&[u8]; 2] = [CONFIG_SEED, &bump];
            token::transfer_checked(
                CpiContext::new_with_signer(
                    accounts.token_program.key(),
                    TransferChecked {
                        from: accounts.custody.to_account_info(),
                        mint: accounts.mint.to_account_info(),
                        to: accounts.recipient_token.to_account_info(),
                        authority: accounts.config.to_account_info(),
                    },
                    &[&seeds],
                ),
                amount,
                accounts.mint.decimals,
            )?;
        }
        let received = Received {
            source_domain: incoming.source_domain,
            nonce: incoming.nonce,
            mint_recipient: accounts.recipient_token.key(),
            amount,
            hook: <[u8; 32]>::try_from(incoming.hook.as_slice()).ok(),
        };
        ctx.accounts.received.set_inner(received.clone());
        emit_cpi!(MessageReceived { received });
        Ok(())
    }
}
