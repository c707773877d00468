//! Session ids and client secrets: 16 random bytes shown as 32 lower-case hex characters.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an id string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 32 lower-case hex characters")]
pub struct IdError;

fn parse_hex16(s: &str) -> Result<[u8; 16], IdError> {
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(IdError);
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| IdError)?;
    }
    Ok(out)
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 16]);

        impl $name {
            /// Wraps 16 bytes (callers draw them from a CSPRNG).
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_hex16(s).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// A session's public id.
    SessionId
);

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

hex_id!(
    /// A session's client credential. `Debug` never prints it.
    ClientSecret
);

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

impl SessionId {
    /// The session id as the contracts' `bytes32 sessionId` (left-aligned, zero-padded).
    pub fn to_b256(&self) -> alloy_primitives::B256 {
        let mut word = [0u8; 32];
        word[..16].copy_from_slice(&self.0);
        alloy_primitives::B256::from(word)
    }

    /// The session id in a contract's or program's `bytes32 sessionId`, if the word is one (16 bytes,
    /// left-aligned, the rest zero).
    pub fn from_b256(word: alloy_primitives::B256) -> Option<Self> {
        let (id, rest) = word.0.split_at(16);
        rest.iter().all(|b| *b == 0).then(|| Self::from_bytes(id.try_into().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_32_lower_case_hex_characters() {
        let id = SessionId::from_bytes([0xab; 16]);
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
        assert_eq!(serde_json::to_string(&id).ok(), Some(format!("\"{}\"", "ab".repeat(16))));
    }

    #[test]
    fn rejects_upper_case_short_long_and_non_hex_ids() {
        for s in ["AB".repeat(16), "ab".repeat(15), "ab".repeat(17), "zz".repeat(16), String::new()] {
            assert_eq!(s.parse::<SessionId>(), Err(IdError), "{s}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_client_secret() {
        let secret = ClientSecret::from_bytes([0x42; 16]);
        assert!(!format!("{secret:?}").contains("42"));
    }
}
