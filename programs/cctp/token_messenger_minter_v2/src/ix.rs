//! The stand-ins' instructions built off chain, with every account Circle's programs expect in Circle's
//! order, and the state accounts the devnet writes in place of Circle's admin instructions.

use anchor_lang::{
    AccountSerialize, InstructionData,
    prelude::Pubkey,
    solana_program::{instruction::AccountMeta, instruction::Instruction},
};
use anchor_spl::{associated_token, token};
use message_transmitter_v2::{
    AUTHORITY_SEED, MESSAGE_TRANSMITTER_SEED, MessageTransmitter, ReceiveMessageParams,
    SENDER_AUTHORITY_SEED, USED_NONCE_SEED, message,
};

use crate::{
    CUSTODY_SEED, DENYLIST_SEED, DepositForBurnParams, DepositForBurnWithHookParams, LOCAL_TOKEN_SEED,
    LocalToken, REMOTE_TOKEN_MESSENGER_SEED, RemoteTokenMessenger, TOKEN_MESSENGER_SEED, TOKEN_MINTER_SEED,
    TOKEN_PAIR_SEED, TokenMessenger, TokenMinter, TokenPair,
};

const MT: Pubkey = message_transmitter_v2::ID;
const TMM: Pubkey = crate::ID;

/// A PDA of the token messenger.
pub fn tmm_pda(seeds: &[&[u8]]) -> (Pubkey, u8) {
    Pubkey::find_program_address(seeds, &TMM)
}

/// A PDA of the message transmitter.
pub fn mt_pda(seeds: &[&[u8]]) -> (Pubkey, u8) {
    Pubkey::find_program_address(seeds, &MT)
}

/// The transmitter's state account.
pub fn message_transmitter() -> Pubkey {
    mt_pda(&[MESSAGE_TRANSMITTER_SEED]).0
}

/// The remote token messenger account of `domain`.
pub fn remote_token_messenger(domain: u32) -> Pubkey {
    tmm_pda(&[REMOTE_TOKEN_MESSENGER_SEED, domain.to_string().as_bytes()]).0
}

/// The custody account of `mint`.
pub fn custody(mint: &Pubkey) -> Pubkey {
    tmm_pda(&[CUSTODY_SEED, mint.as_ref()]).0
}

/// The used-nonce account of `nonce`.
pub fn used_nonce(nonce: &[u8; 32]) -> Pubkey {
    mt_pda(&[USED_NONCE_SEED, nonce]).0
}

fn burn_metas(
    owner: Pubkey,
    event_rent_payer: Pubkey,
    burn_token_account: Pubkey,
    mint: Pubkey,
    message_sent: Pubkey,
    destination_domain: u32,
) -> Vec<AccountMeta> {
    vec![
        AccountMeta::new_readonly(owner, true),
        AccountMeta::new(event_rent_payer, true),
        AccountMeta::new_readonly(tmm_pda(&[SENDER_AUTHORITY_SEED]).0, false),
        AccountMeta::new(burn_token_account, false),
        AccountMeta::new_readonly(tmm_pda(&[DENYLIST_SEED, owner.as_ref()]).0, false),
        AccountMeta::new(message_transmitter(), false),
        AccountMeta::new_readonly(tmm_pda(&[TOKEN_MESSENGER_SEED]).0, false),
        AccountMeta::new_readonly(remote_token_messenger(destination_domain), false),
        AccountMeta::new_readonly(tmm_pda(&[TOKEN_MINTER_SEED]).0, false),
        AccountMeta::new(tmm_pda(&[LOCAL_TOKEN_SEED, mint.as_ref()]).0, false),
        AccountMeta::new(mint, false),
        AccountMeta::new(message_sent, true),
        AccountMeta::new_readonly(MT, false),
        AccountMeta::new_readonly(TMM, false),
        AccountMeta::new_readonly(token::ID, false),
        AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
        AccountMeta::new_readonly(tmm_pda(&[b"__event_authority"]).0, false),
        AccountMeta::new_readonly(TMM, false),
    ]
}

/// `deposit_for_burn` of `owner`'s `burn_token_account`; `message_sent` is a fresh keypair that signs.
pub fn deposit_for_burn(
    owner: Pubkey,
    event_rent_payer: Pubkey,
    burn_token_account: Pubkey,
    mint: Pubkey,
    message_sent: Pubkey,
    params: DepositForBurnParams,
) -> Instruction {
    let accounts = burn_metas(
        owner,
        event_rent_payer,
        burn_token_account,
        mint,
        message_sent,
        params.destination_domain,
    );
    Instruction { program_id: TMM, accounts, data: crate::instruction::DepositForBurn { params }.data() }
}

/// `deposit_for_burn_with_hook`: the same accounts as [`deposit_for_burn`].
pub fn deposit_for_burn_with_hook(
    owner: Pubkey,
    event_rent_payer: Pubkey,
    burn_token_account: Pubkey,
    mint: Pubkey,
    message_sent: Pubkey,
    params: DepositForBurnWithHookParams,
) -> Instruction {
    let accounts = burn_metas(
        owner,
        event_rent_payer,
        burn_token_account,
        mint,
        message_sent,
        params.destination_domain,
    );
    Instruction {
        program_id: TMM,
        accounts,
        data: crate::instruction::DepositForBurnWithHook { params }.data(),
    }
}

/// `receive_message` of an attested burn of `mint`'s remote token, paying `recipient_token_account`, with
/// the token messenger's accounts as the remaining ones (fees to `fee_recipient`'s associated account).
/// `None` if `message` is not a burn message.
pub fn receive_message(
    payer: Pubkey,
    caller: Pubkey,
    mint: Pubkey,
    fee_recipient: Pubkey,
    message: Vec<u8>,
    attestation: Vec<u8>,
) -> Option<Instruction> {
    let parsed = message::MessageV2::parse(&message)?;
    let burn = message::BurnMessageV2::parse(&parsed.body)?;
    let domain = parsed.source_domain.to_string();
    let accounts = vec![
        AccountMeta::new(payer, true),
        AccountMeta::new_readonly(caller, true),
        AccountMeta::new_readonly(mt_pda(&[AUTHORITY_SEED, TMM.as_ref()]).0, false),
        AccountMeta::new_readonly(message_transmitter(), false),
        AccountMeta::new(used_nonce(&parsed.nonce), false),
        AccountMeta::new_readonly(TMM, false),
        AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
        AccountMeta::new_readonly(mt_pda(&[b"__event_authority"]).0, false),
        AccountMeta::new_readonly(MT, false),
        // What the token messenger's handler takes.
        AccountMeta::new_readonly(tmm_pda(&[TOKEN_MESSENGER_SEED]).0, false),
        AccountMeta::new_readonly(remote_token_messenger(parsed.source_domain), false),
        AccountMeta::new_readonly(tmm_pda(&[TOKEN_MINTER_SEED]).0, false),
        AccountMeta::new(tmm_pda(&[LOCAL_TOKEN_SEED, mint.as_ref()]).0, false),
        AccountMeta::new_readonly(tmm_pda(&[TOKEN_PAIR_SEED, domain.as_bytes(), &burn.burn_token]).0, false),
        AccountMeta::new(associated_token::get_associated_token_address(&fee_recipient, &mint), false),
        AccountMeta::new(Pubkey::new_from_array(burn.mint_recipient), false),
        AccountMeta::new(custody(&mint), false),
        AccountMeta::new_readonly(token::ID, false),
        AccountMeta::new_readonly(tmm_pda(&[b"__event_authority"]).0, false),
        AccountMeta::new_readonly(TMM, false),
    ];
    let data = message_transmitter_v2::instruction::ReceiveMessage {
        params: ReceiveMessageParams { message, attestation },
    }
    .data();
    Some(Instruction { program_id: MT, accounts, data })
}

/// A remote domain the devnet's token messenger serves: its token messenger and the token it burns.
#[derive(Debug, Clone, Copy)]
pub struct Remote {
    /// Its CCTP domain.
    pub domain: u32,
    /// Its token messenger, left-padded to 32 bytes.
    pub token_messenger: [u8; 32],
    /// The USDC it burns, left-padded to 32 bytes.
    pub token: [u8; 32],
}

/// What the devnet writes in place of Circle's admin instructions: each state account's address, owner
/// program and data. The custody token account is not among them (it is an SPL token account the devnet
/// creates and funds; [`custody`] names it, the minter's PDA owns it).
pub struct StateAccounts {
    /// (address, owner program, data).
    pub accounts: Vec<(Pubkey, Pubkey, Vec<u8>)>,
    /// The PDA that must own the custody token account.
    pub custody_authority: Pubkey,
}

fn serialized<T: AccountSerialize>(value: &T) -> Vec<u8> {
    let mut data = Vec::new();
    value.try_serialize(&mut data).expect("in-memory serialization");
    data
}

/// The state of both stand-ins for `mint`: `attesters` (EVM addresses) of whom `threshold` must sign, the
/// `remotes` it burns to and pays out from, fees paid to `fee_recipient`'s associated token account.
pub fn state_accounts(
    mint: Pubkey,
    attesters: &[[u8; 20]],
    threshold: u32,
    remotes: &[Remote],
    fee_recipient: Pubkey,
) -> StateAccounts {
    let admin = Pubkey::new_from_array([1; 32]);
    let mut enabled_attesters: Vec<Pubkey> = attesters
        .iter()
        .map(|a| {
            let mut padded = [0u8; 32];
            padded[12..].copy_from_slice(a);
            Pubkey::new_from_array(padded)
        })
        .collect();
    enabled_attesters.sort();
    let transmitter = MessageTransmitter {
        owner: admin,
        pending_owner: Pubkey::default(),
        attester_manager: admin,
        pauser: admin,
        paused: false,
        local_domain: 5,
        version: 1,
        signature_threshold: threshold,
        enabled_attesters,
        max_message_body_size: 8192,
    };
    let (minter, minter_bump) = tmm_pda(&[TOKEN_MINTER_SEED]);
    let (local_token, local_bump) = tmm_pda(&[LOCAL_TOKEN_SEED, mint.as_ref()]);
    let (custody, custody_bump) = tmm_pda(&[CUSTODY_SEED, mint.as_ref()]);
    let mut accounts = vec![
        (message_transmitter(), MT, serialized(&transmitter)),
        (
            tmm_pda(&[TOKEN_MESSENGER_SEED]).0,
            TMM,
            serialized(&TokenMessenger {
                denylister: admin,
                owner: admin,
                pending_owner: Pubkey::default(),
                message_body_version: 1,
                authority_bump: tmm_pda(&[SENDER_AUTHORITY_SEED]).1,
                fee_recipient,
                min_fee_controller: admin,
                min_fee: 0,
            }),
        ),
        (
            minter,
            TMM,
            serialized(&TokenMinter {
                token_controller: admin,
                pauser: admin,
                paused: false,
                bump: minter_bump,
            }),
        ),
        (
            local_token,
            TMM,
            serialized(&LocalToken {
                custody,
                mint,
                burn_limit_per_message: u64::MAX,
                messages_sent: 0,
                messages_received: 0,
                amount_sent: 0,
                amount_received: 0,
                bump: local_bump,
                custody_bump,
            }),
        ),
    ];
    for remote in remotes {
        let domain = remote.domain.to_string();
        accounts.push((
            remote_token_messenger(remote.domain),
            TMM,
            serialized(&RemoteTokenMessenger {
                domain: remote.domain,
                token_messenger: Pubkey::new_from_array(remote.token_messenger),
            }),
        ));
        let (pair, bump) = tmm_pda(&[TOKEN_PAIR_SEED, domain.as_bytes(), &remote.token]);
        accounts.push((
            pair,
            TMM,
            serialized(&TokenPair {
                remote_domain: remote.domain,
                remote_token: Pubkey::new_from_array(remote.token),
                local_token,
                bump,
            }),
        ));
    }
    StateAccounts { accounts, custody_authority: minter }
}
