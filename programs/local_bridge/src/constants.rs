//! Seeds, domains and the one mint, shared with the deposit-vault program and the relayer.

use anchor_lang::prelude::*;

/// Solana's CCTP domain.
pub const LOCAL_DOMAIN: u32 = 5;
/// The one mint the bridge carries: Solana USDC (Circle's mint), as CCTP burns and mints only USDC. The
/// devnet creates its stand-in USDC at this address (as the EVM devnet chains put their test USDC at the
/// real USDC addresses) with a mint authority it holds, so only the devnet can initialize the bridge. On a
/// cluster where Circle's mint lives, nobody but Circle's mint authority could initialize it.
pub const USDC_MINT: Pubkey = pubkey!("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
/// Message format version (the EVM transmitter's `VERSION`).
pub const VERSION: u32 = 1;
/// Seed of the config PDA (also the custody account's owner).
pub const CONFIG_SEED: &[u8] = b"config";
/// Seed prefix of a received message's record: `[RECEIVED_SEED, nonce (32 bytes)]` (as Circle's
/// `used_nonce` account is `["used_nonce", nonce]`).
pub const RECEIVED_SEED: &[u8] = b"received";
