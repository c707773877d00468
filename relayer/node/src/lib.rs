//! A production relayer: reads the config file and wires the chain families (EVM, Solana) into the
//! chain-agnostic core. The only crate that knows both the core and the families; `relayer-devnet`
//! and the `relayer` binary build on it.

pub mod cli;
pub mod config;

use std::sync::Arc;

// Only its features: Cloud KMS's service-account credentials need a crypto backend chosen (see Cargo.toml).
use jsonwebtoken as _;

use eyre::WrapErr;
use relayer_chain::Chain;
use relayer_core::Node;
use relayer_evm::{EvmChain, Sender};
use relayer_store::{ChainStore, PgStore, SigningLease, SledStore, Store};
use relayer_svm::SvmChain;

pub use config::{Config, ConfigFile};

/// Opens the store, connects every configured chain and starts the core over them. Returns once the
/// API is listening.
pub async fn start(config: Config) -> eyre::Result<Node> {
    start_with(config, |_| vec![]).await
}

/// [`start`], plus chains built by `extra` over the node's store (chains the config file cannot name
/// yet, such as the devnet's in-process Solana bank).
pub async fn start_with(
    config: Config,
    extra: impl FnOnce(Arc<dyn ChainStore>) -> Vec<Arc<dyn Chain>>,
) -> eyre::Result<Node> {
    if let Some(solana) = &config.solana {
        let routes: Vec<u64> = solana.chain.routes.iter().map(|(to, _)| *to).collect();
        config::vault_deployment_matches(&config.chains, &routes).map_err(|e| eyre::eyre!("{e}"))?;
    }
    let (store, lease) = open_store(&config.store)?;
    // Boxed: the AWS SDK's futures are deep and large, and every caller of `start` would carry them.
    let key = Box::pin(config.signer.connect("signer")).await.map_err(|e| eyre::eyre!("{e}"))?;
    tracing::info!(signer = %key.address(), backend = key.backend(), "evm signer");
    let (mut retiring, mut unusable) = (vec![], vec![]);
    // An inventory key that cannot be used (a KMS outage) turns fronting off rather than stopping every
    // delivery and refund; frontings never fall back to the signer (what the inventory key has in
    // flight would be fronted twice).
    let (inventory, inventory_unusable) = match &config.inventory {
        Some(spec) => match Box::pin(spec.connect("signer.inventory")).await {
            Ok(key) => {
                tracing::info!(signer = %key.address(), backend = key.backend(), "evm inventory key: fronts where a front_cap is set");
                (Some(key), None)
            }
            Err(error) => {
                tracing::error!(signer = %spec.address(), %error, "the inventory key cannot be used: no fronting until it can (restart); sessions are delivered when their bridges arrive");
                (None, Some(spec.address()))
            }
        },
        None => (None, None),
    };
    for (i, old) in config.retiring.iter().enumerate() {
        // A retiring key that cannot be used (a KMS key already disabled, an outage) does not stop the
        // start: what it has on record waits (held, `/readyz` says so) until it can be seen through.
        match Box::pin(old.connect(&format!("signer.retiring[{i}]"))).await {
            Ok(old) => {
                tracing::info!(signer = %old.address(), backend = old.backend(), "retiring evm signer: finishing what it has in flight");
                retiring.push(old);
            }
            Err(error) => {
                tracing::warn!(signer = %old.address(), %error, "a retiring key cannot be used; its transactions on record wait");
                unusable.push(old.address());
            }
        }
    }
    let sender = Sender {
        signer: key,
        inventory,
        inventory_unusable,
        retiring,
        unusable,
        config: config.executor.clone(),
    };
    let mut chains: Vec<Arc<dyn Chain>> = vec![];
    for spec in config.chains.clone() {
        let id = spec.chain_id;
        let chain_store: Arc<dyn ChainStore> = Arc::clone(&store) as Arc<dyn ChainStore>;
        // A Tron chain sends through its node's HTTP API; every other EVM-shaped chain as an EVM chain.
        let chain: Arc<dyn Chain> = match config.tron.get(&id) {
            Some(sending) => Arc::new(
                relayer_tron::connect(
                    spec,
                    sending.clone(),
                    chain_store,
                    sender.clone(),
                    config.executor.poll_interval,
                )
                .map_err(|e| eyre::eyre!("chain {id}: {e}"))?,
            ),
            None => Arc::new(
                EvmChain::connect(spec, chain_store, sender.clone())
                    .map_err(|e| eyre::eyre!("chain {id}: {e}"))?,
            ),
        };
        chains.push(chain);
    }
    if let Some(solana) = &config.solana {
        let client = relayer_svm::RpcClient::new(solana.rpc_url.clone(), solana.rpc_timeout)
            .map_err(|e| eyre::eyre!("solana: {e}"))?
            .with_send_commitment(solana.chain.landing.commitment);
        let chain_store: Arc<dyn ChainStore> = Arc::clone(&store) as Arc<dyn ChainStore>;
        let key = solana.key.insecure_clone();
        chains.push(Arc::new(SvmChain::new(solana.chain.clone(), Arc::new(client), chain_store, key)));
    }
    chains.extend(extra(Arc::clone(&store) as Arc<dyn ChainStore>));
    // One lease per database, whatever keys the instances were given: instances with different keys on
    // one database (a key being rotated, a mistake) must not both run the chains, whose send records
    // are not keyed by signer in every family.
    let lease = lease.map(|(pg, ttl)| Arc::new(pg.signing_lease(LEASE_NAME, ttl)) as Arc<dyn SigningLease>);
    Node::start_leased(store, chains, config.node, lease).await
}

/// The name of the signing lease in a shared store.
pub const LEASE_NAME: &str = "relayer";

/// A store shared by several instances, and its signing lease's lifetime.
pub type Shared = (PgStore, std::time::Duration);

/// Opens the configured store: sled in its folder, or the PostgreSQL database (migrated to this build's
/// schema; one that a newer build wrote is refused), which instances share under a signing lease.
pub fn open_store(location: &config::StoreLocation) -> eyre::Result<(Arc<dyn Store>, Option<Shared>)> {
    Ok(match location {
        config::StoreLocation::Sled(dir) => {
            std::fs::create_dir_all(dir)
                .wrap_err_with(|| format!("cannot create the store's folder {}", dir.display()))?;
            let store =
                SledStore::open(dir).wrap_err_with(|| format!("cannot open store in {}", dir.display()))?;
            (Arc::new(store), None)
        }
        config::StoreLocation::Postgres(url, lease) => {
            let store = PgStore::connect(url.expose()).wrap_err("cannot open the PostgreSQL store")?;
            tracing::info!("store: PostgreSQL");
            (Arc::new(store.clone()), Some((store, *lease)))
        }
    })
}
