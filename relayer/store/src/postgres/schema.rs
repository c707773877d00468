//! The tables, as numbered migrations embedded in the binary. Each process applies the ones its database
//! lacks when it connects, in one transaction under a transaction-scoped advisory lock (released at
//! commit or when the connection dies, so it neither lingers after a crash nor breaks behind a
//! transaction-pooling proxy, unlike a session lock), and refuses a database whose schema is newer than
//! it knows: a newer build may store what this one would misread.

use deadpool_postgres::Pool;

use super::{pg, pool_error};
use crate::StoreError;

/// Migration `n + 1` is `MIGRATIONS[n]`; the schema number is how many are applied. Never edit one that
/// has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    // 1: everything sled keeps, as tables. Text keys sort by bytes (`COLLATE "C"`), as sled's do.
    r#"
    CREATE TABLE sessions (
        id bytea PRIMARY KEY,
        version bigint NOT NULL,
        schema integer NOT NULL,
        status text NOT NULL,
        expires_at bigint,
        unsettled boolean NOT NULL,
        body bytea NOT NULL
    );
    CREATE INDEX sessions_expiring ON sessions (expires_at, id) WHERE expires_at IS NOT NULL;
    CREATE INDEX sessions_unsettled ON sessions (id) WHERE unsettled;
    CREATE INDEX sessions_status ON sessions (status);
    CREATE TABLE session_blocks (
        chain_id bigint NOT NULL,
        block bigint NOT NULL,
        session_id bytea NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        PRIMARY KEY (chain_id, block, session_id)
    );
    CREATE INDEX session_blocks_session ON session_blocks (session_id);
    CREATE TABLE receivers (key bytea PRIMARY KEY, session_id bytea NOT NULL, seq bigint NOT NULL UNIQUE);
    CREATE TABLE cursors (chain_id bigint PRIMARY KEY, body bytea NOT NULL);
    CREATE TABLE block_hashes (
        chain_id bigint NOT NULL,
        number bigint NOT NULL,
        hash bytea NOT NULL,
        PRIMARY KEY (chain_id, number)
    );
    CREATE TABLE sends (chain_id bigint NOT NULL, key bytea NOT NULL, record bytea NOT NULL, PRIMARY KEY (chain_id, key));
    CREATE TABLE watch_marks (chain_id bigint NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (chain_id, key));
    CREATE TABLE family_records (chain_id bigint NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (chain_id, key));
    CREATE TABLE counters (name text COLLATE "C" PRIMARY KEY, value bigint NOT NULL);
    INSERT INTO counters (name, value) VALUES ('outbox', 0), ('receivers', 0);
    CREATE TABLE outbox (seq bigint PRIMARY KEY, body bytea NOT NULL);
    CREATE TABLE webhooks (id text COLLATE "C" PRIMARY KEY, body bytea NOT NULL);
    CREATE TABLE deliveries (
        endpoint_id text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        created_ms bigint NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        pending boolean NOT NULL,
        body bytea NOT NULL,
        PRIMARY KEY (endpoint_id, created_ms, event_id)
    );
    CREATE INDEX deliveries_pending ON deliveries (endpoint_id) WHERE pending;
    CREATE TABLE idempotency (key text COLLATE "C" PRIMARY KEY, created_at bigint NOT NULL, body bytea NOT NULL);
    CREATE TABLE probe (id integer PRIMARY KEY, at bigint NOT NULL);
    CREATE TABLE leases (
        name text COLLATE "C" PRIMARY KEY,
        holder text NOT NULL,
        epoch bigint NOT NULL,
        expires_at timestamptz NOT NULL,
        acquired_at timestamptz NOT NULL
    );
    "#,
    // 2: deliveries asked for (test events, redeliveries) through an instance that does not deliver,
    // queued for the one that does, numbered in commit order like the outbox.
    r#"
    CREATE TABLE delivery_requests (
        seq bigint PRIMARY KEY,
        endpoint_id text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        body bytea NOT NULL
    );
    INSERT INTO counters (name, value) VALUES ('delivery_requests', 0);
    "#,
];

/// The schema this build writes.
pub(super) const SCHEMA: u32 = MIGRATIONS.len() as u32;

/// Any fixed number: the advisory lock that serialises migrations of one database.
const MIGRATION_LOCK: i64 = 0x7265_6c61_7965_7201;

/// Applies the migrations the database lacks, or refuses a newer one.
pub(super) async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(pg)?;
    // A migration may read a whole table: a statement limit just inside the call's own deadline (so the
    // server gives up no later than this side), and a bounded wait for the locks that running instances
    // hold (their transactions are short).
    tx.batch_execute("SET LOCAL statement_timeout = '590s'; SET LOCAL lock_timeout = '60s'")
        .await
        .map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS relayer_schema (version integer NOT NULL)")
        .await
        .map_err(pg)?;
    let found = match tx.query_opt("SELECT version FROM relayer_schema", &[]).await.map_err(pg)? {
        Some(row) => u32::try_from(row.get::<_, i32>(0))
            .map_err(|_| StoreError::codec("malformed schema version", None))?,
        None => {
            tx.execute("INSERT INTO relayer_schema (version) VALUES (0)", &[]).await.map_err(pg)?;
            0
        }
    };
    if found > SCHEMA {
        return Err(StoreError::Schema { found, supported: SCHEMA });
    }
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql).await.map_err(pg)?;
        tracing::info!(to = n + 1, "store schema migrated");
    }
    let version = i32::try_from(SCHEMA).unwrap_or(i32::MAX);
    tx.execute("UPDATE relayer_schema SET version = $1", &[&version]).await.map_err(pg)?;
    tx.commit().await.map_err(pg)
}
