//! Webhook endpoints, their deliveries and idempotency keys in PostgreSQL. A delivery's endpoint is a
//! foreign key (deleting the endpoint deletes its deliveries); a write of a delivery first locks its
//! endpoint's row (`FOR KEY SHARE`), so an endpoint deleted meanwhile gets nothing instead of failing
//! the write.

use tokio_postgres::Transaction;

use super::{Params, PgStore, int, pg};
use crate::{
    Creation, DeliveryState, EventDelivery, IdempotencyRecord, StoreError, WebhookEndpoint, WebhookStore,
    sled_store::{decode, encode},
};

/// A delivery's row values.
struct DeliveryRow {
    endpoint_id: String,
    created_ms: i64,
    event_id: String,
    pending: bool,
    body: Vec<u8>,
}

impl DeliveryRow {
    fn of(d: &EventDelivery) -> Result<Self, StoreError> {
        Ok(Self {
            endpoint_id: d.endpoint_id.clone(),
            created_ms: int(d.created_ms, "event time")?,
            event_id: d.event_id.clone(),
            pending: matches!(d.state, DeliveryState::Pending { .. }),
            body: encode(d)?,
        })
    }

    async fn upsert(&self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO deliveries (endpoint_id, created_ms, event_id, pending, body) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (endpoint_id, created_ms, event_id) DO UPDATE SET pending = EXCLUDED.pending, body = EXCLUDED.body",
            &[&self.endpoint_id, &self.created_ms, &self.event_id, &self.pending, &self.body],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }
}

/// Which of `ids` are endpoints, each locked against deletion until the transaction ends.
async fn lock_endpoints(tx: &Transaction<'_>, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let rows =
        tx.query("SELECT id FROM webhooks WHERE id = ANY($1) FOR KEY SHARE", &[&ids]).await.map_err(pg)?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// Stores (or replaces) an endpoint in `tx`; the instance that delivers starts (or stops) its task as
/// soon as `tx` commits.
async fn upsert_webhook(tx: &Transaction<'_>, id: &String, body: &Vec<u8>) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO webhooks (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
        &[id, body],
    )
    .await
    .map_err(pg)?;
    super::changed(tx).await
}

impl WebhookStore for PgStore {
    fn put_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        let (id, body) = (endpoint.id.clone(), encode(endpoint)?);
        self.transact(None, move |tx| Box::pin(async move { upsert_webhook(tx, &id, &body).await }))
    }

    fn webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let rows = self.query("SELECT body FROM webhooks ORDER BY id", params![])?;
        rows.iter().map(|r| decode(r.get::<_, &[u8]>(0))).collect()
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.transact(None, move |tx| {
            Box::pin(async move {
                let deleted = tx.execute("DELETE FROM webhooks WHERE id = $1", &[&id]).await.map_err(pg)?;
                // The instance that delivers stops its task for the endpoint at once.
                super::changed(tx).await?;
                Ok(deleted > 0)
            })
        })
    }

    fn fan_out(&self, seq: u64, fanned: &[EventDelivery]) -> Result<(), StoreError> {
        let seq = int(seq, "outbox sequence")?;
        let rows = fanned.iter().map(DeliveryRow::of).collect::<Result<Vec<_>, _>>()?;
        // Through the holder's view, only while it holds the lease: a former holder's late fan-out is
        // refused, and the entry stays for the new holder.
        let fence = self.holders_fence()?;
        self.transact(fence, move |tx| {
            Box::pin(async move {
                // The entry leaves the outbox first: a second fan-out of it (another instance's dispatcher
                // overlapping during a handover) finds it gone and writes nothing, so it cannot reset a
                // delivery already made back to pending.
                if tx.execute("DELETE FROM outbox WHERE seq = $1", &[&seq]).await.map_err(pg)? == 0 {
                    return Ok(());
                }
                let ids: Vec<String> = rows.iter().map(|r| r.endpoint_id.clone()).collect();
                let live = lock_endpoints(tx, &ids).await?;
                for row in rows.iter().filter(|r| live.contains(&r.endpoint_id)) {
                    row.upsert(tx).await?;
                }
                Ok(())
            })
        })
    }

    fn put_delivery(&self, delivery: &EventDelivery) -> Result<bool, StoreError> {
        let row = DeliveryRow::of(delivery)?;
        // Through the holder's view, only while it holds the lease: a paused former holder cannot write
        // an old state over what the new holder recorded.
        let fence = self.holders_fence()?;
        self.transact(fence, move |tx| {
            Box::pin(async move {
                if lock_endpoints(tx, std::slice::from_ref(&row.endpoint_id)).await?.is_empty() {
                    return Ok(false);
                }
                row.upsert(tx).await?;
                Ok(true)
            })
        })
    }

    fn request_delivery(&self, delivery: &EventDelivery) -> Result<bool, StoreError> {
        let (endpoint, body) = (delivery.endpoint_id.clone(), encode(delivery)?);
        self.transact(None, move |tx| {
            Box::pin(async move {
                if lock_endpoints(tx, std::slice::from_ref(&endpoint)).await?.is_empty() {
                    return Ok(false);
                }
                // Numbered in commit order, like the outbox: the holder reading "after N" skips none.
                let seq: i64 = tx
                    .query_one(
                        "UPDATE counters SET value = value + 1 WHERE name = 'delivery_requests' RETURNING value",
                        &[],
                    )
                    .await
                    .map_err(pg)?
                    .get(0);
                tx.execute(
                    "INSERT INTO delivery_requests (seq, endpoint_id, body) VALUES ($1, $2, $3)",
                    &[&seq, &endpoint, &body],
                )
                .await
                .map_err(pg)?;
                super::changed(tx).await?;
                Ok(true)
            })
        })
    }

    fn delivery_requests(&self, after: u64, limit: usize) -> Result<Option<Vec<u64>>, StoreError> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT seq FROM delivery_requests WHERE seq > $1 ORDER BY seq LIMIT $2",
            params![after, limit],
        )?;
        rows.iter()
            .map(|r| super::uint(r.get(0), "delivery request number"))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    fn take_delivery_request(&self, seq: u64) -> Result<Option<EventDelivery>, StoreError> {
        let seq = int(seq, "delivery request number")?;
        // Through the holder's view: a former holder takes nothing once another took over.
        let fence = self.holders_fence()?;
        self.transact(fence, move |tx| {
            Box::pin(async move {
                // The endpoint is locked before the request, in the order every other writer (and an
                // endpoint's deletion, which cascades to its requests) takes them: no deadlock.
                let endpoint = tx
                    .query_opt("SELECT endpoint_id FROM delivery_requests WHERE seq = $1", &[&seq])
                    .await
                    .map_err(pg)?;
                let Some(endpoint) = endpoint.map(|r| r.get::<_, String>(0)) else { return Ok(None) };
                if lock_endpoints(tx, std::slice::from_ref(&endpoint)).await?.is_empty() {
                    return Ok(None);
                }
                let taken = tx
                    .query_opt("DELETE FROM delivery_requests WHERE seq = $1 RETURNING body", &[&seq])
                    .await
                    .map_err(pg)?;
                let Some(taken) = taken else { return Ok(None) };
                // A request this build cannot read (another build's) is dropped, said so, rather than
                // holding up every later one.
                let requested: EventDelivery = match decode(taken.get::<_, &[u8]>(0)) {
                    Ok(requested) => requested,
                    Err(error) => {
                        tracing::error!(seq, error = %relayer_util::causes(&error), "a webhook delivery request cannot be read; dropped");
                        return Ok(None);
                    }
                };
                let row = DeliveryRow::of(&requested)?;
                let recorded = tx
                    .query_opt(
                        "SELECT body FROM deliveries WHERE endpoint_id = $1 AND created_ms = $2 AND event_id = $3 \
                         FOR UPDATE",
                        &[&row.endpoint_id, &row.created_ms, &row.event_id],
                    )
                    .await
                    .map_err(pg)?;
                let delivery = match recorded.map(|r| decode::<EventDelivery>(r.get::<_, &[u8]>(0))) {
                    Some(Ok(recorded)) => EventDelivery { state: requested.state, ..recorded },
                    _ => requested,
                };
                DeliveryRow::of(&delivery)?.upsert(tx).await?;
                Ok(Some(delivery))
            })
        })
    }

    fn deliveries(&self, endpoint_id: &str, limit: usize) -> Result<Vec<EventDelivery>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT body FROM deliveries WHERE endpoint_id = $1 ORDER BY created_ms DESC, event_id DESC LIMIT $2",
            params![endpoint_id.to_owned(), limit],
        )?;
        rows.iter().map(|r| decode(r.get::<_, &[u8]>(0))).collect()
    }

    fn pending_deliveries(&self) -> Result<Vec<EventDelivery>, StoreError> {
        let rows = self.query(
            "SELECT body FROM deliveries WHERE pending ORDER BY endpoint_id, created_ms, event_id",
            params![],
        )?;
        rows.iter().map(|r| decode(r.get::<_, &[u8]>(0))).collect()
    }

    fn prune_deliveries(&self, before_ms: u64) -> Result<usize, StoreError> {
        let before = i64::try_from(before_ms).unwrap_or(i64::MAX);
        let pruned =
            self.execute("DELETE FROM deliveries WHERE created_ms < $1 AND NOT pending", params![before])?;
        Ok(usize::try_from(pruned).unwrap_or(usize::MAX))
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let rows = self.query("SELECT body FROM idempotency WHERE key = $1", params![key.to_owned()])?;
        rows.first().map(|r| decode(r.get::<_, &[u8]>(0))).transpose()
    }

    fn create_idempotent(
        &self,
        creation: Creation<'_>,
        record: &IdempotencyRecord,
        valid_since: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        enum Owned {
            Session(Box<relayer_types::Session>),
            Webhook(String, Vec<u8>),
        }
        let creation = match creation {
            Creation::Session(s) => Owned::Session(Box::new(s.clone())),
            Creation::Webhook(w) => Owned::Webhook(w.id.clone(), encode(w)?),
        };
        let (key, body) = (record.key.clone(), encode(record)?);
        let created_at = int(record.created_at, "creation time")?;
        let valid_since = i64::try_from(valid_since).unwrap_or(i64::MAX);
        self.transact(None, move |tx| {
            Box::pin(async move {
                // Claims the key, or replaces a record older than the window: one statement, so of two
                // concurrent requests with one key (in two processes too) the second waits for the first's
                // commit and then finds its record.
                let claimed = tx
                    .query_opt(
                        "INSERT INTO idempotency (key, created_at, body) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET created_at = EXCLUDED.created_at, body = EXCLUDED.body \
                     WHERE idempotency.created_at < $4 RETURNING key",
                        &[&key, &created_at, &body, &valid_since],
                    )
                    .await
                    .map_err(pg)?;
                if claimed.is_none() {
                    let row = tx
                        .query_one("SELECT body FROM idempotency WHERE key = $1", &[&key])
                        .await
                        .map_err(pg)?;
                    return Ok(Some(decode(row.get::<_, &[u8]>(0))?));
                }
                match &creation {
                    Owned::Session(session) => super::insert_in(tx, session).await?,
                    Owned::Webhook(id, value) => upsert_webhook(tx, id, value).await?,
                }
                Ok(None)
            })
        })
    }

    fn prune_idempotency(&self, before: u64) -> Result<usize, StoreError> {
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        let pruned = self.execute("DELETE FROM idempotency WHERE created_at < $1", params![before])?;
        Ok(usize::try_from(pruned).unwrap_or(usize::MAX))
    }
}
