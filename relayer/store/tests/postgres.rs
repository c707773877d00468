//! The store conformance suite (`relayer_store::conformance`) against the PostgreSQL backend, on a real
//! server this test starts (initdb into a temporary directory; see `relayer_store::local_postgres`).
//! Every check gets a database of its own; every reopen drops the first store (its pool and connections)
//! and connects again, so what it reads back was committed.

use std::sync::{
    OnceLock,
    atomic::{AtomicU32, Ordering},
};

use relayer_store::{PgStore, conformance::Backend, local_postgres::LocalPostgres};

fn server() -> &'static LocalPostgres {
    static SERVER: OnceLock<LocalPostgres> = OnceLock::new();
    SERVER.get_or_init(|| LocalPostgres::start().expect("start PostgreSQL"))
}

struct Postgres;

impl Backend for Postgres {
    type Store = PgStore;
    type Place = String;

    fn place(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("conformance_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        server().create_database(&name).expect("create database");
        server().url(&name)
    }

    fn open(&self, url: &String) -> PgStore {
        PgStore::connect(url).expect("connect")
    }
}

relayer_store::store_conformance!(Postgres);

// What PostgreSQL adds to the suite: several processes on one database.

use std::time::{Duration, Instant};

use relayer_store::{NewEvent, Store, StoreError, conformance::session};
use relayer_types::{Session, SessionStatus};

fn fresh() -> String {
    Postgres.place()
}

/// Runs one SQL statement on `url` outside the store (as an operator, or another build, would).
fn sql(url: &str, statement: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client.batch_execute(statement).await.expect("statement");
    });
}

/// Two relayer instances on one database: a session one creates, the other reads; of two updates of the
/// same version, one from each, exactly one wins.
#[test]
fn two_instances_share_sessions_and_compare_and_swap_between_them() {
    let url = fresh();
    let (a, b) = (PgStore::connect(&url).expect("a"), PgStore::connect(&url).expect("b"));
    let s = session(1);
    a.insert_session(&s).expect("insert on a");
    assert_eq!(b.session(&s.id).expect("read on b").map(|v| v.version), Some(1));
    let paid = Session { status: SessionStatus::WaitingPayment, ..s.clone() };
    assert_eq!(b.replace_session(&paid, 1).expect("b writes"), Some(2));
    assert_eq!(a.replace_session(&paid, 1).expect("a is stale"), None, "a stale version loses");
    assert!(matches!(b.insert_session(&s), Err(StoreError::AlreadyExists(_))));
}

/// Outbox numbers follow commit order across instances: a reader paging "after N" while two instances
/// commit events from four threads sees every event. Numbers drawn before commit (a sequence, an
/// auto-increment column) let a transaction that drew N commit after one that drew N + 1 was read, and
/// the reader, already past N + 1, would skip it for ever.
#[test]
fn the_outbox_numbers_events_in_commit_order_across_instances() {
    const WRITERS: u8 = 4;
    const EACH: u8 = 40;
    let url = fresh();
    let stores = [PgStore::connect(&url).expect("a"), PgStore::connect(&url).expect("b")];
    let done = std::sync::atomic::AtomicU8::new(0);
    let mut seen = std::collections::BTreeSet::new();
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (store, done) = (&stores[usize::from(w % 2)], &done);
            scope.spawn(move || {
                for i in 0..EACH {
                    let mut s = session(w.wrapping_mul(EACH).wrapping_add(i));
                    s.id = relayer_types::SessionId::from_bytes([
                        w, i, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                    ]);
                    store.insert_session(&s).expect("insert");
                    let event =
                        NewEvent { kind: format!("{w}/{i}"), created_at: 0, data: serde_json::json!({}) };
                    let paid = Session { status: SessionStatus::WaitingPayment, ..s };
                    assert_eq!(store.commit_session(&paid, 1, &[event]).expect("commit"), Some(2));
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let reader = &stores[0];
        let mut after = 0;
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
            let page = reader.outbox(after, 7).expect("page");
            for entry in &page {
                assert!(entry.seq > after, "pages go forward");
                after = entry.seq;
                assert!(seen.insert(entry.event.kind.clone()), "an event is read once");
            }
            if finished && page.is_empty() {
                break;
            }
        }
    });
    assert_eq!(seen.len(), usize::from(WRITERS) * usize::from(EACH), "no event was skipped");
}

/// A database a newer build has migrated is refused, saying which schema it has: this build could
/// misread what the newer one stores.
#[test]
fn a_database_of_a_newer_schema_is_refused() {
    let url = fresh();
    drop(PgStore::connect(&url).expect("migrate"));
    sql(&url, "UPDATE relayer_schema SET version = 99");
    match PgStore::connect(&url) {
        Err(StoreError::Schema { found: 99, supported }) => assert!(supported < 99),
        other => panic!("expected a schema refusal, got {other:?}"),
    }
}

/// The URL carries the password: neither a refused connection's error nor `Debug` shows it.
#[test]
fn the_store_url_never_shows_in_errors() {
    let refused =
        PgStore::connect("postgres://relayer:hunter2@127.0.0.1:1/relayer").expect_err("nobody listens");
    let text = format!("{} {:?}", relayer_util::causes(&refused), refused);
    assert!(refused.can_retry(), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let garbled = PgStore::connect("postgres://relayer:hunter2@[::1").expect_err("not a URL");
    assert!(!format!("{garbled} {garbled:?}").contains("hunter2"));
    let store = PgStore::connect(&fresh()).expect("connect");
    assert!(!format!("{store:?}").contains("postgres://"));
}

/// PostgreSQL restarted under a running store: calls fail with a retryable error while it is down
/// (`/readyz` probes say so), and the same store works again once it is back, without being reopened.
#[test]
fn the_store_recovers_by_itself_after_the_database_restarts() {
    let mut server = LocalPostgres::start().expect("own server");
    server.create_database("restart").expect("database");
    let store = PgStore::connect(&server.url("restart")).expect("connect");
    let s = session(3);
    store.insert_session(&s).expect("insert");
    server.stop().expect("stop");
    let down = store.probe().expect_err("down");
    assert!(down.can_retry(), "{down}");
    assert!(store.session(&s.id).expect_err("down").can_retry());
    server.resume().expect("start again");
    let started = Instant::now();
    while let Err(e) = store.probe() {
        assert!(started.elapsed() < Duration::from_secs(20), "still failing: {e}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(store.session(&s.id).expect("read").map(|v| v.version), Some(1));
    let paid = Session { status: SessionStatus::WaitingPayment, ..s };
    assert_eq!(store.replace_session(&paid, 1).expect("write"), Some(2));
}

use relayer_store::{ChainStore, SigningLease};

/// One holder at a time: while A holds the lease, B can neither take it nor record or sign; once A lets
/// it run out (no renewal), A stops signing by its own clock before the database frees it, B takes it
/// with a higher epoch, and A can no longer renew or record.
#[test]
fn the_signing_lease_has_one_holder_and_a_takeover_fences_the_former_one() {
    let url = fresh();
    let (a, b) = (PgStore::connect(&url).expect("a"), PgStore::connect(&url).expect("b"));
    let ttl = Duration::from_millis(1200);
    let (la, lb) = (a.signing_lease("signer", ttl), b.signing_lease("signer", ttl));
    assert_ne!(la.holder(), lb.holder());
    assert!(matches!(a.put_send(1, b"k", b"before"), Err(StoreError::Fenced)), "no lease taken yet");
    assert_eq!(la.acquire().expect("a takes"), Some(1));
    assert_eq!(lb.acquire().expect("b tries"), None, "held by a");
    a.put_send(1, b"k", b"a1").expect("the holder records");
    a.may_sign().expect("the holder signs");
    assert!(matches!(b.put_send(1, b"k", b"b1"), Err(StoreError::Fenced)));
    assert!(matches!(b.may_sign(), Err(StoreError::Fenced)));
    assert!(la.renew().expect("renew"), "renewed while held");

    std::thread::sleep(ttl.mul_f64(0.8));
    assert!(matches!(a.may_sign(), Err(StoreError::Fenced)), "past its own deadline, before the database's");
    assert!(matches!(a.put_send(1, b"k", b"a2"), Err(StoreError::Fenced)));
    std::thread::sleep(ttl.mul_f64(0.3));
    assert_eq!(lb.acquire().expect("b takes over"), Some(2), "a new epoch");
    b.put_send(1, b"k", b"b2").expect("the new holder records");
    assert!(!la.renew().expect("a renews"), "a lost it");
    assert!(matches!(a.delete_send(1, b"k"), Err(StoreError::Fenced)));
    assert_eq!(b.sends(1, b"").expect("sends"), vec![(b"k".to_vec(), b"b2".to_vec())]);
    lb.release().expect("release");
    assert_eq!(la.acquire().expect("a takes it back at once"), Some(3));
}

/// Fencing does not trust the former holder's clock: a holder paused past its lease (its clock may not
/// have seen the time pass, as after a suspended VM) that comes back believing it still holds the lease
/// is refused by the database, which compares the epoch.
#[test]
fn the_database_refuses_a_former_holder_that_believes_it_still_holds_the_lease() {
    let url = fresh();
    let (a, b) = (PgStore::connect(&url).expect("a"), PgStore::connect(&url).expect("b"));
    let ttl = Duration::from_secs(30);
    let (la, lb) = (a.signing_lease("signer", ttl), b.signing_lease("signer", ttl));
    assert_eq!(la.acquire().expect("a takes"), Some(1));
    // The database's time passes (a's does not): the lease runs out and b takes it.
    sql(&url, "UPDATE leases SET expires_at = now() - interval '1 second'");
    assert_eq!(lb.acquire().expect("b takes over"), Some(2));
    a.may_sign().expect("a's own clock still says yes");
    assert!(matches!(a.put_send(1, b"k", b"a"), Err(StoreError::Fenced)), "the database says no");
    assert!(b.sends(1, b"").expect("sends").is_empty());
    // Nor anything else a chain writes: cursors, marks, family records.
    let cursor = relayer_store::Cursor { block: 9, hash: relayer_types::B256::repeat_byte(9) };
    assert!(matches!(a.set_cursor(1, cursor, &[]), Err(StoreError::Fenced)));
    assert!(matches!(a.put_watch_marks(1, &[(b"m".to_vec(), b"1".to_vec())]), Err(StoreError::Fenced)));
    assert!(matches!(a.put_record(1, b"r", b"1"), Err(StoreError::Fenced)));
    assert_eq!(b.cursor(1).expect("cursor"), None);
    // Its engine's session writes are refused too; the API's (any instance's) are not.
    let s = session(5);
    a.insert_session(&s).expect("the API creates sessions on any instance");
    let paid = Session { status: SessionStatus::WaitingPayment, ..s };
    assert!(matches!(la.fenced_store().replace_session(&paid, 1), Err(StoreError::Fenced)));
    assert!(matches!(lb.fenced_store().replace_session(&paid, 1), Ok(Some(2))), "the holder's engine writes");
    assert_eq!(a.replace_session(&paid, 2).expect("the API writes"), Some(3));
    // Webhook deliveries its view records are refused (a late retry would overwrite the new holder's
    // record), and so is its fan-out of an outbox entry (left for the new holder).
    use relayer_store::WebhookStore;
    a.put_webhook(&endpoint("e")).expect("endpoint");
    let delivery = relayer_store::EventDelivery {
        endpoint_id: "e".into(),
        event_id: "x".into(),
        event_type: "session.succeeded".into(),
        created_ms: 1,
        body: "{}".into(),
        state: relayer_store::DeliveryState::Pending { next_attempt_ms: 1 },
        attempts: vec![],
    };
    assert!(matches!(la.fenced_store().put_delivery(&delivery), Err(StoreError::Fenced)));
    assert!(matches!(la.fenced_store().fan_out(1, &[]), Err(StoreError::Fenced)));
    assert!(a.request_delivery(&delivery).expect("any instance queues a request"));
    assert!(
        matches!(la.fenced_store().take_delivery_request(1), Err(StoreError::Fenced)),
        "nor takes requests"
    );
    assert_eq!(
        lb.fenced_store().take_delivery_request(1).expect("the holder takes it"),
        Some(delivery.clone())
    );
    assert!(lb.fenced_store().put_delivery(&delivery).expect("the holder records"));
}

/// Receivers other instances indexed are listed after a mark, in the order they committed.
#[test]
fn receivers_indexed_by_other_instances_are_read_after_a_mark() {
    let url = fresh();
    let (a, b) = (PgStore::connect(&url).expect("a"), PgStore::connect(&url).expect("b"));
    let receiver = |n: u8| relayer_types::ChainAddress::Evm(relayer_types::Address::repeat_byte(n));
    let (first, second) = (session(1), session(2));
    a.index_receiver(receiver(1), &first.id).expect("index");
    let (seen, mark) = b.receivers_since(0).expect("read").expect("postgres lists");
    assert_eq!(seen, vec![(receiver(1), first.id)]);
    assert_eq!(b.receivers_since(mark).expect("read").expect("lists").0, vec![]);
    a.index_receiver(receiver(2), &second.id).expect("index");
    let (seen, next) = b.receivers_since(mark).expect("read").expect("lists");
    assert_eq!(seen, vec![(receiver(2), second.id)]);
    assert!(next > mark);
}

/// An outbox entry fanned out twice (two instances' dispatchers overlapping during a handover): the
/// second finds it gone and writes nothing, so a delivery already made is not reset to pending.
#[test]
fn a_second_fan_out_of_an_entry_changes_nothing() {
    use relayer_store::{DeliveryState, EventDelivery, WebhookStore};
    let store = PgStore::connect(&fresh()).expect("connect");
    store.put_webhook(&endpoint("a")).expect("endpoint");
    one_event(&store);
    let seq = store.outbox(0, 10).expect("outbox")[0].seq;
    let pending = EventDelivery {
        endpoint_id: "a".into(),
        event_id: "e1".into(),
        event_type: "session.payment_method_set".into(),
        created_ms: 10,
        body: "{}".into(),
        state: DeliveryState::Pending { next_attempt_ms: 10 },
        attempts: vec![],
    };
    store.fan_out(seq, std::slice::from_ref(&pending)).expect("first fan-out");
    let delivered = EventDelivery { state: DeliveryState::Delivered { at_ms: 11 }, ..pending.clone() };
    assert!(store.put_delivery(&delivered).expect("delivered"));
    store.fan_out(seq, &[pending]).expect("second fan-out");
    assert_eq!(store.deliveries("a", 10).expect("list"), vec![delivered], "still delivered");
}

/// A new session moved on with one outbox event.
fn one_event(store: &PgStore) {
    let s = session(1);
    store.insert_session(&s).expect("insert");
    let event =
        NewEvent { kind: "session.payment_method_set".into(), created_at: 0, data: serde_json::json!({}) };
    store
        .commit_session(&Session { status: SessionStatus::WaitingPayment, ..s }, 1, &[event])
        .expect("commit");
}

fn endpoint(id: &str) -> relayer_store::WebhookEndpoint {
    relayer_store::WebhookEndpoint {
        id: id.into(),
        url: "https://example.com/hook".into(),
        events: vec!["*".into()],
        description: None,
        secret: relayer_util::Secret::new("whsec_x"),
        created_at: 1,
        disabled: None,
    }
}

/// What one instance commits for the instance that delivers reaches it at once: outbox events and a
/// delivery request (a test event, a redelivery asked there) signal its change notifications, and the
/// requests are read in the order they committed, after a mark, until forgotten.
#[test]
fn another_instances_events_and_delivery_requests_reach_the_one_that_delivers() {
    use relayer_store::{DeliveryState, EventDelivery, WebhookStore};
    let url = fresh();
    let (here, there) = (PgStore::connect(&url).expect("connect"), PgStore::connect(&url).expect("connect"));
    let mut changes = here.changes().expect("a shared store signals changes");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let mut signalled = |what: &str| {
        let fired = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), changes.changed()).await });
        assert!(matches!(fired, Ok(Ok(()))), "{what} signalled");
        changes.borrow_and_update();
    };
    signalled("listening");
    one_event(&there);
    signalled("an outbox event committed by another instance");
    there.put_webhook(&endpoint("a")).expect("endpoint");
    signalled("an endpoint registered by another instance");

    let request = |event: &str| EventDelivery {
        endpoint_id: "a".into(),
        event_id: event.into(),
        event_type: "session.succeeded".into(),
        created_ms: 7,
        body: "{}".into(),
        state: DeliveryState::Pending { next_attempt_ms: 7 },
        attempts: vec![],
    };
    assert!(there.request_delivery(&request("test")).expect("request"));
    signalled("a delivery requested by another instance");
    assert!(there.request_delivery(&request("again")).expect("request"));
    assert!(
        !there
            .request_delivery(&EventDelivery { endpoint_id: "gone".into(), ..request("x") })
            .expect("request")
    );
    let queued = here.delivery_requests(0, 10).expect("requests").expect("a shared store queues requests");
    assert_eq!(queued, vec![1, 2], "in commit order, numbered");
    assert_eq!(here.delivery_requests(1, 10).expect("after a mark"), Some(vec![2]));
    assert_eq!(here.delivery_requests(0, 1).expect("a page").map(|r| r.len()), Some(1));
    assert!(here.deliveries("a", 10).expect("list").is_empty(), "a request is not a delivery yet");

    // Taking one records its delivery and forgets it, once.
    assert_eq!(here.take_delivery_request(1).expect("take"), Some(request("test")));
    assert_eq!(here.take_delivery_request(1).expect("take again"), None, "taken once");
    assert_eq!(here.deliveries("a", 10).expect("list"), vec![request("test")]);
    assert_eq!(here.delivery_requests(0, 10).expect("requests"), Some(vec![2]));
    // A redelivery of an event with attempts on record keeps them, in the requested state.
    let attempt = relayer_store::AttemptRecord { at_ms: 8, status: Some(500), error: None, duration_ms: 3 };
    let sent = EventDelivery {
        state: DeliveryState::Failed { at_ms: 9 },
        attempts: vec![attempt],
        ..request("again")
    };
    assert!(here.put_delivery(&sent).expect("recorded"));
    let taken = here.take_delivery_request(2).expect("take").expect("taken");
    assert_eq!(
        taken,
        EventDelivery { state: request("again").state, ..sent },
        "attempts kept, pending again"
    );
    assert_eq!(here.delivery_requests(0, 10).expect("requests"), Some(vec![]));
    // One this build cannot read (another build's) is dropped when taken, not retried forever.
    sql(&url, "INSERT INTO delivery_requests (seq, endpoint_id, body) VALUES (99, 'a', '\\x00')");
    assert_eq!(here.delivery_requests(2, 10).expect("requests"), Some(vec![99]));
    assert_eq!(here.take_delivery_request(99).expect("take"), None);
    assert_eq!(here.delivery_requests(0, 10).expect("requests"), Some(vec![]), "dropped");
}
