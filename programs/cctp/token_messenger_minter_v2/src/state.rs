//! The token messenger's and minter's accounts, with Circle's names, fields and order (so their
//! discriminators and layouts are Circle's).

use anchor_lang::prelude::*;

/// The token messenger's state (by convention at `[b"token_messenger"]`).
#[account]
#[derive(Debug, InitSpace)]
pub struct TokenMessenger {
    /// Admin (not used by the stand-in).
    pub denylister: Pubkey,
    /// Admin (not used by the stand-in).
    pub owner: Pubkey,
    /// Admin (not used by the stand-in).
    pub pending_owner: Pubkey,
    /// The burn body's version (1).
    pub message_body_version: u32,
    /// The bump of `[b"sender_authority"]`.
    pub authority_bump: u8,
    /// Owner of the token account fees are paid to.
    pub fee_recipient: Pubkey,
    /// Admin (not used by the stand-in).
    pub min_fee_controller: Pubkey,
    /// The least fee a burn must allow, in thousandths of a basis point.
    pub min_fee: u32,
}

impl TokenMessenger {
    /// The least fee a burn of `amount` must allow (Circle's `get_min_fee_amount`).
    pub fn min_fee_amount(&self, amount: u64) -> Result<u64> {
        if self.min_fee == 0 {
            return Ok(0);
        }
        require!(amount > 1, crate::TokenMessengerError::InvalidAmount);
        let fee = u128::from(amount) * u128::from(self.min_fee) / MIN_FEE_MULTIPLIER;
        Ok(u64::try_from(fee).unwrap_or(u64::MAX).max(1))
    }
}

/// The token messenger of a remote domain (at `[b"remote_token_messenger", domain as decimal text]`).
#[account]
#[derive(Debug, InitSpace)]
pub struct RemoteTokenMessenger {
    /// The domain.
    pub domain: u32,
    /// Its token messenger, left-padded to 32 bytes.
    pub token_messenger: Pubkey,
}

/// The minter's state (at `[b"token_minter"]`; its PDA owns custody).
#[account]
#[derive(Debug, InitSpace)]
pub struct TokenMinter {
    /// Admin (not used by the stand-in).
    pub token_controller: Pubkey,
    /// Admin (not used by the stand-in).
    pub pauser: Pubkey,
    /// Refuses burns and payouts.
    pub paused: bool,
    /// The bump of `[b"token_minter"]`.
    pub bump: u8,
}

/// A mint the messenger carries (at `[b"local_token", mint]`).
#[account]
#[derive(Debug, InitSpace)]
pub struct LocalToken {
    /// Its custody token account (`[b"custody", mint]`).
    pub custody: Pubkey,
    /// The mint.
    pub mint: Pubkey,
    /// The most one burn may carry.
    pub burn_limit_per_message: u64,
    /// Burns sent.
    pub messages_sent: u64,
    /// Payouts received.
    pub messages_received: u64,
    /// Base units burnt.
    pub amount_sent: u128,
    /// Base units paid out (fees included).
    pub amount_received: u128,
    /// The bump of its PDA.
    pub bump: u8,
    /// The bump of its custody's PDA.
    pub custody_bump: u8,
}

/// A remote token paid out as a local one (at `[b"token_pair", domain as decimal text, remote token]`).
#[account]
#[derive(Debug, InitSpace)]
pub struct TokenPair {
    /// The remote domain.
    pub remote_domain: u32,
    /// The remote token, left-padded to 32 bytes.
    pub remote_token: Pubkey,
    /// The [`LocalToken`] account it pays out as.
    pub local_token: Pubkey,
    /// The bump of its PDA.
    pub bump: u8,
}

/// Seeds of the token messenger's state.
pub const TOKEN_MESSENGER_SEED: &[u8] = b"token_messenger";
/// Seeds of the minter's state.
pub const TOKEN_MINTER_SEED: &[u8] = b"token_minter";
/// Seeds of a remote token messenger, after it the domain as decimal text.
pub const REMOTE_TOKEN_MESSENGER_SEED: &[u8] = b"remote_token_messenger";
/// Seeds of a local token, after it the mint.
pub const LOCAL_TOKEN_SEED: &[u8] = b"local_token";
/// Seeds of a custody account, after it the mint.
pub const CUSTODY_SEED: &[u8] = b"custody";
/// Seeds of a token pair, after it the domain as decimal text and the remote token.
pub const TOKEN_PAIR_SEED: &[u8] = b"token_pair";
/// Seeds of a denylisted owner's record, after it the owner.
pub const DENYLIST_SEED: &[u8] = b"denylist_account";
/// The divisor of [`TokenMessenger::min_fee`].
pub const MIN_FEE_MULTIPLIER: u128 = 10_000_000;
/// The least finality an unfinalized (fast) message may be received at.
pub const MIN_FINALITY_THRESHOLD: u32 = 500;
