//! The bridge's messages, in Circle's CCTP v2 format (`MessageV2` and `BurnMessageV2`, shared with the
//! CCTP v2 stand-in: [`message_transmitter_v2::message`]): parsing an incoming one from an EVM chain
//! (strictly: one message, one meaning).

pub use message_transmitter_v2::message::{
    AttestationError, BurnMessageV2, MessageV2, nonce_of, verify_attestation,
};

use crate::VERSION;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The domain it came from.
    pub source_domain: u32,
    /// The domain it is for.
    pub destination_domain: u32,
    /// The nonce the attester gave it (unique across domains, as Circle's).
    pub nonce: [u8; 32],
    /// Who may deliver it (zero: anyone).
    pub destination_caller: [u8; 32],
    /// The token account to pay.
    pub mint_recipient: [u8; 32],
    /// Base units burnt.
    pub amount: u64,
    /// The most the burn allowed as fee.
    pub max_fee: u64,
    /// The fee the attestation executed (kept: the recipient is paid `amount - fee_executed`).
    pub fee_executed: u64,
    /// The burn's hook data (empty without one).
    pub hook: Vec<u8>,
}

impl Incoming {
    /// Parses `message` (Circle's `MessageV2` of version 1 carrying a `BurnMessageV2` of version 1);
    /// `None` if it is not exactly that.
    pub fn parse(message: &[u8]) -> Option<Self> {
        let header = MessageV2::parse(message)?;
        let burn = BurnMessageV2::parse(&header.body)?;
        (header.version == VERSION && burn.version == 1).then_some(Self {
            source_domain: header.source_domain,
            destination_domain: header.destination_domain,
            nonce: header.nonce,
            destination_caller: header.destination_caller,
            mint_recipient: burn.mint_recipient,
            amount: burn.amount,
            max_fee: burn.max_fee,
            fee_executed: burn.fee_executed,
            hook: burn.hook_data,
        })
    }
}
