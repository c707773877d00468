//! The stand-ins at Circle's ids, run natively in `solana-program-test` with the real SPL Token and
//! Associated Token programs: their interface checked against what Circle published (discriminators from
//! Circle's IDLs, well-known PDAs of the deployed programs), a burn's `MessageSent` account byte for byte,
//! and an attested burn paid once, less its fee, with Circle's refusals.

#![allow(missing_docs, clippy::unwrap_used)]

use anchor_lang::{Discriminator, prelude::Pubkey, solana_program::system_instruction};
use anchor_spl::{associated_token, token::spl_token};
use message_transmitter_v2::message::{BurnMessageV2, MessageV2};
use solana_program_test::{BanksClientError, ProgramTest, ProgramTestContext, processor};
use solana_sdk::{
    instruction::{Instruction, InstructionError},
    program_pack::Pack,
    signature::Keypair,
    signer::Signer,
    transaction::{Transaction, TransactionError},
};
use token_messenger_minter_v2::{
    DepositForBurnParams, DepositForBurnWithHookParams, TokenMessengerError,
    ix::{self, Remote},
};

const BASE_DOMAIN: u32 = 6;
/// Circle's TokenMessengerV2 on the EVM chains, left-padded.
const EVM_MESSENGER: [u8; 32] =
    padded(alloy::primitives::address!("28b5a0e9C621a5BadaA536219b3a228C8168cf5d").0.0);
/// USDC on Base, left-padded.
const BASE_USDC: [u8; 32] =
    padded(alloy::primitives::address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913").0.0);
const LIQUIDITY: u64 = 1_000_000_000;

const fn padded(address: [u8; 20]) -> [u8; 32] {
    let mut word = [0u8; 32];
    let mut i = 0;
    while i < 20 {
        word[12 + i] = address[i];
        i += 1;
    }
    word
}

fn hex8(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every discriminator the interface uses is the one in Circle's published IDLs
/// (`examples/target/idl/{message_transmitter_v2,token_messenger_minter_v2}.json`), and the programs'
/// well-known PDAs are the addresses of Circle's deployed accounts.
#[test]
fn the_interface_is_circles() {
    use message_transmitter_v2 as mt;
    use token_messenger_minter_v2 as tmm;
    let table: [(&str, &[u8]); 17] = [
        ("d73c3d2e723780b0", tmm::instruction::DepositForBurn::DISCRIMINATOR),
        ("6ff53e83cc6cdf9b", tmm::instruction::DepositForBurnWithHook::DISCRIMINATOR),
        ("bafcef4656b46e5f", tmm::instruction::HandleReceiveFinalizedMessage::DISCRIMINATOR),
        ("c8a9af14c83ab63d", tmm::instruction::HandleReceiveUnfinalizedMessage::DISCRIMINATOR),
        ("26907fe11fe1ee19", mt::instruction::ReceiveMessage::DISCRIMINATOR),
        ("392822b2bd0a411a", mt::instruction::SendMessage::DISCRIMINATOR),
        ("83648538a6e1973c", mt::MessageSent::DISCRIMINATOR),
        ("4728b48e13cb23fc", mt::MessageTransmitter::DISCRIMINATOR),
        ("d4de9dfc8247b3ee", mt::UsedNonce::DISCRIMINATOR),
        ("e7442f4dadf19da6", mt::MessageReceived::DISCRIMINATOR),
        ("a204f23493f3dd60", tmm::TokenMessenger::DISCRIMINATOR),
        ("6973ae225fe98afc", tmm::RemoteTokenMessenger::DISCRIMINATOR),
        ("7a85543f399fabce", tmm::TokenMinter::DISCRIMINATOR),
        ("9f833aaac15480b6", tmm::LocalToken::DISCRIMINATOR),
        ("11d62db0e595c547", tmm::TokenPair::DISCRIMINATOR),
        ("90fc9192064aa7eb", tmm::DepositForBurn::DISCRIMINATOR),
        ("4b43e546a27e0047", tmm::MintAndWithdraw::DISCRIMINATOR),
    ];
    for (circle, ours) in table {
        assert_eq!(hex8(ours), circle);
    }
    let usdc: Pubkey = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v".parse().unwrap();
    let known = [
        (ix::message_transmitter(), "W1k5ijkaSTo5iA5zChNpfzcy796fLhkBxfmJuR8W8HU"),
        (ix::tmm_pda(&[b"sender_authority"]).0, "45hzrGLQ2EGo1Ln7QpXjDwb589GDQ9H2aEXXw6ds6BFE"),
        (ix::tmm_pda(&[b"token_messenger"]).0, "AawthJCGRmggpfv9MMWV6Jmo9cue4gL9wUZgRBShg58W"),
        (ix::tmm_pda(&[b"token_minter"]).0, "E1bQJ8eMMn3zmeSewW3HQ8zmJr7KR75JonbwAtWx2bux"),
        (
            ix::mt_pda(&[b"message_transmitter_authority", tmm::ID.as_ref()]).0,
            "DsAdX23SVpTPYhKP2ua1mx8gTPqLyzx7a43cyxYjS2up",
        ),
        (ix::custody(&usdc), "6xTBTqJMBr5m7BKqVxmW2x11DfqUwtD3TJsqpxELx72L"),
        (ix::tmm_pda(&[b"local_token", usdc.as_ref()]).0, "CRBBbuLCyrkQy4dCTHxqstSmDQv4ajBeUVb9qUdMVaP1"),
        (ix::remote_token_messenger(6), "BwmDYtQ7jFj8ddaTmKa7fz9hyuK9n58mvc8G7DYNcKjM"),
        (ix::remote_token_messenger(0), "3EzN2mcmdfSNGXRCAixSpTteK6ywdmFDZZWvkMnznFt9"),
    ];
    for (ours, circle) in known {
        assert_eq!(ours.to_string(), circle);
    }
    // The bumps Circle's state stores (its signing depends on them).
    assert_eq!(ix::tmm_pda(&[b"sender_authority"]).1, 254);
    assert_eq!(ix::tmm_pda(&[b"token_minter"]).1, 253);
    // A plain burn's instruction data is 96 bytes, as Circle's.
    let data = ix::deposit_for_burn(
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        usdc,
        Pubkey::new_unique(),
        params(1, 0),
    )
    .data;
    assert_eq!(data.len(), 96);
}

struct Env {
    ctx: ProgramTestContext,
    mint: Pubkey,
    authority: Keypair,
    attesters: Vec<alloy::signers::local::PrivateKeySigner>,
    fee_recipient: Pubkey,
}

fn attesters() -> Vec<alloy::signers::local::PrivateKeySigner> {
    let mut keys: Vec<_> = (0xa1u8..=0xa3)
        .map(|b| {
            alloy::signers::local::PrivateKeySigner::from_bytes(&alloy::primitives::B256::repeat_byte(b))
                .unwrap()
        })
        .collect();
    keys.sort_by_key(|k| k.address());
    keys
}

/// Both stand-ins at Circle's ids, USDC, the state the devnet writes (three attesters, two must sign;
/// Base registered), custody funded, the fee recipient's account.
async fn env() -> Env {
    let mut test = ProgramTest::new(
        "token_messenger_minter_v2",
        token_messenger_minter_v2::ID,
        processor!(token_messenger_minter_v2::native::process),
    );
    test.add_program(
        "message_transmitter_v2",
        message_transmitter_v2::ID,
        processor!(message_transmitter_v2::native::process),
    );
    test.prefer_bpf(false);
    let authority = Keypair::new();
    let mint = Pubkey::new_unique();
    let rent = solana_sdk::rent::Rent::default();
    let mut data = vec![0; spl_token::state::Mint::LEN];
    spl_token::state::Mint {
        mint_authority: Some(authority.pubkey()).into(),
        supply: 0,
        decimals: 6,
        is_initialized: true,
        freeze_authority: None.into(),
    }
    .pack_into_slice(&mut data);
    test.add_account(
        mint,
        solana_sdk::account::Account {
            lamports: rent.minimum_balance(data.len()),
            data,
            owner: spl_token::ID,
            ..Default::default()
        },
    );
    let attesters = attesters();
    let fee_recipient = Pubkey::new_unique();
    let addresses: Vec<[u8; 20]> = attesters.iter().map(|k| k.address().into_array()).collect();
    let remote = Remote { domain: BASE_DOMAIN, token_messenger: EVM_MESSENGER, token: BASE_USDC };
    let state = ix::state_accounts(mint, &addresses, 2, &[remote], fee_recipient);
    for (address, owner, data) in state.accounts {
        let lamports = rent.minimum_balance(data.len());
        test.add_account(
            address,
            solana_sdk::account::Account { lamports, data, owner, ..Default::default() },
        );
    }
    // Custody: an SPL token account at its PDA, owned by the minter's PDA, funded.
    let mut data = vec![0; spl_token::state::Account::LEN];
    spl_token::state::Account {
        mint,
        owner: state.custody_authority,
        amount: LIQUIDITY,
        state: spl_token::state::AccountState::Initialized,
        ..Default::default()
    }
    .pack_into_slice(&mut data);
    test.add_account(
        ix::custody(&mint),
        solana_sdk::account::Account {
            lamports: rent.minimum_balance(data.len()),
            data,
            owner: spl_token::ID,
            ..Default::default()
        },
    );
    let mut ctx = test.start_with_context().await;
    let payer = ctx.payer.pubkey();
    let create = associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
    send(&mut ctx, &[create(&payer, &fee_recipient, &mint, &spl_token::ID)], &[]).await.unwrap();
    Env { ctx, mint, authority, attesters, fee_recipient }
}

async fn send(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), BanksClientError> {
    let blockhash = ctx.banks_client.get_latest_blockhash().await.unwrap();
    let mut all = vec![&ctx.payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&ctx.payer.pubkey()), &all, blockhash);
    ctx.banks_client.process_transaction(tx).await
}

fn custom(result: Result<(), BanksClientError>) -> Option<u32> {
    match result.err()?.unwrap() {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(code),
        _ => None,
    }
}

fn code(error: TokenMessengerError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + error as u32
}

fn mt_code(error: message_transmitter_v2::MessageTransmitterError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + error as u32
}

async fn balance(ctx: &mut ProgramTestContext, account: Pubkey) -> u64 {
    let account = ctx.banks_client.get_account(account).await.unwrap().unwrap();
    spl_token::state::Account::unpack(&account.data).unwrap().amount
}

/// A wallet holding `amount` of the mint in its associated account.
async fn holder(env: &mut Env, amount: u64) -> (Keypair, Pubkey) {
    let owner = Keypair::new();
    let account = associated_token::get_associated_token_address(&owner.pubkey(), &env.mint);
    let payer = env.ctx.payer.pubkey();
    let ixs = [
        system_instruction::transfer(&payer, &owner.pubkey(), 100_000_000),
        associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &payer,
            &owner.pubkey(),
            &env.mint,
            &spl_token::ID,
        ),
        spl_token::instruction::mint_to(&spl_token::ID, &env.mint, &account, &env.authority.pubkey(), &[], amount)
            .unwrap(),
    ];
    let authority = env.authority.insecure_clone();
    send(&mut env.ctx, &ixs, &[&authority]).await.unwrap();
    (owner, account)
}

fn params(amount: u64, max_fee: u64) -> DepositForBurnParams {
    DepositForBurnParams {
        amount,
        destination_domain: BASE_DOMAIN,
        mint_recipient: Pubkey::new_from_array(padded([0xbe; 20])),
        destination_caller: Pubkey::default(),
        max_fee,
        min_finality_threshold: 2000,
    }
}

/// A burn takes the owner's tokens out of supply and writes Circle's `MessageSent` account: owned by the
/// transmitter, the rent payer and time, and at byte 52 the message Circle's programs write (zero nonce,
/// the token messenger as sender, Base's token messenger as recipient, the burn body). With a hook, the
/// hook follows the body; an empty hook, a fee not below the amount, a domain without a registered
/// messenger and a denylisted owner are refused.
#[tokio::test]
async fn a_burn_writes_circles_message_sent_account() {
    let mut env = env().await;
    let (owner, account) = holder(&mut env, 10_000_000).await;
    let rent_payer = env.ctx.payer.insecure_clone();
    let sent = Keypair::new();
    let burn = ix::deposit_for_burn(
        owner.pubkey(),
        rent_payer.pubkey(),
        account,
        env.mint,
        sent.pubkey(),
        params(3_000_000, 300),
    );
    send(&mut env.ctx, &[burn], &[&owner, &sent]).await.unwrap();
    assert_eq!(balance(&mut env.ctx, account).await, 7_000_000);
    let mint = env.ctx.banks_client.get_account(env.mint).await.unwrap().unwrap();
    assert_eq!(spl_token::state::Mint::unpack(&mint.data).unwrap().supply, 7_000_000, "burnt, not held");

    let stored = env.ctx.banks_client.get_account(sent.pubkey()).await.unwrap().unwrap();
    assert_eq!(stored.owner, message_transmitter_v2::ID);
    assert_eq!(stored.data.len(), 428, "Circle's size for a plain burn");
    assert_eq!(&stored.data[..8], message_transmitter_v2::MessageSent::DISCRIMINATOR);
    assert_eq!(&stored.data[8..40], rent_payer.pubkey().as_ref());
    let expected = MessageV2 {
        version: 1,
        source_domain: 5,
        destination_domain: BASE_DOMAIN,
        nonce: [0; 32],
        sender: token_messenger_minter_v2::ID.to_bytes(),
        recipient: EVM_MESSENGER,
        destination_caller: [0; 32],
        min_finality_threshold: 2000,
        finality_threshold_executed: 0,
        body: BurnMessageV2 {
            version: 1,
            burn_token: env.mint.to_bytes(),
            mint_recipient: padded([0xbe; 20]),
            amount: 3_000_000,
            message_sender: owner.pubkey().to_bytes(),
            max_fee: 300,
            fee_executed: 0,
            expiration_block: 0,
            hook_data: vec![],
        }
        .encode(),
    }
    .encode();
    assert_eq!(&stored.data[48..52], &(expected.len() as u32).to_le_bytes());
    assert_eq!(&stored.data[52..], &expected[..]);

    // With a hook: the hook is the body's tail.
    let sent = Keypair::new();
    let p = params(1_000_000, 0);
    let hooked = DepositForBurnWithHookParams {
        amount: p.amount,
        destination_domain: p.destination_domain,
        mint_recipient: p.mint_recipient,
        destination_caller: p.destination_caller,
        max_fee: p.max_fee,
        min_finality_threshold: p.min_finality_threshold,
        hook_data: vec![7; 32],
    };
    let burn = ix::deposit_for_burn_with_hook(
        owner.pubkey(),
        rent_payer.pubkey(),
        account,
        env.mint,
        sent.pubkey(),
        hooked.clone(),
    );
    send(&mut env.ctx, &[burn], &[&owner, &sent]).await.unwrap();
    let stored = env.ctx.banks_client.get_account(sent.pubkey()).await.unwrap().unwrap();
    assert_eq!(stored.data.len(), 428 + 32);
    assert_eq!(&stored.data[52 + 376..], &[7; 32]);

    // Refusals, each changing nothing.
    let empty_hook = DepositForBurnWithHookParams { hook_data: vec![], ..hooked };
    let sent = Keypair::new();
    let burn = ix::deposit_for_burn_with_hook(
        owner.pubkey(),
        rent_payer.pubkey(),
        account,
        env.mint,
        sent.pubkey(),
        empty_hook,
    );
    assert_eq!(
        custom(send(&mut env.ctx, &[burn], &[&owner, &sent]).await),
        Some(code(TokenMessengerError::InvalidHookData))
    );
    let sent = Keypair::new();
    let burn = ix::deposit_for_burn(
        owner.pubkey(),
        rent_payer.pubkey(),
        account,
        env.mint,
        sent.pubkey(),
        params(1_000, 1_000),
    );
    assert_eq!(
        custom(send(&mut env.ctx, &[burn], &[&owner, &sent]).await),
        Some(code(TokenMessengerError::MaxFeeMustBeLessThanAmount))
    );
    // Domain 3's parameters with Base's messenger account.
    let mut burn = ix::deposit_for_burn(
        owner.pubkey(),
        rent_payer.pubkey(),
        account,
        env.mint,
        sent.pubkey(),
        params(1_000, 0),
    );
    burn.data[16..20].copy_from_slice(&3u32.to_le_bytes());
    assert_eq!(
        custom(send(&mut env.ctx, &[burn], &[&owner, &sent]).await),
        Some(code(TokenMessengerError::InvalidDestinationDomain))
    );
    // A denylisted owner: an account at its denylist PDA.
    let denylist = ix::tmm_pda(&[b"denylist_account", owner.pubkey().as_ref()]).0;
    let mut account_data =
        env.ctx.banks_client.get_account(env.fee_recipient).await.unwrap().unwrap_or_default();
    account_data.data = vec![1; 40];
    account_data.lamports = 1_000_000_000;
    account_data.owner = token_messenger_minter_v2::ID;
    env.ctx.set_account(&denylist, &account_data.into());
    let burn = ix::deposit_for_burn(
        owner.pubkey(),
        rent_payer.pubkey(),
        account,
        env.mint,
        sent.pubkey(),
        params(1_000, 0),
    );
    assert_eq!(
        custom(send(&mut env.ctx, &[burn], &[&owner, &sent]).await),
        Some(code(TokenMessengerError::DenylistedAccount))
    );
    assert_eq!(balance(&mut env.ctx, account).await, 6_000_000);
}

/// A burn on Base for `recipient`, as Iris attests it: nonce, finality and fee filled in.
fn attested_message(
    recipient: Pubkey,
    amount: u64,
    fee_executed: u64,
    nonce: u8,
    finality: u32,
    caller: [u8; 32],
) -> Vec<u8> {
    MessageV2 {
        version: 1,
        source_domain: BASE_DOMAIN,
        destination_domain: 5,
        nonce: [nonce; 32],
        sender: EVM_MESSENGER,
        recipient: token_messenger_minter_v2::ID.to_bytes(),
        destination_caller: caller,
        min_finality_threshold: finality,
        finality_threshold_executed: finality,
        body: BurnMessageV2 {
            version: 1,
            burn_token: BASE_USDC,
            mint_recipient: recipient.to_bytes(),
            amount,
            message_sender: padded([0x11; 20]),
            max_fee: 500,
            fee_executed,
            expiration_block: 0,
            hook_data: vec![],
        }
        .encode(),
    }
    .encode()
}

fn attest(env: &Env, message: &[u8], signers: &[usize]) -> Vec<u8> {
    use alloy::signers::SignerSync;
    let hash = alloy::primitives::keccak256(message);
    signers
        .iter()
        .flat_map(|i| env.attesters[*i].sign_hash_sync(&hash).unwrap().as_bytes().to_vec())
        .collect()
}

/// Delivers `message` attested by `signers` (indices into the sorted attesters), with `caller` signing
/// as the caller (else the payer).
async fn receive(
    env: &mut Env,
    message: &[u8],
    signers: &[usize],
    caller: Option<&Keypair>,
) -> Result<(), BanksClientError> {
    let payer = env.ctx.payer.pubkey();
    let attestation = attest(env, message, signers);
    let by = caller.map_or(payer, Signer::pubkey);
    let ix =
        ix::receive_message(payer, by, env.mint, env.fee_recipient, message.to_vec(), attestation).unwrap();
    let signers: Vec<&Keypair> = caller.into_iter().collect();
    send(&mut env.ctx, &[ix], &signers).await
}

/// An attested burn from Base pays its recipient the amount less the fee executed from custody, and the
/// fee to the fee recipient, once per nonce; a message naming a destination caller is delivered only by
/// it; a fast message below the least finality, signatures out of order, too few signatures, a fee over
/// the burn's maximum and a sender that is not Base's token messenger are refused.
#[tokio::test]
async fn an_attested_burn_is_paid_once_less_its_fee_and_circles_refusals_hold() {
    use message_transmitter_v2::MessageTransmitterError as Mt;
    let mut env = env().await;
    let (_, recipient) = holder(&mut env, 0).await;
    let fee_account = associated_token::get_associated_token_address(&env.fee_recipient, &env.mint);

    let message = attested_message(recipient, 2_000_000, 200, 1, 2000, [0; 32]);
    receive(&mut env, &message, &[0, 1], None).await.unwrap();
    assert_eq!(balance(&mut env.ctx, recipient).await, 1_999_800);
    assert_eq!(balance(&mut env.ctx, fee_account).await, 200);
    assert_eq!(balance(&mut env.ctx, ix::custody(&env.mint)).await, LIQUIDITY - 2_000_000);
    let nonce = env.ctx.banks_client.get_account(ix::used_nonce(&[1; 32])).await.unwrap().unwrap();
    assert_eq!(nonce.owner, message_transmitter_v2::ID);
    // The same nonce again, signed by another pair (another transaction): refused by the nonce's account.
    assert!(receive(&mut env, &message, &[0, 2], None).await.is_err(), "received once");
    assert_eq!(balance(&mut env.ctx, recipient).await, 1_999_800);

    // A destination caller: only it delivers.
    let caller = Keypair::new();
    let message = attested_message(recipient, 1_000_000, 0, 2, 2000, caller.pubkey().to_bytes());
    assert_eq!(
        custom(receive(&mut env, &message, &[0, 2], None).await),
        Some(mt_code(Mt::InvalidDestinationCaller))
    );
    receive(&mut env, &message, &[0, 2], Some(&caller)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, recipient).await, 2_999_800);

    // A fast transfer at 1000 goes through the unfinalized handler; below 500 it is refused.
    let message = attested_message(recipient, 1_000_000, 0, 3, 1000, [0; 32]);
    receive(&mut env, &message, &[1, 2], None).await.unwrap();
    assert_eq!(balance(&mut env.ctx, recipient).await, 3_999_800);
    let message = attested_message(recipient, 1_000_000, 0, 4, 400, [0; 32]);
    assert_eq!(
        custom(receive(&mut env, &message, &[1, 2], None).await),
        Some(code(TokenMessengerError::UnsupportedFinalityThreshold))
    );

    // Attestation shapes.
    let message = attested_message(recipient, 1_000_000, 0, 5, 2000, [0; 32]);
    for (signers, error) in [
        (vec![1, 0], Mt::InvalidSignatureOrderOrDupe),
        (vec![0], Mt::InvalidAttestationLength),
        (vec![0, 1, 2], Mt::InvalidAttestationLength),
    ] {
        assert_eq!(
            custom(receive(&mut env, &message, &signers, None).await),
            Some(mt_code(error)),
            "{signers:?}"
        );
    }
    // A fee over the burn's maximum (500).
    let message = attested_message(recipient, 1_000_000, 501, 6, 2000, [0; 32]);
    assert_eq!(
        custom(receive(&mut env, &message, &[0, 1], None).await),
        Some(code(TokenMessengerError::FeeExceedsMaxFee))
    );
    // A sender that is not Base's registered token messenger.
    let mut message = attested_message(recipient, 1_000_000, 0, 7, 2000, [0; 32]);
    message[44..76].copy_from_slice(&[0x66; 32]);
    assert_eq!(
        custom(receive(&mut env, &message, &[0, 1], None).await),
        Some(code(TokenMessengerError::InvalidTokenMessenger))
    );
    assert_eq!(balance(&mut env.ctx, recipient).await, 3_999_800, "no refusal paid anything");
}
