//! Persistence for the relayer: sessions (versioned, compare-and-swap updates), the receiver index,
//! watcher cursors with the block hashes needed to detect reorgs, and chain families' send records.
//! The [`Store`] trait speaks only domain types; chain crates get the narrow [`ChainStore`] (their
//! cursors and their own send records, opaque here); [`SledStore`] is the embedded default. Every write that matters is
//! flushed to disk before the call returns. [`conformance`] is the behaviour every backend must show.

pub mod conformance;
mod flusher;
pub mod local_postgres;
mod postgres;
mod recovering;
mod sled_store;
mod webhooks;

use std::collections::HashMap;

use relayer_types::{B256, ChainAddress, Session, SessionId, SessionStatus};
use serde::{Deserialize, Serialize};

pub use postgres::PgLease;
pub use postgres::PgStore;
pub use recovering::SledStore;
pub use webhooks::{
    AttemptRecord, Creation, DeliveryState, EventDelivery, IdempotencyRecord, WebhookEndpoint, WebhookStore,
};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, corruption): trying again may help.
    #[error("storage backend: {0}")]
    Backend(#[source] BackendError),
    /// A stored value could not be decoded.
    #[error("stored value is unreadable: {what}")]
    Codec {
        /// What could not be read (a session record, an index key, …).
        what: String,
        /// The decoder's error, if a decoder failed (not for a key of the wrong length, say).
        #[source]
        source: Option<serde_json::Error>,
    },
    /// A session with this id already exists.
    #[error("session {0} already exists")]
    AlreadyExists(SessionId),
    /// No session with this id.
    #[error("session {0} not found")]
    NotFound(SessionId),
    /// This process does not hold the signing lease (another instance took over, or this one could not
    /// renew it in time): it must neither record nor broadcast a transaction.
    #[error("this instance does not hold the signing lease: it must not sign, record or broadcast")]
    Fenced,
    /// The stored data has a schema this build cannot read.
    #[error(
        "the store has schema version {found}, newer than this relayer supports ({supported}); run a relayer \
         that supports it, or restore a backup taken before the upgrade"
    )]
    Schema {
        /// Version found on disk.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
}

/// What failed in a storage backend, with the backend's own error as its cause (kept, not flattened
/// into text, so logs and `/readyz` show the whole chain). Cheap to clone: one failed flush is the
/// answer of every write that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}")]
pub struct BackendError {
    what: String,
    #[source]
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl BackendError {
    /// A failure described by `what`, caused by `source`.
    pub fn caused(what: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self { what: what.into(), source: Some(std::sync::Arc::new(source)) }
    }

    /// A failure the store itself detected (no backend error behind it).
    pub fn new(what: impl Into<String>) -> Self {
        Self { what: what.into(), source: None }
    }
}

impl StoreError {
    /// A value that could not be decoded, with the decoder's error.
    pub fn codec(what: impl Into<String>, source: Option<serde_json::Error>) -> Self {
        Self::Codec { what: what.into(), source }
    }

    /// Whether trying again later can succeed: true for backend failures (a full disk, an I/O error);
    /// false for what the data itself rules out (unreadable values, duplicates, a missing session, a
    /// newer schema).
    pub const fn can_retry(&self) -> bool {
        matches!(self, Self::Backend(_))
    }
}

/// A value with the version it was stored at; updates must name the version they replace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned<T> {
    /// Incremented on every write.
    pub version: u64,
    /// The value.
    pub value: T,
}

/// How far a chain watcher got: the last fully processed block and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Block number.
    pub block: u64,
    /// Its hash, to detect a reorg under the cursor.
    pub hash: B256,
}

/// An event a transition produces, to be delivered later (webhooks): written in the same atomic commit
/// as the session change that causes it, so a crash can never lose one or record one for a change that
/// did not happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Event type, e.g. `session.succeeded`.
    pub kind: String,
    /// Unix milliseconds (webhook latency is measured from it).
    pub created_at: u64,
    /// The event's body as it will be delivered (the store does not look inside).
    pub data: serde_json::Value,
}

/// A stored outbox event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Position in the outbox: at least 1, increasing in commit order, never reused (gaps are possible).
    pub seq: u64,
    /// The session whose change produced it.
    pub session_id: SessionId,
    /// The event.
    pub event: NewEvent,
}

/// A boxed future (the store traits stay object-safe).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The relayer's persistent state.
pub trait Store: ChainStore + WebhookStore {
    /// Stores a new session durably. Fails with `AlreadyExists` if the id is taken.
    fn insert_session(&self, session: &Session) -> Result<(), StoreError>;

    /// Writes and flushes a marker: whether the store can take durable writes right now (readiness).
    fn probe(&self) -> Result<(), StoreError>;

    /// Like [`Store::insert_session`], for async callers: resolves once the session is durable, without
    /// holding a thread while it waits, so concurrent creations can share one flush. The default runs
    /// the blocking insert.
    fn create_session<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.insert_session(session) })
    }

    /// The session with `id`, with its version.
    fn session(&self, id: &SessionId) -> Result<Option<Versioned<Session>>, StoreError>;

    /// Replaces the session if it is still at `expected_version`; returns the new version, or `None`
    /// if someone else wrote first (re-read and retry).
    fn replace_session(&self, session: &Session, expected_version: u64) -> Result<Option<u64>, StoreError>;

    /// Like [`Store::replace_session`], and in the same atomic commit appends `events` to the outbox:
    /// either the new version and all its events are stored, or (stale version, failure) neither.
    fn commit_session(
        &self,
        session: &Session,
        expected_version: u64,
        events: &[NewEvent],
    ) -> Result<Option<u64>, StoreError>;

    /// Outbox entries after `after_seq` (0 for the start), oldest first, at most `limit`.
    fn outbox(&self, after_seq: u64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Removes a handled outbox entry.
    fn remove_outbox(&self, seq: u64) -> Result<(), StoreError>;

    /// Calls `visit` with every session (maintenance only: the relayer's own paths use the queries
    /// below, whose cost follows the sessions they return, not all sessions ever stored).
    fn scan_sessions(&self, visit: &mut dyn FnMut(Session)) -> Result<(), StoreError>;

    /// Sessions that can still expire (`requires_payment_method`, `waiting_payment`), as
    /// `(expires_at, id)` in expiry order.
    fn expiring_sessions(&self) -> Result<Vec<(u64, SessionId)>, StoreError>;

    /// Of [`Store::expiring_sessions`], those due by `until` (unix seconds): what an engine that reloads its
    /// expiry queue often (an instance sharing the store learns of sessions created elsewhere this way)
    /// needs, at a cost that follows the sessions expiring soon rather than every open one.
    fn expiring_before(&self, until: u64) -> Result<Vec<(u64, SessionId)>, StoreError> {
        let mut expiring = self.expiring_sessions()?;
        expiring.retain(|(at, _)| *at <= until);
        Ok(expiring)
    }

    /// Sessions holding deposits that no settlement has matched yet.
    fn unsettled_sessions(&self) -> Result<Vec<Session>, StoreError>;

    /// Sessions with a deposit or settlement in block `from_block` or later on `chain_id` (what a reorg
    /// from that block may have touched).
    fn sessions_touched_since(&self, chain_id: u64, from_block: u64) -> Result<Vec<Session>, StoreError>;

    /// How many sessions are in each status.
    fn status_counts(&self) -> Result<HashMap<SessionStatus, u64>, StoreError>;

    /// Every indexed receiver and its session.
    fn receivers(&self) -> Result<Vec<(ChainAddress, SessionId)>, StoreError>;

    /// Records that `receiver` belongs to session `id`.
    fn index_receiver(&self, receiver: ChainAddress, id: &SessionId) -> Result<(), StoreError>;

    /// The session whose receiver is `receiver`.
    fn session_by_receiver(&self, receiver: ChainAddress) -> Result<Option<SessionId>, StoreError>;

    /// Receivers indexed after `mark` (0: all), in the order their indexing committed, and the mark to ask
    /// from next time: how an instance learns the receivers other instances gave out. `None` for a store
    /// only one process opens (sled), where the process's engine saw every one itself.
    #[allow(clippy::type_complexity)]
    fn receivers_since(
        &self,
        mark: u64,
    ) -> Result<Option<(Vec<(ChainAddress, SessionId)>, u64)>, StoreError> {
        let _ = mark;
        Ok(None)
    }

    /// Whether several processes may share this store (PostgreSQL), rather than one opening it alone
    /// (sled).
    fn shared(&self) -> bool {
        false
    }

    /// A signal from the processes sharing this store: its value changes (soon after the commit) when
    /// one of them commits outbox events, a webhook delivery request or an endpoint change, and
    /// whenever the signal may have missed some (it reconnected). `None` for a store only one process
    /// opens (sled): that process's own in-memory signals say as much.
    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

/// The lease that makes one instance, of several sharing a store, the only one that signs: held for a
/// time the database's clock measures, renewed well before it runs out, and taken over by another
/// instance only once it has. Each taking increases its epoch; the store refuses the send records of
/// any epoch but the current one (fencing), so a holder that was paused or cut off and comes back
/// records nothing, and [`ChainStore::may_sign`] refuses it before it broadcasts.
pub trait SigningLease: Send + Sync {
    /// The store as the holder's engine writes it: every session change checks, in its own
    /// transaction, that this instance still holds the lease (a former holder that was paused with a
    /// batch of chain events in hand applies none of them once another took over). The chain-side
    /// records (cursors, marks, family and send records) are fenced the same way in every view.
    fn fenced_store(&self) -> std::sync::Arc<dyn Store>;
    /// Takes the lease if it is free or has run out; `Some(epoch)` if this instance holds it now.
    fn acquire(&self) -> Result<Option<u64>, StoreError>;
    /// Extends the lease; `false` if it was lost (it ran out and another instance took it).
    fn renew(&self) -> Result<bool, StoreError>;
    /// Gives the lease up at once (a clean shutdown), so another instance need not wait for it to run out.
    fn release(&self) -> Result<(), StoreError>;
    /// How long a taking or renewal lasts.
    fn ttl(&self) -> std::time::Duration;
    /// This instance's name in the lease (host, process, a random part).
    fn holder(&self) -> &str;
    /// Whether this instance holds the lease by its own clocks now (the store signs only then).
    fn live(&self) -> bool;
}

/// One send record as stored: its key (without the chain) and its bytes.
pub type SendEntry = (Vec<u8>, Vec<u8>);

/// What a chain family persists: its watcher cursors (with block hashes, to detect reorgs) and its own
/// send records. Chain crates get only this, never sessions.
pub trait ChainStore: Send + Sync + 'static {
    /// The watcher cursor of `chain_id`.
    fn cursor(&self, chain_id: u64) -> Result<Option<Cursor>, StoreError>;

    /// Advances (or rolls back) the cursor of `chain_id`, storing the hashes of the blocks it covered.
    fn set_cursor(&self, chain_id: u64, cursor: Cursor, blocks: &[(u64, B256)]) -> Result<(), StoreError>;

    /// The stored hash of block `number` on `chain_id`.
    fn block_hash(&self, chain_id: u64, number: u64) -> Result<Option<B256>, StoreError>;

    /// Forgets block hashes below `number` (older than any reorg we handle).
    fn prune_block_hashes(&self, chain_id: u64, below: u64) -> Result<(), StoreError>;

    /// Stores (or replaces) a send record of `chain_id` under `key`, durably. The record's format
    /// belongs to the chain family (the EVM executor keeps signed transactions by signer and nonce).
    fn put_send(&self, chain_id: u64, key: &[u8], record: &[u8]) -> Result<(), StoreError>;

    /// The send records of `chain_id` whose key starts with `prefix`, in key order, with their keys
    /// (so that one that cannot be read can still be named).
    fn sends(&self, chain_id: u64, prefix: &[u8]) -> Result<Vec<SendEntry>, StoreError>;

    /// Removes a finished send record.
    fn delete_send(&self, chain_id: u64, key: &[u8]) -> Result<(), StoreError>;

    /// The watcher marks of `chain_id`, in key order: where a watcher that reads per account (Solana's)
    /// got to in each account's history, so a restart does not read every history again. The bytes
    /// belong to the family. A mark is a hint, not a record: one that is lost or older than the last
    /// events applied costs a re-read (events are applied idempotently), never an event, so marks are
    /// written without waiting for the disk.
    fn watch_marks(&self, chain_id: u64) -> Result<Vec<SendEntry>, StoreError>;

    /// Stores (or replaces) marks of `chain_id` by key, all or none.
    fn put_watch_marks(&self, chain_id: u64, marks: &[SendEntry]) -> Result<(), StoreError>;

    /// The family's own durable records of `chain_id`, in key order: what it must not forget across a
    /// crash beside its send records (Solana: the bridgings on their way that it delivers itself). The
    /// bytes belong to the family; they never show among send records or marks.
    fn records(&self, chain_id: u64) -> Result<Vec<SendEntry>, StoreError>;

    /// Stores (or replaces) a record of `chain_id` under `key`, durably.
    fn put_record(&self, chain_id: u64, key: &[u8], record: &[u8]) -> Result<(), StoreError>;

    /// Removes a record of `chain_id`, durably.
    fn delete_record(&self, chain_id: u64, key: &[u8]) -> Result<(), StoreError>;

    /// Whether this process may sign and broadcast now: asked right before every broadcast. A store
    /// only one process opens (sled) always answers yes; a shared one only while this instance holds the
    /// [`SigningLease`] and has renewed it recently enough that it cannot have run out (`Fenced`
    /// otherwise).
    fn may_sign(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Why [`update_session`] did not write.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The closure refused the change.
    #[error("{0}")]
    Rejected(E),
}

/// Read-modify-write of one session with optimistic concurrency: `change` runs on the latest version
/// and returns whether it changed anything; conflicts are retried. Returns the session as stored.
pub fn update_session<E>(
    store: &dyn Store,
    id: &SessionId,
    mut change: impl FnMut(&mut Session) -> Result<bool, E>,
) -> Result<Session, UpdateError<E>> {
    update_session_with_events(store, id, |s| Ok(change(s)?.then(Vec::new)))
}

/// Like [`update_session`], where `change` also returns the outbox events of its change (`None`: nothing
/// changed). The change and its events are committed together; a retried conflict recomputes both.
pub fn update_session_with_events<E>(
    store: &dyn Store,
    id: &SessionId,
    mut change: impl FnMut(&mut Session) -> Result<Option<Vec<NewEvent>>, E>,
) -> Result<Session, UpdateError<E>> {
    loop {
        let Versioned { version, mut value } = store.session(id)?.ok_or(StoreError::NotFound(*id))?;
        let Some(events) = change(&mut value).map_err(UpdateError::Rejected)? else {
            return Ok(value);
        };
        if store.commit_session(&value, version, &events)?.is_some() {
            return Ok(value);
        }
    }
}

/// Now in unix seconds, big-endian (the probe marker).
pub(crate) fn unix_now_bytes() -> [u8; 8] {
    relayer_types::unix_now().to_be_bytes()
}

#[cfg(test)]
mod error_tests {
    use super::*;

    /// A backend failure keeps the backend's own error as its cause (a full disk reads as one in logs and
    /// `/readyz`), and says a retry may help; a record that cannot be decoded keeps the decoder's error
    /// and says it cannot.
    #[test]
    fn store_errors_keep_their_cause_and_say_whether_a_retry_can_help() {
        let disk = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        let full = StoreError::Backend(BackendError::caused("flushing to disk", disk));
        assert_eq!(relayer_util::causes(&full), "storage backend: flushing to disk: No space left on device");
        assert!(full.can_retry());
        let garbled = StoreError::codec("a stored record", serde_json::from_str::<u8>("x").err());
        assert!(
            relayer_util::causes(&garbled)
                .starts_with("stored value is unreadable: a stored record: expected value")
        );
        assert!(!garbled.can_retry());
    }
}
