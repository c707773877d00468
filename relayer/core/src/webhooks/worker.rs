//! Delivery: a dispatcher moves each outbox event into one delivery record per subscribed endpoint (in
//! the same commit that removes it from the outbox), and one task per endpoint sends them, at most
//! [`WebhookSettings::max_in_flight`] at a time, each with a timeout. A slow or dead endpoint therefore
//! only ever holds its own task and its own permits: other endpoints and the relayer's own work go on.
//!
//! At least once: a delivery is marked delivered only after a 2xx, and only after that mark is durable is
//! it forgotten; a crash in between sends it again after the restart, with the same event id and body.
//! Failures are retried on [`WebhookSettings::retry_schedule`] (with ±10% jitter) and then marked
//! failed; `410 Gone` disables the endpoint.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use relayer_store::{AttemptRecord, DeliveryState, EventDelivery, Store, StoreError, WebhookEndpoint};
use tokio::{sync::mpsc, task::JoinSet};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::unix_now_ms as now_ms;

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Delay before each retry: after the first failed attempt the first delay, and so on; once they are
    /// used up the event is marked failed.
    pub retry_schedule: Vec<Duration>,
    /// Time limit of one attempt (connect, send, answer).
    pub timeout: Duration,
    /// Attempts in flight at once, per endpoint.
    pub max_in_flight: usize,
    /// Which destinations deliveries may reach (see [`super::egress`]): public addresses always,
    /// loopback and private networks only where the deployment allows them.
    pub egress: super::Egress,
    /// How long finished deliveries stay listed.
    pub retention: Duration,
}

impl Default for WebhookSettings {
    /// Standard Webhooks' example schedule, stretched to about three days: immediately, then 5 s, 5 min,
    /// 30 min, 2 h, 5 h, then every 10 h (2.8 days in all).
    fn default() -> Self {
        let (s, m, h) = (1, 60, 3600);
        let schedule = [5 * s, 5 * m, 30 * m, 2 * h, 5 * h, 10 * h, 10 * h, 10 * h, 10 * h, 10 * h, 10 * h];
        Self {
            retry_schedule: schedule.into_iter().map(Duration::from_secs).collect(),
            timeout: Duration::from_secs(10),
            max_in_flight: 4,
            egress: super::Egress::default(),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Latency buckets of the delivery histogram, in milliseconds.
pub const LATENCY_BUCKETS_MS: [u64; 12] =
    [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 3_600_000];

/// Delivery figures for `/metrics`.
#[derive(Debug, Default)]
pub struct WebhookMetrics {
    /// Deliveries waiting or in flight.
    pub pending: AtomicI64,
    /// Deliveries that got a 2xx.
    pub delivered: AtomicU64,
    /// Deliveries given up on (retries used up, endpoint disabled).
    pub failed: AtomicU64,
    /// Attempts by outcome: 2xx, 4xx, 5xx, other status, no answer.
    pub attempts: [AtomicU64; 5],
    /// Latency from the event's creation to its 2xx: counts per bucket of [`LATENCY_BUCKETS_MS`] (not
    /// cumulative; the last slot is above every bucket).
    pub latency: [AtomicU64; LATENCY_BUCKETS_MS.len() + 1],
    /// Sum of those latencies, milliseconds.
    pub latency_sum_ms: AtomicU64,
}

/// Names of [`WebhookMetrics::attempts`]' slots.
pub const ATTEMPT_RESULTS: [&str; 5] = ["2xx", "4xx", "5xx", "other", "no_answer"];

impl WebhookMetrics {
    fn record_attempt(&self, status: Option<u16>) {
        let slot = match status {
            Some(200..=299) => 0,
            Some(400..=499) => 1,
            Some(500..=599) => 2,
            Some(_) => 3,
            None => 4,
        };
        self.attempts[slot].fetch_add(1, Ordering::Relaxed);
    }

    fn record_latency(&self, ms: u64) {
        let slot = LATENCY_BUCKETS_MS.iter().position(|b| ms <= *b).unwrap_or(LATENCY_BUCKETS_MS.len());
        self.latency[slot].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// Why a webhook request could not be served.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No endpoint (or no event of it) with that id.
    #[error("not found")]
    NotFound,
    /// The endpoint was disabled (it answered 410 Gone).
    #[error("the endpoint is disabled: {0}")]
    Disabled(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running webhook deliveries.
pub struct Webhooks {
    store: Arc<dyn Store>,
    settings: WebhookSettings,
    client: reqwest::Client,
    /// One sender per active endpoint's task, and when the task started.
    workers: Mutex<HashMap<String, (mpsc::UnboundedSender<EventDelivery>, Instant)>>,
    /// The store deliveries are recorded through, once this instance delivers ([`Webhooks::start`]): of
    /// several sharing a store, only the holder of the signing lease does, through its fenced view
    /// (the database refuses its writes once another instance took over). The others store what
    /// their API is asked for (endpoints, and requests for test events and redeliveries), which the
    /// one delivering picks up.
    delivering: Mutex<Option<Arc<dyn Store>>>,
    /// Woken when a commit wrote outbox events.
    outbox: Arc<tokio::sync::Notify>,
    /// Figures for `/metrics`.
    pub metrics: WebhookMetrics,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Webhooks {
    /// Deliveries over `store`, woken by `outbox`, their tasks owned by `tasks` and stopped by `cancel`.
    pub fn new(
        store: Arc<dyn Store>,
        settings: WebhookSettings,
        outbox: Arc<tokio::sync::Notify>,
        cancel: CancellationToken,
        tasks: TaskTracker,
    ) -> eyre::Result<Arc<Self>> {
        let client = delivery_client(&settings)?;
        Ok(Arc::new(Self {
            store,
            settings,
            client,
            workers: Mutex::default(),
            delivering: Mutex::default(),
            outbox,
            metrics: WebhookMetrics::default(),
            cancel,
            tasks,
        }))
    }

    /// The settings.
    pub const fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// Starts delivering, recording through `store` (the same store, or the holder's fenced view of it):
    /// a task per active endpoint with its pending deliveries, and the dispatcher.
    pub fn start(self: &Arc<Self>, store: Arc<dyn Store>) -> Result<(), StoreError> {
        *lock(&self.delivering) = Some(store);
        let mut pending: HashMap<String, Vec<EventDelivery>> = HashMap::new();
        for delivery in self.store.pending_deliveries()? {
            pending.entry(delivery.endpoint_id.clone()).or_default().push(delivery);
        }
        for endpoint in self.store.webhooks()? {
            if endpoint.disabled.is_some() {
                // Fanned out while the endpoint was being disabled: they will never be sent.
                for mut delivery in pending.remove(&endpoint.id).unwrap_or_default() {
                    delivery.state = DeliveryState::Failed { at_ms: now_ms() };
                    self.recorder().put_delivery(&delivery)?;
                }
                continue;
            }
            let queued = pending.remove(&endpoint.id).unwrap_or_default();
            // A start tried again after a failure halfway keeps the tasks it started.
            if !lock(&self.workers).contains_key(&endpoint.id) {
                self.spawn_worker(endpoint, queued);
            }
        }
        let this = Arc::clone(self);
        // Only the instance that delivers listens for changes: a listener that stops reading (a paused
        // standby) would hold up the database's notification queue for everyone.
        let changes = self.store.changes();
        self.tasks.spawn(async move { this.dispatch(changes).await });
        let this = Arc::clone(self);
        self.tasks.spawn(async move { this.prune().await });
        Ok(())
    }

    fn spawn_worker(self: &Arc<Self>, endpoint: WebhookEndpoint, queued: Vec<EventDelivery>) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.metrics.pending.fetch_add(i64::try_from(queued.len()).unwrap_or(i64::MAX), Ordering::Relaxed);
        for delivery in queued {
            let _ = tx.send(delivery);
        }
        let started = Instant::now();
        lock(&self.workers).insert(endpoint.id.clone(), (tx, started));
        let this = Arc::clone(self);
        let cancel = self.cancel.child_token();
        self.tasks.spawn(async move { this.run_endpoint(endpoint, rx, cancel, started).await });
    }

    /// A new endpoint: its task starts (it has nothing to deliver yet).
    pub fn endpoint_added(self: &Arc<Self>, endpoint: WebhookEndpoint) {
        // The dispatcher may have started it already (it starts one for every stored endpoint it lacks).
        if lock(&self.delivering).is_some() && !lock(&self.workers).contains_key(&endpoint.id) {
            self.spawn_worker(endpoint, vec![]);
        }
    }

    /// Deletes an endpoint and its deliveries; its task stops (an attempt in flight is abandoned).
    pub fn delete_endpoint(&self, id: &str) -> Result<bool, StoreError> {
        let existed = self.store.delete_webhook(id)?;
        lock(&self.workers).remove(id);
        Ok(existed)
    }

    /// Queues `delivery` on its endpoint's task; false if the endpoint has none (deleted or disabled).
    fn enqueue(&self, delivery: EventDelivery) -> bool {
        let workers = lock(&self.workers);
        let Some((tx, _)) = workers.get(&delivery.endpoint_id) else { return false };
        self.metrics.pending.fetch_add(1, Ordering::Relaxed);
        if tx.send(delivery).is_err() {
            self.metrics.pending.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Sends a test event (`isTestEvent: true`) of `event_type` carrying `session` to endpoint `id`.
    pub fn send_test(
        &self,
        id: &str,
        event_type: super::EventType,
        session: serde_json::Value,
    ) -> Result<EventDelivery, WebhookError> {
        let endpoint = self.endpoint(id)?;
        let event_id = super::event_id();
        let now = now_ms();
        let delivery = EventDelivery {
            endpoint_id: endpoint.id,
            body: super::body(&event_id, event_type, now / 1000, session, true),
            event_id,
            event_type: event_type.as_str().into(),
            created_ms: now,
            state: DeliveryState::Pending { next_attempt_ms: now },
            attempts: vec![],
        };
        self.request(&delivery)?;
        Ok(delivery)
    }

    /// Sends event `event_id` to endpoint `id` again, whatever became of it before (same id and body).
    pub fn redeliver(&self, id: &str, event_id: &str) -> Result<EventDelivery, WebhookError> {
        self.endpoint(id)?;
        let mut delivery = self
            .store
            .deliveries(id, usize::MAX)?
            .into_iter()
            .find(|d| d.event_id == event_id)
            .ok_or(WebhookError::NotFound)?;
        delivery.state = DeliveryState::Pending { next_attempt_ms: now_ms() };
        self.request(&delivery)?;
        Ok(delivery)
    }

    /// Has `delivery` sent: queued here where this process alone opens the store; else a request the
    /// instance that delivers picks up (told at once by the store's change notifications), which alone
    /// writes deliveries, so no two instances ever write one.
    fn request(&self, delivery: &EventDelivery) -> Result<(), WebhookError> {
        if !self.store.request_delivery(delivery)? {
            return Err(WebhookError::NotFound);
        }
        if !self.store.shared() {
            self.enqueue(delivery.clone());
        }
        Ok(())
    }

    /// The store deliveries are recorded through (see [`Webhooks::start`]).
    fn recorder(&self) -> Arc<dyn Store> {
        lock(&self.delivering).clone().unwrap_or_else(|| Arc::clone(&self.store))
    }

    /// Endpoint `id`, if it exists (active or disabled).
    pub fn lookup(&self, id: &str) -> Result<WebhookEndpoint, WebhookError> {
        self.store.webhooks()?.into_iter().find(|e| e.id == id).ok_or(WebhookError::NotFound)
    }

    /// Endpoint `id`, if it exists and is active.
    pub fn endpoint(&self, id: &str) -> Result<WebhookEndpoint, WebhookError> {
        let endpoint = self.lookup(id)?;
        match &endpoint.disabled {
            Some(why) => Err(WebhookError::Disabled(why.clone())),
            None => Ok(endpoint),
        }
    }

    /// Moves outbox events into deliveries, whenever a commit wrote some (and every second, in case a
    /// wake-up came before the task waited). On a store other instances share, their commits wake it
    /// too (the store's change notifications): it then also starts and stops endpoint tasks for
    /// endpoints registered or deleted elsewhere, and takes the delivery requests queued there.
    async fn dispatch(self: Arc<Self>, mut changes: Option<tokio::sync::watch::Receiver<u64>>) {
        let mut requests = 0;
        let mut synced = Instant::now();
        loop {
            // An instance that may no longer sign lost the signing lease, and with it the deliveries
            // (it is about to exit; the database refuses its records anyway).
            let fenced = self.store.may_sign().is_err();
            let mut more = false;
            if !fenced {
                match self.fan_out() {
                    Ok(full) => more = full,
                    Err(error) => {
                        tracing::warn!(error = %relayer_util::causes(&error), "webhook outbox dispatch failed; retrying")
                    }
                }
                if self.store.shared() {
                    // Endpoints registered or deleted elsewhere: at most once a second.
                    if synced.elapsed() >= Duration::from_secs(1) {
                        synced = Instant::now();
                        if let Err(error) = self.sync_endpoints() {
                            tracing::warn!(error = %relayer_util::causes(&error), "reading webhook endpoints failed; retrying")
                        }
                    }
                    match self.take_requests(requests) {
                        Ok((last, full)) => (requests, more) = (last, more || full),
                        Err(error) => {
                            tracing::warn!(error = %relayer_util::causes(&error), "taking webhook delivery requests failed; retrying")
                        }
                    }
                }
            }
            if more {
                continue; // a full batch: there may be more
            }
            let changed = async {
                // A signal whose store is gone never fires again.
                let fired = match changes.as_mut() {
                    Some(changes) => changes.changed().await.is_ok(),
                    None => false,
                };
                if !fired {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = self.outbox.notified() => {}
                () = changed => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Takes the delivery requests queued after number `after` (test events and redeliveries asked
    /// through any instance), each in one commit that records its delivery and forgets it, and queues
    /// them. The last number looked at, and whether the batch was full. A failure stops at the request
    /// it failed on: those taken before it are not taken again.
    fn take_requests(self: &Arc<Self>, after: u64) -> Result<(u64, bool), StoreError> {
        const BATCH: usize = 100;
        let Some(requests) = self.store.delivery_requests(after, BATCH)? else { return Ok((after, false)) };
        if requests.is_empty() {
            return Ok((after, false));
        }
        let full = requests.len() == BATCH;
        // Read after the requests: every endpoint a request names (registered before it) has a task.
        self.sync_endpoints()?;
        let recorder = self.recorder();
        let mut last = after;
        for seq in requests {
            if self.cancel.is_cancelled() {
                break; // stopping: what is left stays queued for the next holder
            }
            match recorder.take_delivery_request(seq) {
                Ok(Some(delivery)) => {
                    let endpoint = delivery.endpoint_id.clone();
                    // Its endpoint disabled meanwhile, nothing will send it: recorded as failed. Any other
                    // reason (a task ending as this instance stops) leaves it pending for the next start.
                    if !self.enqueue(delivery.clone())
                        && self.lookup(&endpoint).is_ok_and(|e| e.disabled.is_some())
                    {
                        let failed =
                            EventDelivery { state: DeliveryState::Failed { at_ms: now_ms() }, ..delivery };
                        recorder.put_delivery(&failed)?;
                        self.metrics.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(None) => {} // taken already, or its endpoint deleted
                Err(error) => return if last == after { Err(error) } else { Ok((last, true)) },
            }
            last = seq;
        }
        Ok((last, full))
    }

    /// Starts a task for every active endpoint without one (registered through another instance
    /// sharing the store), and stops the tasks of endpoints deleted meanwhile. The active endpoints.
    fn sync_endpoints(self: &Arc<Self>) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let read = Instant::now();
        let endpoints: Vec<WebhookEndpoint> =
            self.store.webhooks()?.into_iter().filter(|e| e.disabled.is_none()).collect();
        for endpoint in &endpoints {
            if !lock(&self.workers).contains_key(&endpoint.id) {
                self.spawn_worker(endpoint.clone(), vec![]);
            }
        }
        // Dropping a task's sender stops it once its queue is read. A task started after the endpoints
        // were read (one just registered here) stays.
        lock(&self.workers)
            .retain(|id, (_, started)| *started >= read || endpoints.iter().any(|e| &e.id == id));
        Ok(endpoints)
    }

    /// One batch of outbox entries; true if the batch was full.
    fn fan_out(self: &Arc<Self>) -> Result<bool, StoreError> {
        const BATCH: usize = 100;
        let entries = self.store.outbox(0, BATCH)?;
        let recorder = self.recorder();
        if entries.is_empty() {
            return Ok(false);
        }
        let endpoints = self.sync_endpoints()?;
        for entry in &entries {
            let event = &entry.event;
            let (Some(id), Some(body)) = (event.data["id"].as_str(), event.data["body"].as_str()) else {
                tracing::error!(seq = entry.seq, "outbox entry without an event id or body; dropped");
                recorder.fan_out(entry.seq, &[])?;
                continue;
            };
            let deliveries: Vec<EventDelivery> = endpoints
                .iter()
                .filter(|e| e.wants(&event.kind))
                .map(|e| EventDelivery {
                    endpoint_id: e.id.clone(),
                    event_id: id.into(),
                    event_type: event.kind.clone(),
                    created_ms: event.created_at,
                    body: body.into(),
                    state: DeliveryState::Pending { next_attempt_ms: now_ms() },
                    attempts: vec![],
                })
                .collect();
            recorder.fan_out(entry.seq, &deliveries)?;
            for delivery in deliveries {
                self.enqueue(delivery);
            }
        }
        Ok(entries.len() == BATCH)
    }

    /// Forgets finished deliveries past the retention, and idempotency records past their 24 hours, hourly.
    async fn prune(self: Arc<Self>) {
        loop {
            let before = now_ms()
                .saturating_sub(u64::try_from(self.settings.retention.as_millis()).unwrap_or(u64::MAX));
            match self.store.prune_deliveries(before) {
                Ok(0) => {}
                Ok(n) => tracing::info!(deliveries = n, "old webhook deliveries pruned"),
                Err(error) => {
                    tracing::warn!(error = %relayer_util::causes(&error), "pruning webhook deliveries failed")
                }
            }
            let expired = relayer_types::unix_now().saturating_sub(crate::IDEMPOTENCY_KEY_LIFETIME_SECS);
            match self.store.prune_idempotency(expired) {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "expired idempotency keys pruned"),
                Err(error) => {
                    tracing::warn!(error = %relayer_util::causes(&error), "pruning idempotency keys failed")
                }
            }
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
        }
    }

    /// One endpoint's task: its queue by due time, at most `max_in_flight` attempts at once.
    async fn run_endpoint(
        self: Arc<Self>,
        endpoint: WebhookEndpoint,
        mut rx: mpsc::UnboundedReceiver<EventDelivery>,
        cancel: CancellationToken,
        spawned: Instant,
    ) {
        let endpoint = Arc::new(endpoint);
        let mut queue: BTreeMap<(u64, String), EventDelivery> = BTreeMap::new();
        let mut due: HashMap<String, u64> = HashMap::new();
        let mut in_flight: HashSet<String> = HashSet::new();
        let mut attempts: JoinSet<(EventDelivery, Option<u16>)> = JoinSet::new();
        let started = Instant::now();
        loop {
            let next = queue.keys().next().map(|(at, _)| *at);
            let room = attempts.len() < self.settings.max_in_flight.max(1);
            let wait = next
                .map_or(Duration::from_secs(3600), |at| Duration::from_millis(at.saturating_sub(now_ms())));
            tokio::select! {
                () = cancel.cancelled() => break,
                received = rx.recv() => {
                    let Some(delivery) = received else { break }; // deleted
                    let at = match delivery.state {
                        DeliveryState::Pending { next_attempt_ms } => next_attempt_ms,
                        _ => now_ms(),
                    };
                    // A redelivery of an event already queued replaces it (one pending copy at a time).
                    if let Some(old) = due.insert(delivery.event_id.clone(), at)
                        && queue.remove(&(old, delivery.event_id.clone())).is_some()
                    {
                        self.metrics.pending.fetch_sub(1, Ordering::Relaxed);
                    }
                    queue.insert((at, delivery.event_id.clone()), delivery);
                }
                Some(done) = attempts.join_next(), if !attempts.is_empty() => {
                    let Ok((delivery, status)) = done else { continue };
                    in_flight.remove(&delivery.event_id);
                    if self.settle(&endpoint, delivery, status, &mut queue, &mut due).await.is_break() {
                        break;
                    }
                }
                () = tokio::time::sleep(wait), if room && next.is_some() => {
                    if self.store.may_sign().is_err() {
                        // This instance may not sign now (a renewal late, or the lease lost: then it is
                        // about to exit and the new holder delivers). Nothing is sent meanwhile.
                        tokio::select! {
                            () = cancel.cancelled() => break,
                            () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                    let Some(((_, event_id), delivery)) = queue.pop_first() else { continue };
                    due.remove(&event_id);
                    if !in_flight.insert(event_id) {
                        // The same event is on the wire right now: try again in a moment.
                        let at = now_ms() + 1000;
                        due.insert(delivery.event_id.clone(), at);
                        queue.insert((at, delivery.event_id.clone()), delivery);
                        continue;
                    }
                    let (this, endpoint) = (Arc::clone(&self), Arc::clone(&endpoint));
                    attempts.spawn(async move { this.attempt(&endpoint, delivery).await });
                }
            }
        }
        // Its slot goes (unless a newer task for the endpoint took it), so the endpoint can get a task again.
        {
            let mut workers = lock(&self.workers);
            if workers.get(&endpoint.id).is_some_and(|(_, at)| *at == spawned) {
                workers.remove(&endpoint.id);
            }
        }
        let abandoned = queue.len() + attempts.len();
        self.metrics.pending.fetch_sub(i64::try_from(abandoned).unwrap_or(0), Ordering::Relaxed);
        tracing::debug!(endpoint = %endpoint.id, uptime_s = started.elapsed().as_secs(), "webhook endpoint task stopped");
    }

    /// One attempt: POST the body with fresh signatures; the delivery with the attempt added, and the
    /// status if the endpoint answered.
    async fn attempt(
        &self,
        endpoint: &WebhookEndpoint,
        mut delivery: EventDelivery,
    ) -> (EventDelivery, Option<u16>) {
        let at_ms = now_ms();
        let started = Instant::now();
        let (status, error) = match self.send(endpoint, &delivery, at_ms).await {
            Ok(status) => (Some(status), None),
            Err(why) => (None, Some(why)),
        };
        self.metrics.record_attempt(status);
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        delivery.attempts.push(AttemptRecord { at_ms, status, error, duration_ms });
        (delivery, status)
    }

    /// POSTs the delivery's body with fresh signatures: the answer's status, or why there was none. An
    /// address-literal URL the deployment does not reach is refused here, before any connection (reqwest
    /// resolves only names, through the filtering resolver); the settings may have narrowed since the
    /// endpoint was registered.
    async fn send(
        &self,
        endpoint: &WebhookEndpoint,
        delivery: &EventDelivery,
        at_ms: u64,
    ) -> Result<u16, String> {
        let url = reqwest::Url::parse(&endpoint.url).map_err(|_| "request failed: invalid url".to_owned())?;
        if let Some(host) = url.host() {
            self.settings.egress.check_host(&host).map_err(|refused| format!("refused: {refused}"))?;
        }
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(delivery.body.clone());
        for (name, value) in
            super::sign(endpoint.secret.expose(), &delivery.event_id, at_ms / 1000, &delivery.body)
        {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) => Err(if let Some(refused) = super::egress::refusal(&e) {
                refused.to_string()
            } else if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                "request failed".to_owned()
            }),
        }
    }

    /// Records what an attempt did and what comes next. Break: the endpoint's task must stop.
    async fn settle(
        &self,
        endpoint: &WebhookEndpoint,
        mut delivery: EventDelivery,
        status: Option<u16>,
        queue: &mut BTreeMap<(u64, String), EventDelivery>,
        due: &mut HashMap<String, u64>,
    ) -> std::ops::ControlFlow<()> {
        use std::ops::ControlFlow::{Break, Continue};
        let now = now_ms();
        let origin = super::url_origin(&endpoint.url);
        let (endpoint_id, event_id) = (endpoint.id.as_str(), delivery.event_id.clone());
        match status {
            Some(200..=299) if due.contains_key(&event_id) => {
                // A redelivery was queued while this copy was on the wire: the record stays pending for
                // it (recording "delivered" now would lose it, should this process stop before it goes).
                self.metrics.delivered.fetch_add(1, Ordering::Relaxed);
                self.metrics.pending.fetch_sub(1, Ordering::Relaxed);
                return Continue(());
            }
            Some(200..=299) => {
                delivery.state = DeliveryState::Delivered { at_ms: now };
                self.metrics.delivered.fetch_add(1, Ordering::Relaxed);
                self.metrics.record_latency(now.saturating_sub(delivery.created_ms));
                tracing::debug!(endpoint = endpoint_id, %origin, event = %event_id, "webhook delivered");
            }
            Some(410) => {
                tracing::warn!(endpoint = endpoint_id, %origin, "webhook endpoint answered 410 Gone; disabled");
                let disabled = WebhookEndpoint {
                    disabled: Some(format!("answered 410 Gone at unix ms {now}")),
                    ..endpoint.clone()
                };
                let mut failed = vec![delivery];
                failed.extend(std::mem::take(queue).into_values());
                due.clear();
                for mut d in failed {
                    d.state = DeliveryState::Failed { at_ms: now };
                    self.persist(&d).await;
                    self.metrics.failed.fetch_add(1, Ordering::Relaxed);
                    self.metrics.pending.fetch_sub(1, Ordering::Relaxed);
                }
                self.persist_endpoint(&disabled).await;
                lock(&self.workers).remove(endpoint_id);
                return Break(());
            }
            _ if due.contains_key(&event_id) => {
                // A newer copy was queued while this one was on the wire (a redelivery): that one goes
                // next, and is what the store holds; this one's retry would be a second copy.
                tracing::info!(endpoint = endpoint_id, %origin, event = %event_id, ?status, "webhook attempt failed; a redelivery is queued");
                self.metrics.pending.fetch_sub(1, Ordering::Relaxed);
                return Continue(());
            }
            _ => {
                let tried = delivery.attempts.len();
                match self.settings.retry_schedule.get(tried.saturating_sub(1)) {
                    Some(delay) => {
                        let at = now + jittered(*delay);
                        delivery.state = DeliveryState::Pending { next_attempt_ms: at };
                        tracing::info!(endpoint = endpoint_id, %origin, event = %event_id, ?status, attempt = tried, retry_in_ms = at - now, "webhook attempt failed; will retry");
                        if !self.persist(&delivery).await {
                            return Break(());
                        }
                        due.insert(event_id.clone(), at);
                        queue.insert((at, event_id), delivery);
                        return Continue(());
                    }
                    None => {
                        delivery.state = DeliveryState::Failed { at_ms: now };
                        self.metrics.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(endpoint = endpoint_id, %origin, event = %event_id, attempts = tried, "webhook delivery failed for good");
                    }
                }
            }
        }
        self.metrics.pending.fetch_sub(1, Ordering::Relaxed);
        if self.persist(&delivery).await { Continue(()) } else { Break(()) }
    }

    /// Stores a delivery's new state, retrying while the store fails (a full disk must not lose the
    /// record that an event still needs sending). False: its endpoint was deleted meanwhile.
    async fn persist(&self, delivery: &EventDelivery) -> bool {
        let recorder = self.recorder();
        loop {
            // A refusal (this instance lost the signing lease) is retried too, until the node stops.
            match recorder.put_delivery(delivery) {
                Ok(stored) => return stored,
                Err(error) => {
                    tracing::warn!(error = %relayer_util::causes(&error), "recording a webhook delivery failed; retrying");
                    tokio::select! {
                        () = self.cancel.cancelled() => return false,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    async fn persist_endpoint(&self, endpoint: &WebhookEndpoint) {
        while let Err(error) = self.store.put_webhook(endpoint) {
            tracing::warn!(error = %relayer_util::causes(&error), "recording a disabled webhook endpoint failed; retrying");
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

/// `delay` ±10%, so endpoints that failed together do not all retry in the same instant.
/// The HTTP client of deliveries: the attempt's time limit, no redirects, and only destinations the
/// settings' egress allows.
fn delivery_client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        // A redirect is not a 2xx: it is retried and shows in the attempts, never followed blindly.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("deposit-relayer-webhooks/", env!("CARGO_PKG_VERSION")))
        // Every DNS answer loses the addresses deliveries may not reach (server-side request forgery
        // through an endpoint URL, or a name rebound to an internal address after registration).
        .dns_resolver(super::egress::FilteringResolver::new(settings.egress))
        .build()
}

fn jittered(delay: Duration) -> u64 {
    let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    let spread = ms / 10;
    if spread == 0 {
        return ms;
    }
    let offset = rand::random_range(0..=2 * spread);
    ms - spread + offset
}

#[cfg(test)]
mod tests;
