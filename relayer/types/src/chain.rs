//! Family-neutral chain identities: which family a chain belongs to, addresses that can be EVM, Tron or
//! Solana, and transaction ids of either length.
//!
//! Stored and serialized forms keep what earlier builds wrote readable: an EVM address is the plain
//! `0x…` string it always was, an EVM transaction id the plain `0x…` hash. The other families carry a
//! prefix (`tron:T…`, `solana:…`) so no string is ever ambiguous. The API shows each family's own
//! spelling ([`ChainAddress::to_string`]): EIP-55 for EVM, base58check `T…` for Tron, base58 for Solana.

use std::{fmt, str::FromStr};

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A chain family: what its addresses, transactions and contracts look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Ethereum and its kin: 20-byte addresses, 32-byte transaction hashes, CREATE2 with `0xff`.
    Evm,
    /// Tron: EVM-shaped contracts, 20-byte addresses shown as base58check with a `0x41` prefix, CREATE2 with `0x41`.
    Tron,
    /// Solana: 32-byte public keys, 64-byte transaction signatures.
    Solana,
}

impl Family {
    /// The name used in config and the API (`evm`, `tron`, `solana`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Evm => "evm",
            Self::Tron => "tron",
            Self::Solana => "solana",
        }
    }

    /// Every family, in tag order.
    pub const ALL: [Self; 3] = [Self::Evm, Self::Tron, Self::Solana];

    /// The family's byte in store keys ([`ChainAddress::key`]). Fixed forever: stores hold it.
    pub const fn tag(self) -> u8 {
        match self {
            Self::Evm => 1,
            Self::Tron => 2,
            Self::Solana => 3,
        }
    }

    /// The family whose [`Family::tag`] is `tag`.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.tag() == tag)
    }

    /// The prefix byte of CREATE2 address derivation on this family's chains (`None`: no CREATE2).
    pub const fn create2_prefix(self) -> Option<u8> {
        match self {
            Self::Evm => Some(0xff),
            Self::Tron => Some(TRON_PREFIX),
            Self::Solana => None,
        }
    }
}

/// The spec's `chainId` of Tron mainnet.
pub const TRON_CHAIN_ID: u64 = 728_126_428;
/// The spec's `chainId` of Solana mainnet.
pub const SOLANA_CHAIN_ID: u64 = 501;

/// A chain: its family and the number the API calls its `chainId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChainKey {
    /// Family.
    pub family: Family,
    /// The API's `chainId` (EVM chain ids; 728126428 for Tron, 501 for Solana).
    pub chain_id: u64,
}

/// An address on a chain of any family.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChainAddress {
    /// An EVM address.
    Evm(Address),
    /// A Tron address (the 20 bytes after Tron's `0x41` prefix).
    Tron(Address),
    /// A Solana public key.
    Solana([u8; 32]),
}

/// Why an address or transaction id string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// The byte a Tron address starts with, before the 20 bytes an EVM address has (and Tron's CREATE2 prefix).
pub const TRON_PREFIX: u8 = 0x41;

/// The stored form of a family-tagged value (`to_stored`), its `Debug`, and serde through it: plain
/// for EVM (as earlier builds wrote it), `tron:…` and `solana:…` otherwise; parsed back by `FromStr`.
macro_rules! stored_form {
    ($name:ident) => {
        impl $name {
            /// The stored form: plain for EVM (as earlier builds wrote it), `tron:…`, `solana:…`.
            pub fn to_stored(&self) -> String {
                match self {
                    Self::Evm(_) => self.to_string(),
                    Self::Tron(_) => format!("tron:{self}"),
                    Self::Solana(_) => format!("solana:{self}"),
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_stored())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.to_stored())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

fn checksum(bytes: &[u8]) -> [u8; 4] {
    let twice = Sha256::digest(Sha256::digest(bytes));
    [twice[0], twice[1], twice[2], twice[3]]
}

fn tron_base58(address: &Address) -> String {
    let mut bytes = Vec::with_capacity(25);
    bytes.push(TRON_PREFIX);
    bytes.extend_from_slice(address.as_slice());
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum);
    bs58::encode(bytes).into_string()
}

fn parse_tron(s: &str) -> Result<Address, ParseError> {
    let bad = || ParseError(format!("{s:?} is not a Tron address (base58check, T…)"));
    let bytes = bs58::decode(s).into_vec().map_err(|_| bad())?;
    if bytes.len() != 25 || bytes[0] != TRON_PREFIX || checksum(&bytes[..21]) != bytes[21..] {
        return Err(bad());
    }
    Ok(Address::from_slice(&bytes[1..21]))
}

fn parse_solana(s: &str) -> Result<[u8; 32], ParseError> {
    let bytes = bs58::decode(s).into_vec().map_err(|_| ParseError(format!("{s:?} is not base58")))?;
    bytes.try_into().map_err(|_| ParseError(format!("{s:?} is not a 32-byte Solana address")))
}

impl ChainAddress {
    /// The family the address belongs to.
    pub const fn family(&self) -> Family {
        match self {
            Self::Evm(_) => Family::Evm,
            Self::Tron(_) => Family::Tron,
            Self::Solana(_) => Family::Solana,
        }
    }

    /// The EVM address, if this is one.
    pub const fn as_evm(&self) -> Option<Address> {
        match self {
            Self::Evm(a) => Some(*a),
            Self::Tron(_) | Self::Solana(_) => None,
        }
    }

    /// The 20 bytes of an address of an EVM-shaped family (EVM, Tron), as their contracts see it.
    pub const fn evm_shaped(&self) -> Option<Address> {
        match self {
            Self::Evm(a) | Self::Tron(a) => Some(*a),
            Self::Solana(_) => None,
        }
    }

    /// `address` as an address of `family` (an EVM-shaped family's 20 bytes).
    pub const fn of_family(family: Family, address: Address) -> Option<Self> {
        match family {
            Family::Evm => Some(Self::Evm(address)),
            Family::Tron => Some(Self::Tron(address)),
            Family::Solana => None,
        }
    }

    /// The address as the contracts' `bytes32` endpoint: 20-byte addresses left-padded with zeros, a
    /// Solana key as it is.
    pub fn word(&self) -> B256 {
        match self {
            Self::Evm(a) | Self::Tron(a) => a.into_word(),
            Self::Solana(key) => B256::from(*key),
        }
    }

    /// The store key: the family's [`Family::tag`], then the address's own bytes (20 for EVM and Tron,
    /// 32 for Solana). Keys of different families never collide, whatever their address lengths.
    pub fn key(&self) -> Vec<u8> {
        let tag = self.family().tag();
        match self {
            Self::Evm(a) | Self::Tron(a) => [&[tag][..], a.as_slice()].concat(),
            Self::Solana(key) => [&[tag][..], key.as_slice()].concat(),
        }
    }

    /// The inverse of [`ChainAddress::key`].
    pub fn from_key(bytes: &[u8]) -> Result<Self, ParseError> {
        let (&tag, raw) = bytes.split_first().ok_or_else(|| ParseError("an empty address key".into()))?;
        let family = Family::from_tag(tag).ok_or_else(|| ParseError(format!("no family has tag {tag}")))?;
        let wrong = || ParseError(format!("{} bytes are no {} address", raw.len(), family.as_str()));
        match family {
            Family::Evm => Ok(Self::Evm(Address::try_from(raw).map_err(|_| wrong())?)),
            Family::Tron => Ok(Self::Tron(Address::try_from(raw).map_err(|_| wrong())?)),
            Family::Solana => Ok(Self::Solana(raw.try_into().map_err(|_| wrong())?)),
        }
    }

    /// A receiver-index key as stores of schema 4 and older wrote it: the family told apart by length
    /// (20 bytes EVM, `0x41` and 20 Tron, 32 Solana), which a new family of either length would break.
    /// Only the store's migration reads it.
    pub fn from_legacy_key(bytes: &[u8]) -> Result<Self, ParseError> {
        match bytes.len() {
            20 => Ok(Self::Evm(Address::from_slice(bytes))),
            21 if bytes[0] == TRON_PREFIX => Ok(Self::Tron(Address::from_slice(&bytes[1..]))),
            32 => Ok(Self::Solana(bytes.try_into().map_err(|_| ParseError("unreachable".into()))?)),
            n => Err(ParseError(format!("{n} bytes are no address of any family"))),
        }
    }

    /// The key [`ChainAddress::from_legacy_key`] reads (for the migration's tests).
    pub fn legacy_key(&self) -> Vec<u8> {
        match self {
            Self::Evm(a) => a.to_vec(),
            Self::Tron(a) => [&[TRON_PREFIX][..], a.as_slice()].concat(),
            Self::Solana(key) => key.to_vec(),
        }
    }
}

/// The family's own spelling: EIP-55, `T…` base58check, or base58.
impl fmt::Display for ChainAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Evm(a) => f.write_str(&a.to_checksum(None)),
            Self::Tron(a) => f.write_str(&tron_base58(a)),
            Self::Solana(key) => f.write_str(&bs58::encode(key).into_string()),
        }
    }
}

/// Parses the stored form.
impl FromStr for ChainAddress {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        if let Some(rest) = s.strip_prefix("tron:") {
            return parse_tron(rest).map(Self::Tron);
        }
        if let Some(rest) = s.strip_prefix("solana:") {
            return parse_solana(rest).map(Self::Solana);
        }
        s.parse::<Address>().map(Self::Evm).map_err(|_| ParseError(format!("{s:?} is not an address")))
    }
}

impl From<Address> for ChainAddress {
    fn from(a: Address) -> Self {
        Self::Evm(a)
    }
}

stored_form!(ChainAddress);

/// A transaction id: a 32-byte hash on EVM and Tron, a 64-byte signature on Solana.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxId {
    /// An EVM transaction hash.
    Evm(B256),
    /// A Tron transaction id.
    Tron(B256),
    /// A Solana transaction signature.
    Solana([u8; 64]),
}

impl TxId {
    /// The EVM hash, if this is one.
    pub const fn as_evm(&self) -> Option<B256> {
        match self {
            Self::Evm(h) => Some(*h),
            Self::Tron(_) | Self::Solana(_) => None,
        }
    }

    /// A 32-byte hash as a transaction id of `family` (EVM-shaped families).
    pub const fn of_family(family: Family, hash: B256) -> Option<Self> {
        match family {
            Family::Evm => Some(Self::Evm(hash)),
            Family::Tron => Some(Self::Tron(hash)),
            Family::Solana => None,
        }
    }

    /// The 32-byte hash of an EVM-shaped family's transaction.
    pub const fn evm_shaped(&self) -> Option<B256> {
        match self {
            Self::Evm(h) | Self::Tron(h) => Some(*h),
            Self::Solana(_) => None,
        }
    }
}

/// The family's own spelling: `0x…` for EVM, plain hex for Tron, base58 for Solana.
impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Evm(h) => write!(f, "{h}"),
            Self::Tron(h) => f.write_str(&alloy_primitives::hex::encode(h)),
            Self::Solana(sig) => f.write_str(&bs58::encode(sig).into_string()),
        }
    }
}

impl FromStr for TxId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError(format!("{s:?} is not a transaction id"));
        if let Some(rest) = s.strip_prefix("tron:") {
            return rest.parse::<B256>().map(Self::Tron).map_err(|_| bad());
        }
        if let Some(rest) = s.strip_prefix("solana:") {
            let bytes = bs58::decode(rest).into_vec().map_err(|_| bad())?;
            return bytes.try_into().map(Self::Solana).map_err(|_| bad());
        }
        s.parse::<B256>().map(Self::Evm).map_err(|_| bad())
    }
}

impl From<B256> for TxId {
    fn from(h: B256) -> Self {
        Self::Evm(h)
    }
}

stored_form!(TxId);

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;

    #[test]
    fn evm_values_keep_the_form_earlier_builds_stored() {
        let a = address!("d8dA6BF26964aF9D7eEd9e03E53415D37aA96045");
        // What `alloy_primitives::Address` serialized to before this type existed.
        let old = serde_json::to_string(&a).expect("json");
        assert_eq!(serde_json::from_str::<ChainAddress>(&old).ok(), Some(ChainAddress::Evm(a)));
        let h = B256::repeat_byte(0xab);
        let old = serde_json::to_string(&h).expect("json");
        assert_eq!(serde_json::from_str::<TxId>(&old).ok(), Some(TxId::Evm(h)));
        assert_eq!(serde_json::to_string(&TxId::Evm(h)).ok(), Some(old));
    }

    #[test]
    fn tron_addresses_are_base58check_with_the_0x41_prefix() {
        // USDT on Tron: 41a614f803b6fd780986a42c78ec9c7f77e6ded13c is TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t.
        let a = Address::from(alloy_primitives::hex!("a614f803b6fd780986a42c78ec9c7f77e6ded13c"));
        let tron = ChainAddress::Tron(a);
        assert_eq!(tron.to_string(), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
        assert_eq!("tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".parse::<ChainAddress>().ok(), Some(tron));
        assert!("tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u".parse::<ChainAddress>().is_err(), "bad checksum");
        assert_eq!(tron.word(), a.into_word(), "the contracts see the same 20 bytes");
        assert_eq!(ChainAddress::from_key(&tron.key()).ok(), Some(tron));
    }

    #[test]
    fn every_family_round_trips_through_storage_bytes_and_strings() {
        let all = [
            ChainAddress::Evm(Address::repeat_byte(1)),
            ChainAddress::Tron(Address::repeat_byte(1)),
            ChainAddress::Solana([7; 32]),
        ];
        for a in all {
            let json = serde_json::to_string(&a).expect("json");
            assert_eq!(serde_json::from_str::<ChainAddress>(&json).ok(), Some(a), "{json}");
            assert_eq!(ChainAddress::from_key(&a.key()).ok(), Some(a));
            assert_eq!(ChainAddress::from_legacy_key(&a.legacy_key()).ok(), Some(a));
        }
        assert_ne!(all[0].key(), all[1].key(), "EVM and Tron never share a key");
        assert!(ChainAddress::from_key(&[1; 33]).is_err(), "an EVM tag with 32 bytes");
        assert!(ChainAddress::from_key(&[9; 21]).is_err(), "no family has tag 9");
        assert!(ChainAddress::from_key(&[]).is_err());
        let tags: std::collections::BTreeSet<u8> = Family::ALL.into_iter().map(Family::tag).collect();
        assert_eq!(tags.len(), Family::ALL.len(), "one tag per family");
        assert!(!tags.contains(&TRON_PREFIX), "a tagged key never reads as a legacy Tron key");
        assert_eq!(all[2].word(), B256::repeat_byte(7), "a Solana key fills the word");
        let sig = TxId::Solana([9; 64]);
        let json = serde_json::to_string(&sig).expect("json");
        assert_eq!(serde_json::from_str::<TxId>(&json).ok(), Some(sig), "{json}");
        assert!("solana:abc".parse::<TxId>().is_err());
        assert!("0x12".parse::<TxId>().is_err());
    }
}
