//! What webhooks and idempotent creation persist: endpoints, one delivery record per (endpoint, event)
//! with its attempts, and the stored first response of each `Idempotency-Key`.

use relayer_types::Session;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A registered webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// Its id (a UUID).
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Event types it receives; `*` is every type.
    pub events: Vec<String>,
    /// The integrator's note.
    pub description: Option<String>,
    /// The signing secret (`whsec_…`); shown once, when the endpoint is created. Kept as is: signing
    /// needs it (a hash would not do). Never printed (`Debug` redacts it).
    pub secret: relayer_util::Secret,
    /// Unix seconds.
    pub created_at: u64,
    /// Why deliveries to it stopped (it answered `410 Gone`); `None`: active.
    pub disabled: Option<String>,
}

impl WebhookEndpoint {
    /// Whether it receives events of type `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == kind)
    }
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet; the next attempt is due at this time (unix milliseconds).
    Pending {
        /// Unix milliseconds.
        next_attempt_ms: u64,
    },
    /// The endpoint answered 2xx.
    Delivered {
        /// Unix milliseconds.
        at_ms: u64,
    },
    /// Every retry failed, or the endpoint was disabled or deleted.
    Failed {
        /// Unix milliseconds.
        at_ms: u64,
    },
}

/// One try at delivering an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// When it started, unix milliseconds.
    pub at_ms: u64,
    /// The HTTP status, if the endpoint answered.
    pub status: Option<u16>,
    /// What went wrong without an answer (timeout, connection refused).
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// One event on its way to one endpoint. The body is stored exactly as it is sent and signed, so every
/// retry carries the same bytes and the same event id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDelivery {
    /// The endpoint.
    pub endpoint_id: String,
    /// The event's id (a UUID), the same in every attempt: receivers deduplicate on it.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// When the event was created (the transition), unix milliseconds.
    pub created_ms: u64,
    /// The JSON body.
    pub body: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Every attempt so far, oldest first.
    pub attempts: Vec<AttemptRecord>,
}

/// The first response to a request with an `Idempotency-Key`, replayed for a retry of the same request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The key, scoped by the route it was used on.
    pub key: String,
    /// SHA-256 (hex) of the request body: the same key with another body is refused.
    pub request_sha256: String,
    /// The response's HTTP status.
    pub status: u16,
    /// The response's body.
    pub body: String,
    /// Unix seconds.
    pub created_at: u64,
}

/// What an idempotent request creates, stored in one commit with its [`IdempotencyRecord`].
#[derive(Debug, Clone, Copy)]
pub enum Creation<'a> {
    /// A new session.
    Session(&'a Session),
    /// A new webhook endpoint.
    Webhook(&'a WebhookEndpoint),
}

/// Persistence of webhooks and idempotency keys. Every write is durable before the call returns.
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores (or replaces) an endpoint.
    fn put_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;

    /// Every endpoint, in id order.
    fn webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Removes an endpoint and its deliveries; false if there was none.
    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError>;

    /// Stores the deliveries of outbox entry `seq` and removes the entry, in one commit: an event is
    /// fanned out to its endpoints exactly once, crash or not.
    fn fan_out(&self, seq: u64, deliveries: &[EventDelivery]) -> Result<(), StoreError>;

    /// Stores (or replaces) one delivery; false, writing nothing, if its endpoint no longer exists.
    fn put_delivery(&self, delivery: &EventDelivery) -> Result<bool, StoreError>;

    /// The newest deliveries of an endpoint, newest first, at most `limit`.
    fn deliveries(&self, endpoint_id: &str, limit: usize) -> Result<Vec<EventDelivery>, StoreError>;

    /// Every delivery still pending, of every endpoint.
    fn pending_deliveries(&self) -> Result<Vec<EventDelivery>, StoreError>;

    /// Asks for `delivery` to be sent as it is (a test event, a redelivery: pending, due now); false if
    /// its endpoint does not exist. Where several processes share the store, the request is queued for
    /// the one that delivers, which alone writes deliveries ([`WebhookStore::delivery_requests`]); a
    /// store only one process opens stores the delivery at once (that process delivers it).
    fn request_delivery(&self, delivery: &EventDelivery) -> Result<bool, StoreError> {
        self.put_delivery(delivery)
    }

    /// The numbers of the delivery requests queued after number `after` (0: all), in the order they
    /// committed, at most `limit`, until taken ([`WebhookStore::take_delivery_request`]). `None` for a
    /// store only one process opens (no requests queue).
    fn delivery_requests(&self, after: u64, limit: usize) -> Result<Option<Vec<u64>>, StoreError> {
        let _ = (after, limit);
        Ok(None)
    }

    /// Takes request `seq`, in one commit: forgets it and records its delivery, in the requested state
    /// but with the attempts of a delivery already recorded for that event (a redelivery keeps them).
    /// The delivery as recorded, to be queued; `None` if the request was taken already (by this or an
    /// earlier holder) or its endpoint is gone, so each request is taken once.
    fn take_delivery_request(&self, seq: u64) -> Result<Option<EventDelivery>, StoreError> {
        let _ = seq;
        Ok(None)
    }

    /// Forgets finished (delivered or failed) deliveries of events created before `before_ms`; returns
    /// how many.
    fn prune_deliveries(&self, before_ms: u64) -> Result<usize, StoreError>;

    /// The record of idempotency key `key`, whatever its age.
    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Stores `creation` and `record` in one commit, unless a record of the same key created at or
    /// after `valid_since` (unix seconds) exists: then nothing is written and that record is returned.
    /// An older record of the key is replaced. Fails with `AlreadyExists` if the session id is taken.
    fn create_idempotent(
        &self,
        creation: Creation<'_>,
        record: &IdempotencyRecord,
        valid_since: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Forgets idempotency records created before `before` (unix seconds); returns how many.
    fn prune_idempotency(&self, before: u64) -> Result<usize, StoreError>;
}
