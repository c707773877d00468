//! A Tron chain's `[[chains]]` entry: the EVM-shaped part every such chain has (JSON-RPC for watching,
//! router, tokens, routes: [`relayer_evm::config::ChainConfig`]) and what only Tron needs, in the same
//! table: the node's HTTP API (where transactions are sent), its API key, and the fee policy. Unknown
//! keys are refused, as everywhere in the config.
//!
//! ```toml
//! [[chains]]
//! family = "tron"
//! chain_id = 728126428
//! name = "Tron"
//! rpc_url = "https://api.trongrid.io/jsonrpc"   # JSON-RPC: logs, reads (watching)
//! http_url = "https://api.trongrid.io"          # HTTP API: blocks, energy, broadcasts (sending)
//! # solidity_url = "http://host:8091"           # a full node's /walletsolidity port, if not http_url
//! api_key = "env:TRONGRID_API_KEY"              # sent as TRON-PRO-API-KEY; never logged
//! fee_limit_trx = "50"                          # the most one transaction may burn
//! max_daily_fees = "500"                        # TRX a UTC day's transactions may burn and pay along
//! costly_fee = "40"                             # a transaction costing more is counted
//! energy_margin_percent = 130
//! confirmations = 1                              # only solidified blocks count anyway
//! router = "0x…"                                 # Tron's own deployment (hex, without 41)
//! factory = "0x…"
//! receiver_implementation = "0x…"
//! executor_implementation = "0x…"
//! ```

use std::time::Duration;

use relayer_evm::{ChainSpec, config::ChainConfig};
use relayer_types::{Family, parse_units};
use relayer_util::{FieldError, Secret};
use serde::{Deserialize, Deserializer, Serialize, de::Error as _};
use serde_json::Value;

use crate::{node::NodeConfig, sender::FeePolicy};

/// Blocks between Tron's head and its solidified block (two thirds of the 27 witnesses, and one).
pub const SOLIDIFICATION_DEPTH: u64 = 20;

/// TRX has 6 decimals (a sun is a millionth).
const TRX_DECIMALS: u8 = 6;

/// A `family = "tron"` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TronChainConfig {
    /// What every EVM-shaped chain has.
    #[serde(flatten)]
    pub chain: ChainConfig,
    /// What only Tron has.
    #[serde(flatten)]
    pub node: TronNodeConfig,
}

/// The Tron-only keys of a Tron entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TronNodeConfig {
    /// The node's HTTP API (`https://api.trongrid.io`, or a full node's `http://host:8090`).
    pub http_url: String,
    /// Where its `/walletsolidity/*` API is, if not at `http_url` (a java-tron full node's solidity
    /// port, `http://host:8091`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solidity_url: Option<String>,
    /// The hosted endpoint's API key, as `env:VARIABLE` (never written in the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The header the key goes in.
    #[serde(default = "default_api_key_header")]
    pub api_key_header: String,
    /// The most TRX one transaction may burn for energy (its `fee_limit` ceiling), e.g. `"50"`.
    pub fee_limit_trx: String,
    /// The least `fee_limit` set whatever the estimate says, in TRX (default `"1"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_fee_limit_trx: Option<String>,
    /// The energy estimate's cost times this, in percent (at least 100).
    #[serde(default = "default_margin")]
    pub energy_margin_percent: u64,
    /// Below this much TRX in the relayer's account `/readyz` fails (default: `fee_limit_trx`, one
    /// transaction's worth at the ceiling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_trx_balance: Option<String>,
    /// Bound on every HTTP request.
    #[serde(default = "default_http_timeout_ms")]
    pub http_timeout_ms: u64,
}

/// The keys [`TronNodeConfig`] takes (the rest of the entry is the EVM-shaped part's).
const NODE_KEYS: [&str; 9] = [
    "http_url",
    "solidity_url",
    "api_key",
    "api_key_header",
    "fee_limit_trx",
    "min_fee_limit_trx",
    "energy_margin_percent",
    "min_trx_balance",
    "http_timeout_ms",
];

fn default_api_key_header() -> String {
    "TRON-PRO-API-KEY".into()
}
const fn default_margin() -> u64 {
    130
}
const fn default_http_timeout_ms() -> u64 {
    10_000
}

/// Each part refuses keys it does not know (serde's `flatten` would let them through silently).
impl<'de> Deserialize<'de> for TronChainConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut all = serde_json::Map::deserialize(deserializer)?;
        let node: serde_json::Map<String, Value> =
            NODE_KEYS.iter().filter_map(|k| all.remove(*k).map(|v| ((*k).to_owned(), v))).collect();
        let chain = ChainConfig::deserialize(Value::Object(all)).map_err(D::Error::custom)?;
        let node = TronNodeConfig::deserialize(Value::Object(node)).map_err(D::Error::custom)?;
        Ok(Self { chain, node })
    }
}

/// A validated Tron chain.
#[derive(Debug, Clone)]
pub struct TronSpec {
    /// The EVM-shaped part.
    pub chain: ChainSpec,
    /// How it is sent to.
    pub sending: TronSending,
}

/// How a Tron chain is sent to.
#[derive(Debug, Clone)]
pub struct TronSending {
    /// The HTTP API.
    pub node: NodeConfig,
    /// What a transaction may burn.
    pub fees: FeePolicy,
    /// Below this much TRX (in sun) the relayer is not ready.
    pub min_balance_sun: u64,
}

impl TronChainConfig {
    /// Validates the entry at `at` (e.g. `chains[2]`), reading the API key from `env`.
    pub fn validate(self, at: &str, env: &impl Fn(&str) -> Option<String>) -> Result<TronSpec, FieldError> {
        let f = |name: &str| format!("{at}.{name}");
        let mut chain = self.chain.validate(Family::Tron, at)?;
        // Nothing counts before it is solidified (irreversible), whatever `confirmations` says; the
        // watcher's lag budget counts beyond the solidification depth.
        chain.finalized_head = true;
        chain.lag_budget_blocks = chain.lag_budget_blocks.saturating_add(SOLIDIFICATION_DEPTH);
        let node = self.node;
        let http = |name: &str, text: &str| {
            reqwest::Url::parse(text)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| FieldError::new(f(name), "must be an http(s) URL"))
        };
        let url = http("http_url", &node.http_url)?;
        let solidity = node.solidity_url.as_deref().map(|s| http("solidity_url", s)).transpose()?;
        let api_key = match &node.api_key {
            None => None,
            Some(reference) => {
                let var = reference.strip_prefix("env:").ok_or_else(|| {
                    FieldError::new(
                        f("api_key"),
                        "must be `env:VARIABLE` (keys are never written in the file)",
                    )
                })?;
                let key = env(var).ok_or_else(|| {
                    FieldError::new(f("api_key"), format!("environment variable {var} is not set"))
                })?;
                let key = key.trim().to_owned();
                if reqwest::header::HeaderName::from_bytes(node.api_key_header.as_bytes()).is_err() {
                    return Err(FieldError::new(f("api_key_header"), "is not a valid HTTP header name"));
                }
                if reqwest::header::HeaderValue::from_str(&key).is_err() {
                    return Err(FieldError::new(
                        f("api_key"),
                        format!("environment variable {var} does not hold a valid header value"),
                    ));
                }
                // The key in the clear is the key given away: only over TLS, or to this machine.
                for (name, url) in
                    std::iter::once(("http_url", &url)).chain(solidity.iter().map(|s| ("solidity_url", s)))
                {
                    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                    if url.scheme() != "https" && !local {
                        return Err(FieldError::new(
                            f(name),
                            "must be https when api_key is set (the key would travel in the clear)",
                        ));
                    }
                }
                Some((node.api_key_header.clone(), Secret::new(key)))
            }
        };
        let trx = |name: &str, text: &str| -> Result<u64, FieldError> {
            let sun = parse_units(text, TRX_DECIMALS)
                .map_err(|e| FieldError::new(f(name), format!("must be an amount of TRX: {e}")))?;
            u64::try_from(sun).map_err(|_| FieldError::new(f(name), "is out of range"))
        };
        let ceiling_sun = trx("fee_limit_trx", &node.fee_limit_trx)?;
        if ceiling_sun == 0 {
            return Err(FieldError::new(f("fee_limit_trx"), "must be more than 0"));
        }
        let floor_sun = trx("min_fee_limit_trx", node.min_fee_limit_trx.as_deref().unwrap_or("1"))?;
        if floor_sun > ceiling_sun {
            return Err(FieldError::new(f("min_fee_limit_trx"), "must be at most fee_limit_trx"));
        }
        let min_balance_sun = match &node.min_trx_balance {
            None => ceiling_sun,
            Some(text) => trx("min_trx_balance", text)?,
        };
        if node.energy_margin_percent < 100 {
            return Err(FieldError::new(f("energy_margin_percent"), "must be at least 100"));
        }
        if node.http_timeout_ms == 0 {
            return Err(FieldError::new(f("http_timeout_ms"), "must be more than 0"));
        }
        Ok(TronSpec {
            chain,
            sending: TronSending {
                node: NodeConfig {
                    url: url.to_string(),
                    solidity_url: solidity.map(|s| s.to_string()),
                    api_key,
                    timeout: Duration::from_millis(node.http_timeout_ms),
                },
                fees: FeePolicy { margin_percent: node.energy_margin_percent, ceiling_sun, floor_sun },
                min_balance_sun,
            },
        })
    }
}

impl TronNodeConfig {
    /// The Tron-only keys for a node at `http_url`, with the defaults, burning at most `fee_limit_trx`.
    pub fn new(http_url: &str, fee_limit_trx: &str) -> Self {
        Self {
            http_url: http_url.into(),
            solidity_url: None,
            api_key: None,
            api_key_header: default_api_key_header(),
            fee_limit_trx: fee_limit_trx.into(),
            min_fee_limit_trx: None,
            energy_margin_percent: default_margin(),
            min_trx_balance: None,
            http_timeout_ms: default_http_timeout_ms(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extra: &str) -> String {
        format!(
            r#"chain_id = 728126428
name = "Tron"
rpc_url = "http://127.0.0.1:8545"
http_url = "http://127.0.0.1:8090"
fee_limit_trx = "50"
router = "0x1111111111111111111111111111111111111111"
factory = "0x00000000000000000000000000000000000000f1"
receiver_implementation = "0x00000000000000000000000000000000000000f2"
executor_implementation = "0x00000000000000000000000000000000000000f3"
tokens = [{{ address = "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c", symbol = "USDT", decimals = 6 }}]
{extra}"#
        )
    }

    #[test]
    fn both_parts_are_read_and_unknown_keys_are_refused_in_either() {
        let read: TronChainConfig = toml::from_str(&entry("")).expect("reads");
        assert_eq!(read.node.http_url, "http://127.0.0.1:8090");
        assert_eq!(read.chain.chain_id, 728_126_428);
        let again: TronChainConfig = toml::from_str(&toml::to_string(&read).expect("writes")).expect("reads");
        assert_eq!(again, read, "round trip");
        let unknown = toml::from_str::<TronChainConfig>(&entry("colour = \"red\"")).expect_err("refused");
        assert!(unknown.to_string().contains("colour"), "{unknown}");
        let missing = toml::from_str::<TronChainConfig>(&entry("").replace("http_url", "http_uri"))
            .expect_err("refused");
        assert!(missing.to_string().contains("http_ur"), "{missing}");
    }

    #[test]
    fn fees_and_the_key_are_validated_with_the_field_named() {
        let env = |name: &str| (name == "KEY").then(|| "secret-key".to_owned());
        let read = |extra: &str| toml::from_str::<TronChainConfig>(&entry(extra)).expect("reads");
        let spec = read("api_key = \"env:KEY\"").validate("chains[1]", &env).expect("valid");
        assert_eq!(
            spec.sending.fees,
            FeePolicy { margin_percent: 130, ceiling_sun: 50_000_000, floor_sun: 1_000_000 }
        );
        let (header, key) = spec.sending.node.api_key.clone().expect("key");
        assert_eq!((header.as_str(), key.expose()), ("TRON-PRO-API-KEY", "secret-key"));
        assert!(!format!("{spec:?}").contains("secret-key"), "the key is never printed");
        for (extra, field) in [
            ("api_key = \"secret-key\"", "chains[1].api_key"),
            ("api_key = \"env:NOPE\"", "chains[1].api_key"),
            ("energy_margin_percent = 90", "chains[1].energy_margin_percent"),
            ("min_fee_limit_trx = \"60\"", "chains[1].min_fee_limit_trx"),
            ("api_key = \"env:KEY\"\napi_key_header = \"TRON PRO\"", "chains[1].api_key_header"),
        ] {
            let error = read(extra).validate("chains[1]", &env).expect_err(extra);
            assert_eq!(error.field, field, "{extra}: {error}");
        }
        let remote =
            entry("api_key = \"env:KEY\"").replace("http://127.0.0.1:8090", "http://tron.example:8090");
        let remote = toml::from_str::<TronChainConfig>(&remote).expect("reads");
        assert_eq!(
            remote.validate("chains[1]", &env).expect_err("key in the clear").field,
            "chains[1].http_url"
        );
        let error = toml::from_str::<TronChainConfig>(&entry("").replace("\"50\"", "\"0\"")).expect("reads");
        assert_eq!(error.validate("chains[1]", &env).expect_err("zero").field, "chains[1].fee_limit_trx");
    }
}
