//! The deposit-vault program run natively inside `solana-program-test`, against the real SPL Token and
//! Associated Token Account programs program-test loads (see ../shared/TOOLCHAIN.md): every instruction,
//! every guard with the attack it stops, events decoded from the self-CPI `emit_cpi!` makes, rent
//! returned. Compute units of our own native code are not metered here; the SPL CPIs are (printed).

#![allow(missing_docs, clippy::unwrap_used)]

use anchor_lang::{AnchorSerialize, Discriminator, prelude::Pubkey, solana_program::system_instruction};
use anchor_spl::{associated_token, token::spl_token};
use deposit_vault::{
    DepositParams, Refunded, SOLANA_CHAIN_ID, Settled, VaultError, VaultEvent,
    ix::{refund as refund_ix, settle as settle_ix},
    u64_word,
};
use solana_program_test::{BanksClientError, ProgramTest, ProgramTestContext, processor};
use solana_sdk::{
    clock::Clock,
    instruction::{Instruction, InstructionError},
    program_pack::Pack,
    signature::Keypair,
    signer::Signer,
    transaction::{Transaction, TransactionError},
};

const NOW: i64 = 1_750_000_000;
const EXPIRES: u64 = 1_750_003_600;

struct Env {
    ctx: ProgramTestContext,
    mint: Pubkey,
    other_mint: Pubkey,
    authority: Keypair,
}

async fn env() -> Env {
    let mut test =
        ProgramTest::new("deposit_vault", deposit_vault::ID, processor!(deposit_vault::native::process));
    test.add_program("local_bridge", local_bridge::ID, processor!(local_bridge::native::process));
    test.prefer_bpf(false);
    // USDC at its address, as the devnet creates it: the bridge carries it only, and only its mint
    // authority may initialize the bridge.
    let authority = Keypair::new();
    let mut data = vec![0; spl_token::state::Mint::LEN];
    spl_token::state::Mint {
        mint_authority: Some(authority.pubkey()).into(),
        supply: 0,
        decimals: 6,
        is_initialized: true,
        freeze_authority: None.into(),
    }
    .pack_into_slice(&mut data);
    let lamports = solana_sdk::rent::Rent::default().minimum_balance(data.len());
    let account = solana_sdk::account::Account { lamports, data, owner: spl_token::ID, ..Default::default() };
    test.add_account(local_bridge::USDC_MINT, account);
    let mut ctx = test.start_with_context().await;
    set_time(&mut ctx, NOW).await;
    let mint = local_bridge::USDC_MINT;
    let other_mint = create_mint(&mut ctx, &authority, 6).await;
    let payer = ctx.payer.pubkey();
    let attester = attester().address().into_array();
    let inbox = deposit_vault::inbox().0;
    let ixs = [
        local_bridge::ix::initialize(payer, authority.pubkey(), mint, attester),
        // The inbox token account exists once per mint (the devnet creates it at start).
        associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &payer, &inbox, &mint, &spl_token::ID),
        // Liquidity the bridge releases for transfers from the EVM chains.
        spl_token::instruction::mint_to(
            &spl_token::ID,
            &mint,
            &local_bridge::ix::custody(&mint),
            &authority.pubkey(),
            &[],
            LIQUIDITY,
        )
        .unwrap(),
    ];
    send(&mut ctx, &ixs, &[&authority]).await.unwrap();
    Env { ctx, mint, other_mint, authority }
}

const LIQUIDITY: u64 = 1_000_000_000;

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

fn ata(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    associated_token::get_associated_token_address(owner, mint)
}

/// A payer's deposit as the relayer's `serializedTx` builds it: create the vault token account
/// idempotently, then `transferChecked`. Minted to `payer` first.
const MAIN: bool = false;
const OTHER: bool = true;

async fn deposit(env: &mut Env, params: &DepositParams, other: bool, amount: u64) -> Keypair {
    let mint = if other { env.other_mint } else { env.mint };
    let payer = Keypair::new();
    let fund = system_instruction::transfer(&env.ctx.payer.pubkey(), &payer.pubkey(), 1_000_000_000);
    let create_own = associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &env.ctx.payer.pubkey(), &payer.pubkey(), &mint, &spl_token::ID);
    let mint_to = spl_token::instruction::mint_to(
        &spl_token::ID,
        &mint,
        &ata(&payer.pubkey(), &mint),
        &env.authority.pubkey(),
        &[],
        amount,
    )
    .unwrap();
    let authority = env.authority.insecure_clone();
    send(&mut env.ctx, &[fund, create_own, mint_to], &[&authority]).await.unwrap();

    let vault = params.vault().0;
    let ixs = [
        associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &payer.pubkey(), &vault, &mint, &spl_token::ID),
        spl_token::instruction::transfer_checked(
            &spl_token::ID, &ata(&payer.pubkey(), &mint), &mint, &ata(&vault, &mint), &payer.pubkey(), &[], amount, 6)
        .unwrap(),
    ];
    let blockhash = env.ctx.banks_client.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(&ixs, Some(&payer.pubkey()), &[&payer], blockhash);
    env.ctx.banks_client.process_transaction(tx).await.unwrap();
    payer
}

fn params(env: &Env, recipient: Pubkey, refund: Pubkey) -> DepositParams {
    DepositParams {
        session_id: [7; 32],
        to_chain_id: u64_word(SOLANA_CHAIN_ID),
        to_token: env.mint.to_bytes(),
        to_address: recipient.to_bytes(),
        amount: u64_word(10_000_000),
        final_call: vec![],
        refund_address: refund.to_bytes(),
        expires_at: EXPIRES,
    }
}

async fn balance(ctx: &mut ProgramTestContext, account: Pubkey) -> Option<u64> {
    let account = ctx.banks_client.get_account(account).await.unwrap()?;
    Some(spl_token::state::Account::unpack(&account.data).unwrap().amount)
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
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&ctx.payer.pubkey()), &[&ctx.payer], blockhash);
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

#[tokio::test]
async fn the_params_hash_is_the_contracts_on_the_shared_golden_vectors() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../../contracts/test/fixtures/receivers.json")).unwrap();
    let word = |v: &serde_json::Value| -> [u8; 32] {
        hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap().try_into().unwrap()
    };
    let decimal = |v: &serde_json::Value| -> [u8; 32] {
        let mut out = [0u8; 32];
        for digit in v.as_str().unwrap().bytes() {
            let mut carry = u16::from(digit - b'0');
            for byte in out.iter_mut().rev() {
                let x = u16::from(*byte) * 10 + carry;
                *byte = x as u8;
                carry = x >> 8;
            }
        }
        out
    };
    let vectors = fixture["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 5);
    for v in vectors {
        let p = &v["params"];
        let params = DepositParams {
            session_id: word(&p["sessionId"]),
            to_chain_id: decimal(&p["toChainId"]),
            to_token: word(&p["toToken"]),
            to_address: word(&p["toAddress"]),
            amount: decimal(&p["amount"]),
            final_call: hex::decode(p["finalCall"].as_str().unwrap().trim_start_matches("0x")).unwrap(),
            refund_address: word(&p["refundAddress"]),
            expires_at: p["expiresAt"].as_str().unwrap().parse().unwrap(),
        };
        assert_eq!(params.hash(), word(&v["paramsHash"]), "{}", v["name"]);
    }
}

#[tokio::test]
async fn settle_delivers_everything_to_the_committed_recipient_and_returns_the_rent() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let p = params(&env, recipient, refund);
    deposit(&mut env, &p, MAIN, 10_000_000).await;
    let vault_token = ata(&p.vault().0, &env.mint);
    let rent = lamports(&mut env.ctx, vault_token).await;
    assert!(rent > 0);

    let ix = settle_ix(env.ctx.payer.pubkey(), &p, env.mint, recipient, refund);
    let (events, units) = run(&mut env.ctx, ix).await.unwrap();
    println!("settle: {units} compute units (SPL Token + ATA CPIs; native code is not metered)");

    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(10_000_000));
    assert_eq!(balance(&mut env.ctx, vault_token).await, None, "the vault token account is closed");
    assert_eq!(lamports(&mut env.ctx, refund).await, rent, "its rent went to the committed refund address");
    assert_eq!(events.len(), 1);
    let Settled { event } = decode(&events[0]);
    assert_eq!(
        event,
        VaultEvent {
            session_id: p.session_id,
            params_hash: p.hash(),
            vault: p.vault().0,
            mint: env.mint,
            to: ata(&recipient, &env.mint),
            amount: 10_000_000,
            rent_to: refund,
            rent,
        }
    );
}

#[tokio::test]
async fn settle_twice_fails_and_a_late_extra_deposit_settles_again() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let p = params(&env, recipient, refund);
    deposit(&mut env, &p, MAIN, 4_000_000).await;
    let payer = env.ctx.payer.pubkey();
    run(&mut env.ctx, settle_ix(payer, &p, env.mint, recipient, refund)).await.unwrap();
    // Attack: a racing relayer settles again, hoping for a second delivery. The vault token account is
    // gone, so there is nothing it could move.
    let again = run(&mut env.ctx, settle_ix(payer, &p, env.mint, recipient, refund)).await;
    assert_eq!(again, Err(anchor(anchor_lang::error::ErrorCode::AccountNotInitialized)));
    // An extra deposit later is delivered too (the payer re-creates the account), exactly once.
    deposit(&mut env, &p, MAIN, 1_000_000).await;
    run(&mut env.ctx, settle_ix(payer, &p, env.mint, recipient, refund)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(5_000_000));
}

#[tokio::test]
async fn params_other_than_the_vaults_commitment_are_refused() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let p = params(&env, recipient, refund);
    deposit(&mut env, &p, MAIN, 10_000_000).await;
    let attacker = Keypair::new().pubkey();
    let payer = env.ctx.payer.pubkey();

    // Attack: the honest vault's accounts with params naming the attacker as recipient. The params hash
    // to another PDA, so the seeds check fails.
    let mut forged = p.clone();
    forged.to_address = attacker.to_bytes();
    let mut ix = settle_ix(payer, &forged, env.mint, attacker, refund);
    let honest = settle_ix(payer, &p, env.mint, recipient, refund);
    ix.accounts[1] = honest.accounts[1].clone(); // the honest vault
    ix.accounts[3] = honest.accounts[3].clone(); // and its token account
    assert_eq!(run(&mut env.ctx, ix).await, Err(anchor(anchor_lang::error::ErrorCode::ConstraintSeeds)));

    // Attack: the honest params, but the attacker as recipient account.
    let ix = settle_ix(payer, &p, env.mint, attacker, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));

    // Attack: the honest params, but the rent to the attacker.
    let ix = settle_ix(payer, &p, env.mint, recipient, attacker);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));

    // Attack: a refund to the attacker after expiry.
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    let ix = refund_ix(payer, &p, env.mint, attacker);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));

    assert_eq!(balance(&mut env.ctx, ata(&p.vault().0, &env.mint)).await, Some(10_000_000), "nothing moved");
}

#[tokio::test]
async fn someone_elses_vault_cannot_be_drained_with_your_own_params() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let victim = params(&env, recipient, refund);
    deposit(&mut env, &victim, MAIN, 10_000_000).await;
    // Attack: the attacker's own, valid session (its own vault, PDA seeds correct), with the victim's
    // vault token account put in its place.
    let attacker = Keypair::new().pubkey();
    let own = DepositParams { session_id: [9; 32], to_address: attacker.to_bytes(), ..victim.clone() };
    let mut ix = settle_ix(env.ctx.payer.pubkey(), &own, env.mint, attacker, refund);
    ix.accounts[3].pubkey = ata(&victim.vault().0, &env.mint);
    let result = run(&mut env.ctx, ix).await;
    // The account is not owned by this session's vault: the token-owner check stops it.
    assert_eq!(result, Err(anchor(anchor_lang::error::ErrorCode::ConstraintTokenOwner)));
    assert_eq!(balance(&mut env.ctx, ata(&victim.vault().0, &env.mint)).await, Some(10_000_000));
}

#[tokio::test]
async fn settle_refuses_the_wrong_mint_an_expired_session_an_evm_destination_and_a_final_call() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let payer = env.ctx.payer.pubkey();
    let p = params(&env, recipient, refund);
    deposit(&mut env, &p, OTHER, 3).await;
    // Another mint is not the session's token: never delivered as if it were.
    let ix = settle_ix(payer, &p, env.other_mint, recipient, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongMint)));

    // An EVM destination: its funds leave by bridging only, never to a Solana account.
    let evm = DepositParams { to_chain_id: u64_word(8453), ..p.clone() };
    deposit(&mut env, &evm, MAIN, 5).await;
    let ix = settle_ix(payer, &evm, env.mint, recipient, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotSolanaDestination)));

    // A final call cannot run here: never delivered as a plain transfer instead.
    let call = DepositParams { final_call: vec![1, 2, 3], ..p.clone() };
    deposit(&mut env, &call, MAIN, 5).await;
    let ix = settle_ix(payer, &call, env.mint, recipient, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::FinalCallUnsupported)));

    // An EVM-looking recipient (twelve zero bytes): nobody could spend what arrives there.
    let padded = Pubkey::new_from_array(u64_word(0xbeef));
    let lost = DepositParams { to_address: padded.to_bytes(), ..p.clone() };
    deposit(&mut env, &lost, MAIN, 5).await;
    let ix = settle_ix(payer, &lost, env.mint, padded, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotASolanaAddress)));

    // After expiry nothing is delivered any more, only refunded.
    deposit(&mut env, &p, MAIN, 7).await;
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    let ix = settle_ix(payer, &p, env.mint, recipient, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Expired)));
    // An empty vault account: nothing to move.
    set_time(&mut env.ctx, NOW).await;
    let empty = DepositParams { session_id: [1; 32], ..p.clone() };
    let create = associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &payer, &empty.vault().0, &env.mint, &spl_token::ID);
    send(&mut env.ctx, &[create], &[]).await.unwrap();
    let ix = settle_ix(payer, &empty, env.mint, recipient, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NothingToMove)));
}

#[tokio::test]
async fn refund_waits_for_expiry_then_returns_everything_and_the_rent() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let p = params(&env, recipient, refund);
    deposit(&mut env, &p, MAIN, 10_000_000).await;
    let payer = env.ctx.payer.pubkey();
    let vault_token = ata(&p.vault().0, &env.mint);
    let rent = lamports(&mut env.ctx, vault_token).await;

    // Attack: a relayer refunding early to cancel a payment the payer meant to make.
    let early = run(&mut env.ctx, refund_ix(payer, &p, env.mint, refund)).await;
    assert_eq!(early, Err(code(VaultError::NotRefundable)));
    set_time(&mut env.ctx, EXPIRES as i64).await;
    let at_expiry = run(&mut env.ctx, refund_ix(payer, &p, env.mint, refund)).await;
    assert_eq!(at_expiry, Err(code(VaultError::NotRefundable)), "expiry is strictly after expiresAt");

    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    let (events, units) = run(&mut env.ctx, refund_ix(payer, &p, env.mint, refund)).await.unwrap();
    println!("refund: {units} compute units (SPL Token + ATA CPIs; native code is not metered)");
    assert_eq!(balance(&mut env.ctx, ata(&refund, &env.mint)).await, Some(10_000_000));
    assert_eq!(balance(&mut env.ctx, vault_token).await, None);
    assert_eq!(lamports(&mut env.ctx, refund).await, rent);
    let Refunded { event } = decode(&events[0]);
    assert_eq!(
        (event.amount, event.to, event.rent_to, event.rent),
        (10_000_000, ata(&refund, &env.mint), refund, rent)
    );
    // Refunding twice finds nothing.
    let again = run(&mut env.ctx, refund_ix(payer, &p, env.mint, refund)).await;
    assert_eq!(again, Err(anchor(anchor_lang::error::ErrorCode::AccountNotInitialized)));
}

#[tokio::test]
async fn a_mint_the_session_cannot_use_is_refunded_at_once() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let p = params(&env, recipient, refund);
    deposit(&mut env, &p, OTHER, 42).await;
    let payer = env.ctx.payer.pubkey();
    run(&mut env.ctx, refund_ix(payer, &p, env.other_mint, refund)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&refund, &env.other_mint)).await, Some(42));

    // For an EVM destination the program cannot tell which mints the bridge takes: refunds wait for expiry.
    let evm = DepositParams { to_chain_id: u64_word(8453), ..p.clone() };
    deposit(&mut env, &evm, OTHER, 42).await;
    let early = run(&mut env.ctx, refund_ix(payer, &evm, env.other_mint, refund)).await;
    assert_eq!(early, Err(code(VaultError::NotRefundable)));

    // A refund address that looks like a left-padded EVM address is refused: the funds would be lost.
    let padded = Pubkey::new_from_array(u64_word(0xbeef));
    let lost = DepositParams { refund_address: padded.to_bytes(), ..p.clone() };
    deposit(&mut env, &lost, OTHER, 1).await;
    let ix = refund_ix(payer, &lost, env.other_mint, padded);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotASolanaAddress)));
}

#[test]
fn the_event_layouts_are_what_the_relayer_decodes() {
    // The relayer decodes `VaultEvent` by borsh after an 8-byte discriminator; a changed layout fails here.
    let event = VaultEvent {
        session_id: [1; 32],
        params_hash: [2; 32],
        vault: Pubkey::new_from_array([3; 32]),
        mint: Pubkey::new_from_array([4; 32]),
        to: Pubkey::new_from_array([5; 32]),
        amount: 6,
        rent_to: Pubkey::new_from_array([7; 32]),
        rent: 8,
    };
    let mut bytes = Vec::new();
    event.serialize(&mut bytes).unwrap();
    assert_eq!(bytes.len(), 32 * 6 + 16);
}

#[test]
fn the_evm_receiver_is_the_contracts_create2_on_the_shared_golden_vectors() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../../contracts/test/fixtures/receivers.json")).unwrap();
    let bytes = |v: &serde_json::Value| hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap();
    let factory: [u8; 20] = bytes(&fixture["deployment"]["factory"]).try_into().unwrap();
    let init: [u8; 32] = bytes(&fixture["deployment"]["receiverInitCodeHash"]).try_into().unwrap();
    for v in fixture["vectors"].as_array().unwrap() {
        let hash: [u8; 32] = bytes(&v["paramsHash"]).try_into().unwrap();
        let receiver = deposit_vault::evm::receiver_with(&factory, &init, &hash);
        assert_eq!(receiver.to_vec(), bytes(&v["receiver"]), "{}", v["name"]);
    }
    assert_eq!(deposit_vault::evm::cctp_domain(&u64_word(8453)), Some(6));
    assert_eq!(deposit_vault::evm::cctp_domain(&u64_word(SOLANA_CHAIN_ID)), None);
    let mut high = u64_word(8453);
    high[0] = 1;
    assert_eq!(deposit_vault::evm::cctp_domain(&high), None, "a uint256 above u64 is no chain id we serve");
}

fn evm_params(env: &Env, refund: Pubkey) -> DepositParams {
    DepositParams {
        to_chain_id: u64_word(8453),
        to_token: [0x83; 32],
        to_address: u64_word(0xd0d0),
        ..params(env, Keypair::new().pubkey(), refund)
    }
}

fn bridge_ix(payer: Pubkey, params: &DepositParams, mint: Pubkey, rent_to: Pubkey) -> Instruction {
    deposit_vault::ix::bridge(payer, params, mint, rent_to)
}

fn find<T: Discriminator + anchor_lang::AnchorDeserialize>(events: &[Vec<u8>]) -> T {
    let raw = events.iter().find(|e| e.starts_with(T::DISCRIMINATOR)).expect("event");
    decode(raw)
}

#[tokio::test]
async fn bridge_sends_everything_to_the_sessions_evm_receiver_and_nothing_else_can() {
    let mut env = env().await;
    let refund = Keypair::new().pubkey();
    let p = evm_params(&env, refund);
    deposit(&mut env, &p, MAIN, 10_000_000).await;
    let vault_token = ata(&p.vault().0, &env.mint);
    let rent = lamports(&mut env.ctx, vault_token).await;
    let payer = env.ctx.payer.pubkey();
    let custody = local_bridge::ix::custody(&env.mint);
    let (events, units) = run(&mut env.ctx, bridge_ix(payer, &p, env.mint, refund)).await.unwrap();
    println!("bridge: {units} compute units (SPL Token CPIs; native code is not metered)");

    assert_eq!(balance(&mut env.ctx, custody).await, Some(LIQUIDITY + 10_000_000), "locked in the bridge");
    assert_eq!(balance(&mut env.ctx, vault_token).await, None, "the vault token account is closed");
    assert_eq!(lamports(&mut env.ctx, refund).await, rent);
    let receiver = deposit_vault::evm::receiver_word(&p.hash());
    let deposit_vault::Bridged { event, destination_domain, mint_recipient } = find(&events);
    assert_eq!(
        (event.amount, event.to, destination_domain, mint_recipient),
        (10_000_000, custody, 6, receiver)
    );
    // The message the EVM transmitter will accept: destination domain, and in the body the recipient and
    // amount, exactly.
    let local_bridge::MessageSent { nonce, message } = find(&events);
    assert_eq!(nonce, 0);
    assert_eq!(message[64..96], u64_word(6));
    let body = &message[9 * 32..]; // after the 8 head words and the body's length
    assert_eq!((&body[64..96], &body[96..128]), (&receiver[..], &u64_word(10_000_000)[..]));
}

#[tokio::test]
async fn bridge_refuses_a_solana_destination_an_unserved_chain_expiry_and_a_fake_bridge() {
    let mut env = env().await;
    let refund = Keypair::new().pubkey();
    let payer = env.ctx.payer.pubkey();
    // Attack: bridging a Solana destination's deposit away from its only deliverable place.
    let solana = params(&env, Keypair::new().pubkey(), refund);
    deposit(&mut env, &solana, MAIN, 5).await;
    let ix = bridge_ix(payer, &solana, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::DeliversOnSolana)));
    // A chain the bridge does not serve: no message could be delivered there.
    let nowhere = DepositParams { to_chain_id: u64_word(999), ..evm_params(&env, refund) };
    deposit(&mut env, &nowhere, MAIN, 5).await;
    let ix = bridge_ix(payer, &nowhere, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::UnsupportedChain)));
    // Attack: a bridge program of the caller's choosing (it would send the funds anywhere).
    let p = evm_params(&env, refund);
    deposit(&mut env, &p, MAIN, 5).await;
    let mut fake = bridge_ix(payer, &p, env.mint, refund);
    let fake_program = Keypair::new().pubkey();
    for meta in &mut fake.accounts {
        if meta.pubkey == local_bridge::ID {
            meta.pubkey = fake_program;
        }
    }
    assert_eq!(run(&mut env.ctx, fake).await, Err(anchor(anchor_lang::error::ErrorCode::InvalidProgramId)));
    // Attack: the rent to someone else.
    let ix = bridge_ix(payer, &p, env.mint, Keypair::new().pubkey());
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    // A mint the bridge does not carry: it has no custody for it (and its config names another mint).
    deposit(&mut env, &p, OTHER, 5).await;
    let other = run(&mut env.ctx, bridge_ix(payer, &p, env.other_mint, refund)).await;
    assert_eq!(other, Err(anchor(anchor_lang::error::ErrorCode::AccountNotInitialized)));
    // Close to expiry: the bridge might deliver after the session ends, where only a refund remains.
    set_time(&mut env.ctx, (EXPIRES - deposit_vault::BRIDGE_DELIVERY_SECS) as i64 + 1).await;
    let ix = bridge_ix(payer, &p, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::TooLateToBridge)));
    // After expiry: refunded, never bridged.
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    let ix = bridge_ix(payer, &p, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Expired)));
    assert_eq!(balance(&mut env.ctx, ata(&p.vault().0, &env.mint)).await, Some(5), "nothing moved");
}

/// A burn on an EVM chain for Solana, as `LocalTokenMessenger` encodes it (with the hook when given).
fn evm_message(
    source_domain: u32,
    nonce: u64,
    mint_recipient: Pubkey,
    amount: u64,
    hook: Option<[u8; 32]>,
) -> Vec<u8> {
    evm_message_to(local_bridge::LOCAL_DOMAIN, source_domain, nonce, mint_recipient, amount, 0, hook)
}

fn evm_message_to(
    destination_domain: u32,
    source_domain: u32,
    nonce: u64,
    mint_recipient: Pubkey,
    amount: u64,
    max_fee: u64,
    hook: Option<[u8; 32]>,
) -> Vec<u8> {
    use alloy::{
        primitives::{Address, B256, Bytes, U256},
        sol_types::SolValue,
    };
    let burn_token = B256::left_padding_from(&[0x83; 20]);
    let recipient = B256::from(mint_recipient.to_bytes());
    let depositor = Address::repeat_byte(0xde);
    let (amount, max_fee) = (U256::from(amount), U256::from(max_fee));
    let body = match hook {
        Some(hook) => (1u32, burn_token, recipient, amount, depositor, max_fee, Bytes::from(hook.to_vec()))
            .abi_encode_params(),
        None => (1u32, burn_token, recipient, amount, depositor, max_fee).abi_encode_params(),
    };
    let messenger = B256::left_padding_from(&[0x11; 20]);
    (1u32, source_domain, destination_domain, nonce, messenger, messenger, B256::ZERO, Bytes::from(body))
        .abi_encode_params()
}

fn attest(message: &[u8]) -> [u8; 65] {
    use alloy::signers::SignerSync;
    attester().sign_hash_sync(&alloy::primitives::keccak256(message)).unwrap().as_bytes()
}

/// Delivers `message` with `attestation` to `recipient_token` (the message's mint recipient, or not).
async fn receive(
    env: &mut Env,
    message: Vec<u8>,
    attestation: [u8; 65],
    recipient_token: Pubkey,
) -> Result<(), u32> {
    let ix = local_bridge::ix::receive_message(
        env.ctx.payer.pubkey(),
        env.mint,
        recipient_token,
        message,
        attestation,
    );
    run(&mut env.ctx, ix).await.map(|_| ())
}

/// The bridge's record of (`domain`, `nonce`).
async fn record(env: &mut Env, domain: u32, nonce: u64) -> local_bridge::Received {
    let account =
        env.ctx.banks_client.get_account(local_bridge::ix::received(domain, nonce)).await.unwrap().unwrap();
    assert_eq!(account.owner, local_bridge::ID);
    decode(&account.data)
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

#[tokio::test]
async fn a_transfer_bridged_from_evm_is_claimed_once_for_the_session_its_hook_names() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    let p = params(&env, recipient, u64_word(0xbeef).into_pubkey());
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    let message = evm_message(6, 41, inbox_token, 10_000_000, Some(hook));
    receive(&mut env, message.clone(), attest(&message), inbox_token).await.unwrap();
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(10_000_000), "minted to the inbox");
    let received = record(&mut env, 6, 41).await;
    let want = local_bridge::Received {
        source_domain: 6,
        nonce: 41,
        mint_recipient: inbox_token,
        amount: 10_000_000,
        hook: Some(hook),
    };
    assert_eq!(received, want);
    // Attack: the same attested message delivered twice would pay twice.
    let payer = env.ctx.payer.pubkey();
    let replay =
        local_bridge::ix::receive_message(payer, env.mint, inbox_token, message.clone(), attest(&message));
    refused_as_a_replay(&mut env.ctx, replay).await;
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(10_000_000), "paid once");

    let at = local_bridge::ix::received(6, 41);
    let (events, units) =
        run(&mut env.ctx, deposit_vault::ix::claim(payer, &p, at, env.mint, recipient)).await.unwrap();
    println!("claim: {units} compute units (SPL Token CPIs; native code is not metered)");
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(10_000_000), "delivered");
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(0), "the inbox holds nothing of it");
    let deposit_vault::Claimed { event } = find(&events);
    assert_eq!(
        (event.session_id, event.source_domain, event.nonce, event.amount, event.to),
        (p.session_id, 6, 41, 10_000_000, ata(&recipient, &env.mint))
    );
    // Attack: claiming (or sending back) a consumed transfer again would pay it from other sessions' funds.
    refused_as_a_replay(&mut env.ctx, deposit_vault::ix::claim(payer, &p, at, env.mint, recipient)).await;
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    refused_as_a_replay(&mut env.ctx, deposit_vault::ix::send_back(payer, &p, at, env.mint)).await;
}

trait IntoPubkey {
    fn into_pubkey(self) -> Pubkey;
}

impl IntoPubkey for [u8; 32] {
    fn into_pubkey(self) -> Pubkey {
        Pubkey::new_from_array(self)
    }
}

#[tokio::test]
async fn an_inbox_transfer_pays_only_the_session_and_recipient_it_was_for() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    let refund = u64_word(0xbeef).into_pubkey();
    let victim = params(&env, recipient, refund);
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&victim.hash());
    let message = evm_message(6, 1, inbox_token, 7_000_000, Some(hook));
    receive(&mut env, message.clone(), attest(&message), inbox_token).await.unwrap();
    let payer = env.ctx.payer.pubkey();
    let at = local_bridge::ix::received(6, 1);
    // Attack: the attacker's own session (its recipient) claiming the victim's transfer.
    let thief = Keypair::new().pubkey();
    let own = DepositParams { session_id: [9; 32], ..params(&env, thief, refund) };
    let ix = deposit_vault::ix::claim(payer, &own, at, env.mint, thief);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotThisSession)));
    // Attack: the victim's params with another recipient account.
    let ix = deposit_vault::ix::claim(payer, &victim, at, env.mint, thief);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    // Attack: a record of a transfer minted elsewhere (the attacker's account) claimed from the inbox.
    let elsewhere = ata(&payer, &env.mint);
    let create = associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &payer, &payer, &env.mint, &spl_token::ID);
    send(&mut env.ctx, &[create], &[]).await.unwrap();
    let message = evm_message(6, 2, elsewhere, 3_000_000, Some(hook));
    receive(&mut env, message.clone(), attest(&message), elsewhere).await.unwrap();
    let ix = deposit_vault::ix::claim(payer, &victim, local_bridge::ix::received(6, 2), env.mint, recipient);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotInInbox)));
    // Attack: a forged record (right layout, the victim's hook, a big amount) not written by the bridge.
    let forged = Keypair::new().pubkey();
    let fake = local_bridge::Received {
        source_domain: 6,
        nonce: 3,
        mint_recipient: inbox_token,
        amount: 7_000_000,
        hook: Some(hook),
    };
    let mut data = local_bridge::Received::DISCRIMINATOR.to_vec();
    fake.serialize(&mut data).unwrap();
    let account = solana_sdk::account::Account {
        lamports: 10_000_000,
        data,
        owner: deposit_vault::ID,
        ..Default::default()
    };
    env.ctx.set_account(&forged, &account.into());
    let ix = deposit_vault::ix::claim(payer, &victim, forged, env.mint, recipient);
    assert_eq!(
        run(&mut env.ctx, ix).await,
        Err(anchor(anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram))
    );
    // Attack: sending a claimable transfer back (griefing the session) before it expires.
    let ix = deposit_vault::ix::send_back(payer, &victim, at, env.mint);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Claimable)));
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(7_000_000), "nothing moved");
    // The session's own claim still works.
    run(&mut env.ctx, deposit_vault::ix::claim(payer, &victim, at, env.mint, recipient)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(7_000_000));
}

#[tokio::test]
async fn an_expired_sessions_transfer_goes_back_to_its_receiver_on_the_chain_it_came_from() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    let p = params(&env, recipient, u64_word(0xbeef).into_pubkey());
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    let message = evm_message(3, 8, inbox_token, 4_000_000, Some(hook));
    receive(&mut env, message.clone(), attest(&message), inbox_token).await.unwrap();
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    let payer = env.ctx.payer.pubkey();
    let at = local_bridge::ix::received(3, 8);
    // Expired: nothing is delivered after the session ends.
    let ix = deposit_vault::ix::claim(payer, &p, at, env.mint, recipient);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Expired)));
    let custody = local_bridge::ix::custody(&env.mint);
    let before = balance(&mut env.ctx, custody).await.unwrap();
    let (events, _) = run(&mut env.ctx, deposit_vault::ix::send_back(payer, &p, at, env.mint)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, custody).await, Some(before + 4_000_000), "locked in the bridge");
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(0));
    let deposit_vault::SentBack { event, mint_recipient } = find(&events);
    assert_eq!((event.amount, event.source_domain, mint_recipient), (4_000_000, 3, hook));
    // The message goes to the domain it came from, for the session's receiver there (where the router
    // refunds it to the committed refund address).
    let local_bridge::MessageSent { message, .. } = find(&events);
    assert_eq!(message[64..96], u64_word(3));
    let body = &message[9 * 32..];
    assert_eq!((&body[64..96], &body[96..128]), (&hook[..], &u64_word(4_000_000)[..]));
}

#[tokio::test]
async fn receive_message_refuses_forged_misdirected_and_malformed_messages_and_charges_the_fee() {
    let mut env = env().await;
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = Some([1; 32]);
    let message = evm_message(6, 5, inbox_token, 2_000_000, hook);
    // Attack: an attestation by another key.
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    let forged = {
        use alloy::signers::SignerSync;
        stranger.sign_hash_sync(&alloy::primitives::keccak256(&message)).unwrap().as_bytes()
    };
    let err = |e: local_bridge::BridgeError| anchor_lang::error::ERROR_CODE_OFFSET + e as u32;
    assert_eq!(
        receive(&mut env, message.clone(), forged, inbox_token).await,
        Err(err(local_bridge::BridgeError::BadAttestation))
    );
    // Attack: the attested message with a larger amount.
    let mut altered = message.clone();
    let amount_at = 9 * 32 + 3 * 32;
    altered[amount_at..amount_at + 32].copy_from_slice(&u64_word(9_000_000));
    let signature = attest(&message);
    assert_eq!(
        receive(&mut env, altered, signature, inbox_token).await,
        Err(err(local_bridge::BridgeError::BadAttestation))
    );
    // A message for another domain.
    let elsewhere = evm_message_to(6, 0, 5, inbox_token, 2_000_000, 0, hook);
    assert_eq!(
        receive(&mut env, elsewhere.clone(), attest(&elsewhere), inbox_token).await,
        Err(err(local_bridge::BridgeError::WrongDomain))
    );
    // Attack: paying another token account than the message names.
    let payer = env.ctx.payer.pubkey();
    let create = associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &payer, &payer, &env.mint, &spl_token::ID);
    send(&mut env.ctx, &[create], &[]).await.unwrap();
    let own_account = ata(&payer, &env.mint);
    assert_eq!(
        receive(&mut env, message.clone(), attest(&message), own_account).await,
        Err(err(local_bridge::BridgeError::WrongRecipient))
    );
    // Malformed: truncated, or a non-canonical offset (one message, one meaning).
    let truncated = message[..message.len() - 32].to_vec();
    assert_eq!(
        receive(&mut env, truncated.clone(), attest(&truncated), inbox_token).await,
        Err(err(local_bridge::BridgeError::MalformedMessage))
    );
    let mut shifted = message.clone();
    shifted[7 * 32..8 * 32].copy_from_slice(&u64_word(9 * 32));
    assert_eq!(
        receive(&mut env, shifted.clone(), attest(&shifted), inbox_token).await,
        Err(err(local_bridge::BridgeError::MalformedMessage))
    );
    // The fee the burn allowed is withheld, as the EVM side does.
    let with_fee = evm_message_to(local_bridge::LOCAL_DOMAIN, 6, 6, inbox_token, 2_000_000, 1_500, hook);
    receive(&mut env, with_fee.clone(), attest(&with_fee), inbox_token).await.unwrap();
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(2_000_000 - 1_500));
    assert_eq!(record(&mut env, 6, 6).await.amount, 2_000_000 - 1_500);
    // And the untouched original still goes through.
    receive(&mut env, message.clone(), attest(&message), inbox_token).await.unwrap();
    // A plain burn (no hook) is recorded without one: no session can claim it from the inbox.
    let plain = evm_message(6, 7, inbox_token, 1, None);
    receive(&mut env, plain.clone(), attest(&plain), inbox_token).await.unwrap();
    assert_eq!(record(&mut env, 6, 7).await.hook, None);
}

#[tokio::test]
async fn an_inbox_transfer_for_a_session_that_does_not_settle_on_solana_can_only_go_back() {
    let mut env = env().await;
    // Someone burnt to the inbox naming the receiver of a session that delivers on Base (the router never
    // does this; a direct call to the adapter can).
    let p = evm_params(&env, u64_word(0xbeef).into_pubkey());
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    let message = evm_message(6, 9, inbox_token, 3_000_000, Some(hook));
    receive(&mut env, message.clone(), attest(&message), inbox_token).await.unwrap();
    let payer = env.ctx.payer.pubkey();
    let at = local_bridge::ix::received(6, 9);
    // Attack: paying a Base session's funds to a Solana account named by the caller.
    let anyone = Keypair::new().pubkey();
    let ix = deposit_vault::ix::claim(payer, &p, at, env.mint, anyone);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotSolanaDestination)));
    // Back to its receiver on the chain it came from, before expiry: the router there moves it on.
    let (events, _) = run(&mut env.ctx, deposit_vault::ix::send_back(payer, &p, at, env.mint)).await.unwrap();
    let deposit_vault::SentBack { event, mint_recipient } = find(&events);
    assert_eq!((event.amount, event.source_domain, mint_recipient), (3_000_000, 6, hook));
}

#[tokio::test]
async fn only_the_mints_mint_authority_may_initialize_its_bridge() {
    let mut test =
        ProgramTest::new("deposit_vault", deposit_vault::ID, processor!(deposit_vault::native::process));
    test.add_program("local_bridge", local_bridge::ID, processor!(local_bridge::native::process));
    test.prefer_bpf(false);
    let authority = Keypair::new();
    let mut data = vec![0; spl_token::state::Mint::LEN];
    spl_token::state::Mint {
        mint_authority: Some(authority.pubkey()).into(),
        supply: 0,
        decimals: 6,
        is_initialized: true,
        freeze_authority: None.into(),
    }
    .pack_into_slice(&mut data);
    let lamports = solana_sdk::rent::Rent::default().minimum_balance(data.len());
    let account = solana_sdk::account::Account { lamports, data, owner: spl_token::ID, ..Default::default() };
    test.add_account(local_bridge::USDC_MINT, account);
    let mut ctx = test.start_with_context().await;
    let usdc = local_bridge::USDC_MINT;
    let payer = ctx.payer.pubkey();
    let err = |e: local_bridge::BridgeError| anchor_lang::error::ERROR_CODE_OFFSET + e as u32;
    // Attack: the first caller initializes the bridge with its own attester, then signs itself messages
    // that release custody.
    let attacker = Keypair::new();
    let ix = local_bridge::ix::initialize(payer, attacker.pubkey(), usdc, [0xaa; 20]);
    assert_eq!(
        send(&mut ctx, &[ix], &[&attacker]).await.map_err(|e| custom_code(e.unwrap())),
        Err(err(local_bridge::BridgeError::NotMintAuthority))
    );
    // Attack: squatting the bridge with a mint the attacker controls (the bridge carries USDC only).
    let own_mint = create_mint(&mut ctx, &attacker, 6).await;
    let ix = local_bridge::ix::initialize(payer, attacker.pubkey(), own_mint, [0xaa; 20]);
    assert_eq!(
        send(&mut ctx, &[ix], &[&attacker]).await.map_err(|e| custom_code(e.unwrap())),
        Err(err(local_bridge::BridgeError::UnsupportedMint))
    );
    // USDC's mint authority may, once.
    let ix = local_bridge::ix::initialize(payer, authority.pubkey(), usdc, [0xa7; 20]);
    send(&mut ctx, &[ix], &[&authority]).await.unwrap();
    let again = local_bridge::ix::initialize(payer, authority.pubkey(), usdc, [0xaa; 20]);
    assert!(send(&mut ctx, &[again], &[&authority]).await.is_err(), "no second attester");
}
