//! A running relayer: the engine over a store and chains of any family, the chains' tasks, the timer
//! loop and the HTTP server, every task owned by one tracker and stopped by one cancellation token.

use std::{net::SocketAddr, sync::Arc};

use eyre::WrapErr;
use relayer_chain::{Chain, EventSink};
use relayer_store::Store;
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
}

impl Node {
    /// Starts the engine over `store` and `chains`, the chains' tasks and the API; returns once the API
    /// is listening (without waiting for any chain: a slow RPC must not keep the API down).
    pub async fn start(
        store: Arc<dyn Store>,
        chains: Vec<Arc<dyn Chain>>,
        settings: NodeSettings,
    ) -> eyre::Result<Self> {
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();
        let engine = Arc::new(Engine::new(Arc::clone(&store), chains.clone(), settings.engine)?);
        for chain in &chains {
            let sink: Arc<dyn EventSink> = Arc::clone(&engine) as Arc<dyn EventSink>;
            Arc::clone(chain).start(sink, cancel.child_token(), &tasks);
        }
        tasks.spawn(Arc::clone(&engine).run_timers(cancel.child_token()));
        let webhooks = Webhooks::new(
            Arc::clone(&store),
            settings.webhooks,
            engine.outbox_signal(),
            cancel.child_token(),
            tasks.clone(),
        )?;
        webhooks.start()?;

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
        tasks.spawn({
            let engine = Arc::clone(&engine);
            async move { engine.resume().await }
        });
        tasks.close();
        tracing::info!(%addr, chains = chains.len(), "relayer started");
        Ok(Self { addr, engine, webhooks, cancel, tasks })
    }

    /// Stops every task and waits for them.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tasks.wait().await;
    }
}
