//! Why an instruction refused. Append-only: the codes (6000 + position) are part of the interface the
//! relayer reads.

use anchor_lang::prelude::*;

/// Why an instruction refused. Append-only: codes are part of the interface. The errors from 6014 on say
/// which instruction applies instead, where one does.
#[error_code]
pub enum VaultError {
    /// 6000.
    #[msg("the session's destination is not on Solana")]
    NotSolanaDestination,
    /// 6001.
    #[msg("the session's final call cannot run on Solana")]
    FinalCallUnsupported,
    /// 6002.
    #[msg("the mint is not the session's token")]
    WrongMint,
    /// 6003.
    #[msg("the session expired: only a refund is possible")]
    Expired,
    /// 6004.
    #[msg("the session has not expired and can use this mint")]
    NotRefundable,
    /// 6005.
    #[msg("the vault holds nothing of this mint")]
    NothingToMove,
    /// 6006.
    #[msg("the account is not the committed one")]
    WrongRecipient,
    /// 6007.
    #[msg("a committed Solana address has twelve leading zero bytes (an EVM address?)")]
    NotASolanaAddress,
    /// 6008.
    #[msg("the session delivers on Solana: settle it, do not bridge it")]
    DeliversOnSolana,
    /// 6009.
    #[msg("the bridge does not serve the session's destination chain")]
    UnsupportedChain,
    /// 6010.
    #[msg("too close to expiry: the bridge might deliver after the session ends")]
    TooLateToBridge,
    /// 6011.
    #[msg("the bridged transfer was not minted to the inbox")]
    NotInInbox,
    /// 6012.
    #[msg("the bridged transfer is for another session")]
    NotThisSession,
    /// 6013.
    #[msg("the session can take this transfer: claim it, do not refund it")]
    Claimable,
    /// 6014: not yet; more deposits may make it enough (and after expiry it is refunded).
    #[msg("the vault holds less than the session's minimum amount")]
    BelowMinimum,
    /// 6015.
    #[msg("the bridge does not carry this mint")]
    NotBridgedMint,
    /// 6016: the session can never be bridged; its funds are refundable at once.
    #[msg("the bridge does not deliver the session's token on its destination chain")]
    NotBridgedToken,
    /// 6017: the session can never be bridged; its funds are refundable at once.
    #[msg("the destination could not refund a bridged payment: the session's to_address is no EVM address")]
    DestinationCannotRefund,
    /// 6018: use `refund_home` (the bridged mint) instead; other mints stay in the vault.
    #[msg("the session commits no Solana refund target: refund it home")]
    NoSolanaRefundTarget,
    /// 6019: use `refund` instead.
    #[msg("the session has a Solana refund target: refund it there")]
    HasSolanaRefundTarget,
    /// 6020: use `refund_inbound` instead.
    #[msg("the session commits no EVM refund address: refund the transfer on Solana")]
    NoEvmRefundAddress,
    /// 6021: use `send_back` instead.
    #[msg("the session has an EVM refund address: send the transfer back")]
    HasEvmRefundAddress,
    /// 6022: `record` takes only a burn in Circle's CCTP v2 format, for Solana's domain, to Circle's
    /// token messenger.
    #[msg("not a CCTP v2 burn to this cluster's token messenger")]
    NotABurnForSolana,
    /// 6023.
    #[msg("the attestation is not the transmitter's attesters' under Circle's rules")]
    BadAttestation,
    /// 6024: deliver it through Circle's transmitter first.
    #[msg("the message was not delivered: Circle's transmitter has no used nonce for it")]
    NotDelivered,
    /// 6025: `record` names the token account the burn paid (so the record is in its history).
    #[msg("the account named is not the burn's mint recipient")]
    NotTheMintRecipient,
    /// 6026: Circle's minimum fee needs a burn of at least 2 base units.
    #[msg("too little to burn under Circle's minimum fee")]
    BelowCircleMinimum,
    /// 6027: tried again later (Circle's minimum may fall again).
    #[msg("Circle's minimum fee is above the largest fee the program allows")]
    FeeAboveCap,
}
