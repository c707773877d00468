//! What the bridge reports, through `emit_cpi!`.

use anchor_lang::prelude::*;

use crate::Received;

/// A message was delivered here.
#[event]
pub struct MessageReceived {
    /// What its record holds.
    pub received: Received,
}
