//! What the token messenger reports, through `emit_cpi!` (Circle's events, fields in Circle's order).

use anchor_lang::prelude::*;

/// Tokens were burnt for another domain.
#[event]
pub struct DepositForBurn {
    /// The mint burnt.
    pub burn_token: Pubkey,
    /// Base units burnt.
    pub amount: u64,
    /// The owner of the burnt tokens.
    pub depositor: Pubkey,
    /// Who is paid on the destination.
    pub mint_recipient: Pubkey,
    /// The destination domain.
    pub destination_domain: u32,
    /// The destination's token messenger.
    pub destination_token_messenger: Pubkey,
    /// Who may deliver it there (zero: anyone).
    pub destination_caller: Pubkey,
    /// The most fee allowed.
    pub max_fee: u64,
    /// The finality asked for.
    pub min_finality_threshold: u32,
    /// The hook data (empty for a plain burn).
    pub hook_data: Vec<u8>,
}

/// An attested burn was paid out here.
#[event]
pub struct MintAndWithdraw {
    /// The token account paid.
    pub mint_recipient: Pubkey,
    /// Base units paid (the amount less the fee).
    pub amount: u64,
    /// The mint.
    pub mint_token: Pubkey,
    /// The fee paid to the fee recipient.
    pub fee_collected: u64,
}
