//! What the program reports, through `emit_cpi!` (self-invocations the relayer reads from a transaction's
//! inner instructions; logs can be truncated, these cannot).

use anchor_lang::prelude::*;

/// What left a vault, and where.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct VaultEvent {
    /// The session.
    pub session_id: [u8; 32],
    /// Its commitment (the vault's seed).
    pub params_hash: [u8; 32],
    /// The vault PDA.
    pub vault: Pubkey,
    /// The mint moved.
    pub mint: Pubkey,
    /// The token account that received it.
    pub to: Pubkey,
    /// Base units moved.
    pub amount: u64,
    /// Who received the closed vault token account's rent (the session's Solana refund target); the
    /// default key when the account stayed open (no Solana refund target, or a Token-2022 account that
    /// cannot be closed yet, such as one holding withheld transfer fees).
    pub rent_to: Pubkey,
    /// Lamports of rent returned (0 when the account stayed open).
    pub rent: u64,
}

/// The session's funds reached its Solana recipient.
#[event]
pub struct Settled {
    /// What moved.
    pub event: VaultEvent,
}

/// Funds went to the session's Solana refund target.
#[event]
pub struct Refunded {
    /// What moved.
    pub event: VaultEvent,
}

/// Funds left through the bridge towards the session's EVM destination (`to` is the bridge's custody).
#[event]
pub struct Bridged {
    /// What moved.
    pub event: VaultEvent,
    /// The CCTP domain of the destination chain.
    pub destination_domain: u32,
    /// The session's receiver there, as a `bytes32`.
    pub mint_recipient: [u8; 32],
}

/// The bridged mint went home through the bridge: to the session's receiver on its EVM destination chain,
/// where the router refunds it to the EVM refund target (`to` is the bridge's custody; the vault token
/// account stays open, as the session names no Solana account for its rent).
#[event]
pub struct RefundedHome {
    /// What moved.
    pub event: VaultEvent,
    /// The CCTP domain of the destination chain.
    pub destination_domain: u32,
    /// The session's receiver there, as a `bytes32`.
    pub mint_recipient: [u8; 32],
}

/// One transfer bridged in from an EVM chain, and where it went.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InboundEvent {
    /// The session.
    pub session_id: [u8; 32],
    /// Its commitment.
    pub params_hash: [u8; 32],
    /// The CCTP domain it came from.
    pub source_domain: u32,
    /// The bridge message's nonce (the attester's, unique across domains).
    pub nonce: [u8; 32],
    /// The mint.
    pub mint: Pubkey,
    /// The token account that received it (the bridge's custody when sent back).
    pub to: Pubkey,
    /// Base units moved.
    pub amount: u64,
}

/// A bridged-in transfer reached the session's Solana recipient.
#[event]
pub struct Claimed {
    /// What moved.
    pub event: InboundEvent,
}

/// A bridged-in transfer went back to the session's receiver on the chain it came from.
#[event]
pub struct SentBack {
    /// What moved.
    pub event: InboundEvent,
    /// The receiver there, as a `bytes32`.
    pub mint_recipient: [u8; 32],
}

/// A bridged-in transfer the session cannot take went to its Solana refund target (the session commits
/// no EVM refund address, so sending it back would only bring it here again).
#[event]
pub struct RefundedInbound {
    /// What moved.
    pub event: InboundEvent,
}

/// A transfer Circle's transmitter delivered was recorded (by `record`, once per nonce).
#[event]
pub struct Recorded {
    /// The record's address.
    pub at: Pubkey,
    /// What it holds.
    pub received: crate::Received,
}
