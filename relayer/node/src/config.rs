//! The relayer's configuration: one TOML file, typed both ways. [`ConfigFile`] is the file's shape
//! (`Deserialize` for the relayer, `Serialize` for the devnet and tests, which write configs by
//! serializing it rather than filling a text template); [`Config::from_file`] validates everything up
//! front and fails with a message naming the offending field, so a bad deployment never half-starts.
//! Out-of-range values are refused, never clamped. Each chain family validates its own sections.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! data_dir = "./relayer-data"     # the sled store's folder, unless [store] names another store
//! session_lifetime_secs = 3600
//! log_format = "text"            # or "json"
//!
//! [store]                        # optional: where the state lives (default: sled in data_dir)
//! url = "env:DATABASE_URL"       # PostgreSQL, shared by every instance; or "sled:PATH"
//! lease_secs = 15                # PostgreSQL: the signing lease's lifetime (renewed every third)
//!
//! [auth]
//! api_key_sha256 = ["<64 hex chars: sha256 of an API key, see `relayer hash-key`>"]
//! # metrics_token_sha256 = "<64 hex chars>"  # optional: /metrics then requires `Bearer <that token>`
//! # browser_origins = ["https://shop.example"]  # optional: CORS on the client-secret routes
//!
//! [signer]                     # the EVM and Tron key: one of
//! private_key = "env:RELAYER_PRIVATE_KEY"   # a raw key, only ever read from the environment
//! # keystore = "/etc/relayer/key.json"       # or an Ethereum JSON keystore (geth, clef, cast wallet)
//! # password = "file:/run/secrets/relayer"   #   and its password: `env:VAR` or `file:PATH`
//! # aws_kms_key = "arn:aws:kms:…:key/…"      # or a key in AWS KMS (ECC_SECG_P256K1, SIGN_VERIFY)
//! # aws_region = "eu-west-1"                 #   optional: else the AWS SDK's (AWS_REGION, profile)
//! # aws_endpoint_url = "https://…"           #   optional: a VPC endpoint, a KMS-compatible server
//! # gcp_kms_key = "projects/…/locations/…/keyRings/…/cryptoKeys/…/cryptoKeyVersions/1"
//! #                                          # or a key in Google Cloud KMS (EC_SIGN_SECP256K1_SHA256)
//! # gcp_endpoint_url = "https://…"           #   optional: another Cloud KMS endpoint
//! # address = "0x…"                          # the account: required with a KMS key (every
//!                                            # signature must recover to it); else optional, and
//!                                            # the relayer refuses to start with any other key
//! # [signer.inventory]                       # optional, written like [signer]: a separate key that
//! # keystore = "/etc/relayer/inventory.json"  #   fronts from its own tokens where a front_cap is set
//! # password = "file:/run/secrets/inventory"  #   (the key above then pays gas and holds no tokens)
//!
//! [retry]                        # optional: how the engine retries work a chain cannot do yet
//! first_delay_ms = 500
//! max_delay_secs = 300
//! max_attempts = 14
//!
//! [webhooks]                     # optional: delivery of the events of /v1/webhooks endpoints
//! retry_schedule_ms = [5000, 300000, 1800000]   # default: 5 s … 10 h, about 3 days in all
//! timeout_ms = 10000
//! max_in_flight = 4              # per endpoint
//! allow_loopback_http = false    # true: endpoints on this machine, http too (local development)
//! allow_private_networks = false # true: endpoints on 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7
//! retention_days = 30
//!
//! [checkout]                     # optional: the hosted checkout page
//! frame_ancestors = ["https://shop.example"]   # who may frame it (CSP); none by default
//!
//! [executor]                     # optional: every EVM-shaped chain's sender
//! max_in_flight = 32
//! bump_after_secs = 30
//! poll_interval_ms = 500
//!
//! # The destination chain: delivers, and fronts bridged deposits up to the cap.
//! [[chains]]
//! family = "evm"                 # evm, tron or solana: which family reads the rest of the entry
//! chain_id = 8453
//! name = "Base"
//! rpc_url = "https://base.example"
//! fallback_rpc_urls = ["https://base-backup.example"]   # failover, in turn
//! rpc_timeout_ms = 10000         # per try
//! rpc_hedge_after_ms = 500       # the longest a call waits before a second try races it
//! confirmations = 1
//! lag_budget_blocks = 20         # /readyz fails beyond it
//! min_native_balance = "0.01"    # /readyz fails while the key holds less (ETH): it could not pay gas
//! max_fee_gwei = 50              # fee bumps never pay more per gas than this ...
//! max_fee_base_fee_multiple = 10 # ... nor more than this multiple of the base fee
//! router = "0x1111111111111111111111111111111111111111"
//! [[chains.tokens]]
//! address = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
//! symbol = "USDC"
//! decimals = 6
//! front_cap = "5000"             # fronted and not yet repaid, at most
//! min_open_amount = "1.00"       # an open-amount session starts once this much arrived; less than this
//!                                # arriving later (dust) waits for one sweep at expiry (default 1.00)
//! confirmation_tiers = [{ at_least = "10000", confirmations = 12 }]
//!
//! # A source chain: USDC paid here is bridged to Base over CCTP.
//! [[chains]]
//! family = "evm"
//! chain_id = 42161
//! name = "Arbitrum"
//! rpc_url = "https://arbitrum.example"
//! router = "0x1111111111111111111111111111111111111111"   # the same deployment on every EVM chain
//! tokens = [{ address = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", symbol = "USDC", decimals = 6 }]
//! [[chains.routes]]
//! to_chain_id = 8453
//! token = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"
//! to_token = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
//! adapter = "0x2222222222222222222222222222222222222222"  # on the router's allow-list
//! max_fee_bps = 10               # the adapter's cap: the worst fee anyone bridging may choose
//! min_deposit = "1.00"           # less is not bridged (refunded once the session expires; default 1.00)
//!
//! # Solana (optional): a cluster over JSON-RPC; Solana payers and destinations, USDC.
//! [[chains]]
//! family = "solana"
//! rpc_url = "https://api.mainnet-beta.solana.com"
//! private_key = "env:RELAYER_SOLANA_KEY"   # base58 keypair, or solana-keygen's JSON byte array
//! poll_interval_ms = 1000        # watcher polls of the open vaults
//! lag_budget_slots = 150         # /readyz fails beyond it (finalized slots, about a minute)
//! tokens = [{ mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", symbol = "USDC", decimals = 6 }]
//! commitment = "finalized"       # when a sent transaction counts as landed ("confirmed" or "finalized")
//! priority_fee_percentile = 75   # of getRecentPrioritizationFees over the accounts a transaction writes
//! max_priority_fee_micro_lamports = 1000000   # ceiling per compute unit
//! compute_unit_margin_percent = 20            # units asked for above what a simulation used
//! min_sol_balance = "0.05"       # /readyz fails while the fee payer holds less
//! max_daily_fees = "0.5"         # SOL a UTC day's transactions may pay; then nothing new until 00:00
//! costly_fee = "0.01"            # a transaction paying more is counted (relayer_costly_transactions_total)
//! ```

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::signers::local::PrivateKeySigner;
use relayer_core::{
    NodeSettings,
    engine::{EngineSettings, RetryPolicy},
    telemetry::LogFormat,
    webhooks::{Egress, worker::WebhookSettings},
};
use relayer_evm::{
    ChainSpec,
    config::{ChainConfig, ExecutorSection},
    executor::ExecutorConfig,
};
use relayer_util::{FieldError, at_least};
use serde::{Deserialize, Serialize};

/// A configuration problem, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML syntax or shape (the message names the key and line).
    #[error("invalid config: {0}")]
    Parse(String),
    /// A field has an invalid value.
    #[error("invalid config: {0}")]
    Field(#[from] FieldError),
}

/// The Solana program's bridgings deliver to receivers of the one EVM deployment compiled into it (its
/// cluster's file), and the relayer reads them with the same compiled values: every configured chain the
/// program bridges to must be that deployment, or bridged funds and claims would be attributed to
/// receivers no session has (a program and relayer built for different clusters). Checked when a node
/// with a Solana cluster starts.
pub fn vault_deployment_matches(
    chains: &[relayer_evm::ChainSpec],
    solana_routes: &[u64],
) -> Result<(), ConfigError> {
    use relayer_svm::tx::vault_evm;
    // A route the program has no CCTP route for could never bridge; and a relayer built for another
    // cluster (a testnet's chain ids are not mainnet's) is caught here even when no chain it configures is
    // one the program bridges to.
    for to_chain_id in solana_routes {
        if !vault_evm::ROUTES.iter().any(|r| r.chain_id == *to_chain_id) {
            return Err(field(
                "the Solana cluster's routes",
                format!(
                    "a route to chain {to_chain_id}, which the Solana program (cluster {:?}, {}) does not bridge to \
                     (it bridges to chains {:?}): run a relayer built for the program's cluster (DEPOSIT_VAULT_CLUSTER)",
                    vault_evm::CLUSTER,
                    vault_evm::CLUSTER_FILE,
                    vault_evm::ROUTES.iter().map(|r| r.chain_id).collect::<Vec<_>>(),
                ),
            ));
        }
    }
    for spec in chains {
        if !vault_evm::ROUTES.iter().any(|r| r.chain_id == spec.chain_id) {
            continue;
        }
        let d = &spec.deployment;
        if d.prefix != vault_evm::CREATE2_PREFIX
            || d.factory.0.0 != vault_evm::FACTORY
            || d.receiver_init_code_hash().0 != vault_evm::RECEIVER_INIT_CODE_HASH
        {
            return Err(field(
                format!("chain {} ({})", spec.chain_id, spec.name),
                format!(
                    "the Solana program (cluster {:?}, {}) bridges to receivers of factory 0x{} (prefix {:#04x}, \
                     receiver init code hash 0x{}), but this chain's deployment is factory {} (prefix {:#04x}, \
                     receiver init code hash {}): run a relayer built for the program's cluster \
                     (DEPOSIT_VAULT_CLUSTER), or configure the deployment the program bridges to",
                    vault_evm::CLUSTER,
                    vault_evm::CLUSTER_FILE,
                    hex::encode(vault_evm::FACTORY),
                    vault_evm::CREATE2_PREFIX,
                    hex::encode(vault_evm::RECEIVER_INIT_CODE_HASH),
                    d.factory,
                    d.prefix,
                    d.receiver_init_code_hash(),
                ),
            ));
        }
    }
    Ok(())
}

fn field(name: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Field(FieldError::new(name, message))
}

/// The config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Folder of the sled store (the store unless `[store]` names another).
    pub data_dir: PathBuf,
    /// Where the state lives, if not sled in `data_dir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreSection>,
    /// Lifetime of a new session.
    #[serde(default = "default_lifetime")]
    pub session_lifetime_secs: u64,
    /// Log output format.
    #[serde(default)]
    pub log_format: LogFormat,
    /// API keys.
    pub auth: AuthSection,
    /// The relayer's transaction key.
    pub signer: SignerSection,
    /// Retrying delivery work.
    #[serde(default)]
    pub retry: RetrySection,
    /// EVM executor tuning (all EVM chains).
    #[serde(default)]
    pub executor: ExecutorSection,
    /// Webhook delivery.
    #[serde(default)]
    pub webhooks: WebhooksSection,
    /// The hosted checkout page.
    #[serde(default)]
    pub checkout: CheckoutSection,
    /// Every chain, of every family: `[[chains]]` entries told apart by `family`.
    pub chains: Vec<ChainSection>,
}

/// `[store]`: where the relayer keeps its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `sled:PATH` (embedded, one process) or `env:VARIABLE`, the variable holding a PostgreSQL URL
    /// (shared by several instances; the URL carries a password, so it is never written in the file).
    pub url: String,
    /// PostgreSQL only: how long the signing lease lasts, in seconds (renewed every third of it). A
    /// standby takes over at most this long after the holder died; a holder stops signing a quarter of
    /// it before it runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_secs: Option<u64>,
}

/// The signing lease's lifetime when `lease_secs` is not given.
pub const DEFAULT_LEASE_SECS: u64 = 15;

/// Where the state lives, validated.
#[derive(Clone)]
pub enum StoreLocation {
    /// The embedded sled store in this folder.
    Sled(PathBuf),
    /// A PostgreSQL database at this URL (never printed), shared by instances under a signing lease of
    /// this lifetime.
    Postgres(relayer_util::Secret, Duration),
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sled(path) => f.debug_tuple("Sled").field(path).finish(),
            Self::Postgres(_, lease) => write!(f, "Postgres(<url redacted>, lease {lease:?})"),
        }
    }
}

impl StoreSection {
    fn validate(&self, env: &impl Fn(&str) -> Option<String>) -> Result<StoreLocation, ConfigError> {
        if self.lease_secs.is_some() && self.url.starts_with("sled:") {
            return Err(field(
                "store.lease_secs",
                "applies to a PostgreSQL store only (sled is one process's)",
            ));
        }
        let lease = Duration::from_secs(self.lease_secs.unwrap_or(DEFAULT_LEASE_SECS));
        if !(3..=600).contains(&lease.as_secs()) {
            return Err(field("store.lease_secs", "must be between 3 and 600"));
        }
        if let Some(path) = self.url.strip_prefix("sled:") {
            if path.is_empty() {
                return Err(field("store.url", "sled: needs a folder, like sled:./relayer-data"));
            }
            return Ok(StoreLocation::Sled(path.into()));
        }
        let Some(var) = self.url.strip_prefix("env:") else {
            return Err(field(
                "store.url",
                "must be `sled:FOLDER` or `env:VARIABLE` naming the variable that holds the PostgreSQL URL \
                 (a URL carries its password, so it is never written in the file)",
            ));
        };
        let url =
            env(var).ok_or_else(|| field("store.url", format!("environment variable {var} is not set")))?;
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            // Never echo the value: it is a secret, whatever it holds.
            return Err(field("store.url", format!("{var} must hold a postgres:// or postgresql:// URL")));
        }
        Ok(StoreLocation::Postgres(relayer_util::Secret::new(url), lease))
    }
}

/// One `[[chains]]` entry: its `family` says which family's crate reads the rest. The one place that
/// matches on a config family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum ChainSection {
    /// An EVM chain (see `relayer_evm::config`).
    Evm(ChainConfig),
    /// Tron: the EVM-shaped contracts, base58 addresses, CREATE2 prefix `0x41`; sent to through its
    /// node's HTTP API (see `relayer_tron::config`).
    Tron(relayer_tron::config::TronChainConfig),
    /// A Solana cluster (see `relayer_svm::config`).
    Solana(relayer_svm::config::SolanaSection),
}

impl ChainSection {
    /// The EVM-shaped part of the entry, if this is an EVM-shaped chain.
    pub const fn as_evm_shaped_mut(&mut self) -> Option<&mut ChainConfig> {
        match self {
            Self::Evm(c) | Self::Tron(relayer_tron::config::TronChainConfig { chain: c, .. }) => Some(c),
            Self::Solana(_) => None,
        }
    }
}

const fn default_lifetime() -> u64 {
    3600
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// SHA-256 (hex) of each accepted API key.
    pub api_key_sha256: Vec<String>,
    /// SHA-256 (hex) of the token `/metrics` requires (`Authorization: Bearer <token>`). Without one,
    /// `/metrics` is open to whoever reaches the API port: set it wherever that port is public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_token_sha256: Option<String>,
    /// Origins (`https://shop.example`) whose pages may call the client-secret routes from a browser
    /// (CORS, without the `Authorization` header); none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub browser_origins: Vec<String>,
}

/// `[webhooks]`: how events are delivered to the endpoints registered through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksSection {
    /// Delay before each retry, in milliseconds; after the last, the event is marked failed. Default:
    /// 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h six times (2.8 days).
    #[serde(default = "default_webhook_schedule")]
    pub retry_schedule_ms: Vec<u64>,
    /// Time limit of one attempt.
    #[serde(default = "default_webhook_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts in flight at once per endpoint.
    #[serde(default = "default_webhook_in_flight")]
    pub max_in_flight: u64,
    /// Let deliveries reach this machine (loopback), over plain `http://` too: local development only.
    #[serde(default)]
    pub allow_loopback_http: bool,
    /// Let deliveries reach private networks (receivers inside the operator's own network). Link-local
    /// addresses (cloud metadata services) stay refused either way.
    #[serde(default)]
    pub allow_private_networks: bool,
    /// How long finished deliveries stay listed.
    #[serde(default = "default_webhook_retention_days")]
    pub retention_days: u64,
}

impl Default for WebhooksSection {
    fn default() -> Self {
        Self {
            retry_schedule_ms: default_webhook_schedule(),
            timeout_ms: default_webhook_timeout_ms(),
            max_in_flight: default_webhook_in_flight(),
            allow_loopback_http: false,
            allow_private_networks: false,
            retention_days: default_webhook_retention_days(),
        }
    }
}

fn default_webhook_schedule() -> Vec<u64> {
    let settings = WebhookSettings::default();
    settings.retry_schedule.iter().map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).collect()
}
fn default_webhook_timeout_ms() -> u64 {
    10_000
}
const fn default_webhook_in_flight() -> u64 {
    4
}
const fn default_webhook_retention_days() -> u64 {
    30
}

impl WebhooksSection {
    fn validate(&self) -> Result<WebhookSettings, ConfigError> {
        if let Some(i) = self.retry_schedule_ms.iter().position(|ms| *ms == 0 || *ms > 7 * 86_400_000) {
            return Err(field(format!("webhooks.retry_schedule_ms[{i}]"), "must be from 1 ms to 7 days"));
        }
        if !(100..=120_000).contains(&self.timeout_ms) {
            return Err(field("webhooks.timeout_ms", "must be from 100 to 120000"));
        }
        if !(1..=64).contains(&self.max_in_flight) {
            return Err(field("webhooks.max_in_flight", "must be from 1 to 64"));
        }
        if !(1..=3650).contains(&self.retention_days) {
            return Err(field("webhooks.retention_days", "must be from 1 to 3650"));
        }
        Ok(WebhookSettings {
            retry_schedule: self.retry_schedule_ms.iter().map(|ms| Duration::from_millis(*ms)).collect(),
            timeout: Duration::from_millis(self.timeout_ms),
            max_in_flight: usize::try_from(self.max_in_flight).unwrap_or(4),
            egress: Egress { loopback: self.allow_loopback_http, private: self.allow_private_networks },
            retention: Duration::from_secs(self.retention_days * 86_400),
        })
    }
}

/// `[checkout]`: the hosted checkout page (`/checkout/{sessionId}?cs=...`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutSection {
    /// Origins (`https://shop.example`) whose pages may embed the checkout in a frame (CSP
    /// `frame-ancestors`); none by default: it cannot be framed (a native WebView is not a frame).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_ancestors: Vec<String>,
}

impl CheckoutSection {
    fn validate(&self) -> Result<relayer_core::checkout::CheckoutSettings, ConfigError> {
        let mut origins = vec![];
        for (i, origin) in self.frame_ancestors.iter().enumerate() {
            let at = format!("checkout.frame_ancestors[{i}]");
            let url = url::Url::parse(origin)
                .map_err(|_| field(at.clone(), "must be an origin like https://shop.example"))?;
            let serialized = url.origin().ascii_serialization();
            // A URL parser takes `*`, `;` and `,` in a host; the CSP the origin is written into would read
            // them as a wildcard or the end of the directive.
            let plain_host = url
                .host_str()
                .is_some_and(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b)));
            if !matches!(url.scheme(), "https" | "http")
                || !plain_host
                || serialized != origin.trim_end_matches('/')
            {
                return Err(field(
                    at,
                    "must be an origin like https://shop.example (scheme, host, optional port; no path)",
                ));
            }
            origins.push(serialized);
        }
        Ok(relayer_core::checkout::CheckoutSettings { frame_ancestors: origins })
    }
}

/// `[signer]`: the key, as one of `private_key`, `keystore` (with its `password`) or `aws_kms_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerSection {
    /// `env:VARIABLE` naming the environment variable that holds the raw key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// An Ethereum JSON keystore file (Web3 Secret Storage: geth's, clef's, `cast wallet new`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore: Option<PathBuf>,
    /// The keystore's password: `env:VARIABLE`, or `file:PATH` (a mounted secret; one trailing line
    /// break is not part of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The address the key must have: the relayer refuses to start with any other key (a keystore of
    /// the wrong account, a variable set for another deployment). Required with `aws_kms_key`: every
    /// signature the KMS returns must recover to it before anything is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<alloy::primitives::Address>,
    /// An AWS KMS key (`ECC_SECG_P256K1`, usage `SIGN_VERIFY`): its id, ARN, or alias. The key never
    /// leaves KMS; credentials come from the AWS SDK's usual chain (environment, profile, instance or
    /// container role, web identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_kms_key: Option<String>,
    /// The KMS key's region (default: the AWS SDK's, e.g. `AWS_REGION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_region: Option<String>,
    /// Another KMS endpoint (a VPC endpoint, a KMS-compatible server in tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_endpoint_url: Option<String>,
    /// A Google Cloud KMS key version (`EC_SIGN_SECP256K1_SHA256`):
    /// `projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V`. The key never leaves
    /// KMS; credentials come from Google's usual chain (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
    /// file, the metadata server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_kms_key: Option<String>,
    /// Another Cloud KMS endpoint (default `https://cloudkms.googleapis.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_endpoint_url: Option<String>,
    /// Keys being rotated out (`[[signer.retiring]]`, each written like `[signer]`): on EVM chains each
    /// sees its pending transactions through to the end and sends nothing new.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retiring: Vec<SignerSection>,
    /// A separate key for fronting (`[signer.inventory]`, written like `[signer]`): on EVM chains with
    /// a `front_cap` it holds the tokens fronted from, signs the frontings and is repaid, so the signer
    /// (which pays every other transaction's gas) holds no tokens. Default: the signer does both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Box<SignerSection>>,
}

/// Where the EVM and Tron key lives, validated. [`KeySpec::connect`] makes the signer (for a remote
/// key, after asking the backend for the key's public key).
#[derive(Clone)]
pub enum KeySpec {
    /// Held in this process (a raw key from the environment, a decrypted keystore).
    Local(PrivateKeySigner),
    /// Held by AWS KMS.
    AwsKms(AwsKmsKey),
    /// Held by Google Cloud KMS.
    GcpKms(GcpKmsKey),
}

/// A Google Cloud KMS key version and the account it must sign for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpKmsKey {
    /// Project, location, key ring, key, version.
    pub project: String,
    /// Location (`global`, `europe-west1`, …).
    pub location: String,
    /// Key ring.
    pub key_ring: String,
    /// Key.
    pub key: String,
    /// Version.
    pub version: u64,
    /// The account its signatures must recover to.
    pub address: alloy::primitives::Address,
    /// Endpoint, if not Google's.
    pub endpoint_url: Option<String>,
}

impl GcpKmsKey {
    /// Reads `projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V`.
    fn parse(name: &str, address: alloy::primitives::Address, endpoint_url: Option<String>) -> Option<Self> {
        let parts: Vec<&str> = name.split('/').collect();
        let [
            "projects",
            project,
            "locations",
            location,
            "keyRings",
            key_ring,
            "cryptoKeys",
            key,
            "cryptoKeyVersions",
            version,
        ] = parts.as_slice()
        else {
            return None;
        };
        let fine =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if ![project, location, key_ring, key].iter().all(|s| fine(s)) {
            return None;
        }
        Some(Self {
            project: (*project).to_owned(),
            location: (*location).to_owned(),
            key_ring: (*key_ring).to_owned(),
            key: (*key).to_owned(),
            version: version.parse().ok().filter(|v| *v > 0)?,
            address,
            endpoint_url,
        })
    }

    /// The signer, after reading the key's public key; refused (naming `at`'s fields) when the service
    /// cannot be reached, has no such key, or holds another account's key.
    async fn connect(&self, at: &str) -> Result<relayer_evm::EvmKey, ConfigError> {
        use alloy::signers::gcp::{
            GcpKeyRingRef, GcpSigner, KeySpecifier,
            gcloud_sdk::{
                GoogleApi, google::cloud::kms::v1::key_management_service_client::KeyManagementServiceClient,
            },
        };
        let url = self.endpoint_url.clone().unwrap_or_else(|| "https://cloudkms.googleapis.com".into());
        let cannot = |what: &str, why: String| field(format!("{at}.gcp_kms_key"), format!("{what}: {why}"));
        let late = |what: &str| cannot(what, format!("no answer within {GCP_CALL_TIMEOUT:?}"));
        // Its token is asked for Cloud KMS only (not the whole platform), whichever endpoint it goes to.
        let scopes = vec!["https://www.googleapis.com/auth/cloudkms".to_owned()];
        let client = tokio::time::timeout(
            GCP_CALL_TIMEOUT,
            GoogleApi::from_function_with_scopes(KeyManagementServiceClient::new, url, None, scopes),
        )
        .await
        .map_err(|_| late("cannot reach Cloud KMS"))?
        .map_err(|e| cannot("cannot reach Cloud KMS", relayer_util::causes(&e)))?;
        let ring = GcpKeyRingRef::new(&self.project, &self.location, &self.key_ring);
        let specifier = KeySpecifier::new(ring, &self.key, self.version);
        let signer = tokio::time::timeout(GCP_CALL_TIMEOUT, GcpSigner::new(client, specifier, None))
            .await
            .map_err(|_| late("cannot read the key's public key"))?
            .map_err(|e| cannot("cannot read the key's public key", relayer_util::causes(&e)))?;
        relayer_evm::EvmKey::remote(signer, self.address, "gcp-kms").map_err(|_| {
            field(
                format!("{at}.address"),
                format!("the Cloud KMS key {} is not {}'s", self.key, self.address),
            )
        })
    }
}

/// An AWS KMS key and the account it must sign for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsKmsKey {
    /// Key id, ARN or alias.
    pub key_id: String,
    /// The account its signatures must recover to.
    pub address: alloy::primitives::Address,
    /// Region, if not the SDK's default.
    pub region: Option<String>,
    /// Endpoint, if not AWS's.
    pub endpoint_url: Option<String>,
}

/// How long one Cloud KMS call may take at start (the OAuth token and the public key included).
const GCP_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one KMS call may take, and all its tries together.
const KMS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const KMS_CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl KeySpec {
    /// The account.
    pub fn address(&self) -> alloy::primitives::Address {
        match self {
            Self::Local(key) => key.address(),
            Self::AwsKms(kms) => kms.address,
            Self::GcpKms(kms) => kms.address,
        }
    }

    /// The signer configured at `at` (`signer`, `signer.inventory`, …). A remote key is refused (the
    /// field named) when the backend cannot be reached, has no such key, or holds another account's key.
    pub async fn connect(&self, at: &str) -> Result<relayer_evm::EvmKey, ConfigError> {
        let key = match self {
            Self::Local(key) => return Ok(relayer_evm::EvmKey::local(key.clone())),
            Self::AwsKms(kms) => Self::connect_aws(kms, at).await?,
            Self::GcpKms(kms) => kms.connect(at).await?,
        };
        // One signature now: a key that can be read but not used (no permission to sign, a disabled
        // key, the wrong purpose) stops the start instead of failing every send later.
        let field_name = if matches!(self, Self::GcpKms(_)) { "gcp_kms_key" } else { "aws_kms_key" };
        key.sign_hash(&alloy::primitives::keccak256(b"relayer: signer check")).await.map_err(|e| {
            field(
                format!("{at}.{field_name}"),
                format!("cannot sign with the key: {}", relayer_util::causes(&e)),
            )
        })?;
        Ok(key)
    }

    /// An AWS KMS signer, after reading the key's public key.
    async fn connect_aws(kms: &AwsKmsKey, at: &str) -> Result<relayer_evm::EvmKey, ConfigError> {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(KMS_ATTEMPT_TIMEOUT)
            .operation_timeout(KMS_CALL_TIMEOUT)
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
        if let Some(region) = &kms.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(url) = &kms.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let client = aws_sdk_kms::Client::new(&loader.load().await);
        let signer =
            alloy::signers::aws::AwsSigner::new(client, kms.key_id.clone(), None).await.map_err(|e| {
                field(
                    format!("{at}.aws_kms_key"),
                    format!("cannot read the key's public key: {}", relayer_util::causes(&e)),
                )
            })?;
        relayer_evm::EvmKey::remote(signer, kms.address, "aws-kms").map_err(|_| {
            field(format!("{at}.address"), format!("the KMS key {} is not {}'s", kms.key_id, kms.address))
        })
    }
}

impl std::fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key; the address identifies it.
        match self {
            Self::Local(key) => f.debug_tuple("Local").field(&key.address()).finish(),
            Self::AwsKms(kms) => f.debug_tuple("AwsKms").field(kms).finish(),
            Self::GcpKms(kms) => f.debug_tuple("GcpKms").field(kms).finish(),
        }
    }
}

/// `[retry]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    /// Delay before the first retry; doubled for each further one.
    #[serde(default = "default_first_delay_ms")]
    pub first_delay_ms: u64,
    /// Longest delay between two tries.
    #[serde(default = "default_max_delay_secs")]
    pub max_delay_secs: u64,
    /// Tries before giving up (a restart tries again).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u64,
}

impl Default for RetrySection {
    fn default() -> Self {
        Self {
            first_delay_ms: default_first_delay_ms(),
            max_delay_secs: default_max_delay_secs(),
            max_attempts: default_max_attempts(),
        }
    }
}

const fn default_first_delay_ms() -> u64 {
    500
}
const fn default_max_delay_secs() -> u64 {
    300
}
const fn default_max_attempts() -> u64 {
    14
}

/// Validated configuration.
#[derive(Clone)]
pub struct Config {
    /// Folder of the sled store.
    pub data_dir: PathBuf,
    /// Where the state lives.
    pub store: StoreLocation,
    /// Log output format.
    pub log_format: LogFormat,
    /// What the core needs.
    pub node: NodeSettings,
    /// Where the relayer's transaction key lives.
    pub signer: KeySpec,
    /// Keys being rotated out.
    pub retiring: Vec<KeySpec>,
    /// The fronting key, if not the signer.
    pub inventory: Option<KeySpec>,
    /// EVM-shaped chains (EVM and Tron).
    pub chains: Vec<ChainSpec>,
    /// How each Tron chain (by chain id) is sent to.
    pub tron: std::collections::BTreeMap<u64, relayer_tron::config::TronSending>,
    /// EVM executor tuning (all chains).
    pub executor: ExecutorConfig,
    /// The Solana cluster, if configured (shared: a keypair cannot be cloned safely).
    pub solana: Option<std::sync::Arc<relayer_svm::config::SolanaSpec>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key; the address identifies it.
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("store", &self.store)
            .field("listen", &self.node.listen)
            .field("api_keys", &self.node.api_key_hashes.len())
            .field("signer", &self.signer.address())
            .field("inventory", &self.inventory.as_ref().map(KeySpec::address))
            .field("retiring", &self.retiring.iter().map(KeySpec::address).collect::<Vec<_>>())
            .field("chains", &self.chains)
            .field("solana", &self.solana)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, |name| std::env::var(name).ok())
    }

    /// Parses and validates TOML; `env` resolves `env:VAR` references.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            let message = e.to_string();
            // Configs written before chains were one tagged list: say what changed.
            let hint = (message.contains("missing field `family`") || message.contains("unknown field `solana`"))
                .then_some(
                    "\nevery [[chains]] entry names its family (family = \"evm\", \"tron\" or \"solana\"); a former [solana] section is now a [[chains]] entry with family = \"solana\"",
                );
            ConfigError::Parse(message + hint.unwrap_or_default())
        })?;
        Self::from_file(file, env)
    }

    /// Validates a [`ConfigFile`]; `env` resolves `env:VAR` references.
    pub fn from_file(file: ConfigFile, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        at_least(file.session_lifetime_secs, 1, "session_lifetime_secs")?;
        let api_key_hashes = file
            .auth
            .api_key_sha256
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let bytes = hex::decode(h).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
                bytes.ok_or_else(|| {
                    field(format!("auth.api_key_sha256[{i}]"), "must be 64 hex characters (a SHA-256)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if api_key_hashes.is_empty() {
            return Err(field("auth.api_key_sha256", "needs at least one API key hash"));
        }
        let metrics_token_hash = match &file.auth.metrics_token_sha256 {
            None => None,
            Some(h) => {
                Some(hex::decode(h).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or_else(|| {
                    field("auth.metrics_token_sha256", "must be 64 hex characters (a SHA-256)")
                })?)
            }
        };
        let browser_origins = file
            .auth
            .browser_origins
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let at = || format!("auth.browser_origins[{i}]");
                let url = url::Url::parse(o)
                    .map_err(|_| field(at(), "must be an origin like https://shop.example"))?;
                // An origin is scheme, host and port only; `*` or a path would not be one.
                if !matches!(url.scheme(), "http" | "https")
                    || url.host_str().is_none()
                    || url.path() != "/"
                    || url.query().is_some()
                    || o.ends_with('/')
                {
                    return Err(field(
                        at(),
                        "must be an origin like https://shop.example (scheme and host, no path)",
                    ));
                }
                axum::http::HeaderValue::from_str(o).map_err(|_| field(at(), "is not a valid header value"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signer = file.signer.resolve(&env)?;
        let (retiring, inventory) = file.signer.resolve_others(&signer, &env)?;
        let store = match &file.store {
            Some(section) => section.validate(&env)?,
            None => StoreLocation::Sled(file.data_dir.clone()),
        };
        if file.chains.is_empty() {
            return Err(field("chains", "needs at least one chain"));
        }
        let (mut chains, mut solana, mut tron) = (vec![], None, std::collections::BTreeMap::new());
        for (i, section) in file.chains.into_iter().enumerate() {
            let at = format!("chains[{i}]");
            match section {
                ChainSection::Evm(c) => {
                    chains.push((at.clone(), c.validate(relayer_types::Family::Evm, &at)?))
                }
                ChainSection::Tron(c) => {
                    let spec = c.validate(&at, &env)?;
                    tron.insert(spec.chain.chain_id, spec.sending);
                    chains.push((at.clone(), spec.chain));
                }
                ChainSection::Solana(_) if solana.is_some() => {
                    return Err(field(at, "a second Solana cluster: one is supported"));
                }
                ChainSection::Solana(s) => solana = Some(std::sync::Arc::new(s.validate(&at, &env)?)),
            }
        }
        // EVM routes may lead to Solana (through the CCTP adapter's inbox route).
        let others: Vec<_> = solana
            .iter()
            .map(|s| {
                let tokens = s.chain.tokens.iter().map(|t| t.address).collect();
                (s.chain.chain_id, relayer_types::Family::Solana, tokens)
            })
            .collect();
        relayer_evm::config::validate_all(&mut chains, &others)?;
        let chains = chains.into_iter().map(|(_, spec)| spec).collect();
        let retry = RetryPolicy {
            first_delay: Duration::from_millis(at_least(
                file.retry.first_delay_ms,
                10,
                "retry.first_delay_ms",
            )?),
            max_delay: Duration::from_secs(at_least(file.retry.max_delay_secs, 1, "retry.max_delay_secs")?),
            max_attempts: u32::try_from(at_least(file.retry.max_attempts, 1, "retry.max_attempts")?)
                .map_err(|_| field("retry.max_attempts", "must be at most 4294967295"))?,
        };
        Ok(Self {
            data_dir: file.data_dir,
            store,
            log_format: file.log_format,
            node: NodeSettings {
                listen: file.listen,
                api_key_hashes,
                metrics_token_hash,
                browser_origins,
                engine: EngineSettings {
                    session_lifetime: Duration::from_secs(file.session_lifetime_secs),
                    retry,
                },
                webhooks: file.webhooks.validate()?,
                checkout: file.checkout.validate()?,
            },
            signer,
            retiring,
            inventory,
            chains,
            tron,
            executor: file.executor.validate()?,
            solana,
        })
    }
}

impl SignerSection {
    /// The key: read from the environment, or decrypted from the keystore with its password, and
    /// checked against `address`. Neither key nor password appears in an error.
    fn resolve(&self, env: &impl Fn(&str) -> Option<String>) -> Result<KeySpec, ConfigError> {
        if let Some(key_id) = &self.aws_kms_key {
            return self.resolve_aws(key_id);
        }
        if let Some(name) = &self.gcp_kms_key {
            return self.resolve_gcp(name);
        }
        if self.gcp_endpoint_url.is_some() {
            return Err(field("signer.gcp_endpoint_url", "goes with signer.gcp_kms_key"));
        }
        self.no_aws_settings()?;
        let signer = match (&self.private_key, &self.keystore) {
            (Some(reference), None) => {
                if self.password.is_some() {
                    return Err(field(
                        "signer.password",
                        "goes with signer.keystore, not signer.private_key",
                    ));
                }
                resolve_key(reference, env)?
            }
            (None, Some(path)) => {
                let reference = self
                    .password
                    .as_deref()
                    .ok_or_else(|| field("signer.password", "is required with signer.keystore"))?;
                let password = read_secret(reference, "signer.password", env)?;
                decrypt_keystore(path, password.expose())?
            }
            (Some(_), Some(_)) => {
                return Err(field("signer", "give either private_key or keystore, not both"));
            }
            (None, None) => return Err(field("signer", "needs private_key, keystore or aws_kms_key")),
        };
        match self.address {
            Some(want) if signer.address() != want => {
                Err(field("signer.address", format!("the key is {}'s, not {want}'s", signer.address())))
            }
            _ => Ok(KeySpec::Local(signer)),
        }
    }

    /// The inventory key and the retiring keys, each resolved like the current one (errors name
    /// `signer.inventory.…`, `signer.retiring[i].…`): each is another account than the current key and
    /// every other one, and none has keys of its own.
    fn resolve_others(
        &self,
        current: &KeySpec,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(Vec<KeySpec>, Option<KeySpec>), ConfigError> {
        let mut seen = vec![current.address()];
        let inventory = self.inventory.as_deref().map(|s| ("signer.inventory".to_owned(), s));
        let retiring = self.retiring.iter().enumerate().map(|(i, s)| (format!("signer.retiring[{i}]"), s));
        let mut keys = vec![];
        for (at, section) in inventory.into_iter().chain(retiring) {
            for (nested, name) in
                [(!section.retiring.is_empty(), "retiring"), (section.inventory.is_some(), "inventory")]
            {
                if nested {
                    return Err(field(format!("{at}.{name}"), "only [signer] has other keys"));
                }
            }
            let key = section.resolve(env).map_err(|e| match e {
                ConfigError::Field(mut f) => {
                    f.field = f.field.replacen("signer", &at, 1);
                    ConfigError::Field(f)
                }
                other => other,
            })?;
            if seen.contains(&key.address()) {
                return Err(field(
                    at,
                    format!("{} is already the signer, the inventory key or a retiring key", key.address()),
                ));
            }
            seen.push(key.address());
            keys.push(key);
        }
        let inventory = self.inventory.is_some().then(|| keys.remove(0));
        Ok((keys, inventory))
    }

    /// Refuses AWS settings without an AWS key.
    fn no_aws_settings(&self) -> Result<(), ConfigError> {
        for (set, name) in
            [(&self.aws_region, "signer.aws_region"), (&self.aws_endpoint_url, "signer.aws_endpoint_url")]
        {
            if set.is_some() {
                return Err(field(name, "goes with signer.aws_kms_key"));
            }
        }
        Ok(())
    }

    fn resolve_gcp(&self, name: &str) -> Result<KeySpec, ConfigError> {
        if self.private_key.is_some() || self.keystore.is_some() || self.aws_kms_key.is_some() {
            return Err(field("signer", "give one of private_key, keystore, aws_kms_key or gcp_kms_key"));
        }
        if self.password.is_some() {
            return Err(field("signer.password", "goes with signer.keystore, not signer.gcp_kms_key"));
        }
        self.no_aws_settings()?;
        let address = self.address.ok_or_else(|| {
            field("signer.address", "is required with signer.gcp_kms_key: signatures are checked against it")
        })?;
        endpoint_url(self.gcp_endpoint_url.as_deref(), "signer.gcp_endpoint_url")?;
        // The OAuth token goes wherever the endpoint is: in clear text only to this machine.
        if let Some(url) = &self.gcp_endpoint_url
            && let Ok(parsed) = url::Url::parse(url)
        {
            let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if parsed.scheme() == "http" && !loopback {
                return Err(field("signer.gcp_endpoint_url", "must be https (http only on this machine)"));
            }
            if parsed.path() != "/" || parsed.query().is_some() || !parsed.username().is_empty() {
                return Err(field("signer.gcp_endpoint_url", "must be a scheme and host, no path"));
            }
        }
        GcpKmsKey::parse(name, address, self.gcp_endpoint_url.clone()).map(KeySpec::GcpKms).ok_or_else(|| {
            field(
                "signer.gcp_kms_key",
                "must be projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V",
            )
        })
    }

    fn resolve_aws(&self, key_id: &str) -> Result<KeySpec, ConfigError> {
        if self.private_key.is_some() || self.keystore.is_some() || self.gcp_kms_key.is_some() {
            return Err(field("signer", "give one of private_key, keystore, aws_kms_key or gcp_kms_key"));
        }
        if self.password.is_some() {
            return Err(field("signer.password", "goes with signer.keystore, not signer.aws_kms_key"));
        }
        if self.gcp_endpoint_url.is_some() {
            return Err(field("signer.gcp_endpoint_url", "goes with signer.gcp_kms_key"));
        }
        if key_id.trim().is_empty() || key_id.trim() != key_id {
            return Err(field("signer.aws_kms_key", "must be a key id, ARN or alias"));
        }
        let address = self.address.ok_or_else(|| {
            field("signer.address", "is required with signer.aws_kms_key: signatures are checked against it")
        })?;
        endpoint_url(self.aws_endpoint_url.as_deref(), "signer.aws_endpoint_url")?;
        Ok(KeySpec::AwsKms(AwsKmsKey {
            key_id: key_id.to_owned(),
            address,
            region: self.aws_region.clone(),
            endpoint_url: self.aws_endpoint_url.clone(),
        }))
    }
}

/// Refuses an `at` endpoint that is not an http(s) URL with a host.
fn endpoint_url(url: Option<&str>, at: &str) -> Result<(), ConfigError> {
    let Some(url) = url else { return Ok(()) };
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() => Ok(()),
        _ => Err(field(at, "must be an http(s) URL")),
    }
}

/// A secret named by `reference`: `env:VARIABLE`, or `file:PATH` (one trailing line break dropped).
fn read_secret(
    reference: &str,
    at: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<relayer_util::Secret, ConfigError> {
    if let Some(var) = reference.strip_prefix("env:") {
        let value = env(var).ok_or_else(|| field(at, format!("environment variable {var} is not set")))?;
        return Ok(relayer_util::Secret::new(value));
    }
    if let Some(path) = reference.strip_prefix("file:") {
        let bytes = read_small_file(std::path::Path::new(path), 4096).map_err(|why| field(at, why))?;
        let value = String::from_utf8(bytes).map_err(|_| field(at, format!("{path} is not UTF-8 text")))?;
        let value = value.strip_suffix('\n').map_or(value.as_str(), |v| v.strip_suffix('\r').unwrap_or(v));
        return Ok(relayer_util::Secret::new(value));
    }
    Err(field(at, "must be `env:VARIABLE` or `file:PATH` (secrets are never written in the file)"))
}

/// Reads a small regular file (a keystore, a password): at most `limit` bytes, refusing anything else
/// (a directory, a device that never ends, a pipe that may never write).
fn read_small_file(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown} cannot be read: {}", e.kind()))?;
    if !meta.is_file() || meta.len() > limit {
        return Err(format!("{shown} is not a regular file of at most {limit} bytes"));
    }
    let mut bytes = vec![];
    std::fs::File::open(path)
        .and_then(|f| f.take(limit).read_to_end(&mut bytes))
        .map_err(|e| format!("{shown} cannot be read: {}", e.kind()))?;
    Ok(bytes)
}

/// Why a keystore's shape is refused before anything is derived from it: key derivations that would
/// take the machine's memory or hours of CPU (geth writes scrypt `n` = 2^18, `r` = 8, `p` = 1), and
/// fields the decryption would misread. `None`: a Web3 Secret Storage v3 keystore within bounds.
fn keystore_refusal(json: &serde_json::Value) -> Option<&'static str> {
    let Some(crypto) = json.get("crypto").or_else(|| json.get("Crypto")) else {
        return Some("has no crypto section");
    };
    let hex_len =
        |v: &serde_json::Value, n: usize| v.as_str().is_some_and(|s| s.len() == n && hex::decode(s).is_ok());
    let uint = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    if uint(&json["version"]) != 3 || crypto["cipher"] != "aes-128-ctr" {
        return Some("is not a Web3 Secret Storage v3 keystore (aes-128-ctr)");
    }
    if !hex_len(&crypto["cipherparams"]["iv"], 32)
        || !hex_len(&crypto["ciphertext"], 64)
        || !hex_len(&crypto["mac"], 64)
    {
        return Some("has an iv, ciphertext or mac of the wrong length");
    }
    let params = &crypto["kdfparams"];
    if uint(&params["dklen"]) != 32 {
        return Some("derives a key of another length than 32 bytes");
    }
    // The decryption picks the derivation by the parameters it finds, not by `kdf`: each is bounded
    // by its parameters, and a parameter of the other derivation is refused.
    let keys: Vec<&str> =
        params.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    let allowed: &[&str] = match crypto["kdf"].as_str() {
        Some("scrypt") => &["dklen", "n", "r", "p", "salt"],
        Some("pbkdf2") => &["dklen", "c", "prf", "salt"],
        _ => &[],
    };
    if keys.iter().any(|k| !allowed.contains(k)) {
        return Some("has key derivation parameters of another derivation than its own");
    }
    match crypto["kdf"].as_str() {
        Some("scrypt") => {
            let (n, r, p) = (uint(&params["n"]), uint(&params["r"]), uint(&params["p"]));
            let fits = n.is_power_of_two()
                && (2..=1 << 20).contains(&n)
                && (1..=16).contains(&r)
                && (1..=16).contains(&p);
            (!fits || n * r * 128 > 1 << 30)
                .then_some("asks for scrypt beyond n = 2^20, r = 16, p = 16 or 1 GiB")
        }
        Some("pbkdf2") => (params["prf"] != "hmac-sha256" || !(1..=10_000_000).contains(&uint(&params["c"])))
            .then_some("asks for PBKDF2 other than hmac-sha256 with at most 10,000,000 rounds"),
        _ => Some("uses a key derivation other than scrypt or pbkdf2"),
    }
}

/// The key in the Ethereum JSON keystore at `path`, decrypted with `password`.
fn decrypt_keystore(path: &std::path::Path, password: &str) -> Result<PrivateKeySigner, ConfigError> {
    use alloy::signers::local::LocalSignerError;
    let shown = path.display();
    let bytes = read_small_file(path, 64 * 1024).map_err(|why| field("signer.keystore", why))?;
    let shape = serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|_| field("signer.keystore", format!("{shown} is not JSON")))?;
    if let Some(why) = keystore_refusal(&shape) {
        return Err(field("signer.keystore", format!("{shown} {why}")));
    }
    PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| {
        let why = match e {
            LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::MacMismatch) => {
                "cannot be decrypted with signer.password (a wrong password, or a damaged file)".to_owned()
            }
            LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::StdIo(_)) => {
                "cannot be read".to_owned()
            }
            _ => "is not an Ethereum JSON keystore this build can read (Web3 Secret Storage v3, scrypt or pbkdf2)"
                .to_owned(),
        };
        field("signer.keystore", format!("{shown} {why}"))
    })
}

/// Keys are never written in the file: `env:VAR` names the environment variable holding one.
fn resolve_key(
    reference: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<PrivateKeySigner, ConfigError> {
    let Some(var) = reference.strip_prefix("env:") else {
        return Err(field(
            "signer.private_key",
            "must be `env:VARIABLE` (keys are never written in the file)",
        ));
    };
    let value = env(var)
        .ok_or_else(|| field("signer.private_key", format!("environment variable {var} is not set")))?;
    value.trim().parse::<PrivateKeySigner>().map_err(|_| {
        field("signer.private_key", format!("{var} does not hold a valid secp256k1 private key"))
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod round_trip;
