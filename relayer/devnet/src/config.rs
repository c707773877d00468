//! The relayer config a devnet writes (and the end-to-end tests start relayers with): typed, serialized
//! from [`ConfigFile`], never filled into a text template.

use super::*;

/// What a generated relayer config needs (the devnet's, and the end-to-end tests').
#[derive(Debug, Clone)]
pub struct ConfigParams {
    /// sled folder.
    pub data_dir: PathBuf,
    /// API port (0: any free port).
    pub port: u16,
    /// anvil RPC URL.
    pub rpc_url: String,
    /// Router address.
    pub router: Address,
    /// Test USDC address.
    pub usdc: Address,
    /// SHA-256 (hex) of the API key.
    pub api_key_hash: String,
    /// Session lifetime.
    pub session_lifetime_secs: u64,
    /// Confirmations.
    pub confirmations: u64,
    /// Seconds before a pending transaction is replaced at a higher fee.
    pub bump_after_secs: u64,
    /// Executor poll interval.
    pub poll_interval_ms: u64,
    /// Watcher poll interval.
    pub watcher_poll_interval_ms: u64,
    /// Fee ceiling in gwei (`None`: only the base-fee multiple).
    pub max_fee_gwei: Option<u64>,
    /// The first chain's test USDT, if it has one.
    pub usdt: Option<Address>,
    /// Fronting cap for the first chain's USDC and USDT each, in token units (`None`: no fronting).
    pub front_cap: Option<String>,
    /// Further chains (source chains with routes to the first one).
    pub more_chains: Vec<ChainSection>,
    /// Webhook retry delays in milliseconds (`None`: the production schedule).
    pub webhook_retry_schedule_ms: Option<Vec<u64>>,
    /// The PostgreSQL URL of the store (`None`: sled in `data_dir`); the config names it as
    /// `env:`[`DATABASE_VAR`].
    pub database_url: Option<String>,
}

/// The environment variable a devnet config names for the PostgreSQL store's URL.
pub const DATABASE_VAR: &str = "DEVNET_DATABASE_URL";

/// The environment variable a devnet config names for the relayer key.
pub const KEY_VAR: &str = "DEVNET_RELAYER_KEY";

/// A relayer config for one local chain; the relayer key comes from `env:DEVNET_RELAYER_KEY`.
pub fn config_file(p: &ConfigParams) -> ConfigFile {
    let token = |address, symbol| TokenConfig {
        front_cap: p.front_cap.clone(),
        ..TokenConfig::new(address, symbol, 6)
    };
    let tokens =
        std::iter::once(token(p.usdc, "USDC")).chain(p.usdt.map(|usdt| token(usdt, "USDT"))).collect();
    let mut chain = ChainConfig::new(CHAIN_ID, "Base", &p.rpc_url, p.router, tokens);
    chain.confirmations = p.confirmations;
    chain.poll_interval_ms = p.watcher_poll_interval_ms;
    chain.start_block = Some(0);
    chain.max_fee_gwei = p.max_fee_gwei;
    ConfigFile {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], p.port)),
        data_dir: p.data_dir.clone(),
        store: p
            .database_url
            .as_ref()
            .map(|_| StoreSection { url: format!("env:{DATABASE_VAR}"), lease_secs: None }),
        session_lifetime_secs: p.session_lifetime_secs,
        log_format: telemetry::LogFormat::Text,
        auth: AuthSection {
            api_key_sha256: vec![p.api_key_hash.clone()],
            metrics_token_sha256: None,
            browser_origins: vec![],
        },
        signer: SignerSection {
            private_key: Some(format!("env:{KEY_VAR}")),
            keystore: None,
            password: None,
            address: None,
            ..Default::default()
        },
        retry: RetrySection::default(),
        executor: ExecutorSection {
            poll_interval_ms: p.poll_interval_ms,
            bump_after_secs: p.bump_after_secs,
            ..ExecutorSection::default()
        },
        // A local devnet's integrator runs its receiver on this machine, over plain http.
        webhooks: WebhooksSection {
            allow_loopback_http: true,
            retry_schedule_ms: p
                .webhook_retry_schedule_ms
                .clone()
                .unwrap_or_else(|| WebhooksSection::default().retry_schedule_ms),
            ..WebhooksSection::default()
        },
        checkout: Default::default(),
        chains: std::iter::once(ChainSection::Evm(chain)).chain(p.more_chains.iter().cloned()).collect(),
    }
}

/// A source chain's config: its USDC and USDT, each with a route to the same token on `to` (the
/// destination chain), USDC through the CCTP adapter and USDT through the OFT adapter, polled like the
/// first chain. The devnet's Tron is an EVM node behind a Tron HTTP front (`tron_http`, its URL): its
/// entry is a real Tron chain's, differing in URLs, keys, and the EVM CREATE2 prefix its EVM node
/// derives receivers with.
pub fn source_chain(
    desc: &multichain::ChainDesc,
    rpc_url: &str,
    deployed: &multichain::Deployed,
    to: &multichain::ChainDesc,
    p: &ConfigParams,
    tron_http: Option<&str>,
) -> eyre::Result<ChainSection> {
    let route = |token: Address, to_token: Address, adapter: Address| RouteConfig {
        to_chain_id: to.chain_id,
        token,
        to_token: to_token.to_string(),
        adapter,
        max_fee_bps: u32::try_from(multichain::ADAPTER_MAX_FEE_BPS).unwrap_or(u32::MAX),
        min_deposit: Some("1.00".into()),
    };
    let (mut tokens, mut routes) = (vec![], vec![]);
    if let Some(usdc) = desc.usdc {
        tokens.push(TokenConfig::new(usdc, "USDC", 6));
        if let Some(to_usdc) = to.usdc {
            routes.push(route(usdc, to_usdc, deployed.adapter));
        }
    }
    if let Some(usdt) = desc.usdt {
        tokens.push(TokenConfig::new(usdt, "USDT", 6));
        if let Some(to_usdt) = to.usdt {
            routes.push(route(usdt, to_usdt, deployed.oft_adapter));
        }
    }
    let mut chain = ChainConfig::new(desc.chain_id, desc.name, rpc_url, deployed.deployment.router, tokens);
    chain.create2_prefix = (desc.family == relayer_types::Family::Tron).then_some(0xff);
    chain.confirmations = p.confirmations;
    chain.poll_interval_ms = p.watcher_poll_interval_ms;
    chain.start_block = Some(0);
    chain.routes = routes;
    Ok(match desc.family {
        relayer_types::Family::Evm => ChainSection::Evm(chain),
        relayer_types::Family::Tron => {
            let http = tron_http.ok_or_else(|| eyre::eyre!("{} needs its Tron HTTP front", desc.name))?;
            ChainSection::Tron(TronChainConfig { chain, node: TronNodeConfig::new(http, TRON_FEE_LIMIT_TRX) })
        }
        relayer_types::Family::Solana => eyre::bail!("{} is not EVM-shaped", desc.name),
    })
}

/// The most TRX one devnet Tron transaction may burn (the front does not charge energy).
const TRON_FEE_LIMIT_TRX: &str = "100";

/// [`config_file`] as TOML, as `relayer devnet` writes it.
pub fn config_text(p: &ConfigParams) -> eyre::Result<String> {
    Ok(format!("# Written by `relayer devnet`.\n{}", toml::to_string(&config_file(p))?))
}

/// Validates [`config_file`] with `key` (hex) as the relayer key.
pub fn config(p: &ConfigParams, key: &str) -> eyre::Result<Config> {
    Ok(Config::from_file(config_file(p), |name| match name {
        KEY_VAR => Some(key.to_owned()),
        DATABASE_VAR => p.database_url.clone(),
        _ => None,
    })?)
}
