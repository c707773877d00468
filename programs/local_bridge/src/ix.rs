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

/// `initialize()` for `mint`, paid by `payer`.
pub fn initialize(payer: Pubkey, mint: Pubkey) -> Instruction {
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Initialize {
            payer,
            config: config(),
            mint,
            custody: custody(&mint),
            token_program: spl_token::ID,
            associated_token_program: associated_token::ID,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Initialize {}.data(),
    }
}
