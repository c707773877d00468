//! Why the bridge refused. Append-only: the codes (6000 + position) are part of the interface.

use anchor_lang::prelude::*;

/// Why the bridge refused. Append-only.
#[error_code]
pub enum BridgeError {
    /// 6000 (sending is gone: what leaves Solana goes through Circle's token messenger).
    #[msg("nothing to bridge")]
    ZeroAmount,
    /// 6001.
    #[msg("the destination is this domain")]
    SameDomain,
    /// 6002.
    #[msg("the message is not a burn in Circle's CCTP v2 format")]
    MalformedMessage,
    /// 6003.
    #[msg("the message is for another domain")]
    WrongDomain,
    /// 6004.
    #[msg("the attestation is not the attester's signature of the message")]
    BadAttestation,
    /// 6005.
    #[msg("the message names another destination caller")]
    WrongCaller,
    /// 6006.
    #[msg("the token account is not the message's mint recipient")]
    WrongRecipient,
    /// 6007.
    #[msg("the bridge carries USDC only")]
    UnsupportedMint,
    /// 6008.
    #[msg("only the mint's mint authority may initialize its bridge")]
    NotMintAuthority,
    /// 6009.
    #[msg("the executed fee is above the burn's max fee or not below its amount")]
    FeeExceeded,
    /// 6010 (unused since sending is gone).
    #[msg("the max fee must be below the amount")]
    FeeNotBelowAmount,
}
