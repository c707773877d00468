//! The relayer: configuration, the engine tying store, watchers and executors together, the HTTP API,
//! telemetry, and the local devnet. `main.rs` is only the CLI.

pub mod api;
pub mod cli;
pub mod config;
pub mod devnet;
pub mod engine;
pub mod metrics;
pub mod node;
pub mod telemetry;

pub use config::Config;
pub use node::Node;

/// `N` bytes from the thread-local CSPRNG: session ids, client secrets, API keys, request ids.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes
}
