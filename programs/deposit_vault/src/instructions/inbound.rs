//! One transfer bridged in from an EVM chain, in the inbox: checked to be the session's before any of the
//! inbox instructions (`claim`, `send_back`, `refund_inbound`) moves it.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, TokenAccount};

use crate::{DepositParams, INBOX_SEED, Received, error::VaultError, events::InboundEvent, evm};

/// One received transfer in the inbox, checked to be the session's: minted to the inbox, with the hook
/// naming the session's EVM receiver (which commits to the params, so no other params can match).
pub(crate) struct Inbound {
    pub(crate) source_domain: u32,
    pub(crate) hook: [u8; 32],
    pub(crate) amount: u64,
    bump: [u8; 1],
    pub(crate) event: InboundEvent,
}

impl Inbound {
    pub(crate) fn new(
        params: &DepositParams,
        received: &Received,
        inbox_token: &Account<TokenAccount>,
        mint: &Account<Mint>,
        bump: u8,
    ) -> Result<Self> {
        require_keys_eq!(received.mint_recipient, inbox_token.key(), VaultError::NotInInbox);
        let hash = params.hash();
        let hook = evm::receiver_word(&hash);
        require!(received.hook == Some(hook), VaultError::NotThisSession);
        Ok(Self {
            source_domain: received.source_domain,
            hook,
            amount: received.amount,
            bump: [bump],
            event: InboundEvent {
                session_id: params.session_id,
                params_hash: hash,
                source_domain: received.source_domain,
                nonce: received.nonce,
                mint: mint.key(),
                to: Pubkey::default(),
                amount: received.amount,
            },
        })
    }

    /// The inbox's signer seeds.
    pub(crate) fn seeds(&self) -> [&[u8]; 2] {
        [INBOX_SEED, &self.bump]
    }
}

/// Whether the session can still take a transfer of `amount` of `mint` from the inbox (`claim` it): it
/// settles on Solana in that mint, has not expired, and the transfer alone meets the session's minimum
/// (inbox transfers cannot be added up: each is consumed alone). Anything else is refunded: sent back
/// when the EVM side has a refund target, else paid to the Solana refund target.
///
/// The minimum stops this: anyone may burn dust on any CCTP chain with the session's receiver as hook
/// data; claimed, it would be the session's delivery (1 base unit, the attacker's transaction) while the
/// payer's real transfer is still on its way.
pub(crate) fn claimable(params: &DepositParams, mint: &Pubkey, amount: u64) -> Result<bool> {
    Ok(params.settles(mint) && !params.expired()? && params.meets_minimum(amount))
}
