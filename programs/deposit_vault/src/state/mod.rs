//! What the program keeps and what it is given: the session commitment ([`DepositParams`]) and the claim
//! record that consumes one bridged-in transfer.

use anchor_lang::prelude::*;

mod params;

pub use params::*;

/// Marks one bridge message as consumed; holds nothing.
#[account]
#[derive(InitSpace)]
pub struct ClaimRecord {}
