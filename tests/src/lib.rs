//! End-to-end harness: a real anvil node, the contracts compiled by the project from its own sources
//! and deployed exactly as the devnet deploys them, and the real relayer (in process, or as its own
//! binary for crash tests) spoken to over real HTTP.

pub mod browser;
pub mod chaos;
pub mod daimo;
pub mod solana;

use std::{path::PathBuf, time::Duration};

use alloy::{
    network::EthereumWallet,
    node_bindings::AnvilInstance,
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::{WrapErr, bail};
use relayer_core::Node;
use relayer_devnet::{
    BASE_USDC, ConfigParams, PAYER_KEY,
    bindings::{PullAllowanceTarget, RevertingTarget, TestUSDC},
    config,
    multichain::{Attester, BASE, CHAINS, ChainDesc, Deployed, Link, deploy_chain},
    spawn_chain,
};
use relayer_evm::create2::Deployment;
use serde_json::{Value, json};

/// The API key every test relayer accepts.
pub const API_KEY: &str = "test_api_key_0123456789";
/// A destination with no special role.
pub const DEST: Address = Address::new([0xd0; 20]);
/// A refund address.
pub const REFUND: Address = Address::new([0xbe; 20]);

/// `n` whole units of the 6-decimal test USDC.
pub fn usdc(units: u64) -> U256 {
    U256::from(units) * U256::from(1_000_000u64)
}

/// A signing provider that asks the node for every nonce: tests rewind the chain (`evm_revert`), and a
/// cached nonce would then wait forever for a gap to fill.
fn provider(key: PrivateKeySigner, anvil: &AnvilInstance) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(key))
        .connect_http(anvil.endpoint_url())
        .erased()
}

/// How long any harness wait for a receipt may take before the test fails instead of hanging.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// A local chain with the contracts deployed.
pub struct Chain {
    /// The node (killed on drop).
    pub anvil: AnvilInstance,
    /// Provider signing with anvil's first key (deployer).
    pub deployer: DynProvider,
    /// Provider signing with the payer key.
    pub payer: DynProvider,
    /// Payer address.
    pub payer_address: Address,
    /// Router, factory, implementation.
    pub deployment: Deployment,
    /// The token `pay` sends: test USDC at the chain's real USDC address, or on a chain without USDC
    /// (Tron) test USDT.
    pub usdc: Address,
    /// Which chain it plays.
    pub desc: ChainDesc,
    /// What the devnet deployed on it (router, CCTP adapter, local CCTP).
    pub deployed: Deployed,
}

impl Chain {
    /// Starts anvil (automining) and deploys like `relayer devnet` does.
    pub async fn start() -> eyre::Result<Self> {
        Self::start_with_block_time(None).await
    }

    /// Starts anvil with fixed-interval blocks (`Some(secs)`, like the devnet) or automining.
    pub async fn start_with_block_time(block_time: Option<u64>) -> eyre::Result<Self> {
        Self::start_as(&BASE, block_time).await
    }

    /// Starts anvil as the devnet chain `desc` and deploys what the devnet deploys there.
    pub async fn start_as(desc: &ChainDesc, block_time: Option<u64>) -> eyre::Result<Self> {
        let anvil = spawn_chain(desc.chain_id, 0, block_time)?;
        let deployer = provider(PrivateKeySigner::from(anvil.keys()[0].clone()), &anvil);
        let payer_key: PrivateKeySigner = PAYER_KEY.parse()?;
        let payer_address = payer_key.address();
        let payer = provider(payer_key, &anvil);
        let deployed = deploy_chain(&deployer, &anvil.endpoint(), desc, &CHAINS).await?;
        Ok(Self {
            anvil,
            deployer,
            payer,
            payer_address,
            deployment: deployed.deployment,
            usdc: desc.usdc.or(desc.usdt).unwrap_or_default(),
            desc: *desc,
            deployed,
        })
    }

    /// RPC URL.
    pub fn rpc_url(&self) -> String {
        self.anvil.endpoint()
    }

    /// Pays `amount` test USDC to `to` from the payer wallet; returns the transfer's hash once mined.
    pub async fn pay(&self, to: Address, amount: U256) -> eyre::Result<B256> {
        let token = TestUSDC::new(self.usdc, &self.payer);
        self.mined(*token.mint(self.payer_address, amount).send().await?.tx_hash()).await?;
        self.mined(*token.transfer(to, amount).send().await?.tx_hash()).await
    }

    /// Pays `amount` to each of `receivers` at once: one mint, then every transfer sent before any is
    /// waited for (they land in the same few blocks). Returns the transfers' hashes once all are mined.
    pub async fn pay_many(&self, receivers: &[Address], amount: U256) -> eyre::Result<Vec<B256>> {
        let token = TestUSDC::new(self.usdc, &self.payer);
        let total = amount * U256::from(receivers.len());
        self.mined(*token.mint(self.payer_address, total).send().await?.tx_hash()).await?;
        let mut sent = vec![];
        for receiver in receivers {
            sent.push(*token.transfer(*receiver, amount).send().await?.tx_hash());
        }
        for tx in &sent {
            self.mined(*tx).await?;
        }
        Ok(sent)
    }

    /// Mints `amount` to the payer (mined), then sends the transfer without waiting for it to be mined
    /// (for tests that turn automining off and mine by hand).
    pub async fn pay_unmined(&self, to: Address, amount: U256) -> eyre::Result<B256> {
        let token = TestUSDC::new(self.usdc, &self.payer);
        self.mined(*token.mint(self.payer_address, amount).send().await?.tx_hash()).await?;
        self.set_automine(false).await?;
        Ok(*token.transfer(to, amount).send().await?.tx_hash())
    }

    /// Waits for `tx` to be mined by polling its receipt (no node-side filters, which an `evm_revert`
    /// invalidates), failing after [`RECEIPT_TIMEOUT`] instead of hanging.
    pub async fn mined(&self, tx: B256) -> eyre::Result<B256> {
        let deadline = tokio::time::Instant::now() + RECEIPT_TIMEOUT;
        loop {
            if self.deployer.get_transaction_receipt(tx).await?.is_some() {
                return Ok(tx);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("transaction {tx} was not mined within {RECEIPT_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Test USDC balance of `who`.
    pub async fn balance(&self, who: Address) -> eyre::Result<U256> {
        Ok(TestUSDC::new(self.usdc, &self.deployer).balanceOf(who).call().await?)
    }

    /// Deploys a target that pulls its whole allowance.
    pub async fn deploy_pull_target(&self) -> eyre::Result<Address> {
        Ok(*PullAllowanceTarget::deploy(&self.deployer).await?.address())
    }

    /// Deploys a target that always reverts.
    pub async fn deploy_reverting_target(&self) -> eyre::Result<Address> {
        Ok(*RevertingTarget::deploy(&self.deployer).await?.address())
    }

    /// A session body on Base for `amount` whose final call reverts, so its deposit bounces to
    /// [`REFUND`]; and the call's target (a fresh `RevertingTarget`).
    pub async fn bouncing_session_body(&self, amount: &str) -> eyre::Result<(Value, Address)> {
        use alloy::sol_types::SolCall as _;
        let target = self.deploy_reverting_target().await?;
        let call = RevertingTarget::depositCall { _0: BASE_USDC, _1: Address::repeat_byte(1) }.abi_encode();
        Ok((session_body(target, Some(amount), Some(Bytes::from(call)), Some(REFUND)), target))
    }

    /// Turns automining on or off.
    pub async fn set_automine(&self, on: bool) -> eyre::Result<()> {
        self.deployer.raw_request::<_, ()>("evm_setAutomine".into(), (on,)).await?;
        Ok(())
    }

    /// Moves the chain's clock `secs` forward (takes effect with the next block).
    pub async fn increase_time(&self, secs: u64) -> eyre::Result<()> {
        self.deployer.raw_request::<_, Value>("evm_increaseTime".into(), (secs,)).await?;
        Ok(())
    }

    /// Mines one block.
    pub async fn mine(&self) -> eyre::Result<()> {
        self.deployer.raw_request::<_, Value>("evm_mine".into(), ()).await?;
        Ok(())
    }

    /// Gives `who` 1000 ETH.
    pub async fn fund(&self, who: Address) -> eyre::Result<()> {
        relayer_devnet::multichain::fund(&self.deployer, who).await
    }

    /// `who`'s nonce, counting pending transactions or not.
    pub async fn nonce(&self, who: Address, pending: bool) -> eyre::Result<u64> {
        let call = self.deployer.get_transaction_count(who);
        Ok(if pending { call.pending().await? } else { call.await? })
    }

    /// Pending transactions in the node's pool.
    pub async fn pending_transactions(&self) -> eyre::Result<Vec<Value>> {
        let block: Value =
            self.deployer.raw_request("eth_getBlockByNumber".into(), ("pending", true)).await?;
        Ok(block["transactions"].as_array().cloned().unwrap_or_default())
    }

    /// How many router `Settled` events exist for the receiver.
    pub async fn settled_events(&self, receiver: Address) -> eyre::Result<usize> {
        use alloy::sol_types::SolEvent;
        let filter = alloy::rpc::types::Filter::new()
            .address(self.deployment.router)
            .event_signature(relayer_evm::bindings::DepositRouter::Settled::SIGNATURE_HASH)
            .topic2(receiver.into_word())
            .from_block(0);
        Ok(self.deployer.get_logs(&filter).await?.len())
    }

    /// What the chain shows for `receiver`, for a failing test to print: each router `Settled` (its
    /// outcome, amounts, block and transaction) and each USDC transfer into or out of it.
    pub async fn receiver_history(&self, receiver: Address) -> eyre::Result<String> {
        use alloy::sol_types::SolEvent;
        use relayer_evm::bindings::DepositRouter::Settled;
        let settled = alloy::rpc::types::Filter::new()
            .address(self.deployment.router)
            .event_signature(Settled::SIGNATURE_HASH)
            .topic2(receiver.into_word())
            .from_block(0);
        let mut lines = vec![];
        for log in self.deployer.get_logs(&settled).await? {
            let event = Settled::decode_log(&log.inner)?;
            lines.push(format!(
                "Settled outcome {} amount {} delivered {} refunded {} in block {:?} tx {:?}",
                event.outcome,
                event.amount,
                event.delivered,
                event.refunded,
                log.block_number,
                log.transaction_hash
            ));
        }
        let transfer = alloy::primitives::keccak256("Transfer(address,address,uint256)");
        for (side, topic) in [("in", 2), ("out", 1)] {
            let mut filter =
                alloy::rpc::types::Filter::new().address(self.usdc).event_signature(transfer).from_block(0);
            filter = if topic == 2 {
                filter.topic2(receiver.into_word())
            } else {
                filter.topic1(receiver.into_word())
            };
            for log in self.deployer.get_logs(&filter).await? {
                lines.push(format!(
                    "transfer {side} {} in block {:?} tx {:?}",
                    U256::from_be_slice(&log.data().data),
                    log.block_number,
                    log.transaction_hash
                ));
            }
        }
        Ok(lines.join("\n"))
    }
}

/// Settings of a test relayer.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Session lifetime.
    pub session_lifetime_secs: u64,
    /// Seconds before a stuck transaction is replaced.
    pub bump_after_secs: u64,
    /// How often the watcher polls the chain.
    pub watcher_poll_interval_ms: u64,
    /// Blocks an event needs (its own included) before it counts, and a transaction before it is final.
    pub confirmations: u64,
    /// Fee ceiling in gwei.
    pub max_fee_gwei: Option<u64>,
    /// Webhook retry delays (ms): short, so a test sees retries within seconds.
    pub webhook_retry_schedule_ms: Vec<u64>,
    /// The store's PostgreSQL URL (`None`: sled in a temporary folder).
    pub database_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_lifetime_secs: 3600,
            bump_after_secs: 30,
            watcher_poll_interval_ms: 100,
            confirmations: 1,
            max_fee_gwei: None,
            webhook_retry_schedule_ms: vec![200, 400, 800, 1600, 3200],
            database_url: None,
        }
    }
}

/// A relayer key funded on `chain`, the config's parameters (API on a free port) and the key's hex.
pub async fn relayer_config(
    chain: &Chain,
    data_dir: PathBuf,
    settings: &Settings,
) -> eyre::Result<(ConfigParams, String, Address)> {
    let key = PrivateKeySigner::random();
    chain.fund(key.address()).await?;
    let params = ConfigParams {
        data_dir,
        port: 0,
        rpc_url: chain.rpc_url(),
        router: chain.deployment.router,
        usdc: chain.usdc,
        api_key_hash: hex::encode(relayer_core::api::auth::hash_api_key(API_KEY)),
        session_lifetime_secs: settings.session_lifetime_secs,
        confirmations: settings.confirmations,
        bump_after_secs: settings.bump_after_secs,
        poll_interval_ms: 100,
        watcher_poll_interval_ms: settings.watcher_poll_interval_ms,
        max_fee_gwei: settings.max_fee_gwei,
        usdt: None,
        front_cap: None,
        more_chains: vec![],
        webhook_retry_schedule_ms: Some(settings.webhook_retry_schedule_ms.clone()),
        database_url: settings.database_url.clone(),
    };
    Ok((params, alloy::hex::encode_prefixed(key.to_bytes()), key.address()))
}

/// The relayer running in this process.
pub struct Relayer {
    /// The node.
    pub node: Node,
    /// HTTP client for its API.
    pub api: Api,
    /// Its signing address.
    pub signer: Address,
    _data: tempfile::TempDir,
}

impl Relayer {
    /// Starts a relayer for `chain`.
    pub async fn start(chain: &Chain, settings: Settings) -> eyre::Result<Self> {
        Self::start_prepared(chain, settings, |_, _| Ok(())).await
    }

    /// Starts a relayer for `chain` after `prepare` had its data directory and signing address (to
    /// leave in its store what a previous run would have).
    pub async fn start_prepared(
        chain: &Chain,
        settings: Settings,
        prepare: impl FnOnce(&std::path::Path, Address) -> eyre::Result<()>,
    ) -> eyre::Result<Self> {
        let data = tempfile::tempdir()?;
        let (params, key, signer) = relayer_config(chain, data.path().join("db"), &settings).await?;
        prepare(&params.data_dir, signer)?;
        let node = relayer_node::start(config(&params, &key)?).await?;
        let api = Api::new(format!("http://{}", node.addr));
        Ok(Self { node, api, signer, _data: data })
    }
}

/// Credentials for one request.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// None.
    None,
    /// `Authorization: Bearer <key>`.
    Key(&'a str),
}

/// A small client for the API.
#[derive(Debug, Clone)]
pub struct Api {
    /// Base URL.
    pub base: String,
    client: reqwest::Client,
}

/// An HTTP answer: status, JSON body and headers.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body (Null when not JSON).
    pub body: Value,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub text: String,
}

impl Api {
    /// A client for `base`.
    pub fn new(base: String) -> Self {
        Self {
            base,
            client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default(),
        }
    }

    /// Any request.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        content_type: Option<&str>,
        auth: Auth<'_>,
    ) -> eyre::Result<Answer> {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Auth::Key(key) = auth {
            req = req.bearer_auth(key);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        Self::answer(req).await
    }

    async fn answer(req: reqwest::RequestBuilder) -> eyre::Result<Answer> {
        let res = req.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await?;
        Ok(Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers, text })
    }

    /// A JSON request with the API key and extra `headers`.
    pub async fn send_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        headers: reqwest::header::HeaderMap,
    ) -> eyre::Result<Answer> {
        let mut req =
            self.client.request(method, format!("{}{path}", self.base)).bearer_auth(API_KEY).headers(headers);
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        Self::answer(req).await
    }

    /// A JSON request.
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        auth: Auth<'_>,
    ) -> eyre::Result<Answer> {
        self.send(method, path, Some(body.to_string()), Some("application/json"), auth).await
    }

    /// `POST /v1/sessions` with the API key; fails unless 201. Returns `session`.
    pub async fn create(&self, body: &Value) -> eyre::Result<Value> {
        self.create_with(API_KEY, body).await
    }

    /// `POST /v1/sessions` with the API key `key` (a devnet's own, say); fails unless 201. Returns
    /// `session`.
    pub async fn create_with(&self, key: &str, body: &Value) -> eyre::Result<Value> {
        let a = self.json(reqwest::Method::POST, "/v1/sessions", body, Auth::Key(key)).await?;
        eyre::ensure!(a.status == 201, "create: {} {}", a.status, a.body);
        Ok(a.body["session"].clone())
    }

    /// The checkout's first two steps: create `body` with the API key `key`, then choose `method` with the
    /// client secret, as a payer does. Returns the session id and the second answer (200, or an error).
    pub async fn create_and_choose(
        &self,
        key: &str,
        body: &Value,
        method: Value,
    ) -> eyre::Result<(String, Answer)> {
        let session = self.create_with(key, body).await?;
        let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
        let chosen = self
            .json(
                reqwest::Method::POST,
                &format!("/v1/sessions/{id}/paymentMethods"),
                &json!({ "clientSecret": session["clientSecret"], "paymentMethod": method }),
                Auth::None,
            )
            .await?;
        eyre::ensure!(chosen.status == 200, "paymentMethods: {}", chosen.body);
        Ok((id, chosen))
    }

    /// Sets the EVM payment method with the session's client secret; returns the receiver.
    pub async fn set_evm(&self, session: &Value) -> eyre::Result<Address> {
        let id = session["sessionId"].as_str().unwrap_or_default();
        let body = json!({ "clientSecret": session["clientSecret"], "paymentMethod": { "type": "evm" } });
        let a = self
            .json(reqwest::Method::POST, &format!("/v1/sessions/{id}/paymentMethods"), &body, Auth::None)
            .await?;
        if a.status != 200 {
            bail!("paymentMethods failed: {} {}", a.status, a.body);
        }
        a.body["session"]["paymentMethod"]["receiverAddress"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .wrap_err("receiverAddress")
    }

    /// `GET /v1/sessions/{id}` with the API key.
    pub async fn get(&self, id: &str) -> eyre::Result<Value> {
        let a = self
            .send(reqwest::Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(API_KEY))
            .await?;
        if a.status != 200 {
            bail!("get failed: {} {}", a.status, a.body);
        }
        session_of(a.body)
    }

    /// Polls until the session reaches `status` (or any terminal status if different), within `secs`.
    pub async fn wait_for(&self, id: &str, status: &str, secs: u64) -> eyre::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.get(id).await?;
            if s["status"] == status {
                return Ok(s);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("session {id} did not reach {status} in {secs}s: {s}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The session of a `{"session": {...}}` answer; anything else in the body is an error.
pub fn session_of(body: Value) -> eyre::Result<Value> {
    match body {
        Value::Object(mut top) if top.len() == 1 && top.get("session").is_some_and(Value::is_object) => {
            Ok(top.remove("session").unwrap_or_default())
        }
        other => bail!("expected {{\"session\": {{...}}}}, got {other}"),
    }
}

/// A create-session body for the chain's USDC.
pub fn session_body(
    to: Address,
    amount_units: Option<&str>,
    calldata: Option<Bytes>,
    refund: Option<Address>,
) -> Value {
    let mut destination = json!({
        "type": "evm",
        "address": to.to_checksum(None),
        "chainId": 8453,
        "tokenAddress": BASE_USDC.to_checksum(None),
    });
    if let Some(a) = amount_units {
        destination["amountUnits"] = a.into();
    }
    if let Some(c) = calldata {
        destination["calldata"] = c.to_string().into();
    }
    let mut body =
        json!({ "destination": destination, "display": { "title": "Deposit to Acme", "verb": "Deposit" } });
    if let Some(r) = refund {
        body["refundAddress"] = r.to_checksum(None).into();
    }
    body
}

/// Polls `done` every 100 ms until it says yes, failing after `secs` with `what` named.
pub async fn wait_until(
    secs: u64,
    what: &str,
    mut done: impl AsyncFnMut() -> eyre::Result<bool>,
) -> eyre::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done().await? {
        eyre::ensure!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A free local port (bound, then released for a relayer subprocess).
pub fn free_port() -> eyre::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Spawns the real relayer binary `bin` (`run --config FILE`, the key in its environment, stderr
/// appended to `log`) and waits for its API.
pub async fn spawn_relayer(
    bin: &std::path::Path,
    config: &std::path::Path,
    key: &str,
    log: &std::path::Path,
    api: &Api,
) -> eyre::Result<tokio::process::Child> {
    spawn_relayer_with(bin, config, &[(relayer_devnet::KEY_VAR, key)], log, api).await
}

/// [`spawn_relayer`] with the given environment (the key's variable, a database URL's).
pub async fn spawn_relayer_with(
    bin: &std::path::Path,
    config: &std::path::Path,
    env: &[(&str, &str)],
    log: &std::path::Path,
    api: &Api,
) -> eyre::Result<tokio::process::Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let child = tokio::process::Command::new(bin)
        .args(["run", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .env("RUST_LOG", std::env::var("E2E_RELAYER_LOG").unwrap_or_else(|_| "info".into()))
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()?;
    let up = async || {
        Ok(api
            .send(reqwest::Method::GET, "/healthz", None, None, Auth::None)
            .await
            .is_ok_and(|a| a.status == 200))
    };
    wait_until(30, "the relayer's API", up).await?;
    Ok(child)
}

/// Everything a test needs to run the real relayer binary against `chain` on a fixed port.
pub struct RelayerProcess {
    /// Holds the store, config and log.
    pub dir: tempfile::TempDir,
    /// The config file.
    pub config: PathBuf,
    /// The relayer's stderr, appended across restarts.
    pub log: PathBuf,
    /// The relayer key (hex), passed in its environment.
    pub key: String,
    /// Its address.
    pub signer: Address,
    /// Its API.
    pub api: Api,
}

impl RelayerProcess {
    /// A funded key and a config for `chain` written to a fresh folder, with the API on a free port.
    pub async fn prepare(chain: &Chain, settings: &Settings) -> eyre::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (mut params, key, signer) = relayer_config(chain, dir.path().join("db"), settings).await?;
        params.port = free_port()?;
        let config = dir.path().join("relayer.toml");
        std::fs::write(&config, relayer_devnet::config_text(&params)?)?;
        let log = dir.path().join("relayer.log");
        let api = Api::new(format!("http://127.0.0.1:{}", params.port));
        Ok(Self { dir, config, log, key, signer, api })
    }

    /// Starts the binary `bin` and waits for its API.
    pub async fn spawn(&self, bin: &std::path::Path) -> eyre::Result<tokio::process::Child> {
        spawn_relayer(bin, &self.config, &self.key, &self.log, &self.api).await
    }
}

/// Several local chains joined by the local CCTP, with the devnet's attester relaying between them
/// (stopped on drop). The first chain is the destination of the tests' sessions.
pub struct Chains {
    /// The chains, in the order asked for.
    pub chains: Vec<Chain>,
    stop: tokio_util::sync::CancellationToken,
    bridge_paused: relayer_devnet::multichain::BridgePause,
    /// The HTTP API of each Tron chain (a front over its EVM node), by chain id.
    pub tron_fronts: std::collections::HashMap<u64, relayer_devnet::tron_front::TronFront>,
}

impl Drop for Chains {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Chains {
    /// Starts `descs` (automining) and the attester.
    pub async fn start(descs: &[ChainDesc]) -> eyre::Result<Self> {
        let mut chains = vec![];
        for desc in descs {
            chains.push(Chain::start_as(desc, None).await?);
        }
        let links: Vec<Link> = chains.iter().map(|c| Link::to(&c.desc, c.rpc_url())).collect();
        let attester = Attester::new(&links).await?;
        let bridge_paused = attester.pause_switch();
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(attester.run(Duration::from_millis(100), stop.clone()));
        let mut tron_fronts = std::collections::HashMap::new();
        for chain in chains.iter().filter(|c| c.desc.family == relayer_types::Family::Tron) {
            // The chains mine on transactions only: the front produces blocks as a Tron network does.
            let front =
                relayer_devnet::tron_front::TronFront::start(&chain.rpc_url(), Some(Duration::from_secs(1)))
                    .await?;
            tron_fronts.insert(chain.desc.chain_id, front);
        }
        Ok(Self { chains, stop, bridge_paused, tron_fronts })
    }

    /// Holds bridged messages back (`true`), as a slow bridge would, or lets them through.
    pub fn pause_bridge(&self, paused: bool) {
        self.bridge_paused.all(paused);
    }

    /// The chain `chain_id`.
    pub fn get(&self, chain_id: u64) -> eyre::Result<&Chain> {
        self.chains
            .iter()
            .find(|c| c.desc.chain_id == chain_id)
            .ok_or_else(|| eyre::eyre!("no chain {chain_id}"))
    }

    /// A relayer key funded on every chain, and the config's parameters: the first chain as the
    /// destination (fronting up to `front_cap`, if given), the others as sources with CCTP routes to it.
    pub async fn relayer_config(
        &self,
        data_dir: PathBuf,
        settings: &Settings,
        front_cap: Option<&str>,
    ) -> eyre::Result<(ConfigParams, String, Address)> {
        let dest = &self.chains[0];
        let (mut params, key, signer) = relayer_config(dest, data_dir, settings).await?;
        params.front_cap = front_cap.map(str::to_owned);
        params.usdt = dest.desc.usdt;
        for source in &self.chains[1..] {
            source.fund(signer).await?;
            let front = self.tron_fronts.get(&source.desc.chain_id);
            let http = front.map(|f| f.url.as_str());
            // A Tron chain is watched through its node's JSON-RPC (the front's), as a real one is.
            let rpc_url = front.map_or_else(|| source.rpc_url(), |f| f.jsonrpc_url());
            params.more_chains.push(relayer_devnet::source_chain(
                &source.desc,
                &rpc_url,
                &source.deployed,
                &dest.desc,
                &params,
                http,
            )?);
        }
        Ok((params, key, signer))
    }
}

/// Validates `answer` against the document's schema for `method path` at the answer's status.
pub fn conforms(doc: &Value, method: &str, path: &str, answer: &Answer) -> eyre::Result<()> {
    let status = answer.status.to_string();
    let schema = &doc["paths"][path][method]["responses"][&status]["content"]["application/json"]["schema"];
    eyre::ensure!(
        !schema.is_null(),
        "the document declares no {status} for {method} {path}: {}",
        answer.body
    );
    let root = json!({ "components": doc["components"], "allOf": [schema] });
    let validator = jsonschema::draft202012::new(&root).map_err(|e| eyre::eyre!("schema: {e}"))?;
    let errors: Vec<String> =
        validator.iter_errors(&answer.body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    eyre::ensure!(
        errors.is_empty(),
        "{method} {path} {status} does not match the document: {errors:?}\n{}",
        answer.body
    );
    Ok(())
}

/// A webhook receiver for tests: a real HTTP server that records every request and checks both
/// signature schemes with its own implementation (written from Daimo's documentation and the Standard
/// Webhooks specification, sharing no code with the relayer). It answers the queued statuses in turn,
/// then `default_status`.
pub struct WebhookReceiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    state: std::sync::Arc<ReceiverState>,
    stop: tokio_util::sync::CancellationToken,
}

#[derive(Default)]
struct ReceiverState {
    received: std::sync::Mutex<Vec<Received>>,
    answers: std::sync::Mutex<std::collections::VecDeque<u16>>,
    default_status: std::sync::atomic::AtomicU16,
    secret: std::sync::Mutex<Option<String>>,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The parsed body.
    pub body: Value,
    /// The `webhook-id` header.
    pub webhook_id: String,
    /// Whether both signatures verified against the secret (and the timestamps are within 5 minutes).
    pub verified: bool,
    /// What the receiver answered.
    pub answered: u16,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Daimo's check: `Daimo-Signature: t=<t>,v1=<hex>`, HMAC-SHA256 keyed with the secret string over
/// `<t>.<raw body>`, `t` within 5 minutes.
pub fn verify_daimo(secret: &str, header: &str, body: &[u8], now: u64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<u64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let expected = hmac_sha256(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body].concat());
    now.abs_diff(t) <= 300 && v1 == expected
}

/// Standard Webhooks' check: key = base64 of the secret after `whsec_`; `webhook-signature` holds
/// space-separated `v1,<base64>` entries over `<id>.<timestamp>.<raw body>`; timestamp within 5 minutes.
pub fn verify_standard(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: u64,
) -> bool {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let Ok(key) = b64.decode(secret.trim_start_matches("whsec_")) else { return false };
    let Ok(ts) = timestamp.parse::<u64>() else { return false };
    let expected =
        b64.encode(hmac_sha256(&key, &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body].concat()));
    now.abs_diff(ts) <= 300
        && signatures.split(' ').any(|s| s.strip_prefix("v1,").is_some_and(|sig| sig == expected))
}

/// The receiver's handler: records the request, checks both signatures, answers the next status.
async fn receive(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<ReceiverState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let now = relayer_types::unix_now();
    let secret = state.secret.lock().map(|s| s.clone()).unwrap_or_default().unwrap_or_default();
    let verified = verify_daimo(&secret, &header("daimo-signature"), &body, now)
        && verify_standard(
            &secret,
            &header("webhook-id"),
            &header("webhook-timestamp"),
            &header("webhook-signature"),
            &body,
            now,
        );
    let answered = state
        .answers
        .lock()
        .ok()
        .and_then(|mut q| q.pop_front())
        .unwrap_or_else(|| state.default_status.load(std::sync::atomic::Ordering::SeqCst));
    if let Ok(mut received) = state.received.lock() {
        received.push(Received {
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            webhook_id: header("webhook-id"),
            verified,
            answered,
            at: std::time::Instant::now(),
        });
    }
    axum::http::StatusCode::from_u16(answered).unwrap_or(axum::http::StatusCode::OK)
}

impl WebhookReceiver {
    /// Starts a receiver on a free loopback port answering 200.
    pub async fn start() -> eyre::Result<Self> {
        let state = std::sync::Arc::new(ReceiverState::default());
        state.default_status.store(200, std::sync::atomic::Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(std::sync::Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let stop = tokio_util::sync::CancellationToken::new();
        let shutdown = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        });
        Ok(Self { url, state, stop })
    }

    /// The secret to verify with (from the endpoint's creation).
    pub fn set_secret(&self, secret: &str) {
        if let Ok(mut s) = self.state.secret.lock() {
            *s = Some(secret.to_owned());
        }
    }

    /// Answers `statuses` to the next requests, in order.
    pub fn answer(&self, statuses: &[u16]) {
        if let Ok(mut q) = self.state.answers.lock() {
            q.extend(statuses);
        }
    }

    /// Answers `status` once the queued answers are used.
    pub fn answer_by_default(&self, status: u16) {
        self.state.default_status.store(status, std::sync::atomic::Ordering::SeqCst);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Waits until `done` holds for what was received, within `secs`.
    pub async fn wait(
        &self,
        secs: u64,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> eyre::Result<Vec<Received>> {
        wait_until(secs, what, async || Ok(done(&self.received()))).await?;
        Ok(self.received())
    }

    /// Registers this receiver with the relayer behind `api` for `events`; returns the endpoint.
    pub async fn register(&self, api: &Api, events: &[&str]) -> eyre::Result<Value> {
        let body = json!({ "url": self.url, "events": events, "description": "test receiver" });
        let a = api.json(reqwest::Method::POST, "/v1/webhooks", &body, Auth::Key(API_KEY)).await?;
        if a.status != 201 {
            bail!("webhook registration failed: {} {}", a.status, a.body);
        }
        self.set_secret(a.body["webhook"]["secret"].as_str().unwrap_or_default());
        Ok(a.body["webhook"].clone())
    }
}
