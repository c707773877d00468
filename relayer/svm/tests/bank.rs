//! The in-process bank answers like a cluster where the relayer depends on it: a transaction whose
//! `lastValidBlockHeight` the bank reports as passed can no longer land (the executor relies on that
//! before it sends a replacement), and the unix clock follows the wall clock (session expiry).

#![allow(missing_docs)]

use std::time::Duration;

use relayer_svm::{LocalBank, SvmClient, bank::CLOCK_EVERY, client::SendError, tx};
use solana_sdk::{clock::Clock, signature::Keypair, signer::Signer, transaction::Transaction};

/// The CCTP stand-ins' attester (no message is delivered in these tests).
const ATTESTER: [u8; 20] = [0xa7; 20];

#[tokio::test]
async fn a_transaction_past_its_last_valid_height_never_lands() -> Result<(), Box<dyn std::error::Error>> {
    let bank = LocalBank::start(ATTESTER, [0x11; 20]).await?;
    let payer = Keypair::new();
    bank.fund(&payer.pubkey(), 1_000_000_000, 0).await?;
    let transfer = |lamports| {
        anchor_lang::solana_program::system_instruction::transfer(
            &payer.pubkey(),
            &Keypair::new().pubkey(),
            lamports,
        )
    };
    let (blockhash, last_valid) = bank.latest_blockhash().await?;
    let fresh = Transaction::new_signed_with_payer(
        &[transfer(1_000_000)],
        Some(&payer.pubkey()),
        &[&payer],
        blockhash,
    );
    let signature = bank.send(tx::serialize(&fresh)).await?;
    assert!(
        bank.statuses(vec![signature]).await?[0]
            .as_ref()
            .is_some_and(|s| !s.failed && s.confirmation == relayer_svm::client::Confirmation::Finalized)
    );

    let (blockhash, last_valid_2) = bank.latest_blockhash().await?;
    assert!(last_valid_2 >= last_valid);
    let stale = Transaction::new_signed_with_payer(
        &[transfer(2_000_000)],
        Some(&payer.pubkey()),
        &[&payer],
        blockhash,
    );
    while bank.block_height().await? <= last_valid_2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let late = bank.send(tx::serialize(&stale)).await;
    assert!(matches!(late, Err(SendError::Preflight(_))), "{late:?}");
    assert_eq!(bank.statuses(vec![stale.signatures[0]]).await?, vec![None], "never landed");
    bank.stop();
    Ok(())
}

#[tokio::test]
async fn the_bank_clock_follows_the_wall_clock() -> Result<(), Box<dyn std::error::Error>> {
    let bank = LocalBank::start(ATTESTER, [0x11; 20]).await?;
    tokio::time::sleep(CLOCK_EVERY * 3).await;
    let clock: Clock = bank.sysvar().await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    assert!((now - clock.unix_timestamp).abs() <= 2, "bank {} vs wall {now}", clock.unix_timestamp);
    bank.stop();
    Ok(())
}
