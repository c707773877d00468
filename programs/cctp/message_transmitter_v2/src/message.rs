//! Circle's CCTP v2 message format, byte for byte as Circle's Solana programs write and read it
//! (`message-transmitter-v2/src/message.rs` and `token-messenger-minter-v2/src/token_messenger_v2/
//! burn_message.rs` in circlefin/solana-cctp-contracts, the commit deployed on mainnet, b37d577f) and as
//! the EVM contracts do (`MessageV2.sol`, `BurnMessageV2.sol`): packed, big-endian, a 148-byte header
//! followed by the body; a burn body is 228 bytes followed by its hook data.
//!
//! The source chain writes the nonce, `finalityThresholdExecuted`, `feeExecuted` and `expirationBlock` as
//! zero; Circle's attestation service fills them in and signs the result, so the bytes delivered to the
//! destination differ from those the source stored.

/// The message format's header, then its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageV2 {
    /// Format version (1).
    pub version: u32,
    /// Domain it left.
    pub source_domain: u32,
    /// Domain it is for.
    pub destination_domain: u32,
    /// Assigned by the attester (zero as the source writes it).
    pub nonce: [u8; 32],
    /// The sending program or contract (the token messenger).
    pub sender: [u8; 32],
    /// The receiving program or contract (the destination's token messenger).
    pub recipient: [u8; 32],
    /// Who may deliver it (zero: anyone).
    pub destination_caller: [u8; 32],
    /// The finality the sender asked for (1000 fast, 2000 finalized).
    pub min_finality_threshold: u32,
    /// The finality it was attested at (zero as the source writes it).
    pub finality_threshold_executed: u32,
    /// The body (a [`BurnMessageV2`] for token transfers).
    pub body: Vec<u8>,
}

const VERSION: usize = 0;
const SOURCE_DOMAIN: usize = 4;
const DESTINATION_DOMAIN: usize = 8;
/// Where the nonce starts.
pub const NONCE: usize = 12;
/// Where the sender starts (the nonce ends).
pub const SENDER: usize = 44;
const RECIPIENT: usize = 76;
const DESTINATION_CALLER: usize = 108;
const MIN_FINALITY: usize = 140;
const FINALITY_EXECUTED: usize = 144;
/// Where a message's body starts.
pub const BODY: usize = 148;

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn word_at(data: &[u8], at: usize) -> Option<[u8; 32]> {
    data.get(at..at + 32)?.try_into().ok()
}

/// A `uint256` word at `at` that must fit a `u64` (its upper 24 bytes zero, as Circle's reader demands).
fn u64_word_at(data: &[u8], at: usize) -> Option<u64> {
    let word = word_at(data, at)?;
    word[..24].iter().all(|b| *b == 0).then(|| {
        let mut low = [0u8; 8];
        low.copy_from_slice(&word[24..]);
        u64::from_be_bytes(low)
    })
}

fn u64_word(value: u64) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&value.to_be_bytes());
    word
}

/// The nonce of raw message bytes, unparsed (zero when they are too short to hold one): for account
/// seeds, which are derived before an instruction's handler parses and checks the message.
pub fn nonce_of(message: &[u8]) -> [u8; 32] {
    message.get(NONCE..SENDER).and_then(|n| n.try_into().ok()).unwrap_or([0; 32])
}

/// The source domain of raw message bytes, unparsed (zero when they are too short), as [`nonce_of`].
pub fn source_domain_of(message: &[u8]) -> u32 {
    u32_at(message, SOURCE_DOMAIN).unwrap_or(0)
}

impl MessageV2 {
    /// The bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BODY + self.body.len());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.source_domain.to_be_bytes());
        out.extend_from_slice(&self.destination_domain.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.sender);
        out.extend_from_slice(&self.recipient);
        out.extend_from_slice(&self.destination_caller);
        out.extend_from_slice(&self.min_finality_threshold.to_be_bytes());
        out.extend_from_slice(&self.finality_threshold_executed.to_be_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// Reads `data`; `None` if it is shorter than a header.
    pub fn parse(data: &[u8]) -> Option<Self> {
        Some(Self {
            version: u32_at(data, VERSION)?,
            source_domain: u32_at(data, SOURCE_DOMAIN)?,
            destination_domain: u32_at(data, DESTINATION_DOMAIN)?,
            nonce: word_at(data, NONCE)?,
            sender: word_at(data, SENDER)?,
            recipient: word_at(data, RECIPIENT)?,
            destination_caller: word_at(data, DESTINATION_CALLER)?,
            min_finality_threshold: u32_at(data, MIN_FINALITY)?,
            finality_threshold_executed: u32_at(data, FINALITY_EXECUTED)?,
            body: data.get(BODY..)?.to_vec(),
        })
    }
}

/// A token transfer: what a burn on the source mints (or releases) on the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnMessageV2 {
    /// Body format version (1).
    pub version: u32,
    /// The token burnt on the source (a mint, or an EVM address left-padded).
    pub burn_token: [u8; 32],
    /// Who is paid on the destination (on Solana: a token account).
    pub mint_recipient: [u8; 32],
    /// Base units burnt.
    pub amount: u64,
    /// Who burnt them (the token account's owner on Solana).
    pub message_sender: [u8; 32],
    /// The most the burner allowed as fee.
    pub max_fee: u64,
    /// The fee charged (zero as the source writes it).
    pub fee_executed: u64,
    /// After this destination block it cannot be received (zero: never expires).
    pub expiration_block: u64,
    /// Hook data (empty for a plain burn).
    pub hook_data: Vec<u8>,
}

const BURN_TOKEN: usize = 4;
const MINT_RECIPIENT: usize = 36;
const AMOUNT: usize = 68;
const MESSAGE_SENDER: usize = 100;
const MAX_FEE: usize = 132;
const FEE_EXECUTED: usize = 164;
const EXPIRATION_BLOCK: usize = 196;
/// Where a burn body's hook data starts.
pub const HOOK_DATA: usize = 228;

impl BurnMessageV2 {
    /// The bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HOOK_DATA + self.hook_data.len());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.burn_token);
        out.extend_from_slice(&self.mint_recipient);
        out.extend_from_slice(&u64_word(self.amount));
        out.extend_from_slice(&self.message_sender);
        out.extend_from_slice(&u64_word(self.max_fee));
        out.extend_from_slice(&u64_word(self.fee_executed));
        out.extend_from_slice(&u64_word(self.expiration_block));
        out.extend_from_slice(&self.hook_data);
        out
    }

    /// Reads a body; `None` if it is shorter than a burn or a `uint256` field does not fit a `u64`.
    pub fn parse(body: &[u8]) -> Option<Self> {
        Some(Self {
            version: u32_at(body, 0)?,
            burn_token: word_at(body, BURN_TOKEN)?,
            mint_recipient: word_at(body, MINT_RECIPIENT)?,
            amount: u64_word_at(body, AMOUNT)?,
            message_sender: word_at(body, MESSAGE_SENDER)?,
            max_fee: u64_word_at(body, MAX_FEE)?,
            fee_executed: u64_word_at(body, FEE_EXECUTED)?,
            expiration_block: u64_word_at(body, EXPIRATION_BLOCK)?,
            hook_data: body.get(HOOK_DATA..)?.to_vec(),
        })
    }
}

/// Why an attestation is refused (Circle's `MessageTransmitterError` names in the comments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationError {
    /// Not 65 bytes per required signature (`InvalidAttestationLength`).
    Length,
    /// A recovery id outside 27–30 (`InvalidSignatureRecoveryId`).
    RecoveryId,
    /// An `s` in the upper half of the curve order: the malleable twin (`InvalidSignatureSValue`).
    HighS,
    /// Not a signature of this hash (`InvalidAttesterSignature`).
    Signature,
    /// Signers not strictly ascending: out of order or repeated (`InvalidSignatureOrderOrDupe`).
    OrderOrDuplicate,
    /// A signer that is not an enabled attester (`InvalidAttesterSignature`).
    UnknownAttester,
}

/// Half the secp256k1 group order: an `s` above it is the high twin of a valid signature.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5d,
    0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Checks `attestation` of `message` as Circle's MessageTransmitterV2 does (`verify_attestation_signatures`):
/// exactly `threshold` signatures of 65 bytes (`r ‖ s ‖ v`, `v` 27–30, low `s`) over `keccak256(message)`,
/// from enabled attesters (EVM addresses) in strictly ascending address order.
pub fn verify_attestation(
    message: &[u8],
    attestation: &[u8],
    threshold: usize,
    enabled: &[[u8; 20]],
) -> Result<(), AttestationError> {
    if threshold == 0 || attestation.len() != threshold.saturating_mul(65) {
        return Err(AttestationError::Length);
    }
    let hash = solana_keccak_hasher::hash(message).to_bytes();
    let mut last: Option<[u8; 20]> = None;
    for signature in attestation.chunks_exact(65) {
        let v = signature[64];
        if !(27..=30).contains(&v) {
            return Err(AttestationError::RecoveryId);
        }
        if signature[32..64] > HALF_ORDER[..] {
            return Err(AttestationError::HighS);
        }
        let key = solana_secp256k1_recover::secp256k1_recover(&hash, v - 27, &signature[..64])
            .map_err(|_| AttestationError::Signature)?;
        let hashed = solana_keccak_hasher::hash(&key.to_bytes()).to_bytes();
        let mut signer = [0u8; 20];
        signer.copy_from_slice(&hashed[12..]);
        if last.is_some_and(|l| signer <= l) {
            return Err(AttestationError::OrderOrDuplicate);
        }
        if !enabled.contains(&signer) {
            return Err(AttestationError::UnknownAttester);
        }
        last = Some(signer);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burn(hook: &[u8]) -> BurnMessageV2 {
        BurnMessageV2 {
            version: 1,
            burn_token: [1; 32],
            mint_recipient: [2; 32],
            amount: 3_000_000,
            message_sender: [3; 32],
            max_fee: 300,
            fee_executed: 0,
            expiration_block: 0,
            hook_data: hook.to_vec(),
        }
    }

    fn message(body: Vec<u8>) -> MessageV2 {
        MessageV2 {
            version: 1,
            source_domain: 5,
            destination_domain: 6,
            nonce: [0; 32],
            sender: [4; 32],
            recipient: [5; 32],
            destination_caller: [0; 32],
            min_finality_threshold: 2000,
            finality_threshold_executed: 0,
            body,
        }
    }

    /// The layout Circle's programs read: a plain burn message is 376 bytes, each field at its offset.
    #[test]
    fn a_plain_burn_message_has_circles_layout() {
        let bytes = message(burn(&[]).encode()).encode();
        assert_eq!(bytes.len(), 376);
        assert_eq!(&bytes[0..4], &1u32.to_be_bytes());
        assert_eq!(&bytes[4..8], &5u32.to_be_bytes());
        assert_eq!(&bytes[8..12], &6u32.to_be_bytes());
        assert_eq!(&bytes[44..76], &[4; 32]);
        assert_eq!(&bytes[140..144], &2000u32.to_be_bytes());
        assert_eq!(&bytes[148 + 36..148 + 68], &[2; 32], "mint recipient");
        assert_eq!(
            &bytes[148 + 92..148 + 100],
            &3_000_000u64.to_be_bytes(),
            "amount, low 8 bytes of its word"
        );
        assert_eq!(&bytes[148 + 156..148 + 164], &300u64.to_be_bytes(), "max fee");
        assert!(bytes[148 + 164..].iter().all(|b| *b == 0), "fee executed and expiration zero at the source");
    }

    /// What is written reads back the same, hook data included; a short or over-wide field is refused.
    #[test]
    fn messages_read_back_and_malformed_ones_are_refused() {
        let body = burn(&[9; 32]);
        let m = message(body.encode());
        let bytes = m.encode();
        assert_eq!(bytes.len(), 376 + 32);
        let read = MessageV2::parse(&bytes).unwrap();
        assert_eq!(read, m);
        assert_eq!(BurnMessageV2::parse(&read.body).unwrap(), body);
        assert_eq!(MessageV2::parse(&bytes[..147]), None, "shorter than a header");
        assert_eq!(BurnMessageV2::parse(&read.body[..227]), None, "shorter than a burn");
        let mut wide = read.body.clone();
        wide[68] = 1; // the amount's word above a u64
        assert_eq!(BurnMessageV2::parse(&wide), None);
    }

    /// Circle's attestation rules: the threshold's count of low-s signatures, signers ascending, each
    /// enabled; every other shape refused with Circle's reason.
    #[test]
    fn attestations_are_checked_as_circles_transmitter_checks_them() {
        use alloy::signers::{SignerSync, local::PrivateKeySigner};
        let message = message(burn(&[]).encode()).encode();
        let hash = alloy::primitives::keccak256(&message);
        let mut keys: Vec<PrivateKeySigner> = (1u8..=3)
            .map(|i| PrivateKeySigner::from_bytes(&alloy::primitives::B256::repeat_byte(i)).unwrap())
            .collect();
        keys.sort_by_key(|k| k.address());
        let enabled: Vec<[u8; 20]> = keys.iter().map(|k| k.address().into_array()).collect();
        let sign = |k: &PrivateKeySigner| k.sign_hash_sync(&hash).unwrap().as_bytes().to_vec();
        let both = [sign(&keys[0]), sign(&keys[1])].concat();
        assert_eq!(verify_attestation(&message, &both, 2, &enabled), Ok(()));
        let reversed = [sign(&keys[1]), sign(&keys[0])].concat();
        assert_eq!(
            verify_attestation(&message, &reversed, 2, &enabled),
            Err(AttestationError::OrderOrDuplicate)
        );
        let twice = [sign(&keys[0]), sign(&keys[0])].concat();
        assert_eq!(
            verify_attestation(&message, &twice, 2, &enabled),
            Err(AttestationError::OrderOrDuplicate)
        );
        assert_eq!(verify_attestation(&message, &both[..65], 2, &enabled), Err(AttestationError::Length));
        assert_eq!(
            verify_attestation(&message, &both, 2, &enabled[1..]),
            Err(AttestationError::UnknownAttester)
        );
        let mut other = message.clone();
        other[12] = 1; // another nonce: the signatures are of another message
        assert!(verify_attestation(&other, &both, 2, &enabled).is_err());
        // v as 0/1 is not accepted (Circle's programs take 27–30 only).
        let mut raw = sign(&keys[0]);
        raw[64] -= 27;
        assert_eq!(verify_attestation(&message, &raw, 1, &enabled), Err(AttestationError::RecoveryId));
        // The malleable twin: s' = n - s, v flipped.
        let mut twin = sign(&keys[0]);
        let n = alloy::primitives::U256::from_be_bytes([
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
            0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
        ]);
        let s = alloy::primitives::U256::from_be_slice(&twin[32..64]);
        twin[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        twin[64] = if twin[64] == 27 { 28 } else { 27 };
        assert_eq!(verify_attestation(&message, &twin, 1, &enabled), Err(AttestationError::HighS));
    }
}
