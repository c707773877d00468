//! `bridge`: an EVM destination's vault through the bridge to its receiver there, only where the
//! destination can deliver the token and refund the payment.

use deposit_vault::{Bridged, DepositParams, VaultError, u64_word};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

use super::*;

fn bridge_ix(payer: Pubkey, params: &DepositParams, mint: Pubkey, rent_to: Pubkey) -> Instruction {
    deposit_vault::ix::bridge(payer, params, mint, Some(rent_to))
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
    let before = supply(&mut env.ctx, env.mint).await;
    let (events, units) = run(&mut env.ctx, bridge_ix(payer, &p, env.mint, refund)).await.unwrap();
    println!("bridge: {units} compute units (SPL Token CPIs; native code is not metered)");

    assert_eq!(supply(&mut env.ctx, env.mint).await, before - 10_000_000, "burnt through CCTP");
    assert_eq!(balance(&mut env.ctx, vault_token).await, None, "the vault token account is closed");
    assert_eq!(lamports(&mut env.ctx, refund).await, rent);
    let receiver = deposit_vault::evm::receiver_word(&p.hash());
    let Bridged { event, destination_domain, mint_recipient } = find(&events);
    assert_eq!(
        (event.amount, event.to, destination_domain, mint_recipient),
        (10_000_000, deposit_vault::evm::TOKEN_MESSENGER_MINTER, 6, receiver)
    );
    // The burn through Circle's token messenger: the vault's whole balance, for the session's receiver on
    // the route's domain, no destination caller, no fee, finalized; burnt (the supply falls), and the
    // token messenger's own event says so.
    let burn: token_messenger_minter_v2::DepositForBurn = find(&events);
    assert_eq!(
        (burn.amount, burn.destination_domain, burn.mint_recipient.to_bytes(), burn.depositor),
        (10_000_000, 6, receiver, p.vault().0)
    );
    assert_eq!(
        (burn.destination_caller, burn.max_fee, burn.min_finality_threshold),
        (Pubkey::default(), 0, 2000)
    );
    assert_eq!((burn.burn_token, burn.destination_token_messenger.to_bytes()), (env.mint, EVM_MESSENGER));
    assert!(burn.hook_data.is_empty());
}

/// Sets Circle's minimum fee (`min_fee`, in 1/1000 bps) in the token messenger's state.
async fn set_min_fee(env: &mut Env, min_fee: u32) {
    use anchor_lang::{AccountDeserialize, AccountSerialize};
    let at = token_messenger_minter_v2::ix::tmm_pda(&[token_messenger_minter_v2::TOKEN_MESSENGER_SEED]).0;
    let mut account = env.ctx.banks_client.get_account(at).await.unwrap().unwrap();
    let mut state =
        token_messenger_minter_v2::TokenMessenger::try_deserialize(&mut &account.data[..]).unwrap();
    state.min_fee = min_fee;
    account.data.clear();
    state.try_serialize(&mut account.data).unwrap();
    env.ctx.set_account(&at, &account.into());
}

/// Circle may set a minimum fee on its token messenger (`min_fee`, in 1/1000 bps), and then refuses a burn
/// that allows less: a vault burning with no fee could then never bridge, nor refund home (a session with
/// an EVM refund address only). The burn allows exactly Circle's minimum, read from the messenger's state;
/// a balance whose arrival net of it would not meet the session's minimum stays; a minimum above the
/// program's cap (10 bps) is not paid; a single base unit cannot carry any fee.
#[tokio::test]
async fn bridge_allows_circles_minimum_fee_and_no_more() {
    let mut env = env().await;
    set_min_fee(&mut env, 1_000).await; // 1 bps
    let refund = Keypair::new().pubkey();
    let payer = env.ctx.payer.pubkey();
    // Attack (on the payer): the whole minimum bridged, 1 bps lost to the fee, and the router there
    // refusing to start the session with less than its minimum (the payment fails, the fee is gone).
    let exact = DepositParams { min_amount: u64_word(10_000_000), ..evm_params(&env, refund) };
    deposit(&mut env, &exact, MAIN, 10_000_000).await;
    let ix = bridge_ix(payer, &exact, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BelowMinimum)));

    let p = evm_params(&env, refund);
    deposit(&mut env, &p, MAIN, 10_000_000).await;
    let (events, _) = run(&mut env.ctx, bridge_ix(payer, &p, env.mint, refund)).await.unwrap();
    let burn: token_messenger_minter_v2::DepositForBurn = find(&events);
    assert_eq!((burn.amount, burn.max_fee), (10_000_000, 1_000), "1 bps of 10 USDC");

    // Circle's minimum above the cap: refused (tried again later), nothing burnt.
    let q = DepositParams { session_id: [8; 32], ..evm_params(&env, refund) };
    deposit(&mut env, &q, MAIN, 10_000_000).await;
    set_min_fee(&mut env, 200_000).await; // 20 bps
    let ix = bridge_ix(payer, &q, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::FeeAboveCap)));
    assert_eq!(balance(&mut env.ctx, ata(&q.vault().0, &env.mint)).await, Some(10_000_000), "kept");

    // One base unit cannot carry Circle's fee: the program says so (not Circle's error read as its own).
    set_min_fee(&mut env, 1_000).await;
    let dust = DepositParams { session_id: [9; 32], ..evm_params(&env, refund) };
    deposit(&mut env, &dust, MAIN, 1).await;
    let ix = bridge_ix(payer, &dust, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BelowCircleMinimum)));
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
    // Neither the token messenger nor the transmitter can be swapped for another program.
    for real in [deposit_vault::evm::TOKEN_MESSENGER_MINTER, deposit_vault::evm::MESSAGE_TRANSMITTER] {
        let mut fake = bridge_ix(payer, &p, env.mint, refund);
        let fake_program = Keypair::new().pubkey();
        for meta in &mut fake.accounts {
            if meta.pubkey == real {
                meta.pubkey = fake_program;
            }
        }
        assert_eq!(
            run(&mut env.ctx, fake).await,
            Err(anchor(anchor_lang::error::ErrorCode::ConstraintAddress))
        );
    }
    // Attack: the token messenger of another domain than the session's route (the burn would be minted
    // on another chain, where the session's receiver may be someone else's): Circle's token messenger
    // checks it against the domain the program asks for.
    let mut elsewhere = bridge_ix(payer, &p, env.mint, refund);
    let (right, wrong) = (
        deposit_vault::ix::cctp_burn(&p.vault().0, &env.mint, 6).remote_token_messenger,
        deposit_vault::ix::cctp_burn(&p.vault().0, &env.mint, 3).remote_token_messenger,
    );
    for meta in &mut elsewhere.accounts {
        if meta.pubkey == right {
            meta.pubkey = wrong;
        }
    }
    let invalid_domain = anchor_lang::error::ERROR_CODE_OFFSET
        + token_messenger_minter_v2::TokenMessengerError::InvalidDestinationDomain as u32;
    assert_eq!(run(&mut env.ctx, elsewhere).await, Err(invalid_domain));
    // Attack: the rent to someone else, or kept by leaving the account out.
    let ix = bridge_ix(payer, &p, env.mint, Keypair::new().pubkey());
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    let ix = deposit_vault::ix::bridge(payer, &p, env.mint, None);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    // A mint the bridge does not carry (it would burn a token the destination never mints).
    deposit(&mut env, &p, OTHER, 5).await;
    let other = run(&mut env.ctx, bridge_ix(payer, &p, env.other_mint, refund)).await;
    assert_eq!(other, Err(code(VaultError::NotBridgedMint)));
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

#[tokio::test]
async fn bridge_refuses_a_session_whose_token_the_bridge_does_not_deliver_there() {
    let mut env = env().await;
    let refund = Keypair::new().pubkey();
    let payer = env.ctx.payer.pubkey();
    // Attack: a USDT session's deposit of USDC bridged to Base, where the receiver would hold a token
    // the session cannot deliver (the router refuses the same as `AdapterUnsupported`).
    let usdt_on_base = alloy::primitives::address!("fde4C96c8593536E31F229EA8f37b2ADa2699bb2");
    let usdt =
        DepositParams { to_token: deposit_vault::evm::word(&usdt_on_base.0.0), ..evm_params(&env, refund) };
    deposit(&mut env, &usdt, MAIN, 5).await;
    let ix = bridge_ix(payer, &usdt, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotBridgedToken)));
    // Another chain's USDC is not what arrives on Base either.
    let arbitrum_usdc = alloy::primitives::address!("af88d065e77c8cC2239327C5EDb3A432268e5831");
    let wrong = DepositParams { to_token: deposit_vault::evm::word(&arbitrum_usdc.0.0), ..usdt.clone() };
    deposit(&mut env, &wrong, MAIN, 5).await;
    let ix = bridge_ix(payer, &wrong, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotBridgedToken)));
    // Attack: a destination that could not refund a bridged payment (its `to_address` is no EVM address;
    // the router falls back to it when no EVM refund address is committed): it would be locked there.
    let unrefundable = DepositParams { to_address: [0x77; 32], ..evm_params(&env, refund) };
    deposit(&mut env, &unrefundable, MAIN, 5).await;
    let ix = bridge_ix(payer, &unrefundable, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::DestinationCannotRefund)));
    // The same chain with its own USDC: bridged.
    let fine = DepositParams { session_id: [3; 32], ..evm_params(&env, refund) };
    deposit(&mut env, &fine, MAIN, 5).await;
    run(&mut env.ctx, bridge_ix(payer, &fine, env.mint, refund)).await.unwrap();
    for p in [&usdt, &wrong, &unrefundable] {
        assert_eq!(balance(&mut env.ctx, ata(&p.vault().0, &env.mint)).await, Some(5), "nothing moved");
    }
}

#[tokio::test]
async fn bridge_keeps_a_deposit_below_the_minimum_and_bridges_once_it_is_reached() {
    let mut env = env().await;
    let refund = Keypair::new().pubkey();
    let payer = env.ctx.payer.pubkey();
    let p = DepositParams { min_amount: u64_word(9_990_000), ..evm_params(&env, refund) };
    // Attack: dust bridged ahead of the payment (the router there would not start on it, and the real
    // payment would follow as a second transfer).
    deposit(&mut env, &p, MAIN, 1_000).await;
    let ix = bridge_ix(payer, &p, env.mint, refund);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BelowMinimum)));
    deposit(&mut env, &p, MAIN, 9_989_000).await;
    let (events, _) = run(&mut env.ctx, bridge_ix(payer, &p, env.mint, refund)).await.unwrap();
    let Bridged { event, .. } = find(&events);
    assert_eq!(event.amount, 9_990_000, "the dust and the payment, together");
}

#[tokio::test]
async fn a_calldata_session_is_bridged_and_a_session_without_a_solana_refund_target_keeps_its_account_open() {
    let mut env = env().await;
    let payer = env.ctx.payer.pubkey();
    // A final call: bridged like any session; the router on Base runs it once the minimum is there and
    // bounces to the EVM refund target (`refund_address`, else `to_address`) if it fails.
    let call = DepositParams {
        final_call: vec![0xb6, 0xb5, 0x5f, 0x25],
        refund_address: u64_word(0xbeef),
        ..evm_params(&env, Pubkey::default())
    };
    deposit(&mut env, &call, MAIN, 7).await;
    let vault_token = ata(&call.vault().0, &env.mint);
    let rent = lamports(&mut env.ctx, vault_token).await;
    // No Solana refund target: nobody may take the rent, so no account may be named for it.
    let ix = bridge_ix(payer, &call, env.mint, payer);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::WrongRecipient)));
    let (events, _) =
        run(&mut env.ctx, deposit_vault::ix::bridge(payer, &call, env.mint, None)).await.unwrap();
    let Bridged { event, .. } = find(&events);
    assert_eq!((event.amount, event.rent_to, event.rent), (7, Pubkey::default(), 0));
    assert_eq!(balance(&mut env.ctx, vault_token).await, Some(0));
    assert_eq!(lamports(&mut env.ctx, vault_token).await, rent, "left open");
}
