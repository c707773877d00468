//! The chain-agnostic core of the relayer: the engine (sessions, delivery decisions, retries), the
//! HTTP API, metrics, telemetry and the running [`Node`]. It sees chains only through
//! [`relayer_chain::Chain`]; which families exist is the binary's business (`relayer-node`).

pub mod api;
pub mod checkout;
pub mod engine;
pub mod metrics;
pub mod node;
pub mod telemetry;
pub mod view;
pub mod webhooks;

pub use node::{Node, NodeSettings};

/// How long an `Idempotency-Key`'s first response is replayed (Stripe: 24 hours): the API answers with
/// it, the webhook worker prunes what is older. Here, so neither depends on the other for it.
pub const IDEMPOTENCY_KEY_LIFETIME_SECS: u64 = 24 * 3600;

/// `N` bytes from the thread-local CSPRNG: session ids, client secrets, API keys, request ids.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes
}

/// Now in unix milliseconds.
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
