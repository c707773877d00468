//! The relayer's configuration: one TOML file. Loading validates everything up front and fails with a
//! message that names the offending field, so a bad deployment never half-starts.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! data_dir = "./relayer-data"
//! session_lifetime_secs = 3600
//! log_format = "text"            # or "json"
//!
//! [auth]
//! api_key_sha256 = ["<64 hex chars: sha256 of an API key, see `relayer hash-key`>"]
//!
//! [signer]
//! private_key = "env:RELAYER_PRIVATE_KEY"
//!
//! [[chains]]
//! chain_id = 8453
//! name = "Base"
//! rpc_url = "http://127.0.0.1:8545"
//! confirmations = 1
//! router = "0x..."
//! tokens = [{ address = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", symbol = "USDC", decimals = 6 }]
//! ```

use std::{collections::HashSet, net::SocketAddr, path::PathBuf, time::Duration};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use relayer_evm::{ChainSpec, executor::ExecutorConfig};
use relayer_types::TokenRef;
use serde::Deserialize;

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
    #[error("invalid config: {field}: {message}")]
    Field {
        /// Dotted path of the field, e.g. `chains[0].tokens[1].decimals`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn field(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Field { field: field.into(), message: message.into() }
}

/// `value`, or an error naming `name` when it is below `min` (never silently raised to it).
fn at_least(value: u64, min: u64, name: impl Into<String>) -> Result<u64, ConfigError> {
    if value < min {
        return Err(field(name, format!("must be at least {min}, got {value}")));
    }
    Ok(value)
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: SocketAddr,
    data_dir: PathBuf,
    #[serde(default = "default_lifetime")]
    session_lifetime_secs: u64,
    #[serde(default)]
    log_format: LogFormat,
    auth: RawAuth,
    signer: RawSigner,
    chains: Vec<RawChain>,
    #[serde(default)]
    executor: RawExecutor,
}

fn default_lifetime() -> u64 {
    3600
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    api_key_sha256: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigner {
    private_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    chain_id: u64,
    name: String,
    rpc_url: String,
    #[serde(default = "one")]
    confirmations: u64,
    router: Address,
    tokens: Vec<RawToken>,
    #[serde(default = "default_poll_ms")]
    poll_interval_ms: u64,
    start_block: Option<u64>,
    #[serde(default = "default_range")]
    max_block_range: u64,
    #[serde(default = "default_rpc_timeout_ms")]
    rpc_timeout_ms: u64,
}

fn one() -> u64 {
    1
}
fn default_poll_ms() -> u64 {
    1000
}
fn default_range() -> u64 {
    1000
}
fn default_rpc_timeout_ms() -> u64 {
    10_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    address: Address,
    symbol: String,
    decimals: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    #[serde(default = "default_in_flight")]
    max_in_flight: usize,
    #[serde(default = "default_bump_secs")]
    bump_after_secs: u64,
    #[serde(default = "default_exec_poll_ms")]
    poll_interval_ms: u64,
}

impl Default for RawExecutor {
    fn default() -> Self {
        Self {
            max_in_flight: default_in_flight(),
            bump_after_secs: default_bump_secs(),
            poll_interval_ms: default_exec_poll_ms(),
        }
    }
}

fn default_in_flight() -> usize {
    32
}
fn default_bump_secs() -> u64 {
    30
}
fn default_exec_poll_ms() -> u64 {
    500
}

/// Validated configuration.
#[derive(Clone)]
pub struct Config {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Folder of the sled store.
    pub data_dir: PathBuf,
    /// Lifetime of a new session.
    pub session_lifetime: Duration,
    /// Log output format.
    pub log_format: LogFormat,
    /// SHA-256 hashes of accepted API keys.
    pub api_key_hashes: Vec<[u8; 32]>,
    /// The relayer's transaction key.
    pub signer: PrivateKeySigner,
    /// Chains.
    pub chains: Vec<ChainSpec>,
    /// Executor tuning (all chains).
    pub executor: ExecutorConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key; the address identifies it.
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("session_lifetime", &self.session_lifetime)
            .field("api_keys", &self.api_key_hashes.len())
            .field("signer", &self.signer.address())
            .field("chains", &self.chains)
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
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        at_least(raw.session_lifetime_secs, 1, "session_lifetime_secs")?;
        let api_key_hashes = raw
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
        let signer = resolve_key(&raw.signer.private_key, &env)?;

        if raw.chains.is_empty() {
            return Err(field("chains", "needs at least one chain"));
        }
        let mut seen = HashSet::new();
        let mut chains = vec![];
        for (i, c) in raw.chains.into_iter().enumerate() {
            let at = |f: &str| format!("chains[{i}].{f}");
            if !seen.insert(c.chain_id) {
                return Err(field(at("chain_id"), format!("chain {} is configured twice", c.chain_id)));
            }
            if c.name.trim().is_empty() {
                return Err(field(at("name"), "must not be empty"));
            }
            if !(c.rpc_url.starts_with("http://") || c.rpc_url.starts_with("https://")) {
                return Err(field(at("rpc_url"), "must be an http(s) URL"));
            }
            at_least(c.confirmations, 1, at("confirmations"))?;
            if c.router == Address::ZERO {
                return Err(field(at("router"), "must be the deployed DepositRouter address"));
            }
            if c.tokens.is_empty() {
                return Err(field(at("tokens"), "needs at least one token"));
            }
            let mut tokens = vec![];
            for (j, t) in c.tokens.into_iter().enumerate() {
                let tf = |f: &str| format!("chains[{i}].tokens[{j}].{f}");
                if t.decimals > 36 {
                    return Err(field(tf("decimals"), "must be at most 36"));
                }
                if t.symbol.trim().is_empty() {
                    return Err(field(tf("symbol"), "must not be empty"));
                }
                if tokens.iter().any(|x: &TokenRef| x.address == t.address) {
                    return Err(field(tf("address"), "token is configured twice"));
                }
                tokens.push(TokenRef {
                    chain_id: c.chain_id,
                    chain_name: c.name.clone(),
                    address: t.address,
                    symbol: t.symbol,
                    decimals: t.decimals,
                });
            }
            chains.push(ChainSpec {
                chain_id: c.chain_id,
                name: c.name,
                rpc_url: c.rpc_url,
                router: c.router,
                tokens,
                confirmations: c.confirmations,
                poll_interval: Duration::from_millis(at_least(
                    c.poll_interval_ms,
                    10,
                    at("poll_interval_ms"),
                )?),
                start_block: c.start_block,
                max_block_range: at_least(c.max_block_range, 1, at("max_block_range"))?,
                rpc_timeout: Duration::from_millis(at_least(c.rpc_timeout_ms, 100, at("rpc_timeout_ms"))?),
            });
        }
        // One receiver address must serve every EVM chain: that needs one router address everywhere.
        let first_router = chains[0].router;
        if let Some((i, _)) = chains.iter().enumerate().find(|(_, c)| c.router != first_router) {
            return Err(field(
                format!("chains[{i}].router"),
                "must equal chains[0].router: receivers are the same on every chain only with one deterministic router deployment",
            ));
        }
        at_least(raw.executor.max_in_flight as u64, 1, "executor.max_in_flight")?;
        Ok(Self {
            listen: raw.listen,
            data_dir: raw.data_dir,
            session_lifetime: Duration::from_secs(raw.session_lifetime_secs),
            log_format: raw.log_format,
            api_key_hashes,
            signer,
            chains,
            executor: ExecutorConfig {
                max_in_flight: raw.executor.max_in_flight,
                bump_after: Duration::from_secs(at_least(
                    raw.executor.bump_after_secs,
                    1,
                    "executor.bump_after_secs",
                )?),
                poll_interval: Duration::from_millis(at_least(
                    raw.executor.poll_interval_ms,
                    10,
                    "executor.poll_interval_ms",
                )?),
                ..ExecutorConfig::default()
            },
        })
    }
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
mod tests {
    use super::*;

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn config(extra_chain: &str) -> String {
        format!(
            r#"
listen = "127.0.0.1:0"
data_dir = "/tmp/x"
[auth]
api_key_sha256 = ["{hash}"]
[signer]
private_key = "env:RELAYER_KEY"
[[chains]]
chain_id = 8453
name = "Base"
rpc_url = "http://127.0.0.1:8545"
router = "0x00000000000000000000000000000000000000aa"
tokens = [{{ address = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", symbol = "USDC", decimals = 6 }}]
{extra_chain}
"#,
            hash = "ab".repeat(32)
        )
    }

    fn env(name: &str) -> Option<String> {
        (name == "RELAYER_KEY").then(|| KEY.to_string())
    }

    fn error_of(text: &str) -> String {
        match Config::parse(text, env) {
            Ok(_) => panic!("config should be rejected"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_valid_config_loads_with_defaults() {
        let c = Config::parse(&config(""), env).expect("valid");
        assert_eq!(c.session_lifetime, Duration::from_secs(3600));
        assert_eq!(c.chains[0].confirmations, 1);
        assert_eq!(c.chains[0].tokens[0].chain_name, "Base");
        assert!(!format!("{c:?}").contains("ac0974"), "Debug must not print the key");
    }

    #[test]
    fn errors_name_the_offending_field() {
        let cases = [
            (config("").replace("decimals = 6", "decimals = 77"), "chains[0].tokens[0].decimals"),
            (config("").replace("env:RELAYER_KEY", "env:MISSING"), "environment variable MISSING is not set"),
            (config("").replace("env:RELAYER_KEY", KEY), "signer.private_key"),
            (config("").replace("http://127.0.0.1:8545", "ftp://x"), "chains[0].rpc_url"),
            (config("").replace(&"ab".repeat(32), "xyz"), "auth.api_key_sha256[0]"),
            (
                config("").replace("name = \"Base\"", "name = \"Base\"\nconfirmations = 0"),
                "chains[0].confirmations",
            ),
            (
                config("").replace("router = \"0x00000000000000000000000000000000000000aa\"\n", ""),
                "missing field `router`",
            ),
            (config("").replace("listen", "lisen"), "unknown field `lisen`"),
            // Out-of-range tuning is refused with the field named, never silently clamped.
            (
                config("").replace("name = \"Base\"", "name = \"Base\"\npoll_interval_ms = 0"),
                "chains[0].poll_interval_ms: must be at least 10, got 0",
            ),
            (
                config("").replace("name = \"Base\"", "name = \"Base\"\nmax_block_range = 0"),
                "chains[0].max_block_range: must be at least 1, got 0",
            ),
            (
                config("").replace("name = \"Base\"", "name = \"Base\"\nrpc_timeout_ms = 5"),
                "chains[0].rpc_timeout_ms: must be at least 100, got 5",
            ),
            (
                config("") + "[executor]\nbump_after_secs = 0\n",
                "executor.bump_after_secs: must be at least 1, got 0",
            ),
            (
                config("") + "[executor]\npoll_interval_ms = 1\n",
                "executor.poll_interval_ms: must be at least 10, got 1",
            ),
            (
                config(
                    "[[chains]]\nchain_id = 1\nname = \"Ethereum\"\nrpc_url = \"http://x\"\nrouter = \"0x00000000000000000000000000000000000000bb\"\ntokens = [{ address = \"0x00000000000000000000000000000000000000cc\", symbol = \"USDC\", decimals = 6 }]",
                ),
                "chains[1].router",
            ),
        ];
        for (text, needle) in cases {
            let message = error_of(&text);
            assert!(message.contains(needle), "{message:?} should mention {needle:?}");
        }
    }
}
