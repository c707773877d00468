//! The embedded backend: one sled tree per entity, JSON values wrapped in a version envelope.
//! Keys: sessions by id bytes; receivers by address bytes (20 for EVM, 21 for Tron, 32 for Solana); cursors and block hashes by chain id (big
//! endian) so scans come out in block order; chain families' send records by chain ‖ the family's key (EVM: signer ‖ nonce).
//!
//! Session indexes, written in the same transaction as the session itself so they can never disagree
//! with it: `expiring` (expires_at ‖ id) for sessions that can still expire, `unsettled` (id) for
//! sessions whose receivers still hold something by their events, `touched` (chain ‖ block ‖ id) for every block a session has
//! a deposit or settlement in, and `counts` (status → count). `meta` holds the schema version; a store
//! written before the indexes existed (version 1, no `meta`) is indexed once when opened.

use std::{
    collections::{BTreeSet, HashMap},
    io::ErrorKind,
    path::Path,
    time::{Duration, Instant},
};

use relayer_types::{B256, ChainAddress, Session, SessionId, SessionStatus};
use serde::{Serialize, de::DeserializeOwned};
use sled::{
    Transactional,
    transaction::{ConflictableTransactionError, TransactionError, TransactionalTree},
};

use crate::{
    BoxFuture, ChainStore, Creation, Cursor, DeliveryState, EventDelivery, IdempotencyRecord, NewEvent,
    OutboxEntry, Store, StoreError, Versioned, WebhookEndpoint, WebhookStore, flusher::Flusher,
};

/// The schema this build writes: 2 added the session indexes and `meta`; 3 added family-neutral
/// addresses and transaction ids (`tron:…`, `solana:…`; EVM values keep their plain `0x…` form, so
/// records of schema 2 read unchanged and 2 → 3 rewrites nothing) and a schema number on every session
/// record, so a build that cannot read a record says so instead of misreading it; 4 indexes a session as
/// `unsettled` while its receivers hold something by its events ([`Session::holds_funds`]), not while
/// it has more deposits than movements (a fronted session, or junk-token refunds, fell out of that count
/// with the relayer's own repayment still at the receiver), rebuilt once when opened; 5 keys the
/// receiver index by family tag and address ([`ChainAddress::key`]) instead of telling families apart
/// by address length (which a new family with 20- or 32-byte addresses would collide with), rewritten
/// once when opened; 6 indexes as `unsettled` also a processing session whose bridged funds are on their
/// way ([`Session::unsettled`]: a restart announces them to the destination's family, which may have to
/// deliver them), rebuilt once when opened.
pub(crate) const SCHEMA: u32 = 6;

/// A session record: its compare-and-swap version, the schema it was written with, the session.
#[derive(Serialize, serde::Deserialize)]
struct Record<T> {
    version: u64,
    /// Records written before schema 3 carry none; their encoding is schema 2's.
    #[serde(default = "schema_2")]
    schema: u32,
    value: T,
}

const fn schema_2() -> u32 {
    2
}

pub(crate) fn encode_session(version: u64, session: &Session) -> Result<Vec<u8>, StoreError> {
    encode(&Record { version, schema: SCHEMA, value: session })
}

pub(crate) fn decode_session(bytes: &[u8]) -> Result<Versioned<Session>, StoreError> {
    let record: Record<Session> = decode(bytes)?;
    if record.schema > SCHEMA {
        return Err(StoreError::Schema { found: record.schema, supported: SCHEMA });
    }
    Ok(Versioned { version: record.version, value: record.value })
}
const SCHEMA_KEY: &[u8] = b"schema";

/// One open sled database: the [`Store`] itself. [`crate::SledStore`] wraps it to reopen it after an
/// I/O failure (sled keeps failing after one until reopened).
#[derive(Debug)]
pub(crate) struct SledDb {
    flusher: std::sync::Arc<Flusher>,
    sessions: sled::Tree,
    receivers: sled::Tree,
    cursors: sled::Tree,
    blocks: sled::Tree,
    intents: sled::Tree,
    expiring: sled::Tree,
    unsettled: sled::Tree,
    touched: sled::Tree,
    counts: sled::Tree,
    outbox: sled::Tree,
    meta: sled::Tree,
    webhooks: sled::Tree,
    deliveries: sled::Tree,
    idempotency: sled::Tree,
    watch_marks: sled::Tree,
    /// A chain family's own durable records, by chain id ‖ key ([`ChainStore::records`]).
    family_records: sled::Tree,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(crate::BackendError::caused("sled", e))
}

fn transaction(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => backend(e),
    }
}

/// The index entries one version of a session owns.
struct IndexEntries {
    status: SessionStatus,
    expiring: Option<Vec<u8>>,
    unsettled: bool,
    touched: BTreeSet<Vec<u8>>,
}

impl IndexEntries {
    fn of(session: &Session) -> Self {
        let id = session.id.as_bytes();
        let expiring =
            session.status.can_expire().then(|| [&session.expires_at.to_be_bytes()[..], &id[..]].concat());
        let touched = touched_blocks(session)
            .into_iter()
            .map(|(chain, block)| [&block_key(chain, block)[..], &id[..]].concat())
            .collect();
        Self { status: session.status, expiring, unsettled: session.unsettled(), touched }
    }
}

/// Every (chain id, block number) a session has a chain event in: what a reorg of that block may touch.
pub(crate) fn touched_blocks(session: &Session) -> BTreeSet<(u64, u64)> {
    (session.deposits.iter().map(|d| d.event))
        .chain(session.settlements.iter().map(|x| x.event))
        .chain(session.bridges.iter().map(|b| b.event))
        .chain(session.frontings.iter().map(|f| f.event))
        .map(|e| (e.chain_id, e.block_number))
        .collect()
}

/// The index trees inside one transaction.
struct Indexes<'a> {
    expiring: &'a TransactionalTree,
    unsettled: &'a TransactionalTree,
    touched: &'a TransactionalTree,
    counts: &'a TransactionalTree,
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

impl Indexes<'_> {
    /// Moves the indexes of session `id` from `old` (none for a new session) to `new`.
    fn update(&self, id: &SessionId, old: Option<&IndexEntries>, new: &IndexEntries) -> TxResult<()> {
        if let Some(old) = old {
            if let Some(key) = &old.expiring {
                self.expiring.remove(key.as_slice())?;
            }
            for key in old.touched.difference(&new.touched) {
                self.touched.remove(key.as_slice())?;
            }
            if old.status != new.status {
                count(self.counts, id, old.status, -1)?;
            }
        }
        if let Some(key) = &new.expiring {
            self.expiring.insert(key.as_slice(), &[][..])?;
        }
        if new.unsettled {
            self.unsettled.insert(&id.as_bytes()[..], &[][..])?;
        } else {
            self.unsettled.remove(&id.as_bytes()[..])?;
        }
        for key in &new.touched {
            self.touched.insert(key.as_slice(), &[][..])?;
        }
        if old.is_none_or(|old| old.status != new.status) {
            count(self.counts, id, new.status, 1)?;
        }
        Ok(())
    }
}

/// Status counts are kept in [`COUNT_SHARDS`] signed shards per status, the shard chosen by the
/// session id: concurrent writes of different sessions rarely touch the same key (one hot key made
/// every concurrent creation conflict and retry), and a session's +1 and −1 always meet in one shard.
const COUNT_SHARDS: u8 = 16;

fn count_key(status: SessionStatus, shard: u8) -> Vec<u8> {
    format!("{}/{shard:02}", status.as_str()).into_bytes()
}

fn count(counts: &TransactionalTree, id: &SessionId, status: SessionStatus, delta: i64) -> TxResult<()> {
    let key = count_key(status, id.as_bytes()[0] % COUNT_SHARDS);
    let current = match counts.get(&key)? {
        Some(v) => i64::from_be_bytes(fixed(&v, "status count").map_err(abort)?),
        None => 0,
    };
    counts.insert(key, &current.saturating_add(delta).to_be_bytes()[..])?;
    Ok(())
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::codec("a value to store", Some(e)))
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::codec("a stored record", Some(e)))
}

/// `bytes` as exactly `N` bytes, or an error naming the index or value (`what`) that is malformed.
fn fixed<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], StoreError> {
    bytes.try_into().map_err(|_| StoreError::codec(format!("malformed {what}"), None))
}

fn block_key(chain_id: u64, number: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&chain_id.to_be_bytes());
    key[8..].copy_from_slice(&number.to_be_bytes());
    key
}

fn send_key(chain_id: u64, key: &[u8]) -> Vec<u8> {
    [&chain_id.to_be_bytes()[..], key].concat()
}

/// Inserts a new session without chain events (and its expiry and count entries) in a transaction.
fn insert_new(
    sessions: &TransactionalTree,
    expiring: &TransactionalTree,
    counts: &TransactionalTree,
    session: &Session,
    entries: &IndexEntries,
) -> TxResult<()> {
    let key = session.id.as_bytes();
    if sessions.get(&key[..])?.is_some() {
        return Err(abort(StoreError::AlreadyExists(session.id)));
    }
    sessions.insert(&key[..], encode_session(1, session).map_err(abort)?)?;
    if let Some(k) = &entries.expiring {
        expiring.insert(k.as_slice(), &[][..])?;
    }
    count(counts, &session.id, entries.status, 1)
}

/// Deliveries sort by endpoint, then by the event's creation time: `endpoint id ‖ 0 ‖ created ms ‖ event id`.
fn delivery_key(d: &EventDelivery) -> Vec<u8> {
    [delivery_prefix(&d.endpoint_id).as_slice(), &d.created_ms.to_be_bytes(), d.event_id.as_bytes()].concat()
}

fn delivery_prefix(endpoint_id: &str) -> Vec<u8> {
    [endpoint_id.as_bytes(), &[0]].concat()
}

/// Whether opening failed only because another handle still holds the folder's lock. sled 0.34 wraps the
/// `WouldBlock` of its `flock` into an `ErrorKind::Other` error whose text is all that is left of it, so
/// the kind alone never matches (a reopen then failed at once instead of waiting).
fn is_lock_contention(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::WouldBlock || e.to_string().starts_with("could not acquire lock on")
}

impl SledDb {
    /// Opens (or creates) the store in the folder `path`. sled releases its file lock from a
    /// background thread after the previous handle is dropped, so a prompt reopen (a restart in the
    /// same process, or right after the previous process exited) waits briefly for the lock.
    pub(crate) fn open(path: impl AsRef<Path>, lock_wait: Duration) -> Result<Self, StoreError> {
        let started = Instant::now();
        let db = loop {
            match sled::open(path.as_ref()) {
                Err(sled::Error::Io(e)) if is_lock_contention(&e) && started.elapsed() < lock_wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => break other.map_err(backend)?,
            }
        };
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        let store = Self {
            sessions: tree("sessions")?,
            receivers: tree("receivers")?,
            cursors: tree("cursors")?,
            blocks: tree("blocks")?,
            intents: tree("intents")?,
            expiring: tree("expiring")?,
            unsettled: tree("unsettled")?,
            touched: tree("touched")?,
            counts: tree("counts")?,
            outbox: tree("outbox")?,
            meta: tree("meta")?,
            webhooks: tree("webhooks")?,
            deliveries: tree("deliveries")?,
            idempotency: tree("idempotency")?,
            watch_marks: tree("watch_marks")?,
            family_records: tree("family_records")?,
            flusher: std::sync::Arc::new(Flusher::start(db)?),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Runs `f` over the index trees in one transaction.
    fn index_transaction(&self, f: impl Fn(&Indexes<'_>) -> TxResult<()>) -> Result<(), StoreError> {
        (&self.expiring, &self.unsettled, &self.touched, &self.counts)
            .transaction(|(expiring, unsettled, touched, counts)| {
                f(&Indexes { expiring, unsettled, touched, counts })
            })
            .map_err(transaction)
    }

    /// Writes `session`, moves its indexes and appends `events` to the outbox, in one transaction.
    /// `expected_version` `None` inserts (failing if the id exists); `Some(v)` replaces version `v` and
    /// answers `None`, writing nothing, if another write came first.
    fn write_session(
        &self,
        session: &Session,
        expected_version: Option<u64>,
        events: &[NewEvent],
    ) -> Result<Option<u64>, StoreError> {
        let written = self.write_session_unflushed(session, expected_version, events)?;
        if written.is_some() {
            self.flush()?;
        }
        Ok(written)
    }

    /// Stores a new session without waiting for a flush. A new session holds no events, so only three
    /// trees take part (a transaction's cost grows with its trees).
    fn insert_unflushed(&self, session: &Session) -> Result<(), StoreError> {
        let entries = IndexEntries::of(session);
        if entries.unsettled || !entries.touched.is_empty() {
            // Created with chain events already (imports, tests): the general path.
            return self.write_session_unflushed(session, None, &[]).map(drop);
        }
        (&self.sessions, &self.expiring, &self.counts)
            .transaction(|(sessions, expiring, counts)| {
                insert_new(sessions, expiring, counts, session, &entries)
            })
            .map_err(transaction)
    }

    fn write_session_unflushed(
        &self,
        session: &Session,
        expected_version: Option<u64>,
        events: &[NewEvent],
    ) -> Result<Option<u64>, StoreError> {
        let key = session.id.as_bytes();
        let new_entries = IndexEntries::of(session);
        let trees =
            (&self.sessions, &self.expiring, &self.unsettled, &self.touched, &self.counts, &self.outbox);
        trees
            .transaction(|(sessions, expiring, unsettled, touched, counts, outbox)| {
                let current = sessions.get(&key[..])?;
                let (version, old) = match (expected_version, current) {
                    (None, Some(_)) => return Err(abort(StoreError::AlreadyExists(session.id))),
                    (None, None) => (1, None),
                    (Some(_), None) => return Err(abort(StoreError::NotFound(session.id))),
                    (Some(expected), Some(bytes)) => {
                        let stored = decode_session(&bytes).map_err(abort)?;
                        if stored.version != expected {
                            return Ok(None);
                        }
                        (expected + 1, Some(IndexEntries::of(&stored.value)))
                    }
                };
                sessions.insert(&key[..], encode_session(version, session).map_err(abort)?)?;
                let indexes = Indexes { expiring, unsettled, touched, counts };
                indexes.update(&session.id, old.as_ref(), &new_entries)?;
                for event in events {
                    // Big-endian ids sort in commit order; sled's id generator never repeats one. It
                    // starts at 0, and sequence numbers start at 1 (`outbox(0, ..)` reads from the start).
                    let seq = outbox.generate_id()? + 1;
                    let entry = OutboxEntry { seq, session_id: session.id, event: event.clone() };
                    outbox.insert(&seq.to_be_bytes()[..], encode(&entry).map_err(abort)?)?;
                }
                Ok(Some(version))
            })
            .map_err(transaction)
    }

    fn sessions_by_ids(&self, ids: impl IntoIterator<Item = SessionId>) -> Result<Vec<Session>, StoreError> {
        let mut out = vec![];
        for id in ids {
            if let Some(v) = self.session(&id)? {
                out.push(v.value);
            }
        }
        Ok(out)
    }

    /// Removes, in one batch made durable, every entry of `tree` whose value `stale` says so of; how many.
    fn prune<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        stale: impl Fn(&T) -> bool,
    ) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut pruned = 0;
        for entry in tree.iter() {
            let (key, value) = entry.map_err(backend)?;
            if stale(&decode(&value)?) {
                batch.remove(key);
                pruned += 1;
            }
        }
        tree.apply_batch(batch).map_err(backend)?;
        self.flush()?;
        Ok(pruned)
    }

    /// Durability point of every write that matters; concurrent callers share one flush.
    fn flush(&self) -> Result<(), StoreError> {
        self.flusher.flush()
    }
}

impl Store for SledDb {
    fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.insert_unflushed(session)?;
        self.flush()
    }

    fn create_session<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>> {
        // Written now; durable once a flush that started after the write completes. The caller's task
        // waits for that without holding a runtime worker, and concurrent creations share the flush.
        let written = self.insert_unflushed(session).map(|()| self.flusher.durable());
        Box::pin(async move { written?.await })
    }

    fn probe(&self) -> Result<(), StoreError> {
        self.meta.insert(b"probe", &crate::unix_now_bytes()[..]).map_err(backend)?;
        self.flush()
    }

    fn session(&self, id: &SessionId) -> Result<Option<Versioned<Session>>, StoreError> {
        self.sessions.get(id.as_bytes()).map_err(backend)?.map(|v| decode_session(&v)).transpose()
    }

    fn replace_session(&self, session: &Session, expected_version: u64) -> Result<Option<u64>, StoreError> {
        self.write_session(session, Some(expected_version), &[])
    }

    fn commit_session(
        &self,
        session: &Session,
        expected_version: u64,
        events: &[NewEvent],
    ) -> Result<Option<u64>, StoreError> {
        self.write_session(session, Some(expected_version), events)
    }

    fn outbox(&self, after_seq: u64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let Some(from) = after_seq.checked_add(1) else {
            return Ok(vec![]);
        };
        self.outbox
            .range(from.to_be_bytes()..)
            .take(limit)
            .map(|entry| decode(&entry.map_err(backend)?.1))
            .collect()
    }

    fn remove_outbox(&self, seq: u64) -> Result<(), StoreError> {
        self.outbox.remove(seq.to_be_bytes()).map_err(backend)?;
        self.flush()
    }

    fn scan_sessions(&self, visit: &mut dyn FnMut(Session)) -> Result<(), StoreError> {
        for entry in self.sessions.iter() {
            let (_, value) = entry.map_err(backend)?;
            visit(decode_session(&value)?.value);
        }
        Ok(())
    }

    fn expiring_sessions(&self) -> Result<Vec<(u64, SessionId)>, StoreError> {
        self.expiring
            .iter()
            .map(|entry| {
                let (key, _) = entry.map_err(backend)?;
                let entry: [u8; 24] = fixed(&key, "expiry index entry")?;
                let (at, id) = entry.split_at(8);
                Ok((
                    u64::from_be_bytes(fixed(at, "expiry")?),
                    SessionId::from_bytes(fixed(id, "session id")?),
                ))
            })
            .collect()
    }

    fn unsettled_sessions(&self) -> Result<Vec<Session>, StoreError> {
        let ids = self
            .unsettled
            .iter()
            .map(|entry| {
                let (key, _) = entry.map_err(backend)?;
                Ok(SessionId::from_bytes(fixed(&key, "unsettled index entry")?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.sessions_by_ids(ids)
    }

    fn sessions_touched_since(&self, chain_id: u64, from_block: u64) -> Result<Vec<Session>, StoreError> {
        let mut ids = BTreeSet::new();
        let chain = chain_id.to_be_bytes();
        for entry in self.touched.range(block_key(chain_id, from_block)..) {
            let (key, _) = entry.map_err(backend)?;
            if !key.starts_with(&chain) {
                break; // past this chain's keys
            }
            let entry: [u8; 32] = fixed(&key, "block index entry")?;
            ids.insert(fixed::<16>(&entry[16..], "session id")?);
        }
        self.sessions_by_ids(ids.into_iter().map(SessionId::from_bytes))
    }

    fn status_counts(&self) -> Result<HashMap<SessionStatus, u64>, StoreError> {
        let mut counts = HashMap::new();
        for status in SessionStatus::ALL {
            let mut total = 0i64;
            for shard in 0..COUNT_SHARDS {
                if let Some(v) = self.counts.get(count_key(status, shard)).map_err(backend)? {
                    total = total.saturating_add(i64::from_be_bytes(fixed(&v, "status count")?));
                }
            }
            if total != 0 {
                counts.insert(status, u64::try_from(total).unwrap_or_default());
            }
        }
        Ok(counts)
    }

    fn receivers(&self) -> Result<Vec<(ChainAddress, SessionId)>, StoreError> {
        self.receivers
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(backend)?;
                let receiver = ChainAddress::from_key(&key)
                    .map_err(|e| StoreError::codec(format!("malformed receiver index key: {e}"), None))?;
                Ok((receiver, SessionId::from_bytes(fixed(&value, "receiver index entry")?)))
            })
            .collect()
    }

    fn index_receiver(&self, receiver: ChainAddress, id: &SessionId) -> Result<(), StoreError> {
        self.receivers.insert(receiver.key(), &id.as_bytes()[..]).map_err(backend)?;
        self.flush()
    }

    fn session_by_receiver(&self, receiver: ChainAddress) -> Result<Option<SessionId>, StoreError> {
        let Some(bytes) = self.receivers.get(receiver.key()).map_err(backend)? else {
            return Ok(None);
        };
        Ok(Some(SessionId::from_bytes(fixed(&bytes, "receiver index entry")?)))
    }
}

impl ChainStore for SledDb {
    fn cursor(&self, chain_id: u64) -> Result<Option<Cursor>, StoreError> {
        self.cursors.get(chain_id.to_be_bytes()).map_err(backend)?.map(|v| decode(&v)).transpose()
    }

    fn set_cursor(&self, chain_id: u64, cursor: Cursor, blocks: &[(u64, B256)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (number, hash) in blocks {
            batch.insert(&block_key(chain_id, *number)[..], hash.as_slice());
        }
        // After a rollback, hashes above the cursor belong to the abandoned branch.
        for entry in self.blocks.range(block_key(chain_id, cursor.block + 1)..=block_key(chain_id, u64::MAX))
        {
            let (key, _) = entry.map_err(backend)?;
            if !blocks.iter().any(|(n, _)| block_key(chain_id, *n) == key.as_ref()) {
                batch.remove(key);
            }
        }
        self.blocks.apply_batch(batch).map_err(backend)?;
        self.cursors.insert(chain_id.to_be_bytes(), encode(&cursor)?).map_err(backend)?;
        self.flush()
    }

    fn block_hash(&self, chain_id: u64, number: u64) -> Result<Option<B256>, StoreError> {
        Ok(self.blocks.get(block_key(chain_id, number)).map_err(backend)?.map(|v| B256::from_slice(&v)))
    }

    fn prune_block_hashes(&self, chain_id: u64, below: u64) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in self.blocks.range(block_key(chain_id, 0)..block_key(chain_id, below)) {
            batch.remove(entry.map_err(backend)?.0);
        }
        self.blocks.apply_batch(batch).map_err(backend)
    }

    fn put_send(&self, chain_id: u64, key: &[u8], record: &[u8]) -> Result<(), StoreError> {
        self.intents.insert(send_key(chain_id, key), record).map_err(backend)?;
        self.flush()
    }

    fn sends(&self, chain_id: u64, prefix: &[u8]) -> Result<Vec<crate::SendEntry>, StoreError> {
        self.intents
            .scan_prefix(send_key(chain_id, prefix))
            .map(|entry| {
                let (key, value) = entry.map_err(backend)?;
                Ok((key[8..].to_vec(), value.to_vec()))
            })
            .collect()
    }

    fn delete_send(&self, chain_id: u64, key: &[u8]) -> Result<(), StoreError> {
        self.intents.remove(send_key(chain_id, key)).map_err(backend)?;
        self.flush()
    }

    fn watch_marks(&self, chain_id: u64) -> Result<Vec<crate::SendEntry>, StoreError> {
        self.watch_marks
            .scan_prefix(chain_id.to_be_bytes())
            .map(|entry| {
                let (key, value) = entry.map_err(backend)?;
                Ok((key[8..].to_vec(), value.to_vec()))
            })
            .collect()
    }

    fn put_watch_marks(&self, chain_id: u64, marks: &[crate::SendEntry]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (key, value) in marks {
            batch.insert(send_key(chain_id, key), value.as_slice());
        }
        self.watch_marks.apply_batch(batch).map_err(backend)
    }

    fn records(&self, chain_id: u64) -> Result<Vec<crate::SendEntry>, StoreError> {
        self.family_records
            .scan_prefix(chain_id.to_be_bytes())
            .map(|entry| {
                let (key, value) = entry.map_err(backend)?;
                Ok((key[8..].to_vec(), value.to_vec()))
            })
            .collect()
    }

    fn put_record(&self, chain_id: u64, key: &[u8], record: &[u8]) -> Result<(), StoreError> {
        self.family_records.insert(send_key(chain_id, key), record).map_err(backend)?;
        self.flush()
    }

    fn delete_record(&self, chain_id: u64, key: &[u8]) -> Result<(), StoreError> {
        self.family_records.remove(send_key(chain_id, key)).map_err(backend)?;
        self.flush()
    }
}

mod migrate;
mod webhooks;

#[cfg(test)]
mod tests;
