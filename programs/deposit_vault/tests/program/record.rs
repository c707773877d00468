//! `record`: the program's record of a transfer Circle's CCTP v2 transmitter delivered (the stand-ins at
//! Circle's ids, with Circle's accounts), from its attested message; every guard with the attack it stops.

use solana_sdk::{signature::Keypair, signer::Signer};

use super::*;

#[tokio::test]
async fn a_delivered_burn_is_recorded_once_as_its_attested_message_says() {
    let mut env = env().await;
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = [0x42; 32];
    let message = evm_message_to(5, 6, 71, inbox_token, 3_000_000, 1_200, Some(hook));
    let payer = env.ctx.payer.pubkey();

    // Attack: recording before Circle's transmitter delivered it (the inbox holds none of it yet; a
    // record would let a claim pay it from other sessions' transfers). The transmitter has no used
    // nonce for it: its account is nobody's.
    let early = deposit_vault::ix::record(payer, message.clone(), attest(&message));
    assert_eq!(run(&mut env.ctx, early).await, Err(anchor(anchor_lang::error::ErrorCode::ConstraintOwner)));

    deliver(&mut env, &message).await.unwrap();
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(3_000_000 - 1_200), "Circle's messenger paid");

    // Attack: the delivered message with another attestation (a key that is not the transmitter's
    // attester), or with a larger amount under the attester's signature of the original.
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    let forged = {
        use alloy::signers::SignerSync;
        stranger.sign_hash_sync(&alloy::primitives::keccak256(&message)).unwrap().as_bytes().to_vec()
    };
    let ix = deposit_vault::ix::record(payer, message.clone(), forged);
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BadAttestation)));
    let mut inflated = message.clone();
    inflated[148 + 68..148 + 100].copy_from_slice(&u64_word(30_000_000));
    let ix = deposit_vault::ix::record(payer, inflated, attest(&message));
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::BadAttestation)));

    // Attack: an attested message with the same nonce whose recipient is not Circle's token messenger.
    // On EVM anyone may send any body through Circle's transmitter, and Circle attests it; delivered to
    // another receiver program it moves no tokens, so its burn-shaped body says nothing about the inbox.
    let mut elsewhere = message.clone();
    elsewhere[76..108].copy_from_slice(&[0x99; 32]);
    let ix = deposit_vault::ix::record(payer, elsewhere.clone(), attest(&elsewhere));
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotABurnForSolana)));
    // ...or one its source's token messenger did not send (on EVM anyone may send a burn-shaped body).
    let mut not_a_burn = message.clone();
    not_a_burn[44..76].copy_from_slice(&[0x98; 32]);
    let ix = deposit_vault::ix::record(payer, not_a_burn.clone(), attest(&not_a_burn));
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotABurnForSolana)));
    // ...or one for another domain, or a fee the messenger would have refused.
    let mut other_domain = message.clone();
    other_domain[8..12].copy_from_slice(&6u32.to_be_bytes());
    let ix = deposit_vault::ix::record(payer, other_domain.clone(), attest(&other_domain));
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotABurnForSolana)));
    let mut overcharged = message.clone();
    overcharged[148 + 164..148 + 196].copy_from_slice(&u64_word(1_201));
    let ix = deposit_vault::ix::record(payer, overcharged.clone(), attest(&overcharged));
    assert_eq!(run(&mut env.ctx, ix).await, Err(code(VaultError::NotABurnForSolana)));

    // Attack: a transmitter state or a remote token messenger of the caller's making (its own attesters,
    // its own sender): not the programs' own accounts.
    for index in [1, 2] {
        let mut fake = deposit_vault::ix::record(payer, message.clone(), attest(&message));
        fake.accounts[index].pubkey = Keypair::new().pubkey();
        let refused = run(&mut env.ctx, fake).await;
        assert!(
            [anchor_lang::error::ErrorCode::ConstraintOwner, anchor_lang::error::ErrorCode::ConstraintSeeds]
                .into_iter()
                .any(|e| refused == Err(anchor(e))),
            "{index}: {refused:?}"
        );
    }

    // Attack (on the relayer's watch): a record naming another account than the one paid, so it is not in
    // the inbox's history and the inbox's watcher never sees the transfer recorded.
    let mut unseen = deposit_vault::ix::record(payer, message.clone(), attest(&message));
    assert_eq!(unseen.accounts[4].pubkey, inbox_token, "the mint recipient");
    unseen.accounts[4].pubkey = Keypair::new().pubkey();
    assert_eq!(run(&mut env.ctx, unseen).await, Err(code(VaultError::NotTheMintRecipient)));

    // The genuine one: recorded as the message says, net of the executed fee, with the hook.
    let ix = deposit_vault::ix::record(payer, message.clone(), attest(&message));
    let (events, units) = run(&mut env.ctx, ix).await.unwrap();
    println!("record: {units} compute units (native code is not metered)");
    let at = deposit_vault::ix::received(&nonce32(71));
    let deposit_vault::Recorded { at: said, received } = find(&events);
    assert_eq!(said, at);
    let account = env.ctx.banks_client.get_account(at).await.unwrap().unwrap();
    assert_eq!(account.owner, deposit_vault::ID, "the program's own record");
    let recorded: deposit_vault::Received = decode(&account.data);
    assert_eq!(received, recorded, "the event says what the record holds");
    assert_eq!(
        recorded,
        deposit_vault::Received {
            source_domain: 6,
            nonce: nonce32(71),
            mint_recipient: inbox_token,
            amount: 3_000_000 - 1_200,
            hook: Some(hook),
        }
    );
    // Attack: recording it twice (a second record would be a second claim).
    refused_as_a_replay(&mut env.ctx, deposit_vault::ix::record(payer, message.clone(), attest(&message)))
        .await;
}
