//! A running relayer: store, chains, executors, watchers, the expiry loop and the HTTP server, every
//! task owned by one tracker and stopped by one cancellation token.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::Arc,
};

use eyre::WrapErr;
use relayer_evm::{EvmChain, executor, watcher};
use relayer_store::{SledStore, Store};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    api::{self, AppState},
    config::Config,
    engine::Engine,
    metrics::HttpCounters,
};

/// A started relayer.
pub struct Node {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The engine (for in-process callers such as the devnet and tests).
    pub engine: Arc<Engine>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Node {
    /// Starts everything `config` describes and returns once the API is listening.
    pub async fn start(config: Config) -> eyre::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .wrap_err_with(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
        let store: Arc<dyn Store> = Arc::new(
            SledStore::open(&config.data_dir)
                .wrap_err_with(|| format!("cannot open store in {}", config.data_dir.display()))?,
        );
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();
        let mut chains = BTreeMap::new();
        let mut executors = HashMap::new();
        for spec in config.chains.clone() {
            let id = spec.chain_id;
            let chain = Arc::new(EvmChain::connect(spec).map_err(|e| eyre::eyre!("chain {id}: {e}"))?);
            let handle = executor::spawn(
                Arc::clone(&chain),
                config.signer.clone(),
                Arc::clone(&store),
                config.executor.clone(),
                cancel.child_token(),
                &tasks,
            );
            executors.insert(id, handle);
            chains.insert(id, chain);
        }
        let engine =
            Arc::new(Engine::new(Arc::clone(&store), chains.clone(), executors, config.session_lifetime)?);
        for chain in chains.values() {
            tasks.spawn(watcher::run(
                Arc::clone(chain),
                Arc::clone(&store),
                Arc::clone(&engine),
                cancel.child_token(),
            ));
        }
        tasks.spawn(Arc::clone(&engine).run_expiry(cancel.child_token()));

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .wrap_err_with(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let app = api::router(AppState {
            engine: Arc::clone(&engine),
            api_keys: Arc::new(config.api_key_hashes.clone()),
            http: Arc::new(HttpCounters::default()),
        });
        let shutdown = cancel.clone();
        tasks.spawn(async move {
            if let Err(error) =
                axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await
            {
                tracing::error!(%error, "http server failed");
            }
        });
        // Only after the API is up: re-queuing restart work waits on the executors' bounded queues,
        // and those drain at the pace of the chain's RPC, which may be slow or down.
        tasks.spawn({
            let engine = Arc::clone(&engine);
            async move { engine.resume().await }
        });
        tasks.close();
        tracing::info!(%addr, signer = %config.signer.address(), chains = chains.len(), "relayer started");
        Ok(Self { addr, engine, cancel, tasks })
    }

    /// Stops every task and waits for them.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tasks.wait().await;
    }
}
