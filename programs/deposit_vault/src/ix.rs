//! This program's instructions, built off chain (by the relayer and the tests). The accounts a caller
//! names are free parameters here on purpose: the program, not the builder, decides what is accepted.

use anchor_lang::{
    InstructionData, ToAccountMetas, prelude::Pubkey, solana_program::instruction::Instruction,
};
use anchor_spl::{
    associated_token::{self, get_associated_token_address, get_associated_token_address_with_program_id},
    token::spl_token,
};

use crate::DepositParams;

/// The PDA `emit_cpi!` signs its event self-invocations with.
pub fn event_authority() -> Pubkey {
    Pubkey::find_program_address(&[b"__event_authority"], &crate::ID).0
}

/// Where a bridging instruction names the account Circle's transmitter writes the message into: a fresh
/// keypair's, made by whoever signs the transaction (it must sign too), which replaces this placeholder
/// (nobody can sign for it: a transaction still naming it is refused).
pub const FRESH_MESSAGE_ACCOUNT: Pubkey = Pubkey::new_from_array(*b"fresh CCTP message account here!");

/// The CCTP v2 accounts of a burn by `owner` (a vault or the inbox) of `mint` for `destination_domain`,
/// at the programs the cluster's deployment names; the message account is [`FRESH_MESSAGE_ACCOUNT`].
pub fn cctp_burn(owner: &Pubkey, mint: &Pubkey, destination_domain: u32) -> crate::accounts::CctpBurn {
    use token_messenger_minter_v2::{
        DENYLIST_SEED, LOCAL_TOKEN_SEED, REMOTE_TOKEN_MESSENGER_SEED, TOKEN_MESSENGER_SEED, TOKEN_MINTER_SEED,
    };
    let (mt, tmm) = (crate::evm::MESSAGE_TRANSMITTER, crate::evm::TOKEN_MESSENGER_MINTER);
    let tmm_pda = |seeds: &[&[u8]]| Pubkey::find_program_address(seeds, &tmm).0;
    crate::accounts::CctpBurn {
        message_sent_event_data: FRESH_MESSAGE_ACCOUNT,
        sender_authority_pda: tmm_pda(&[message_transmitter_v2::SENDER_AUTHORITY_SEED]),
        denylist_account: tmm_pda(&[DENYLIST_SEED, owner.as_ref()]),
        message_transmitter: Pubkey::find_program_address(
            &[message_transmitter_v2::MESSAGE_TRANSMITTER_SEED],
            &mt,
        )
        .0,
        token_messenger: tmm_pda(&[TOKEN_MESSENGER_SEED]),
        remote_token_messenger: tmm_pda(&[
            REMOTE_TOKEN_MESSENGER_SEED,
            destination_domain.to_string().as_bytes(),
        ]),
        token_minter: tmm_pda(&[TOKEN_MINTER_SEED]),
        local_token: tmm_pda(&[LOCAL_TOKEN_SEED, mint.as_ref()]),
        message_transmitter_program: mt,
        token_messenger_minter_program: tmm,
        token_messenger_event_authority: tmm_pda(&[b"__event_authority"]),
        system_program: anchor_lang::system_program::ID,
    }
}

/// `settle(params)` of `mint` (owned by `token_program`: SPL Token or Token-2022) paying to `recipient`'s
/// associated token account, the vault account's rent to `rent_to` (the program accepts only the committed
/// recipient and the session's Solana refund target).
pub fn settle(
    payer: Pubkey,
    params: &DepositParams,
    mint: Pubkey,
    token_program: Pubkey,
    recipient: Pubkey,
    rent_to: Pubkey,
) -> Instruction {
    let vault = params.vault().0;
    let ata = |owner: &Pubkey| get_associated_token_address_with_program_id(owner, &mint, &token_program);
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Settle {
            payer,
            vault,
            mint,
            vault_token: ata(&vault),
            recipient,
            recipient_token: ata(&recipient),
            rent_to,
            token_program,
            associated_token_program: associated_token::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Settle { params: params.clone() }.data(),
    }
}

/// `refund(params)` of `mint` (owned by `token_program`: SPL Token or Token-2022) to `refund_owner` (the
/// program accepts only the session's Solana refund target, [`DepositParams::solana_refund_target`]).
pub fn refund(
    payer: Pubkey,
    params: &DepositParams,
    mint: Pubkey,
    token_program: Pubkey,
    refund_owner: Pubkey,
) -> Instruction {
    let vault = params.vault().0;
    let ata = |owner: &Pubkey| get_associated_token_address_with_program_id(owner, &mint, &token_program);
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Refund {
            payer,
            vault,
            mint,
            vault_token: ata(&vault),
            refund_owner,
            refund_token: ata(&refund_owner),
            token_program,
            associated_token_program: associated_token::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Refund { params: params.clone() }.data(),
    }
}

/// `bridge(params)` of `mint` through CCTP, the vault account's rent to `rent_to` (the program accepts only
/// the session's Solana refund target, and no account when there is none); the message account is
/// [`FRESH_MESSAGE_ACCOUNT`], for the signer to replace.
pub fn bridge(payer: Pubkey, params: &DepositParams, mint: Pubkey, rent_to: Option<Pubkey>) -> Instruction {
    let vault = params.vault().0;
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Bridge {
            payer,
            vault,
            mint,
            vault_token: get_associated_token_address(&vault, &mint),
            rent_to,
            cctp: cctp_burn(&vault, &mint, params.bridge_route().unwrap_or_default()),
            token_program: spl_token::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Bridge { params: params.clone() }.data(),
    }
}

/// `refund_home(params)` of `mint` (the bridged mint) through CCTP to the session's EVM receiver; for a
/// session with no Solana refund target. The message account is [`FRESH_MESSAGE_ACCOUNT`].
pub fn refund_home(payer: Pubkey, params: &DepositParams, mint: Pubkey) -> Instruction {
    let vault = params.vault().0;
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::RefundHome {
            payer,
            vault,
            mint,
            vault_token: get_associated_token_address(&vault, &mint),
            cctp: cctp_burn(&vault, &mint, crate::evm::cctp_domain(&params.to_chain_id).unwrap_or_default()),
            token_program: spl_token::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::RefundHome { params: params.clone() }.data(),
    }
}

/// `claim(params)` of the transfer the program recorded at `received`, minted to the inbox token account
/// of `mint`, paid to `recipient`'s associated token account.
pub fn claim(
    payer: Pubkey,
    params: &DepositParams,
    received: Pubkey,
    mint: Pubkey,
    recipient: Pubkey,
) -> Instruction {
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Claim {
            payer,
            received,
            claimed: claimed(&received),
            inbox: crate::inbox().0,
            mint,
            inbox_token: crate::inbox_token(&mint),
            recipient,
            recipient_token: get_associated_token_address(&recipient, &mint),
            token_program: spl_token::ID,
            associated_token_program: associated_token::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Claim { params: params.clone() }.data(),
    }
}

/// `send_back(params)` of the transfer the program recorded at `received` (bridged in from
/// `source_domain`), minted to the inbox token account of `mint`; the message account is
/// [`FRESH_MESSAGE_ACCOUNT`].
pub fn send_back(
    payer: Pubkey,
    params: &DepositParams,
    received: Pubkey,
    source_domain: u32,
    mint: Pubkey,
) -> Instruction {
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::SendBack {
            payer,
            received,
            claimed: claimed(&received),
            inbox: crate::inbox().0,
            mint,
            inbox_token: crate::inbox_token(&mint),
            cctp: cctp_burn(&crate::inbox().0, &mint, source_domain),
            token_program: spl_token::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::SendBack { params: params.clone() }.data(),
    }
}

/// `refund_inbound(params)` of the transfer the program recorded at `received`, minted to the inbox token
/// account of `mint`, paid to `refund_owner`'s associated token account (the program accepts only the
/// session's Solana refund target).
pub fn refund_inbound(
    payer: Pubkey,
    params: &DepositParams,
    received: Pubkey,
    mint: Pubkey,
    refund_owner: Pubkey,
) -> Instruction {
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::RefundInbound {
            payer,
            received,
            claimed: claimed(&received),
            inbox: crate::inbox().0,
            mint,
            inbox_token: crate::inbox_token(&mint),
            refund_owner,
            refund_token: get_associated_token_address(&refund_owner, &mint),
            token_program: spl_token::ID,
            associated_token_program: associated_token::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::RefundInbound { params: params.clone() }.data(),
    }
}

/// The claim record of the bridge message recorded at `received`.
pub fn claimed(received: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[crate::CLAIMED_SEED, received.as_ref()], &crate::ID).0
}

/// The program's record of the transfer the CCTP message with `nonce` delivered.
pub fn received(nonce: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[crate::RECEIVED_SEED, nonce], &crate::ID).0
}

/// `record(message, attestation)`: the program's record of a transfer Circle's transmitter (the
/// deployment's) delivered, paid for by `payer`.
pub fn record(payer: Pubkey, message: Vec<u8>, attestation: Vec<u8>) -> Instruction {
    let mt = crate::evm::MESSAGE_TRANSMITTER;
    let nonce = message_transmitter_v2::message::nonce_of(&message);
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Record {
            payer,
            message_transmitter: Pubkey::find_program_address(
                &[message_transmitter_v2::MESSAGE_TRANSMITTER_SEED],
                &mt,
            )
            .0,
            remote_token_messenger: Pubkey::find_program_address(
                &[
                    token_messenger_minter_v2::REMOTE_TOKEN_MESSENGER_SEED,
                    message_transmitter_v2::message::source_domain_of(&message).to_string().as_bytes(),
                ],
                &crate::evm::TOKEN_MESSENGER_MINTER,
            )
            .0,
            used_nonce: Pubkey::find_program_address(&[message_transmitter_v2::USED_NONCE_SEED, &nonce], &mt)
                .0,
            // A message too short to hold a burn is refused by the program; any key names it here.
            mint_recipient: message_transmitter_v2::message::MessageV2::parse(&message)
                .and_then(|m| message_transmitter_v2::message::BurnMessageV2::parse(&m.body))
                .map_or_else(Pubkey::default, |b| Pubkey::new_from_array(b.mint_recipient)),
            received: received(&nonce),
            system_program: anchor_lang::system_program::ID,
            event_authority: event_authority(),
            program: crate::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Record { message, attestation }.data(),
    }
}
