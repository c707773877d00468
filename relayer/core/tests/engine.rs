//! The engine against a fake chain family (no anvil): what it queues for each deposit, how it records
//! and retries what the chain reports, reorgs, restarts, and a chain missing from the config. The fake
//! implements the same [`Chain`] seam `relayer-evm` does.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use relayer_chain::{
    BoxFuture, Chain, ChainEvent, ChainStats, EventKind, EventSink, Inspection, Refusal, Route, Stopped,
    Work, WorkReport, WorkResult,
};
use relayer_core::{
    api::wire::SessionResponse,
    engine::{Engine, EngineError, EngineSettings, PaymentRequest, RetryPolicy},
};
use relayer_store::{SledStore, Store, conformance};
use relayer_types::{
    Action, Address, B256, Bridging, ChainAddress, ChainKey, Commitment, Deposit, EventId, Family, Fronting,
    Outcome, Session, SessionId, SessionStatus, Settlement, TRON_CHAIN_ID, TokenRef, TxId, U256, WorkState,
};
use tokio::time::Instant;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

const BASE: u64 = 8453;
const USDC: ChainAddress = ChainAddress::Evm(Address::repeat_byte(0x83));
const ARBITRUM: u64 = 42161;
const ADAPTER: ChainAddress = ChainAddress::Evm(Address::repeat_byte(0xad));
const RELAYER: ChainAddress = ChainAddress::Evm(Address::repeat_byte(0x5e));

/// A fake chain's receiver of `session`: session id ‖ chain id, distinct per session and per chain, like
/// families that derive differently.
fn fake_receiver(session: SessionId, chain_id: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[..16].copy_from_slice(&session.as_bytes()[..]);
    bytes[16..].copy_from_slice(&(chain_id as u32).to_be_bytes());
    Address::from(bytes)
}

/// The EVM receiver of `session` on the fake chain `chain_id`.
fn at(session: SessionId, chain_id: u64) -> ChainAddress {
    ChainAddress::Evm(fake_receiver(session, chain_id))
}

/// A chain that records what it is asked and never talks to anything.
struct FakeChain {
    key: ChainKey,
    tokens: Vec<TokenRef>,
    submitted: Mutex<Vec<Work>>,
    inspected: Mutex<Vec<TxId>>,
    /// Routes out of this chain: (token, destination chain, route).
    routes: Vec<(ChainAddress, u64, Route)>,
    /// Fronting cap for its USDC.
    cap: Option<U256>,
    /// Bridgings announced as on their way here: session, source chain, transaction.
    announced: Mutex<Vec<(SessionId, u64, TxId)>>,
    /// Keys being rotated out: still the relayer's.
    retiring: Vec<ChainAddress>,
    /// Frontings on record as sent and not final.
    frontings_in_flight: Mutex<Vec<(SessionId, ChainAddress, U256)>>,
    /// What `stats` answers.
    stats: Mutex<ChainStats>,
}

impl FakeChain {
    fn new(chain_id: u64) -> Arc<Self> {
        Self::of(Family::Evm, chain_id)
    }

    fn of(family: Family, chain_id: u64) -> Arc<Self> {
        let token = TokenRef {
            chain_id,
            chain_name: "Base".into(),
            address: USDC,
            symbol: "USDC".into(),
            decimals: 6,
        };
        Arc::new(Self {
            key: ChainKey { family, chain_id },
            tokens: vec![token],
            submitted: Mutex::default(),
            inspected: Mutex::default(),
            routes: vec![],
            cap: None,
            announced: Mutex::default(),
            retiring: vec![],
            frontings_in_flight: Mutex::default(),
            stats: Mutex::default(),
        })
    }

    /// A chain with `routes` out of it and a fronting cap for its USDC.
    fn configured(chain_id: u64, routes: Vec<(ChainAddress, u64, Route)>, cap: Option<U256>) -> Arc<Self> {
        Self::new(chain_id).with(routes, cap)
    }

    /// This chain with `routes` out of it and a fronting cap for its USDC.
    fn with(self: Arc<Self>, routes: Vec<(ChainAddress, u64, Route)>, cap: Option<U256>) -> Arc<Self> {
        let plain = Arc::into_inner(self).expect("fresh");
        let token = TokenRef { chain_id: plain.key.chain_id, ..plain.tokens[0].clone() };
        Arc::new(Self { tokens: vec![token], routes, cap, ..plain })
    }

    fn take(&self) -> Vec<Work> {
        std::mem::take(&mut *self.submitted.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn announced(&self) -> Vec<(SessionId, u64, TxId)> {
        std::mem::take(&mut *self.announced.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Chain for FakeChain {
    fn key(&self) -> ChainKey {
        self.key
    }
    fn name(&self) -> &str {
        "Base"
    }
    fn tokens(&self) -> &[TokenRef] {
        &self.tokens
    }
    fn receiver(&self, c: &Commitment) -> ChainAddress {
        let id = SessionId::from_b256(c.session_id).expect("session id");
        ChainAddress::of_family(self.key.family, fake_receiver(id, self.key.chain_id))
            .expect("EVM-shaped fake")
    }
    fn route(&self, token: &ChainAddress, to_chain_id: u64) -> Option<Route> {
        self.routes.iter().find(|(t, to, _)| t == token && *to == to_chain_id).map(|(_, _, r)| r.clone())
    }
    fn fronting_cap(&self, token: &ChainAddress) -> Option<U256> {
        self.cap.filter(|_| *token == USDC)
    }
    fn open_amount_minimum(&self, token: &ChainAddress) -> U256 {
        if *token == USDC { U256::from(1_000_000u64) } else { U256::ZERO }
    }
    fn relayer_address(&self) -> Option<ChainAddress> {
        Some(RELAYER)
    }
    fn other_addresses(&self) -> Vec<ChainAddress> {
        self.retiring.clone()
    }
    fn frontings_in_flight(&self) -> Result<Vec<(SessionId, ChainAddress, U256)>, relayer_store::StoreError> {
        Ok(self.frontings_in_flight.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }
    fn arriving(
        &self,
        session: &Session,
        from_chain: u64,
        bridging: &Bridging,
    ) -> Result<(), relayer_store::StoreError> {
        let announced = (session.id, from_chain, bridging.event.tx_hash);
        self.announced.lock().unwrap_or_else(PoisonError::into_inner).push(announced);
        Ok(())
    }
    fn submit(&self, work: Work) -> BoxFuture<'_, Result<(), Stopped>> {
        self.submitted.lock().unwrap_or_else(PoisonError::into_inner).push(work);
        Box::pin(async { Ok(()) })
    }
    fn inspect(&self, tx_hash: TxId) -> BoxFuture<'_, Inspection> {
        self.inspected.lock().unwrap_or_else(PoisonError::into_inner).push(tx_hash);
        Box::pin(async { Inspection::NotYet })
    }
    fn stats(&self) -> ChainStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn start(self: Arc<Self>, _: Arc<dyn EventSink>, _: CancellationToken, _: &TaskTracker) {}
}

const RETRY: RetryPolicy =
    RetryPolicy { first_delay: Duration::from_secs(2), max_delay: Duration::from_secs(60), max_attempts: 3 };

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    chain: Arc<FakeChain>,
    engine: Engine,
}

fn engine_over(store: &Arc<dyn Store>, chains: Vec<Arc<FakeChain>>) -> Engine {
    let chains = chains.into_iter().map(|c| c as Arc<dyn Chain>).collect();
    let settings = EngineSettings { session_lifetime: Duration::from_secs(3600), retry: RETRY };
    Engine::new(Arc::clone(store), chains, settings).expect("engine")
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let chain = FakeChain::new(BASE);
    let engine = engine_over(&store, vec![Arc::clone(&chain)]);
    Setup { _dir: dir, store, chain, engine }
}

/// An open session waiting for payment: stored, payment method set through the engine.
fn waiting(s: &Setup, n: u8) -> (Session, ChainAddress) {
    let mut session = conformance::session(n);
    session.expires_at = u64::MAX;
    s.store.insert_session(&session).expect("insert");
    let session =
        s.engine.set_payment_method(&session, PaymentRequest::transfer(Family::Evm)).expect("payment method");
    let receiver = s.engine.receiver_of(&session).expect("receiver");
    (session, receiver)
}

fn event(block: u64, log_index: u64) -> EventId {
    EventId {
        chain_id: BASE,
        block_number: block,
        tx_hash: B256::with_last_byte(block as u8).into(),
        log_index,
    }
}

fn deposit(session: SessionId, token: ChainAddress, block: u64) -> ChainEvent {
    let token = TokenRef { address: token, ..conformance::session(0).destination.token };
    ChainEvent::at(
        at(session, BASE),
        EventKind::Deposit(Deposit {
            event: event(block, 0),
            block_hash: B256::repeat_byte(0xbb),
            from: Address::repeat_byte(0xf0).into(),
            token,
            amount: U256::from(10_000_000u64),
            counts: None,
        }),
    )
}

/// The router's `Settled` for `session` at `at`: 10.00 USDC delivered, at the session's Base receiver.
fn delivered(session: SessionId, at: EventId) -> ChainEvent {
    ChainEvent {
        receiver: self::at(session, BASE),
        named: Some(session),
        kind: EventKind::Settled(Settlement {
            event: at,
            token: USDC,
            outcome: Outcome::Delivered,
            amount: U256::from(10_000_000u64),
            delivered: U256::from(10_000_000u64),
            refunded: U256::ZERO,
        }),
    }
}

fn report(work: &Work, result: WorkResult) -> WorkReport {
    WorkReport { work: work.clone(), result }
}

fn stored(s: &Setup, id: &SessionId) -> Session {
    s.engine.session(id).expect("session")
}

#[tokio::test]
async fn a_confirmed_deposit_starts_processing_and_queues_one_settle() {
    let s = setup();
    let (session, receiver) = waiting(&s, 1);
    assert_eq!(
        EventSink::session_for_receiver(&s.engine, receiver),
        Some(session.id),
        "the receiver is indexed"
    );

    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("apply");
    assert_eq!(stored(&s, &session.id).status, SessionStatus::Processing);
    let queued = s.chain.take();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].action, Action::Settle { token: USDC });
    assert_eq!((queued[0].chain_id, queued[0].session_id), (BASE, session.id));
    assert_eq!(queued[0].commitment, stored(&s, &session.id).commitment());

    // The same range again (a crash before the cursor moved): nothing new is queued.
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("replay");
    assert!(s.chain.take().is_empty());
}

#[tokio::test]
async fn funds_the_session_cannot_use_are_refunded() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    let other_token = ChainAddress::Evm(Address::repeat_byte(0x99));
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, other_token, 5)]).await.expect("apply");
    assert_eq!(s.chain.take()[0].action, Action::Refund { token: other_token });

    // A deposit into an expired session is refunded too.
    let (late, _) = waiting(&s, 2);
    let current = s.store.session(&late.id).expect("read").expect("present");
    let expired = Session { status: SessionStatus::Expired, ..current.value };
    assert!(s.store.replace_session(&expired, current.version).expect("replace").is_some());
    EventSink::apply(&s.engine, BASE, vec![deposit(late.id, USDC, 6)]).await.expect("apply");
    assert_eq!(s.chain.take()[0].action, Action::Refund { token: USDC });
    assert_eq!(stored(&s, &late.id).status, SessionStatus::Expired, "a late deposit never reopens it");
}

#[tokio::test]
async fn a_settlement_finishes_the_session_and_is_counted() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    let settled = delivered(session.id, event(6, 1));
    EventSink::apply(&s.engine, BASE, vec![settled.clone()]).await.expect("settled");
    EventSink::apply(&s.engine, BASE, vec![settled]).await.expect("replayed");
    assert_eq!(stored(&s, &session.id).status, SessionStatus::Succeeded);
    assert_eq!(s.engine.delivery_counts().get(&(BASE, "delivered")), Some(&1), "replays are not counted");
}

#[tokio::test]
async fn work_that_cannot_be_done_yet_is_recorded_and_retried_with_backoff_up_to_the_limit() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    let work = s.chain.take().remove(0);

    for attempt in 1..RETRY.max_attempts {
        EventSink::report(
            &s.engine,
            report(&work, WorkResult::NotYet(Refusal::Unanswered("rpc down".into()))),
        )
        .await;
        let record = stored(&s, &session.id).work[0].clone();
        assert_eq!(record.attempts, attempt);
        assert!(
            matches!(record.state, WorkState::Retrying { ref reason, .. } if reason == "rpc down"),
            "{record:?}"
        );
        s.engine.submit_due(Instant::now()).await;
        assert!(s.chain.take().is_empty(), "not before its backoff");
        s.engine.submit_due(Instant::now() + RETRY.delay(attempt)).await;
        assert_eq!(s.chain.take(), vec![work.clone()], "resubmitted once its delay passed");
    }
    EventSink::report(&s.engine, report(&work, WorkResult::NotYet(Refusal::Unanswered("rpc down".into()))))
        .await;
    let record = stored(&s, &session.id).work[0].clone();
    assert!(
        matches!(record.state, WorkState::GaveUp { ref reason } if reason.contains("after 3 attempts")),
        "{record:?}"
    );
    s.engine.submit_due(Instant::now() + Duration::from_secs(3600)).await;
    assert!(s.chain.take().is_empty(), "no retry after giving up");
    assert_eq!(
        s.engine.waiting_work().iter().map(|w| w.action).collect::<Vec<_>>(),
        vec![Action::Refund { token: USDC }],
        "only the sweep at the (far) expiry waits"
    );
    assert_eq!(stored(&s, &session.id).status, SessionStatus::Processing, "work never moves the status");
    assert_eq!(s.engine.report_counts().get(&(BASE, "not_yet")), Some(&3));

    // The operator sees it with the API key, the public never does.
    let full =
        serde_json::to_value(SessionResponse::of(&stored(&s, &session.id), true)).expect("json")["session"]
            .clone();
    assert_eq!(full["deliveryAttempts"][0]["state"], "gave_up");
    assert_eq!(full["deliveryAttempts"][0]["action"], "settle");
    assert_eq!(full["deliveryAttempts"][0]["attempts"], 3);
    let public = serde_json::to_value(SessionResponse::of(&stored(&s, &session.id), false)).expect("json");
    assert!(public["session"].get("deliveryAttempts").is_none());
}

/// Found by review: waits for a time (the next day's fee allowance, another key's transaction) counted
/// as failed attempts, so a daily fee cap kept full for days used up the retries of the next real
/// failure. A wait keeps the count; its reason is the chain's own (not "not bridged" on the destination).
#[tokio::test]
async fn waiting_for_a_time_uses_up_no_attempt() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    let work = s.chain.take().remove(0);
    let capped = || WorkResult::NotBefore {
        reason: Refusal::DailyCapReached { why: "the daily fee cap is reached".into(), until: 86_400 },
        at: relayer_types::unix_now() + 60,
    };
    for _ in 0..(RETRY.max_attempts + 2) {
        EventSink::report(&s.engine, report(&work, capped())).await;
    }
    let record = stored(&s, &session.id).work[0].clone();
    assert_eq!(record.attempts, 0, "{record:?}");
    assert!(
        matches!(record.state, WorkState::Retrying { ref reason, .. } if reason == "the daily fee cap is reached"),
        "{record:?}"
    );
    EventSink::report(&s.engine, report(&work, WorkResult::NotYet(Refusal::Unanswered("rpc".into())))).await;
    assert_eq!(stored(&s, &session.id).work[0].attempts, 1, "the first real failure is the first attempt");
}

/// Found by review: a Solana bridging refused by Circle's paused programs is retried as "not yet", and
/// gave up after the retries; nothing looked at the session again (no refund was queued for its expiry),
/// so its funds stayed in the vault until a restart. Delivery that gives up is refunded at the expiry.
#[tokio::test]
async fn delivery_that_gives_up_is_refunded_at_the_expiry() {
    let s = setup();
    let mut session = conformance::session(7);
    session.expires_at = relayer_types::unix_now() + 120;
    s.store.insert_session(&session).expect("insert");
    let session =
        s.engine.set_payment_method(&session, PaymentRequest::transfer(Family::Evm)).expect("payment method");
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    let work = s.chain.take().remove(0);
    assert_eq!(work.action, Action::Settle { token: USDC });
    let paused = || WorkResult::NotYet(Refusal::CalleeRefused("the bridge is paused".into()));
    for attempt in 1..=RETRY.max_attempts {
        EventSink::report(&s.engine, report(&work, paused())).await;
        if attempt < RETRY.max_attempts {
            s.engine.submit_due(Instant::now() + RETRY.delay(attempt)).await;
            assert_eq!(s.chain.take(), vec![work.clone()]);
        }
    }
    assert!(matches!(stored(&s, &session.id).work[0].state, WorkState::GaveUp { .. }));
    s.engine.submit_due(Instant::now() + Duration::from_secs(60)).await;
    assert!(s.chain.take().is_empty(), "nothing before the expiry");
    s.engine.submit_due(Instant::now() + Duration::from_secs(200)).await;
    let swept = s.chain.take();
    assert_eq!(swept.iter().map(|w| w.action).collect::<Vec<_>>(), vec![Action::Refund { token: USDC }]);
}

#[tokio::test]
async fn a_sent_transaction_restarts_the_attempt_count() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    let work = s.chain.take().remove(0);
    EventSink::report(&s.engine, report(&work, WorkResult::NotYet(Refusal::Unanswered("rpc".into())))).await;
    EventSink::report(&s.engine, report(&work, WorkResult::Sent { tx_hash: B256::repeat_byte(7).into() }))
        .await;
    let record = stored(&s, &session.id).work[0].clone();
    assert_eq!(record.state, WorkState::Sent { tx_hash: B256::repeat_byte(7).into() });
    assert_eq!(record.attempts, 2);
    EventSink::report(&s.engine, report(&work, WorkResult::NotYet(Refusal::Unanswered("rpc".into())))).await;
    assert_eq!(stored(&s, &session.id).work[0].attempts, 1, "a new run of retries starts from one");
}

/// A transaction that lands and fails, sent again and failing again, burns fees each time: those are
/// counted across the sends between them, and the work gives up at the limit instead of burning for
/// ever; retries of other kinds before a single revert do not count towards it.
#[tokio::test]
async fn transactions_that_keep_reverting_on_chain_are_counted_and_given_up() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    let work = s.chain.take().remove(0);
    let tx = |n: u8| -> TxId { B256::repeat_byte(n).into() };
    let mut rounds = 0;
    let gave_up = |s: &Setup| {
        stored(s, &session.id).work.first().is_some_and(|w| matches!(w.state, WorkState::GaveUp { .. }))
    };
    while rounds < 10 && !gave_up(&s) {
        EventSink::report(&s.engine, report(&work, WorkResult::Sent { tx_hash: tx(rounds) })).await;
        EventSink::report(&s.engine, report(&work, WorkResult::Reverted { tx_hash: tx(rounds) })).await;
        rounds += 1;
    }
    let record = stored(&s, &session.id).work[0].clone();
    assert!(matches!(record.state, WorkState::GaveUp { .. }), "{record:?}");
    assert_eq!(rounds, RETRY.max_attempts as u8, "one revert counts one: given up at the limit");

    // Another session: transient failures up to just under the limit, a send, and one revert: retried.
    let (session, _) = waiting(&s, 2);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 6)]).await.expect("deposit");
    let work = s.chain.take().remove(0);
    for _ in 1..RETRY.max_attempts {
        let not_yet = WorkResult::NotYet(Refusal::Unanswered("rpc".into()));
        EventSink::report(&s.engine, report(&work, not_yet)).await;
    }
    EventSink::report(&s.engine, report(&work, WorkResult::Sent { tx_hash: tx(40) })).await;
    EventSink::report(&s.engine, report(&work, WorkResult::Reverted { tx_hash: tx(40) })).await;
    let record = stored(&s, &session.id).work[0].clone();
    assert!(matches!(record.state, WorkState::Reverted { .. }), "retried, not given up: {record:?}");
}

#[tokio::test]
async fn an_expired_settle_turns_into_a_refund_and_failures_give_up_at_once() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    let settle = s.chain.take().remove(0);

    EventSink::report(&s.engine, report(&settle, WorkResult::RefundInstead)).await;
    s.engine.submit_due(Instant::now()).await;
    let refund = s.chain.take();
    assert_eq!(refund.len(), 1);
    assert_eq!(refund[0].action, Action::Refund { token: USDC });

    EventSink::report(
        &s.engine,
        report(&refund[0], WorkResult::Failed(Refusal::Permanent("would revert: UnusableToken".into()))),
    )
    .await;
    let work = stored(&s, &session.id).work;
    assert!(matches!(work[0].state, WorkState::Done { .. }), "{work:?}");
    assert_eq!(work[1].state, WorkState::GaveUp { reason: "would revert: UnusableToken".into() });
    s.engine.submit_due(Instant::now() + Duration::from_secs(3600)).await;
    assert!(s.chain.take().is_empty(), "a failure retrying cannot fix is not retried");

    // A revert (usually someone else was first) is retried once: the simulation finds out.
    EventSink::report(
        &s.engine,
        report(&settle, WorkResult::Reverted { tx_hash: B256::repeat_byte(1).into() }),
    )
    .await;
    s.engine.submit_due(Instant::now() + RETRY.delay(1)).await;
    assert_eq!(s.chain.take(), vec![settle]);
}

#[tokio::test]
async fn a_reorg_orphans_only_deposits_at_or_above_the_fork() {
    let s = setup();
    let (kept, _) = waiting(&s, 1);
    let (orphaned, _) = waiting(&s, 2);
    EventSink::apply(&s.engine, BASE, vec![deposit(kept.id, USDC, 5)]).await.expect("deposit");
    EventSink::apply(&s.engine, BASE, vec![deposit(orphaned.id, USDC, 9)]).await.expect("deposit");
    EventSink::reorg(&s.engine, BASE, 7).await.expect("reorg");
    assert_eq!(stored(&s, &kept.id).status, SessionStatus::Processing);
    let back = stored(&s, &orphaned.id);
    assert_eq!(back.status, SessionStatus::WaitingPayment);
    assert!(back.deposits.is_empty());
}

#[tokio::test]
async fn a_delivery_reorganised_away_is_counted_settled_again_and_replaced() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    s.chain.take();
    let settled = |block: u64, tx: u8| {
        delivered(session.id, EventId { tx_hash: B256::repeat_byte(tx).into(), ..event(block, 1) })
    };
    EventSink::apply(&s.engine, BASE, vec![settled(8, 0xa1)]).await.expect("settled");
    assert_eq!(stored(&s, &session.id).status, SessionStatus::Succeeded);

    // A reorg deeper than the confirmations takes the settlement's block (not the deposit's).
    EventSink::reorg(&s.engine, BASE, 7).await.expect("reorg");
    let after = stored(&s, &session.id);
    assert_eq!(after.status, SessionStatus::Succeeded, "terminal statuses never change");
    assert_eq!(after.destination.delivery, None, "the vanished delivery is not shown as done");
    assert_eq!(s.engine.orphaned_counts().get(&(BASE, "delivered")), Some(&1), "operators can alert on it");
    let queued = s.chain.take();
    assert_eq!(queued.len(), 1, "settled again: nothing stranded in the receiver");
    assert_eq!(queued[0].action, Action::Settle { token: USDC });

    // The new settlement lands: it is the delivery now.
    EventSink::apply(&s.engine, BASE, vec![settled(9, 0xa2)]).await.expect("settled again");
    let done = stored(&s, &session.id);
    assert_eq!(done.destination.delivery.map(|d| d.tx_hash), Some(B256::repeat_byte(0xa2).into()));
    let metrics = relayer_core::metrics::render(&s.engine, &Default::default(), None);
    assert!(
        metrics.contains("relayer_deliveries_orphaned_total{chain_id=\"8453\",outcome=\"delivered\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn sessions_holding_unsettled_funds_are_requeued_after_a_restart() {
    let s = setup();
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, BASE, vec![deposit(session.id, USDC, 5)]).await.expect("deposit");
    s.chain.take();
    // A new engine over the same store: the process restarted before the settlement.
    let chain = FakeChain::new(BASE);
    let restarted = engine_over(&s.store, vec![Arc::clone(&chain)]);
    restarted.resume().await;
    let queued = chain.take();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].action, Action::Settle { token: USDC });
    assert_eq!(
        EventSink::session_for_receiver(&restarted, s.engine.receiver_of(&session).expect("r")),
        Some(session.id)
    );
}

#[tokio::test]
async fn every_chain_gets_its_own_receiver_indexed_and_each_hint_reaches_every_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    // Tron's token bridges to the session's token on Base: Tron may pay.
    let to_base =
        Route { adapter: ADAPTER, to_token: USDC, min_amount: U256::ZERO, max_fee_bps: 0, own_fee_bps: 0 };
    let other = FakeChain::of(Family::Tron, TRON_CHAIN_ID).with(vec![(USDC, BASE, to_base)], None);
    let base = FakeChain::new(BASE);
    let engine = engine_over(&store, vec![Arc::clone(&base), Arc::clone(&other)]);
    let mut session = conformance::session(1);
    session.expires_at = u64::MAX;
    store.insert_session(&session).expect("insert");
    engine.set_payment_method(&session, PaymentRequest::transfer(Family::Evm)).expect("set");
    for chain in [&base, &other] {
        let receiver = chain.receiver(&session.commitment());
        assert_eq!(
            EventSink::session_for_receiver(&engine, receiver),
            Some(session.id),
            "chain {:?}",
            chain.key
        );
    }
    let hash = B256::repeat_byte(4);
    assert_eq!(engine.check_transaction(TxId::Evm(hash)).await, Inspection::NotYet);
    assert_eq!(*base.inspected.lock().expect("lock"), vec![TxId::Evm(hash)]);
    assert_eq!(*other.inspected.lock().expect("lock"), vec![TxId::Tron(hash)], "asked in its own terms");

    // The payer chooses the family: an EVM receiver or a Tron one (base58 `T…` in the API).
    let tron = engine.set_payment_method(&session, PaymentRequest::transfer(Family::Tron));
    assert!(matches!(tron, Err(EngineError::State(_))), "a different method is already set: {tron:?}");
    let mut second = conformance::session(2);
    second.expires_at = u64::MAX;
    store.insert_session(&second).expect("insert");
    let tron = engine.set_payment_method(&second, PaymentRequest::transfer(Family::Tron)).expect("tron");
    let receiver = tron.payment_method.as_ref().and_then(|m| m.receiver()).expect("receiver");
    assert_eq!(receiver, other.receiver(&second.commitment()));
    assert!(receiver.to_string().starts_with('T'), "{receiver}");
    let wallet = ChainAddress::Solana([7; 32]);
    // No Solana chain here: a Solana payer is refused (the fiat rails never reach the engine).
    let solana = PaymentRequest { family: Family::Solana, wallet: Some(wallet), token: None };
    let refused = engine.set_payment_method(&second, solana);
    assert!(matches!(refused, Err(EngineError::UnsupportedPaymentMethod("solana"))), "{refused:?}");
}

#[tokio::test]
async fn a_session_for_a_chain_no_longer_configured_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let mut orphan = conformance::session(1); // destination on chain 8453
    orphan.expires_at = u64::MAX;
    store.insert_session(&orphan).expect("insert");
    // The operator since removed chain 8453 from the config; only chain 1 is served.
    let engine = engine_over(&store, vec![FakeChain::new(1)]);
    assert!(matches!(engine.receiver_of(&orphan), Err(EngineError::ChainNotConfigured(8453))));
    let refused = engine.set_payment_method(&orphan, PaymentRequest::transfer(Family::Evm));
    assert!(matches!(refused, Err(EngineError::ChainNotConfigured(8453))), "{refused:?}");
    let stored = engine.session(&orphan.id).expect("session");
    assert_eq!(stored.status, SessionStatus::RequiresPaymentMethod, "nothing changed");
    assert_eq!(stored.payment_method, None);
}

#[test]
fn retry_delays_double_from_the_first_and_stop_at_the_cap() {
    let delays: Vec<u64> = (1..=8).map(|n| RETRY.delay(n).as_secs()).collect();
    assert_eq!(delays, vec![2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(RETRY.delay(u32::MAX), Duration::from_secs(60), "no overflow");
}

/// Base (destination, fronting up to `cap`) and Arbitrum (source, a USDC route to Base with a 1.00
/// minimum and a 10 bps worst fee), over one store.
fn cross_chain(cap: Option<u64>) -> (Setup, Arc<FakeChain>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let (base, arbitrum) = cross_chain_pair(cap);
    let engine = engine_over(&store, vec![Arc::clone(&base), Arc::clone(&arbitrum)]);
    (Setup { _dir: dir, store, chain: base, engine }, arbitrum)
}

/// The two chains of [`cross_chain`]: Base (destination) and Arbitrum (source).
fn cross_chain_pair(cap: Option<u64>) -> (Arc<FakeChain>, Arc<FakeChain>) {
    let route = Route {
        adapter: ADAPTER,
        to_token: USDC,
        min_amount: U256::from(1_000_000u64),
        max_fee_bps: 10,
        own_fee_bps: 0,
    };
    let base = FakeChain::configured(BASE, vec![], cap.map(U256::from));
    let arbitrum = FakeChain::configured(ARBITRUM, vec![(USDC, BASE, route)], None);
    (base, arbitrum)
}

/// `event` (a deposit at a session's Base receiver) moved to the session's receiver on `chain_id`.
fn on(chain_id: u64, mut event: ChainEvent, amount: u64) -> ChainEvent {
    if let EventKind::Deposit(deposit) = &mut event.kind {
        deposit.event.chain_id = chain_id;
        deposit.token.chain_id = chain_id;
        deposit.amount = U256::from(amount);
    }
    let mut bytes = event.receiver.evm_shaped().expect("EVM").0;
    bytes[16..].copy_from_slice(&(chain_id as u32).to_be_bytes());
    event.receiver = ChainAddress::Evm(Address::from(bytes));
    event
}

fn bridged(session: SessionId, tx: u8, amount: u64) -> ChainEvent {
    let event =
        EventId { chain_id: ARBITRUM, block_number: 9, tx_hash: B256::repeat_byte(tx).into(), log_index: 1 };
    ChainEvent {
        receiver: at(session, ARBITRUM),
        named: Some(session),
        kind: EventKind::Bridged(Bridging {
            event,
            token: USDC,
            adapter: ADAPTER,
            amount: U256::from(amount),
            to_chain_id: Some(BASE),
            to_receiver: Some(at(session, BASE)),
            home: false,
        }),
    }
}

fn fronted(session: SessionId, block: u64, amount: u64, still_owed: Option<u64>) -> ChainEvent {
    fronted_by(RELAYER, session, block, amount, still_owed)
}

fn fronted_by(
    relayer: ChainAddress,
    session: SessionId,
    block: u64,
    amount: u64,
    still_owed: Option<u64>,
) -> ChainEvent {
    ChainEvent {
        receiver: at(session, BASE),
        named: Some(session),
        kind: EventKind::Fronted(Fronting {
            event: event(block, 3),
            relayer,
            amount: U256::from(amount),
            still_owed: still_owed.map(U256::from),
        }),
    }
}

#[tokio::test]
async fn a_deposit_on_another_chain_is_bridged_on_its_route_and_refunded_below_its_minimum() {
    let (s, arbitrum) = cross_chain(None);
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, ARBITRUM, vec![on(ARBITRUM, deposit(session.id, USDC, 5), 10_000_000)])
        .await
        .expect("apply");
    assert_eq!(stored(&s, &session.id).status, SessionStatus::Processing);
    let queued = arbitrum.take();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(
        (queued[0].chain_id, queued[0].action),
        (ARBITRUM, Action::Bridge { token: USDC, adapter: ADAPTER })
    );

    let (small, _) = waiting(&s, 2);
    EventSink::apply(&s.engine, ARBITRUM, vec![on(ARBITRUM, deposit(small.id, USDC, 6), 999_999)])
        .await
        .expect("apply");
    assert!(arbitrum.take().is_empty(), "below the 1.00 minimum: not bridged");
    let later = s.engine.waiting_work();
    assert_eq!(
        later.iter().map(|w| (w.session_id, w.action)).collect::<Vec<_>>(),
        vec![(small.id, Action::Refund { token: USDC })],
        "refunded once the session expires"
    );

    let other = ChainAddress::Evm(Address::repeat_byte(0x99));
    let (unrouted, _) = waiting(&s, 3);
    EventSink::apply(&s.engine, ARBITRUM, vec![on(ARBITRUM, deposit(unrouted.id, other, 7), 10_000_000)])
        .await
        .expect("apply");
    assert_eq!(arbitrum.take()[0].action, Action::Refund { token: other }, "no route for this token");
    assert!(s.chain.take().is_empty(), "nothing happens on Base before the bridge");
}

#[tokio::test]
async fn a_bridged_session_is_fronted_within_the_cap_and_a_repayment_frees_the_cap() {
    let (s, _arbitrum) = cross_chain(Some(15_000_000));
    let (first, _) = waiting(&s, 1);
    let (second, _) = waiting(&s, 2);
    let (third, _) = waiting(&s, 3);
    // Others bridged these: the adapter allows a 10 bps fee. 10.01001 covers it; exactly 10.00 (the
    // third) could arrive short, a loss the relayer would carry: not fronted.
    let events = vec![
        bridged(third.id, 3, 10_000_000),
        bridged(first.id, 1, 10_010_010),
        bridged(second.id, 2, 10_010_010),
    ];
    EventSink::apply(&s.engine, ARBITRUM, events).await.expect("apply");
    let queued = s.chain.take();
    let amount = U256::from(10_000_000u64);
    assert_eq!(queued.len(), 1, "only the first fits in the 15.00 cap: {queued:?}");
    assert_eq!((queued[0].session_id, queued[0].chain_id), (first.id, BASE));
    assert_eq!(queued[0].action, Action::FastFinish { token: USDC, amount });
    assert_eq!(s.engine.exposure().get(&(BASE, USDC)), Some(&amount));

    // Fronted, then the bridge arrives and repays it: the cap is free again.
    EventSink::apply(&s.engine, BASE, vec![fronted(first.id, 20, 10_000_000, None)]).await.expect("apply");
    assert_eq!(s.engine.exposure().get(&(BASE, USDC)), Some(&amount));
    EventSink::apply(&s.engine, BASE, vec![fronted(first.id, 30, 10_000_000, Some(0))]).await.expect("apply");
    assert_eq!(s.engine.exposure().get(&(BASE, USDC)), Some(&U256::ZERO));

    // A repeated Bridged event (a replay) fronts nothing twice; the second now fits.
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(first.id, 1, 10_010_010)]).await.expect("replay");
    assert!(s.chain.take().is_empty());
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(second.id, 4, 10_010_010)]).await.expect("again");
    assert_eq!(s.chain.take()[0].session_id, second.id);
}

/// A session's own funds bridged towards another chain are announced to that chain on every sighting (a
/// replay too: a family keeps what it follows in memory) and again at every start while the session awaits
/// them; a bridging sent home, one seen at a receiver the session does not commit to, and a bridging whose
/// funds arrived are announced nowhere. Without this, USDC bridged towards Solana would sit at
/// Circle for good: nobody there delivers it but the relayer.
#[tokio::test]
async fn bridged_funds_are_announced_to_their_destination_until_the_session_finishes() {
    let (s, arbitrum) = cross_chain(None);
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, ARBITRUM, vec![on(ARBITRUM, deposit(session.id, USDC, 5), 10_000_000)])
        .await
        .expect("apply");
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(session.id, 1, 10_000_000)]).await.expect("apply");
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(session.id, 1, 10_000_000)]).await.expect("replay");
    let tx: TxId = B256::repeat_byte(1).into();
    assert_eq!(s.chain.announced(), vec![(session.id, ARBITRUM, tx); 2]);
    assert!(arbitrum.announced().is_empty(), "never to the chain it left");

    let (other, _) = waiting(&s, 2);
    let mut home = bridged(other.id, 2, 10_000_000);
    if let EventKind::Bridged(b) = &mut home.kind {
        b.home = true;
    }
    let attack = forged(bridged(other.id, 3, 10_000_000), other.id);
    EventSink::apply(&s.engine, ARBITRUM, vec![home, attack]).await.expect("apply");
    assert!(s.chain.announced().is_empty(), "sent home, or not the session's");

    arbitrum.take();
    let restarted = engine_over(&s.store, vec![Arc::clone(&s.chain), Arc::clone(&arbitrum)]);
    restarted.resume().await;
    assert_eq!(s.chain.announced(), vec![(session.id, ARBITRUM, tx)], "announced again after a restart");
    assert!(arbitrum.take().is_empty(), "its receiver there is empty: nothing planned for it");

    // Arrived at its Base receiver, and delivered.
    let arrival = deposit(session.id, USDC, 19);
    EventSink::apply(&restarted, BASE, vec![arrival, delivered(session.id, event(20, 1))])
        .await
        .expect("apply");
    assert_eq!(restarted.session(&session.id).expect("session").status, SessionStatus::Succeeded);
    let again = engine_over(&s.store, vec![Arc::clone(&s.chain), arbitrum]);
    again.resume().await;
    assert!(s.chain.announced().is_empty(), "arrived: nothing on its way");
}

#[tokio::test]
async fn a_tron_payment_is_refused_when_no_tron_route_delivers_the_sessions_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let tron = FakeChain::of(Family::Tron, TRON_CHAIN_ID); // no routes
    let engine = engine_over(&store, vec![FakeChain::new(BASE), tron]);
    let mut session = conformance::session(1);
    session.expires_at = u64::MAX;
    store.insert_session(&session).expect("insert");
    let refused = engine.set_payment_method(&session, PaymentRequest::transfer(Family::Tron));
    assert!(
        matches!(&refused, Err(EngineError::NoRoute(m)) if m.contains("USDC") && m.contains("8453")),
        "{refused:?}"
    );
    let stored = engine.session(&session.id).expect("session");
    assert_eq!(
        (stored.status, stored.payment_method),
        (SessionStatus::RequiresPaymentMethod, None),
        "nothing changed"
    );
    // The EVM method stays available: Base itself delivers.
    engine.set_payment_method(&session, PaymentRequest::transfer(Family::Evm)).expect("evm");
}

#[tokio::test]
async fn a_fronting_that_does_not_happen_frees_its_place_under_the_cap() {
    let (s, _arbitrum) = cross_chain(Some(15_000_000));
    let (first, _) = waiting(&s, 1);
    let (second, _) = waiting(&s, 2);
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(first.id, 1, 10_010_010)]).await.expect("apply");
    let queued = s.chain.take();
    assert_eq!(queued.len(), 1);
    // Someone delivered first: the router says the session already started.
    s.engine.handle_report(report(&queued[0], WorkResult::Done(Refusal::AlreadyStarted)));
    assert_eq!(s.engine.exposure().get(&(BASE, USDC)), Some(&U256::ZERO), "the cap is free again");
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(second.id, 2, 10_010_010)]).await.expect("apply");
    let next = s.chain.take();
    assert_eq!(next.len(), 1, "so the next session is fronted");
    // Work that is retried keeps its place.
    s.engine.handle_report(report(
        &next[0],
        WorkResult::NotYet(Refusal::Preparing("approving the router".into())),
    ));
    assert_eq!(s.engine.exposure().get(&(BASE, USDC)), Some(&U256::from(10_000_000u64)));
}

#[tokio::test]
async fn what_was_fronted_and_not_repaid_is_known_again_after_a_restart() {
    let (s, arbitrum) = cross_chain(Some(100_000_000));
    let (session, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(session.id, 1, 10_010_010)]).await.expect("apply");
    EventSink::apply(&s.engine, BASE, vec![fronted(session.id, 20, 10_000_000, None)]).await.expect("apply");
    let restarted = engine_over(&s.store, vec![Arc::clone(&s.chain), arbitrum]);
    assert_eq!(restarted.exposure().get(&(BASE, USDC)), Some(&U256::from(10_000_000u64)));
}

/// What a key being rotated out fronted is still the relayer's money: it counts against the cap (so the
/// new key cannot front a second cap's worth while the old one waits for repayment), after a restart too,
/// and its repayment frees the cap. A stranger's fronting of a session counts for nothing. The attack this
/// stops: an operator rotating keys (or an attacker who makes rotations happen) doubling what is exposed.
#[tokio::test]
async fn what_a_retiring_key_fronted_counts_against_the_cap_until_repaid() {
    const RETIRING: ChainAddress = ChainAddress::Evm(Address::repeat_byte(0x01));
    const STRANGER: ChainAddress = ChainAddress::Evm(Address::repeat_byte(0x02));
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let (base, arbitrum) = cross_chain_pair(Some(15_000_000));
    let base = Arc::new(FakeChain { retiring: vec![RETIRING], ..Arc::into_inner(base).expect("fresh") });
    let engine = engine_over(&store, vec![Arc::clone(&base), Arc::clone(&arbitrum)]);
    let s = Setup { _dir: dir, store, chain: base, engine };
    let (old, _) = waiting(&s, 1);
    let (other, _) = waiting(&s, 2);
    let (new, _) = waiting(&s, 3);
    let ten = U256::from(10_000_000u64);
    EventSink::apply(&s.engine, BASE, vec![fronted_by(RETIRING, old.id, 20, 10_000_000, None)])
        .await
        .expect("apply");
    EventSink::apply(&s.engine, BASE, vec![fronted_by(STRANGER, other.id, 21, 10_000_000, None)])
        .await
        .expect("apply");
    assert_eq!(s.engine.exposure().get(&(BASE, USDC)), Some(&ten), "the retiring key's, not the stranger's");

    // 10.00 out under the old key: another 10.00 does not fit in the 15.00 cap, now or after a restart.
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(new.id, 3, 10_010_010)]).await.expect("apply");
    assert!(s.chain.take().is_empty(), "fronted past the cap");
    let restarted = engine_over(&s.store, vec![Arc::clone(&s.chain), Arc::clone(&arbitrum)]);
    assert_eq!(restarted.exposure().get(&(BASE, USDC)), Some(&ten), "known again after a restart");

    // Repaid to the old key: the cap is free, and the new session is fronted.
    EventSink::apply(&restarted, BASE, vec![fronted_by(RETIRING, old.id, 30, 10_000_000, Some(0))])
        .await
        .expect("apply");
    assert_eq!(restarted.exposure().get(&(BASE, USDC)), Some(&U256::ZERO));
    EventSink::apply(&restarted, ARBITRUM, vec![bridged(new.id, 4, 10_010_010)]).await.expect("again");
    assert_eq!(s.chain.take().iter().map(|w| w.session_id).collect::<Vec<_>>(), vec![new.id]);
}

/// A fronting sent just before a restart and not final yet counts against the cap after the restart (it
/// may still land), so the restarted relayer cannot front a second cap's worth meanwhile. Once someone
/// else's fronting of that session is on chain, ours can no longer land, and its place is free again.
#[tokio::test]
async fn a_fronting_in_flight_at_a_restart_still_counts_against_the_cap() {
    let (s, arbitrum) = cross_chain(Some(15_000_000));
    let (first, _) = waiting(&s, 1);
    let (second, _) = waiting(&s, 2);
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(first.id, 1, 10_010_010)]).await.expect("apply");
    let fronting = s.chain.take().remove(0);
    let sent = WorkResult::Sent { tx_hash: B256::repeat_byte(9).into() };
    EventSink::report(&s.engine, report(&fronting, sent)).await;
    let ten = U256::from(10_000_000u64);
    s.chain.frontings_in_flight.lock().unwrap_or_else(PoisonError::into_inner).push((first.id, USDC, ten));
    // A third was fronted and repaid, its record not yet cleared when the relayer stopped: not counted.
    let (third, _) = waiting(&s, 3);
    EventSink::apply(&s.engine, BASE, vec![fronted(third.id, 20, 10_000_000, None)]).await.expect("apply");
    EventSink::apply(&s.engine, BASE, vec![fronted(third.id, 30, 10_000_000, Some(0))]).await.expect("apply");
    s.chain.frontings_in_flight.lock().unwrap_or_else(PoisonError::into_inner).push((third.id, USDC, ten));

    let restarted = engine_over(&s.store, vec![Arc::clone(&s.chain), arbitrum]);
    assert_eq!(restarted.exposure().get(&(BASE, USDC)), Some(&ten), "still counted");
    EventSink::apply(&restarted, ARBITRUM, vec![bridged(second.id, 2, 10_010_010)]).await.expect("apply");
    assert!(s.chain.take().is_empty(), "a second 10.00 does not fit in the 15.00 cap");

    // Another relayer fronted the first session: ours reverts; the cap is free again.
    const OTHER: ChainAddress = ChainAddress::Evm(Address::repeat_byte(0x0f));
    EventSink::apply(&restarted, BASE, vec![fronted_by(OTHER, first.id, 20, 10_000_000, None)])
        .await
        .expect("apply");
    assert_eq!(restarted.exposure().get(&(BASE, USDC)), Some(&U256::ZERO));
    EventSink::apply(&restarted, ARBITRUM, vec![bridged(second.id, 3, 10_010_010)]).await.expect("again");
    assert_eq!(s.chain.take().iter().map(|w| w.session_id).collect::<Vec<_>>(), vec![second.id]);
}

/// `/readyz` names the key whose gas is short, by role, and tells a balance that cannot be read from an
/// empty one (a failing RPC is not an empty account: the operator's fix differs).
#[test]
fn readiness_names_the_key_short_of_gas_and_a_balance_it_cannot_read() {
    let s = setup();
    let gauge = |role, amount, read| {
        Some(relayer_chain::AccountGauge { role, resource: "native_gwei", amount, floor: 1_000, read })
    };
    *s.chain.stats.lock().unwrap_or_else(PoisonError::into_inner) = ChainStats {
        head: 10,
        processed: 10,
        lag_budget: 5,
        account: [gauge("settle", 10, true), gauge("inventory", 0, false), gauge("settle", 5_000, true)],
        ..ChainStats::default()
    };
    let problems = s.engine.readiness();
    assert!(
        problems
            .iter()
            .any(|p| p
                == "chain 8453: the relayer's settle key has 10 native_gwei left, below the floor of 1000"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("chain 8453: the relayer's inventory key's native_gwei cannot be read")),
        "{problems:?}"
    );
    assert_eq!(problems.len(), 2, "a balance above its floor is fine: {problems:?}");
}

/// `event` made by an attacker: its own params (so its own receiver, never indexed) reusing `victim`'s
/// session id.
fn forged(mut event: ChainEvent, victim: SessionId) -> ChainEvent {
    event.receiver = ChainAddress::Evm(Address::repeat_byte(0xa7));
    event.named = Some(victim);
    event
}

fn foreign(s: &Setup, chain_id: u64, kind: &'static str) -> u64 {
    s.engine.foreign_counts().get(&(chain_id, kind)).copied().unwrap_or(0)
}

/// Nothing in the outbox: no webhook would fire.
fn no_webhook_events(s: &Setup) {
    let pending = s.store.outbox(0, 100).expect("outbox");
    let kinds: Vec<&str> = pending.iter().map(|e| e.event.kind.as_str()).collect();
    assert!(kinds.iter().all(|k| *k == "session.payment_method_set"), "{kinds:?}");
}

#[tokio::test]
async fn a_settlement_naming_a_session_from_another_receiver_changes_nothing_and_is_counted_once() {
    let s = setup();
    let (victim, _) = waiting(&s, 1);
    let attack = forged(delivered(victim.id, event(6, 1)), victim.id);
    EventSink::apply(&s.engine, BASE, vec![attack.clone()]).await.expect("apply");
    EventSink::apply(&s.engine, BASE, vec![attack]).await.expect("the range read again");
    let after = stored(&s, &victim.id);
    assert_eq!(after.status, SessionStatus::WaitingPayment, "not delivered by someone else's settle");
    assert!(after.destination.delivery.is_none() && after.settlements.is_empty(), "{after:?}");
    assert_eq!(foreign(&s, BASE, "settled"), 1, "counted once");
    assert!(s.engine.delivery_counts().is_empty());
    no_webhook_events(&s);
}

#[tokio::test]
async fn a_bridging_naming_a_session_from_another_receiver_fronts_nothing() {
    let (s, _arbitrum) = cross_chain(Some(100_000_000));
    let (victim, _) = waiting(&s, 1);
    EventSink::apply(&s.engine, ARBITRUM, vec![forged(bridged(victim.id, 1, 10_010_010), victim.id)])
        .await
        .expect("apply");
    assert!(s.chain.take().is_empty(), "no fronting from the relayer's inventory");
    assert_eq!(s.engine.exposure().get(&(BASE, USDC)), None);
    assert!(stored(&s, &victim.id).bridges.is_empty());
    assert_eq!(foreign(&s, ARBITRUM, "bridged"), 1);
    // The session's own bridging, from its own receiver, is fronted as before.
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(victim.id, 2, 10_010_010)]).await.expect("apply");
    assert_eq!(s.chain.take().len(), 1);
}

#[tokio::test]
async fn a_fronting_or_repayment_naming_a_session_from_another_receiver_changes_nothing() {
    let s = setup();
    let (victim, _) = waiting(&s, 1);
    let events = vec![
        forged(fronted(victim.id, 20, 10_000_000, None), victim.id),
        forged(fronted(victim.id, 21, 10_000_000, Some(0)), victim.id),
    ];
    EventSink::apply(&s.engine, BASE, events).await.expect("apply");
    assert!(stored(&s, &victim.id).frontings.is_empty());
    assert_eq!(foreign(&s, BASE, "fronted"), 2);
    no_webhook_events(&s);
}

#[tokio::test]
async fn an_event_at_a_receiver_the_session_does_not_commit_to_is_refused_even_when_indexed() {
    // A stale or wrong index entry (a family crate naming the wrong receiver, a method that lost a race):
    // the engine checks the receiver against the session's commitment again before anything changes.
    let s = setup();
    let (victim, _) = waiting(&s, 1);
    let stray = ChainAddress::Evm(Address::repeat_byte(0x5a));
    s.store.index_receiver(stray, &victim.id).expect("index");
    let engine = engine_over(&s.store, vec![Arc::clone(&s.chain)]);
    let mut event = deposit(victim.id, USDC, 5);
    event.receiver = stray;
    EventSink::apply(&engine, BASE, vec![event]).await.expect("apply");
    assert_eq!(stored(&s, &victim.id).status, SessionStatus::WaitingPayment);
    assert!(s.chain.take().is_empty(), "nothing queued");
    assert_eq!(engine.foreign_counts().get(&(BASE, "deposit")), Some(&1));
}

#[tokio::test]
async fn events_of_sessions_this_relayer_does_not_know_are_ignored_without_counting() {
    // Other integrators' sessions on the same router: none of our business, no alert.
    let s = setup();
    let stranger = SessionId::from_bytes([0x77; 16]);
    EventSink::apply(&s.engine, BASE, vec![forged(fronted(stranger, 20, 1, None), stranger)])
        .await
        .expect("apply");
    assert!(s.engine.foreign_counts().is_empty());
}

/// A session created through the engine (so its minimum is the engine's), `amount` fixed or open, with
/// the EVM payment method set.
async fn created(s: &Setup, amount: Option<u64>) -> Session {
    let fixture = conformance::session(0);
    let destination =
        relayer_types::Destination { amount: amount.map(U256::from), calldata: None, ..fixture.destination };
    let new = relayer_core::engine::NewSession {
        destination,
        display: fixture.display,
        metadata: None,
        refund_address: None,
    };
    let session = s.engine.create_session(new).await.expect("create");
    s.engine.set_payment_method(&session, PaymentRequest::transfer(Family::Evm)).expect("payment method")
}

fn deposit_of(session: SessionId, token: ChainAddress, block: u64, amount: u64) -> ChainEvent {
    let mut event = deposit(session, token, block);
    if let EventKind::Deposit(d) = &mut event.kind {
        d.amount = U256::from(amount);
    }
    event
}

#[tokio::test]
async fn a_fixed_amount_session_commits_its_amount_less_the_worst_bridge_fee_and_an_open_one_the_chains_minimum()
 {
    let (s, _arbitrum) = cross_chain(None);
    let fixed = created(&s, Some(10_000_000)).await;
    // The Arbitrum route may take 10 bps on the way: a payment bridged at that fee still starts it.
    assert_eq!(fixed.min_amount, U256::from(9_990_000u64));
    assert_eq!(fixed.commitment().min_amount, U256::from(9_990_000u64));
    let open = created(&s, None).await;
    assert_eq!(open.min_amount, U256::from(1_000_000u64), "the destination token's minimum, 1.00");
}

#[tokio::test]
async fn the_least_to_send_on_a_bridged_chain_covers_the_relayers_bridge_fee_and_the_routes_minimum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let route = |min_amount: u64, own_fee_bps: u32| Route {
        adapter: ADAPTER,
        to_token: USDC,
        min_amount: U256::from(min_amount),
        max_fee_bps: 10,
        own_fee_bps,
    };
    const OPTIMISM: u64 = 10;
    const POLYGON: u64 = 137;
    let base = FakeChain::configured(BASE, vec![], None);
    // 50 bps on the relayer's own bridging; a 20.00 minimum; a fee that takes everything.
    let arbitrum = FakeChain::configured(ARBITRUM, vec![(USDC, BASE, route(1_000_000, 50))], None);
    let optimism = FakeChain::configured(OPTIMISM, vec![(USDC, BASE, route(20_000_000, 0))], None);
    let polygon = FakeChain::configured(POLYGON, vec![(USDC, BASE, route(0, 10_000))], None);
    let engine = engine_over(
        &store,
        vec![Arc::clone(&base), Arc::clone(&arbitrum), optimism.clone(), polygon.clone()],
    );
    let s = Setup { _dir: dir, store, chain: Arc::clone(&base), engine };
    let least = |session: &Session, chain: &Arc<FakeChain>| {
        s.engine.least_to_send(session, chain.as_ref(), &chain.tokens[0])
    };
    let open = created(&s, None).await;
    assert_eq!(open.min_amount, U256::from(1_000_000u64));
    assert_eq!(least(&open, &base), Some(U256::from(1_000_000u64)), "at the destination: the minimum");
    // 1.00 grossed up for 50 bps, rounded up: 1.005026 bridged at 50 bps delivers 1.000001.
    assert_eq!(least(&open, &arbitrum), Some(U256::from(1_005_026u64)));
    assert_eq!(least(&open, &optimism), Some(U256::from(20_000_000u64)), "less is never bridged");
    assert_eq!(least(&open, &polygon), None, "no amount pays through a route that keeps everything");
    let fixed = created(&s, Some(10_000_000)).await;
    assert_eq!(least(&fixed, &base), Some(U256::from(10_000_000u64)));
    assert_eq!(least(&fixed, &optimism), Some(U256::from(20_000_000u64)));
    // 9.99 committed (the worst fee, 10 bps, off 10.00); at the relayer's own 50 bps 10.00 would arrive
    // short of it: the payer is asked for enough.
    // ceil(9.99 / 0.995) = 10.040202: enough (the fee rounds down, so one unit less would do too).
    assert_eq!(least(&fixed, &arbitrum), Some(U256::from(10_040_202u64)));
    let arrives = |amount: u64| route(0, 50).worst_delivery(U256::from(amount), true) >= fixed.min_amount;
    assert!(arrives(10_040_202) && !arrives(10_040_200), "enough, and at most a unit over the least");
}

#[tokio::test]
async fn a_payment_short_of_the_minimum_waits_for_the_rest_and_only_then_starts_the_session() {
    let s = setup();
    let session = created(&s, Some(10_000_000)).await;
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, 5, 4_000_000)]).await.expect("apply");
    let after = stored(&s, &session.id);
    assert_eq!(after.status, SessionStatus::WaitingPayment, "4.00 of 10.00 starts nothing");
    assert_eq!(after.deposits.len(), 1, "but it is recorded");
    // Not settled (the router would refuse): refunded after expiry unless the rest comes first.
    assert!(s.chain.take().is_empty());
    assert_eq!(s.engine.waiting_work()[0].action, Action::Refund { token: USDC }, "swept at expiry");
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, 6, 6_000_000)]).await.expect("apply");
    assert_eq!(stored(&s, &session.id).status, SessionStatus::Processing);
    assert_eq!(s.chain.take()[0].action, Action::Settle { token: USDC }, "everything there moves at once");
}

#[tokio::test]
async fn a_token_the_session_cannot_use_starts_nothing_and_its_refund_is_no_bounce() {
    let s = setup();
    let session = created(&s, Some(10_000_000)).await;
    let other = ChainAddress::Evm(Address::repeat_byte(0x99));
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, other, 5, 50_000_000)])
        .await
        .expect("apply");
    assert_eq!(stored(&s, &session.id).status, SessionStatus::WaitingPayment);
    assert_eq!(s.chain.take()[0].action, Action::Refund { token: other });
    let refund = ChainEvent {
        receiver: at(session.id, BASE),
        named: Some(session.id),
        kind: EventKind::Settled(Settlement {
            event: event(6, 1),
            token: other,
            outcome: Outcome::Refunded,
            amount: U256::from(50_000_000u64),
            delivered: U256::ZERO,
            refunded: U256::from(50_000_000u64),
        }),
    };
    EventSink::apply(&s.engine, BASE, vec![refund]).await.expect("apply");
    let after = stored(&s, &session.id);
    assert_eq!(
        after.status,
        SessionStatus::WaitingPayment,
        "a griefer's token refunded is not the payer's bounce"
    );
    assert_eq!(after.settlements.len(), 1, "recorded as a movement");
}

#[tokio::test]
async fn a_bridging_away_from_the_destination_is_never_fronted() {
    // The Solana inbox sending a transfer back to the chain it came from is a bridging of the session's
    // own funds, from its own receiver, but nothing would ever repay a fronting of it on the destination.
    let (s, _arbitrum) = cross_chain(Some(100_000_000));
    let (session, _) = waiting(&s, 1);
    let mut away = bridged(session.id, 1, 10_010_010);
    if let EventKind::Bridged(b) = &mut away.kind {
        b.to_chain_id = Some(1);
    }
    EventSink::apply(&s.engine, ARBITRUM, vec![away]).await.expect("apply");
    assert!(s.chain.take().is_empty(), "not fronted");
    assert_eq!(stored(&s, &session.id).bridges.len(), 1, "recorded");
}

#[tokio::test]
async fn a_refund_of_another_token_from_the_destination_receiver_does_not_turn_fronting_off() {
    let (s, _arbitrum) = cross_chain(Some(100_000_000));
    let (session, _) = waiting(&s, 1);
    let other = ChainAddress::Evm(Address::repeat_byte(0x99));
    let refund = ChainEvent {
        receiver: at(session.id, BASE),
        named: Some(session.id),
        kind: EventKind::Settled(Settlement {
            event: event(6, 1),
            token: other,
            outcome: Outcome::Refunded,
            amount: U256::from(1u64),
            delivered: U256::ZERO,
            refunded: U256::from(1u64),
        }),
    };
    EventSink::apply(&s.engine, BASE, vec![refund]).await.expect("apply");
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(session.id, 2, 10_010_010)]).await.expect("apply");
    assert_eq!(s.chain.take().len(), 1, "fronted");
}

// ---------------------------------------------------------------------------------------------------
// Attacks on the relayer's wallet and on what the API reports (the issue-20 review). Each test fails
// while its attack works.
// ---------------------------------------------------------------------------------------------------

/// Base and Arbitrum as in [`cross_chain`], but with a route minimum of zero (a configuration that sets
/// `min_deposit = "0"`): the engine's own rules must still stop the attack.
fn cross_chain_without_route_minimum() -> (Setup, Arc<FakeChain>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let route =
        Route { adapter: ADAPTER, to_token: USDC, min_amount: U256::ZERO, max_fee_bps: 10, own_fee_bps: 0 };
    let base = FakeChain::configured(BASE, vec![], None);
    let arbitrum = FakeChain::configured(ARBITRUM, vec![(USDC, BASE, route)], None);
    let engine = engine_over(&store, vec![Arc::clone(&base), Arc::clone(&arbitrum)]);
    (Setup { _dir: dir, store, chain: base, engine }, arbitrum)
}

/// The attack: once a session's payment has been bridged from a source chain, every later
/// transfer to that receiver counts as "enough" (the sum includes the deposit that already left), so a
/// griefer sending 1 base unit at a time makes the relayer send one `bridge` per transfer (gas, plus the
/// OFT's native messaging fee on USDT routes) and then one settle on the destination for each arrival.
#[tokio::test]
async fn dust_after_a_bridged_payment_is_not_bridged_at_the_relayers_expense() {
    let (s, arbitrum) = cross_chain_without_route_minimum();
    let session = created(&s, Some(10_000_000)).await;
    assert_eq!(session.min_amount, U256::from(9_990_000u64));
    // The payer's 10.00 on Arbitrum is bridged, as it should be.
    EventSink::apply(&s.engine, ARBITRUM, vec![on(ARBITRUM, deposit(session.id, USDC, 5), 10_000_000)])
        .await
        .expect("apply");
    assert_eq!(arbitrum.take()[0].action, Action::Bridge { token: USDC, adapter: ADAPTER });
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(session.id, 5, 10_000_000)]).await.expect("bridged");
    // The griefer: three transfers of 1 base unit (0.000001 USDC) each.
    for block in 6..9 {
        EventSink::apply(&s.engine, ARBITRUM, vec![on(ARBITRUM, deposit(session.id, USDC, block), 1)])
            .await
            .expect("apply");
    }
    let bridges: Vec<Work> =
        arbitrum.take().into_iter().filter(|w| matches!(w.action, Action::Bridge { .. })).collect();
    assert!(
        bridges.is_empty(),
        "the relayer bridges each 1-unit transfer at its own expense ({} bridge transactions for 0.000003 USDC)",
        bridges.len()
    );
}

/// The attack: the first counted deposit becomes the session's `source` (the API's
/// `paymentMethod.source`: who paid, how much, which transaction), even when it is dust far below the
/// session's minimum. A griefer sending 1 base unit before the payer's transaction lands is reported as
/// the payment's source for good: its address, its 0.000001, its transaction hash.
#[tokio::test]
async fn dust_ahead_of_the_payment_is_not_reported_as_the_payments_source() {
    let s = setup();
    let session = created(&s, Some(10_000_000)).await;
    let griefer: ChainAddress = Address::repeat_byte(0x66).into();
    let payer: ChainAddress = Address::repeat_byte(0xf0).into();
    let mut dust = deposit_of(session.id, USDC, 5, 1);
    if let EventKind::Deposit(d) = &mut dust.kind {
        d.from = griefer;
    }
    EventSink::apply(&s.engine, BASE, vec![dust]).await.expect("dust");
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, 6, 10_000_000)])
        .await
        .expect("payment");
    let after = stored(&s, &session.id);
    assert_eq!(after.status, SessionStatus::Processing);
    let source = after.payment_method.as_ref().and_then(|m| m.source()).cloned().expect("a source");
    assert_eq!(
        (source.from, source.sent, source.tx_hash),
        (payer, U256::from(10_000_000u64), event(6, 0).tx_hash),
        "the API names the griefer's 1-unit transfer as the session's payment"
    );
}

/// A 10.00 session paid and delivered on Base (the settle taken off the fake chain).
async fn paid_and_delivered() -> (Setup, Session) {
    let s = setup();
    let session = created(&s, Some(10_000_000)).await;
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, 5, 10_000_000)]).await.expect("pay");
    assert_eq!(s.chain.take()[0].action, Action::Settle { token: USDC });
    EventSink::apply(&s.engine, BASE, vec![delivered(session.id, event(5, 1))]).await.expect("delivered");
    assert_eq!(stored(&s, &session.id).status, SessionStatus::Succeeded);
    (s, session)
}

/// The attack (destination side): after a session succeeded, every later transfer of the
/// destination token, however small, is settled by the relayer at its own expense (one transaction per
/// 1-unit transfer; the router would deliver it, but nothing obliges the relayer to pay for that).
#[tokio::test]
async fn dust_after_a_delivery_is_not_settled_at_the_relayers_expense() {
    let (s, session) = paid_and_delivered().await;
    for block in 6..9 {
        EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, block, 1)]).await.expect("dust");
    }
    let settles = s.chain.take().into_iter().filter(|w| matches!(w.action, Action::Settle { .. })).count();
    assert_eq!(settles, 0, "one settle transaction per 1-unit transfer after the delivery");
}

/// The attack: a Solana-destination session whose payer paid on an EVM chain is `processing`
/// while the relayer's bridging (standard finality: minutes) is on its way. The EVM `bridge` has no
/// minimum and the program's `claim` has none either, so a griefer sends 1 base unit of USDC to the
/// session's receiver on any CCTP chain, bridges it with fast finality (`router.bridge` is
/// permissionless), and claims it from the inbox. The watcher reads that `Claimed` as a delivery of the
/// destination token on the destination chain, and the session is reported `succeeded` with
/// `destination.delivery` = 0.000001 and the griefer's transaction; the payer's real transfer, landing
/// later, changes nothing.
#[test]
fn a_dust_claim_from_the_inbox_does_not_report_a_processing_session_succeeded() {
    let mint = ChainAddress::Solana([0x5a; 32]);
    let mut s = conformance::session(7);
    s.destination.address = ChainAddress::Solana([0x77; 32]);
    s.destination.token = TokenRef {
        chain_id: relayer_types::SOLANA_CHAIN_ID,
        chain_name: "Solana".into(),
        address: mint,
        symbol: "USDC".into(),
        decimals: 6,
    };
    s.destination.calldata = None;
    s.min_amount = U256::from(9_990_000u64);
    s.status = SessionStatus::WaitingPayment;
    // The payer's 10.00 USDC on Base (a CCTP route to Solana USDC): counted, the session is processing.
    let base_usdc = TokenRef { chain_id: BASE, ..conformance::session(0).destination.token };
    let paid = Deposit {
        event: event(5, 0),
        block_hash: B256::repeat_byte(0xbb),
        from: Address::repeat_byte(0xf0).into(),
        token: base_usdc,
        amount: U256::from(10_000_000u64),
        counts: Some(U256::from(10_000_000u64)),
    };
    s.apply(relayer_types::SessionEvent::DepositDetected(paid)).expect("deposit");
    assert_eq!(s.status, SessionStatus::Processing);
    // The griefer's 1-unit transfer, fast-bridged from another chain and claimed from the inbox.
    let claim = Settlement {
        event: EventId {
            chain_id: relayer_types::SOLANA_CHAIN_ID,
            block_number: 9,
            tx_hash: B256::repeat_byte(0x66).into(),
            log_index: 0,
        },
        token: mint,
        outcome: Outcome::Delivered,
        amount: U256::from(1u64),
        delivered: U256::from(1u64),
        refunded: U256::ZERO,
    };
    s.apply(relayer_types::SessionEvent::Settled(claim)).expect("claim");
    assert_eq!(
        (s.status, s.destination.delivery.as_ref().map(|d| d.received)),
        (SessionStatus::Processing, None),
        "a 1-unit claim is reported as the session's delivery"
    );
}

/// A fronting's delivery is paid from the fronter's wallet, not the receiver: the bridged funds arriving
/// afterwards are still settled (the router repays the fronter from them). Dust after the repayment is
/// swept once at expiry; a real later payment is delivered at once.
#[tokio::test]
async fn a_fronted_sessions_bridged_funds_are_settled_to_repay_it_and_later_dust_waits() {
    let (s, _arbitrum) = cross_chain(Some(15_000_000));
    let session = created(&s, Some(10_000_000)).await;
    let amount = U256::from(10_000_000u64);
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(session.id, 1, 10_010_010)]).await.expect("bridged");
    assert_eq!(s.chain.take()[0].action, Action::FastFinish { token: USDC, amount });
    // `fastFinish` emits `FastFinished` and `Settled` in one transaction.
    let fronting = vec![fronted(session.id, 20, 10_000_000, None), delivered(session.id, event(20, 4))];
    EventSink::apply(&s.engine, BASE, fronting).await.expect("fronted");
    assert_eq!(stored(&s, &session.id).status, SessionStatus::Succeeded);
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, 30, 10_000_000)])
        .await
        .expect("arrived");
    let queued: Vec<Action> = s.chain.take().into_iter().map(|w| w.action).collect();
    assert_eq!(queued, vec![Action::Settle { token: USDC }], "the bridged funds repay the fronter");
    EventSink::apply(&s.engine, BASE, vec![fronted(session.id, 31, 10_000_000, Some(0))])
        .await
        .expect("repaid");
    for block in 32..35 {
        EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, block, 1)]).await.expect("dust");
    }
    assert!(s.chain.take().is_empty(), "dust costs the relayer nothing now");
    let later: Vec<Action> = s.engine.waiting_work().into_iter().map(|w| w.action).collect();
    assert_eq!(later, vec![Action::Refund { token: USDC }], "one sweep at expiry for all of it");
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, 35, 1_500_000)]).await.expect("more");
    let queued: Vec<Action> = s.chain.take().into_iter().map(|w| w.action).collect();
    assert_eq!(queued, vec![Action::Settle { token: USDC }], "1.50 more is worth delivering");
}

/// `plan` on its own: what sits at the receiver (arrived less what left), against the minimum and the
/// token's floor.
#[test]
fn what_sits_at_the_receiver_decides_and_dust_is_never_worth_a_transaction() {
    use relayer_core::engine::{self, Plan, Terms, When};
    let floor = U256::from(1_000_000u64);
    let mut session = conformance::session(3);
    session.destination.token.chain_id = BASE;
    session.min_amount = U256::from(9_990_000u64);
    let arrive = |s: &mut Session, block: u64, token: ChainAddress, amount: u64, counts: bool| {
        let token = TokenRef { chain_id: BASE, address: token, ..s.destination.token.clone() };
        let amount = U256::from(amount);
        s.deposits.push(Deposit {
            event: event(block, 0),
            block_hash: B256::ZERO,
            from: Address::ZERO.into(),
            token,
            amount,
            counts: Some(if counts { amount } else { U256::ZERO }),
        });
    };
    let terms = Terms { route: None, floor, destination_adds_up: true, now: 0 };
    let plan = |s: &Session, token| engine::plan(s, BASE, token, terms);
    let now = |action| Some(Plan { action, when: When::Now });
    let at_expiry = |action| Some(Plan { action, when: When::AtExpiry });
    assert_eq!(plan(&session, USDC), None, "nothing there");
    arrive(&mut session, 1, USDC, 4_000_000, true);
    assert_eq!(plan(&session, USDC), at_expiry(Action::Refund { token: USDC }), "short: waits");
    // Where bridged transfers do not add up (the Solana inbox), a short one goes back at once, to rejoin
    // the rest where it came from.
    let apart = Terms { destination_adds_up: false, ..terms };
    assert_eq!(engine::plan(&session, BASE, USDC, apart), now(Action::Refund { token: USDC }), "sent back");
    arrive(&mut session, 2, USDC, 6_000_000, true);
    assert_eq!(plan(&session, USDC), now(Action::Settle { token: USDC }), "the rest came");
    // A token the session cannot use: refunded at once when worth it, else left.
    let junk = ChainAddress::Evm(Address::repeat_byte(0x99));
    arrive(&mut session, 3, junk, 999_999, false);
    assert_eq!(plan(&session, junk), None, "junk dust is left for whoever pays");
    arrive(&mut session, 4, junk, 1, false);
    assert_eq!(plan(&session, junk), now(Action::Refund { token: junk }));
    // After expiry: what is worth it is refunded at once, dust is left.
    session.status = SessionStatus::Expired;
    assert_eq!(plan(&session, USDC), now(Action::Refund { token: USDC }));
    session.settlements.push(Settlement {
        event: event(5, 1),
        token: USDC,
        outcome: Outcome::Refunded,
        amount: U256::from(10_000_000u64),
        delivered: U256::ZERO,
        refunded: U256::from(10_000_000u64),
    });
    arrive(&mut session, 6, USDC, 1, true);
    assert_eq!(plan(&session, USDC), None, "1 unit after expiry is not worth a refund");
}

// ---------------------------------------------------------------------------------------------------
// Attacks on the fixes of the issue-20 review (the second review). Each test fails while its attack
// works.
// ---------------------------------------------------------------------------------------------------

/// The attack: a payer pays a fixed-amount session in two transfers on a source chain (the checkout
/// says "waiting for the rest"). Between them anyone calls the permissionless `router.bridge` (the EVM
/// side has no minimum) and bridges the first 6.00 to Base. `plan` now requires each bridging to carry
/// the minimum on its own, so the payer's remaining 4.00 is never bridged; the 5.994 at the Base
/// receiver is short of the minimum on its own too. Nothing moves until expiry, when both are refunded:
/// a 10.00 payment the previous rule delivered is never delivered (the griefer pays one bridge call).
#[tokio::test]
async fn a_partial_payment_bridged_by_a_third_party_is_still_delivered() {
    let (s, arbitrum) = cross_chain(None);
    let session = created(&s, Some(10_000_000)).await;
    assert_eq!(session.min_amount, U256::from(9_990_000u64));
    // The payer's first 6.00 on Arbitrum: short, waits for the rest.
    let first = on(ARBITRUM, deposit_of(session.id, USDC, 5, 0), 6_000_000);
    EventSink::apply(&s.engine, ARBITRUM, vec![first]).await.expect("first part");
    assert!(arbitrum.take().is_empty());
    // The griefer bridges those 6.00 (at the worst fee: 5.994 arrive at the Base receiver).
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(session.id, 0x77, 6_000_000)]).await.expect("bridged");
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, 7, 5_994_000)])
        .await
        .expect("landed");
    // The payer's remaining 4.00 on Arbitrum: 10.00 paid in all.
    let rest = on(ARBITRUM, deposit_of(session.id, USDC, 8, 0), 4_000_000);
    EventSink::apply(&s.engine, ARBITRUM, vec![rest]).await.expect("the rest");
    let bridges = arbitrum.take().into_iter().filter(|w| matches!(w.action, Action::Bridge { .. })).count();
    let settles = s.chain.take().into_iter().filter(|w| matches!(w.action, Action::Settle { .. })).count();
    assert!(
        bridges + settles > 0,
        "the payer's 10.00 is never delivered: 4.00 waits on Arbitrum and 5.994 on Base, both refunded at \
         expiry (waiting: {:?})",
        s.engine.waiting_work().iter().map(|w| (w.chain_id, w.action.name())).collect::<Vec<_>>()
    );
}

/// A Solana-destination session with a Solana mint, `min_amount` 9.99, `status`.
fn solana_session(status: SessionStatus) -> (Session, TokenRef) {
    let mint = TokenRef {
        chain_id: relayer_types::SOLANA_CHAIN_ID,
        chain_name: "Solana".into(),
        address: ChainAddress::Solana([0x5a; 32]),
        symbol: "USDC".into(),
        decimals: 6,
    };
    let mut s = conformance::session(8);
    s.destination.address = ChainAddress::Solana([0x77; 32]);
    s.destination.token = mint.clone();
    s.destination.calldata = None;
    s.min_amount = U256::from(9_990_000u64);
    s.status = status;
    (s, mint)
}

fn on_solana(block: u64, tx: u8) -> EventId {
    EventId {
        chain_id: relayer_types::SOLANA_CHAIN_ID,
        block_number: block,
        tx_hash: B256::repeat_byte(tx).into(),
        log_index: 0,
    }
}

/// The attack: d55599f makes an inbox transfer below the minimum refundable at once (`refund_inbound`,
/// permissionless, for a session with no EVM refund target: a Solana-paid Solana-destination session
/// without an integrator `refundAddress`). `decides_status` checks the minimum for Delivered and Bounced
/// only: a Refunded settlement of the session's mint on chain 501, where the session has a counted
/// deposit, decides the status in `processing` whatever its amount. So a griefer burns 1 unit naming the
/// session's EVM receiver, and once the payer's 10.00 is in the vault calls `refund_inbound` on it: the
/// session is reported `bounced` (terminal) with the griefer's transaction and 0.000001 refunded; the
/// payer's delivery that follows changes nothing. The relayer's own Solana executor does the same for an
/// inbox transfer between `min_inbox_amount` and the minimum: it handles the inbox first, refunds that
/// transfer, and returns without settling the vault at all.
#[test]
fn a_dust_refund_from_the_inbox_does_not_report_a_processing_session_bounced() {
    let (mut s, mint) = solana_session(SessionStatus::WaitingPayment);
    let arrive = |s: &mut Session, at: EventId, amount: u64| {
        let amount = U256::from(amount);
        let deposit = Deposit {
            event: at,
            block_hash: B256::ZERO,
            from: ChainAddress::Solana([0x11; 32]),
            token: mint.clone(),
            amount,
            counts: Some(amount),
        };
        s.apply(relayer_types::SessionEvent::DepositDetected(deposit)).expect("deposit");
    };
    // The griefer's 1 unit in the inbox (a deposit on chain 501), then the payer's 10.00 in the vault.
    arrive(&mut s, on_solana(5, 0x66), 1);
    arrive(&mut s, on_solana(6, 0xaa), 10_000_000);
    assert_eq!(s.status, SessionStatus::Processing);
    // `refund_inbound` of the 1 unit, at once (the watcher's RefundedInbound: Settled{Refunded} on 501).
    let refund = Settlement {
        event: on_solana(7, 0x67),
        token: mint.address,
        outcome: Outcome::Refunded,
        amount: U256::from(1u64),
        delivered: U256::ZERO,
        refunded: U256::from(1u64),
    };
    s.apply(relayer_types::SessionEvent::Settled(refund)).expect("refund");
    assert_eq!(
        (s.status, s.destination.delivery.as_ref().map(|d| d.received)),
        (SessionStatus::Processing, None),
        "a 1-unit refund from the inbox reports the paid session bounced"
    );
}

/// The attack: a delivery that ran the session's final call is reported by the router with the amount
/// that reached the executor (`_execute`: measured), which for a fee-on-transfer destination token (a
/// supported kind, README "Tokens") is less than the receiver's balance that started the session. Now
/// that a delivery must itself reach `min_amount` in `processing` too, such a session stays `processing`
/// for good although its call ran (and `processing` never expires).
#[test]
fn a_call_delivered_in_a_fee_on_transfer_token_still_finishes_the_session() {
    let mut s = conformance::session(9);
    s.min_amount = U256::from(10_000_000u64);
    s.status = SessionStatus::WaitingPayment;
    let deposit = Deposit {
        event: event(5, 0),
        block_hash: B256::ZERO,
        from: Address::repeat_byte(0xf0).into(),
        token: s.destination.token.clone(),
        amount: U256::from(10_010_000u64),
        counts: Some(U256::from(10_010_000u64)),
    };
    s.apply(relayer_types::SessionEvent::DepositDetected(deposit)).expect("deposit");
    assert_eq!(s.status, SessionStatus::Processing);
    // `settle`: 10.01 leave the receiver; a 0.2% transfer fee leaves 9.98998 at the executor; the call
    // spends all of it. The router reports what left the receiver as `amount`
    // (`test_settle_withAFinalCallReportsWhatLeftTheReceiverForFeeOnTransferTokens`).
    let ran = Settlement {
        event: event(6, 1),
        token: USDC,
        outcome: Outcome::Delivered,
        amount: U256::from(10_010_000u64),
        delivered: U256::from(9_989_980u64),
        refunded: U256::ZERO,
    };
    s.apply(relayer_types::SessionEvent::Settled(ran)).expect("settled");
    assert_eq!(s.status, SessionStatus::Succeeded, "the call ran, the session stays processing for good");
}

/// The attack: the store lists a session for
/// `resume` only while it has more deposits than settlements and bridgings. A fronted session has one
/// deposit on the source chain, its bridging, the fronting's own `Settled`, and then the bridged funds
/// arriving on the destination: 2 deposits, 1 settlement + 1 bridging. A restart after they arrive and
/// before the repayment settle is sent forgets the relayer's own repayment: nothing settles it (the
/// session is `succeeded`, no expiry sweep either). Junk-token refunds (each a `Settled` at the receiver)
/// take any session out of the list the same way.
#[tokio::test]
async fn a_fronters_repayment_is_settled_after_a_restart() {
    let (s, arbitrum) = cross_chain(Some(15_000_000));
    let session = created(&s, Some(10_000_000)).await;
    let paid = on(ARBITRUM, deposit_of(session.id, USDC, 5, 0), 10_010_010);
    EventSink::apply(&s.engine, ARBITRUM, vec![paid]).await.expect("paid");
    assert!(matches!(arbitrum.take()[0].action, Action::Bridge { .. }));
    EventSink::apply(&s.engine, ARBITRUM, vec![bridged(session.id, 1, 10_010_010)]).await.expect("bridged");
    assert!(matches!(s.chain.take()[0].action, Action::FastFinish { .. }));
    let fronting = vec![fronted(session.id, 20, 10_000_000, None), delivered(session.id, event(20, 4))];
    EventSink::apply(&s.engine, BASE, fronting).await.expect("fronted");
    EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, 30, 10_000_000)])
        .await
        .expect("arrived");
    assert_eq!(s.chain.take()[0].action, Action::Settle { token: USDC }, "queued, not yet sent");
    // The process restarts before the settle went out.
    let (base, arb) = cross_chain_pair(Some(15_000_000));
    let restarted = engine_over(&s.store, vec![Arc::clone(&base), Arc::clone(&arb)]);
    restarted.resume().await;
    let queued: Vec<Action> = base.take().into_iter().map(|w| w.action).collect();
    assert_eq!(queued, vec![Action::Settle { token: USDC }], "the repayment is forgotten after a restart");
}

// ---------------------------------------------------------------------------------------------------
// Attacks on the fixes of review 20b (the third review, commits d00d20d and aa98165). Each test fails
// while its attack works.
// ---------------------------------------------------------------------------------------------------

/// The attack: README "Dust costs the relayer nothing" says that after expiry, what is below the
/// token's `min_open_amount` "is left for whoever wants to pay for moving it". `decide` honours that
/// only for sessions whose status is `expired`. A session that succeeded (or bounced, or is still
/// processing) keeps its status after its `expiresAt`, and for it dust at the receiver is `later`: a
/// refund "at expiry", which is now, so the engine submits a router `refund` at once. Every receiver of
/// every past session stays watched, so a griefer sends 1 base unit to each of N old receivers (one
/// multicall) and the relayer sends N refund transactions (each with the whole `DepositParams` as
/// calldata), one more per further transfer.
#[tokio::test]
async fn dust_after_expiry_at_a_delivered_sessions_receiver_is_not_refunded_at_the_relayers_expense() {
    let (s, session) = paid_and_delivered().await;
    // Time passes: the session's expiry is behind it (its status stays `succeeded`).
    let past =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() - 60;
    relayer_store::update_session(s.store.as_ref(), &session.id, |x| {
        x.expires_at = past;
        Ok::<_, std::convert::Infallible>(true)
    })
    .expect("expired in time");
    let mut refunds = 0;
    for block in 6..9 {
        EventSink::apply(&s.engine, BASE, vec![deposit_of(session.id, USDC, block, 1)]).await.expect("dust");
        s.engine.submit_due(Instant::now() + Duration::from_secs(1)).await;
        refunds += s.chain.take().into_iter().filter(|w| matches!(w.action, Action::Refund { .. })).count();
    }
    assert_eq!(refunds, 0, "the relayer sends one refund transaction per 1-unit transfer after expiry");
}

/// The attack (review 20b F1, Solana half, when the session has no EVM refund target: a Solana
/// destination whose integrator gave no `refundAddress`, the default). The payer pays a fixed 10.00
/// session on Arbitrum in two transfers. After the first 6.00, a griefer calls the permissionless
/// `router.bridge`; 5.994 land in the Solana inbox. aa98165 sends a short inbox transfer back "at once,
/// to rejoin the rest", but with no EVM refund target `return_inbound` is `refund_inbound`: the 5.994
/// are paid to the Solana refund target (the merchant) as a refund, below the minimum, which since
/// aa98165 decides no status. The payer's 4.00 make the session `processing` (10.00 counted on
/// Arbitrum) and wait for expiry (4.00 alone is short, and nothing adds up on Solana). At expiry they go
/// home (`refundHome`) and are refunded from the inbox too, below the minimum again. Every receiver is
/// empty, nothing more is planned, and the session is `processing` for good: no webhook, never
/// `succeeded` or `bounced`, although the payer paid 10.00 (and the merchant holds 9.994 as "refunds").
/// Before aa98165 the first refund at expiry ended it `bounced`.
#[test]
fn a_partial_payment_bridged_to_solana_and_refunded_in_pieces_does_not_stay_processing_for_good() {
    use relayer_core::engine::{Plan, Terms, When, plan as decide};
    use relayer_types::{SOLANA_CHAIN_ID, SessionEvent};
    let (mut s, mint) = solana_session(SessionStatus::WaitingPayment);
    s.refund_address = None;
    assert_eq!(
        s.commitment().refund_address,
        B256::ZERO,
        "no EVM refund target: the inbox refunds on Solana"
    );
    let arb_usdc = TokenRef { chain_id: ARBITRUM, ..conformance::session(0).destination.token };
    let route = Route {
        adapter: ADAPTER,
        to_token: mint.address,
        min_amount: U256::from(1_000_000u64),
        max_fee_bps: 10,
        own_fee_bps: 0,
    };
    let floor = U256::from(1_000_000u64);
    let on_arb = Terms { route: Some(&route), floor, destination_adds_up: false, now: 0 };
    let on_sol = Terms { route: None, floor, destination_adds_up: false, now: 0 };
    let arb = |block: u64, tx: u8| EventId {
        chain_id: ARBITRUM,
        block_number: block,
        tx_hash: B256::repeat_byte(tx).into(),
        log_index: 0,
    };
    let deposit = |at: EventId, token: &TokenRef, amount: u64| {
        let amount = U256::from(amount);
        SessionEvent::DepositDetected(Deposit {
            event: at,
            block_hash: B256::ZERO,
            from: Address::repeat_byte(0xf0).into(),
            token: token.clone(),
            amount,
            counts: Some(amount),
        })
    };
    let bridging = |at: EventId, amount: u64, home: bool| {
        SessionEvent::Bridged(Bridging {
            event: at,
            token: USDC,
            adapter: ADAPTER,
            amount: U256::from(amount),
            to_chain_id: Some(SOLANA_CHAIN_ID),
            to_receiver: None,
            home,
        })
    };
    let refunded_inbound = |at: EventId, amount: u64| {
        SessionEvent::Settled(Settlement {
            event: at,
            token: mint.address,
            outcome: Outcome::Refunded,
            amount: U256::from(amount),
            delivered: U256::ZERO,
            refunded: U256::from(amount),
        })
    };
    let now = |action| Some(Plan { action, when: When::Now });
    let at_expiry = |action| Some(Plan { action, when: When::AtExpiry });

    // The payer's first 6.00 on Arbitrum: short, waits.
    s.apply(deposit(arb(5, 0xa1), &arb_usdc, 6_000_000)).expect("first part");
    assert_eq!(decide(&s, ARBITRUM, USDC, on_arb), at_expiry(Action::Refund { token: USDC }));
    // The griefer bridges them; 5.994 land in the inbox and are "sent back at once": refund_inbound.
    s.apply(bridging(arb(6, 0x66), 6_000_000, false)).expect("bridged");
    s.apply(deposit(on_solana(7, 0xb1), &mint, 5_994_000)).expect("in the inbox");
    assert_eq!(
        decide(&s, SOLANA_CHAIN_ID, mint.address, on_sol),
        now(Action::Refund { token: mint.address })
    );
    s.apply(refunded_inbound(on_solana(8, 0xb2), 5_994_000)).expect("refunded to the merchant");
    // The payer's remaining 4.00: 10.00 counted on Arbitrum, processing; 4.00 alone waits for expiry.
    s.apply(deposit(arb(9, 0xa2), &arb_usdc, 4_000_000)).expect("the rest");
    assert_eq!(s.status, SessionStatus::Processing);
    assert_eq!(decide(&s, ARBITRUM, USDC, on_arb), at_expiry(Action::Refund { token: USDC }));
    // At expiry: no EVM refund target, so `refundHome`; in the inbox, refunded on Solana again.
    s.apply(bridging(arb(10, 0xa3), 4_000_000, true)).expect("sent home");
    s.apply(deposit(on_solana(11, 0xb3), &mint, 4_000_000)).expect("home");
    assert!(decide(&s, SOLANA_CHAIN_ID, mint.address, on_sol).is_some(), "moved on");
    s.apply(refunded_inbound(on_solana(12, 0xb4), 4_000_000)).expect("refunded to the merchant");
    s.apply(SessionEvent::Tick { now: u64::MAX }).expect("tick");

    // Nothing is left anywhere and nothing more is planned.
    assert!(!s.holds_funds());
    assert_eq!(decide(&s, ARBITRUM, USDC, on_arb), None);
    assert_eq!(decide(&s, SOLANA_CHAIN_ID, mint.address, on_sol), None);
    assert_ne!(
        s.status,
        SessionStatus::Processing,
        "a 10.00 payment, all of it refunded in pieces below the minimum, leaves the session processing for \
         good (no webhook, never terminal)"
    );
}

/// A session another engine closed (the API's engine expires a session read at its expiry; another
/// instance may have) leaves this engine's expiry queue at its next tick, instead of being ticked, and
/// read from the store, four times a second for as long as the engine runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_closed_by_another_engine_leaves_the_expiry_queue() {
    let s = setup();
    let mut session = conformance::session(7);
    session.expires_at = relayer_types::unix_now().saturating_sub(1);
    s.store.insert_session(&session).expect("insert");
    let worker = Arc::new(engine_over(&s.store, vec![Arc::clone(&s.chain)]));
    assert_eq!(worker.expiries_queued(), 1, "loaded into the queue");
    let expired = Session { status: SessionStatus::Expired, ..session };
    assert!(s.store.replace_session(&expired, 1).expect("expired elsewhere").is_some());
    let cancel = CancellationToken::new();
    let timers = tokio::spawn(Arc::clone(&worker).run_timers(cancel.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while worker.expiries_queued() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cancel.cancel();
    timers.await.expect("timers");
    assert_eq!(worker.expiries_queued(), 0, "out of the queue");
}
