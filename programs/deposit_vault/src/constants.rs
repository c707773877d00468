//! Seeds and fixed numbers of the program, shared with the relayer (which imports them, never retypes them).

/// The spec's `chainId` of Solana: a commitment whose `to_chain_id` is this delivers on Solana.
pub const SOLANA_CHAIN_ID: u64 = 501;
/// The longest a bridge may take to deliver: bridging stops this long before a session expires, so the
/// funds never reach the destination's receiver after expiry (where only a refund to the committed
/// refund address would remain, as the EVM router's bridging also guarantees).
pub const BRIDGE_DELIVERY_SECS: u64 = 900;
/// Seed prefix of a vault PDA.
pub const VAULT_SEED: &[u8] = b"vault";
/// Seed of the inbox PDA: the owner of the token account transfers bridged from EVM chains mint to.
pub const INBOX_SEED: &[u8] = b"inbox";
/// Seed prefix of a claim record: `[CLAIMED_SEED, the bridge's record of the message]`.
pub const CLAIMED_SEED: &[u8] = b"claimed";
/// Seed prefix of the program's record of a transfer Circle's transmitter delivered:
/// `[RECEIVED_SEED, the message's 32-byte nonce]`.
pub const RECEIVED_SEED: &[u8] = b"received";
/// Solana's CCTP domain.
pub const SOLANA_DOMAIN: u32 = 5;
