//! Deposit vaults on Solana: the Solana side of the deposit-session commitment.
//!
//! A session is committed as [`DepositParams`] (v3), the same struct the EVM contracts hash
//! (`contracts/src/libraries/DepositParamsLib.sol`), hashed the same way
//! (`keccak256(abi.encode(params))`). Its vault is the PDA `[b"vault", paramsHash]`: an account with no
//! data that only ever signs for its token accounts, inside this program. The vault's associated token
//! account (SPL Token or Token-2022) is the deposit address; paying into it needs no call to this program.
//!
//! Every instruction is permissionless; whoever sends it pays only the fee (and the rent of a recipient's
//! token account that does not exist yet). What an instruction may do is fixed by the params it is given,
//! and the params are fixed by the vault's address:
//! - [`deposit_vault::settle`]: the whole balance of the session's token to the committed Solana recipient,
//!   before expiry, once it is at least `min_amount`;
//! - [`deposit_vault::bridge`]: for an EVM destination, the whole balance of the bridged mint through the
//!   bridge to the session's receiver on the destination chain (computed here, see [`evm`]), before
//!   expiry, only where the bridge delivers the session's token and the destination can refund;
//! - [`deposit_vault::refund`]: the whole balance of any mint to the session's Solana refund target
//!   ([`DepositParams::solana_refund_target`]: `solana_refund_address`, else a Solana `to_address`), after
//!   expiry, or at any time for a mint the session can never use;
//! - [`deposit_vault::refund_home`]: for a session with no Solana refund target (an EVM payer's), the
//!   bridged mint through the bridge to the session's receiver on its EVM destination chain, where the
//!   router refunds it to the EVM refund target; after expiry, or at any time when it can never be bridged.
//!
//! Funds bridged from an EVM chain to a Solana destination cannot be minted to the session's vault (the
//! EVM router names the session's receiver there, an EVM address): the CCTP adapter's Solana route mints
//! them to this program's inbox token account and carries the receiver as the burn's hook data. Then:
//! - [`deposit_vault::claim`]: one received transfer's amount from the inbox to the committed Solana
//!   recipient, for the session whose EVM receiver the hook names (computed here from the params, see
//!   [`evm`]), before expiry;
//! - [`deposit_vault::send_back`]: a received transfer the session cannot take (expired, or a session
//!   that does not settle on Solana), when the session has an EVM refund target, back through the bridge to
//!   the same receiver on the chain it came from, where the router refunds it;
//! - [`deposit_vault::refund_inbound`]: such a transfer, when the session has no EVM refund target, to its
//!   Solana refund target (sending it back would only make the router send it here again).
//!
//! Each consumes the transfer for good (a claim record per bridge message); nothing else moves inbox funds,
//! so one session's transfer can never pay another's.
//!
//! Each vault move closes the emptied vault token account, its rent to the session's Solana refund target
//! (on the sign-and-send path the relayer commits the paying wallet there, and that wallet paid the rent);
//! with no such target the account stays open. The program cannot learn who created an associated token
//! account, and a rent recipient chosen by the caller would let any relayer take it.
//!
//! Layout: [`constants`] (seeds, shared with the relayer), [`state`] (the commitment and its rules),
//! [`instructions`] (one file per instruction), [`events`], [`mod@error`], [`evm`] (the EVM side: receivers,
//! bridge routes), `ix` (the instructions built off chain).

use anchor_lang::prelude::*;

pub mod constants;
pub mod error;
pub mod events;
pub mod evm;
pub mod instructions;
#[cfg(not(target_os = "solana"))]
pub mod ix;
#[cfg(feature = "native")]
pub mod native;
pub mod state;

pub use constants::*;
pub use error::*;
pub use events::*;
pub use instructions::*;
pub use state::*;

declare_id!("2gsjy6sRuK4oKZ8UYdjtE71G5MsjK53gfWBFzg2b63Tg");

/// The inbox PDA and its bump.
pub fn inbox() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[INBOX_SEED], &ID)
}

/// The inbox token account of `mint`: the mint recipient of the CCTP adapter's Solana route.
pub fn inbox_token(mint: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address(&inbox().0, mint)
}

/// The instructions; each handler lives with its accounts in [`instructions`].
#[program]
pub mod deposit_vault {
    use super::*;

    /// See [`Settle::settle`].
    pub fn settle(ctx: Context<Settle>, params: DepositParams) -> Result<()> {
        Settle::settle(ctx, params)
    }

    /// See [`Refund::refund`].
    pub fn refund(ctx: Context<Refund>, params: DepositParams) -> Result<()> {
        Refund::refund(ctx, params)
    }

    /// See [`Bridge::bridge`].
    pub fn bridge(ctx: Context<Bridge>, params: DepositParams) -> Result<()> {
        Bridge::bridge(ctx, params)
    }

    /// See [`Claim::claim`].
    pub fn claim(ctx: Context<Claim>, params: DepositParams) -> Result<()> {
        Claim::claim(ctx, params)
    }

    /// See [`SendBack::send_back`].
    pub fn send_back(ctx: Context<SendBack>, params: DepositParams) -> Result<()> {
        SendBack::send_back(ctx, params)
    }

    /// See [`RefundHome::refund_home`].
    pub fn refund_home(ctx: Context<RefundHome>, params: DepositParams) -> Result<()> {
        RefundHome::refund_home(ctx, params)
    }

    /// See [`Record::record`].
    pub fn record(ctx: Context<Record>, message: Vec<u8>, attestation: Vec<u8>) -> Result<()> {
        Record::record(ctx, message, attestation)
    }

    /// See [`RefundInbound::refund_inbound`].
    pub fn refund_inbound(ctx: Context<RefundInbound>, params: DepositParams) -> Result<()> {
        RefundInbound::refund_inbound(ctx, params)
    }
}
