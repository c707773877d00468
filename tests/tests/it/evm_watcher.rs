//! The watcher against a real anvil node: confirmations, receiver matching, cursor persistence across a
//! restart, and reorg rollback (simulated with `evm_snapshot` / `evm_revert`, which replaces blocks under
//! the cursor exactly as a reorg does).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use e2e::chaos::Fault;
use relayer_chain::{BoxFuture, ChainEvent, EventKind, EventSink, SinkError, WorkReport};
use relayer_devnet::{bindings::TestUSDC, tools::foundry_tool};
use relayer_evm::{
    ChainSpec, ConfirmationTier, EvmChain, Sender,
    config::{ChainConfig, TokenConfig},
    create2::RouterArgs,
    deploy::deploy_router,
    watcher::step,
};
use relayer_store::{ChainStore, SledStore};
use relayer_types::{ChainAddress, SessionId};

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

#[derive(Default)]
struct RecordingSink {
    receivers: HashMap<ChainAddress, SessionId>,
    events: Mutex<Vec<ChainEvent>>,
    reorgs: Mutex<Vec<u64>>,
}

impl EventSink for RecordingSink {
    fn session_for_receiver(&self, receiver: ChainAddress) -> Option<SessionId> {
        self.receivers.get(&receiver).copied()
    }

    fn receivers_of(&self, family: relayer_types::Family) -> Vec<(ChainAddress, SessionId)> {
        self.receivers.iter().filter(|(r, _)| r.family() == family).map(|(r, id)| (*r, *id)).collect()
    }

    fn apply(
        &self,
        _chain_id: u64,
        events: Vec<ChainEvent>,
    ) -> BoxFuture<'_, std::result::Result<(), SinkError>> {
        Box::pin(async move {
            self.events
                .lock()
                .map_err(|e| SinkError::new(std::io::Error::other(e.to_string()), false))?
                .extend(events);
            Ok(())
        })
    }

    fn reorg(&self, _chain_id: u64, from_block: u64) -> BoxFuture<'_, std::result::Result<(), SinkError>> {
        Box::pin(async move {
            self.reorgs
                .lock()
                .map_err(|e| SinkError::new(std::io::Error::other(e.to_string()), false))?
                .push(from_block);
            Ok(())
        })
    }

    fn report(&self, _: WorkReport) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

impl RecordingSink {
    fn deposits(&self) -> Vec<(SessionId, U256, u64)> {
        self.events
            .lock()
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| match &e.kind {
                        EventKind::Deposit(deposit) => Some((
                            self.session_for_receiver(e.receiver)?,
                            deposit.amount,
                            deposit.event.block_number,
                        )),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct Setup {
    _anvil: AnvilInstance,
    provider: DynProvider,
    usdc: Address,
    spec: ChainSpec,
}

/// The chain under test over `store` (a restart is a new chain over the same store).
fn chain(s: &Setup, store: &Arc<SledStore>) -> std::result::Result<EvmChain, Box<dyn std::error::Error>> {
    let sender = Sender {
        signer: PrivateKeySigner::random().into(),
        inventory: None,
        inventory_unusable: None,
        retiring: vec![],
        unusable: vec![],
        config: Default::default(),
    };
    let store: Arc<dyn ChainStore> = Arc::clone(store) as Arc<dyn ChainStore>;
    Ok(EvmChain::connect(s.spec.clone(), store, sender)?)
}

async fn setup(confirmations: u64) -> std::result::Result<Setup, Box<dyn std::error::Error>> {
    let anvil = Anvil::at(foundry_tool("anvil")?).chain_id(8453).try_spawn()?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(PrivateKeySigner::from(anvil.keys()[0].clone())))
        .connect_http(anvil.endpoint_url())
        .erased();
    let router = deploy_router(&provider, B256::ZERO, &RouterArgs::evm(&[], &[])).await?.router;
    let usdc = *TestUSDC::deploy(&provider).await?.address();
    // The spec a config file with these settings validates to (every other field at its default).
    let mut config =
        ChainConfig::new(8453, "Base", &anvil.endpoint(), router, vec![TokenConfig::new(usdc, "USDC", 6)]);
    config.confirmations = confirmations;
    config.poll_interval_ms = 50;
    config.start_block = Some(0);
    config.max_block_range = 3;
    let spec = config.validate(relayer_types::Family::Evm, "chains[0]")?;
    Ok(Setup { _anvil: anvil, provider, usdc, spec })
}

/// Puts a fault-injecting proxy (clean until scripted) between the chain under test and anvil.
async fn behind_proxy(
    s: &mut Setup,
) -> std::result::Result<e2e::chaos::FaultyRpc, Box<dyn std::error::Error>> {
    let proxy = e2e::chaos::FaultyRpc::clean(s.spec.rpc_url.clone()).await?;
    s.spec.rpc_url = proxy.url.clone();
    Ok(proxy)
}

async fn mint(s: &Setup, to: Address, amount: u64) -> Result {
    TestUSDC::new(s.usdc, &s.provider).mint(to, U256::from(amount)).send().await?.get_receipt().await?;
    Ok(())
}

async fn mine(s: &Setup, blocks: u64) -> Result {
    for _ in 0..blocks {
        s.provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await?;
    }
    Ok(())
}

/// Steps until the watcher reports nothing left to do.
async fn catch_up(chain: &EvmChain, sink: &RecordingSink) -> Result {
    for _ in 0..100 {
        if !step(chain, sink).await? {
            return Ok(());
        }
    }
    Err("watcher did not catch up".into())
}

fn sink_for(receiver: Address) -> RecordingSink {
    RecordingSink {
        receivers: HashMap::from([(receiver.into(), SessionId::from_bytes([7; 16]))]),
        ..Default::default()
    }
}

#[tokio::test]
async fn reports_only_transfers_into_known_receivers_after_their_confirmations() -> Result {
    let s = setup(3).await?;
    let dir = tempfile::tempdir()?;
    let chain = chain(&s, &Arc::new(SledStore::open(dir.path())?))?;
    let receiver = Address::repeat_byte(0xee);
    let sink = sink_for(receiver);

    mint(&s, Address::repeat_byte(0x11), 5).await?; // not a receiver: ignored
    mint(&s, receiver, 7).await?;
    catch_up(&chain, &sink).await?;
    assert!(sink.deposits().is_empty(), "not confirmed yet (1 of 3)");
    mine(&s, 2).await?;
    catch_up(&chain, &sink).await?;
    let deposits = sink.deposits();
    assert_eq!(deposits.len(), 1, "{deposits:?}");
    assert_eq!((deposits[0].0, deposits[0].1), (SessionId::from_bytes([7; 16]), U256::from(7)));
    Ok(())
}

#[tokio::test]
async fn resumes_from_its_persisted_cursor_after_a_restart() -> Result {
    let s = setup(1).await?;
    let dir = tempfile::tempdir()?;
    let receiver = Address::repeat_byte(0xee);
    {
        let chain = chain(&s, &Arc::new(SledStore::open(dir.path())?))?;
        let sink = sink_for(receiver);
        mint(&s, receiver, 1).await?;
        catch_up(&chain, &sink).await?;
        assert_eq!(sink.deposits().len(), 1);
    }
    // A new process: same store on disk, a fresh sink.
    let chain = chain(&s, &Arc::new(SledStore::open(dir.path())?))?;
    let sink = sink_for(receiver);
    mint(&s, receiver, 2).await?;
    catch_up(&chain, &sink).await?;
    let deposits = sink.deposits();
    assert_eq!(deposits.len(), 1, "only the new transfer, nothing replayed: {deposits:?}");
    assert_eq!(deposits[0].1, U256::from(2));
    Ok(())
}

#[tokio::test]
async fn rolls_back_to_the_fork_point_when_blocks_under_the_cursor_change() -> Result {
    let s = setup(1).await?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SledStore::open(dir.path())?);
    let chain = chain(&s, &store)?;
    let receiver = Address::repeat_byte(0xee);
    let sink = sink_for(receiver);
    mine(&s, 2).await?;
    catch_up(&chain, &sink).await?;
    let fork = s.provider.get_block_number().await?;

    let snapshot: String = s.provider.raw_request("evm_snapshot".into(), ()).await?;
    mint(&s, receiver, 9).await?;
    mine(&s, 2).await?;
    catch_up(&chain, &sink).await?;
    assert_eq!(sink.deposits().len(), 1, "deposit seen on the branch that will vanish");
    let deposit_block = sink.deposits()[0].2;

    // The branch disappears and a longer one without the deposit replaces it.
    let reverted: bool = s.provider.raw_request("evm_revert".into(), (snapshot,)).await?;
    assert!(reverted);
    mine(&s, 5).await?;
    catch_up(&chain, &sink).await?;

    let reorgs = sink.reorgs.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(reorgs.len(), 1, "one reorg reported");
    assert!(
        reorgs[0] > fork && reorgs[0] <= deposit_block,
        "rolled back to the fork point: {reorgs:?}, fork {fork}, deposit {deposit_block}"
    );
    assert_eq!(sink.deposits().len(), 1, "the vanished deposit is not reported again");
    let cursor = store.cursor(8453)?.ok_or("no cursor")?;
    assert_eq!(cursor.block, s.provider.get_block_number().await?, "caught up on the new branch");
    Ok(())
}

#[tokio::test]
async fn a_large_deposit_waits_for_its_tier_and_holds_later_events_behind_it() -> Result {
    let mut s = setup(1).await?;
    // Deposits of at least 100 units need 4 blocks; smaller ones the chain's 1.
    s.spec.confirmation_tiers =
        vec![ConfirmationTier { token: s.usdc.into(), at_least: U256::from(100), confirmations: 4 }];
    let dir = tempfile::tempdir()?;
    let chain = chain(&s, &Arc::new(SledStore::open(dir.path())?))?;
    let (small, large) = (Address::repeat_byte(0xaa), Address::repeat_byte(0xbb));
    let sink = RecordingSink {
        receivers: HashMap::from([
            (small.into(), SessionId::from_bytes([1; 16])),
            (large.into(), SessionId::from_bytes([2; 16])),
        ]),
        ..Default::default()
    };

    mint(&s, small, 5).await?;
    mint(&s, large, 100).await?;
    mint(&s, small, 6).await?;
    catch_up(&chain, &sink).await?;
    let amounts = |sink: &RecordingSink| sink.deposits().iter().map(|d| d.1.to::<u64>()).collect::<Vec<_>>();
    assert_eq!(amounts(&sink), vec![5], "the large deposit has 2 of 4 blocks; the one after it waits too");
    let cursor = chain.store.cursor(8453)?.ok_or("no cursor")?;
    assert_eq!(cursor.block + 2, s.provider.get_block_number().await?, "cursor held below the large one");

    mine(&s, 1).await?;
    catch_up(&chain, &sink).await?;
    assert_eq!(amounts(&sink), vec![5], "3 of 4 blocks");
    mine(&s, 1).await?;
    catch_up(&chain, &sink).await?;
    assert_eq!(amounts(&sink), vec![5, 100, 6], "4 of 4: delivered in chain order, nothing twice");
    Ok(())
}

#[tokio::test]
async fn a_hanging_rpc_call_is_raced_by_a_hedge_instead_of_waiting_out_the_timeout() -> Result {
    let mut s = setup(1).await?;
    let proxy = behind_proxy(&mut s).await?;
    s.spec.rpc_timeout = Duration::from_secs(600);
    s.spec.rpc_hedge_after = Duration::from_millis(50);
    let dir = tempfile::tempdir()?;
    let chain = chain(&s, &Arc::new(SledStore::open(dir.path())?))?;

    // The first try hangs far beyond any test's patience; the hedge answers.
    proxy.script([Fault::Hang(Duration::from_secs(3600))]);
    let head = chain.rpc(|p| async move { p.get_block_number().await }).await?;
    assert_eq!(head, s.provider.get_block_number().await?);
    assert_eq!(chain.stats.rpc_errors.load(std::sync::atomic::Ordering::Relaxed), 0, "no try failed");
    assert_eq!(proxy.counts(), (1, 1), "one hung request, one hedge that answered");

    // Failures are tried again after a pause: an error, a lost reply, then an answer.
    proxy.script([Fault::Error, Fault::LoseReply]);
    let again = chain.rpc(|p| async move { p.get_block_number().await }).await?;
    assert_eq!(again, head);
    assert_eq!(chain.stats.rpc_errors.load(std::sync::atomic::Ordering::Relaxed), 2);

    // Every try fails: the failure is returned after RPC_TRIES tries.
    proxy.script([Fault::Error; relayer_evm::chain::RPC_TRIES]);
    assert!(chain.rpc(|p| async move { p.get_block_number().await }).await.is_err());
    assert_eq!(proxy.counts(), (3 + relayer_evm::chain::RPC_TRIES as u64, 2));

    // A hang whose hedges fail at once: those failures do not use up the hedges, a later one answers.
    proxy.script([Fault::Hang(Duration::from_secs(3600)), Fault::Error, Fault::Error, Fault::Error]);
    assert_eq!(chain.rpc(|p| async move { p.get_block_number().await }).await?, head);
    assert_eq!(proxy.counts(), (10, 3));
    Ok(())
}

#[tokio::test]
async fn a_reorg_between_reading_a_ranges_hash_and_its_logs_is_caught_and_no_deposit_is_missed() -> Result {
    let mut s = setup(1).await?;
    let proxy = behind_proxy(&mut s).await?;
    let dir = tempfile::tempdir()?;
    let chain = Arc::new(chain(&s, &Arc::new(SledStore::open(dir.path())?))?);
    let receiver = Address::repeat_byte(0xee);
    let sink = Arc::new(sink_for(receiver));
    catch_up(&chain, &sink).await?;

    // Branch 1: two empty blocks. The watcher starts a step over them; its block-hash reads are slow.
    let snapshot: String = s.provider.raw_request("evm_snapshot".into(), ()).await?;
    mine(&s, 2).await?;
    proxy.script_method("eth_getBlockByNumber", vec![Fault::Delay(Duration::from_millis(800)); 24]);
    let stepping = {
        let (chain, sink) = (Arc::clone(&chain), Arc::clone(&sink));
        tokio::spawn(async move { step(&chain, sink.as_ref()).await.map_err(|e| e.to_string()) })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Meanwhile the chain reorganises onto branch 2, which holds a deposit, at the same height.
    let reverted: bool = s.provider.raw_request("evm_revert".into(), (snapshot,)).await?;
    assert!(reverted);
    mint(&s, receiver, 9).await?;
    mine(&s, 1).await?;
    stepping.await??;
    catch_up(&chain, &sink).await?;
    assert_eq!(sink.deposits().len(), 1, "the deposit on the branch that won is seen: {:?}", sink.deposits());
    Ok(())
}
