//! This program's instructions, built off chain (by the relayer and the tests). The accounts a caller
//! names are free parameters here on purpose: the program, not the builder, decides what is accepted.

use anchor_lang::{
    InstructionData, ToAccountMetas, prelude::Pubkey, solana_program::instruction::Instruction,
};
use anchor_spl::{
    associated_token::{self, get_associated_token_address},
    token::spl_token,
};

use crate::DepositParams;

/// The PDA `emit_cpi!` signs its event self-invocations with.
pub fn event_authority() -> Pubkey {
    Pubkey::find_program_address(&[b"__event_authority"], &crate::ID).0
}

/// `settle(params)` paying to `recipient`'s associated token account, the vault account's rent to
/// `rent_to` (the program accepts only the committed ones).
pub fn settle(
    payer: Pubkey,
    params: &DepositParams,
    mint: Pubkey,
    recipient: Pubkey,
    rent_to: Pubkey,
) -> Instruction {
    let vault = params.vault().0;
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Settle {
            payer,
            vault,
            mint,
            vault_token: get_associated_token_address(&vault, &mint),
            recipient,
            recipient_token: get_associated_token_address(&recipient, &mint),
            rent_to,
            token_program: spl_token::ID,
            associated_token_program: associated_token::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Settle { params: params.clone() }.data(),
    }
}

/// `refund(params)` of `mint` to `refund_owner` (the program accepts only the committed one).
pub fn refund(payer: Pubkey, params: &DepositParams, mint: Pubkey, refund_owner: Pubkey) -> Instruction {
    let vault = params.vault().0;
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Refund {
            payer,
            vault,
            mint,
            vault_token: get_associated_token_address(&vault, &mint),
            refund_owner,
            refund_token: get_associated_token_address(&refund_owner, &mint),
            token_program: spl_token::ID,
            associated_token_program: associated_token::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Refund { params: params.clone() }.data(),
    }
}

/// `bridge(params)` of `mint` through the local bridge, the vault account's rent to `rent_to`.
pub fn bridge(payer: Pubkey, params: &DepositParams, mint: Pubkey, rent_to: Pubkey) -> Instruction {
    let vault = params.vault().0;
    let config = local_bridge::ix::config();
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Bridge {
            payer,
            vault,
            mint,
            vault_token: get_associated_token_address(&vault, &mint),
            rent_to,
            bridge_config: config,
            bridge_custody: local_bridge::ix::custody(&mint),
            bridge_event_authority: Pubkey::find_program_address(&[b"__event_authority"], &local_bridge::ID)
                .0,
            bridge_program: local_bridge::ID,
            token_program: spl_token::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Bridge { params: params.clone() }.data(),
    }
}
