//! Why the token messenger refused: Circle's `TokenMessengerError` / `TokenMinterError` names (the numbers
//! are this program's).

use anchor_lang::prelude::*;

/// Why the token messenger refused.
#[error_code]
pub enum TokenMessengerError {
    /// Nothing to burn.
    #[msg("Invalid amount")]
    InvalidAmount,
    /// The owner is denylisted.
    #[msg("Account is denylisted")]
    DenylistedAccount,
    /// A zero mint recipient.
    #[msg("Invalid mint recipient")]
    InvalidMintRecipient,
    /// The fee allowed is not below the amount.
    #[msg("Max fee must be less than amount")]
    MaxFeeMustBeLessThanAmount,
    /// The fee allowed is below the minimum fee.
    #[msg("Insufficient max fee")]
    InsufficientMaxFee,
    /// A hook burn without hook data.
    #[msg("Invalid hook data")]
    InvalidHookData,
    /// The destination has no registered remote token messenger.
    #[msg("Invalid destination domain")]
    InvalidDestinationDomain,
    /// The minter is paused.
    #[msg("Instruction is not allowed at this time")]
    ProgramPaused,
    /// Over the per-message burn limit.
    #[msg("Burn amount exceeded")]
    BurnAmountExceeded,
    /// Not sent by the registered remote token messenger.
    #[msg("Invalid token messenger")]
    InvalidTokenMessenger,
    /// A body that is not a burn message.
    #[msg("Malformed message")]
    MalformedMessage,
    /// Received after its expiration block.
    #[msg("Message expired")]
    MessageExpired,
    /// The fee executed is not below the amount.
    #[msg("Fee exceeds amount")]
    FeeExceedsAmount,
    /// The fee executed is over the fee allowed.
    #[msg("Fee exceeds max fee")]
    FeeExceedsMaxFee,
    /// An unfinalized message below the minimum finality.
    #[msg("Unsupported finality threshold")]
    UnsupportedFinalityThreshold,
    /// The token pair is not the local token's.
    #[msg("Invalid token pair")]
    InvalidTokenPair,
}
