//! One configured EVM chain: its RPC provider (every call bounded by a timeout), the router deployment,
//! the tokens the relayer watches, and counters the metrics endpoint reads.

use std::{
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    transports::{RpcError, TransportErrorKind},
};
use relayer_types::{Session, TokenRef};

use crate::create2::{Deployment, DepositParams};

/// A failed RPC call: the node answered with an error, the transport failed, or it timed out.
#[derive(Debug, thiserror::Error)]
pub enum RpcFailure {
    /// Transport or node error.
    #[error("rpc: {0}")]
    Rpc(#[from] RpcError<TransportErrorKind>),
    /// No answer within the timeout. Retrying may help.
    #[error("rpc call timed out after {0:?}")]
    Timeout(Duration),
}

/// Counters for one chain, read by `/metrics`.
#[derive(Debug, Default)]
pub struct ChainStats {
    /// Latest head seen.
    pub head: AtomicU64,
    /// Last block fully processed by the watcher.
    pub processed: AtomicU64,
    /// RPC calls that failed or timed out.
    pub rpc_errors: AtomicU64,
    /// Transactions broadcast (attempts included).
    pub broadcasts: AtomicU64,
}

impl ChainStats {
    /// Blocks between the head and what the watcher processed.
    pub fn lag(&self) -> u64 {
        self.head.load(Ordering::Relaxed).saturating_sub(self.processed.load(Ordering::Relaxed))
    }
}

/// Static description of a chain, from config.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// Chain id.
    pub chain_id: u64,
    /// Display name, e.g. "Base".
    pub name: String,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The router; factory and implementation follow from it.
    pub router: Address,
    /// Tokens deposits are accepted in.
    pub tokens: Vec<TokenRef>,
    /// Blocks a log needs (its own included) before it counts.
    pub confirmations: u64,
    /// How often the watcher polls.
    pub poll_interval: Duration,
    /// First block to index when no cursor is stored (default: the head at first start).
    pub start_block: Option<u64>,
    /// Most blocks per `eth_getLogs` request.
    pub max_block_range: u64,
    /// Bound on every RPC call.
    pub rpc_timeout: Duration,
}

/// A chain with a live provider.
#[derive(Debug)]
pub struct EvmChain {
    /// From config.
    pub spec: ChainSpec,
    /// Router, factory and receiver implementation.
    pub deployment: Deployment,
    /// Provider for reads and raw broadcasts.
    pub provider: DynProvider,
    /// Counters.
    pub stats: ChainStats,
}

impl EvmChain {
    /// Connects to `spec.rpc_url` (lazily: no request is made here).
    pub fn connect(spec: ChainSpec) -> Result<Self, String> {
        let url = spec.rpc_url.parse().map_err(|e| format!("invalid rpc url {}: {e}", spec.rpc_url))?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        Ok(Self {
            deployment: Deployment::at_router(spec.router),
            spec,
            provider,
            stats: ChainStats::default(),
        })
    }

    /// Runs one RPC call with the chain's timeout, counting failures.
    pub async fn rpc<T>(
        &self,
        call: impl Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    ) -> Result<T, RpcFailure> {
        let result = match tokio::time::timeout(self.spec.rpc_timeout, call).await {
            Ok(r) => r.map_err(RpcFailure::from),
            Err(_) => Err(RpcFailure::Timeout(self.spec.rpc_timeout)),
        };
        if result.is_err() {
            self.stats.rpc_errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// The configured token at `address`.
    pub fn token(&self, address: Address) -> Option<&TokenRef> {
        self.spec.tokens.iter().find(|t| t.address == address)
    }
}

/// The on-chain commitment of `session` (see `DepositParamsLib.sol`). Plain sessions without a refund
/// address refund to the destination: the contracts require a refund address, and the destination is
/// the one other place funds may go.
pub fn commitment(session: &Session) -> DepositParams {
    let d = &session.destination;
    DepositParams {
        sessionId: session.id.to_b256(),
        toChainId: alloy::primitives::U256::from(d.token.chain_id),
        toToken: d.token.address.into_word(),
        toAddress: d.address.into_word(),
        amount: d.amount.unwrap_or_default(),
        finalCall: d.calldata.clone().unwrap_or_default(),
        refundAddress: session.refund_address.unwrap_or(d.address).into_word(),
        expiresAt: session.expires_at,
    }
}
