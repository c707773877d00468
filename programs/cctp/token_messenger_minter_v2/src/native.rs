//! The host-native entry point `solana-program-test` registers (`processor!(native::process)`): the
//! program compiled for the machine it runs on, for tests and the in-process devnet bank.

#![allow(unsafe_code)]

use anchor_lang::prelude::*;
use anchor_lang::solana_program::entrypoint::ProgramResult;

/// Calls the program's `entry` with the accounts `solana-program-test` hands a native processor.
///
/// Anchor's `entry<'info>` wants the slice and its accounts to share one lifetime; program-test's
/// processor type gives them two (anchor issue #2738), and `AccountInfo` is invariant in its lifetime,
/// so no safe coercion exists.
pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // SAFETY: only the lifetime parameter changes; layout is identical. The accounts outlive this call
    // (program-test owns them for the whole instruction) and nothing borrowed from them escapes `entry`.
    let accounts: &[AccountInfo<'_>] = unsafe { std::mem::transmute(accounts) };
    crate::entry(program_id, accounts, data)
}
