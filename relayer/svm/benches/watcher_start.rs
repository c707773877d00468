//! `cargo bench -p relayer-svm --bench watcher_start`: how long the Solana watcher takes to catch up
//! after a start, and how many RPC calls it makes, with 10,000 finished sessions (each vault paid and
//! settled: two transactions in its history, its token account closed), against an in-memory cluster
//! that counts calls. "Before" is a start without marks (what every start was before they were kept);
//! "after" is the next start over the same store, whose marks say where the first one got to, with the
//! sessions known to be finished. The wall time is in-process (no network), so the call counts, and the
//! time they would take at a real cluster's round trip, are the figures to compare.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use relayer_chain::{BoxFuture, Chain, ChainEvent, EventSink, SinkError, WorkReport};
use relayer_store::{ChainStore, SledStore};
use relayer_svm::{
    Landing, SvmChain, SvmClient, SvmConfig,
    client::{AccountView, ClientError, Page, SendError, SignatureInfo, Simulation, TxStatus, TxView},
};
use relayer_types::{ChainAddress, Family, SOLANA_CHAIN_ID, SessionId, TokenRef};
use solana_sdk::{hash::Hash, pubkey::Pubkey, signature::Keypair, signature::Signature};

const SESSIONS: usize = 10_000;
/// A round trip to a hosted RPC endpoint, for the estimate.
const ROUND_TRIP: Duration = Duration::from_millis(50);

/// A cluster where every vault has two finalized transactions and no token account any more.
struct Cluster {
    histories: HashMap<Pubkey, Vec<SignatureInfo>>,
    calls: [AtomicU64; 4],
}

impl Cluster {
    fn count(&self, i: usize) {
        self.calls[i].fetch_add(1, Ordering::Relaxed);
    }

    fn taken(&self) -> [u64; 4] {
        std::array::from_fn(|i| self.calls[i].swap(0, Ordering::Relaxed))
    }
}

fn unserved<T>() -> BoxFuture<'static, Result<T, ClientError>> {
    Box::pin(async { Err(ClientError::new("not served")) })
}

impl SvmClient for Cluster {
    fn latest_blockhash(&self) -> BoxFuture<'_, Result<(Hash, u64), ClientError>> {
        unserved()
    }
    fn block_height(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        unserved()
    }
    fn slot(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        Box::pin(async { Ok(1_000) })
    }
    fn send(&self, _: Vec<u8>) -> BoxFuture<'_, Result<Signature, SendError>> {
        Box::pin(async { Err(SendError::Transport(ClientError::new("not served"))) })
    }
    fn simulate(&self, _: Vec<u8>) -> BoxFuture<'_, Result<Simulation, ClientError>> {
        unserved()
    }
    fn statuses(&self, _: Vec<Signature>) -> BoxFuture<'_, Result<Vec<Option<TxStatus>>, ClientError>> {
        unserved()
    }
    fn accounts(&self, keys: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<Option<AccountView>>, ClientError>> {
        self.count(0);
        Box::pin(async move { Ok(vec![None; keys.len()]) })
    }
    fn signatures_for(
        &self,
        address: Pubkey,
        page: Page,
    ) -> BoxFuture<'_, Result<Vec<SignatureInfo>, ClientError>> {
        self.count(1);
        let list = self.histories.get(&address).cloned().unwrap_or_default();
        let list = match page.until {
            Some(until) => list.into_iter().take_while(|s| s.signature != until).collect(),
            None => list,
        };
        Box::pin(async move { Ok(list) })
    }
    fn transaction(&self, signature: Signature) -> BoxFuture<'_, Result<Option<TxView>, ClientError>> {
        self.count(2);
        Box::pin(async move {
            Ok(Some(TxView {
                signature,
                slot: 10,
                failed: false,
                account_keys: vec![],
                pre_token_balances: vec![],
                post_token_balances: vec![],
                inner_instructions: vec![],
                instructions: vec![],
            }))
        })
    }
    fn recent_priority_fees(&self, _: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<u64>, ClientError>> {
        Box::pin(async { Ok(vec![]) })
    }
    fn balance(&self, _: Pubkey) -> BoxFuture<'_, Result<u64, ClientError>> {
        self.count(3);
        Box::pin(async { Ok(1_000_000_000) })
    }
}

/// The relayer's sessions: all finished.
struct Finished(Vec<(ChainAddress, SessionId)>);

impl EventSink for Finished {
    fn session_for_receiver(&self, receiver: ChainAddress) -> Option<SessionId> {
        self.0.iter().find(|(r, _)| *r == receiver).map(|(_, id)| *id)
    }
    fn receivers_of(&self, _: Family) -> Vec<(ChainAddress, SessionId)> {
        self.0.clone()
    }
    fn terminal(&self, sessions: &[SessionId]) -> Vec<bool> {
        vec![true; sessions.len()]
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

fn config() -> SvmConfig {
    SvmConfig {
        chain_id: SOLANA_CHAIN_ID,
        name: "solana".into(),
        tokens: vec![TokenRef {
            chain_id: SOLANA_CHAIN_ID,
            chain_name: "solana".into(),
            address: ChainAddress::Solana(relayer_svm::bank::USDC_MINT.to_bytes()),
            symbol: "USDC".into(),
            decimals: 6,
        }],
        poll: Duration::from_secs(3600),
        routes: vec![],
        min_inbox_amount: 1_000_000,
        open_minimums: vec![],
        lag_budget_slots: 150,
        landing: Landing::default(),
        attestation_url: None,
    }
}

/// Starts a chain over `cluster` and `store`; the time until its watcher caught up, and the calls made.
async fn start(
    cluster: &Arc<Cluster>,
    store: &Arc<dyn ChainStore>,
    sink: &Arc<Finished>,
) -> (Duration, [u64; 4]) {
    let chain = Arc::new(SvmChain::new(
        config(),
        Arc::clone(cluster) as Arc<dyn SvmClient>,
        Arc::clone(store),
        Keypair::new(),
    ));
    let cancel = tokio_util::sync::CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();
    cluster.taken();
    let started = Instant::now();
    Arc::clone(&chain).start(Arc::clone(sink) as Arc<dyn EventSink>, cancel.clone(), &tasks);
    chain.caught_up().await;
    let elapsed = started.elapsed();
    let calls = cluster.taken();
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
    (elapsed, calls)
}

#[tokio::main]
async fn main() {
    let mint = relayer_svm::bank::USDC_MINT;
    let mut histories = HashMap::new();
    let mut receivers = vec![];
    for i in 0..SESSIONS {
        let vault = Pubkey::new_unique();
        let token = anchor_spl::associated_token::get_associated_token_address(&vault, &mint);
        let sigs = (0..2)
            .map(|n| SignatureInfo { signature: Signature::new_unique(), slot: 20 - n, failed: false })
            .collect();
        histories.insert(token, sigs);
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(i as u64).to_be_bytes());
        receivers.push((ChainAddress::Solana(token.to_bytes()), SessionId::from_bytes(id)));
    }
    let cluster = Arc::new(Cluster { histories, calls: Default::default() });
    let sink = Arc::new(Finished(receivers));
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ChainStore> = Arc::new(SledStore::open(dir.path()).unwrap());

    let (before, before_calls) = start(&cluster, &store, &sink).await;
    let (after, after_calls) = start(&cluster, &store, &sink).await;
    let total = |c: [u64; 4]| c[0] + c[1] + c[2];
    let estimate = |c: [u64; 4]| ROUND_TRIP * u32::try_from(total(c)).unwrap_or(u32::MAX);
    println!("Solana watcher start-up with {SESSIONS} finished sessions (in-memory cluster)");
    println!(
        "| start | wall time | getMultipleAccounts | getSignaturesForAddress | getTransaction | at {} ms a call |",
        ROUND_TRIP.as_millis()
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, time, calls) in
        [("without marks (before)", before, before_calls), ("with marks (after)", after, after_calls)]
    {
        println!(
            "| {name} | {:.0} ms | {} | {} | {} | {:.0} s |",
            time.as_secs_f64() * 1000.0,
            calls[0],
            calls[1],
            calls[2],
            estimate(calls).as_secs_f64()
        );
    }
    println!(
        "after / before: wall time {:.3}, RPC calls {:.4}",
        after.as_secs_f64() / before.as_secs_f64(),
        total(after_calls) as f64 / total(before_calls).max(1) as f64
    );
}
