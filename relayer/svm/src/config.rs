//! A Solana entry of the relayer's config file (`[[chains]]` with `family = "solana"`): a cluster
//! reached over JSON-RPC, its mints, and the relayer's Solana key (only ever read from the environment).
//!
//! ```toml
//! [[chains]]
//! family = "solana"
//! rpc_url = "https://api.mainnet-beta.solana.com"
//! rpc_timeout_ms = 10000
//! poll_interval_ms = 1000          # watcher polls of the vault token accounts
//! lag_budget_slots = 150           # /readyz fails while the watcher is further behind (about a minute)
//! private_key = "env:RELAYER_SOLANA_KEY"   # base58 of the 64-byte keypair, or its JSON byte array
//! # private_key = "file:/etc/relayer/solana.json"   # or solana-keygen's keypair file
//! tokens = [{ mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", symbol = "USDC", decimals = 6 }]
//! # Bridge routes for the first mint, through the bridge program (to the session's EVM receiver):
//! routes = [{ to_chain_id = 8453, to_token = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", min_deposit = "1.00" }]
//! min_inbox_amount = "1.00"        # smaller transfers bridged in are not claimed by the relayer
//! commitment = "finalized"         # a sent transaction counts as landed at this commitment (or "confirmed")
//! priority_fee_percentile = 75     # of getRecentPrioritizationFees over the accounts a transaction writes
//! max_priority_fee_micro_lamports = 1000000   # per compute unit, whatever the cluster's fees say
//! compute_unit_margin_percent = 20 # compute units asked for above what a simulation used
//! min_sol_balance = "0.05"         # /readyz fails while the fee payer holds less (SOL)
//! # Circle's attestation service, asked for the messages of USDC bridged towards Solana, which the
//! # relayer delivers itself (default Circle's mainnet service; "https://iris-api-sandbox.circle.com"
//! # beside Solana's devnet; "" when someone else delivers them)
//! attestation_url = "https://iris-api.circle.com"
//! ```

use std::time::Duration;

use relayer_chain::Route;
use relayer_types::{ChainAddress, SOLANA_CHAIN_ID, TokenRef};
use relayer_util::{FieldError, at_least};
use serde::{Deserialize, Serialize};
use solana_sdk::{pubkey::Pubkey, signature::Keypair};

use crate::{Landing, SvmConfig, client::Confirmation};

/// A `[[chains]]` entry with `family = "solana"`, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolanaSection {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Per-request timeout.
    #[serde(default = "default_timeout_ms")]
    pub rpc_timeout_ms: u64,
    /// Pause between watcher polls.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Slots the watcher may lag behind the finalized slot before `/readyz` fails (default 150).
    #[serde(default = "default_lag_budget_slots")]
    pub lag_budget_slots: u64,
    /// `env:VARIABLE` holding the relayer's keypair.
    pub private_key: String,
    /// Accepted and delivered mints; the first is the one deposits are watched in.
    pub tokens: Vec<SolanaToken>,
    /// Bridge routes of the first mint to EVM chains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<SolanaRoute>,
    /// Transfers bridged into the inbox below this (token units of the first mint) are not claimed by the
    /// relayer (each claim pays a claim record's rent; anyone can burn dust naming a receiver). Default
    /// `"1.00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_inbox_amount: Option<String>,
    /// The commitment at which a sent transaction counts as landed: `confirmed` or `finalized` (the
    /// default). Reads are always finalized.
    #[serde(default = "default_commitment")]
    pub commitment: Confirmation,
    /// Percentile (0–100) of the recent priority fees paid beside the accounts a transaction writes.
    #[serde(default = "default_percentile")]
    pub priority_fee_percentile: u8,
    /// The most paid per compute unit (micro-lamports), whatever the cluster's fees say.
    #[serde(default = "default_max_price")]
    pub max_priority_fee_micro_lamports: u64,
    /// Compute units asked for above what a simulation used, in percent.
    #[serde(default = "default_unit_margin")]
    pub compute_unit_margin_percent: u32,
    /// `/readyz` fails while the fee payer holds less than this (SOL; default `"0.05"`, `"0"` for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sol_balance: Option<String>,
    /// The most the relayer's transactions may pay in fees in a UTC day (SOL): once reached, nothing new
    /// is sent until 00:00 UTC. Default: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_fees: Option<String>,
    /// A transaction that costs more than this (SOL) is counted (`relayer_costly_transactions_total`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub costly_fee: Option<String>,
    /// Circle's attestation service (default [`CIRCLE_ATTESTATION_URL`]), asked for the messages of the
    /// sessions' bridgings towards Solana, which the relayer delivers itself; `""` when someone else
    /// delivers them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_url: Option<String>,
}

/// Circle's attestation service on mainnet (Iris).
pub const CIRCLE_ATTESTATION_URL: &str = "https://iris-api.circle.com";

/// The highest ceiling accepted: 100,000,000 micro-lamports a unit (a transaction of the most units
/// would pay 0.14 SOL for priority).
const MAX_PRICE_CEILING: u64 = 100_000_000;

const fn default_commitment() -> Confirmation {
    Confirmation::Finalized
}
const fn default_percentile() -> u8 {
    75
}
const fn default_max_price() -> u64 {
    1_000_000
}
const fn default_unit_margin() -> u32 {
    20
}

/// A bridge route out of Solana.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolanaRoute {
    /// The EVM chain it reaches.
    pub to_chain_id: u64,
    /// The token that arrives there (an EVM address).
    pub to_token: String,
    /// Less than this in the vault is not bridged but refunded once the session expires (token units;
    /// default `"1.00"`).
    #[serde(default)]
    pub min_deposit: Option<String>,
}

/// One mint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolanaToken {
    /// Base58 mint.
    pub mint: String,
    /// Symbol, e.g. `USDC`.
    pub symbol: String,
    /// Decimals of the mint.
    pub decimals: u8,
    /// An open-amount session delivering this mint starts only once this much arrived (token units;
    /// default `"1.00"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_open_amount: Option<String>,
}

const fn default_timeout_ms() -> u64 {
    10_000
}
const fn default_poll_ms() -> u64 {
    1_000
}
/// 150 slots, about a minute at 400 ms (and a blockhash's lifetime): a poll that reads its 300 program
/// transactions one by one over a slow RPC still fits, and a watcher stuck for a minute shows.
const fn default_lag_budget_slots() -> u64 {
    150
}

/// A validated `[solana]`.
pub struct SolanaSpec {
    /// The chain's settings.
    pub chain: SvmConfig,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Per-request timeout.
    pub rpc_timeout: Duration,
    /// The relayer's key.
    pub key: Keypair,
}

impl std::fmt::Debug for SolanaSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key: its public half identifies it.
        f.debug_struct("SolanaSpec")
            .field("rpc_url", &relayer_util::redact_urls(&self.rpc_url))
            .field("tokens", &self.chain.tokens.len())
            .field("key", &solana_sdk::signer::Signer::pubkey(&self.key))
            .finish_non_exhaustive()
    }
}

/// Parses a keypair: base58 of its 64 bytes, or the JSON byte array `solana-keygen` writes.
pub fn parse_keypair(text: &str) -> Option<Keypair> {
    let text = text.trim();
    let bytes: Vec<u8> = if text.starts_with('[') {
        serde_json::from_str(text).ok()?
    } else {
        bs58::decode(text).into_vec().ok()?
    };
    Keypair::try_from(bytes.as_slice()).ok()
}

impl SolanaSection {
    /// Validates the entry at `at` (e.g. `chains[2]`); `env` resolves the `env:VAR` key reference.
    /// Errors name the field.
    pub fn validate(
        &self,
        at: &str,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<SolanaSpec, FieldError> {
        let f = |name: &str| format!("{at}.{name}");
        if !(self.rpc_url.starts_with("http://") || self.rpc_url.starts_with("https://")) {
            return Err(FieldError::new(f("rpc_url"), "must be an http(s) URL"));
        }
        let (value, source) = if let Some(var) = self.private_key.strip_prefix("env:") {
            let value = env(var).ok_or_else(|| {
                FieldError::new(f("private_key"), format!("environment variable {var} is not set"))
            })?;
            (value, var.to_owned())
        } else if let Some(path) = self.private_key.strip_prefix("file:") {
            (read_keypair_file(path).map_err(|why| FieldError::new(f("private_key"), why))?, path.to_owned())
        } else {
            return Err(FieldError::new(
                f("private_key"),
                "must be `env:VARIABLE` or `file:PATH` (a solana-keygen keypair file; keys are never written in the config)",
            ));
        };
        let key = parse_keypair(&value).ok_or_else(|| {
            FieldError::new(
                f("private_key"),
                format!("{source} holds no Solana keypair (base58 or a JSON byte array)"),
            )
        })?;
        if self.tokens.is_empty() {
            return Err(FieldError::new(f("tokens"), "needs at least one mint"));
        }
        let tokens = self
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mint: Pubkey = t.mint.parse().map_err(|_| {
                    FieldError::new(f(&format!("tokens[{i}].mint")), "is not a base58 public key")
                })?;
                let minimum =
                    relayer_types::parse_units(t.min_open_amount.as_deref().unwrap_or("1.00"), t.decimals)
                        .map_err(|e| {
                            FieldError::new(f(&format!("tokens[{i}].min_open_amount")), e.to_string())
                        })?;
                let token = TokenRef {
                    chain_id: SOLANA_CHAIN_ID,
                    chain_name: "solana".into(),
                    address: ChainAddress::Solana(mint.to_bytes()),
                    symbol: t.symbol.clone(),
                    decimals: t.decimals,
                };
                Ok((token, minimum))
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        let open_minimums = tokens.iter().map(|(t, m)| (t.address, *m)).collect();
        let tokens: Vec<TokenRef> = tokens.into_iter().map(|(t, _)| t).collect();
        let decimals = tokens[0].decimals;
        let routes = self
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let field = |name: &str| f(&format!("routes[{i}].{name}"));
                let to_token: relayer_types::Address = r
                    .to_token
                    .parse()
                    .map_err(|_| FieldError::new(field("to_token"), "is not an EVM address"))?;
                // Default 1.00: without a floor, a griefer's 1-unit transfers would each cost a bridging.
                let min_amount =
                    relayer_types::parse_units(r.min_deposit.as_deref().unwrap_or("1.00"), decimals)
                        .map_err(|e| FieldError::new(field("min_deposit"), e.to_string()))?;
                let route = Route {
                    adapter: ChainAddress::Solana(crate::tx::BRIDGE_ID.to_bytes()),
                    to_token: ChainAddress::Evm(to_token),
                    min_amount,
                    // The vault's burns allow Circle's minimum fee (0 on the devnet), never more than the
                    // program's cap: the worst case of what arrives.
                    max_fee_bps: u32::try_from(deposit_vault::MAX_FEE_BPS).unwrap_or(u32::MAX),
                    own_fee_bps: 0,
                };
                Ok((r.to_chain_id, route))
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        let min_inbox_amount =
            relayer_types::parse_units(self.min_inbox_amount.as_deref().unwrap_or("1.00"), decimals)
                .map_err(|e| FieldError::new(f("min_inbox_amount"), e.to_string()))
                .and_then(|a| {
                    u64::try_from(a).map_err(|_| FieldError::new(f("min_inbox_amount"), "is too large"))
                })?;
        if self.commitment == Confirmation::Processed {
            return Err(FieldError::new(
                f("commitment"),
                "must be `confirmed` or `finalized` (a processed transaction can still be dropped by a fork)",
            ));
        }
        if self.priority_fee_percentile > 100 {
            return Err(FieldError::new(f("priority_fee_percentile"), "must be between 0 and 100"));
        }
        if !(5..=1_000).contains(&self.compute_unit_margin_percent) {
            // Below 5 %, any drift between the simulation and the block (a recipient's account created
            // meanwhile) fails the transaction on chain, its fee paid.
            return Err(FieldError::new(f("compute_unit_margin_percent"), "must be between 5 and 1000"));
        }
        if self.max_priority_fee_micro_lamports > MAX_PRICE_CEILING {
            return Err(FieldError::new(
                f("max_priority_fee_micro_lamports"),
                format!(
                    "must be at most {MAX_PRICE_CEILING} (0.14 SOL for a transaction of 1,400,000 units)"
                ),
            ));
        }
        let min_lamports = relayer_types::parse_units(self.min_sol_balance.as_deref().unwrap_or("0.05"), 9)
            .map_err(|e| FieldError::new(f("min_sol_balance"), e.to_string()))
            .and_then(|a| {
                u64::try_from(a).map_err(|_| FieldError::new(f("min_sol_balance"), "is too large"))
            })?;
        let attestation_url = match self.attestation_url.as_deref() {
            None => Some(CIRCLE_ATTESTATION_URL.to_owned()),
            Some("") => None,
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(url.to_owned()),
            Some(_) => return Err(FieldError::new(f("attestation_url"), "must be an http(s) URL, or \"\"")),
        };
        let landing = Landing {
            commitment: self.commitment,
            fee_percentile: self.priority_fee_percentile,
            max_micro_lamports: self.max_priority_fee_micro_lamports,
            unit_margin_percent: self.compute_unit_margin_percent,
            min_lamports,
            spending: relayer_chain::SpendingLimits::parse(
                self.max_daily_fees.as_deref(),
                self.costly_fee.as_deref(),
                9,
                |name| f(name),
            )?,
        };
        Ok(SolanaSpec {
            chain: SvmConfig {
                landing,
                attestation_url,
                min_inbox_amount,
                open_minimums,
                chain_id: SOLANA_CHAIN_ID,
                name: "solana".into(),
                tokens,
                routes,
                poll: Duration::from_millis(at_least(self.poll_interval_ms, 50, f("poll_interval_ms"))?),
                lag_budget_slots: at_least(self.lag_budget_slots, 1, f("lag_budget_slots"))?,
            },
            rpc_url: self.rpc_url.clone(),
            rpc_timeout: Duration::from_millis(at_least(self.rpc_timeout_ms, 100, f("rpc_timeout_ms"))?),
            key,
        })
    }
}

/// The contents of a keypair file (solana-keygen's JSON byte array), read at most a few KiB (a path to
/// something endless, or huge, is refused rather than read). The error names the path, never what the
/// file holds.
fn read_keypair_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    const MOST: u64 = 4096;
    // A regular file only: opening a FIFO or a terminal would wait for a writer, for good.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the keypair file {path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("the keypair file {path} is not a regular file"));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the keypair file {path}: {e}"))?;
    let mut text = String::new();
    file.take(MOST + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the keypair file {path}: {e}"))?;
    if text.len() as u64 > MOST {
        return Err(format!("the keypair file {path} is larger than a keypair"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use solana_sdk::signer::Signer;

    use super::*;

    fn section() -> SolanaSection {
        toml::from_str(
            r#"
rpc_url = "http://127.0.0.1:8899"
private_key = "env:SOL_KEY"
tokens = [{ mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", symbol = "USDC", decimals = 6 }]
"#,
        )
        .expect("toml")
    }

    #[test]
    fn a_valid_section_and_each_error_names_its_field() {
        let key = Keypair::new();
        let base58 = key.to_base58_string();
        let json = serde_json::to_string(&key.to_bytes().to_vec()).expect("json");
        for text in [base58.clone(), json] {
            let spec = section().validate("solana", &|_| Some(text.clone())).expect("valid");
            assert_eq!(spec.key.pubkey(), key.pubkey());
            assert_eq!(spec.chain.poll, Duration::from_millis(1000));
            assert_eq!(spec.chain.lag_budget_slots, 150);
            assert_eq!(
                spec.chain.landing,
                Landing { min_lamports: 50_000_000, ..Landing::default() },
                "finalized, 75th percentile, at most 1,000,000 micro-lamports a unit, 20 % margin, 0.05 SOL"
            );
            assert!(!format!("{spec:?}").contains(&base58), "the key is never printed");
            assert_eq!(
                spec.chain.attestation_url.as_deref(),
                Some(CIRCLE_ATTESTATION_URL),
                "Circle's by default"
            );
        }
        let other = |url: &str| {
            SolanaSection { attestation_url: Some(url.into()), ..section() }
                .validate("solana", &|_| Some(base58.clone()))
                .map(|spec| spec.chain.attestation_url)
        };
        assert_eq!(other("").ok(), Some(None), "\"\": someone else delivers");
        assert_eq!(other("http://127.0.0.1:9").ok(), Some(Some("http://127.0.0.1:9".into())));
        let env = |_: &str| Some(base58.clone());
        let table: Vec<(SolanaSection, &str)> = vec![
            (SolanaSection { rpc_url: "ftp://x".into(), ..section() }, "solana.rpc_url"),
            (SolanaSection { private_key: base58.clone(), ..section() }, "solana.private_key"),
            (SolanaSection { tokens: vec![], ..section() }, "solana.tokens"),
            (
                SolanaSection {
                    tokens: vec![SolanaToken {
                        mint: "0xabc".into(),
                        symbol: "X".into(),
                        decimals: 6,
                        min_open_amount: None,
                    }],
                    ..section()
                },
                "solana.tokens[0].mint",
            ),
            (SolanaSection { poll_interval_ms: 1, ..section() }, "solana.poll_interval_ms"),
            (SolanaSection { attestation_url: Some("iris".into()), ..section() }, "solana.attestation_url"),
            (SolanaSection { lag_budget_slots: 0, ..section() }, "solana.lag_budget_slots"),
            (SolanaSection { commitment: Confirmation::Processed, ..section() }, "solana.commitment"),
            (SolanaSection { priority_fee_percentile: 101, ..section() }, "solana.priority_fee_percentile"),
            (
                SolanaSection { compute_unit_margin_percent: 1_001, ..section() },
                "solana.compute_unit_margin_percent",
            ),
            (
                SolanaSection { compute_unit_margin_percent: 4, ..section() },
                "solana.compute_unit_margin_percent",
            ),
            (
                SolanaSection { max_priority_fee_micro_lamports: 100_000_001, ..section() },
                "solana.max_priority_fee_micro_lamports",
            ),
            (
                SolanaSection { min_sol_balance: Some("0.0000000001".into()), ..section() },
                "solana.min_sol_balance",
            ),
            (
                SolanaSection {
                    routes: vec![SolanaRoute {
                        to_chain_id: 8453,
                        to_token: "0x12".into(),
                        min_deposit: None,
                    }],
                    ..section()
                },
                "solana.routes[0].to_token",
            ),
        ];
        for (s, want) in table {
            assert_eq!(s.validate("solana", &env).err().map(|e| e.field), Some(want.to_owned()));
        }
        assert_eq!(
            section().validate("solana", &|_| None).err().map(|e| e.field),
            Some("solana.private_key".to_owned())
        );
        assert_eq!(
            section().validate("solana", &|_| Some("not a key".into())).err().map(|e| e.field),
            Some("solana.private_key".to_owned())
        );
    }

    /// `file:PATH`: solana-keygen's keypair file. Refused, naming the field and the path but never the
    /// contents: a missing file, one that holds no keypair, one too large to be one.
    #[test]
    fn a_keypair_file_is_read_and_its_contents_never_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = Keypair::new();
        let path = dir.path().join("id.json");
        std::fs::write(&path, serde_json::to_string(&key.to_bytes().to_vec()).expect("json")).expect("write");
        let at =
            |p: &std::path::Path| SolanaSection { private_key: format!("file:{}", p.display()), ..section() };
        let spec = at(&path).validate("solana", &|_| None).expect("the file's keypair");
        assert_eq!(spec.key.pubkey(), key.pubkey());
        let garbage = dir.path().join("garbage.json");
        std::fs::write(&garbage, "not-a-secret-keypair").expect("write");
        let huge = dir.path().join("huge.json");
        std::fs::write(&huge, "1,".repeat(4096)).expect("write");
        for (p, why) in [
            (dir.path().join("missing.json"), "cannot read the keypair file"),
            (garbage.clone(), "holds no Solana keypair"),
            (huge, "larger than a keypair"),
            (dir.path().to_path_buf(), "is not a regular file"),
        ] {
            let error = at(&p).validate("solana", &|_| None).expect_err("refused");
            let said = error.to_string();
            assert!(said.contains("solana.private_key") && said.contains(why), "{said}");
            assert!(!said.contains("not-a-secret-keypair"), "never the contents: {said}");
        }
    }
}
