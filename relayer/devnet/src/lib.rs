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
pub mod solana;
pub mod tools;
pub mod tron_front;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, address},
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
    config::{AuthSection, ChainSection, RetrySection, SignerSection, StoreSection, WebhooksSection},
};
use relayer_tron::config::{TronChainConfig, TronNodeConfig};
use relayer_types::parse_units;
use serde::{Deserialize, Serialize};

use crate::{bindings::TestUSDT, tools::foundry_tool};

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
    /// RPC port of the first chain (Base); the others take the next ports (0: any free ports).
    #[arg(long, default_value_t = 8545)]
    rpc_port: u16,
    /// Where the relayer keeps its state: `sled` (embedded, in `<dir>/relayer-db`) or `postgres` (a
    /// throwaway PostgreSQL server the devnet starts in a temporary folder and removes when it stops).
    #[arg(long, value_enum, default_value_t = StoreKind::Sled, global = true)]
    store: StoreKind,
}

/// Which store the devnet's relayer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StoreKind {
    /// The embedded sled store.
    #[default]
    Sled,
    /// A PostgreSQL database on a server the devnet starts.
    Postgres,
}

#[derive(Debug, Subcommand)]
enum DevnetCommand {
    /// Pays a receiver address from the devnet's funded test wallet.
    Pay {
        /// The session's `paymentMethod.receiverAddress`.
        receiver: Address,
        /// Amount in token units, e.g. 10.00.
        amount: String,
        /// The chain to pay on: a chain id or name (base, ethereum, arbitrum, tron).
        #[arg(long, default_value = "base")]
        chain: String,
        /// `usdc` or `usdt` (default: the chain's USDC, or its USDT where it has no USDC).
        #[arg(long)]
        token: Option<String>,
    },
    /// Signs a session's `solana.serializedTx` with the devnet's Solana payer wallet and sends it.
    PaySolana {
        /// The hex `solana.serializedTx` of a `paymentMethods` answer (made for the devnet payer's
        /// `walletAddress`).
        serialized_tx: String,
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
    /// The chains, the destination (Base) first.
    pub chains: Vec<DevnetChain>,
    /// Router address (the same on every chain).
    pub router: Address,
    /// The Solana bank, if running.
    #[serde(default)]
    pub solana: Option<DevnetSolana>,
}

/// The devnet's Solana.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetSolana {
    /// JSON-RPC URL of the in-process bank.
    pub rpc_url: String,
    /// The test USDC mint.
    pub usdc: String,
    /// The funded payer wallet (`walletAddress` for `paymentMethods`).
    pub payer: String,
    /// The deposit-vault program id.
    pub program: String,
    /// The devnet's stand-in of Circle's attestation service (`GET /v2/messages/{domain}
    /// ?transactionHash=`): the relayer asks it for the messages bridged towards Solana, and delivers them.
    #[serde(default)]
    pub attestation_url: String,
    /// The relayer's Solana fee payer (it pays for deliveries, claims and bridgings).
    #[serde(default)]
    pub relayer: String,
}

/// One chain of a running devnet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetChain {
    /// Chain id.
    pub chain_id: u64,
    /// Name.
    pub name: String,
    /// anvil RPC URL.
    pub rpc_url: String,
    /// Test USDC address, if the chain has USDC.
    pub usdc: Option<Address>,
    /// Test USDT address, if the chain has USDT.
    pub usdt: Option<Address>,
}

impl DevnetInfo {
    /// The chain named by `which` (a chain id or a name, any case).
    pub fn chain(&self, which: &str) -> eyre::Result<&DevnetChain> {
        self.chains
            .iter()
            .find(|c| c.chain_id.to_string() == which || c.name.eq_ignore_ascii_case(which))
            .ok_or_else(|| {
                let names: Vec<String> =
                    self.chains.iter().map(|c| format!("{} ({})", c.name, c.chain_id)).collect();
                eyre::eyre!("no devnet chain {which}; the devnet runs {}", names.join(", "))
            })
    }
}

/// Deploys what the devnet's Base chain has (test USDC at Base's USDC address, the local CCTP, the CCTP
/// adapter, the router with that adapter) on the chain at `rpc_url`. Idempotent.
pub async fn deploy_contracts(provider: &DynProvider, rpc_url: &str) -> eyre::Result<Deployment> {
    Ok(multichain::deploy_chain(provider, rpc_url, &multichain::BASE, &multichain::CHAINS).await?.deployment)
}

mod config;
pub use config::{ConfigParams, DATABASE_VAR, KEY_VAR, config, config_file, config_text, source_chain};

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
        Some(DevnetCommand::PaySolana { serialized_tx }) => {
            let info = read_info(&args.dir)?;
            let solana = info.solana.ok_or_else(|| eyre::eyre!("the running devnet has no Solana"))?;
            let signature = solana::pay(&solana.rpc_url, &serialized_tx).await?;
            println!("signed and sent from the devnet Solana wallet {}: signature {signature}", solana.payer);
            Ok(())
        }
        Some(DevnetCommand::Pay { receiver, amount, chain, token }) => {
            let info = read_info(&args.dir)?;
            let (tx, symbol) = pay(&info, &chain, token.as_deref(), receiver, &amount).await?;
            println!("paid {amount} {symbol} to {receiver} on {chain} from the devnet wallet: tx {tx}");
            Ok(())
        }
        None => run(&args.dir, args.port, args.rpc_port, args.store).await,
    }
}

async fn run(dir: &Path, port: u16, rpc_port: u16, store: StoreKind) -> eyre::Result<()> {
    telemetry::init(telemetry::LogFormat::Text);
    let started = std::time::Instant::now();
    let devnet = Devnet::start_with_store(dir, port, rpc_port, store).await?;
    println!("{}", banner(&devnet.info, &devnet.dir, started.elapsed()));
    let signal = relayer_node::cli::stop_signal().await?;
    println!("stopping devnet…");
    devnet.stop(signal).await;
    Ok(())
}

/// A running devnet: the chains, the attester, the relayer. Dropping it stops the chains.
pub struct Devnet {
    /// Connection details (also in `<dir>/devnet.json`).
    pub info: DevnetInfo,
    /// Its folder.
    pub dir: PathBuf,
    /// The relayer.
    pub node: relayer_core::Node,
    /// The Solana bank and its RPC.
    pub solana: solana::SolanaDevnet,
    anvils: Vec<AnvilInstance>,
    attester: tokio_util::sync::CancellationToken,
    bridge_paused: multichain::BridgePause,
    /// The Tron chain's HTTP API (a front over its EVM node).
    pub tron_fronts: Vec<tron_front::TronFront>,
    /// The PostgreSQL server of the relayer's store, if it stores there (stopped and removed on drop).
    pub postgres: Option<relayer_store::local_postgres::LocalPostgres>,
}

/// The environment variable a devnet config names for the relayer's Solana key.
pub const SOLANA_KEY_VAR: &str = "DEVNET_RELAYER_SOLANA_KEY";
/// The devnet's Solana RPC port when the chains take the default ports (solana-test-validator's).
pub const SOLANA_RPC_PORT: u16 = 8899;

/// Inventory the devnet relayer starts with on Base, in USDC: what it may front.
pub const DEVNET_INVENTORY: &str = "10000";

impl Devnet {
    /// Starts every chain of [`multichain::CHAINS`] (1 s blocks, RPC on `rpc_port` and the next ports,
    /// or any free ports for 0), deploys on each, runs the attester, funds a fresh relayer key (gas on
    /// every chain, USDC inventory on Base) and starts the relayer (API on `port`). Fresh every time.
    pub async fn start(dir: &Path, port: u16, rpc_port: u16) -> eyre::Result<Self> {
        Self::start_with_store(dir, port, rpc_port, StoreKind::Sled).await
    }

    /// [`Devnet::start`], with the relayer's store in sled or in PostgreSQL (a server started for it).
    pub async fn start_with_store(
        dir: &Path,
        port: u16,
        rpc_port: u16,
        store: StoreKind,
    ) -> eyre::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let postgres = match store {
            StoreKind::Sled => None,
            StoreKind::Postgres => Some(
                tokio::task::spawn_blocking(|| {
                    let server = relayer_store::local_postgres::LocalPostgres::start()?;
                    server.create_database("relayer")?;
                    eyre::Ok(server)
                })
                .await??,
            ),
        };
        let dir = dir.canonicalize()?;
        let data_dir = dir.join("relayer-db");
        if data_dir.exists() {
            // The chains start empty every time; state about the previous ones would be wrong.
            std::fs::remove_dir_all(&data_dir)?;
        }
        let relayer_key = PrivateKeySigner::random();
        // Chains come up side by side: with 1 s blocks, each deployment waits for a few blocks.
        let relayer = relayer_key.address();
        let setups = multichain::CHAINS.iter().enumerate().map(|(i, desc)| async move {
            let port = if rpc_port == 0 { 0 } else { rpc_port + u16::try_from(i)? };
            let anvil = spawn_chain(desc.chain_id, port, Some(1))?;
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(PrivateKeySigner::from(anvil.keys()[0].clone())))
                .connect_http(anvil.endpoint_url())
                .erased();
            let deployed =
                multichain::deploy_chain(&provider, &anvil.endpoint(), desc, &multichain::CHAINS).await?;
            multichain::fund(&provider, relayer).await?;
            let chain = DevnetChain {
                chain_id: desc.chain_id,
                name: desc.name.into(),
                rpc_url: anvil.endpoint(),
                usdc: desc.usdc,
                usdt: desc.usdt,
            };
            eyre::Ok((anvil, chain, deployed))
        });
        let (mut anvils, mut chains, mut deployed) = (vec![], vec![], vec![]);
        for setup in futures::future::join_all(setups).await {
            let (anvil, chain, deployment) = setup?;
            anvils.push(anvil);
            chains.push(chain);
            deployed.push(deployment);
        }
        let links: Vec<multichain::Link> = multichain::CHAINS
            .iter()
            .zip(&chains)
            .map(|(desc, c)| multichain::Link::to(desc, c.rpc_url.clone()))
            .collect();
        // Solana: the in-process bank behind its own JSON-RPC, which the relayer uses like any cluster.
        let solana_key = solana_sdk::signature::Keypair::new();
        let solana_port = if rpc_port == 0 { 0 } else { SOLANA_RPC_PORT };
        let solana =
            solana::SolanaDevnet::start(solana_port, &solana_sdk::signer::Signer::pubkey(&solana_key))
                .await?;
        // The program's bridgings deliver to the receivers of one EVM deployment, pinned in its build.
        let vault_factory = Address::from(relayer_svm::tx::vault_evm::FACTORY);
        eyre::ensure!(
            vault_factory == deployed[0].deployment.factory,
            "the deposit-vault program bridges to receivers of factory {vault_factory}, but the devnet deployed \
             factory {}: update [evm] factory and receiver_init_code_hash in programs/deposit_vault/clusters/localnet.toml",
            deployed[0].deployment.factory
        );
        let attester = multichain::Attester::new(&links).await?.with_solana(
            Arc::clone(&solana.bank) as Arc<dyn relayer_svm::SvmClient>,
            &solana.bank.usdc(),
            solana::forwarder_keypair(),
        );
        let stop = tokio_util::sync::CancellationToken::new();
        let bridge_paused = attester.pause_switch();
        let attestation_url = attester.api().serve(stop.clone()).await?;
        tokio::spawn(attester.run(Duration::from_millis(200), stop.clone()));

        // Inventory to front with on Base, in USDC and USDT (the test tokens mint to anyone).
        let inventory = parse_units(DEVNET_INVENTORY, 6).map_err(|e| eyre::eyre!("{e}"))?;
        let payer = ProviderBuilder::new()
            .wallet(EthereumWallet::from(PAYER_KEY.parse::<PrivateKeySigner>()?))
            .connect_http(chains[0].rpc_url.parse()?);
        let base_usdc = multichain::BASE.usdc.ok_or_else(|| eyre::eyre!("Base has USDC"))?;
        // Both test tokens share `mint`; USDT's `mint` returns nothing either way.
        for token in std::iter::once(base_usdc).chain(multichain::BASE.usdt) {
            let token = TestUSDT::new(token, &payer);
            token.mint(relayer_key.address(), inventory).send().await?.get_receipt().await?;
        }

        let api_key = format!("dk_{}", hex::encode(relayer_core::random_bytes::<16>()));
        let mut params = ConfigParams {
            data_dir,
            port,
            rpc_url: chains[0].rpc_url.clone(),
            router: deployed[0].deployment.router,
            usdc: base_usdc,
            api_key_hash: hex::encode(relayer_core::api::auth::hash_api_key(&api_key)),
            session_lifetime_secs: 3600,
            confirmations: 1,
            bump_after_secs: 15,
            poll_interval_ms: 200,
            watcher_poll_interval_ms: 200,
            max_fee_gwei: None,
            usdt: multichain::BASE.usdt,
            front_cap: Some(DEVNET_INVENTORY.into()),
            more_chains: vec![],
            webhook_retry_schedule_ms: None,
            database_url: postgres.as_ref().map(|p| p.url("relayer")),
        };
        // The devnet's Tron is reached only as a Tron node is: through its HTTP API (a front over its EVM
        // node) for sending, and its JSON-RPC for watching.
        let mut tron_fronts = vec![];
        for ((desc, chain), deployed) in multichain::CHAINS.iter().zip(&chains).zip(&deployed).skip(1) {
            let front = match desc.family {
                // Its EVM node has 1 s blocks already.
                relayer_types::Family::Tron => {
                    Some(tron_front::TronFront::start(&chain.rpc_url, None).await?)
                }
                _ => None,
            };
            let http = front.as_ref().map(|f| f.url.clone());
            let rpc_url = front.as_ref().map_or_else(|| chain.rpc_url.clone(), |f| f.jsonrpc_url());
            let source = source_chain(desc, &rpc_url, deployed, &multichain::BASE, &params, http.as_deref())?;
            params.more_chains.push(source);
            tron_fronts.extend(front);
        }
        let mut file = config_file(&params);
        // USDC paid on an EVM chain for a Solana session goes through the CCTP adapter's inbox route.
        for (chain, deployed) in
            file.chains.iter_mut().filter_map(ChainSection::as_evm_shaped_mut).zip(&deployed)
        {
            if let Some(usdc) = chain.tokens.iter().find(|t| t.symbol == "USDC").map(|t| t.address) {
                chain.routes.push(RouteConfig {
                    to_chain_id: relayer_types::SOLANA_CHAIN_ID,
                    token: usdc,
                    to_token: solana.bank.usdc().to_string(),
                    adapter: deployed.adapter,
                    max_fee_bps: u32::try_from(multichain::ADAPTER_MAX_FEE_BPS).unwrap_or(u32::MAX),
                    min_deposit: Some("1.00".into()),
                });
            }
        }
        file.chains.push(ChainSection::Solana(relayer_svm::config::SolanaSection {
            rpc_url: solana.rpc_url.clone(),
            rpc_timeout_ms: 10_000,
            poll_interval_ms: 200,
            // The bank's slots are a few milliseconds long: the budget is a minute of them, as on a
            // real cluster by default.
            lag_budget_slots: u64::try_from(
                Duration::from_secs(60).as_micros() / solana.bank.slot_time().as_micros().max(1),
            )
            .unwrap_or(u64::MAX),
            private_key: format!("env:{SOLANA_KEY_VAR}"),
            tokens: vec![relayer_svm::config::SolanaToken {
                mint: solana.bank.usdc().to_string(),
                symbol: "USDC".into(),
                decimals: relayer_svm::bank::USDC_DECIMALS,
                min_open_amount: None,
            }],
            // USDC paid on Solana for a Base session is bridged through CCTP (the devnet's stand-ins).
            routes: vec![relayer_svm::config::SolanaRoute {
                to_chain_id: multichain::BASE.chain_id,
                to_token: base_usdc.to_string(),
                min_deposit: Some("1.00".into()),
            }],
            min_inbox_amount: Some("1.00".into()),
            commitment: relayer_svm::client::Confirmation::Finalized,
            priority_fee_percentile: 75,
            max_priority_fee_micro_lamports: 1_000_000,
            compute_unit_margin_percent: 20,
            min_sol_balance: Some("1.00".into()),
            max_daily_fees: None,
            costly_fee: None,
            // The attester only attests messages for Solana, as Circle does: the relayer delivers them.
            attestation_url: Some(attestation_url.clone()),
        }));
        std::fs::write(
            dir.join("relayer.toml"),
            format!("# Written by `relayer devnet`.\n{}", toml::to_string(&file)?),
        )?;
        let evm_key = alloy::hex::encode_prefixed(relayer_key.to_bytes());
        let config = Config::from_file(file, |name| match name {
            KEY_VAR => Some(evm_key.clone()),
            DATABASE_VAR => params.database_url.clone(),
            SOLANA_KEY_VAR => Some(solana_key.to_base58_string()),
            _ => None,
        })?;
        let node = relayer_node::start(config).await?;
        let info = DevnetInfo {
            api_url: format!("http://{}", node.addr),
            api_key,
            chains,
            router: deployed[0].deployment.router,
            solana: Some(DevnetSolana {
                rpc_url: solana.rpc_url.clone(),
                usdc: solana.bank.usdc().to_string(),
                payer: solana_sdk::signer::Signer::pubkey(&solana::payer_keypair()).to_string(),
                program: relayer_svm::tx::PROGRAM_ID.to_string(),
                attestation_url,
                relayer: solana_sdk::signer::Signer::pubkey(&solana_key).to_string(),
            }),
        };
        std::fs::write(dir.join("devnet.json"), serde_json::to_string_pretty(&info)?)?;
        Ok(Self { info, dir, node, solana, anvils, attester: stop, bridge_paused, tron_fronts, postgres })
    }

    /// Holds every bridged message back (`true`), as a slow bridge would, or lets them through.
    pub fn pause_bridge(&self, paused: bool) {
        self.bridge_paused.all(paused);
    }

    /// Holds back (`true`) or releases only what is bridged from Solana; deliveries to Solana go on.
    pub fn pause_bridge_from_solana(&self, paused: bool) {
        self.bridge_paused.from_solana(paused);
    }

    /// Whether a third party (the attester, as Circle's forwarding service would) delivers every message
    /// for Solana as soon as it is attested, before the relayer can (default `false`: only the relayer
    /// delivers, as on a real cluster).
    pub fn forward_to_solana(&self, forward: bool) {
        self.bridge_paused.forward_to_solana(forward);
    }

    /// Stops the relayer gracefully, then the attester and the chains.
    pub async fn stop(self, signal: &'static str) {
        relayer_node::cli::shutdown(self.node, signal).await;
        self.solana.stop();
        self.attester.cancel();
        drop(self.anvils);
    }
}

/// The running devnet's connection details, from `<dir>/devnet.json`.
pub fn read_info(dir: &Path) -> eyre::Result<DevnetInfo> {
    let text = std::fs::read_to_string(dir.join("devnet.json"))
        .wrap_err("no running devnet found (start `relayer devnet` first)")?;
    Ok(serde_json::from_str(&text)?)
}

fn banner(info: &DevnetInfo, dir: &Path, took: Duration) -> String {
    let DevnetInfo { api_url, api_key, router, chains, solana } = info;
    let solana_lines = solana_banner(solana.as_ref());
    let dir = dir.display();
    let token =
        |symbol: &str, a: Option<Address>| a.map(|a| format!("  test {symbol} {a}")).unwrap_or_default();
    let chain_lines: String = chains
        .iter()
        .map(|c| {
            format!(
                "  {:<9} chain {:<9} RPC {}{}{}\n",
                c.name,
                c.chain_id,
                c.rpc_url,
                token("USDC", c.usdc),
                token("USDT", c.usdt)
            )
        })
        .collect();
    let pay_lines: String = chains
        .iter()
        .filter(|c| c.usdc.is_some())
        .map(|c| {
            format!(
                "  cargo run -q -p relayer -- devnet pay <receiverAddress> 10.00 --chain {}\n",
                c.name.to_lowercase()
            )
        })
        .collect();
    format!(
        r#"
devnet is up in {took:.1?} (Ctrl-C stops everything)
  API        {api_url}
  API key    {api_key}
  router     {router} (the same on every chain; 1 s blocks; USDC and USDT have 6 decimals)
{chain_lines}  bridges    USDC over a local CCTP, USDT (Tron → Base) over a local OFT; the devnet signs and
             delivers the messages. The relayer fronts up to {DEVNET_INVENTORY} USDC and USDT on Base and is
             repaid when the bridge arrives. "Tron" here is an EVM node with Tron's chain id and USDT.
  state      {dir}

Try it (bash):
  export API={api_url} KEY={api_key}
  curl -s -X POST $API/v1/sessions -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{{"destination":{{"type":"evm","address":"0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045","chainId":8453,"tokenAddress":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","amountUnits":"10.00"}},"display":{{"title":"Deposit to Acme","verb":"Deposit"}}}}'
  # from the answer:
  export ID=<session.sessionId> SECRET=<session.clientSecret>
  # the payer's checkout page (open it in a browser; it shows the receiver, a QR code and live status):
  echo "$API/checkout/$ID?cs=$SECRET"
  # or choose the payment method by hand:
  curl -s -X POST $API/v1/sessions/$ID/paymentMethods -H 'Content-Type: application/json' \
    -d '{{"clientSecret":"'$SECRET'","paymentMethod":{{"type":"evm"}}}}'
  # pay session.paymentMethod.receiverAddress from the funded test wallet, on any chain:
{pay_lines}  # a USDT session (tokenAddress of Base's USDT, paymentMethod {{"type":"tron"}}) is paid on Tron with
  #   cargo run -q -p relayer -- devnet pay <tron.receiverAddress as 0x…> 10.00 --chain tron
  curl -s -X PUT $API/v1/sessions/$ID/check -H 'Content-Type: application/json' -d '{{"clientSecret":"'$SECRET'"}}'
  curl -s $API/v1/sessions/$ID -H "Authorization: Bearer $KEY"
{solana_lines}"#
    )
}

fn solana_banner(solana: Option<&DevnetSolana>) -> String {
    let Some(DevnetSolana { rpc_url, usdc, payer, program, attestation_url, .. }) = solana else {
        return String::new();
    };
    format!(
        r#"
Solana (an in-process bank: solana-program-test with the deposit-vault program {program} and the real
SPL Token programs, served over JSON-RPC at {rpc_url}; test USDC mint {usdc}; funded payer wallet {payer};
USDC bridged in from the EVM chains is attested at {attestation_url}/v2/messages/<domain>?transactionHash=
and delivered by the relayer):
  curl -s -X POST $API/v1/sessions -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{{"destination":{{"type":"solana","address":"7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU","tokenAddress":"{usdc}","amountUnits":"10.00"}},"display":{{"title":"Deposit to Acme","verb":"Deposit"}}}}'
  export ID=<session.sessionId> SECRET=<session.clientSecret>
  curl -s -X POST $API/v1/sessions/$ID/paymentMethods -H 'Content-Type: application/json' \
    -d '{{"clientSecret":"'$SECRET'","paymentMethod":{{"type":"solana","walletAddress":"{payer}"}}}}'
  # sign the answer's solana.serializedTx with the devnet wallet, and send it:
  cargo run -q -p relayer -- devnet pay-solana <solana.serializedTx>
  curl -s $API/v1/sessions/$ID -H "Authorization: Bearer $KEY"
"#
    )
}

/// Pays `amount` (token units) of a test token to `receiver` on the devnet chain `chain` (id or name)
/// from the devnet's funded wallet: `token` `usdc` or `usdt` (default: USDC where the chain has it, else
/// USDT). Returns the transfer's hash once mined, and the token's symbol.
pub async fn pay(
    info: &DevnetInfo,
    chain: &str,
    token: Option<&str>,
    receiver: Address,
    amount: &str,
) -> eyre::Result<(alloy::primitives::B256, &'static str)> {
    let chain = info.chain(chain)?;
    let amount = parse_units(amount, 6).map_err(|e| eyre::eyre!("amount {e}"))?;
    let payer: PrivateKeySigner = PAYER_KEY.parse()?;
    let payer_address = payer.address();
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(payer)).connect_http(chain.rpc_url.parse()?);
    let pick = |symbol: &'static str, address: Option<Address>| {
        address.map(|a| (symbol, a)).ok_or_else(|| eyre::eyre!("{} has no test {symbol}", chain.name))
    };
    let (symbol, address) = match token.map(str::to_ascii_lowercase).as_deref() {
        Some("usdc") => pick("USDC", chain.usdc)?,
        Some("usdt") => pick("USDT", chain.usdt)?,
        Some(other) => eyre::bail!("token must be usdc or usdt, not {other}"),
        None => pick("USDC", chain.usdc).or_else(|_| pick("USDT", chain.usdt))?,
    };
    // USDT's transfer returns `false` (as Tron's does): the calls are sent raw and judged by their receipts.
    let usdt = TestUSDT::new(address, &provider);
    usdt.mint(payer_address, amount).send().await?.get_receipt().await?;
    let pending = usdt.transfer(receiver, amount).send().await?;
    let receipt = tokio::time::timeout(Duration::from_secs(30), pending.get_receipt()).await??;
    eyre::ensure!(receipt.status(), "the transfer reverted: {}", receipt.transaction_hash);
    Ok((receipt.transaction_hash, symbol))
}
