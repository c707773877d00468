//! This program's instructions, built off chain.

use anchor_lang::{
    InstructionData, ToAccountMetas, prelude::Pubkey, solana_program::instruction::Instruction,
};
use anchor_spl::{associated_token, associated_token::get_associated_token_address, token::spl_token};

/// The config PDA.
pub fn config() -> Pubkey {
    Pubkey::find_program_address(&[crate::CONFIG_SEED], &crate::ID).0
}

/// The custody account of `mint`.
pub fn custody(mint: &Pubkey) -> Pubkey {
    get_associated_token_address(&config(), mint)
}

/// The PDA `emit_cpi!` signs its event self-invocations with.
pub fn event_authority() -> Pubkey {
    Pubkey::find_program_address(&[b"__event_authority"], &crate::ID).0
}

/// The record of the message the attester gave `nonce`.
pub fn received(nonce: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[crate::RECEIVED_SEED, nonce], &crate::ID).0
}

/// `initialize(attester)` for `mint`, paid by `payer` and signed by the mint's `mint_authority` (the
/// program accepts only [`crate::USDC_MINT`] and its mint authority).
pub fn initialize(payer: Pubkey, mint_authority: Pubkey, mint: Pubkey, attester: [u8; 20]) -> Instruction {
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Initialize {
            payer,
            mint_authority,
            config: config(),
            mint,
            custody: custody(&mint),
            token_program: spl_token::ID,
            associated_token_program: associated_token::ID,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Initialize { attester }.data(),
    }
}

/// `receive_message(message, attestation)` paying the message's mint recipient (`recipient_token`, the
/// program accepts only that one), sent and paid for by `payer`.
pub fn receive_message(
    payer: Pubkey,
    mint: Pubkey,
    recipient_token: Pubkey,
    message: Vec<u8>,
    attestation: Vec<u8>,
) -> Instruction {
    let nonce = crate::message::nonce_of(&message);
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::ReceiveMessage {
            payer,
            config: config(),
            received: received(&nonce),
            custody: custody(&mint),
            recipient_token,
            mint,
            token_program: spl_token::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::ReceiveMessage { message, attestation }.data(),
    }
}
