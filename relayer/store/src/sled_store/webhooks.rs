//! Webhook endpoints, their deliveries and idempotency keys in sled.

use super::*;

impl WebhookStore for SledDb {
    fn put_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        self.webhooks.insert(endpoint.id.as_bytes(), encode(endpoint)?).map_err(backend)?;
        self.flush()
    }

    fn webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.webhooks.iter().map(|entry| decode(&entry.map_err(backend)?.1)).collect()
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let keys: Vec<_> = self
            .deliveries
            .scan_prefix(delivery_prefix(id))
            .keys()
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        let existed = (&self.webhooks, &self.deliveries)
            .transaction(|(webhooks, deliveries)| {
                for key in &keys {
                    deliveries.remove(key.as_ref())?;
                }
                Ok(webhooks.remove(id.as_bytes())?.is_some())
            })
            .map_err(transaction)?;
        self.flush()?;
        Ok(existed)
    }

    fn fan_out(&self, seq: u64, fanned: &[EventDelivery]) -> Result<(), StoreError> {
        let values =
            fanned.iter().map(|d| Ok((delivery_key(d), encode(d)?))).collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<&str> = fanned.iter().map(|d| d.endpoint_id.as_str()).collect();
        (&self.outbox, &self.deliveries, &self.webhooks)
            .transaction(|(outbox, deliveries, webhooks)| {
                for ((key, value), id) in values.iter().zip(&ids) {
                    // An endpoint deleted since the caller listed them gets nothing.
                    if webhooks.get(id.as_bytes())?.is_some() {
                        deliveries.insert(key.as_slice(), value.as_slice())?;
                    }
                }
                outbox.remove(&seq.to_be_bytes()[..])?;
                Ok(())
            })
            .map_err(transaction)?;
        self.flush()
    }

    fn put_delivery(&self, delivery: &EventDelivery) -> Result<bool, StoreError> {
        let (key, value) = (delivery_key(delivery), encode(delivery)?);
        let stored = (&self.webhooks, &self.deliveries)
            .transaction(|(webhooks, deliveries)| {
                // Checked in the transaction: a delivery finishing while its endpoint is deleted leaves
                // no orphan record behind.
                if webhooks.get(delivery.endpoint_id.as_bytes())?.is_none() {
                    return Ok(false);
                }
                deliveries.insert(key.as_slice(), value.as_slice())?;
                Ok(true)
            })
            .map_err(transaction)?;
        self.flush()?;
        Ok(stored)
    }

    fn deliveries(&self, endpoint_id: &str, limit: usize) -> Result<Vec<EventDelivery>, StoreError> {
        self.deliveries
            .scan_prefix(delivery_prefix(endpoint_id))
            .rev()
            .take(limit)
            .map(|entry| decode(&entry.map_err(backend)?.1))
            .collect()
    }

    fn pending_deliveries(&self) -> Result<Vec<EventDelivery>, StoreError> {
        let mut pending = vec![];
        for entry in self.deliveries.iter() {
            let delivery: EventDelivery = decode(&entry.map_err(backend)?.1)?;
            if matches!(delivery.state, DeliveryState::Pending { .. }) {
                pending.push(delivery);
            }
        }
        Ok(pending)
    }

    fn prune_deliveries(&self, before_ms: u64) -> Result<usize, StoreError> {
        self.prune(&self.deliveries, |d: &EventDelivery| {
            d.created_ms < before_ms && !matches!(d.state, DeliveryState::Pending { .. })
        })
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.idempotency.get(key.as_bytes()).map_err(backend)?.map(|v| decode(&v)).transpose()
    }

    fn create_idempotent(
        &self,
        creation: Creation<'_>,
        record: &IdempotencyRecord,
        valid_since: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let encoded = encode(record)?;
        let key = record.key.as_bytes();
        // The key's record is read and written in the same transaction as the creation: of two
        // concurrent requests with one key (even in two processes), one creates and the other replays.
        let taken = |idempotency: &TransactionalTree| -> TxResult<Option<IdempotencyRecord>> {
            let Some(bytes) = idempotency.get(key)? else { return Ok(None) };
            let stored: IdempotencyRecord = decode(&bytes).map_err(abort)?;
            Ok((stored.created_at >= valid_since).then_some(stored))
        };
        let existing = match creation {
            Creation::Session(session) => {
                let entries = IndexEntries::of(session);
                (&self.sessions, &self.expiring, &self.counts, &self.idempotency)
                    .transaction(|(sessions, expiring, counts, idempotency)| {
                        if let Some(stored) = taken(idempotency)? {
                            return Ok(Some(stored));
                        }
                        insert_new(sessions, expiring, counts, session, &entries)?;
                        idempotency.insert(key, encoded.as_slice())?;
                        Ok(None)
                    })
                    .map_err(transaction)?
            }
            Creation::Webhook(endpoint) => {
                let value = encode(endpoint)?;
                (&self.webhooks, &self.idempotency)
                    .transaction(|(webhooks, idempotency)| {
                        if let Some(stored) = taken(idempotency)? {
                            return Ok(Some(stored));
                        }
                        webhooks.insert(endpoint.id.as_bytes(), value.as_slice())?;
                        idempotency.insert(key, encoded.as_slice())?;
                        Ok(None)
                    })
                    .map_err(transaction)?
            }
        };
        if existing.is_none() {
            self.flush()?;
        }
        Ok(existing)
    }

    fn prune_idempotency(&self, before: u64) -> Result<usize, StoreError> {
        self.prune(&self.idempotency, |r: &IdempotencyRecord| r.created_at < before)
    }
}
