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
const NONCE: usize = 12;
const SENDER: usize = 44;
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
}
