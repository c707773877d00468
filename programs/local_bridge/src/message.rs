//! The local CCTP message layout: parsing an incoming message from an EVM chain (strictly: one message,
//! one meaning), recovering its attester, and building an outgoing one.

use anchor_lang::prelude::*;

use crate::{LOCAL_DOMAIN, VERSION, received_key};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The domain it came from.
    pub source_domain: u32,
    /// The domain it is for.
    pub destination_domain: u32,
    /// Its nonce there.
    pub nonce: u64,
    /// Who may deliver it (zero: anyone).
    pub destination_caller: [u8; 32],
    /// The token account to pay.
    pub mint_recipient: [u8; 32],
    /// Base units burnt.
    pub amount: u64,
    /// The most the burn allowed as fee.
    pub max_fee: u64,
    /// The burn's hook data (empty without one).
    pub hook: Vec<u8>,
}

/// The `n`th 32-byte word of `data`.
fn word_at(data: &[u8], n: usize) -> Option<&[u8; 32]> {
    data.get(n * 32..n * 32 + 32)?.try_into().ok()
}

/// A word holding an unsigned integer that must fit in `bytes` bytes.
fn uint(word: &[u8; 32], bytes: usize) -> Option<u64> {
    if word[..32 - bytes].iter().any(|b| *b != 0) {
        return None;
    }
    let mut low = [0u8; 8];
    low[8 - bytes..].copy_from_slice(&word[32 - bytes..]);
    Some(u64::from_be_bytes(low))
}

/// The `bytes` that `abi.encode` put at head word `at` of `data` (its offset must be `expected`: the layout
/// has one encoding), with zero padding to the end of `data`.
fn tail(data: &[u8], at: usize, expected: u64) -> Option<&[u8]> {
    if uint(word_at(data, at)?, 8)? != expected {
        return None;
    }
    let start = usize::try_from(expected).ok()?;
    let len = usize::try_from(uint(word_at(data, start / 32)?, 8)?).ok()?;
    let bytes = data.get(start + 32..start + 32 + len)?;
    let padded = start + 32 + len.div_ceil(32) * 32;
    (data.len() == padded && data[start + 32 + len..].iter().all(|b| *b == 0)).then_some(bytes)
}

impl Incoming {
    /// Parses `message` (the EVM transmitter's layout, with a plain or a hooked burn body); `None` if it
    /// is not exactly that.
    pub fn parse(message: &[u8]) -> Option<Self> {
        if uint(word_at(message, 0)?, 4)? != u64::from(VERSION) {
            return None;
        }
        let body = tail(message, 7, 8 * 32)?;
        if uint(word_at(body, 0)?, 4)? != 1 {
            return None;
        }
        let hook = match body.len() {
            192 => vec![],
            _ => tail(body, 6, 7 * 32)?.to_vec(),
        };
        Some(Self {
            source_domain: u32::try_from(uint(word_at(message, 1)?, 4)?).ok()?,
            destination_domain: u32::try_from(uint(word_at(message, 2)?, 4)?).ok()?,
            nonce: uint(word_at(message, 3)?, 8)?,
            destination_caller: *word_at(message, 6)?,
            mint_recipient: *word_at(body, 2)?,
            amount: uint(word_at(body, 3)?, 8)?,
            // A fee above what fits is above the amount: all of it is fee.
            max_fee: uint(word_at(body, 5)?, 8).unwrap_or(u64::MAX),
            hook,
        })
    }

    /// The (source domain, nonce) of a raw `message`, unchecked: the instruction parses and checks the
    /// message itself, and refuses one that does not parse.
    pub fn id_of(message: &[u8]) -> (u32, u64) {
        let at = |n: usize, bytes: usize| {
            word_at(message, n).map_or(0, |w| {
                let mut low = [0u8; 8];
                low[8 - bytes..].copy_from_slice(&w[32 - bytes..]);
                u64::from_be_bytes(low)
            })
        };
        (at(1, 4) as u32, at(3, 8))
    }

    /// The record's seeds after [`RECEIVED_SEED`](crate::RECEIVED_SEED) for a raw `message` (see [`Incoming::id_of`]).
    pub fn key_of(message: &[u8]) -> [u8; 12] {
        let (domain, nonce) = Self::id_of(message);
        received_key(domain, nonce)
    }
}

/// The EVM address that signed `hash` with the 65-byte `r ‖ s ‖ v` signature, if any.
pub fn signer_of(hash: &[u8; 32], signature: &[u8; 65]) -> Option<[u8; 20]> {
    let v = signature[64];
    let recovery_id = match v {
        27 | 28 => v - 27,
        0 | 1 => v,
        _ => return None,
    };
    let key =
        solana_secp256k1_recover::secp256k1_recover(hash, recovery_id, &signature[..64]).ok()?.to_bytes();
    let hashed = solana_keccak_hasher::hash(&key).to_bytes();
    let mut address = [0u8; 20];
    address.copy_from_slice(&hashed[12..]);
    Some(address)
}

fn word(value: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&value.to_be_bytes());
    w
}

/// The message `deposit_for_burn` emits.
pub fn message(
    nonce: u64,
    destination_domain: u32,
    mint: &Pubkey,
    mint_recipient: &[u8; 32],
    amount: u64,
    max_fee: u64,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(6 * 32);
    body.extend_from_slice(&word(1));
    body.extend_from_slice(&mint.to_bytes());
    body.extend_from_slice(mint_recipient);
    body.extend_from_slice(&word(amount));
    body.extend_from_slice(&[0u8; 32]); // depositor: an EVM `address`; none on this side
    body.extend_from_slice(&word(max_fee));
    let mut out = Vec::with_capacity(10 * 32 + body.len());
    out.extend_from_slice(&word(u64::from(VERSION)));
    out.extend_from_slice(&word(u64::from(LOCAL_DOMAIN)));
    out.extend_from_slice(&word(u64::from(destination_domain)));
    out.extend_from_slice(&word(nonce));
    out.extend_from_slice(&crate::ID.to_bytes()); // sender
    out.extend_from_slice(&[0u8; 32]); // recipient: the destination's paired messenger
    out.extend_from_slice(&[0u8; 32]); // destination caller: anyone
    out.extend_from_slice(&word(8 * 32)); // offset of `body`
    out.extend_from_slice(&word(body.len() as u64));
    out.extend_from_slice(&body);
    out
}
