//! The Solana executor against the in-process bank, one piece of work at a time (no watcher, no engine):
//! what it reports, and what the chain shows afterwards.

#![allow(missing_docs, clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use relayer_chain::{BoxFuture, Chain, ChainEvent, EventSink, SinkError, Work, WorkReport, WorkResult};
use relayer_store::{ChainStore, SledStore};
use relayer_svm::{LocalBank, SvmChain, SvmClient, SvmConfig, tx};
use relayer_types::{
    Action, B256, ChainAddress, Commitment, Family, SOLANA_CHAIN_ID, SessionId, TokenRef, U256,
};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};
use tokio::sync::mpsc;

struct Reports(mpsc::UnboundedSender<WorkReport>);

impl EventSink for Reports {
    fn session_for_receiver(&self, _: ChainAddress) -> Option<SessionId> {
        None
    }
    fn receivers_of(&self, _: Family) -> Vec<(ChainAddress, SessionId)> {
        vec![]
    }
    fn apply(&self, _: u64, _: Vec<ChainEvent>) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn reorg(&self, _: u64, _: u64) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn report(&self, report: WorkReport) -> BoxFuture<'_, ()> {
        let _ = self.0.send(report);
        Box::pin(async {})
    }
}

async fn pay(bank: &LocalBank, wallet: &Keypair, commitment: &Commitment, amount: u64) {
    let blockhash = bank.latest_blockhash().await.unwrap().0;
    let mut t =
        tx::payment_transaction(&wallet.pubkey(), &tx::vault(commitment), &bank.usdc(), 6, amount, blockhash)
            .unwrap();
    t.sign(&[wallet], blockhash);
    bank.send(tx::serialize(&t)).await.unwrap();
}

#[tokio::test]
async fn a_second_settle_after_a_landed_one_moves_the_new_deposit_not_the_old_report() {
    let bank = LocalBank::start([0xa7; 20]).await.unwrap();
    let key = Keypair::new();
    bank.fund(&key.pubkey(), 1_000_000_000, 0).await.unwrap();
    let wallet = Keypair::new();
    bank.fund(&wallet.pubkey(), 1_000_000_000, 10_000_000).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ChainStore> = Arc::new(SledStore::open(dir.path()).unwrap());
    let usdc = ChainAddress::Solana(bank.usdc().to_bytes());
    let token = TokenRef {
        chain_id: SOLANA_CHAIN_ID,
        chain_name: "solana".into(),
        address: usdc,
        symbol: "USDC".into(),
        decimals: 6,
    };
    // Polls a minute apart: the executor's reconciliation never runs between the two pieces of work.
    let config = SvmConfig {
        chain_id: SOLANA_CHAIN_ID,
        name: "solana".into(),
        tokens: vec![token],
        poll: Duration::from_secs(60),
        routes: vec![],
    };
    let chain =
        Arc::new(SvmChain::new(config, Arc::clone(&bank) as Arc<dyn SvmClient>, Arc::clone(&store), key));
    let (reports, mut rx) = mpsc::unbounded_channel();
    let cancel = tokio_util::sync::CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();
    Arc::clone(&chain).start(Arc::new(Reports(reports)), cancel.clone(), &tasks);

    let merchant = Pubkey::new_unique();
    let commitment = Commitment {
        session_id: B256::repeat_byte(3),
        to_chain_id: SOLANA_CHAIN_ID,
        to_token: B256::from(bank.usdc().to_bytes()),
        to_address: B256::from(merchant.to_bytes()),
        amount: U256::from(3_000_000u64),
        final_call: Default::default(),
        refund_address: B256::from(wallet.pubkey().to_bytes()),
        expires_at: u64::MAX / 2,
    };
    let work = Work {
        session_id: SessionId::from_bytes([3; 16]),
        chain_id: SOLANA_CHAIN_ID,
        commitment: commitment.clone(),
        action: Action::Settle { token: usdc },
    };

    pay(&bank, &wallet, &commitment, 3_000_000).await;
    chain.submit(work.clone()).await.unwrap();
    let first = rx.recv().await.unwrap().result;
    assert!(matches!(first, WorkResult::Sent { .. }), "{first:?}");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 3_000_000);
    assert_eq!(
        store.sends(SOLANA_CHAIN_ID, &[]).unwrap().len(),
        1,
        "the landed transaction is still on record"
    );

    // A later deposit: the landed record must not stand in for the new settlement.
    pay(&bank, &wallet, &commitment, 2_000_000).await;
    chain.submit(work.clone()).await.unwrap();
    let second = rx.recv().await.unwrap().result;
    assert!(matches!(second, WorkResult::Sent { .. }) && second != first, "{second:?} after {first:?}");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 5_000_000);

    // Nothing left: a third try sends nothing.
    chain.submit(work).await.unwrap();
    let third = rx.recv().await.unwrap().result;
    assert!(matches!(third, WorkResult::Done(_)), "{third:?}");
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
    bank.stop();
}
