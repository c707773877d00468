//! The behaviour every [`Store`] backend must have, as one suite generic over the backend. A backend's
//! test file implements [`Backend`] (where a store keeps its data, how to open it) and invokes
//! [`store_conformance!`](crate::store_conformance), which makes one named `#[test]` per check. The sled
//! backend runs it in `tests/store.rs`; a networked backend runs it unchanged.
#![allow(clippy::missing_panics_doc)]

use std::collections::BTreeMap;

use std::collections::HashMap;

use relayer_types::{
    Address, B256, Bytes, ChainAddress, ClientSecret, Deposit, Destination, DisplayInfo, EventId, Outcome,
    Session, SessionId, SessionStatus, Settlement, TokenRef, U256,
};

use crate::{
    ChainStore, Creation, Cursor, DeliveryState, EventDelivery, IdempotencyRecord, NewEvent, Store,
    StoreError, UpdateError, WebhookEndpoint, WebhookStore, update_session, update_session_with_events,
};

/// A backend under test.
pub trait Backend {
    /// The store it opens.
    type Store: Store;
    /// Where one store keeps its data (a temporary directory, a scratch database); dropped at the end.
    type Place;
    /// A new, empty place.
    fn place(&self) -> Self::Place;
    /// Opens the store at `place`; opening it again after dropping the first must see the same data.
    fn open(&self, place: &Self::Place) -> Self::Store;
}

/// One `#[test]` per conformance check, for the [`Backend`] value `$backend`.
#[macro_export]
macro_rules! store_conformance {
    ($backend:expr) => {
        #[test]
        fn sessions_survive_reopening_the_store() {
            $crate::conformance::sessions_survive_reopening_the_store(&$backend);
        }
        #[test]
        fn inserting_an_existing_id_fails_and_changes_nothing() {
            $crate::conformance::inserting_an_existing_id_fails_and_changes_nothing(&$backend);
        }
        #[test]
        fn replace_rejects_a_stale_version() {
            $crate::conformance::replace_rejects_a_stale_version(&$backend);
        }
        #[test]
        fn update_session_applies_the_change_and_reports_rejections() {
            $crate::conformance::update_session_applies_the_change_and_reports_rejections(&$backend);
        }
        #[test]
        fn async_creation_is_durable_once_it_resolves() {
            $crate::conformance::async_creation_is_durable_once_it_resolves(&$backend);
        }
        #[test]
        fn scan_visits_every_session() {
            $crate::conformance::scan_visits_every_session(&$backend);
        }
        #[test]
        fn cursor_rollback_forgets_hashes_of_the_abandoned_branch() {
            $crate::conformance::cursor_rollback_forgets_hashes_of_the_abandoned_branch(&$backend);
        }
        #[test]
        fn queries_follow_every_transition_and_survive_reopening() {
            $crate::conformance::queries_follow_every_transition_and_survive_reopening(&$backend);
        }
        #[test]
        fn receivers_lists_every_indexed_receiver() {
            $crate::conformance::receivers_lists_every_indexed_receiver(&$backend);
        }
        #[test]
        fn a_session_change_and_its_events_commit_together_or_not_at_all() {
            $crate::conformance::a_session_change_and_its_events_commit_together_or_not_at_all(&$backend);
        }
        #[test]
        fn the_outbox_pages_in_commit_order_and_survives_reopening() {
            $crate::conformance::the_outbox_pages_in_commit_order_and_survives_reopening(&$backend);
        }
        #[test]
        fn events_fan_out_once_to_existing_endpoints_and_deliveries_follow_them() {
            $crate::conformance::events_fan_out_once_to_existing_endpoints_and_deliveries_follow_them(
                &$backend,
            );
        }
        #[test]
        fn an_idempotency_key_creates_once_and_then_returns_its_record() {
            $crate::conformance::an_idempotency_key_creates_once_and_then_returns_its_record(&$backend);
        }
        #[test]
        fn send_records_are_listed_in_key_order_per_chain_and_prefix() {
            $crate::conformance::send_records_are_listed_in_key_order_per_chain_and_prefix(&$backend);
        }
        #[test]
        fn family_records_are_kept_per_chain_durably_and_apart_from_sends_and_marks() {
            $crate::conformance::family_records_are_kept_per_chain_durably_and_apart_from_sends_and_marks(
                &$backend,
            );
        }
        #[test]
        fn watch_marks_are_kept_per_chain_replaced_by_key_and_apart_from_send_records() {
            $crate::conformance::watch_marks_are_kept_per_chain_replaced_by_key_and_apart_from_send_records(
                &$backend,
            );
        }
    };
}

/// A session fixture; `n` varies its id.
pub fn session(n: u8) -> Session {
    Session {
        id: SessionId::from_bytes([n; 16]),
        client_secret: ClientSecret::from_bytes([n ^ 0xff; 16]),
        status: SessionStatus::RequiresPaymentMethod,
        destination: Destination {
            address: Address::repeat_byte(0xd0).into(),
            token: TokenRef {
                chain_id: 8453,
                chain_name: "Base".into(),
                address: Address::repeat_byte(0x83).into(),
                symbol: "USDC".into(),
                decimals: 6,
            },
            amount: Some(U256::from(10_000_000u64)),
            calldata: Some(Bytes::from(vec![1, 2, 3])),
            delivery: None,
        },
        display: DisplayInfo {
            title: "t".into(),
            verb: "v".into(),
            theme_css_url: None,
            payment_options: None,
        },
        metadata: Some(BTreeMap::from([("orderId".into(), "123".into())])),
        refund_address: None,
        min_amount: U256::ZERO,
        payment_method: None,
        created_at: 1,
        expires_at: 2,
        deposits: vec![],
        bridges: vec![],
        frontings: vec![],
        settlements: vec![],
        work: vec![],
    }
}

/// Check: [`Store::create_session`] resolves once the session is stored durably (it survives reopening),
/// counts it, and refuses a taken id like `insert_session`.
pub fn async_creation_is_durable_once_it_resolves<B: Backend>(backend: &B) {
    let place = backend.place();
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    {
        let store = backend.open(&place);
        let sessions: Vec<Session> = (1..=8).map(session).collect();
        runtime.block_on(async {
            let all = sessions.iter().map(|s| store.create_session(s));
            for result in futures::future::join_all(all).await {
                result.expect("created");
            }
            let taken = store.create_session(&sessions[0]).await;
            assert!(matches!(taken, Err(StoreError::AlreadyExists(_))), "{taken:?}");
        });
    }
    let store = backend.open(&place);
    for n in 1..=8 {
        assert_eq!(store.session(&session(n).id).expect("read").map(|v| v.value), Some(session(n)));
    }
    assert_eq!(store.status_counts().expect("counts").get(&SessionStatus::RequiresPaymentMethod), Some(&8));
}

/// Check: sessions survive reopening the store.
pub fn sessions_survive_reopening_the_store<B: Backend>(backend: &B) {
    let place = backend.place();
    {
        let store = backend.open(&place);
        store.insert_session(&session(1)).expect("insert");
        store.index_receiver(Address::repeat_byte(0xee).into(), &session(1).id).expect("index");
    }
    let store = backend.open(&place);
    let stored = store.session(&session(1).id).expect("read").expect("present");
    assert_eq!(stored.value, session(1));
    assert_eq!(stored.version, 1);
    assert_eq!(
        store.session_by_receiver(Address::repeat_byte(0xee).into()).expect("read"),
        Some(session(1).id)
    );
}

/// Check: inserting an existing id fails and changes nothing.
pub fn inserting_an_existing_id_fails_and_changes_nothing<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    store.insert_session(&session(1)).expect("insert");
    let mut other = session(1);
    other.display.title = "other".into();
    assert!(matches!(store.insert_session(&other), Err(StoreError::AlreadyExists(_))));
    assert_eq!(store.session(&other.id).expect("read").expect("present").value.display.title, "t");
}

/// Check: replace rejects a stale version.
pub fn replace_rejects_a_stale_version<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    let mut s = session(1);
    store.insert_session(&s).expect("insert");
    s.status = SessionStatus::WaitingPayment;
    assert_eq!(store.replace_session(&s, 1).expect("replace"), Some(2));
    s.status = SessionStatus::Expired;
    assert_eq!(store.replace_session(&s, 1).expect("stale replace"), None, "stale write must lose");
    assert_eq!(
        store.session(&s.id).expect("read").expect("present").value.status,
        SessionStatus::WaitingPayment
    );
}

/// Check: update session applies the change and reports rejections.
pub fn update_session_applies_the_change_and_reports_rejections<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    store.insert_session(&session(1)).expect("insert");
    let updated = update_session(&store as &dyn Store, &session(1).id, |s| {
        s.status = SessionStatus::WaitingPayment;
        Ok::<_, ()>(true)
    })
    .expect("update");
    assert_eq!(updated.status, SessionStatus::WaitingPayment);
    let rejected = update_session(&store as &dyn Store, &session(1).id, |_| Err::<bool, _>("no"));
    assert!(matches!(rejected, Err(UpdateError::Rejected("no"))));
    assert!(matches!(
        update_session(&store as &dyn Store, &session(9).id, |_| Ok::<_, ()>(true)),
        Err(UpdateError::Store(StoreError::NotFound(_)))
    ));
}

/// Check: scan visits every session.
pub fn scan_visits_every_session<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    for n in 1..=5 {
        store.insert_session(&session(n)).expect("insert");
    }
    let mut seen = vec![];
    store.scan_sessions(&mut |s| seen.push(s.id)).expect("scan");
    assert_eq!(seen.len(), 5);
}

/// Check: cursor rollback forgets hashes of the abandoned branch.
pub fn cursor_rollback_forgets_hashes_of_the_abandoned_branch<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    let blocks: Vec<(u64, B256)> = (1..=10).map(|n| (n, B256::with_last_byte(n as u8))).collect();
    store.set_cursor(8453, Cursor { block: 10, hash: blocks[9].1 }, &blocks).expect("advance");
    assert_eq!(store.block_hash(8453, 7).expect("read"), Some(B256::with_last_byte(7)));

    store.set_cursor(8453, Cursor { block: 6, hash: blocks[5].1 }, &[]).expect("roll back");
    assert_eq!(store.cursor(8453).expect("read"), Some(Cursor { block: 6, hash: blocks[5].1 }));
    assert_eq!(store.block_hash(8453, 7).expect("read"), None, "abandoned branch forgotten");
    assert_eq!(store.block_hash(8453, 6).expect("read"), Some(B256::with_last_byte(6)));
    assert_eq!(store.cursor(1).expect("read"), None, "chains are separate");

    store.prune_block_hashes(8453, 5).expect("prune");
    assert_eq!(store.block_hash(8453, 4).expect("read"), None);
    assert_eq!(store.block_hash(8453, 5).expect("read"), Some(B256::with_last_byte(5)));
}

/// Check: send records are listed in key order per chain and key prefix, and deleted one by one.
pub fn send_records_are_listed_in_key_order_per_chain_and_prefix<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    let key = |signer: u8, nonce: u64| [&[signer; 20][..], &nonce.to_be_bytes()].concat();
    for nonce in [300u64, 2, 17] {
        store.put_send(8453, &key(0x5e, nonce), &nonce.to_be_bytes()).expect("put");
    }
    store.put_send(8453, &key(0x5f, 1), b"other signer").expect("put");
    store.put_send(1, &key(0x5e, 5), b"other chain").expect("put");
    let records = store.sends(8453, &[0x5e; 20]).expect("list");
    let nonces: Vec<u64> =
        records.iter().map(|(_, r)| u64::from_be_bytes(r.as_slice().try_into().expect("8 bytes"))).collect();
    assert_eq!(nonces, vec![2, 17, 300]);
    let keys: Vec<Vec<u8>> = records.into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec![key(0x5e, 2), key(0x5e, 17), key(0x5e, 300)], "each with its own key");
    store.put_send(8453, &key(0x5e, 17), b"replaced").expect("replace");
    assert_eq!(store.sends(8453, &key(0x5e, 17)).expect("one"), vec![(key(0x5e, 17), b"replaced".to_vec())]);
    store.delete_send(8453, &key(0x5e, 17)).expect("delete");
    assert_eq!(store.sends(8453, &[0x5e; 20]).expect("list").len(), 2);
    assert_eq!(store.sends(1, &[0x5e; 20]).expect("list"), vec![(key(0x5e, 5), b"other chain".to_vec())]);
    drop(store);
    let store = backend.open(&place);
    assert_eq!(store.sends(8453, &[0x5e; 20]).expect("durable").len(), 2);
}

/// Check: watcher marks are listed per chain in key order, a batch replaces marks by key, they survive
/// a reopened store once it closed cleanly, and they never show among send records (where an unreadable
/// one would stop work).
pub fn watch_marks_are_kept_per_chain_replaced_by_key_and_apart_from_send_records<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    let marks = |list: &[(u8, &[u8])]| -> Vec<crate::SendEntry> {
        list.iter().map(|(k, v)| (vec![*k; 32], v.to_vec())).collect()
    };
    store.put_watch_marks(501, &marks(&[(9, b"nine"), (2, b"two")])).expect("put");
    store.put_watch_marks(7, &marks(&[(2, b"other chain")])).expect("put");
    store.put_watch_marks(501, &marks(&[(2, b"two again"), (5, b"five")])).expect("replace");
    assert_eq!(
        store.watch_marks(501).expect("list"),
        marks(&[(2, b"two again"), (5, b"five"), (9, b"nine")])
    );
    assert_eq!(store.watch_marks(7).expect("list"), marks(&[(2, b"other chain")]));
    assert!(store.sends(501, &[]).expect("sends").is_empty(), "marks are not send records");
    store.put_send(501, b"send", b"record").expect("put");
    assert_eq!(store.watch_marks(501).expect("list").len(), 3, "send records are not marks");
    drop(store);
    let store = backend.open(&place);
    assert_eq!(store.watch_marks(501).expect("reopened").len(), 3);
}

/// Check: a family's records are listed per chain in key order, replaced and removed by key, survive a
/// reopened store, and never show among send records or marks (nor they among records).
pub fn family_records_are_kept_per_chain_durably_and_apart_from_sends_and_marks<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    let entry = |k: u8, v: &[u8]| (vec![k; 8], v.to_vec());
    store.put_record(501, &[9; 8], b"nine").expect("put");
    store.put_record(501, &[2; 8], b"two").expect("put");
    store.put_record(7, &[2; 8], b"other chain").expect("put");
    store.put_record(501, &[2; 8], b"two again").expect("replace");
    store.put_send(501, b"send", b"record").expect("put");
    store.put_watch_marks(501, &[(b"mark".to_vec(), b"m".to_vec())]).expect("put");
    assert_eq!(store.records(501).expect("list"), vec![entry(2, b"two again"), entry(9, b"nine")]);
    assert_eq!(store.records(7).expect("list"), vec![entry(2, b"other chain")]);
    assert_eq!(store.sends(501, &[]).expect("sends").len(), 1, "records are not send records");
    assert_eq!(store.watch_marks(501).expect("marks").len(), 1, "records are not marks");
    store.delete_record(501, &[9; 8]).expect("delete");
    drop(store);
    let store = backend.open(&place);
    assert_eq!(store.records(501).expect("reopened"), vec![entry(2, b"two again")]);
}

fn event(chain_id: u64, block_number: u64) -> EventId {
    EventId { chain_id, block_number, tx_hash: B256::with_last_byte(block_number as u8).into(), log_index: 0 }
}

/// A deposit fixture in `block_number` of `chain_id`.
pub fn deposit(chain_id: u64, block_number: u64) -> Deposit {
    let token = session(0).destination.token;
    Deposit {
        event: event(chain_id, block_number),
        block_hash: B256::repeat_byte(0xbb),
        from: Address::repeat_byte(0xf0).into(),
        token,
        amount: U256::from(10_000_000u64),
        counts: None,
    }
}

fn settlement(chain_id: u64, block_number: u64) -> Settlement {
    Settlement {
        event: event(chain_id, block_number),
        token: Address::repeat_byte(0x83).into(),
        outcome: Outcome::Delivered,
        amount: U256::from(10_000_000u64),
        delivered: U256::from(10_000_000u64),
        refunded: U256::ZERO,
    }
}

fn ids(sessions: Vec<Session>) -> Vec<SessionId> {
    let mut ids: Vec<SessionId> = sessions.into_iter().map(|s| s.id).collect();
    ids.sort_by_key(|id| *id.as_bytes());
    ids
}

fn counts(store: &impl Store) -> HashMap<SessionStatus, u64> {
    let mut counts = store.status_counts().expect("counts");
    counts.retain(|_, n| *n != 0);
    counts
}

/// Check: the query-shaped reads (expiring, unsettled, touched since a block, status counts) follow
/// every transition, ignore a write that lost its race, and survive reopening.
pub fn queries_follow_every_transition_and_survive_reopening<B: Backend>(backend: &B) {
    use SessionStatus::{Expired, Processing, RequiresPaymentMethod, Succeeded};
    let place = backend.place();
    let (mut a, mut b) = (session(1), session(2));
    a.expires_at = 50;
    b.expires_at = 40;
    {
        let store = backend.open(&place);
        store.insert_session(&a).expect("insert");
        store.insert_session(&b).expect("insert");
        assert_eq!(store.expiring_sessions().expect("expiring"), vec![(40, b.id), (50, a.id)]);
        assert_eq!(store.expiring_before(49).expect("expiring soon"), vec![(40, b.id)]);
        assert_eq!(store.expiring_before(50).expect("expiring soon"), vec![(40, b.id), (50, a.id)]);
        assert!(store.expiring_before(39).expect("expiring soon").is_empty());
        assert_eq!(counts(&store), HashMap::from([(RequiresPaymentMethod, 2)]));
        assert!(store.unsettled_sessions().expect("unsettled").is_empty());

        // A deposit in block 100: processing, unsettled, touched from block 100 down.
        a.status = Processing;
        a.deposits.push(deposit(8453, 100));
        assert_eq!(store.replace_session(&a, 1).expect("replace"), Some(2));
        assert_eq!(store.expiring_sessions().expect("expiring"), vec![(40, b.id)]);
        assert_eq!(store.expiring_before(u64::MAX).expect("expiring soon"), vec![(40, b.id)]);
        assert_eq!(ids(store.unsettled_sessions().expect("unsettled")), vec![a.id]);
        assert_eq!(ids(store.sessions_touched_since(8453, 100).expect("touched")), vec![a.id]);
        assert_eq!(ids(store.sessions_touched_since(8453, 90).expect("touched")), vec![a.id]);
        assert!(store.sessions_touched_since(8453, 101).expect("touched").is_empty());
        assert!(store.sessions_touched_since(1, 0).expect("touched").is_empty(), "chains are separate");
        assert!(store.sessions_touched_since(u64::MAX, 0).expect("touched").is_empty(), "the last chain id");
        assert_eq!(counts(&store), HashMap::from([(RequiresPaymentMethod, 1), (Processing, 1)]));

        // Its settlement in block 105: succeeded, settled, touched up to 105.
        a.status = Succeeded;
        a.settlements.push(settlement(8453, 105));
        assert_eq!(store.replace_session(&a, 2).expect("replace"), Some(3));
        assert!(store.unsettled_sessions().expect("unsettled").is_empty());
        assert_eq!(ids(store.sessions_touched_since(8453, 101).expect("touched")), vec![a.id]);
        assert!(store.sessions_touched_since(8453, 106).expect("touched").is_empty());

        // A write that lost its race changes no index.
        let mut stale = a.clone();
        stale.status = Expired;
        stale.deposits.clear();
        stale.settlements.clear();
        assert_eq!(store.replace_session(&stale, 2).expect("stale"), None);
        assert_eq!(counts(&store), HashMap::from([(RequiresPaymentMethod, 1), (Succeeded, 1)]));
        assert_eq!(ids(store.sessions_touched_since(8453, 0).expect("touched")), vec![a.id]);

        b.status = Expired;
        assert_eq!(store.replace_session(&b, 1).expect("replace"), Some(2));
        assert!(store.expiring_sessions().expect("expiring").is_empty());
    }
    let store = backend.open(&place);
    assert!(store.expiring_sessions().expect("expiring").is_empty());
    assert!(store.unsettled_sessions().expect("unsettled").is_empty());
    assert_eq!(ids(store.sessions_touched_since(8453, 100).expect("touched")), vec![a.id]);
    assert_eq!(counts(&store), HashMap::from([(Succeeded, 1), (Expired, 1)]));
}

/// Check: receivers lists every indexed receiver, of every family, and an EVM and a Tron receiver with
/// the same 20 bytes stay apart.
pub fn receivers_lists_every_indexed_receiver<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    let evm = ChainAddress::Evm(Address::repeat_byte(1));
    let tron = ChainAddress::Tron(Address::repeat_byte(1));
    let solana = ChainAddress::Solana([3; 32]);
    store.index_receiver(evm, &session(1).id).expect("index");
    store.index_receiver(tron, &session(2).id).expect("index");
    store.index_receiver(solana, &session(3).id).expect("index");
    let mut listed = store.receivers().expect("receivers");
    listed.sort();
    let mut want = vec![(evm, session(1).id), (tron, session(2).id), (solana, session(3).id)];
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(store.session_by_receiver(tron).expect("read"), Some(session(2).id));
    drop(store);
    let store = backend.open(&place);
    assert_eq!(store.session_by_receiver(solana).expect("durable"), Some(session(3).id));
}

fn new_event(kind: &str) -> NewEvent {
    NewEvent { kind: kind.into(), created_at: 7, data: serde_json::json!({ "kind": kind }) }
}

fn kinds(store: &impl Store) -> Vec<String> {
    store.outbox(0, 100).expect("outbox").into_iter().map(|e| e.event.kind).collect()
}

/// Check: a session change and its outbox events are written in one commit: a stale or failing commit
/// writes neither, and `update_session_with_events` writes no events when nothing changed.
pub fn a_session_change_and_its_events_commit_together_or_not_at_all<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    let mut s = session(1);
    store.insert_session(&s).expect("insert");
    s.status = SessionStatus::WaitingPayment;
    let events = [new_event("session.payment_method_set")];
    assert_eq!(store.commit_session(&s, 1, &events).expect("commit"), Some(2));
    assert_eq!(kinds(&store), vec!["session.payment_method_set"]);
    let entry = &store.outbox(0, 1).expect("outbox")[0];
    assert_eq!((entry.session_id, &entry.event), (s.id, &events[0]));

    // Lost race: neither the session nor its event.
    let mut stale = s.clone();
    stale.status = SessionStatus::Expired;
    assert_eq!(store.commit_session(&stale, 1, &[new_event("session.expired")]).expect("stale"), None);
    assert_eq!(
        store.session(&s.id).expect("read").expect("present").value.status,
        SessionStatus::WaitingPayment
    );
    assert_eq!(
        kinds(&store),
        vec!["session.payment_method_set"],
        "no event for a change that did not happen"
    );

    // A failing commit (no such session): nothing either.
    assert!(matches!(
        store.commit_session(&session(9), 1, &[new_event("session.processing")]),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(kinds(&store).len(), 1);

    // Through the read-modify-write helper: events with a change, none without.
    update_session_with_events(&store as &dyn Store, &s.id, |s| {
        s.status = SessionStatus::Processing;
        Ok::<_, ()>(Some(vec![new_event("session.processing")]))
    })
    .expect("update");
    update_session_with_events(&store as &dyn Store, &s.id, |_| Ok::<_, ()>(None)).expect("no-op");
    assert_eq!(kinds(&store), vec!["session.payment_method_set", "session.processing"]);
}

/// Check: outbox entries come back in commit order, page by sequence number, are removed when handled,
/// and survive reopening.
pub fn the_outbox_pages_in_commit_order_and_survives_reopening<B: Backend>(backend: &B) {
    let place = backend.place();
    {
        let store = backend.open(&place);
        let mut s = session(1);
        store.insert_session(&s).expect("insert");
        for (version, kind) in [(1, "a"), (2, "b"), (3, "c")] {
            s.created_at = version; // any change
            let events = [new_event(kind), new_event(&format!("{kind}2"))];
            assert_eq!(store.commit_session(&s, version, &events).expect("commit"), Some(version + 1));
        }
        assert_eq!(kinds(&store), vec!["a", "a2", "b", "b2", "c", "c2"]);
        let first = store.outbox(0, 2).expect("page");
        assert_eq!(first.iter().map(|e| e.event.kind.as_str()).collect::<Vec<_>>(), vec!["a", "a2"]);
        assert!(first[0].seq < first[1].seq);
        let next = store.outbox(first[1].seq, 2).expect("page");
        assert_eq!(next.iter().map(|e| e.event.kind.as_str()).collect::<Vec<_>>(), vec!["b", "b2"]);
        store.remove_outbox(first[0].seq).expect("remove");
        store.remove_outbox(next[0].seq).expect("remove");
        assert!(store.outbox(u64::MAX, 10).expect("past the end").is_empty());
    }
    let store = backend.open(&place);
    assert_eq!(kinds(&store), vec!["a2", "b2", "c", "c2"], "handled entries stay removed after reopening");
}

fn endpoint(id: &str) -> WebhookEndpoint {
    WebhookEndpoint {
        id: id.into(),
        url: format!("https://example.com/{id}"),
        events: vec!["*".into()],
        description: None,
        secret: relayer_util::Secret::new("whsec_x"),
        created_at: 1,
        disabled: None,
    }
}

fn delivery(endpoint_id: &str, event_id: &str, created_ms: u64) -> EventDelivery {
    EventDelivery {
        endpoint_id: endpoint_id.into(),
        event_id: event_id.into(),
        event_type: "session.succeeded".into(),
        created_ms,
        body: "{}".into(),
        state: DeliveryState::Pending { next_attempt_ms: created_ms },
        attempts: vec![],
    }
}

/// Check: an outbox entry becomes deliveries and leaves the outbox in one commit, only for endpoints that
/// still exist; deliveries list newest first per endpoint, pending ones survive reopening, finished ones
/// are pruned by age, and deleting an endpoint takes its deliveries (and refuses later writes to them).
pub fn events_fan_out_once_to_existing_endpoints_and_deliveries_follow_them<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    for id in ["a", "b"] {
        store.put_webhook(&endpoint(id)).expect("endpoint");
    }
    let s = session(1);
    store.insert_session(&s).expect("insert");
    let changed = Session { status: SessionStatus::WaitingPayment, ..s.clone() };
    store.commit_session(&changed, 1, &[new_event("session.payment_method_set")]).expect("commit");
    let seq = store.outbox(0, 10).expect("outbox")[0].seq;
    // "gone" was deleted before the fan-out committed: it gets nothing.
    let fanned = [delivery("a", "e1", 10), delivery("b", "e1", 10), delivery("gone", "e1", 10)];
    store.fan_out(seq, &fanned).expect("fan out");
    assert!(store.outbox(0, 10).expect("outbox").is_empty(), "the entry left the outbox");
    assert!(store.deliveries("gone", 10).expect("deliveries").is_empty());
    store.put_delivery(&delivery("a", "e2", 20)).expect("second");
    let listed: Vec<String> =
        store.deliveries("a", 10).expect("list").into_iter().map(|d| d.event_id).collect();
    assert_eq!(listed, ["e2", "e1"], "newest first");
    assert!(!store.put_delivery(&delivery("gone", "e3", 30)).expect("refused"), "no endpoint, no record");

    let done = EventDelivery { state: DeliveryState::Delivered { at_ms: 11 }, ..delivery("a", "e1", 10) };
    store.put_delivery(&done).expect("finished");
    drop(store);
    let store = backend.open(&place);
    let mut pending: Vec<(String, String)> = store
        .pending_deliveries()
        .expect("pending")
        .into_iter()
        .map(|d| (d.endpoint_id, d.event_id))
        .collect();
    pending.sort();
    assert_eq!(pending, [("a".into(), "e2".into()), ("b".into(), "e1".into())]);
    assert_eq!(store.prune_deliveries(15).expect("prune"), 1, "only finished deliveries older than the cut");
    assert_eq!(store.deliveries("a", 10).expect("list").len(), 1);
    assert!(store.delete_webhook("b").expect("delete"));
    assert!(!store.delete_webhook("b").expect("again"));
    assert!(store.deliveries("b", 10).expect("list").is_empty(), "deliveries went with their endpoint");
    assert_eq!(store.webhooks().expect("endpoints").len(), 1);
}

/// Check: the first creation under a key stores the session (or endpoint) and the record together; later
/// ones with the key get the record back and create nothing, until the record is older than the
/// validity window; pruning forgets old records.
pub fn an_idempotency_key_creates_once_and_then_returns_its_record<B: Backend>(backend: &B) {
    let place = backend.place();
    let store = backend.open(&place);
    let record = |key: &str, created_at| IdempotencyRecord {
        key: key.into(),
        request_sha256: "h".into(),
        status: 201,
        body: format!("{{\"key\":\"{key}\"}}"),
        created_at,
    };
    assert_eq!(
        store.create_idempotent(Creation::Session(&session(1)), &record("k", 100), 50).expect("first"),
        None
    );
    let again =
        store.create_idempotent(Creation::Session(&session(2)), &record("k", 101), 50).expect("again");
    assert_eq!(again, Some(record("k", 100)), "the first record comes back");
    assert!(store.session(&session(2).id).expect("read").is_none(), "the replay created nothing");
    assert!(store.session(&session(1).id).expect("read").is_some());
    // Past the window the key is free again.
    assert_eq!(
        store.create_idempotent(Creation::Session(&session(3)), &record("k", 300), 200).expect("later"),
        None
    );
    assert_eq!(store.idempotency("k").expect("read"), Some(record("k", 300)));
    assert_eq!(
        store.create_idempotent(Creation::Webhook(&endpoint("w")), &record("w", 100), 50).expect("hook"),
        None
    );
    assert_eq!(store.webhooks().expect("endpoints").len(), 1);
    drop(store);
    let store = backend.open(&place);
    assert_eq!(store.prune_idempotency(200).expect("prune"), 1);
    assert_eq!(store.idempotency("w").expect("read"), None);
    assert!(store.idempotency("k").expect("read").is_some());
}
