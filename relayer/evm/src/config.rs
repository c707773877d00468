//! The EVM family's sections of the relayer's config file, typed both ways: the relayer reads them
//! (`Deserialize`, unknown fields refused), the devnet and tests write them (`Serialize`). Validation
//! turns them into a [`ChainSpec`] and an [`ExecutorConfig`], refusing out-of-range values with the
//! field named instead of clamping them.

use std::time::Duration;

use alloy::primitives::Address;
use relayer_types::{ChainAddress, Family, TokenRef, parse_units};
use relayer_util::{FieldError, at_least};
use serde::{Deserialize, Serialize};

use crate::{
    ChainSpec,
    chain::{ConfirmationTier, RouteSpec},
    executor::{ExecutorConfig, FeeCeiling},
};

/// One `[[chains]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Chain id (Tron mainnet: 728126428).
    pub chain_id: u64,
    /// Display name, e.g. "Base".
    pub name: String,
    /// JSON-RPC endpoint (http or https).
    pub rpc_url: String,
    /// Further endpoints of the same chain, tried in turn when one fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback_rpc_urls: Vec<String>,
    /// Blocks a log needs (its own included) before it counts.
    #[serde(default = "one")]
    pub confirmations: u64,
    /// The deployed `DepositRouter`.
    pub router: Address,
    /// Tokens accepted.
    pub tokens: Vec<TokenConfig>,
    /// Watcher poll interval.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// First block to index when no cursor is stored (default: the head at first start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_block: Option<u64>,
    /// Most blocks per `eth_getLogs` request.
    #[serde(default = "default_range")]
    pub max_block_range: u64,
    /// Bound on every RPC call.
    #[serde(default = "default_rpc_timeout_ms")]
    pub rpc_timeout_ms: u64,
    /// The longest a call waits unanswered before a second try on the next URL races it (a hedged
    /// request), so a hanging endpoint costs at most this much, not `rpc_timeout_ms`. Sooner (4× the
    /// usual answer time, at least 50 ms) when the endpoint is usually fast.
    #[serde(default = "default_rpc_hedge_ms")]
    pub rpc_hedge_after_ms: u64,
    /// Fee bumps never make a transaction pay more than this per gas, in gwei.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fee_gwei: Option<u64>,
    /// ... nor more than this multiple of the latest base fee.
    #[serde(default = "default_base_fee_multiple")]
    pub max_fee_base_fee_multiple: u64,
    /// Blocks the watcher may lag behind the head before `/readyz` fails.
    #[serde(default = "default_lag_budget")]
    pub lag_budget_blocks: u64,
    /// `/readyz` fails while the relayer's key holds less of the chain's native coin than this, in whole
    /// coins (`"0.05"`): it could not pay for the next settlement (default: no floor; `/metrics` shows
    /// the balance either way). EVM chains only (Tron has its own floors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_native_balance: Option<String>,
    /// The most the relayer's transactions here may pay in fees in a UTC day, in whole coins
    /// (`"0.5"`; TRX on Tron, counted in sun): once reached, nothing new is sent until 00:00 UTC, and
    /// `/readyz` says so (default: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_fees: Option<String>,
    /// A transaction that costs more than this in fees, in whole coins, is counted
    /// (`relayer_costly_transactions_total`) and logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub costly_fee: Option<String>,
    /// Bridge routes out of this chain: a deposit here for a session whose destination is another
    /// chain is bridged only on one of these; otherwise it is refunded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
    /// The CREATE2 prefix byte receivers are derived with (default: the family's, `0xff` on EVM chains,
    /// `0x41` on Tron). A devnet "Tron" that is really an EVM node sets `0xff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create2_prefix: Option<u8>,
    /// The router's `ReceiverFactory` (`router.factory()`). Derived from the router where CREATE derives
    /// addresses as EVM chains do; required on real Tron, whose CREATE derives them from the deploying
    /// transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factory: Option<Address>,
    /// The receiver implementation (`factory.implementation()`); like `factory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_implementation: Option<Address>,
    /// The call executor implementation (`router.executorImplementation()`); like `factory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_implementation: Option<Address>,
}

/// One `[[chains.routes]]` entry: bridge `token` from this chain to `to_chain_id` through `adapter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Destination chain.
    pub to_chain_id: u64,
    /// The token on this chain (one of its `tokens`).
    pub token: Address,
    /// What the bridge delivers on the destination chain (one of that chain's tokens), spelled the way
    /// that chain's family does (`0x…` on EVM chains, base58 on Solana).
    pub to_token: String,
    /// The adapter (on the router's allow-list).
    pub adapter: Address,
    /// The largest fee a bridge caller may make the adapter take, in basis points (the adapter's own
    /// cap): the relayer fronts only what the route delivers after it.
    pub max_fee_bps: u32,
    /// Less than this at the receiver (in the token's units, e.g. `"1.00"`; default `"1.00"`) is not
    /// bridged but refunded after the session expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_deposit: Option<String>,
}

/// One token of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Token contract.
    pub address: Address,
    /// Symbol, e.g. "USDC".
    pub symbol: String,
    /// Decimals.
    pub decimals: u8,
    /// Deposits of at least some size wait for more blocks than the chain's `confirmations` (as Across
    /// does), so a reorg deeper than the confirmations is as unlikely for a large deposit as the operator
    /// needs. Each tier names its smallest amount in the token's units (`"1000.00"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmation_tiers: Vec<TierConfig>,
    /// Fronting: the most of this token the relayer key may have paid ahead on this chain (as the
    /// destination of a bridged deposit) and not yet been repaid, in the token's units (`"5000"`).
    /// Unset: the relayer never fronts it; bridged deposits are delivered when they arrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_cap: Option<String>,
    /// An open-amount session delivering this token starts only once this much arrived (token units;
    /// default `"1.00"`): dust cannot start it ahead of the payer's real payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_open_amount: Option<String>,
}

/// One `[[chains.tokens.confirmation_tiers]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// Smallest deposit the tier applies to, in the token's units, e.g. `"10000"`.
    pub at_least: String,
    /// Blocks such a deposit needs (its own included); more than the chain's `confirmations`.
    pub confirmations: u64,
}

impl TokenConfig {
    /// A token without confirmation tiers.
    pub fn new(address: Address, symbol: &str, decimals: u8) -> Self {
        Self {
            address,
            symbol: symbol.into(),
            decimals,
            confirmation_tiers: vec![],
            front_cap: None,
            min_open_amount: None,
        }
    }
}

/// The `[executor]` section (all EVM chains).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSection {
    /// Transactions in flight at once per chain.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: u64,
    /// Replace a transaction still pending after this long.
    #[serde(default = "default_bump_secs")]
    pub bump_after_secs: u64,
    /// How often pending transactions are checked.
    #[serde(default = "default_exec_poll_ms")]
    pub poll_interval_ms: u64,
}

impl Default for ExecutorSection {
    fn default() -> Self {
        Self {
            max_in_flight: default_in_flight(),
            bump_after_secs: default_bump_secs(),
            poll_interval_ms: default_exec_poll_ms(),
        }
    }
}

const fn one() -> u64 {
    1
}
const fn default_poll_ms() -> u64 {
    1000
}
const fn default_range() -> u64 {
    1000
}
const fn default_rpc_timeout_ms() -> u64 {
    10_000
}
const fn default_rpc_hedge_ms() -> u64 {
    500
}
const fn default_lag_budget() -> u64 {
    20
}
const fn default_base_fee_multiple() -> u64 {
    10
}
const fn default_in_flight() -> u64 {
    32
}
const fn default_bump_secs() -> u64 {
    30
}
const fn default_exec_poll_ms() -> u64 {
    500
}

impl ChainConfig {
    /// A chain with the defaults for everything optional.
    pub fn new(chain_id: u64, name: &str, rpc_url: &str, router: Address, tokens: Vec<TokenConfig>) -> Self {
        Self {
            chain_id,
            name: name.into(),
            rpc_url: rpc_url.into(),
            fallback_rpc_urls: vec![],
            confirmations: one(),
            router,
            tokens,
            poll_interval_ms: default_poll_ms(),
            start_block: None,
            max_block_range: default_range(),
            rpc_timeout_ms: default_rpc_timeout_ms(),
            rpc_hedge_after_ms: default_rpc_hedge_ms(),
            max_fee_gwei: None,
            max_fee_base_fee_multiple: default_base_fee_multiple(),
            lag_budget_blocks: default_lag_budget(),
            min_native_balance: None,
            max_daily_fees: None,
            costly_fee: None,
            routes: vec![],
            create2_prefix: None,
            factory: None,
            receiver_implementation: None,
            executor_implementation: None,
        }
    }

    /// Validates the entry at `at` (e.g. `chains[0]`), a chain of `family` (EVM or Tron: the same
    /// contracts; Tron spells addresses in base58 and derives receivers with CREATE2 prefix `0x41`).
    pub fn validate(self, family: Family, at: &str) -> Result<ChainSpec, FieldError> {
        let f = |name: &str| format!("{at}.{name}");
        if ChainAddress::of_family(family, Address::ZERO).is_none() {
            return Err(FieldError::new(f("family"), "must be evm or tron for an EVM-shaped chain"));
        }
        let address = |a| ChainAddress::of_family(family, a).unwrap_or(ChainAddress::Evm(a));
        if self.name.trim().is_empty() {
            return Err(FieldError::new(f("name"), "must not be empty"));
        }
        let http = |url: &str| url.starts_with("http://") || url.starts_with("https://");
        if !http(&self.rpc_url) {
            return Err(FieldError::new(f("rpc_url"), "must be an http(s) URL"));
        }
        if let Some(i) = self.fallback_rpc_urls.iter().position(|u| !http(u)) {
            return Err(FieldError::new(f(&format!("fallback_rpc_urls[{i}]")), "must be an http(s) URL"));
        }
        at_least(self.confirmations, 1, f("confirmations"))?;
        if self.router == Address::ZERO {
            return Err(FieldError::new(f("router"), "must be the deployed DepositRouter address"));
        }
        if self.tokens.is_empty() {
            return Err(FieldError::new(f("tokens"), "needs at least one token"));
        }
        let mut tokens: Vec<TokenRef> = vec![];
        let mut tiers: Vec<ConfirmationTier> = vec![];
        let mut front_caps = vec![];
        let mut open_minimums = vec![];
        for (j, t) in self.tokens.into_iter().enumerate() {
            let tf = |name: &str| format!("{at}.tokens[{j}].{name}");
            if t.decimals > 36 {
                return Err(FieldError::new(tf("decimals"), "must be at most 36"));
            }
            if t.symbol.trim().is_empty() {
                return Err(FieldError::new(tf("symbol"), "must not be empty"));
            }
            if tokens.iter().any(|x| x.address == address(t.address)) {
                return Err(FieldError::new(tf("address"), "token is configured twice"));
            }
            for (k, tier) in t.confirmation_tiers.iter().enumerate() {
                let kf = |name: &str| tf(&format!("confirmation_tiers[{k}].{name}"));
                let at_least = parse_units(&tier.at_least, t.decimals)
                    .map_err(|e| FieldError::new(kf("at_least"), e.to_string()))?;
                if tier.confirmations <= self.confirmations {
                    return Err(FieldError::new(
                        kf("confirmations"),
                        format!("must be more than the chain's confirmations ({})", self.confirmations),
                    ));
                }
                tiers.push(ConfirmationTier {
                    token: address(t.address),
                    at_least,
                    confirmations: tier.confirmations,
                });
            }
            if let Some(cap) = &t.front_cap {
                let cap = parse_units(cap, t.decimals)
                    .map_err(|e| FieldError::new(tf("front_cap"), e.to_string()))?;
                front_caps.push((address(t.address), cap));
            }
            let minimum = parse_units(t.min_open_amount.as_deref().unwrap_or("1.00"), t.decimals)
                .map_err(|e| FieldError::new(tf("min_open_amount"), e.to_string()))?;
            open_minimums.push((address(t.address), minimum));
            tokens.push(TokenRef {
                chain_id: self.chain_id,
                chain_name: self.name.clone(),
                address: address(t.address),
                symbol: t.symbol,
                decimals: t.decimals,
            });
        }
        let mut routes = vec![];
        for (k, r) in self.routes.iter().enumerate() {
            let rf = |name: &str| f(&format!("routes[{k}].{name}"));
            let Some(token) = tokens.iter().find(|t| t.address == address(r.token)) else {
                return Err(FieldError::new(rf("token"), "must be one of this chain's tokens"));
            };
            if r.to_chain_id == self.chain_id {
                return Err(FieldError::new(rf("to_chain_id"), "must be another chain"));
            }
            if r.max_fee_bps > 10_000 {
                return Err(FieldError::new(rf("max_fee_bps"), "must be at most 10000"));
            }
            // Default 1.00: without a floor, a griefer's 1-unit transfers would each cost a bridging.
            let min_amount = parse_units(r.min_deposit.as_deref().unwrap_or("1.00"), token.decimals)
                .map_err(|e| FieldError::new(rf("min_deposit"), e.to_string()))?;
            routes.push(RouteSpec {
                token: token.address,
                to_chain_id: r.to_chain_id,
                to_token: r.to_token.clone(),
                route: relayer_chain::Route {
                    adapter: address(r.adapter),
                    // The destination's family spells it: `validate_all` reads it and checks it names one of
                    // that chain's tokens.
                    to_token: ChainAddress::Evm(Address::ZERO),
                    min_amount,
                    max_fee_bps: r.max_fee_bps,
                    // The executor's bridge calls pass no adapter options: no fee (standard finality).
                    own_fee_bps: 0,
                },
            });
        }
        let create2_prefix = self.create2_prefix.or(family.create2_prefix()).unwrap_or(0xff);
        if create2_prefix != 0xff && create2_prefix != 0x41 {
            return Err(FieldError::new(f("create2_prefix"), "must be 0xff (EVM) or 0x41 (Tron)"));
        }
        let derived = crate::create2::Deployment::at_router(self.router, create2_prefix);
        let deployment = match (self.factory, self.receiver_implementation, self.executor_implementation) {
            (None, None, None) if create2_prefix == 0x41 => {
                return Err(FieldError::new(
                    f("factory"),
                    "a Tron deployment's addresses cannot be derived from its router (TVM's CREATE depends on the deploying transaction): set factory, receiver_implementation and executor_implementation (router.factory(), factory.implementation(), router.executorImplementation())",
                ));
            }
            (None, None, None) => derived,
            (Some(factory), Some(implementation), Some(executor)) => crate::create2::Deployment {
                router: self.router,
                factory,
                implementation,
                executor,
                prefix: create2_prefix,
            },
            _ => {
                return Err(FieldError::new(
                    f("factory"),
                    "factory, receiver_implementation and executor_implementation are given together or not at all",
                ));
            }
        };
        Ok(ChainSpec {
            finalized_head: false,
            routes,
            front_caps,
            open_minimums,
            deployment,
            create2_prefix,
            chain_id: self.chain_id,
            family,
            name: self.name,
            rpc_url: self.rpc_url,
            fallback_rpc_urls: self.fallback_rpc_urls,
            router: self.router,
            tokens,
            confirmations: self.confirmations,
            confirmation_tiers: tiers,
            poll_interval: Duration::from_millis(at_least(self.poll_interval_ms, 10, f("poll_interval_ms"))?),
            start_block: self.start_block,
            max_block_range: at_least(self.max_block_range, 1, f("max_block_range"))?,
            rpc_timeout: Duration::from_millis(at_least(self.rpc_timeout_ms, 100, f("rpc_timeout_ms"))?),
            rpc_hedge_after: Duration::from_millis(at_least(
                self.rpc_hedge_after_ms,
                10,
                f("rpc_hedge_after_ms"),
            )?),
            fee_ceiling: FeeCeiling {
                absolute: match self.max_fee_gwei {
                    Some(gwei) => Some(u128::from(at_least(gwei, 1, f("max_fee_gwei"))?) * 1_000_000_000),
                    None => None,
                },
                base_fee_multiple: at_least(
                    self.max_fee_base_fee_multiple,
                    1,
                    f("max_fee_base_fee_multiple"),
                )?,
            },
            lag_budget_blocks: at_least(self.lag_budget_blocks, 1, f("lag_budget_blocks"))?,
            min_native_gwei: evm_gwei(&self.min_native_balance, family, f("min_native_balance"))?
                .unwrap_or(0),
            // In gwei on EVM chains, in sun (TRX has 6 decimals) on Tron.
            spending: relayer_chain::SpendingLimits::parse(
                self.max_daily_fees.as_deref(),
                self.costly_fee.as_deref(),
                if family == Family::Tron { 6 } else { 9 },
                |name| f(name),
            )?,
        })
    }
}

/// An EVM-only amount of the native coin, in whole coins (`"0.05"`), as gwei: finer than a gwei, or
/// on another family's chain, is refused.
fn evm_gwei(coins: &Option<String>, family: Family, field: String) -> Result<Option<u64>, FieldError> {
    let Some(coins) = coins.as_deref() else { return Ok(None) };
    if family != Family::Evm {
        return Err(FieldError::new(field, "is for EVM chains (Tron has its own floors and limits)"));
    }
    let gwei = relayer_types::parse_units(coins, 9).map_err(|e| FieldError::new(&field, e.to_string()))?;
    u64::try_from(gwei).map(Some).map_err(|_| FieldError::new(field, "is too large"))
}

impl ExecutorSection {
    /// Validates the `[executor]` section.
    pub fn validate(&self) -> Result<ExecutorConfig, FieldError> {
        let max_in_flight = at_least(self.max_in_flight, 1, "executor.max_in_flight")?;
        Ok(ExecutorConfig {
            max_in_flight: usize::try_from(max_in_flight)
                .map_err(|_| FieldError::new("executor.max_in_flight", "is too large"))?,
            bump_after: Duration::from_secs(at_least(self.bump_after_secs, 1, "executor.bump_after_secs")?),
            poll_interval: Duration::from_millis(at_least(
                self.poll_interval_ms,
                10,
                "executor.poll_interval_ms",
            )?),
            ..ExecutorConfig::default()
        })
    }
}

/// An address as `family` spells it in a config file (`0x…` for the EVM-shaped families, base58 on
/// Solana).
fn address_in(family: Family, text: &str) -> Option<ChainAddress> {
    match family {
        Family::Solana => format!("solana:{text}").parse().ok(),
        Family::Evm | Family::Tron => ChainAddress::of_family(family, text.parse().ok()?),
    }
}

/// Checks what must hold across all EVM-shaped chains: distinct ids, one router address per family
/// (the API shows one receiver address per family, which needs one deterministic router deployment), and
/// routes that lead to configured chains and tokens: these chains, or `others` (chains of other
/// families, with their tokens).
/// Each chain comes with where the config file has it (`chains[3]`).
pub fn validate_all(
    chains: &mut [(String, ChainSpec)],
    others: &[(u64, Family, Vec<ChainAddress>)],
) -> Result<(), FieldError> {
    // Each route names a configured chain and one of its tokens, spelled the way that chain's family does.
    let mut known: Vec<(u64, Family, Vec<ChainAddress>)> = chains
        .iter()
        .map(|(_, c)| (c.chain_id, c.family, c.tokens.iter().map(|t| t.address).collect()))
        .collect();
    known.extend_from_slice(others);
    for (entry, c) in chains.iter_mut() {
        for (k, r) in c.routes.iter_mut().enumerate() {
            let at = |name: &str| format!("{entry}.routes[{k}].{name}");
            let Some((_, family, tokens)) = known.iter().find(|(id, ..)| *id == r.to_chain_id) else {
                return Err(FieldError::new(at("to_chain_id"), "must be a configured chain"));
            };
            let Some(to_token) = address_in(*family, &r.to_token) else {
                return Err(FieldError::new(
                    at("to_token"),
                    format!("is not an address of the destination chain's family ({})", family.as_str()),
                ));
            };
            if !tokens.contains(&to_token) {
                return Err(FieldError::new(at("to_token"), "must be one of the destination chain's tokens"));
            }
            r.route.to_token = to_token;
        }
    }
    for (i, (entry, c)) in chains.iter().enumerate() {
        if chains[..i].iter().any(|(_, p)| p.chain_id == c.chain_id) {
            return Err(FieldError::new(
                format!("{entry}.chain_id"),
                format!("chain {} is configured twice", c.chain_id),
            ));
        }
        if let Some((first, p)) = chains.iter().find(|(_, p)| p.family == c.family)
            && p.router != c.router
        {
            return Err(FieldError::new(
                format!("{entry}.router"),
                format!(
                    "must equal {first}.router: receivers are the same on every chain of a family only with one deterministic router deployment"
                ),
            ));
        }
    }
    Ok(())
}
