//! Readiness of a Solana chain, against a cluster that only tells the time: the engine's `/readyz`
//! fails for a chain whose watcher lags its head by more than `lag_budget`. Time runs 100 times
//! faster than on mainnet: 4 ms slots, 10 ms between polls, 3 ms per RPC answer; and it is tokio's
//! paused clock, so a busy machine cannot make a healthy watcher look late.

#![allow(clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use relayer_chain::{BoxFuture, Chain, ChainEvent, ChainStats, EventSink, SinkError, WorkReport};
use relayer_store::{ChainStore, SledStore};
use relayer_types::{ChainAddress, Family, SessionId};
use solana_sdk::{hash::Hash, pubkey::Pubkey, signature::Keypair, signature::Signature};
use tokio::time::Instant;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    SvmChain,
    client::{
        AccountView, ClientError, Page, SendError, SignatureInfo, Simulation, SvmClient, TxStatus, TxView,
    },
    config::SolanaSection,
};

const SLOT: Duration = Duration::from_millis(4);
const RPC: Duration = Duration::from_millis(3);
const POLL: Duration = Duration::from_millis(10);

/// A cluster whose finalized slot advances with the clock and whose accounts are all empty; while
/// `stalled`, its account reads fail (the watcher sees the head move and cannot process).
struct Cluster {
    started: Instant,
    stalled: AtomicBool,
}

impl Cluster {
    fn answer<T: Send + 'static>(
        &self,
        value: Result<T, ClientError>,
    ) -> BoxFuture<'_, Result<T, ClientError>> {
        Box::pin(async move {
            tokio::time::sleep(RPC).await;
            value
        })
    }
}

impl SvmClient for Cluster {
    fn latest_blockhash(&self) -> BoxFuture<'_, Result<(Hash, u64), ClientError>> {
        self.answer(Err(ClientError::new("not served")))
    }
    fn block_height(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        self.answer(Err(ClientError::new("not served")))
    }
    fn slot(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        let slots = self.started.elapsed().as_micros() / SLOT.as_micros();
        self.answer(Ok(250_000_000 + u64::try_from(slots).unwrap()))
    }
    fn send(&self, _: Vec<u8>) -> BoxFuture<'_, Result<Signature, SendError>> {
        Box::pin(async { Err(SendError::Transport(ClientError::new("not served"))) })
    }
    fn simulate(&self, _: Vec<u8>) -> BoxFuture<'_, Result<Simulation, ClientError>> {
        self.answer(Err(ClientError::new("not served")))
    }
    fn statuses(&self, _: Vec<Signature>) -> BoxFuture<'_, Result<Vec<Option<TxStatus>>, ClientError>> {
        self.answer(Err(ClientError::new("not served")))
    }
    fn accounts(&self, keys: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<Option<AccountView>>, ClientError>> {
        if self.stalled.load(Ordering::Relaxed) {
            return self.answer(Err(ClientError::new("stalled")));
        }
        self.answer(Ok(vec![None; keys.len()]))
    }
    fn signatures_for(&self, _: Pubkey, _: Page) -> BoxFuture<'_, Result<Vec<SignatureInfo>, ClientError>> {
        self.answer(Ok(vec![]))
    }
    fn transaction(&self, _: Signature) -> BoxFuture<'_, Result<Option<TxView>, ClientError>> {
        self.answer(Ok(None))
    }
    fn recent_priority_fees(&self, _: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<u64>, ClientError>> {
        self.answer(Ok(vec![]))
    }
    fn balance(&self, _: Pubkey) -> BoxFuture<'_, Result<u64, ClientError>> {
        self.answer(Ok(0))
    }
}

/// A sink with no sessions.
struct NoSessions;

impl EventSink for NoSessions {
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
    fn report(&self, _: WorkReport) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// What `Engine::readiness` asks of a chain's stats: a head seen, and a lag within the budget.
fn ready(stats: &ChainStats) -> bool {
    stats.head > 0 && stats.lag() <= stats.lag_budget
}

/// A Solana chain as its `[[chains]]` entry configures it by default (polled at the test's pace) over
/// `cluster`, started.
fn start(cluster: Arc<Cluster>, dir: &std::path::Path, cancel: &CancellationToken) -> Arc<SvmChain> {
    let section: SolanaSection = toml::from_str(
        r#"
rpc_url = "http://127.0.0.1:8899"
private_key = "env:SOL_KEY"
tokens = [{ mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", symbol = "USDC", decimals = 6 }]
"#,
    )
    .unwrap();
    let key = Keypair::new().to_base58_string();
    let mut config = section.validate("chains[0]", &|_| Some(key.clone())).unwrap().chain;
    config.poll = POLL;
    let store: Arc<dyn ChainStore> = Arc::new(SledStore::open(dir).unwrap());
    let chain = Arc::new(SvmChain::new(config, cluster, store, Keypair::new()));
    Arc::clone(&chain).start(Arc::new(NoSessions), cancel.clone(), &TaskTracker::new());
    chain
}

/// Samples the chain's stats every millisecond for `span`: how many samples were ready, of how many.
async fn sample(chain: &SvmChain, span: Duration) -> (usize, usize, Vec<ChainStats>) {
    let (until, mut ready_samples, mut unready) = (Instant::now() + span, 0, vec![]);
    while Instant::now() < until {
        let stats = chain.stats();
        if ready(&stats) {
            ready_samples += 1
        } else {
            unready.push(stats)
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    (ready_samples, ready_samples + unready.len(), unready)
}

async fn until_ready(chain: &SvmChain, want: bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while ready(&chain.stats()) != want {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("never became {}: {:?}", if want { "ready" } else { "not ready" }, chain.stats())
    });
}

#[tokio::test(start_paused = true)]
async fn a_healthy_solana_watcher_stays_ready_across_polls() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let cluster = Arc::new(Cluster { started: Instant::now(), stalled: AtomicBool::new(false) });
    let chain = start(cluster, dir.path(), &cancel);
    until_ready(&chain, true).await;
    let before = chain.stats();
    // About 100 polls, a head read and a processed slot each.
    let (ready_samples, samples, unready) = sample(&chain, Duration::from_millis(1500)).await;
    let after = chain.stats();
    cancel.cancel();
    assert!(after.processed >= before.processed + 100, "the watcher polled: {before:?} → {after:?}");
    assert_eq!(ready_samples, samples, "ready throughout; not ready at {unready:?}");
}

#[tokio::test(start_paused = true)]
async fn a_stalled_solana_watcher_becomes_not_ready_and_ready_again_once_it_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let cluster = Arc::new(Cluster { started: Instant::now(), stalled: AtomicBool::new(false) });
    let chain = start(Arc::clone(&cluster), dir.path(), &cancel);
    until_ready(&chain, true).await;
    cluster.stalled.store(true, Ordering::Relaxed);
    let stalled_at = Instant::now();
    until_ready(&chain, false).await;
    let stats = chain.stats();
    assert!(stats.lag() > stats.lag_budget && stats.lag_budget == 150, "{stats:?}");
    // Not before the budget ran out: 150 slots of 4 ms.
    assert!(stalled_at.elapsed() >= SLOT * 150, "{:?}", stalled_at.elapsed());
    cluster.stalled.store(false, Ordering::Relaxed);
    until_ready(&chain, true).await;
    cancel.cancel();
}
