//! EVM side of the relayer: typed bindings to the contracts (compiled from `contracts/src` at build
//! time), the deterministic deployment and CREATE2 derivation of receiver addresses.

pub mod bindings;
pub mod create2;
pub mod tools;
