//! `relayer devnet`: one command for a complete local setup. Starts anvil as "Base" (chain 8453, 1 s
//! blocks), deploys the router through the deterministic deployment proxy, places the 6-decimal test
//! USDC at Base's real USDC address (so the spec's example requests work verbatim), funds a fresh
//! relayer key, runs the relayer with sled under the devnet folder, and prints the API URL, an API key
//! and copy-paste `curl` lines. `relayer devnet pay RECEIVER AMOUNT` pays a receiver from a funded test
//! wallet. Every start is fresh (the chain is new, so the old store is wiped).
//!
//! This crate also holds what only development needs: bindings to the test contracts (test USDC, the
//! local CCTP, call targets), the pinned foundry tools, and config files written by serializing the
//! typed [`ConfigFile`]. Production crates never depend on it.

pub mod bindings;
pub mod multichain;
pub mod tools;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, U256, address},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::{Args, Subcommand};
use eyre::WrapErr;
use relayer_core::telemetry;
use relayer_evm::{
    config::{ChainConfig, ExecutorSection, RouteConfig, TokenConfig},
    create2::Deployment,
};
use relayer_node::{
    Config, ConfigFile,
    config::{AuthSection, RetrySection, SignerSection},
};
use relayer_types::parse_units;
use serde::{Deserialize, Serialize};

use crate::{bindings::TestUSDC, tools::foundry_tool};

/// Base's USDC address; the devnet puts the test token here.
pub const BASE_USDC: Address = address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913");
/// The devnet's chain id (Base).
pub const CHAIN_ID: u64 = 8453;
/// anvil's second well-known development key: the devnet's payer wallet (public, test only).
pub const PAYER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// `relayer devnet` arguments.
#[derive(Debug, Args)]
pub struct DevnetArgs {
    #[command(subcommand)]
    command: Option<DevnetCommand>,
    /// Folder for the devnet's state (store, config, connection details).
    #[arg(long, default_value = ".devnet", global = true)]
    dir: PathBuf,
    /// API port.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// anvil RPC port.
    #[arg(long, default_value_t = 8545)]
    rpc_port: u16,
}

#[derive(Debug, Subcommand)]
enum DevnetCommand {
    /// Pays a receiver address from the devnet's funded test wallet.
    Pay {
        /// The session's `paymentMethod.receiverAddress`.
        receiver: Address,
        /// Amount in token units, e.g. 10.00.
        amount: String,
    },
}

/// Connection details of a running devnet, written to `<dir>/devnet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetInfo {
    /// API base URL.
    pub api_url: String,
    /// An API key accepted by the devnet relayer.
    pub api_key: String,
    /// anvil RPC URL.
    pub rpc_url: String,
    /// Chain id.
    pub chain_id: u64,
    /// Router address.
    pub router: Address,
    /// Test USDC address.
    pub usdc: Address,
}

/// Deploys what the devnet's Base chain has (test USDC at Base's USDC address, the local CCTP, the CCTP
/// adapter, the router with that adapter) on the chain at `rpc_url`. Idempotent.
pub async fn deploy_contracts(provider: &DynProvider, rpc_url: &str) -> eyre::Result<Deployment> {
    Ok(multichain::deploy_chain(provider, rpc_url, &multichain::BASE, &multichain::CHAINS).await?.deployment)
}

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
    /// Fronting cap for the first chain's USDC, in token units (`None`: no fronting).
    pub front_cap: Option<String>,
    /// Further chains (source chains with routes to the first one).
    pub more_chains: Vec<ChainConfig>,
}

/// The environment variable a devnet config names for the relayer key.
pub const KEY_VAR: &str = "DEVNET_RELAYER_KEY";

/// A relayer config for one local chain; the relayer key comes from `env:DEVNET_RELAYER_KEY`.
pub fn config_file(p: &ConfigParams) -> ConfigFile {
    let usdc = TokenConfig { front_cap: p.front_cap.clone(), ..TokenConfig::new(p.usdc, "USDC", 6) };
    let mut chain = ChainConfig::new(CHAIN_ID, "Base", &p.rpc_url, p.router, vec![usdc]);
    chain.confirmations = p.confirmations;
    chain.poll_interval_ms = p.watcher_poll_interval_ms;
    chain.start_block = Some(0);
    chain.max_fee_gwei = p.max_fee_gwei;
    ConfigFile {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], p.port)),
        data_dir: p.data_dir.clone(),
        session_lifetime_secs: p.session_lifetime_secs,
        log_format: telemetry::LogFormat::Text,
        auth: AuthSection { api_key_sha256: vec![p.api_key_hash.clone()] },
        signer: SignerSection { private_key: format!("env:{KEY_VAR}") },
        retry: RetrySection::default(),
        executor: ExecutorSection {
            poll_interval_ms: p.poll_interval_ms,
            bump_after_secs: p.bump_after_secs,
            ..ExecutorSection::default()
        },
        chains: std::iter::once(chain).chain(p.more_chains.iter().cloned()).collect(),
    }
}

/// A source chain's config: its USDC, with a route to `to` (the destination chain's id and USDC)
/// through the CCTP adapter, polled like the first chain.
pub fn source_chain(
    desc: &multichain::ChainDesc,
    rpc_url: &str,
    deployed: &multichain::Deployed,
    to: (u64, Address),
    p: &ConfigParams,
) -> ChainConfig {
    let mut chain = ChainConfig::new(
        desc.chain_id,
        desc.name,
        rpc_url,
        deployed.deployment.router,
        vec![TokenConfig::new(desc.usdc, "USDC", 6)],
    );
    chain.confirmations = p.confirmations;
    chain.poll_interval_ms = p.watcher_poll_interval_ms;
    chain.start_block = Some(0);
    chain.routes = vec![RouteConfig {
        to_chain_id: to.0,
        token: desc.usdc,
        to_token: to.1,
        adapter: deployed.adapter,
        max_fee_bps: u32::try_from(multichain::ADAPTER_MAX_FEE_BPS).unwrap_or(u32::MAX),
        min_deposit: Some("1.00".into()),
    }];
    chain
}

/// [`config_file`] as TOML, as `relayer devnet` writes it.
pub fn config_text(p: &ConfigParams) -> eyre::Result<String> {
    Ok(format!("# Written by `relayer devnet`.\n{}", toml::to_string(&config_file(p))?))
}

/// Validates [`config_file`] with `key` (hex) as the relayer key.
pub fn config(p: &ConfigParams, key: &str) -> eyre::Result<Config> {
    Ok(Config::from_file(config_file(p), |name| (name == KEY_VAR).then(|| key.to_owned()))?)
}

/// Starts anvil for the devnet.
pub fn spawn_anvil(rpc_port: u16, block_time: Option<u64>) -> eyre::Result<AnvilInstance> {
    spawn_chain(CHAIN_ID, rpc_port, block_time)
}

/// Starts anvil as chain `chain_id` on `rpc_port` (0: any free port).
pub fn spawn_chain(chain_id: u64, rpc_port: u16, block_time: Option<u64>) -> eyre::Result<AnvilInstance> {
    let mut anvil = Anvil::at(foundry_tool("anvil")?).chain_id(chain_id).port(rpc_port);
    if let Some(secs) = block_time {
        anvil = anvil.block_time(secs);
    }
    anvil.try_spawn().wrap_err_with(|| format!("cannot start anvil on port {rpc_port} (is it in use?)"))
}

/// Runs the devnet command.
pub async fn main(args: DevnetArgs) -> eyre::Result<()> {
    match args.command {
        Some(DevnetCommand::Pay { receiver, amount }) => pay(&args.dir, receiver, &amount).await,
        None => run(&args.dir, args.port, args.rpc_port).await,
    }
}

async fn run(dir: &Path, port: u16, rpc_port: u16) -> eyre::Result<()> {
    telemetry::init(telemetry::LogFormat::Text);
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let data_dir = dir.join("relayer-db");
    if data_dir.exists() {
        // The chain starts empty every time; state about the previous chain would be wrong.
        std::fs::remove_dir_all(&data_dir)?;
    }
    let anvil = spawn_anvil(rpc_port, Some(1))?;
    let rpc_url = anvil.endpoint();
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(deployer))
        .connect_http(anvil.endpoint_url())
        .erased();
    let deployment = deploy_contracts(&provider, &rpc_url).await?;

    let relayer_key = PrivateKeySigner::random();
    provider
        .raw_request::<_, ()>("anvil_setBalance".into(), (relayer_key.address(), U256::from(10u128.pow(21))))
        .await?;
    let api_key = format!("dk_{}", hex::encode(relayer_core::random_bytes::<16>()));
    let key_hash = hex::encode(relayer_core::api::auth::hash_api_key(&api_key));
    let params = ConfigParams {
        data_dir: data_dir.clone(),
        port,
        rpc_url: rpc_url.clone(),
        router: deployment.router,
        usdc: BASE_USDC,
        api_key_hash: key_hash,
        session_lifetime_secs: 3600,
        confirmations: 1,
        bump_after_secs: 15,
        poll_interval_ms: 200,
        watcher_poll_interval_ms: 200,
        max_fee_gwei: None,
        front_cap: None,
        more_chains: vec![],
    };
    std::fs::write(dir.join("relayer.toml"), config_text(&params)?)?;
    let config = config(&params, &alloy::hex::encode_prefixed(relayer_key.to_bytes()))?;

    let node = relayer_node::start(config).await?;
    let info = DevnetInfo {
        api_url: format!("http://{}", node.addr),
        api_key,
        rpc_url,
        chain_id: CHAIN_ID,
        router: deployment.router,
        usdc: BASE_USDC,
    };
    std::fs::write(dir.join("devnet.json"), serde_json::to_string_pretty(&info)?)?;
    println!("{}", banner(&info, &dir));
    let signal = relayer_node::cli::stop_signal().await?;
    println!("stopping devnet…");
    relayer_node::cli::shutdown(node, signal).await;
    drop(anvil);
    Ok(())
}

fn banner(info: &DevnetInfo, dir: &Path) -> String {
    let DevnetInfo { api_url, api_key, rpc_url, router, usdc, .. } = info;
    let dir = dir.display();
    format!(
        r#"
devnet is up (Ctrl-C stops everything)
  API        {api_url}
  API key    {api_key}
  RPC        {rpc_url} (chain {CHAIN_ID}, "Base", 1 s blocks)
  router     {router}
  test USDC  {usdc} (6 decimals)
  state      {dir}

Try it (bash):
  export API={api_url} KEY={api_key}
  curl -s -X POST $API/v1/sessions -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{{"destination":{{"type":"evm","address":"0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045","chainId":8453,"tokenAddress":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","amountUnits":"10.00"}},"display":{{"title":"Deposit to Acme","verb":"Deposit"}}}}'
  # from the answer:
  export ID=<session.sessionId> SECRET=<session.clientSecret>
  curl -s -X POST $API/v1/sessions/$ID/paymentMethods -H 'Content-Type: application/json' \
    -d '{{"clientSecret":"'$SECRET'","paymentMethod":{{"type":"evm"}}}}'
  # pay session.paymentMethod.receiverAddress from the funded test wallet:
  cargo run -q -p relayer -- devnet pay <receiverAddress> 10.00
  curl -s -X PUT $API/v1/sessions/$ID/check -H 'Content-Type: application/json' -d '{{"clientSecret":"'$SECRET'"}}'
  curl -s $API/v1/sessions/$ID -H "Authorization: Bearer $KEY"
"#
    )
}

async fn pay(dir: &Path, receiver: Address, amount: &str) -> eyre::Result<()> {
    let info: DevnetInfo = serde_json::from_str(
        &std::fs::read_to_string(dir.join("devnet.json"))
            .wrap_err("no running devnet found (start `relayer devnet` first)")?,
    )?;
    let amount = parse_units(amount, 6).map_err(|e| eyre::eyre!("amount {e}"))?;
    let payer: PrivateKeySigner = PAYER_KEY.parse()?;
    let payer_address = payer.address();
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(payer)).connect_http(info.rpc_url.parse()?);
    let usdc = TestUSDC::new(info.usdc, &provider);
    usdc.mint(payer_address, amount).send().await?.get_receipt().await?;
    let pending = usdc.transfer(receiver, amount).send().await?;
    let receipt = tokio::time::timeout(Duration::from_secs(30), pending.get_receipt()).await??;
    println!(
        "paid {} USDC to {receiver} from {payer_address}: tx {}",
        relayer_types::format_units(amount, 6),
        receipt.transaction_hash
    );
    Ok(())
}
