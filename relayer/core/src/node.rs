//! A running relayer: the engine over a store and chains of any family, the chains' tasks, the timer
//! loop and the HTTP server, every task owned by one tracker and stopped by one cancellation token.

use std::{net::SocketAddr, sync::Arc};

use eyre::WrapErr;
use relayer_chain::{Chain, EventSink};
use relayer_store::{SigningLease, Store};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    api::{self, AppState},
    engine::{Engine, EngineSettings},
    metrics::HttpCounters,
    webhooks::worker::{WebhookSettings, Webhooks},
};

/// What the core needs to run, whatever the chain families.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// SHA-256 hashes of accepted API keys.
    pub api_key_hashes: Vec<[u8; 32]>,
    /// SHA-256 of the token `/metrics` requires; `None`: open.
    pub metrics_token_hash: Option<[u8; 32]>,
    /// Browser origins allowed to call the client-secret routes (CORS); empty: none.
    pub browser_origins: Vec<axum::http::HeaderValue>,
    /// Engine settings.
    pub engine: EngineSettings,
    /// Webhook delivery settings.
    pub webhooks: WebhookSettings,
    /// The hosted checkout page.
    pub checkout: crate::checkout::CheckoutSettings,
}

/// A started relayer.
pub struct Node {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The engine (for in-process callers such as the devnet and tests).
    pub engine: Arc<Engine>,
    /// Webhook deliveries (for in-process callers: benchmarks read their figures).
    pub webhooks: Arc<Webhooks>,
    cancel: CancellationToken,
    tasks: TaskTracker,
    /// Cancelled when this instance lost the signing lease it held (its chains stopped).
    lost: CancellationToken,
}

impl Node {
    /// Starts the engine over `store` and `chains`, the chains' tasks and the API; returns once the API
    /// is listening (without waiting for any chain: a slow RPC must not keep the API down).
    pub async fn start(
        store: Arc<dyn Store>,
        chains: Vec<Arc<dyn Chain>>,
        settings: NodeSettings,
    ) -> eyre::Result<Self> {
        Self::start_leased(store, chains, settings, None).await
    }

    /// [`Node::start`] for one of several instances sharing `store`, when `lease` is given: the API
    /// serves every route from the start; the chains, timers and webhook deliveries run only while this
    /// instance holds the signing lease (taken when it is free, renewed at a third of its lifetime). An
    /// instance that loses it stops its chains and reports it ([`Node::lease_lost`]): its process
    /// should exit, to start again as a standby.
    pub async fn start_leased(
        store: Arc<dyn Store>,
        chains: Vec<Arc<dyn Chain>>,
        settings: NodeSettings,
        lease: Option<Arc<dyn SigningLease>>,
    ) -> eyre::Result<Self> {
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();
        let lost = CancellationToken::new();
        let engine = Arc::new(Engine::new(Arc::clone(&store), chains.clone(), settings.engine)?);
        let webhooks = Webhooks::new(
            Arc::clone(&store),
            settings.webhooks,
            engine.outbox_signal(),
            cancel.child_token(),
            tasks.clone(),
        )?;
        match lease {
            None => {
                run_chains(&engine, &chains, cancel.child_token(), &tasks);
                webhooks.start(Arc::clone(&store))?;
            }
            Some(lease) => {
                engine.set_active(false);
                let gauges = Arc::new(crate::engine::LeaseGauges::default());
                engine.set_lease_gauges(Arc::clone(&gauges));
                let held = Held {
                    lease,
                    gauges,
                    chains: chains.clone(),
                    settings: settings.engine,
                    api: Arc::clone(&engine),
                    webhooks: Arc::clone(&webhooks),
                    tasks: tasks.clone(),
                    lost: lost.clone(),
                };
                tasks.spawn(held.run(cancel.child_token()));
            }
        }

        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .wrap_err_with(|| format!("cannot listen on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let app = api::router(AppState {
            offered: Arc::new(api::create::destinations(&engine)),
            engine: Arc::clone(&engine),
            api_keys: Arc::new(settings.api_key_hashes),
            metrics_token: settings.metrics_token_hash,
            browser_origins: Arc::new(settings.browser_origins),
            http: Arc::new(HttpCounters::default()),
            webhooks: Arc::clone(&webhooks),
            checkout: Arc::new(settings.checkout),
        });
        let shutdown = cancel.clone();
        tasks.spawn(api::serve::serve(listener, app, shutdown));
        // Only after the API is up: re-queuing restart work waits on the chains' bounded queues, and
        // those drain at the pace of the chain's RPC, which may be slow or down.
        if engine.is_active() {
            tasks.spawn({
                let engine = Arc::clone(&engine);
                async move { engine.resume().await }
            });
        }
        tasks.close();
        tracing::info!(%addr, chains = chains.len(), "relayer started");
        Ok(Self { addr, engine, webhooks, cancel, tasks, lost })
    }

    /// Stops every task and waits for them.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tasks.wait().await;
    }

    /// Resolves if this instance held the signing lease and lost it (never for a store of its own).
    pub async fn lease_lost(&self) {
        self.lost.cancelled().await;
    }
}

/// How often the lease holder reloads the sessions about to expire (other instances create them).
const EXPIRY_RELOAD: std::time::Duration = std::time::Duration::from_secs(1);

/// Starts every chain's tasks with `engine` as their sink, and its timers.
fn run_chains(
    engine: &Arc<Engine>,
    chains: &[Arc<dyn Chain>],
    cancel: CancellationToken,
    tasks: &TaskTracker,
) {
    for chain in chains {
        let sink: Arc<dyn EventSink> = Arc::clone(engine) as Arc<dyn EventSink>;
        Arc::clone(chain).start(sink, cancel.child_token(), tasks);
    }
    tasks.spawn(Arc::clone(engine).run_timers(cancel));
}

/// What an instance sharing its store needs to take the signing lease and run the chains while it
/// holds it.
struct Held {
    lease: Arc<dyn SigningLease>,
    gauges: Arc<crate::engine::LeaseGauges>,
    chains: Vec<Arc<dyn Chain>>,
    settings: EngineSettings,
    /// The API's engine: marked active while the chains run here.
    api: Arc<Engine>,
    webhooks: Arc<Webhooks>,
    tasks: TaskTracker,
    lost: CancellationToken,
}

/// Runs a blocking lease call on a thread of its own: not in the runtime's blocking pool, which a flood
/// of API requests waiting for the store can fill, and which would hold the renewal back.
async fn blocking<T: Send + 'static>(
    lease: &Arc<dyn SigningLease>,
    call: impl FnOnce(&dyn SigningLease) -> Result<T, relayer_store::StoreError> + Send + 'static,
) -> Result<T, relayer_store::StoreError> {
    let lease = Arc::clone(lease);
    let (answer, answered) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new().name("signing-lease".into()).spawn(move || {
        let _ = answer.send(call(lease.as_ref()));
    });
    let failed = |what: &str| relayer_store::StoreError::Backend(relayer_store::BackendError::new(what));
    if spawned.is_err() {
        return Err(failed("cannot start the lease call's thread"));
    }
    answered.await.unwrap_or_else(|_| Err(failed("the lease call's thread ended without an answer")))
}

impl Held {
    /// Waits for the lease, runs the chains while it is held, and gives it up on shutdown.
    async fn run(self, cancel: CancellationToken) {
        use std::sync::atomic::Ordering;
        let every = self.lease.ttl() / 3;
        let holder = self.lease.holder().to_owned();
        tracing::info!(%holder, "standby: waiting for the signing lease");
        let epoch = loop {
            match blocking(&self.lease, |l| l.acquire()).await {
                Ok(Some(epoch)) => break epoch,
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(error = %relayer_util::causes(&error), "cannot ask for the signing lease")
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        };
        let g = Arc::clone(&self.gauges);
        g.held.store(true, Ordering::SeqCst);
        g.epoch.store(epoch, Ordering::SeqCst);
        g.since.store(relayer_types::unix_now(), Ordering::SeqCst);
        g.takeovers.fetch_add(1, Ordering::SeqCst);
        // Renewals start at once, before anything slow (loading the engine reads the open sessions),
        // and run on their own: `running` ends when the lease is lost or the node stops.
        let running = cancel.child_token();
        let renewing = tokio::spawn(renew(
            Arc::clone(&self.lease),
            Arc::clone(&g),
            running.clone(),
            cancel.clone(),
            epoch,
        ));
        // A fresh engine: what the store holds now, not what it held when this instance started. It
        // writes sessions only while this instance holds the lease (checked in each write's transaction).
        let store = self.lease.fenced_store();
        let (chains, settings, outbox) = (self.chains.clone(), self.settings, self.api.outbox_signal());
        let loaded = tokio::task::spawn_blocking(move || Engine::new(store, chains, settings)).await;
        let engine = match loaded {
            Ok(Ok(engine)) => Some(engine),
            Ok(Err(error)) => {
                tracing::error!(error = %relayer_util::causes(&error), "cannot load the engine after taking the lease");
                None
            }
            Err(error) => {
                tracing::error!(%error, "cannot load the engine after taking the lease");
                None
            }
        };
        let Some(engine) = engine.filter(|_| !running.is_cancelled()) else {
            // Failed to load (give the lease up and say so), or lost it or stopped meanwhile.
            let failed = !running.is_cancelled();
            running.cancel();
            let lost = renewing.await.unwrap_or(true);
            if failed || lost {
                self.lost.cancel();
            }
            return;
        };
        let worker = Arc::new(engine.with_outbox(outbox));
        worker.reload_expiries_every(EXPIRY_RELOAD);
        worker.set_lease_gauges(Arc::clone(&g));
        run_chains(&worker, &self.chains, running.clone(), &self.tasks);
        self.tasks.spawn({
            let (worker, running) = (Arc::clone(&worker), running.clone());
            async move {
                tokio::select! {
                    () = worker.resume() => {}
                    () = running.cancelled() => {}
                }
            }
        });
        // Webhook deliveries: started again until they start (a database blip at takeover must not
        // leave a whole tenure without them).
        self.tasks.spawn({
            let (webhooks, running) = (Arc::clone(&self.webhooks), running.clone());
            // Recorded through the holder's view: refused by the database once another took over.
            let recorder = self.lease.fenced_store();
            async move {
                let mut delay = std::time::Duration::from_secs(1);
                while let Err(error) = webhooks.start(Arc::clone(&recorder)) {
                    tracing::error!(error = %relayer_util::causes(&error), "webhook deliveries did not start; trying again");
                    tokio::select! {
                        () = running.cancelled() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(std::time::Duration::from_secs(60));
                }
            }
        });
        self.api.set_worker(Some(Arc::clone(&worker)));
        self.api.set_active(true);
        tracing::info!(%holder, epoch, "signing lease held: chains running");
        let lost = renewing.await.unwrap_or(true);
        self.api.set_active(false);
        self.api.set_worker(None);
        if lost {
            tracing::error!(%holder, epoch, "signing lease lost: chains stopped");
            self.lost.cancel();
        }
    }
}

/// Renews the lease at a third of its lifetime until `cancel` (then gives it up) or until it is lost:
/// a renewal refused, or none succeeding before this instance's own deadline passed (the store then
/// already refuses to sign). Cancels `running` either way; answers whether the lease was lost.
async fn renew(
    lease: Arc<dyn SigningLease>,
    g: Arc<crate::engine::LeaseGauges>,
    running: CancellationToken,
    cancel: CancellationToken,
    epoch: u64,
) -> bool {
    use std::sync::atomic::Ordering;
    let every = lease.ttl() / 3;
    // Renewals are timed from when the last one was sent; a failed one is tried again soon.
    let mut next = tokio::time::Instant::now() + every;
    loop {
        tokio::select! {
            () = cancel.cancelled() => {
                running.cancel();
                let _ = blocking(&lease, |l| l.release()).await;
                g.held.store(false, Ordering::SeqCst);
                return false;
            }
            () = running.cancelled() => {
                let _ = blocking(&lease, |l| l.release()).await;
                g.held.store(false, Ordering::SeqCst);
                return false;
            }
            () = tokio::time::sleep_until(next) => {}
        }
        let sent = tokio::time::Instant::now();
        let lost = match blocking(&lease, |l| l.renew()).await {
            // Renewed, but the answer came so late that this instance may not sign on it: a database
            // that slow would keep the lease here with nothing running. Let another instance try.
            Ok(true) if !lease.live() => {
                tracing::error!(epoch, "the signing lease was renewed too late to sign on it");
                true
            }
            Ok(true) => {
                next = sent + every;
                false
            }
            Ok(false) => true,
            Err(error) => {
                tracing::warn!(error = %relayer_util::causes(&error), epoch, "cannot renew the signing lease");
                next = tokio::time::Instant::now() + lease.ttl() / 10;
                !lease.live()
            }
        };
        if lost {
            running.cancel();
            // Free it at once if the database still names this instance (a late renewal extended it).
            let _ = blocking(&lease, |l| l.release()).await;
            g.held.store(false, Ordering::SeqCst);
            g.losses.fetch_add(1, Ordering::SeqCst);
            return true;
        }
    }
}
