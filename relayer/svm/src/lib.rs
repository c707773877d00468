//! The Solana family of the relayer, on the chain-family seam (`relayer-chain`): deposit vaults of the
//! `deposit_vault` program as receivers, a polling watcher, and an executor with persist-before-send.
//! Transactions are built and parsed once ([`tx`]); the cluster is reached through [`client::SvmClient`],
//! implemented over JSON-RPC ([`rpc`], real clusters and `solana-test-validator`) and in process
//! over solana-program-test's bank (`bank`, feature `local-bank`, for the devnet
//! and tests).

pub mod arrivals;
#[cfg(feature = "local-bank")]
pub mod bank;
pub mod chain;
pub mod client;
pub mod config;
mod executor;
pub mod rpc;
pub mod tx;
mod watcher;

#[cfg(feature = "local-bank")]
pub use bank::LocalBank;
pub use chain::{Landing, SvmChain, SvmConfig, tx_id};
pub use client::SvmClient;
pub use rpc::RpcClient;
