//! EVM side of the relayer: typed bindings to the contracts (compiled from `contracts/src` at build
//! time), CREATE2 derivation of receiver addresses, the chain watcher and the transaction executor.

pub mod bindings;
pub mod chain;
pub mod create2;
pub mod deploy;
pub mod executor;
pub mod tools;
pub mod watcher;

pub use chain::{ChainSpec, ChainStats, EvmChain, RpcFailure, commitment};
