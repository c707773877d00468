//! The EVM chain family: typed bindings to the contracts (read from the committed artifacts, checked
//! against `contracts/src` by a test), CREATE2 derivation of receiver addresses, the family's config
//! sections, the chain watcher and the transaction executor, behind the family-neutral
//! [`relayer_chain::Chain`] seam.

pub mod bindings;
pub mod chain;
pub mod config;
pub mod create2;
pub mod deploy;
pub mod executor;
pub mod intent;
pub mod key;
pub mod watcher;

pub use chain::{ChainSpec, ConfirmationTier, Counters, EvmChain, RouteSpec, RpcFailure, Sender};
pub use key::{EvmKey, KeyError};
