//! `refund` (to the session's Solana refund target, any mint of SPL Token or Token-2022) and `refund_home`
//! (the bridged mint of a session with no Solana refund target, through the bridge to its EVM receiver).

use anchor_spl::token::spl_token;
use deposit_vault::{DepositParams, Refunded, RefundedHome, VaultError, u64_word};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

use super::*;

fn refund_ix(payer: Pubkey, p: &DepositParams, mint: Pubkey, owner: Pubkey) -> Instruction {
    deposit_vault::ix::refund(payer, p, mint, spl_token::ID, owner)
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

    // An EVM destination the bridge serves: its bridged mint waits for expiry (it is bridged before)...
    let evm = evm_params(&env, refund);
    deposit(&mut env, &evm, MAIN, 42).await;
    let early = run(&mut env.ctx, refund_ix(payer, &evm, env.mint, refund)).await;
    assert_eq!(early, Err(code(VaultError::NotRefundable)));
    // ...any other mint can never leave by the bridge: refunded at once.
    deposit(&mut env, &evm, OTHER, 42).await;
    run(&mut env.ctx, refund_ix(payer, &evm, env.other_mint, refund)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&refund, &env.other_mint)).await, Some(84));
    // A session whose token the bridge does not deliver can never be bridged: refunded at once.
    let usdt = DepositParams { to_token: u64_word(0x7e7e), ..evm_params(&env, refund) };
    deposit(&mut env, &usdt, MAIN, 42).await;
    run(&mut env.ctx, refund_ix(payer, &usdt, env.mint, refund)).await.unwrap();
    // So can a Solana session with a final call (it never settles).
    let call = DepositParams { final_call: vec![1], ..p.clone() };
    deposit(&mut env, &call, MAIN, 42).await;
    run(&mut env.ctx, refund_ix(payer, &call, env.mint, refund)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&refund, &env.mint)).await, Some(84));
}

#[tokio::test]
async fn refund_pays_the_solana_refund_address_else_a_solana_recipient_and_never_an_evm_shaped_key() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    let payer = env.ctx.payer.pubkey();
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    // An EVM payer of a Solana destination (an EVM refund address, no Solana one): a stray deposit into
    // its vault goes to the recipient, the session's other Solana endpoint, never to the EVM address.
    let evm_payer =
        DepositParams { refund_address: u64_word(0xbeef), ..params(&env, recipient, Pubkey::default()) };
    deposit(&mut env, &evm_payer, MAIN, 5).await;
    let padded = Pubkey::new_from_array(u64_word(0xbeef));
    // Attack: the EVM refund address read as a Solana account (nobody holds that key: the funds are lost).
    let ix = refund_ix(payer, &evm_payer, env.mint, padded);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    run(&mut env.ctx, refund_ix(payer, &evm_payer, env.mint, recipient)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(5));
    // A Solana refund address shaped like an EVM address is no usable key either: the recipient again.
    let lost = DepositParams { session_id: [1; 32], ..params(&env, recipient, padded) };
    deposit(&mut env, &lost, MAIN, 1).await;
    let ix = refund_ix(payer, &lost, env.mint, padded);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    run(&mut env.ctx, refund_ix(payer, &lost, env.mint, recipient)).await.unwrap();
    // Attack: the recipient named as refund target where a Solana refund address is committed.
    let refund = Keypair::new().pubkey();
    let p = DepositParams { session_id: [2; 32], ..params(&env, recipient, refund) };
    deposit(&mut env, &p, MAIN, 1).await;
    let ix = refund_ix(payer, &p, env.mint, recipient);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    // An EVM payer's vault (EVM destination, EVM refund address): no Solana account may receive it.
    let evm_only = DepositParams { refund_address: u64_word(0xbeef), ..evm_params(&env, Pubkey::default()) };
    deposit(&mut env, &evm_only, OTHER, 1).await;
    let ix = refund_ix(payer, &evm_only, env.other_mint, recipient);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NoSolanaRefundTarget)));
}

#[tokio::test]
async fn a_token_2022_deposit_is_refunded_and_its_rent_returned() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let authority = env.authority.insecure_clone();
    let mint = create_mint_2022(&mut env.ctx, &authority, 6, None).await;
    let p = params(&env, recipient, refund);
    // A Token-2022 mint the session cannot use (its token is USDC): refundable at once.
    deposit_of(&mut env, &p, mint, token_2022::ID, 3_000_000).await;
    let vault_token = ata_2022(&p.vault().0, &mint);
    let rent = lamports(&mut env.ctx, vault_token).await;
    let payer = env.ctx.payer.pubkey();
    // Attack (before Token-2022 support, the only outcome): the classic program named for a Token-2022
    // account. Refused (no such associated account), and the deposit is not lost: see below.
    let classic = deposit_vault::ix::refund(payer, &p, mint, spl_token::ID, refund);
    assert!(run_raw(&mut env.ctx, classic).await.is_err());
    let ix = deposit_vault::ix::refund(payer, &p, mint, token_2022::ID, refund);
    let (events, units) = run(&mut env.ctx, ix).await.unwrap();
    println!("refund (Token-2022): {units} compute units");
    assert_eq!(balance(&mut env.ctx, ata_2022(&refund, &mint)).await, Some(3_000_000));
    assert_eq!(balance(&mut env.ctx, vault_token).await, None, "closed");
    assert_eq!(lamports(&mut env.ctx, refund).await, rent);
    let Refunded { event } = find(&events);
    assert_eq!((event.mint, event.amount, event.rent), (mint, 3_000_000, rent));
}

#[tokio::test]
async fn a_token_2022_deposit_with_a_transfer_fee_is_refunded_and_its_account_stays_open() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let authority = env.authority.insecure_clone();
    // 1% fee: the deposit leaves 1% withheld in the vault token account, which Token-2022 then refuses to
    // close; closing it as part of the refund would fail the refund and lock the deposit.
    let mint = create_mint_2022(&mut env.ctx, &authority, 6, Some((100, 1_000_000))).await;
    let p = params(&env, recipient, refund);
    deposit_of(&mut env, &p, mint, token_2022::ID, 1_000_000).await;
    let vault_token = ata_2022(&p.vault().0, &mint);
    assert_eq!(balance(&mut env.ctx, vault_token).await, Some(990_000));
    assert_eq!(withheld(&mut env.ctx, vault_token).await, 10_000);
    let payer = env.ctx.payer.pubkey();
    let ix = deposit_vault::ix::refund(payer, &p, mint, token_2022::ID, refund);
    let (events, _) = run(&mut env.ctx, ix).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata_2022(&refund, &mint)).await, Some(990_000 - 9_900), "less the fee");
    assert_eq!(balance(&mut env.ctx, vault_token).await, Some(0), "emptied, left open");
    assert_eq!(lamports(&mut env.ctx, refund).await, 0, "no rent yet");
    let Refunded { event } = find(&events);
    assert_eq!((event.amount, event.rent_to, event.rent), (990_000, Pubkey::default(), 0));
}

/// An EVM payer's session to Base: a USDC vault with an EVM refund address and no Solana refund target.
fn evm_payer(env: &Env) -> DepositParams {
    DepositParams { refund_address: u64_word(0xbeef), ..evm_params(env, Pubkey::default()) }
}

#[tokio::test]
async fn a_vault_with_an_evm_refund_address_is_emptied_by_refunding_it_home() {
    let mut env = env().await;
    let p = evm_payer(&env);
    deposit(&mut env, &p, MAIN, 4_000_000).await;
    let payer = env.ctx.payer.pubkey();
    let vault_token = ata(&p.vault().0, &env.mint);
    let rent = lamports(&mut env.ctx, vault_token).await;
    // Before issue 20 nothing could ever empty this vault after expiry: `refund` demanded a Solana refund
    // address. Now `refund` says where to go instead...
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    let ix = refund_ix(payer, &p, env.mint, Keypair::new().pubkey());
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NoSolanaRefundTarget)));
    // ...and `refund_home` sends it, after expiry, to the session's receiver on Base, where the router
    // refunds it to the EVM refund address (the message is for the receiver, exactly).
    let before = supply(&mut env.ctx, env.mint).await;
    let ix = deposit_vault::ix::refund_home(payer, &p, env.mint);
    let (events, units) = run(&mut env.ctx, ix).await.unwrap();
    println!("refund_home: {units} compute units (SPL Token CPIs; native code is not metered)");
    assert_eq!(supply(&mut env.ctx, env.mint).await, before - 4_000_000, "burnt through CCTP");
    assert_eq!(balance(&mut env.ctx, vault_token).await, Some(0), "emptied");
    assert_eq!(lamports(&mut env.ctx, vault_token).await, rent, "left open: no Solana account for its rent");
    let receiver = deposit_vault::evm::receiver_word(&p.hash());
    let RefundedHome { event, destination_domain, mint_recipient } = find(&events);
    assert_eq!(
        (event.amount, event.to, event.rent_to, event.rent, destination_domain, mint_recipient),
        (4_000_000, deposit_vault::evm::TOKEN_MESSENGER_MINTER, Pubkey::default(), 0, 6, receiver)
    );
    let burn: token_messenger_minter_v2::DepositForBurn = find(&events);
    assert_eq!(
        (burn.destination_domain, burn.mint_recipient.to_bytes(), burn.amount),
        (6, receiver, 4_000_000)
    );
    // A later deposit goes the same way; the open account simply receives it.
    deposit(&mut env, &p, MAIN, 1).await;
    run(&mut env.ctx, deposit_vault::ix::refund_home(payer, &p, env.mint)).await.unwrap();
}

#[tokio::test]
async fn refund_home_is_a_refund_only_where_nothing_else_can_refund() {
    let mut env = env().await;
    let payer = env.ctx.payer.pubkey();
    let home = |p: &DepositParams, mint| deposit_vault::ix::refund_home(payer, p, mint);
    // Attack: bridging a usable deposit before expiry as a "refund", skipping bridge's timing and minimum
    // checks (it would reach the destination while the session is live and be delivered).
    let p = evm_payer(&env);
    deposit(&mut env, &p, MAIN, 5).await;
    assert_eq!(run(&mut env.ctx, home(&p, env.mint)).await, Err(code(VaultError::NotRefundable)));
    // Attack: a session with a Solana refund target sent through a bridge instead of to its payer.
    let solana_payer = evm_params(&env, Keypair::new().pubkey());
    deposit(&mut env, &solana_payer, MAIN, 5).await;
    let refused = run(&mut env.ctx, home(&solana_payer, env.mint)).await;
    assert_eq!(refused, Err(code(VaultError::HasSolanaRefundTarget)));
    // A mint the bridge does not carry cannot go home: it stays (nobody may receive it on Solana).
    deposit(&mut env, &p, OTHER, 5).await;
    assert_eq!(run(&mut env.ctx, home(&p, env.other_mint)).await, Err(code(VaultError::NotBridgedMint)));
    // Nowhere to refund on the EVM side either: the router would send it home again, here.
    let nowhere = DepositParams { to_address: [0x77; 32], refund_address: [0; 32], ..p.clone() };
    deposit(&mut env, &nowhere, MAIN, 5).await;
    let refused = run(&mut env.ctx, home(&nowhere, env.mint)).await;
    assert_eq!(refused, Err(code(VaultError::DestinationCannotRefund)));
    // A chain the bridge does not serve.
    let tron = DepositParams { to_chain_id: u64_word(728126428), ..p.clone() };
    deposit(&mut env, &tron, MAIN, 5).await;
    assert_eq!(run(&mut env.ctx, home(&tron, env.mint)).await, Err(code(VaultError::UnsupportedChain)));
    // A session that can never be bridged (its token is not what the bridge delivers) goes home at once:
    // there the router refunds a token the session cannot use at any time.
    let usdt = DepositParams { to_token: u64_word(0x7e7e), ..p.clone() };
    deposit(&mut env, &usdt, MAIN, 5).await;
    run(&mut env.ctx, home(&usdt, env.mint)).await.unwrap();
    // After expiry the usable deposit goes home too.
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    run(&mut env.ctx, home(&p, env.mint)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&p.vault().0, &env.other_mint)).await, Some(5), "other mints stay");
}
