//! [`SledStore`]: the sled backend, reopened in place after an I/O failure. sled keeps failing every
//! write after one I/O error (a full disk, say) until the database is reopened, so a running relayer
//! whose disk filled up and was then freed would fail for good; here the failure marks the database
//! broken, and the next call (at most once per [`REOPEN_EVERY`]) drops it and opens it again. Callers
//! see `Backend` errors while the disk is full and normal answers once writes succeed again, without a
//! restart. Nothing acknowledged is lost: a write is acknowledged only after its flush succeeded.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use relayer_types::{B256, ChainAddress, Session, SessionId, SessionStatus};

use crate::{
    BackendError, BoxFuture, ChainStore, Creation, Cursor, EventDelivery, IdempotencyRecord, NewEvent,
    OutboxEntry, Store, StoreError, Versioned, WebhookEndpoint, WebhookStore, sled_store::SledDb,
};

/// The least time between two reopen attempts while the database is broken.
pub(crate) const REOPEN_EVERY: Duration = Duration::from_millis(500);

/// sled-backed [`Store`] that recovers from I/O failures by itself. Clones share one database.
#[derive(Debug, Clone)]
pub struct SledStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    db: RwLock<Option<Arc<SledDb>>>,
    broken: AtomicBool,
    last_reopen: Mutex<Option<Instant>>,
}

impl SledStore {
    /// Opens (or creates) the store in the folder `path`. sled releases its file lock from a
    /// background thread after the previous handle is dropped, so a prompt reopen (a restart in the
    /// same process, or right after the previous process exited) waits briefly for the lock.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        let db = SledDb::open(&path, Duration::from_secs(10))?;
        Ok(Self {
            shared: Arc::new(Shared {
                path,
                db: RwLock::new(Some(Arc::new(db))),
                broken: AtomicBool::new(false),
                last_reopen: Mutex::new(None),
            }),
        })
    }

    /// The open database, reopening it first if an earlier failure broke it.
    fn current(&self) -> Result<Arc<SledDb>, StoreError> {
        let s = &self.shared;
        if s.broken.load(Ordering::Acquire) {
            self.reopen()?;
        }
        s.db.read().unwrap_or_else(PoisonError::into_inner).clone().ok_or_else(|| {
            StoreError::Backend(BackendError::new("the store is being reopened after a failure"))
        })
    }

    fn reopen(&self) -> Result<(), StoreError> {
        let s = &self.shared;
        {
            let mut last = s.last_reopen.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < REOPEN_EVERY) {
                return Err(StoreError::Backend(BackendError::new(
                    "the store failed and is not writable yet",
                )));
            }
            *last = Some(Instant::now());
        }
        let mut db = s.db.write().unwrap_or_else(PoisonError::into_inner);
        if !s.broken.load(Ordering::Acquire) {
            return Ok(()); // another caller reopened it meanwhile
        }
        // Drop our handle first: sled holds a file lock until every handle (and its flush thread) is gone.
        *db = None;
        let reopened = SledDb::open(&s.path, Duration::from_millis(200))?;
        reopened.probe()?; // writable again, not merely readable
        *db = Some(Arc::new(reopened));
        s.broken.store(false, Ordering::Release);
        tracing::info!(path = %s.path.display(), "store reopened after a failure; writable again");
        Ok(())
    }

    /// Notes a result: a backend failure marks the database for reopening.
    fn note<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Backend(error)) = &result
            && !self.shared.broken.swap(true, Ordering::AcqRel)
        {
            tracing::error!(error = %relayer_util::causes(error), "store write failed; it will be reopened once it can write again");
        }
        result
    }

    fn with<T>(&self, f: impl FnOnce(&SledDb) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let db = self.current()?;
        self.note(f(&db))
    }
}

impl Store for SledStore {
    fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.with(|db| db.insert_session(session))
    }

    fn probe(&self) -> Result<(), StoreError> {
        self.with(SledDb::probe)
    }

    fn create_session<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let db = self.current()?;
            let result = db.create_session(session).await;
            self.note(result)
        })
    }

    fn session(&self, id: &SessionId) -> Result<Option<Versioned<Session>>, StoreError> {
        self.with(|db| db.session(id))
    }

    fn replace_session(&self, session: &Session, expected_version: u64) -> Result<Option<u64>, StoreError> {
        self.with(|db| db.replace_session(session, expected_version))
    }

    fn commit_session(
        &self,
        session: &Session,
        expected_version: u64,
        events: &[NewEvent],
    ) -> Result<Option<u64>, StoreError> {
        self.with(|db| db.commit_session(session, expected_version, events))
    }

    fn outbox(&self, after_seq: u64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.with(|db| db.outbox(after_seq, limit))
    }

    fn remove_outbox(&self, seq: u64) -> Result<(), StoreError> {
        self.with(|db| db.remove_outbox(seq))
    }

    fn scan_sessions(&self, visit: &mut dyn FnMut(Session)) -> Result<(), StoreError> {
        self.with(|db| db.scan_sessions(visit))
    }

    fn expiring_sessions(&self) -> Result<Vec<(u64, SessionId)>, StoreError> {
        self.with(SledDb::expiring_sessions)
    }

    fn unsettled_sessions(&self) -> Result<Vec<Session>, StoreError> {
        self.with(SledDb::unsettled_sessions)
    }

    fn sessions_touched_since(&self, chain_id: u64, from_block: u64) -> Result<Vec<Session>, StoreError> {
        self.with(|db| db.sessions_touched_since(chain_id, from_block))
    }

    fn status_counts(&self) -> Result<HashMap<SessionStatus, u64>, StoreError> {
        self.with(SledDb::status_counts)
    }

    fn receivers(&self) -> Result<Vec<(ChainAddress, SessionId)>, StoreError> {
        self.with(SledDb::receivers)
    }

    fn index_receiver(&self, receiver: ChainAddress, id: &SessionId) -> Result<(), StoreError> {
        self.with(|db| db.index_receiver(receiver, id))
    }

    fn session_by_receiver(&self, receiver: ChainAddress) -> Result<Option<SessionId>, StoreError> {
        self.with(|db| db.session_by_receiver(receiver))
    }
}

impl ChainStore for SledStore {
    fn cursor(&self, chain_id: u64) -> Result<Option<Cursor>, StoreError> {
        self.with(|db| db.cursor(chain_id))
    }

    fn set_cursor(&self, chain_id: u64, cursor: Cursor, blocks: &[(u64, B256)]) -> Result<(), StoreError> {
        self.with(|db| db.set_cursor(chain_id, cursor, blocks))
    }

    fn block_hash(&self, chain_id: u64, number: u64) -> Result<Option<B256>, StoreError> {
        self.with(|db| db.block_hash(chain_id, number))
    }

    fn prune_block_hashes(&self, chain_id: u64, below: u64) -> Result<(), StoreError> {
        self.with(|db| db.prune_block_hashes(chain_id, below))
    }

    fn put_send(&self, chain_id: u64, key: &[u8], record: &[u8]) -> Result<(), StoreError> {
        self.with(|db| db.put_send(chain_id, key, record))
    }

    fn sends(&self, chain_id: u64, prefix: &[u8]) -> Result<Vec<crate::SendEntry>, StoreError> {
        self.with(|db| db.sends(chain_id, prefix))
    }

    fn delete_send(&self, chain_id: u64, key: &[u8]) -> Result<(), StoreError> {
        self.with(|db| db.delete_send(chain_id, key))
    }

    fn watch_marks(&self, chain_id: u64) -> Result<Vec<crate::SendEntry>, StoreError> {
        self.with(|db| db.watch_marks(chain_id))
    }

    fn put_watch_marks(&self, chain_id: u64, marks: &[crate::SendEntry]) -> Result<(), StoreError> {
        self.with(|db| db.put_watch_marks(chain_id, marks))
    }

    fn records(&self, chain_id: u64) -> Result<Vec<crate::SendEntry>, StoreError> {
        self.with(|db| db.records(chain_id))
    }

    fn put_record(&self, chain_id: u64, key: &[u8], record: &[u8]) -> Result<(), StoreError> {
        self.with(|db| db.put_record(chain_id, key, record))
    }

    fn delete_record(&self, chain_id: u64, key: &[u8]) -> Result<(), StoreError> {
        self.with(|db| db.delete_record(chain_id, key))
    }
}

impl WebhookStore for SledStore {
    fn put_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        self.with(|db| db.put_webhook(endpoint))
    }

    fn webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.with(SledDb::webhooks)
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|db| db.delete_webhook(id))
    }

    fn fan_out(&self, seq: u64, deliveries: &[EventDelivery]) -> Result<(), StoreError> {
        self.with(|db| db.fan_out(seq, deliveries))
    }

    fn put_delivery(&self, delivery: &EventDelivery) -> Result<bool, StoreError> {
        self.with(|db| db.put_delivery(delivery))
    }

    fn deliveries(&self, endpoint_id: &str, limit: usize) -> Result<Vec<EventDelivery>, StoreError> {
        self.with(|db| db.deliveries(endpoint_id, limit))
    }

    fn pending_deliveries(&self) -> Result<Vec<EventDelivery>, StoreError> {
        self.with(SledDb::pending_deliveries)
    }

    fn prune_deliveries(&self, before_ms: u64) -> Result<usize, StoreError> {
        self.with(|db| db.prune_deliveries(before_ms))
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.with(|db| db.idempotency(key))
    }

    fn create_idempotent(
        &self,
        creation: Creation<'_>,
        record: &IdempotencyRecord,
        valid_since: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.with(|db| db.create_idempotent(creation, record, valid_since))
    }

    fn prune_idempotency(&self, before: u64) -> Result<usize, StoreError> {
        self.with(|db| db.prune_idempotency(before))
    }
}
