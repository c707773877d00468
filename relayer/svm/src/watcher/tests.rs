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

/// A sink that knows the sessions it lists, by their receivers (none: a sink with no sessions).
struct Sessions(Vec<(ChainAddress, SessionId)>);

impl EventSink for Sessions {
    fn session_for_receiver(&self, receiver: ChainAddress) -> Option<SessionId> {
        self.0.iter().find(|(r, _)| *r == receiver).map(|(_, s)| *s)
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
    let chain = unstarted(cluster, dir);
    Arc::clone(&chain).start(Arc::new(Sessions(vec![])), cancel.clone(), &TaskTracker::new());
    chain
}

/// [`start`], not started.
fn unstarted(cluster: Arc<Cluster>, dir: &std::path::Path) -> Arc<SvmChain> {
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
    Arc::new(SvmChain::new(config, cluster, store, Keypair::new()))
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

/// A burn from Base for the inbox with `hook`, as Circle's attestation service completes it (nonce
/// `nonce`, a fee of 100 executed).
pub(crate) fn burn_for_the_inbox(
    inbox: &Pubkey,
    hook: [u8; 32],
    nonce: u8,
    recipient: Pubkey,
    amount: u64,
) -> Vec<u8> {
    use message_transmitter_v2::message::{BurnMessageV2, MessageV2};
    let body = BurnMessageV2 {
        version: 1,
        burn_token: [0x83; 32],
        mint_recipient: inbox.to_bytes(),
        amount,
        message_sender: [0xde; 32],
        max_fee: 100,
        fee_executed: 100,
        expiration_block: 0,
        hook_data: hook.to_vec(),
    };
    MessageV2 {
        version: 1,
        source_domain: 6,
        destination_domain: deposit_vault::SOLANA_DOMAIN,
        nonce: [nonce; 32],
        sender: [0x11; 32],
        recipient: recipient.to_bytes(),
        destination_caller: [0; 32],
        min_finality_threshold: 2000,
        finality_threshold_executed: 2000,
        body: body.encode(),
    }
    .encode()
}

/// A transaction whose only instruction is `program` called with Circle's `receive_message(message, _)`
/// (it called the token messenger: one inner instruction).
fn delivery_tx(signature: Signature, program: Pubkey, message: Vec<u8>, failed: bool) -> TxView {
    use anchor_lang::InstructionData;
    let data = message_transmitter_v2::instruction::ReceiveMessage {
        params: message_transmitter_v2::ReceiveMessageParams { message, attestation: vec![7; 65] },
    }
    .data();
    TxView {
        signature,
        slot: 9,
        failed,
        account_keys: vec![Pubkey::new_unique(), program],
        pre_token_balances: vec![],
        post_token_balances: vec![],
        inner_instructions: vec![crate::client::InnerInstruction {
            outer: 0,
            program: deposit_vault::evm::TOKEN_MESSENGER_MINTER,
            data: vec![],
        }],
        instructions: vec![crate::client::TopInstruction { program, data }],
    }
}

/// A transaction in which the program recorded the transfer of `message` (its `Recorded` event).
fn record_tx(signature: Signature, message: &[u8]) -> TxView {
    use anchor_lang::Event;
    let nonce = message_transmitter_v2::message::nonce_of(message);
    let header = message_transmitter_v2::message::MessageV2::parse(message).unwrap();
    let burn = message_transmitter_v2::message::BurnMessageV2::parse(&header.body).unwrap();
    let received = deposit_vault::Received {
        source_domain: header.source_domain,
        nonce,
        mint_recipient: Pubkey::new_from_array(burn.mint_recipient),
        amount: burn.amount - burn.fee_executed,
        hook: Some(burn.hook_data.try_into().unwrap()),
    };
    let event = deposit_vault::Recorded { at: deposit_vault::ix::received(&nonce), received };
    let data = [anchor_lang::event::EVENT_IX_TAG_LE, &event.data()].concat();
    TxView {
        signature,
        slot: 10,
        failed: false,
        account_keys: vec![Pubkey::new_unique(), deposit_vault::ID],
        pre_token_balances: vec![],
        post_token_balances: vec![],
        inner_instructions: vec![crate::client::InnerInstruction {
            outer: 0,
            program: deposit_vault::ID,
            data,
        }],
        instructions: vec![],
    }
}

/// The deposits among `events`: (amount, transaction id).
fn deposits(events: &[ChainEvent]) -> Vec<(u64, relayer_types::TxId)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            relayer_chain::EventKind::Deposit(d) => Some((d.amount.to::<u64>(), d.event.tx_hash)),
            _ => None,
        })
        .collect()
}

/// A transfer into the inbox is one deposit of its session, whichever transaction shows it: its delivery
/// (a `receive_message` of the configured transmitter, top-level or called by another program, in a
/// transaction that succeeded), or, when the delivery was not seen first, the program's record of it. The record of a transfer whose delivery was reported is no second deposit (the attack: one
/// transfer counted twice towards the session's amount); a transaction read again (a poll whose events
/// were not applied) reports the same deposit under the same id (the engine takes it once). What another
/// program did, a failed transaction, or a message for another receiver program is no deposit.
#[tokio::test]
async fn an_inbox_transfer_is_one_deposit_whether_its_delivery_or_its_record_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cancel, cluster) = (
        CancellationToken::new(),
        Arc::new(Cluster { started: Instant::now(), stalled: AtomicBool::new(false) }),
    );
    let chain = start(cluster, dir.path(), &cancel);
    let mint = chain.watched_mint().unwrap();
    let inbox = crate::tx::inbox_token(&mint);
    let hook = {
        let mut word = [0u8; 32];
        word[12..].copy_from_slice(&[0x42; 20]);
        word
    };
    let session = SessionId::from_bytes([3; 16]);
    let receiver = ChainAddress::Evm(relayer_types::Address::from_slice(&hook[12..]));
    let sink = Sessions(vec![(receiver, session)]);
    let mt = deposit_vault::evm::MESSAGE_TRANSMITTER;
    let tmm = deposit_vault::evm::TOKEN_MESSENGER_MINTER;

    let message = burn_for_the_inbox(&inbox, hook, 1, tmm, 5_000_000);
    let delivered = delivery_tx(Signature::new_unique(), mt, message.clone(), false);
    let first = chain.inbox_events(&delivered, &inbox, &sink);
    assert_eq!(
        deposits(&first),
        vec![(4_999_900, crate::chain::tx_id(&delivered.signature))],
        "net of the fee"
    );
    assert_eq!(first[0].receiver, receiver);
    let again = chain.inbox_events(&delivered, &inbox, &sink);
    assert_eq!(deposits(&again), deposits(&first), "read again: the same deposit, the same id");
    let pending = chain.inbound_mut().get(&session).cloned().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].delivery.as_ref().map(|d| d.message.clone()),
        Some(message.clone()),
        "kept to record"
    );
    // Recorded (by anyone): not a second deposit.
    assert!(
        deposits(&chain.inbox_events(&record_tx(Signature::new_unique(), &message), &inbox, &sink))
            .is_empty()
    );

    // Delivered where the watcher cannot see it: its record reports it, once per transaction.
    let unseen = burn_for_the_inbox(&inbox, hook, 2, tmm, 5_000_000);
    let recorded = record_tx(Signature::new_unique(), &unseen);
    let shown = deposits(&chain.inbox_events(&recorded, &inbox, &sink));
    assert_eq!(shown, vec![(4_999_900, crate::chain::tx_id(&recorded.signature))]);
    assert_eq!(deposits(&chain.inbox_events(&recorded, &inbox, &sink)), shown, "read again: the same id");
    assert_eq!(chain.inbound_mut().get(&session).map(Vec::len), Some(2));
    // ...and its delivery, should it show up after its record (a history read again, a node that had
    // not listed it), is no second deposit.
    let late = delivery_tx(Signature::new_unique(), mt, unseen.clone(), false);
    assert!(deposits(&chain.inbox_events(&late, &inbox, &sink)).is_empty());

    // Delivered through another program's call (a forwarder's wrapper): the transmitter's inner
    // instruction carries the message; reported, and kept to record.
    let wrapped_message = burn_for_the_inbox(&inbox, hook, 6, tmm, 5_000_000);
    let mut wrapped = delivery_tx(Signature::new_unique(), mt, wrapped_message.clone(), false);
    let call = wrapped.instructions.remove(0);
    let wrapper = Pubkey::new_unique();
    wrapped.instructions.push(crate::client::TopInstruction { program: wrapper, data: vec![1] });
    wrapped
        .inner_instructions
        .insert(0, crate::client::InnerInstruction { outer: 0, program: mt, data: call.data });
    assert_eq!(
        deposits(&chain.inbox_events(&wrapped, &inbox, &sink)),
        vec![(4_999_900, crate::chain::tx_id(&wrapped.signature))]
    );
    let kept = chain.inbound_mut().get(&session).cloned().unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().any(|p| p.delivery.as_ref().is_some_and(|d| d.message == wrapped_message)));

    // Not deliveries: a failed transaction, another program with the same data, a message for another
    // receiver program (Circle's transmitter hands it to that program: no tokens reach the inbox).
    for view in [
        delivery_tx(Signature::new_unique(), mt, burn_for_the_inbox(&inbox, hook, 3, tmm, 5_000_000), true),
        delivery_tx(
            Signature::new_unique(),
            Pubkey::new_unique(),
            burn_for_the_inbox(&inbox, hook, 4, tmm, 5_000_000),
            false,
        ),
        delivery_tx(
            Signature::new_unique(),
            mt,
            burn_for_the_inbox(&inbox, hook, 5, Pubkey::new_unique(), 5_000_000),
            false,
        ),
    ] {
        assert!(chain.inbox_events(&view, &inbox, &sink).is_empty(), "{view:?}");
    }
    assert_eq!(chain.inbound_mut().get(&session).map(Vec::len), Some(3));

    // Dust (below what the relayer claims): reported, its message not kept (anyone can send many), and
    // its record still no second deposit.
    let dust = burn_for_the_inbox(&inbox, hook, 8, tmm, 1_000);
    let dusted = delivery_tx(Signature::new_unique(), mt, dust.clone(), false);
    let changes = chain.inbound_changes();
    assert_eq!(
        deposits(&chain.inbox_events(&dusted, &inbox, &sink)),
        vec![(900, crate::chain::tx_id(&dusted.signature))]
    );
    assert!(chain.inbound_changes() > changes, "the mark is written again");
    let kept = chain.inbound_mut().get(&session).cloned().unwrap();
    assert!(kept.iter().any(|p| p.amount == 900 && p.by_delivery && p.delivery.is_none()));
    assert!(
        deposits(&chain.inbox_events(&record_tx(Signature::new_unique(), &dust), &inbox, &sink)).is_empty()
    );
    cancel.cancel();
}

/// The inbox's pending transfers as a build of the same stop marked them (tuples, without
/// `by_delivery`) are read, not dropped: dropping them reads the inbox's whole history again, and a
/// transfer claimed meanwhile could be reported a second time from a transaction the earlier build did not
/// read as a delivery. A kept message says its delivery reported it.
#[tokio::test]
async fn the_inbox_marks_of_the_earlier_format_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Arc::new(Cluster { started: Instant::now(), stalled: AtomicBool::new(false) });
    let chain = unstarted(cluster, dir.path());
    let (session, at) = (SessionId::from_bytes([5; 16]), Pubkey::new_unique());
    let old = serde_json::json!([
        [session, at.to_string(), 7_000_000u64, ["00ff", "aa"]],
        [session, Pubkey::new_unique().to_string(), 9u64, null],
    ]);
    let store = SledStore::open(dir.path().join("marks")).unwrap();
    let store: Arc<dyn ChainStore> = Arc::new(store);
    let chain_id = chain.config.chain_id;
    store.put_watch_marks(chain_id, &[(b"inbound".to_vec(), serde_json::to_vec(&old).unwrap())]).unwrap();
    let chain = Arc::new(SvmChain::new(chain.config.clone(), chain.client.clone(), store, Keypair::new()));
    let state = super::WatchState::load(&chain);
    assert_eq!(state.inbound_written, Some(0), "read: not written again until it changes");
    let pending = chain.inbound_mut().get(&session).cloned().unwrap();
    assert_eq!(pending.len(), 2);
    let kept = pending.iter().find(|p| p.at == at).unwrap();
    assert!(kept.by_delivery);
    assert_eq!(
        kept.delivery.as_ref().map(|d| (d.message.clone(), d.attestation.clone())),
        Some((vec![0, 0xff], vec![0xaa]))
    );
    assert!(pending.iter().any(|p| p.amount == 9 && !p.by_delivery && p.delivery.is_none()));
}
