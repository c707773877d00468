//! Tron `TriggerSmartContract` transactions: built, signed, encoded and read back, byte for byte as
//! java-tron and TronWeb do (checked against both: recorded node answers here, TronWeb in the e2e suite).
//!
//! How long a transaction lives: [`LIFETIME`] past the head block's time. The node refuses one whose
//! expiration is not after its head block, or more than 24 h after the reference block; short matters
//! more than long here: after a lost broadcast the relayer can only send a replacement once the first
//! can provably never land (its expiration passed), so the lifetime is how long a stuck settlement
//! waits. Two minutes covers a slow broadcast and a few missed slots (a block every 3 s).
//!
//! Which block it names: a solidified one (irreversible, about 19 blocks behind the head): a transaction
//! naming a block that a fork then drops could never land (`TAPOS_ERROR`), and nothing would say so
//! until it expired. TaPoS accepts any of the last 65,536 blocks (about 54 h), far more than needed.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use prost::Message;
use relayer_types::TRON_PREFIX;
use sha2::{Digest, Sha256};
use tron_rs::tron::protocol::{
    Transaction, TriggerSmartContract,
    transaction::{Contract, Raw, contract::ContractType},
};

/// How long after the head block's time a transaction may land (see the module's docs).
pub const LIFETIME: Duration = Duration::from_secs(120);

/// The `type_url` of a `TriggerSmartContract` inside a transaction's `Any`.
const TRIGGER_TYPE_URL: &str = "type.googleapis.com/protocol.TriggerSmartContract";

/// Why a transaction cannot be built or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    /// The bytes are not a Tron `Transaction` (or its `raw_data`).
    #[error("not a Tron transaction: {0}")]
    Decode(String),
    /// It is a transaction, but not exactly one `TriggerSmartContract` call.
    #[error("not a single TriggerSmartContract call: {0}")]
    NotACall(String),
    /// An address that is not `0x41` and 20 bytes.
    #[error("not a Tron address (0x41 and 20 bytes): {0}")]
    Address(String),
    /// A signature that is not 65 bytes `r ‖ s ‖ v`, or recovers no key.
    #[error("bad signature: {0}")]
    Signature(String),
}

/// A contract call: who calls (and signs), which contract, with what calldata and TRX (in sun).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The caller; its key signs.
    pub owner: Address,
    /// The contract.
    pub contract: Address,
    /// ABI calldata.
    pub data: Vec<u8>,
    /// TRX sent along, in sun.
    pub call_value: i64,
}

/// The block a transaction names (TaPoS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefBlock {
    /// Its number.
    pub number: u64,
    /// Its id (`blockID`: the number in the first 8 bytes, then the header's hash).
    pub id: B256,
}

impl RefBlock {
    /// `ref_block_bytes`: the number's last two bytes.
    pub fn bytes(&self) -> [u8; 2] {
        ((self.number & 0xffff) as u16).to_be_bytes()
    }

    /// `ref_block_hash`: bytes 8..16 of the id.
    pub fn hash(&self) -> [u8; 8] {
        let mut hash = [0u8; 8];
        hash.copy_from_slice(&self.id[8..16]);
        hash
    }
}

/// What a transaction says, besides who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsigned {
    /// The call.
    pub call: Call,
    /// `ref_block_bytes`.
    pub ref_block_bytes: [u8; 2],
    /// `ref_block_hash`.
    pub ref_block_hash: [u8; 8],
    /// When it was made, unix ms.
    pub timestamp_ms: i64,
    /// The last time it may land, unix ms.
    pub expiration_ms: i64,
    /// The most TRX (in sun) its energy may cost.
    pub fee_limit: i64,
}

impl Unsigned {
    /// A call naming `block`, made at `now_ms` (the head block's time) and expiring [`LIFETIME`] later.
    pub fn new(call: Call, block: &RefBlock, now_ms: i64, fee_limit: i64) -> Self {
        Self {
            call,
            ref_block_bytes: block.bytes(),
            ref_block_hash: block.hash(),
            timestamp_ms: now_ms,
            expiration_ms: now_ms.saturating_add(LIFETIME.as_millis() as i64),
            fee_limit,
        }
    }

    /// The `raw_data` message.
    pub fn raw(&self) -> Raw {
        let trigger = TriggerSmartContract {
            owner_address: tron_address(self.call.owner).to_vec(),
            contract_address: tron_address(self.call.contract).to_vec(),
            call_value: self.call.call_value,
            data: self.call.data.clone(),
            ..Default::default()
        };
        let parameter = tron_rs::prost_types::Any {
            type_url: TRIGGER_TYPE_URL.to_owned(),
            value: trigger.encode_to_vec(),
        };
        Raw {
            ref_block_bytes: self.ref_block_bytes.to_vec(),
            ref_block_hash: self.ref_block_hash.to_vec(),
            expiration: self.expiration_ms,
            contract: vec![Contract {
                r#type: ContractType::TriggerSmartContract as i32,
                parameter: Some(parameter),
                ..Default::default()
            }],
            timestamp: self.timestamp_ms,
            fee_limit: self.fee_limit,
            ..Default::default()
        }
    }

    /// The `raw_data` bytes (what the id is the hash of).
    pub fn raw_data(&self) -> Vec<u8> {
        self.raw().encode_to_vec()
    }

    /// Reads a `raw_data`: exactly one `TriggerSmartContract` and nothing this relayer does not write
    /// (no permission id, no scripts, no memo), so what it signs is what it reads.
    pub fn from_raw_data(bytes: &[u8]) -> Result<Self, TxError> {
        let raw = Raw::decode(bytes).map_err(|e| TxError::Decode(e.to_string()))?;
        let [contract] = raw.contract.as_slice() else {
            return Err(TxError::NotACall(format!("{} contracts", raw.contract.len())));
        };
        if contract.r#type != ContractType::TriggerSmartContract as i32 || contract.permission_id != 0 {
            return Err(TxError::NotACall(format!("contract type {}", contract.r#type)));
        }
        let parameter =
            contract.parameter.as_ref().ok_or_else(|| TxError::NotACall("no parameter".into()))?;
        if parameter.type_url != TRIGGER_TYPE_URL {
            return Err(TxError::NotACall(parameter.type_url.clone()));
        }
        if !raw.data.is_empty() || !raw.scripts.is_empty() || !raw.auths.is_empty() {
            return Err(TxError::NotACall("a memo, scripts or auths".into()));
        }
        let trigger = TriggerSmartContract::decode(parameter.value.as_slice())
            .map_err(|e| TxError::Decode(e.to_string()))?;
        if trigger.call_token_value != 0 || trigger.token_id != 0 {
            return Err(TxError::NotACall("a TRC-10 token sent along".into()));
        }
        let read = Self {
            call: Call {
                owner: evm_address(&trigger.owner_address)?,
                contract: evm_address(&trigger.contract_address)?,
                data: trigger.data,
                call_value: trigger.call_value,
            },
            ref_block_bytes: raw
                .ref_block_bytes
                .as_slice()
                .try_into()
                .map_err(|_| TxError::Decode("ref_block_bytes is not 2 bytes".into()))?,
            ref_block_hash: raw
                .ref_block_hash
                .as_slice()
                .try_into()
                .map_err(|_| TxError::Decode("ref_block_hash is not 8 bytes".into()))?,
            timestamp_ms: raw.timestamp,
            expiration_ms: raw.expiration,
            fee_limit: raw.fee_limit,
        };
        // Byte for byte what this relayer would write for those fields: anything else (a field it does
        // not write, an unknown one, another encoding of the same values) would be dropped by the reading
        // and give another id than the network computes from the bytes.
        if read.raw_data() != bytes {
            return Err(TxError::NotACall("not in the form this relayer writes".into()));
        }
        Ok(read)
    }

    /// Signs it with `key` (which must be the caller's; wherever it lives, the signature is checked to
    /// recover to it).
    pub async fn sign(&self, key: &relayer_evm::EvmKey) -> Result<Signed, TxError> {
        let raw_data = self.raw_data();
        let txid = txid(&raw_data);
        let signature = key.sign_hash(&txid).await.map_err(|e| TxError::Signature(e.to_string()))?;
        let mut bytes = [0u8; 65];
        bytes[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
        bytes[32..64].copy_from_slice(&signature.s().to_be_bytes::<32>());
        // `v` as java-tron and TronWeb write it: 27 or 28.
        bytes[64] = 27 + u8::from(signature.v());
        Ok(Signed { raw_data, txid, signature: bytes })
    }
}

/// A signed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The `raw_data` bytes.
    pub raw_data: Vec<u8>,
    /// Its id: SHA-256 of `raw_data`.
    pub txid: B256,
    /// `r ‖ s ‖ v` over the id.
    pub signature: [u8; 65],
}

impl Signed {
    /// The `Transaction` message's bytes (what `/wallet/broadcasthex` takes, hex-encoded).
    pub fn encode(&self) -> Result<Vec<u8>, TxError> {
        let raw = Raw::decode(self.raw_data.as_slice()).map_err(|e| TxError::Decode(e.to_string()))?;
        Ok(Transaction {
            raw_data: Some(raw),
            signature: vec![self.signature.to_vec()],
            ..Default::default()
        }
        .encode_to_vec())
    }

    /// Reads a `Transaction`: one signature over its `raw_data`'s id, in exactly the form [`Signed::encode`]
    /// writes (so the id computed here is the one the network computes from the bytes).
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        let tx = Transaction::decode(bytes).map_err(|e| TxError::Decode(e.to_string()))?;
        if tx.encode_to_vec() != bytes {
            return Err(TxError::Decode("not in the form this relayer writes".into()));
        }
        let raw = tx.raw_data.ok_or_else(|| TxError::Decode("no raw_data".into()))?;
        let [signature] = tx.signature.as_slice() else {
            return Err(TxError::Signature(format!("{} signatures", tx.signature.len())));
        };
        let signature: [u8; 65] =
            signature.as_slice().try_into().map_err(|_| TxError::Signature("not 65 bytes".into()))?;
        let raw_data = raw.encode_to_vec();
        Ok(Self { txid: txid(&raw_data), raw_data, signature })
    }

    /// Who signed it (the address its signature recovers).
    pub fn signer(&self) -> Result<Address, TxError> {
        recover(self.txid, &self.signature)
    }
}

/// A transaction's id: SHA-256 of its `raw_data` bytes.
pub fn txid(raw_data: &[u8]) -> B256 {
    B256::from_slice(&Sha256::digest(raw_data))
}

/// The address a 65-byte `r ‖ s ‖ v` signature over `txid` recovers (`v` 27/28 or 0/1).
pub fn recover(txid: B256, signature: &[u8]) -> Result<Address, TxError> {
    let [rs @ .., v] = signature else { return Err(TxError::Signature("empty".into())) };
    if rs.len() != 64 {
        return Err(TxError::Signature(format!("{} bytes, not 65", signature.len())));
    }
    let parity = match v {
        0 | 27 => false,
        1 | 28 => true,
        other => return Err(TxError::Signature(format!("v = {other}"))),
    };
    let signature = alloy::primitives::Signature::from_bytes_and_parity(rs, parity);
    signature.recover_address_from_prehash(&txid).map_err(|e| TxError::Signature(e.to_string()))
}

/// `0x41 ‖ address`.
pub fn tron_address(address: Address) -> [u8; 21] {
    let mut out = [TRON_PREFIX; 21];
    out[1..].copy_from_slice(address.as_slice());
    out
}

/// The 20 bytes of a `0x41 ‖ address`.
pub fn evm_address(bytes: &[u8]) -> Result<Address, TxError> {
    match bytes {
        [TRON_PREFIX, rest @ ..] if rest.len() == 20 => Ok(Address::from_slice(rest)),
        _ => Err(TxError::Address(hex::encode(bytes))),
    }
}

#[cfg(test)]
mod tests;
