//! Why the transmitter refused: Circle's `MessageTransmitterError` names (the numbers are this program's).

use anchor_lang::prelude::*;

/// Why the transmitter refused.
#[error_code]
pub enum MessageTransmitterError {
    /// The transmitter is paused.
    #[msg("Instruction is not allowed at this time")]
    ProgramPaused,
    /// Sending to this domain.
    #[msg("Destination domain is local domain")]
    DestinationDomainIsLocalDomain,
    /// The body is over `max_message_body_size`.
    #[msg("Message body exceeds max size")]
    MessageBodyLimitExceeded,
    /// A zero recipient.
    #[msg("Invalid message recipient")]
    InvalidRecipient,
    /// Shorter than a header.
    #[msg("Malformed message")]
    MalformedMessage,
    /// Not version 1.
    #[msg("Invalid message version")]
    InvalidMessageVersion,
    /// For another domain.
    #[msg("Invalid destination domain")]
    InvalidDestinationDomain,
    /// Not delivered by the caller it names.
    #[msg("Invalid destination caller")]
    InvalidDestinationCaller,
    /// Its recipient is not the receiver program given.
    #[msg("Invalid message recipient program")]
    InvalidRecipientProgram,
    /// Not 65 bytes per required signature.
    #[msg("Invalid attestation length")]
    InvalidAttestationLength,
    /// A recovery id outside 27–30.
    #[msg("Invalid signature recovery ID")]
    InvalidSignatureRecoveryId,
    /// A high `s`.
    #[msg("Invalid signature S value")]
    InvalidSignatureSValue,
    /// Signers not strictly ascending.
    #[msg("Invalid signature order or dupe")]
    InvalidSignatureOrderOrDupe,
    /// Not a signature of an enabled attester.
    #[msg("Invalid attester signature")]
    InvalidAttesterSignature,
}

impl From<crate::message::AttestationError> for MessageTransmitterError {
    fn from(error: crate::message::AttestationError) -> Self {
        use crate::message::AttestationError as A;
        match error {
            A::Length => Self::InvalidAttestationLength,
            A::RecoveryId => Self::InvalidSignatureRecoveryId,
            A::HighS => Self::InvalidSignatureSValue,
            A::OrderOrDuplicate => Self::InvalidSignatureOrderOrDupe,
            A::Signature | A::UnknownAttester => Self::InvalidAttesterSignature,
        }
    }
}
