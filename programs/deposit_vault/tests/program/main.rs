//! The deposit-vault program run natively inside `solana-program-test`, against the real SPL Token,
//! Token-2022 and Associated Token Account programs program-test loads (see ../shared/TOOLCHAIN.md): every
//! instruction, every guard with the attack it stops, events decoded from the self-CPI `emit_cpi!` makes,
//! rent returned. Compute units of our own native code are not metered here; the SPL CPIs are (printed).
//!
//! One test binary; a module per concern: [`encoding`] (the commitment's bytes, the EVM receiver, ids),
//! [`settle`], [`refund`] (refund targets, Token-2022, refund home), [`bridge`], [`inbox`] (transfers
//! bridged in), [`record`] (the program's record of what Circle's transmitter delivered).

#![allow(missing_docs, clippy::unwrap_used)]

mod bridge;
mod encoding;
mod inbox;
mod record;
mod refund;
mod settle;

use anchor_lang::{Discriminator, prelude::Pubkey, solana_program::system_instruction};
use anchor_spl::{
    associated_token,
    token::spl_token,
    token_2022::{self, spl_token_2022},
};
use deposit_vault::{DepositParams, SOLANA_CHAIN_ID, VaultError, u64_word};
use solana_program_test::{BanksClientError, ProgramTest, ProgramTestContext, processor};
use solana_sdk::{
    clock::Clock,
    instruction::{Instruction, InstructionError},
    program_pack::Pack,
    signature::Keypair,
    signer::Signer,
    transaction::{Transaction, TransactionError},
};
use spl_token_2022::extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions};

const NOW: i64 = 1_750_000_000;
const EXPIRES: u64 = 1_750_003_600;
const LIQUIDITY: u64 = 1_000_000_000;
/// The EVM chains' token messenger (left-padded), as Circle's messenger on Solana registers it for every
/// domain.
const EVM_MESSENGER: [u8; 32] = {
    let mut word = [0x11; 32];
    let mut i = 0;
    while i < 12 {
        word[i] = 0;
        i += 1;
    }
    word
};
/// Who Circle's messenger pays executed fees to (its associated account exists).
const FEE_RECIPIENT: Pubkey = Pubkey::new_from_array([0xfe; 32]);
/// USDC on Base, as the session names it (the token the bridge delivers there).
const BASE_USDC: [u8; 20] = alloy::primitives::address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913").0.0;

struct Env {
    ctx: ProgramTestContext,
    /// The bridged mint (USDC, at its address, as the devnet creates it).
    mint: Pubkey,
    /// Any other classic SPL mint.
    other_mint: Pubkey,
    /// Mint authority of both.
    authority: Keypair,
}

/// The programs, USDC at its address with `authority` as mint authority, Circle's CCTP v2 stand-ins with
/// liquidity in custody, and the inbox token account.
async fn env() -> Env {
    let (test, authority) = program_test();
    let mut ctx = test.start_with_context().await;
    set_time(&mut ctx, NOW).await;
    let mint = USDC;
    let other_mint = create_mint(&mut ctx, &authority, 6).await;
    let payer = ctx.payer.pubkey();
    let inbox = deposit_vault::inbox().0;
    // The inbox token account exists once per mint (the devnet creates it at start).
    let ixs = [associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &payer, &inbox, &mint, &spl_token::ID)];
    send(&mut ctx, &ixs, &[]).await.unwrap();
    Env { ctx, mint, other_mint, authority }
}

/// The bridged mint (USDC at its address, as the devnet creates it).
const USDC: Pubkey = deposit_vault::evm::BRIDGED_MINT;

/// Both programs registered natively, and USDC at its address (mint authority: the returned keypair).
fn program_test() -> (ProgramTest, Keypair) {
    let mut test =
        ProgramTest::new("deposit_vault", deposit_vault::ID, processor!(deposit_vault::native::process));
    test.add_program(
        "token_messenger_minter_v2",
        token_messenger_minter_v2::ID,
        processor!(token_messenger_minter_v2::native::process),
    );
    test.add_program(
        "message_transmitter_v2",
        message_transmitter_v2::ID,
        processor!(message_transmitter_v2::native::process),
    );
    // Circle's CCTP v2 state as the devnet writes it: every route's domain served, the EVM messenger at
    // one address.
    let remotes: Vec<_> = deposit_vault::evm::ROUTES
        .iter()
        .map(|route| {
            let mut token = [0u8; 32];
            token[12..].copy_from_slice(&route.usdc);
            token_messenger_minter_v2::ix::Remote {
                domain: route.domain,
                token_messenger: EVM_MESSENGER,
                token,
            }
        })
        .collect();
    let attesters = [attester().address().into_array()];
    let state = token_messenger_minter_v2::ix::state_accounts(USDC, &attesters, 1, &remotes, FEE_RECIPIENT);
    for (address, owner, data) in state.accounts {
        let lamports = solana_sdk::rent::Rent::default().minimum_balance(data.len());
        test.add_account(
            address,
            solana_sdk::account::Account { lamports, data, owner, ..Default::default() },
        );
    }
    // Circle's custody of USDC on Solana (what its messenger pays deliveries from), and the fee
    // recipient's account.
    let usdc = USDC;
    for (address, owner, amount) in [
        (token_messenger_minter_v2::ix::custody(&usdc), state.custody_authority, LIQUIDITY),
        (anchor_spl::associated_token::get_associated_token_address(&FEE_RECIPIENT, &usdc), FEE_RECIPIENT, 0),
    ] {
        let mut data = vec![0; spl_token::state::Account::LEN];
        spl_token::state::Account {
            mint: usdc,
            owner,
            amount,
            state: spl_token::state::AccountState::Initialized,
            ..Default::default()
        }
        .pack_into_slice(&mut data);
        let lamports = solana_sdk::rent::Rent::default().minimum_balance(data.len());
        test.add_account(
            address,
            solana_sdk::account::Account { lamports, data, owner: spl_token::ID, ..Default::default() },
        );
    }
    test.prefer_bpf(false);
    let authority = Keypair::new();
    let mut data = vec![0; spl_token::state::Mint::LEN];
    spl_token::state::Mint {
        mint_authority: Some(authority.pubkey()).into(),
        // What custody holds (burns lower the supply).
        supply: LIQUIDITY,
        decimals: 6,
        is_initialized: true,
        freeze_authority: None.into(),
    }
    .pack_into_slice(&mut data);
    let lamports = solana_sdk::rent::Rent::default().minimum_balance(data.len());
    let account = solana_sdk::account::Account { lamports, data, owner: spl_token::ID, ..Default::default() };
    test.add_account(USDC, account);
    (test, authority)
}

/// The devnet attester's stand-in: its signature of a message's hash attests it.
fn attester() -> alloy::signers::local::PrivateKeySigner {
    alloy::signers::local::PrivateKeySigner::from_bytes(&alloy::primitives::B256::repeat_byte(0xa7)).unwrap()
}

async fn set_time(ctx: &mut ProgramTestContext, unix: i64) {
    let mut clock: Clock = ctx.banks_client.get_sysvar().await.unwrap();
    clock.unix_timestamp = unix;
    ctx.set_sysvar(&clock);
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

async fn create_mint(ctx: &mut ProgramTestContext, authority: &Keypair, decimals: u8) -> Pubkey {
    let mint = Keypair::new();
    let rent = ctx.banks_client.get_rent().await.unwrap().minimum_balance(spl_token::state::Mint::LEN);
    let ixs = [
        system_instruction::create_account(
            &ctx.payer.pubkey(),
            &mint.pubkey(),
            rent,
            spl_token::state::Mint::LEN as u64,
            &spl_token::ID,
        ),
        spl_token::instruction::initialize_mint2(
            &spl_token::ID,
            &mint.pubkey(),
            &authority.pubkey(),
            None,
            decimals,
        )
        .unwrap(),
    ];
    send(ctx, &ixs, &[&mint]).await.unwrap();
    mint.pubkey()
}

/// A Token-2022 mint, with a transfer fee of `fee_bps` (capped at `max_fee`) when given.
async fn create_mint_2022(
    ctx: &mut ProgramTestContext,
    authority: &Keypair,
    decimals: u8,
    fee: Option<(u16, u64)>,
) -> Pubkey {
    let mint = Keypair::new();
    let extensions: Vec<ExtensionType> = fee.iter().map(|_| ExtensionType::TransferFeeConfig).collect();
    let len = ExtensionType::try_calculate_account_len::<spl_token_2022::state::Mint>(&extensions).unwrap();
    let rent = ctx.banks_client.get_rent().await.unwrap().minimum_balance(len);
    let mut ixs = vec![system_instruction::create_account(
        &ctx.payer.pubkey(),
        &mint.pubkey(),
        rent,
        len as u64,
        &token_2022::ID,
    )];
    if let Some((bps, max)) = fee {
        ixs.push(
            spl_token_2022::extension::transfer_fee::instruction::initialize_transfer_fee_config(
                &token_2022::ID,
                &mint.pubkey(),
                Some(&authority.pubkey()),
                Some(&authority.pubkey()),
                bps,
                max,
            )
            .unwrap(),
        );
    }
    ixs.push(
        spl_token_2022::instruction::initialize_mint2(
            &token_2022::ID,
            &mint.pubkey(),
            &authority.pubkey(),
            None,
            decimals,
        )
        .unwrap(),
    );
    send(ctx, &ixs, &[&mint]).await.unwrap();
    mint.pubkey()
}

fn ata(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    associated_token::get_associated_token_address(owner, mint)
}

fn ata_2022(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    associated_token::get_associated_token_address_with_program_id(owner, mint, &token_2022::ID)
}

const MAIN: bool = false;
const OTHER: bool = true;

/// A payer's deposit as the relayer's `serializedTx` builds it: create the vault token account
/// idempotently, then `transferChecked`. Minted to `payer` first.
async fn deposit(env: &mut Env, params: &DepositParams, other: bool, amount: u64) -> Keypair {
    let mint = if other { env.other_mint } else { env.mint };
    deposit_of(env, params, mint, spl_token::ID, amount).await
}

/// [`deposit`] of any `mint` of `token_program` (SPL Token or Token-2022), 6 decimals.
async fn deposit_of(
    env: &mut Env,
    params: &DepositParams,
    mint: Pubkey,
    token_program: Pubkey,
    amount: u64,
) -> Keypair {
    use associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent as create;
    let payer = Keypair::new();
    let own = associated_token::get_associated_token_address_with_program_id(
        &payer.pubkey(),
        &mint,
        &token_program,
    );
    let fund = system_instruction::transfer(&env.ctx.payer.pubkey(), &payer.pubkey(), 1_000_000_000);
    let create_own = create(&env.ctx.payer.pubkey(), &payer.pubkey(), &mint, &token_program);
    let mint_to = spl_token_2022::instruction::mint_to(
        &token_program,
        &mint,
        &own,
        &env.authority.pubkey(),
        &[],
        amount,
    )
    .unwrap();
    let authority = env.authority.insecure_clone();
    send(&mut env.ctx, &[fund, create_own, mint_to], &[&authority]).await.unwrap();

    let vault = params.vault().0;
    let vault_token =
        associated_token::get_associated_token_address_with_program_id(&vault, &mint, &token_program);
    let ixs = [
        create(&payer.pubkey(), &vault, &mint, &token_program),
        spl_token_2022::instruction::transfer_checked(
            &token_program,
            &own,
            &mint,
            &vault_token,
            &payer.pubkey(),
            &[],
            amount,
            6,
        )
        .unwrap(),
    ];
    let blockhash = env.ctx.banks_client.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(&ixs, Some(&payer.pubkey()), &[&payer], blockhash);
    env.ctx.banks_client.process_transaction(tx).await.unwrap();
    payer
}

/// A Solana-destination session paying `recipient`, refunding to the Solana key `refund`, no minimum.
fn params(env: &Env, recipient: Pubkey, refund: Pubkey) -> DepositParams {
    DepositParams {
        session_id: [7; 32],
        to_chain_id: u64_word(SOLANA_CHAIN_ID),
        to_token: env.mint.to_bytes(),
        to_address: recipient.to_bytes(),
        amount: u64_word(10_000_000),
        min_amount: [0; 32],
        final_call: vec![],
        refund_address: [0; 32],
        solana_refund_address: refund.to_bytes(),
        expires_at: EXPIRES,
    }
}

/// A Base-destination session (USDC to an EVM address), refunding on Solana to `refund` (zero: none).
fn evm_params(env: &Env, refund: Pubkey) -> DepositParams {
    DepositParams {
        to_chain_id: u64_word(8453),
        to_token: deposit_vault::evm::word(&BASE_USDC),
        to_address: u64_word(0xd0d0),
        ..params(env, Keypair::new().pubkey(), refund)
    }
}

/// A token account's balance (SPL Token or Token-2022), `None` when it does not exist.
async fn balance(ctx: &mut ProgramTestContext, account: Pubkey) -> Option<u64> {
    let account = ctx.banks_client.get_account(account).await.unwrap()?;
    Some(StateWithExtensions::<spl_token_2022::state::Account>::unpack(&account.data).unwrap().base.amount)
}

/// The transfer fees withheld in a Token-2022 account.
async fn withheld(ctx: &mut ProgramTestContext, account: Pubkey) -> u64 {
    let account = ctx.banks_client.get_account(account).await.unwrap().unwrap();
    let state = StateWithExtensions::<spl_token_2022::state::Account>::unpack(&account.data).unwrap();
    let fees = state.get_extension::<spl_token_2022::extension::transfer_fee::TransferFeeAmount>().unwrap();
    u64::from(fees.withheld_amount)
}

async fn lamports(ctx: &mut ProgramTestContext, account: Pubkey) -> u64 {
    ctx.banks_client.get_balance(account).await.unwrap()
}

/// Runs `ix` through simulation (for the event and compute units), then for real.
async fn run(ctx: &mut ProgramTestContext, ix: Instruction) -> Result<(Vec<Vec<u8>>, u64), u32> {
    run_raw(ctx, ix).await.map_err(custom_code)
}

/// [`run`], with the transaction's error as it is.
async fn run_raw(
    ctx: &mut ProgramTestContext,
    ix: Instruction,
) -> Result<(Vec<Vec<u8>>, u64), TransactionError> {
    let blockhash = ctx.banks_client.get_latest_blockhash().await.unwrap();
    // A bridging's CCTP message account: a fresh keypair in the placeholder's place, signing too.
    let (mut ix, fresh) = (ix, Keypair::new());
    let mut signers = vec![&ctx.payer];
    if ix.accounts.iter().any(|m| m.pubkey == deposit_vault::ix::FRESH_MESSAGE_ACCOUNT) {
        ix.accounts
            .iter_mut()
            .filter(|m| m.pubkey == deposit_vault::ix::FRESH_MESSAGE_ACCOUNT)
            .for_each(|m| m.pubkey = fresh.pubkey());
        signers.push(&fresh);
    }
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&ctx.payer.pubkey()), &signers, blockhash);
    let sim = ctx.banks_client.simulate_transaction(tx.clone()).await.unwrap();
    if let Some(Err(err)) = sim.result {
        return Err(err);
    }
    let details = sim.simulation_details.unwrap();
    let events = details
        .inner_instructions
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .map(|inner| inner.instruction.data)
        .filter(|data| data.starts_with(anchor_lang::event::EVENT_IX_TAG_LE))
        .map(|data| data[8..].to_vec())
        .collect();
    ctx.banks_client.process_transaction(tx).await.map_err(|e| e.unwrap())?;
    Ok((events, details.units_consumed))
}

fn custom_code(err: TransactionError) -> u32 {
    match err {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => code,
        other => panic!("not a program error: {other:?}"),
    }
}

fn code(e: VaultError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

/// Anchor's own constraint errors (`anchor_lang::error::ErrorCode`).
fn anchor(e: anchor_lang::error::ErrorCode) -> u32 {
    e as u32
}

fn decode<T: Discriminator + anchor_lang::AnchorDeserialize>(raw: &[u8]) -> T {
    assert_eq!(&raw[..T::DISCRIMINATOR.len()], T::DISCRIMINATOR, "event discriminator");
    T::deserialize(&mut &raw[T::DISCRIMINATOR.len()..]).unwrap()
}

fn find<T: Discriminator + anchor_lang::AnchorDeserialize>(events: &[Vec<u8>]) -> T {
    let raw = events.iter().find(|e| e.starts_with(T::DISCRIMINATOR)).expect("event");
    decode(raw)
}

/// A burn on an EVM chain for Solana as the devnet attester delivers it: Circle's `MessageV2` with a
/// `BurnMessageV2` (with the hook when given), the nonce and executed fields filled in.
fn evm_message(
    source_domain: u32,
    nonce: u64,
    mint_recipient: Pubkey,
    amount: u64,
    hook: Option<[u8; 32]>,
) -> Vec<u8> {
    evm_message_to(deposit_vault::SOLANA_DOMAIN, source_domain, nonce, mint_recipient, amount, 0, hook)
}

/// `mint`'s supply (a CCTP burn lowers it).
async fn supply(ctx: &mut ProgramTestContext, mint: Pubkey) -> u64 {
    let account = ctx.banks_client.get_account(mint).await.unwrap().unwrap();
    spl_token::state::Mint::unpack(&account.data).unwrap().supply
}

/// The attester's nonce for the test's `nonce`.
fn nonce32(nonce: u64) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[0] = 0x5e;
    word[24..].copy_from_slice(&nonce.to_be_bytes());
    word
}

/// As [`evm_message`], for any destination, with the attester executing the whole `max_fee`.
fn evm_message_to(
    destination_domain: u32,
    source_domain: u32,
    nonce: u64,
    mint_recipient: Pubkey,
    amount: u64,
    max_fee: u64,
    hook: Option<[u8; 32]>,
) -> Vec<u8> {
    // The source's USDC (its token pair with Solana USDC is registered), burnt by its token messenger
    // for Circle's messenger here.
    let mut burn_token = [0u8; 32];
    let usdc =
        deposit_vault::evm::ROUTES.iter().find(|r| r.domain == source_domain).map_or([0x83; 20], |r| r.usdc);
    burn_token[12..].copy_from_slice(&usdc);
    let mut depositor = [0u8; 32];
    depositor[12..].copy_from_slice(&[0xde; 20]);
    let body = message_transmitter_v2::message::BurnMessageV2 {
        version: 1,
        burn_token,
        mint_recipient: mint_recipient.to_bytes(),
        amount,
        message_sender: depositor,
        max_fee,
        fee_executed: max_fee,
        expiration_block: 0,
        hook_data: hook.map(|h| h.to_vec()).unwrap_or_default(),
    };
    message_transmitter_v2::message::MessageV2 {
        version: 1,
        source_domain,
        destination_domain,
        nonce: nonce32(nonce),
        sender: EVM_MESSENGER,
        recipient: deposit_vault::evm::TOKEN_MESSENGER_MINTER.to_bytes(),
        destination_caller: [0; 32],
        min_finality_threshold: 2000,
        finality_threshold_executed: 2000,
        body: body.encode(),
    }
    .encode()
}

fn attest(message: &[u8]) -> Vec<u8> {
    use alloy::signers::SignerSync;
    attester().sign_hash_sync(&alloy::primitives::keccak256(message)).unwrap().as_bytes().to_vec()
}

/// Delivers `message` through Circle's transmitter (the stand-in): its token messenger pays the message's
/// mint recipient from custody and the transmitter keeps the nonce used.
async fn deliver(env: &mut Env, message: &[u8]) -> Result<(), u32> {
    let payer = env.ctx.payer.pubkey();
    let ix = token_messenger_minter_v2::ix::receive_message(
        payer,
        payer,
        env.mint,
        FEE_RECIPIENT,
        message.to_vec(),
        attest(message),
    )
    .expect("a burn");
    run(&mut env.ctx, ix).await.map(|_| ())
}

/// [`deliver`]s `message`, then has the program `record` it (what the relayer does on seeing a delivery
/// to the inbox).
async fn receive(env: &mut Env, message: &[u8]) {
    deliver(env, message).await.unwrap();
    let ix = deposit_vault::ix::record(env.ctx.payer.pubkey(), message.to_vec(), attest(message));
    run(&mut env.ctx, ix).await.unwrap();
}

/// The program's record of the message from `domain` the test numbered `nonce`.
async fn record(env: &mut Env, domain: u32, nonce: u64) -> deposit_vault::Received {
    let at = deposit_vault::ix::received(&nonce32(nonce));
    let account = env.ctx.banks_client.get_account(at).await.unwrap().unwrap();
    assert_eq!(account.owner, deposit_vault::ID);
    let received: deposit_vault::Received = decode(&account.data);
    assert_eq!(received.source_domain, domain);
    received
}

/// The record `ix` would create exists already: the system program refuses to allocate it again.
async fn refused_as_a_replay(ctx: &mut ProgramTestContext, ix: Instruction) {
    let err = run_raw(ctx, ix).await.expect_err("a replay must fail");
    assert_eq!(
        err,
        TransactionError::InstructionError(0, InstructionError::InvalidInstructionData),
        "{err:?}"
    );
}
