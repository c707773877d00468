//! The transmitter's accounts, with Circle's names, fields and order (so their discriminators and
//! layouts are Circle's).

use anchor_lang::prelude::*;

/// The transmitter's state (by convention at the PDA `[b"message_transmitter"]`; its address is not
/// checked where it is used, its owner and discriminator are).
#[account]
#[derive(Debug, InitSpace)]
pub struct MessageTransmitter {
    /// Admin (not used by the stand-in).
    pub owner: Pubkey,
    /// Admin (not used by the stand-in).
    pub pending_owner: Pubkey,
    /// Admin (not used by the stand-in).
    pub attester_manager: Pubkey,
    /// Admin (not used by the stand-in).
    pub pauser: Pubkey,
    /// Refuses sending and receiving.
    pub paused: bool,
    /// This chain's CCTP domain (Solana: 5).
    pub local_domain: u32,
    /// The message format version (1).
    pub version: u32,
    /// How many attesters must sign a message.
    pub signature_threshold: u32,
    /// The attesters, each an EVM address left-padded to 32 bytes.
    #[max_len(1)]
    pub enabled_attesters: Vec<Pubkey>,
    /// The longest message body it sends.
    pub max_message_body_size: u64,
}

impl MessageTransmitter {
    /// The enabled attesters as EVM addresses (each stored left-padded to 32 bytes; any other entry
    /// names no address and is left out, as Circle's check never matches it).
    pub fn attester_addresses(&self) -> Vec<[u8; 20]> {
        self.enabled_attesters
            .iter()
            .filter(|a| a.as_ref()[..12] == [0; 12])
            .filter_map(|a| a.as_ref()[12..].try_into().ok())
            .collect()
    }
}

/// A message sent from here: the account is the event the attester reads (the message starts at byte 52).
#[account]
#[derive(Debug, InitSpace)]
pub struct MessageSent {
    /// Who paid its rent.
    pub rent_payer: Pubkey,
    /// When it was written (unix seconds).
    pub created_at: i64,
    /// The message, as [`crate::message::MessageV2`] writes it.
    #[max_len(1)]
    pub message: Vec<u8>,
}

impl MessageSent {
    /// The account's size for a body of `body_len` bytes (Circle's formula).
    pub fn len(body_len: usize) -> Result<usize> {
        Ok(8 + MessageSent::INIT_SPACE - 1 + crate::message::BODY + body_len)
    }

    /// Where the message starts in the account's data.
    pub const MESSAGE: usize = 52;
}

/// A nonce received here: its PDA `[b"used_nonce", nonce]` exists once.
#[account]
#[derive(Debug, InitSpace)]
pub struct UsedNonce {
    /// Always true once created.
    pub is_used: bool,
}

/// Seeds.
pub const MESSAGE_TRANSMITTER_SEED: &[u8] = b"message_transmitter";
/// Seeds of a sender program's signing PDA.
pub const SENDER_AUTHORITY_SEED: &[u8] = b"sender_authority";
/// Seeds of the PDA this program signs receiver calls with, after it the receiver's id.
pub const AUTHORITY_SEED: &[u8] = b"message_transmitter_authority";
/// Seeds of a used nonce, after it the nonce.
pub const USED_NONCE_SEED: &[u8] = b"used_nonce";
/// The finality at and above which a message is finalized (below: unfinalized, a fast transfer).
pub const FINALITY_THRESHOLD_FINALIZED: u32 = 2000;
