//! The PostgreSQL backend: the same [`Store`] as sled's, shared by any number of relayer processes.
//!
//! The store traits are synchronous (sled answers in microseconds); this backend runs its queries on a
//! small runtime of its own with a connection pool, and a synchronous call waits for its query without
//! starving the caller's runtime (`block_in_place` on a multi-threaded one). Every call has a deadline,
//! so a database that stops answering fails writes (`Backend`, which callers retry) instead of hanging
//! them. Each write is one transaction, committed (durable, with PostgreSQL's default
//! `synchronous_commit`) before the call returns.
//!
//! Sessions keep sled's record encoding (the version, the encoding's schema and the session, as JSON) in
//! `body`, beside the columns the queries use: `version` for compare-and-swap, `status`, `expires_at`
//! (only while the session can expire), `unsettled`, and one `session_blocks` row per block the session
//! has a chain event in. Those columns are written in the same statement as the body, so they can never
//! disagree with it. Outbox sequence numbers come from a counter row updated inside the writing
//! transaction: its row lock holds every other event-writing transaction until this one commits, so
//! numbers increase in commit order and a reader paging "after N" never skips a late commit (an
//! auto-increment column would number rows in the order they were inserted, not committed).

use std::{collections::HashMap, future::Future, time::Duration};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use relayer_types::{B256, ChainAddress, Session, SessionId, SessionStatus};
use tokio_postgres::{NoTls, Row, Transaction, types::ToSql};

use crate::{
    BackendError, BoxFuture, ChainStore, Cursor, NewEvent, OutboxEntry, SendEntry, Store, StoreError,
    Versioned,
    sled_store::{decode, decode_session, encode, encode_session, touched_blocks},
};

/// How long one store call may take, waiting for a connection included, before it fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// How long bringing the database to this build's schema may take.
const MIGRATION_DEADLINE: Duration = Duration::from_secs(600);

/// Connections per process.
const POOL_SIZE: usize = 16;

/// A [`Store`] in a PostgreSQL database. Clones share one pool. Give the relayer a database of its own:
/// its tables have plain names (`sessions`, `outbox`, …).
#[derive(Clone)]
pub struct PgStore {
    shared: std::sync::Arc<Shared>,
    /// Whether session changes and webhook deliveries check the signing lease in their transaction (the
    /// view the lease holder's engine and webhook deliveries write through: [`PgLease::fenced_store`]).
    holders_view: bool,
}

struct Shared {
    pool: Pool,
    /// The connection settings (password included: never printed), for the lease's own connection.
    config: tokio_postgres::Config,
    /// This process's probe row, and when a probe last succeeded (probes within a second share it).
    probe: (i32, std::sync::Mutex<Option<std::time::Instant>>),
    /// Set once this store takes part in a [`PgLease`]: from then on its send records are fenced.
    fence: std::sync::Mutex<Option<Fence>>,
    /// [`Store::changes`], once asked for: fed by a connection of its own that listens on [`CHANGES`].
    changes: std::sync::OnceLock<tokio::sync::watch::Sender<u64>>,
    handle: tokio::runtime::Handle,
    /// Owned here; shut down without waiting when the last clone goes (a runtime dropped inside another
    /// runtime's task would panic).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry the password.
        f.debug_struct("PgStore").field("connections", &self.shared.pool.status().size).finish()
    }
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(BackendError::caused("postgres", e))
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Backend(BackendError::caused("postgres connection", e))
}

/// `v` as PostgreSQL's `bigint`, or an error naming it: a value above `i64::MAX` cannot be stored (no
/// chain id, block number or time comes near it; queries for one find nothing, `-1` never being stored).
fn int(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::codec(format!("{what} {v} is too large to store"), None))
}

/// A stored `bigint` as `u64`.
fn uint(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::codec(format!("malformed {what} {v}"), None))
}

/// The first key after every key that starts with `prefix` (`None`: no upper bound), so a prefix scan is
/// a range on the primary key.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The columns a session row carries beside its body.
struct SessionRow {
    id: Vec<u8>,
    status: &'static str,
    expires_at: Option<i64>,
    unsettled: bool,
    blocks: Vec<(i64, i64)>,
}

impl SessionRow {
    fn of(session: &Session) -> Result<Self, StoreError> {
        let blocks = touched_blocks(session)
            .into_iter()
            .map(|(chain, block)| Ok((int(chain, "chain id")?, int(block, "block number")?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Self {
            id: session.id.as_bytes().to_vec(),
            status: session.status.as_str(),
            expires_at: session.status.can_expire().then(|| int(session.expires_at, "expiry")).transpose()?,
            unsettled: session.unsettled(),
            blocks,
        })
    }
}

fn session_from(row: &Row) -> Result<Session, StoreError> {
    Ok(decode_session(row.get::<_, &[u8]>("body"))?.value)
}

fn session_id(bytes: &[u8]) -> Result<SessionId, StoreError> {
    Ok(SessionId::from_bytes(bytes.try_into().map_err(|_| StoreError::codec("malformed session id", None))?))
}

/// Writes the `session_blocks` rows of a session (replacing any it had).
async fn write_blocks(tx: &Transaction<'_>, row: &SessionRow, replace: bool) -> Result<(), StoreError> {
    if replace {
        tx.execute("DELETE FROM session_blocks WHERE session_id = $1", &[&row.id]).await.map_err(pg)?;
    }
    for (chain, block) in &row.blocks {
        tx.execute(
            "INSERT INTO session_blocks (chain_id, block, session_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[chain, block, &row.id],
        )
        .await
        .map_err(pg)?;
    }
    Ok(())
}

/// Inserts a new session in `tx`; `AlreadyExists` if its id is taken.
async fn insert_in(tx: &Transaction<'_>, session: &Session) -> Result<(), StoreError> {
    let row = SessionRow::of(session)?;
    let body = encode_session(1, session)?;
    let schema = i32::try_from(crate::sled_store::SCHEMA).unwrap_or(i32::MAX);
    let inserted = tx
        .execute(
            "INSERT INTO sessions (id, version, schema, status, expires_at, unsettled, body) \
             VALUES ($1, 1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            &[&row.id, &schema, &row.status, &row.expires_at, &row.unsettled, &body],
        )
        .await
        .map_err(pg)?;
    if inserted == 0 {
        return Err(StoreError::AlreadyExists(session.id));
    }
    write_blocks(tx, &row, false).await
}

impl PgStore {
    /// Connects to the database at `url` (a `postgres://` URL or a libpq key-value string), brings its
    /// tables to this build's schema, and refuses a database a newer build has written. The URL is never
    /// logged or shown in an error. TLS is not supported yet: reach the database over a private network
    /// or a local socket.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
            // The parser's message may quote the URL, password included: say only what is wrong.
            StoreError::Backend(BackendError::new("the store URL is not a PostgreSQL connection string"))
        })?;
        // The server ends what a client left hanging: a statement before this side's deadline gives up
        // on it (so the connection is usable again), and a transaction left open by a paused or cut-off
        // process (holding the lease row or a counter row, which would stall every other instance)
        // within seconds. Keepalives notice a peer that vanished.
        config
            .options(
                "-c statement_timeout=15000 -c lock_timeout=10000 -c idle_in_transaction_session_timeout=5000",
            )
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(5))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3)
            .tcp_user_timeout(Duration::from_secs(10));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("store-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(BackendError::caused("starting the store's runtime", e)))?;
        let pool = pool_of(config.clone(), POOL_SIZE)?;
        let probe_row = i32::try_from(rand_u32() >> 1).unwrap_or_default();
        let store = Self {
            shared: std::sync::Arc::new(Shared {
                pool,
                config,
                probe: (probe_row, std::sync::Mutex::new(None)),
                fence: std::sync::Mutex::new(None),
                changes: std::sync::OnceLock::new(),
                handle: runtime.handle().clone(),
                runtime: Some(runtime),
            }),
            holders_view: false,
        };
        // A migration may read a whole table (building an index): it gets minutes, not the deadline of a
        // call.
        let migrating =
            store.spawn_within(MIGRATION_DEADLINE, |pool| async move { schema::migrate(&pool).await });
        wait(migrating)?;
        Ok(store)
    }

    /// Runs `work` on the store's runtime, within [`DEADLINE`].
    fn spawn<T, F>(&self, work: impl FnOnce(Pool) -> F) -> tokio::task::JoinHandle<Result<T, StoreError>>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_within(DEADLINE, work)
    }

    /// Runs `work` on the store's runtime, within `deadline`.
    fn spawn_within<T, F>(
        &self,
        deadline: Duration,
        work: impl FnOnce(Pool) -> F,
    ) -> tokio::task::JoinHandle<Result<T, StoreError>>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let work = work(self.shared.pool.clone());
        self.shared.handle.spawn(async move {
            tokio::time::timeout(deadline, work).await.unwrap_or_else(|_| {
                Err(StoreError::Backend(BackendError::new(format!(
                    "the database did not answer within {} s",
                    deadline.as_secs()
                ))))
            })
        })
    }

    /// Runs `work` and waits for its answer (see [`wait`]).
    fn block<T, F>(&self, work: impl FnOnce(Pool) -> F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        wait(self.spawn(work))
    }

    /// Runs `work` in a transaction of its own and commits it (an error rolls it back), first checking
    /// in it that this instance still holds the lease, if `fence` is given (see [`lease_held_in`]).
    fn transact<T: Send + 'static>(
        &self,
        fence: Option<(Fence, i64)>,
        work: impl for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.block(move |pool| in_transaction(pool, fence, work))
    }

    /// Writes `session` if it is still at `expected` and appends `events`, in one transaction.
    fn write(
        &self,
        session: &Session,
        expected: u64,
        events: &[NewEvent],
    ) -> Result<Option<u64>, StoreError> {
        let row = SessionRow::of(session)?;
        let next = expected + 1;
        let body = encode_session(next, session)?;
        let (id, session_id) = (session.id, session.id);
        let events = events.to_vec();
        let fence = self.holders_fence()?;
        self.transact(fence, move |tx| {
            Box::pin(async move {
                let schema = i32::try_from(crate::sled_store::SCHEMA).unwrap_or(i32::MAX);
                let (expected, next) = (int(expected, "version")?, int(next, "version")?);
                let updated = tx
                    .execute(
                        "UPDATE sessions SET version = $3, schema = $4, status = $5, expires_at = $6, \
                     unsettled = $7, body = $8 WHERE id = $1 AND version = $2",
                        &[
                            &row.id,
                            &expected,
                            &next,
                            &schema,
                            &row.status,
                            &row.expires_at,
                            &row.unsettled,
                            &body,
                        ],
                    )
                    .await
                    .map_err(pg)?;
                if updated == 0 {
                    let exists =
                        tx.query_opt("SELECT 1 FROM sessions WHERE id = $1", &[&row.id]).await.map_err(pg)?;
                    return if exists.is_some() { Ok(None) } else { Err(StoreError::NotFound(id)) };
                }
                write_blocks(tx, &row, true).await?;
                if !events.is_empty() {
                    changed(tx).await?;
                }
                for event in events {
                    // The counter's row lock is held until this transaction ends: numbers in commit order.
                    let seq: i64 = tx
                        .query_one(
                            "UPDATE counters SET value = value + 1 WHERE name = 'outbox' RETURNING value",
                            &[],
                        )
                        .await
                        .map_err(pg)?
                        .get(0);
                    let entry = OutboxEntry { seq: uint(seq, "outbox sequence")?, session_id, event };
                    tx.execute("INSERT INTO outbox (seq, body) VALUES ($1, $2)", &[&seq, &encode(&entry)?])
                        .await
                        .map_err(pg)?;
                }
                Ok(Some(uint(next, "version")?))
            })
        })
    }

    /// Runs one statement that changes rows, in its own transaction; how many rows it changed.
    fn execute(&self, sql: &'static str, params: Params) -> Result<u64, StoreError> {
        self.block(move |pool| async move {
            let client = pool.get().await.map_err(pool_error)?;
            client.execute(sql, &params.refs()).await.map_err(pg)
        })
    }

    /// Runs one query; its rows.
    fn query(&self, sql: &'static str, params: Params) -> Result<Vec<Row>, StoreError> {
        self.block(move |pool| async move {
            let client = pool.get().await.map_err(pool_error)?;
            client.query(sql, &params.refs()).await.map_err(pg)
        })
    }

    /// The sessions a query of `id`s names, in id order.
    fn sessions_where(&self, sql: &'static str, params: Params) -> Result<Vec<Session>, StoreError> {
        self.query(sql, params)?.iter().map(session_from).collect()
    }

    /// `(key, value)` rows of one of the per-chain byte tables.
    fn entries(&self, sql: &'static str, params: Params) -> Result<Vec<SendEntry>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// Inside `tx`, first of all: that this instance still holds the lease (`fence`, if leasing). Locks the
/// lease row (`FOR KEY SHARE`) if it still names this holder and epoch and has not run out by the
/// database's clock: a takeover (which locks the row `FOR UPDATE` before rewriting it) waits for this
/// transaction, and this transaction, if it comes second, finds the row changed and is refused. The
/// holder's renewal, which changes only the expiry (`FOR NO KEY UPDATE`), does not wait for it: the
/// holder's own writes, however many, never hold its renewal back. The new holder, which reads the store after its
/// takeover committed, therefore sees every write its predecessor made, and none comes later.
async fn lease_held_in(tx: &Transaction<'_>, fence: Option<&(Fence, i64)>) -> Result<(), StoreError> {
    let Some((fence, epoch)) = fence else { return Ok(()) };
    let held = tx
        .query_opt(
            "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp() \
             FOR KEY SHARE",
            &[&fence.name, &fence.holder, epoch],
        )
        .await
        .map_err(pg)?;
    held.map(drop).ok_or(StoreError::Fenced)
}

/// Waits for a store task's answer, from any thread: on a multi-threaded runtime's worker the runtime is
/// told the thread blocks, so its other tasks move on.
fn wait<T: Send + 'static>(task: tokio::task::JoinHandle<Result<T, StoreError>>) -> Result<T, StoreError> {
    let wait = move || futures::executor::block_on(task);
    let joined = match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    };
    joined.map_err(|e| StoreError::Backend(BackendError::caused("a store task failed", e)))?
}

/// Runs `work` in a transaction on one of `pool`'s connections and commits it; see [`PgStore::transact`].
async fn in_transaction<T>(
    pool: Pool,
    fence: Option<(Fence, i64)>,
    work: impl for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(pg)?;
    lease_held_in(&tx, fence.as_ref()).await?;
    let done = work(&tx).await?;
    tx.commit().await.map_err(pg)?;
    Ok(done)
}

/// The channel of [`Store::changes`].
const CHANGES: &str = "relayer_changes";

/// Tells the processes listening on [`CHANGES`] that `tx` wrote what they deliver, once it commits
/// (PostgreSQL sends a notification at commit, and none for a transaction rolled back).
async fn changed(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("SELECT pg_notify($1, '')", &[&CHANGES]).await.map_err(pg).map(drop)
}

/// Feeds `signal` from a connection that listens on [`CHANGES`], for as long as the store's runtime
/// runs: bumped by every notification, and once more each time the connection is (re)established, since
/// notifications sent while it was down are lost. A lost connection is replaced within seconds (its
/// keepalives notice a vanished server); the signal's users poll as well, so a gap delays, never loses.
async fn listen(config: tokio_postgres::Config, signal: tokio::sync::watch::Sender<u64>) {
    use futures::StreamExt;
    let bump = |signal: &tokio::sync::watch::Sender<u64>| signal.send_modify(|n| *n = n.wrapping_add(1));
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let (heard, mut hearing) = tokio::sync::mpsc::unbounded_channel();
            let driver = tokio::spawn(async move {
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(Ok(message)) = messages.next().await {
                    if matches!(message, tokio_postgres::AsyncMessage::Notification(_))
                        && heard.send(()).is_err()
                    {
                        return;
                    }
                }
            });
            if client.batch_execute(&format!("LISTEN {CHANGES}")).await.is_ok() {
                bump(&signal);
                while hearing.recv().await.is_some() {
                    bump(&signal);
                }
            }
            driver.abort();
            tracing::warn!("the store's change notifications were interrupted; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// This instance's part in the signing lease: the lease it takes part in, the epoch it holds (if any),
/// and until when it may act on it.
#[derive(Debug, Clone)]
struct Fence {
    name: String,
    holder: String,
    held: Option<(i64, Until)>,
}

/// A local deadline by two clocks: the monotonic one (immune to the wall clock being set) and the wall
/// clock (which, unlike Linux's monotonic clock, keeps counting while the machine is suspended). It has
/// passed once either says so.
#[derive(Debug, Clone, Copy)]
struct Until {
    monotonic: std::time::Instant,
    wall: std::time::SystemTime,
}

impl Until {
    fn after(sent: (std::time::Instant, std::time::SystemTime), lifetime: Duration) -> Self {
        Self { monotonic: sent.0 + lifetime, wall: sent.1 + lifetime }
    }

    fn passed(&self) -> bool {
        std::time::Instant::now() >= self.monotonic || std::time::SystemTime::now() >= self.wall
    }
}

impl Fence {
    /// The epoch held, while its local deadline has not passed.
    fn live(&self) -> Option<i64> {
        self.held.filter(|(_, until)| !until.passed()).map(|(epoch, _)| epoch)
    }
}

impl PgStore {
    fn fence(&self) -> std::sync::MutexGuard<'_, Option<Fence>> {
        self.shared.fence.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The fence a chain-side write must pass: `None` for a store that takes part in no lease; the
    /// lease and epoch this instance holds by its own clocks; `Fenced` if it holds none.
    fn fence_for_write(&self) -> Result<Option<(Fence, i64)>, StoreError> {
        let fence = self.fence().clone();
        let Some(fence) = fence else { return Ok(None) };
        let epoch = fence.live().ok_or(StoreError::Fenced)?;
        Ok(Some((fence, epoch)))
    }

    /// The fence of a write that only the holder's view makes (a session change of its engine, a
    /// webhook delivery it records): none for the API's view.
    fn holders_fence(&self) -> Result<Option<(Fence, i64)>, StoreError> {
        if self.holders_view { self.fence_for_write() } else { Ok(None) }
    }

    /// Runs a write of the send records in its own transaction, fenced (see [`lease_held_in`]).
    fn fenced_send(&self, sql: &'static str, params: Params) -> Result<(), StoreError> {
        let Some(fence) = self.fence_for_write()? else {
            return self.execute(sql, params).map(drop);
        };
        self.transact(Some(fence), move |tx| {
            Box::pin(async move { tx.execute(sql, &params.refs()).await.map_err(pg).map(drop) })
        })
    }

    /// Takes part in the signing lease `name`, each taking or renewal lasting `ttl` by the database's clock.
    /// From now on this store's send records are fenced by it (see [`PgLease`]).
    pub fn signing_lease(&self, name: &str, ttl: Duration) -> PgLease {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let holder = format!("{}:{}:{:08x}", host.trim(), std::process::id(), rand_u32(),);
        *self.fence() = Some(Fence { name: name.to_owned(), holder: holder.clone(), held: None });
        // The lease's own connection gives up on a statement or a lock well within a lifetime, so a
        // renewal that cannot get through fails in time to be tried again.
        let patience = ttl.div_f64(6.0).max(Duration::from_millis(250)).as_millis();
        let mut config = self.shared.config.clone();
        config.options(format!(
            "-c statement_timeout={patience} -c lock_timeout={patience} -c idle_in_transaction_session_timeout=5000"
        ));
        let pool = pool_of(config, 1).unwrap_or_else(|_| self.shared.pool.clone());
        PgLease { store: self.clone(), pool, name: name.to_owned(), holder, ttl }
    }
}

/// A random 32-bit number, from the standard library's randomly keyed hasher (no extra dependency).
fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
    );
    u32::try_from(hasher.finish() & u64::from(u32::MAX)).unwrap_or_default()
}

/// A [`SigningLease`](crate::SigningLease) in the `leases` table. The local deadline of a taking or
/// renewal is three quarters of `ttl` after the request was sent: the database's expiry is `ttl` after
/// its own clock read the request, which is later, so this instance stops signing a quarter of the
/// lifetime (at least) before anyone else may start, whatever the delay on the way.
#[derive(Clone)]
pub struct PgLease {
    store: PgStore,
    /// A pool of one connection, the lease's own.
    pool: Pool,
    name: String,
    holder: String,
    ttl: Duration,
}

impl PgLease {
    fn deadline(&self, sent: (std::time::Instant, std::time::SystemTime)) -> Until {
        Until::after(sent, self.ttl.mul_f64(0.75))
    }

    fn hold(&self, held: Option<(i64, Until)>) {
        if let Some(fence) = self.store.fence().as_mut() {
            fence.held = held;
        }
    }

    fn statement(&self, sql: &'static str) -> Result<Option<i64>, StoreError> {
        let epoch = self.store.fence().as_ref().and_then(|f| f.held.map(|(e, _)| e)).unwrap_or(0);
        self.statement_at(epoch, sql)
    }

    /// Runs a lease statement with its parameters (name, holder, lifetime in seconds, `epoch`) on the
    /// lease's own connection: a flood of API requests holding every connection of the store's pool
    /// cannot starve the renewal.
    fn statement_at(&self, epoch: i64, sql: &'static str) -> Result<Option<i64>, StoreError> {
        let (name, holder, ttl) = (self.name.clone(), self.holder.clone(), self.ttl.as_secs_f64());
        let pool = self.pool.clone();
        self.store.block(move |_| async move {
            let client = pool.get().await.map_err(pool_error)?;
            let row = client.query_opt(sql, &[&name, &holder, &ttl, &epoch]).await.map_err(pg)?;
            Ok(row.map(|r| r.get::<_, i64>(0)))
        })
    }
}

impl std::fmt::Debug for PgLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLease")
            .field("name", &self.name)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl crate::SigningLease for PgLease {
    fn fenced_store(&self) -> std::sync::Arc<dyn crate::Store> {
        std::sync::Arc::new(PgStore { shared: std::sync::Arc::clone(&self.store.shared), holders_view: true })
    }

    fn acquire(&self) -> Result<Option<u64>, StoreError> {
        let sent = (std::time::Instant::now(), std::time::SystemTime::now());
        let (name, holder, ttl) = (self.name.clone(), self.holder.clone(), self.ttl.as_secs_f64());
        let pool = self.pool.clone();
        let taken = self.store.block(move |_| async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            // Whether it is free, by a read that locks nothing: standbys asking while it is held never
            // stand in the holder's way.
            let free = client
                .query_opt("SELECT expires_at <= clock_timestamp() FROM leases WHERE name = $1", &[&name])
                .await
                .map_err(pg)?;
            match free.map(|r| r.get::<_, bool>(0)) {
                Some(false) => return Ok(None),
                None => {
                    let inserted = client
                        .query_opt(
                            "INSERT INTO leases (name, holder, epoch, expires_at, acquired_at) VALUES \
                             ($1, $2, 1, clock_timestamp() + make_interval(secs => $3), clock_timestamp()) \
                             ON CONFLICT (name) DO NOTHING RETURNING epoch",
                            &[&name, &holder, &ttl],
                        )
                        .await
                        .map_err(pg)?;
                    return Ok(inserted.map(|r| r.get::<_, i64>(0)));
                }
                Some(true) => {}
            }
            // The takeover: `FOR UPDATE` waits for every fenced write of the former holder still in flight
            // (each holds the row `FOR KEY SHARE`), and is re-checked on the row as they left it.
            let tx = client.transaction().await.map_err(pg)?;
            let still_free = tx
                .query_opt(
                    "SELECT 1 FROM leases WHERE name = $1 AND expires_at <= clock_timestamp() FOR UPDATE",
                    &[&name],
                )
                .await
                .map_err(pg)?;
            if still_free.is_none() {
                return Ok(None);
            }
            let taken = tx
                .query_one(
                    "UPDATE leases SET holder = $2, epoch = epoch + 1, \
                     expires_at = clock_timestamp() + make_interval(secs => $3), acquired_at = clock_timestamp() \
                     WHERE name = $1 RETURNING epoch",
                    &[&name, &holder, &ttl],
                )
                .await
                .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            Ok(Some(taken.get::<_, i64>(0)))
        })?;
        match taken {
            Some(epoch) => {
                self.hold(Some((epoch, self.deadline(sent))));
                tracing::info!(lease = %self.name, holder = %self.holder, epoch, "signing lease taken");
                Ok(Some(uint(epoch, "lease epoch")?))
            }
            None => Ok(None),
        }
    }

    fn renew(&self) -> Result<bool, StoreError> {
        let sent = (std::time::Instant::now(), std::time::SystemTime::now());
        let renewed = self.statement(
            "UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => $3) \
             WHERE name = $1 AND holder = $2 AND epoch = $4 AND expires_at > clock_timestamp() RETURNING epoch",
        )?;
        match renewed {
            Some(epoch) => {
                self.hold(Some((epoch, self.deadline(sent))));
                Ok(true)
            }
            None => {
                self.hold(None);
                tracing::error!(lease = %self.name, holder = %self.holder, "signing lease lost");
                Ok(false)
            }
        }
    }

    fn release(&self) -> Result<(), StoreError> {
        // Stop signing before the database lets anyone else start.
        let epoch = self.store.fence().as_ref().and_then(|f| f.held.map(|(e, _)| e)).unwrap_or(0);
        self.hold(None);
        let released = self.statement_at(
            epoch,
            "UPDATE leases SET expires_at = clock_timestamp() \
             WHERE name = $1 AND holder = $2 AND epoch = $4 AND $3::float8 >= 0 RETURNING epoch",
        );
        released.map(drop)
    }

    fn ttl(&self) -> Duration {
        self.ttl
    }

    fn holder(&self) -> &str {
        &self.holder
    }

    fn live(&self) -> bool {
        self.store.fence().as_ref().and_then(Fence::live).is_some()
    }
}

/// A pool of `size` connections to `config`'s database.
fn pool_of(config: tokio_postgres::Config, size: usize) -> Result<Pool, StoreError> {
    let manager =
        Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .wait_timeout(Some(DEADLINE))
        .build()
        .map_err(|e| StoreError::Backend(BackendError::caused("building the connection pool", e)))
}

/// Owned query parameters (a query runs on the store's runtime, so it cannot borrow the caller's).
struct Params(Vec<Box<dyn ToSql + Send + Sync>>);

impl Params {
    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
    }
}

/// [`Params`] from a list of owned values.
macro_rules! params {
    ($($p:expr),* $(,)?) => { Params(vec![$(Box::new($p)),*]) };
}

mod schema;
mod webhooks;

impl Store for PgStore {
    fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let session = session.clone();
        self.transact(None, move |tx| Box::pin(async move { insert_in(tx, &session).await }))
    }

    fn create_session<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>> {
        let session = session.clone();
        let task = self.spawn(move |pool| {
            in_transaction(pool, None, move |tx| Box::pin(async move { insert_in(tx, &session).await }))
        });
        Box::pin(async move {
            task.await.map_err(|e| StoreError::Backend(BackendError::caused("a store task failed", e)))?
        })
    }

    fn probe(&self) -> Result<(), StoreError> {
        // A durable write at most once a second per process (`/readyz` and `/metrics` are open: a
        // flood of them must not become a flood of writes), each process on its own row.
        let (row, last) = &self.shared.probe;
        let recent =
            |at: &Option<std::time::Instant>| at.is_some_and(|t| t.elapsed() < Duration::from_secs(1));
        if recent(&last.lock().unwrap_or_else(std::sync::PoisonError::into_inner)) {
            return Ok(());
        }
        let now = int(relayer_types::unix_now(), "time")?;
        self.execute(
            "INSERT INTO probe (id, at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at",
            params![*row, now],
        )?;
        *last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
        Ok(())
    }

    fn session(&self, id: &SessionId) -> Result<Option<Versioned<Session>>, StoreError> {
        let rows = self.query("SELECT body FROM sessions WHERE id = $1", params![id.as_bytes().to_vec()])?;
        rows.first().map(|row| decode_session(row.get::<_, &[u8]>(0))).transpose()
    }

    fn replace_session(&self, session: &Session, expected_version: u64) -> Result<Option<u64>, StoreError> {
        self.write(session, expected_version, &[])
    }

    fn commit_session(
        &self,
        session: &Session,
        expected_version: u64,
        events: &[NewEvent],
    ) -> Result<Option<u64>, StoreError> {
        self.write(session, expected_version, events)
    }

    fn outbox(&self, after_seq: u64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query("SELECT body FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2", params![after, limit])?;
        rows.iter().map(|r| decode(r.get::<_, &[u8]>(0))).collect()
    }

    fn remove_outbox(&self, seq: u64) -> Result<(), StoreError> {
        self.execute("DELETE FROM outbox WHERE seq = $1", params![int(seq, "outbox sequence")?]).map(drop)
    }

    fn scan_sessions(&self, visit: &mut dyn FnMut(Session)) -> Result<(), StoreError> {
        for session in self.sessions_where("SELECT body FROM sessions ORDER BY id", params![])? {
            visit(session);
        }
        Ok(())
    }

    fn expiring_sessions(&self) -> Result<Vec<(u64, SessionId)>, StoreError> {
        let rows = self.query(
            "SELECT expires_at, id FROM sessions WHERE expires_at IS NOT NULL ORDER BY expires_at, id",
            params![],
        )?;
        rows.iter().map(|r| Ok((uint(r.get(0), "expiry")?, session_id(r.get(1))?))).collect()
    }

    fn expiring_before(&self, until: u64) -> Result<Vec<(u64, SessionId)>, StoreError> {
        let until = i64::try_from(until).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT expires_at, id FROM sessions WHERE expires_at <= $1 ORDER BY expires_at, id",
            params![until],
        )?;
        rows.iter().map(|r| Ok((uint(r.get(0), "expiry")?, session_id(r.get(1))?))).collect()
    }

    fn unsettled_sessions(&self) -> Result<Vec<Session>, StoreError> {
        self.sessions_where("SELECT body FROM sessions WHERE unsettled ORDER BY id", params![])
    }

    fn sessions_touched_since(&self, chain_id: u64, from_block: u64) -> Result<Vec<Session>, StoreError> {
        // Nothing is stored beyond `i64::MAX` (writes refuse it), so a query there finds nothing.
        let (Ok(chain), Ok(from)) = (i64::try_from(chain_id), i64::try_from(from_block)) else {
            return Ok(vec![]);
        };
        self.sessions_where(
            "SELECT body FROM sessions WHERE id IN \
             (SELECT session_id FROM session_blocks WHERE chain_id = $1 AND block >= $2) ORDER BY id",
            params![chain, from],
        )
    }

    fn status_counts(&self) -> Result<HashMap<SessionStatus, u64>, StoreError> {
        let rows = self.query("SELECT status, count(*) FROM sessions GROUP BY status", params![])?;
        let mut counts = HashMap::new();
        for row in rows {
            let name: &str = row.get(0);
            let status = SessionStatus::ALL
                .into_iter()
                .find(|s| s.as_str() == name)
                .ok_or_else(|| StoreError::codec(format!("unknown session status {name:?}"), None))?;
            counts.insert(status, uint(row.get(1), "status count")?);
        }
        Ok(counts)
    }

    fn receivers(&self) -> Result<Vec<(ChainAddress, SessionId)>, StoreError> {
        let rows = self.query("SELECT key, session_id FROM receivers ORDER BY key", params![])?;
        rows.iter()
            .map(|r| {
                let receiver = ChainAddress::from_key(r.get(0))
                    .map_err(|e| StoreError::codec(format!("malformed receiver index key: {e}"), None))?;
                Ok((receiver, session_id(r.get(1))?))
            })
            .collect()
    }

    fn index_receiver(&self, receiver: ChainAddress, id: &SessionId) -> Result<(), StoreError> {
        let (key, id) = (receiver.key().to_vec(), id.as_bytes().to_vec());
        self.transact(None, move |tx| {
            Box::pin(async move {
                // Numbered in commit order, like the outbox: an instance reading "after N" never skips one.
                let seq: i64 = tx
                    .query_one(
                        "UPDATE counters SET value = value + 1 WHERE name = 'receivers' RETURNING value",
                        &[],
                    )
                    .await
                    .map_err(pg)?
                    .get(0);
                tx.execute(
                    "INSERT INTO receivers (key, session_id, seq) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET session_id = EXCLUDED.session_id, seq = EXCLUDED.seq",
                    &[&key, &id, &seq],
                )
                .await
                .map_err(pg)
                .map(drop)
            })
        })
    }

    fn receivers_since(
        &self,
        mark: u64,
    ) -> Result<Option<(Vec<(ChainAddress, SessionId)>, u64)>, StoreError> {
        let after = i64::try_from(mark).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT key, session_id, seq FROM receivers WHERE seq > $1 ORDER BY seq",
            params![after],
        )?;
        let mut next = mark;
        let mut found = Vec::with_capacity(rows.len());
        for r in &rows {
            let receiver = ChainAddress::from_key(r.get(0))
                .map_err(|e| StoreError::codec(format!("malformed receiver index key: {e}"), None))?;
            found.push((receiver, session_id(r.get(1))?));
            next = next.max(uint(r.get(2), "receiver sequence")?);
        }
        Ok(Some((found, next)))
    }

    fn session_by_receiver(&self, receiver: ChainAddress) -> Result<Option<SessionId>, StoreError> {
        let rows =
            self.query("SELECT session_id FROM receivers WHERE key = $1", params![receiver.key().to_vec()])?;
        rows.first().map(|r| session_id(r.get(0))).transpose()
    }

    fn shared(&self) -> bool {
        true
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        let signal = self.shared.changes.get_or_init(|| {
            let (signal, _) = tokio::sync::watch::channel(0);
            // The server drops this connection if this process stops reading it (paused, frozen):
            // notifications queue server-wide until every listener has read them.
            let mut config = self.shared.config.clone();
            config.options(
                "-c tcp_user_timeout=30000 -c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 \
                 -c tcp_keepalives_count=3",
            );
            self.shared.handle.spawn(listen(config, signal.clone()));
            signal
        });
        Some(signal.subscribe())
    }
}

impl ChainStore for PgStore {
    fn cursor(&self, chain_id: u64) -> Result<Option<Cursor>, StoreError> {
        let Ok(chain) = i64::try_from(chain_id) else { return Ok(None) };
        let rows = self.query("SELECT body FROM cursors WHERE chain_id = $1", params![chain])?;
        rows.first().map(|r| decode(r.get::<_, &[u8]>(0))).transpose()
    }

    fn set_cursor(&self, chain_id: u64, cursor: Cursor, blocks: &[(u64, B256)]) -> Result<(), StoreError> {
        let chain = int(chain_id, "chain id")?;
        let at = int(cursor.block, "block number")?;
        let body = encode(&cursor)?;
        let blocks = blocks
            .iter()
            .map(|(n, h)| Ok((int(*n, "block number")?, h.to_vec())))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let fence = self.fence_for_write()?;
        self.transact(fence, move |tx| {
            Box::pin(async move {
                for (number, hash) in &blocks {
                    tx.execute(
                        "INSERT INTO block_hashes (chain_id, number, hash) VALUES ($1, $2, $3) \
                     ON CONFLICT (chain_id, number) DO UPDATE SET hash = EXCLUDED.hash",
                        &[&chain, number, hash],
                    )
                    .await
                    .map_err(pg)?;
                }
                // After a rollback, hashes above the cursor belong to the abandoned branch.
                let kept: Vec<i64> = blocks.iter().map(|(n, _)| *n).collect();
                tx.execute(
                    "DELETE FROM block_hashes WHERE chain_id = $1 AND number > $2 AND NOT (number = ANY($3))",
                    &[&chain, &at, &kept],
                )
                .await
                .map_err(pg)?;
                tx.execute(
                    "INSERT INTO cursors (chain_id, body) VALUES ($1, $2) \
                 ON CONFLICT (chain_id) DO UPDATE SET body = EXCLUDED.body",
                    &[&chain, &body],
                )
                .await
                .map_err(pg)
                .map(drop)
            })
        })
    }

    fn block_hash(&self, chain_id: u64, number: u64) -> Result<Option<B256>, StoreError> {
        let (Ok(chain), Ok(number)) = (i64::try_from(chain_id), i64::try_from(number)) else {
            return Ok(None);
        };
        let rows = self.query(
            "SELECT hash FROM block_hashes WHERE chain_id = $1 AND number = $2",
            params![chain, number],
        )?;
        rows.first()
            .map(|r| {
                let bytes: &[u8] = r.get(0);
                B256::try_from(bytes).map_err(|_| StoreError::codec("malformed block hash", None))
            })
            .transpose()
    }

    fn prune_block_hashes(&self, chain_id: u64, below: u64) -> Result<(), StoreError> {
        let below = i64::try_from(below).unwrap_or(i64::MAX);
        self.execute(
            "DELETE FROM block_hashes WHERE chain_id = $1 AND number < $2",
            params![int(chain_id, "chain id")?, below],
        )
        .map(drop)
    }

    fn put_send(&self, chain_id: u64, key: &[u8], record: &[u8]) -> Result<(), StoreError> {
        self.fenced_send(
            "INSERT INTO sends (chain_id, key, record) VALUES ($1, $2, $3) \
             ON CONFLICT (chain_id, key) DO UPDATE SET record = EXCLUDED.record",
            params![int(chain_id, "chain id")?, key.to_vec(), record.to_vec()],
        )
    }

    fn sends(&self, chain_id: u64, prefix: &[u8]) -> Result<Vec<SendEntry>, StoreError> {
        let Ok(chain) = i64::try_from(chain_id) else { return Ok(vec![]) };
        match prefix_end(prefix) {
            Some(end) => self.entries(
                "SELECT key, record FROM sends WHERE chain_id = $1 AND key >= $2 AND key < $3 ORDER BY key",
                params![chain, prefix.to_vec(), end],
            ),
            None => self.entries(
                "SELECT key, record FROM sends WHERE chain_id = $1 AND key >= $2 ORDER BY key",
                params![chain, prefix.to_vec()],
            ),
        }
    }

    fn delete_send(&self, chain_id: u64, key: &[u8]) -> Result<(), StoreError> {
        self.fenced_send(
            "DELETE FROM sends WHERE chain_id = $1 AND key = $2",
            params![int(chain_id, "chain id")?, key.to_vec()],
        )
    }

    fn watch_marks(&self, chain_id: u64) -> Result<Vec<SendEntry>, StoreError> {
        self.entries(
            "SELECT key, value FROM watch_marks WHERE chain_id = $1 ORDER BY key",
            params![i64::try_from(chain_id).unwrap_or(-1)],
        )
    }

    fn put_watch_marks(&self, chain_id: u64, marks: &[SendEntry]) -> Result<(), StoreError> {
        let chain = int(chain_id, "chain id")?;
        let marks = marks.to_vec();
        let fence = self.fence_for_write()?;
        self.transact(fence, move |tx| {
            Box::pin(async move {
                for (key, value) in &marks {
                    tx.execute(
                        "INSERT INTO watch_marks (chain_id, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (chain_id, key) DO UPDATE SET value = EXCLUDED.value",
                        &[&chain, key, value],
                    )
                    .await
                    .map_err(pg)?;
                }
                Ok(())
            })
        })
    }

    fn records(&self, chain_id: u64) -> Result<Vec<SendEntry>, StoreError> {
        self.entries(
            "SELECT key, value FROM family_records WHERE chain_id = $1 ORDER BY key",
            params![i64::try_from(chain_id).unwrap_or(-1)],
        )
    }

    fn put_record(&self, chain_id: u64, key: &[u8], record: &[u8]) -> Result<(), StoreError> {
        self.fenced_send(
            "INSERT INTO family_records (chain_id, key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (chain_id, key) DO UPDATE SET value = EXCLUDED.value",
            params![int(chain_id, "chain id")?, key.to_vec(), record.to_vec()],
        )
    }

    fn delete_record(&self, chain_id: u64, key: &[u8]) -> Result<(), StoreError> {
        self.fenced_send(
            "DELETE FROM family_records WHERE chain_id = $1 AND key = $2",
            params![int(chain_id, "chain id")?, key.to_vec()],
        )
    }

    fn may_sign(&self) -> Result<(), StoreError> {
        match &*self.fence() {
            None => Ok(()), // not leasing: one instance on its own database
            Some(fence) if fence.live().is_some() => Ok(()),
            Some(_) => Err(StoreError::Fenced),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_scan_ends_at_the_first_key_past_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }
}
