//! Transfers bridged in from EVM chains (the inbox): `claim` to the session's recipient, `send_back` where
//! the EVM side can refund, `refund_inbound` to the Solana refund target where it cannot; each consumes the
//! transfer exactly once.

use anchor_lang::{AnchorSerialize, Discriminator};
use anchor_spl::{associated_token, token::spl_token};
use deposit_vault::{DepositParams, VaultError, u64_word};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

use super::*;

/// `p` with the EVM refund address 0xbeef and no Solana refund address (an EVM payer's session).
fn with_evm_refund(p: DepositParams) -> DepositParams {
    DepositParams { refund_address: u64_word(0xbeef), solana_refund_address: [0; 32], ..p }
}

#[tokio::test]
async fn a_transfer_bridged_from_evm_is_claimed_once_for_the_session_its_hook_names() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    let p = with_evm_refund(params(&env, recipient, Pubkey::default()));
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    let message = evm_message(6, 41, inbox_token, 10_000_000, Some(hook));
    receive(&mut env, &message).await;
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(10_000_000), "minted to the inbox");
    let received = record(&mut env, 6, 41).await;
    let want = deposit_vault::Received {
        source_domain: 6,
        nonce: nonce32(41),
        mint_recipient: inbox_token,
        amount: 10_000_000,
        hook: Some(hook),
    };
    assert_eq!(received, want);
    // Attack: the same attested message delivered twice would pay twice (Circle's transmitter refuses a
    // used nonce), and recorded twice would be claimed twice.
    let payer = env.ctx.payer.pubkey();
    let again = token_messenger_minter_v2::ix::receive_message(
        payer,
        payer,
        env.mint,
        FEE_RECIPIENT,
        message.clone(),
        attest(&message),
    );
    refused_as_a_replay(&mut env.ctx, again.unwrap()).await;
    let again = deposit_vault::ix::record(payer, message.clone(), attest(&message));
    refused_as_a_replay(&mut env.ctx, again).await;
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(10_000_000), "paid once");

    let at = deposit_vault::ix::received(&nonce32(41));
    let (events, units) =
        run(&mut env.ctx, deposit_vault::ix::claim(payer, &p, at, env.mint, recipient)).await.unwrap();
    println!("claim: {units} compute units (SPL Token CPIs; native code is not metered)");
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(10_000_000), "delivered");
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(0), "the inbox holds nothing of it");
    let deposit_vault::Claimed { event } = find(&events);
    assert_eq!(
        (event.session_id, event.source_domain, event.nonce, event.amount, event.to),
        (p.session_id, 6, nonce32(41), 10_000_000, ata(&recipient, &env.mint))
    );
    // Attack: claiming (or sending back) a consumed transfer again would pay it from other sessions' funds.
    refused_as_a_replay(&mut env.ctx, deposit_vault::ix::claim(payer, &p, at, env.mint, recipient)).await;
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    refused_as_a_replay(&mut env.ctx, deposit_vault::ix::send_back(payer, &p, at, 6, env.mint)).await;
    let refund = deposit_vault::ix::refund_inbound(payer, &p, at, env.mint, recipient);
    refused_as_a_replay(&mut env.ctx, refund).await;
}

#[tokio::test]
async fn an_inbox_transfer_pays_only_the_session_and_recipient_it_was_for() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    let victim = with_evm_refund(params(&env, recipient, Pubkey::default()));
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&victim.hash());
    let message = evm_message(6, 1, inbox_token, 7_000_000, Some(hook));
    receive(&mut env, &message).await;
    let payer = env.ctx.payer.pubkey();
    let at = deposit_vault::ix::received(&nonce32(1));
    // Attack: the attacker's own session (its recipient) claiming the victim's transfer.
    let thief = Keypair::new().pubkey();
    let own =
        DepositParams { session_id: [9; 32], ..with_evm_refund(params(&env, thief, Pubkey::default())) };
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
    receive(&mut env, &message).await;
    let ix = deposit_vault::ix::claim(
        payer,
        &victim,
        deposit_vault::ix::received(&nonce32(2)),
        env.mint,
        recipient,
    );
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotInInbox)));
    // Attack: a forged record (right layout, the victim's hook, a big amount) that `record` did not write:
    // owned by another program, or (were the program ever to write one elsewhere) not at its nonce's
    // address.
    let fake = deposit_vault::Received {
        source_domain: 6,
        nonce: nonce32(3),
        mint_recipient: inbox_token,
        amount: 7_000_000,
        hook: Some(hook),
    };
    let mut data = deposit_vault::Received::DISCRIMINATOR.to_vec();
    fake.serialize(&mut data).unwrap();
    for (owner, refused) in [
        (Keypair::new().pubkey(), anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram),
        (deposit_vault::ID, anchor_lang::error::ErrorCode::ConstraintSeeds),
    ] {
        let forged = Keypair::new().pubkey();
        let account = solana_sdk::account::Account {
            lamports: 10_000_000,
            data: data.clone(),
            owner,
            ..Default::default()
        };
        env.ctx.set_account(&forged, &account.into());
        let ix = deposit_vault::ix::claim(payer, &victim, forged, env.mint, recipient);
        assert_eq!(run(&mut env.ctx, ix).await, Err(anchor(refused)));
    }
    // Attack: sending a claimable transfer back, or refunding it (griefing the session), before it expires.
    let ix = deposit_vault::ix::send_back(payer, &victim, at, 6, env.mint);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Claimable)));
    let ix = deposit_vault::ix::refund_inbound(payer, &victim, at, env.mint, recipient);
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
    let p = with_evm_refund(params(&env, recipient, Pubkey::default()));
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    let message = evm_message(3, 8, inbox_token, 4_000_000, Some(hook));
    receive(&mut env, &message).await;
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    let payer = env.ctx.payer.pubkey();
    let at = deposit_vault::ix::received(&nonce32(8));
    // Expired: nothing is delivered after the session ends.
    let ix = deposit_vault::ix::claim(payer, &p, at, env.mint, recipient);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Expired)));
    // The EVM side can refund it: it goes back there, never to a Solana account.
    let ix = deposit_vault::ix::refund_inbound(payer, &p, at, env.mint, recipient);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::HasEvmRefundAddress)));
    let before = supply(&mut env.ctx, env.mint).await;
    let (events, _) =
        run(&mut env.ctx, deposit_vault::ix::send_back(payer, &p, at, 3, env.mint)).await.unwrap();
    assert_eq!(supply(&mut env.ctx, env.mint).await, before - 4_000_000, "burnt through CCTP");
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(0));
    let deposit_vault::SentBack { event, mint_recipient } = find(&events);
    assert_eq!((event.amount, event.source_domain, mint_recipient), (4_000_000, 3, hook));
    // The message goes to the domain it came from, for the session's receiver there (where the router
    // refunds it to the committed refund address).
    let burn: token_messenger_minter_v2::DepositForBurn = find(&events);
    assert_eq!((burn.destination_domain, burn.mint_recipient.to_bytes(), burn.amount), (3, hook, 4_000_000));
    assert_eq!(burn.depositor, deposit_vault::inbox().0, "the inbox burnt it");
}

#[tokio::test]
async fn an_inbox_transfer_for_a_session_that_does_not_settle_on_solana_can_only_go_back() {
    let mut env = env().await;
    // Someone burnt to the inbox naming the receiver of a session that delivers on Base (the router never
    // does this; a direct call to the adapter can).
    let p = with_evm_refund(evm_params(&env, Pubkey::default()));
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    let message = evm_message(6, 9, inbox_token, 3_000_000, Some(hook));
    receive(&mut env, &message).await;
    let payer = env.ctx.payer.pubkey();
    let at = deposit_vault::ix::received(&nonce32(9));
    // Attack: paying a Base session's funds to a Solana account named by the caller.
    let anyone = Keypair::new().pubkey();
    let ix = deposit_vault::ix::claim(payer, &p, at, env.mint, anyone);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotSolanaDestination)));
    // Nor to its Solana refund target: the EVM side can refund it.
    let ix = deposit_vault::ix::refund_inbound(payer, &p, at, env.mint, anyone);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::HasEvmRefundAddress)));
    // Back to its receiver on the chain it came from, before expiry: the router there moves it on.
    let (events, _) =
        run(&mut env.ctx, deposit_vault::ix::send_back(payer, &p, at, 6, env.mint)).await.unwrap();
    let deposit_vault::SentBack { event, mint_recipient } = find(&events);
    assert_eq!((event.amount, event.source_domain, mint_recipient), (3_000_000, 6, hook));
}

#[tokio::test]
async fn an_expired_transfer_of_a_session_without_an_evm_refund_address_is_refunded_on_solana() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    // A Solana payer's session: its refund address is on Solana only. (Its payment came from an EVM chain
    // anyway, e.g. paid there by someone else, or a late top-up bridged by the router.)
    let p = params(&env, recipient, refund);
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    let message = evm_message(3, 12, inbox_token, 6_000_000, Some(hook));
    receive(&mut env, &message).await;
    let payer = env.ctx.payer.pubkey();
    let at = deposit_vault::ix::received(&nonce32(12));
    // Before expiry the session takes it: no refund.
    let ix = deposit_vault::ix::refund_inbound(payer, &p, at, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Claimable)));
    set_time(&mut env.ctx, EXPIRES as i64 + 1).await;
    // Attack (a loop): sent back, the router there has no EVM refund target and sends it home, here,
    // again; each round costs fees and delays the payer's refund for ever.
    let ix = deposit_vault::ix::send_back(payer, &p, at, 3, env.mint);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NoEvmRefundAddress)));
    // Attack: the refund to the caller's account.
    let ix = deposit_vault::ix::refund_inbound(payer, &p, at, env.mint, payer);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    let ix = deposit_vault::ix::refund_inbound(payer, &p, at, env.mint, refund);
    let (events, units) = run(&mut env.ctx, ix).await.unwrap();
    println!("refund_inbound: {units} compute units (SPL Token + ATA CPIs; native code is not metered)");
    assert_eq!(balance(&mut env.ctx, ata(&refund, &env.mint)).await, Some(6_000_000), "refunded on Solana");
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(0));
    let deposit_vault::RefundedInbound { event } = find(&events);
    assert_eq!(
        (event.session_id, event.source_domain, event.nonce, event.amount, event.to),
        (p.session_id, 3, nonce32(12), 6_000_000, ata(&refund, &env.mint))
    );
    // Consumed once, whichever way: a second refund, a send-back or a claim would pay it again from
    // other sessions' funds.
    let again = deposit_vault::ix::refund_inbound(payer, &p, at, env.mint, refund);
    refused_as_a_replay(&mut env.ctx, again).await;
    refused_as_a_replay(&mut env.ctx, deposit_vault::ix::send_back(payer, &p, at, 3, env.mint)).await;
    set_time(&mut env.ctx, NOW).await;
    refused_as_a_replay(&mut env.ctx, deposit_vault::ix::claim(payer, &p, at, env.mint, recipient)).await;
}

#[tokio::test]
async fn an_unclaimable_transfer_without_an_evm_refund_address_goes_to_the_solana_recipient() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    // No refund address on either family, and a final call (so never claimable): the recipient is the
    // session's Solana refund target, at once.
    let p = DepositParams { final_call: vec![1], ..params(&env, recipient, Pubkey::default()) };
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    let message = evm_message(6, 13, inbox_token, 2_000_000, Some(hook));
    receive(&mut env, &message).await;
    let payer = env.ctx.payer.pubkey();
    let at = deposit_vault::ix::received(&nonce32(13));
    let ix = deposit_vault::ix::claim(payer, &p, at, env.mint, recipient);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::FinalCallUnsupported)));
    run(&mut env.ctx, deposit_vault::ix::refund_inbound(payer, &p, at, env.mint, recipient)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(2_000_000));
}

/// The attack: anyone can burn dust on a CCTP chain with a session's receiver as hook data (the router
/// is not the only way into the inbox) and claim it, so the session's delivery is reported as 1 base unit
/// and the attacker's transaction while the payer's real transfer is still on its way. A transfer below
/// `min_amount` is not the session's to claim: it is refunded at once, and the real one is claimed.
#[tokio::test]
async fn an_inbox_transfer_below_the_minimum_is_refunded_not_claimed() {
    let mut env = env().await;
    let recipient = Keypair::new().pubkey();
    let p = DepositParams {
        min_amount: u64_word(9_990_000),
        ..with_evm_refund(params(&env, recipient, Pubkey::default()))
    };
    let payer = env.ctx.payer.pubkey();
    let (dust, paid) = dust_then_payment(&mut env, &p, recipient).await;
    // Not claimable, so it goes back at once (never to the recipient, never stuck until expiry).
    let (events, _) =
        run(&mut env.ctx, deposit_vault::ix::send_back(payer, &p, dust, 6, env.mint)).await.unwrap();
    let deposit_vault::SentBack { event, .. } = find(&events);
    assert_eq!(event.amount, 1);
    // The payer's transfer meets the minimum: claimable, so it cannot be sent back, and it is delivered.
    let ix = deposit_vault::ix::send_back(payer, &p, paid, 6, env.mint);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Claimable)));
    run(&mut env.ctx, deposit_vault::ix::claim(payer, &p, paid, env.mint, recipient)).await.unwrap();
    assert_eq!(
        balance(&mut env.ctx, ata(&recipient, &env.mint)).await,
        Some(10_000_000),
        "the payer's, not the dust"
    );
}

/// The same dust, for a session whose refund address is on Solana only: sending it back would loop, so it
/// is refunded on Solana at once (not held until expiry, never claimed), and the payer's transfer is
/// still the one delivered.
#[tokio::test]
async fn an_inbox_transfer_below_the_minimum_without_an_evm_refund_address_is_refunded_on_solana() {
    let mut env = env().await;
    let (recipient, refund) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let p = DepositParams { min_amount: u64_word(9_990_000), ..params(&env, recipient, refund) };
    let payer = env.ctx.payer.pubkey();
    let (dust, paid) = dust_then_payment(&mut env, &p, recipient).await;
    let ix = deposit_vault::ix::send_back(payer, &p, dust, 6, env.mint);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NoEvmRefundAddress)));
    // Attack: the dust's refund paid to the caller.
    let ix = deposit_vault::ix::refund_inbound(payer, &p, dust, env.mint, payer);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    let (events, _) = run(&mut env.ctx, deposit_vault::ix::refund_inbound(payer, &p, dust, env.mint, refund))
        .await
        .unwrap();
    let deposit_vault::RefundedInbound { event } = find(&events);
    assert_eq!((event.amount, event.to), (1, ata(&refund, &env.mint)));
    // The payer's transfer meets the minimum: it cannot be refunded before expiry, and it is delivered.
    let ix = deposit_vault::ix::refund_inbound(payer, &p, paid, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::Claimable)));
    run(&mut env.ctx, deposit_vault::ix::claim(payer, &p, paid, env.mint, recipient)).await.unwrap();
    assert_eq!(balance(&mut env.ctx, ata(&recipient, &env.mint)).await, Some(10_000_000));
    assert_eq!(balance(&mut env.ctx, ata(&refund, &env.mint)).await, Some(1));
}

/// Bridges 1 base unit (an attacker's dust) and then 10 USDC (the payer's transfer) into the inbox for
/// `p` (whose minimum is above the dust), checks that the dust cannot be claimed, and returns both bridge
/// records.
async fn dust_then_payment(env: &mut Env, p: &DepositParams, recipient: Pubkey) -> (Pubkey, Pubkey) {
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = deposit_vault::evm::receiver_word(&p.hash());
    for (nonce, amount) in [(1, 1), (2, 10_000_000)] {
        let message = evm_message(6, nonce, inbox_token, amount, Some(hook));
        receive(env, &message).await;
    }
    let (dust, paid) = (deposit_vault::ix::received(&nonce32(1)), deposit_vault::ix::received(&nonce32(2)));
    let ix = deposit_vault::ix::claim(env.ctx.payer.pubkey(), p, dust, env.mint, recipient);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BelowMinimum)));
    (dust, paid)
}
