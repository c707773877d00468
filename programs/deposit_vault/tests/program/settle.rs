//! `settle`: a Solana destination's vault to its recipient, and every way to misdirect it.

use anchor_spl::{associated_token, token::spl_token};
use deposit_vault::{DepositParams, Settled, VaultError, VaultEvent, u64_word};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

use super::*;

fn settle_ix(
    payer: Pubkey,
    p: &DepositParams,
    mint: Pubkey,
    recipient: Pubkey,
    rent_to: Pubkey,
) -> Instruction {
    deposit_vault::ix::settle(payer, p, mint, spl_token::ID, recipient, rent_to)
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
    assert_eq!(lamports(&mut env.ctx, refund).await, rent, "its rent went to the Solana refund address");
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
    let ix = deposit_vault::ix::refund(payer, &p, env.mint, spl_token::ID, attacker);
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
async fn settle_waits_for_the_committed_minimum_and_then_delivers_everything() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let payer = env.ctx.payer.pubkey();
    let p = DepositParams { min_amount: u64_word(9_990_000), ..params(&env, recipient, refund) };
    // Attack: dust in the vault, then settle, so the session counts as paid with almost nothing (and the
    // real payment arrives as a mere extra).
    deposit(&mut env, &p, MAIN, 1).await;
    let ix = settle_ix(payer, &p, env.mint, recipient, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BelowMinimum)));
    // One unit short is still short.
    deposit(&mut env, &p, MAIN, 9_989_998).await;
    let ix = settle_ix(payer, &p, env.mint, recipient, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BelowMinimum)));
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, None, "nothing delivered");
    // Exactly the minimum: delivered, all of it.
    deposit(&mut env, &p, MAIN, 1).await;
    run(&mut env.ctx, settle_ix(payer, &p, env.mint, recipient, refund)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(9_990_000));
    // Above it: delivered too (a session with a larger payment than its minimum).
    let q = DepositParams { session_id: [2; 32], ..p.clone() };
    deposit(&mut env, &q, MAIN, 12_000_000).await;
    run(&mut env.ctx, settle_ix(payer, &q, env.mint, recipient, refund)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(21_990_000));
    // A minimum above any balance (a uint256 beyond u64) is never met: such a vault is only refunded.
    let mut huge = u64_word(0);
    huge[0] = 1;
    let never = DepositParams { session_id: [3; 32], min_amount: huge, ..p.clone() };
    deposit(&mut env, &never, MAIN, u64::MAX / 2).await;
    let ix = settle_ix(payer, &never, env.mint, recipient, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BelowMinimum)));
}

#[tokio::test]
async fn settle_delivers_a_token_2022_mint_and_its_rent_goes_to_the_recipient_without_a_refund_address() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    let authority = env.authority.insecure_clone();
    let mint = create_mint_2022(&mut env.ctx, &authority, 6, None).await;
    // No Solana refund address: the recipient is the session's Solana refund target.
    let p = DepositParams { to_token: mint.to_bytes(), ..params(&env, recipient, Pubkey::default()) };
    deposit_of(&mut env, &p, mint, token_2022::ID, 5_000_000).await;
    let vault_token = ata_2022(&p.vault().0, &mint);
    let rent = lamports(&mut env.ctx, vault_token).await;
    let payer = env.ctx.payer.pubkey();
    let ix = deposit_vault::ix::settle(payer, &p, mint, token_2022::ID, recipient, recipient);
    let (events, _) = run(&mut env.ctx, ix).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata_2022(&recipient, &mint)).await, Some(5_000_000));
    assert_eq!(balance(&mut env.ctx, vault_token).await, None);
    assert_eq!(lamports(&mut env.ctx, recipient).await, rent);
    let Settled { event } = find(&events);
    assert_eq!((event.rent_to, event.rent), (recipient, rent));
}
