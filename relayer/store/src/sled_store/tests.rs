use super::*;
use crate::conformance::{deposit, session};
use relayer_types::{Address, EventId, U256};

/// Writes sessions the way the build before the indexes did: only the `sessions` tree, no `meta`.
fn write_schema_1(path: &Path, sessions: &[Session]) {
    let db = sled::open(path).expect("open raw");
    let tree = db.open_tree("sessions").expect("tree");
    for s in sessions {
        tree.insert(s.id.as_bytes(), encode(&Versioned { version: 3, value: s }).expect("encode"))
            .expect("insert");
    }
    db.flush().expect("flush");
}

#[test]
fn a_store_written_before_the_indexes_is_indexed_once_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let waiting = Session { status: SessionStatus::WaitingPayment, expires_at: 77, ..session(1) };
    let mut paid = Session { status: SessionStatus::Processing, ..session(2) };
    paid.deposits.push(deposit(8453, 12));
    write_schema_1(dir.path(), &[waiting.clone(), paid.clone()]);

    let store = SledDb::open(dir.path(), Duration::from_secs(10)).expect("open migrates");
    assert_eq!(store.expiring_sessions().expect("expiring"), vec![(77, waiting.id)]);
    assert_eq!(store.unsettled_sessions().expect("unsettled"), vec![paid.clone()]);
    assert_eq!(store.sessions_touched_since(8453, 12).expect("touched"), vec![paid.clone()]);
    let counts = store.status_counts().expect("counts");
    assert_eq!(counts.get(&SessionStatus::WaitingPayment), Some(&1));
    assert_eq!(counts.get(&SessionStatus::Processing), Some(&1));
    assert_eq!(store.session(&paid.id).expect("read").expect("present").version, 3, "data untouched");
    drop(store);

    // Reopening does not index twice.
    let store = SledDb::open(dir.path(), Duration::from_secs(10)).expect("reopen");
    assert_eq!(store.status_counts().expect("counts").get(&SessionStatus::Processing), Some(&1));
}

#[test]
fn a_schema_2_store_opens_unchanged_and_is_marked_current() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paid = Session { status: SessionStatus::Processing, ..session(2) };
    {
        // What the previous build left: records without a schema number, `meta` at 2.
        let db = sled::open(dir.path()).expect("open raw");
        let tree = db.open_tree("sessions").expect("tree");
        tree.insert(paid.id.as_bytes(), encode(&Versioned { version: 4, value: &paid }).expect("encode"))
            .expect("insert");
        db.open_tree("meta").expect("meta").insert(SCHEMA_KEY, &2u32.to_be_bytes()[..]).expect("write");
        // Schema 2 kept one unsigned count per status.
        db.open_tree("counts").expect("counts").insert("processing", &1u64.to_be_bytes()[..]).expect("count");
        db.flush().expect("flush");
    }
    let store = SledDb::open(dir.path(), Duration::from_secs(10)).expect("opens");
    let read = store.session(&paid.id).expect("read").expect("present");
    assert_eq!((read.version, read.value.clone()), (4, paid.clone()));
    assert_eq!(store.status_counts().expect("counts").get(&SessionStatus::Processing), Some(&1));
    // The next transition moves the migrated count, whatever shard the session's id picks.
    let done = Session { status: SessionStatus::Succeeded, ..paid };
    assert!(store.replace_session(&done, 4).expect("replace").is_some());
    let counts = store.status_counts().expect("counts");
    assert_eq!(
        (counts.get(&SessionStatus::Processing), counts.get(&SessionStatus::Succeeded)),
        (None, Some(&1))
    );
    let schema = store.meta.get(SCHEMA_KEY).expect("meta").expect("present");
    assert_eq!(u32::from_be_bytes(fixed(&schema, "schema").expect("4 bytes")), SCHEMA);
}

/// Schema 3 indexed a session as unsettled while it had more deposits than movements. A fronted
/// session has two deposits (on the source chain, then the bridged funds on the destination) against
/// a bridging and the fronting's own `Settled`: out of the index, so a restart before the repayment
/// forgot the relayer's own money at the receiver. Opened by this build, it is indexed again.
#[test]
fn a_schema_3_store_reindexes_a_fronted_session_still_holding_the_repayment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut fronted = Session { status: SessionStatus::Succeeded, ..session(6) };
    let usdc = fronted.destination.token.address;
    let (source, dest) = (42161, fronted.destination.token.chain_id);
    fronted.deposits.push(deposit(source, 5));
    fronted.bridges.push(bridging(source, dest, usdc));
    let front = deposit(dest, 20).event;
    fronted.frontings.push(relayer_types::Fronting {
        event: front,
        relayer: Address::repeat_byte(0xee).into(),
        amount: U256::from(10_000_000u64),
        still_owed: None,
    });
    fronted.settlements.push(relayer_types::Settlement {
        event: EventId { log_index: 1, ..front },
        token: usdc,
        outcome: relayer_types::Outcome::Delivered,
        amount: U256::from(10_000_000u64),
        delivered: U256::from(10_000_000u64),
        refunded: U256::ZERO,
    });
    fronted.deposits.push(deposit(dest, 30)); // the bridged funds: the relayer's repayment
    assert!(fronted.holds_funds());
    {
        let db = sled::open(dir.path()).expect("open raw");
        let record = encode(&Record { version: 7, schema: 3, value: &fronted }).expect("encode");
        db.open_tree("sessions").expect("tree").insert(fronted.id.as_bytes(), record).expect("insert");
        db.open_tree("meta").expect("meta").insert(SCHEMA_KEY, &3u32.to_be_bytes()[..]).expect("write");
        db.flush().expect("flush");
    }
    let store = SledDb::open(dir.path(), Duration::from_secs(10)).expect("opens");
    assert_eq!(store.unsettled_sessions().expect("unsettled"), vec![fronted.clone()]);
    let schema = store.meta.get(SCHEMA_KEY).expect("meta").expect("present");
    assert_eq!(u32::from_be_bytes(fixed(&schema, "schema").expect("4 bytes")), SCHEMA);
}

/// 10.00 of `token` bridged from `source` (block 6) towards `dest`.
fn bridging(source: u64, dest: u64, token: ChainAddress) -> relayer_types::Bridging {
    relayer_types::Bridging {
        event: EventId { log_index: 1, ..deposit(source, 6).event },
        token,
        adapter: Address::repeat_byte(0xad).into(),
        amount: U256::from(10_000_000u64),
        to_chain_id: Some(dest),
        to_receiver: None,
        home: false,
    }
}

/// Schema 5 indexed as unsettled only sessions whose receivers hold something: a session whose funds
/// were bridged away (its receiver empty) and have not arrived is indexed too once a store of schema 5 is
/// opened, whatever its status (processing; waiting, a third party having bridged a partial payment;
/// succeeded, a second payment bridged after it), so a restart announces the transfer to the
/// destination's family; a bridging sent home, or one whose funds arrived, is not.
#[test]
fn a_schema_5_store_indexes_bridged_funds_on_their_way_when_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (source, dest) = (42161u64, relayer_types::SOLANA_CHAIN_ID);
    let mut on_its_way = session(0);
    on_its_way.status = SessionStatus::Processing;
    on_its_way.deposits.push(deposit(source, 5));
    on_its_way.bridges.push(bridging(source, dest, deposit(source, 5).token.address));
    // The bridged funds arrived at the receiver there, and were delivered.
    let delivered = |s: &mut relayer_types::Session| {
        let arrival = deposit(dest, 7);
        s.settlements.push(relayer_types::Settlement {
            event: EventId { log_index: 1, ..arrival.event },
            token: arrival.token.address,
            outcome: relayer_types::Outcome::Delivered,
            amount: arrival.amount,
            delivered: arrival.amount,
            refunded: U256::ZERO,
        });
        s.deposits.push(arrival);
    };
    let with = |n: u8, change: &dyn Fn(&mut relayer_types::Session)| {
        let mut s = on_its_way.clone();
        s.id = SessionId::from_bytes([n; 16]);
        change(&mut s);
        s
    };
    let waiting = with(0x0a, &|s| s.status = SessionStatus::WaitingPayment);
    let paid_again = with(0x0b, &|s| {
        s.status = SessionStatus::Succeeded;
        delivered(s); // the first payment
        s.deposits.push(deposit(source, 8));
        s.bridges.push(bridging(source, dest, deposit(source, 8).token.address));
    });
    let sent_home = with(0x0e, &|s| s.bridges[0].home = true);
    let arrived = with(0x0f, &|s| {
        s.status = SessionStatus::Succeeded;
        delivered(s);
    });
    let all = [&on_its_way, &waiting, &paid_again, &sent_home, &arrived];
    for s in all {
        assert!(!s.holds_funds(), "the receiver bridged everything away");
    }
    {
        let db = sled::open(dir.path()).expect("open raw");
        for s in all {
            let record = encode(&Record { version: 3, schema: 5, value: s }).expect("encode");
            db.open_tree("sessions").expect("tree").insert(s.id.as_bytes(), record).expect("insert");
        }
        db.open_tree("meta").expect("meta").insert(SCHEMA_KEY, &5u32.to_be_bytes()[..]).expect("write");
        db.flush().expect("flush");
    }
    let store = SledDb::open(dir.path(), Duration::from_secs(10)).expect("opens");
    let mut found: Vec<SessionId> =
        store.unsettled_sessions().expect("unsettled").iter().map(|s| s.id).collect();
    found.sort_by_key(|id| *id.as_bytes());
    assert_eq!(found, vec![on_its_way.id, waiting.id, paid_again.id]);
    let schema = store.meta.get(SCHEMA_KEY).expect("meta").expect("present");
    assert_eq!(u32::from_be_bytes(fixed(&schema, "schema").expect("4 bytes")), SCHEMA);
}

/// Schema 4 keyed the receiver index by the address's bytes alone, the family told by length. A store
/// written that way (a half-migrated one too: a crash after some keys were rewritten) opens with every
/// receiver found, keyed by family, and an EVM and a Tron receiver of the same 20 bytes stay apart.
#[test]
fn a_schema_4_receiver_index_is_keyed_by_family_when_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let evm = ChainAddress::Evm(Address::repeat_byte(0x41));
    let tron = ChainAddress::Tron(Address::repeat_byte(0x41));
    let solana = ChainAddress::Solana([0x41; 32]);
    let already = ChainAddress::Evm(Address::repeat_byte(7));
    let ids = [1u8, 2, 3, 4].map(|b| SessionId::from_bytes([b; 16]));
    {
        let db = sled::open(dir.path()).expect("open raw");
        let receivers = db.open_tree("receivers").expect("tree");
        for (receiver, id) in [evm, tron, solana].iter().zip(&ids) {
            receivers.insert(receiver.legacy_key(), &id.as_bytes()[..]).expect("insert");
        }
        // Rewritten before a crash: the migration must leave it and not misread it.
        receivers.insert(already.key(), &ids[3].as_bytes()[..]).expect("insert");
        // Not brand new: a session (4 → 6 reads every session again to rebuild the unsettled index).
        let record = encode(&Record { version: 1, schema: 4, value: &session(9) }).expect("encode");
        db.open_tree("sessions").expect("sessions").insert(session(9).id.as_bytes(), record).expect("insert");
        db.open_tree("meta").expect("meta").insert(SCHEMA_KEY, &4u32.to_be_bytes()[..]).expect("write");
        db.flush().expect("flush");
    }
    let store = SledDb::open(dir.path(), Duration::from_secs(10)).expect("opens");
    let mut found = store.receivers().expect("receivers");
    found.sort_by_key(|(_, id)| *id.as_bytes());
    assert_eq!(found, vec![(evm, ids[0]), (tron, ids[1]), (solana, ids[2]), (already, ids[3])]);
    for (receiver, id) in [(evm, ids[0]), (tron, ids[1]), (solana, ids[2]), (already, ids[3])] {
        assert_eq!(store.session_by_receiver(receiver).expect("lookup"), Some(id), "{receiver}");
    }
    assert!(store.receivers.iter().keys().all(|k| ChainAddress::from_key(&k.expect("key")).is_ok()));
    let schema = store.meta.get(SCHEMA_KEY).expect("meta").expect("present");
    assert_eq!(u32::from_be_bytes(fixed(&schema, "schema").expect("4 bytes")), SCHEMA);
}

#[test]
fn a_brand_new_store_starts_at_the_current_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledDb::open(dir.path(), Duration::from_secs(10)).expect("create");
    let schema = store.meta.get(SCHEMA_KEY).expect("meta").expect("written");
    assert_eq!(u32::from_be_bytes(fixed(&schema, "schema").expect("4 bytes")), SCHEMA);
}

#[test]
fn a_record_from_a_newer_build_is_refused_not_misread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledDb::open(dir.path(), Duration::from_secs(10)).expect("create");
    let s = session(5);
    let newer = encode(&Record { version: 1, schema: SCHEMA + 1, value: &s }).expect("encode");
    store.sessions.insert(s.id.as_bytes(), newer).expect("insert");
    let error = store.session(&s.id).expect_err("must refuse");
    assert!(
        matches!(error, StoreError::Schema { found, supported: SCHEMA } if found == SCHEMA + 1),
        "{error:?}"
    );
}

#[test]
fn opening_waits_for_a_lock_that_is_released_in_time_and_names_one_that_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = sled::open(dir.path()).expect("first handle");
    let Err(error) = SledDb::open(dir.path(), Duration::from_millis(200)) else { panic!("the lock is held") };
    assert!(relayer_util::causes(&error).contains("could not acquire lock"), "{error}");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    SledDb::open(dir.path(), Duration::from_secs(10)).expect("waits for the release");
    release.join().expect("release");
}

#[test]
fn a_store_from_a_newer_build_is_refused_with_the_versions_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(SledDb::open(dir.path(), Duration::from_secs(10)).expect("create"));
    {
        let db = sled::open(dir.path()).expect("open raw");
        db.open_tree("meta").expect("meta").insert(SCHEMA_KEY, &9u32.to_be_bytes()[..]).expect("write");
        db.flush().expect("flush");
    }
    let error = SledDb::open(dir.path(), Duration::from_secs(10)).expect_err("must refuse");
    assert!(matches!(error, StoreError::Schema { found: 9, supported: SCHEMA }), "{error:?}");
    assert!(error.to_string().contains("schema version 9, newer than this relayer supports (6)"), "{error}");
    assert!(!error.can_retry());
}
