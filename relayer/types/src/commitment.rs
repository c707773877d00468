//! A session's on-chain commitment, family-neutral: the mirror of Solidity's `DepositParams`
//! (`contracts/src/libraries/DepositParamsLib.sol`). Endpoints are 32-byte words, as the contracts
//! store them: an EVM or Tron address is left-padded with zeros, a Solana public key fills the word.

use alloy_primitives::{B256, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::{Family, PaymentMethod, session::Session};

/// What a session's receivers commit to, on every chain family (one commitment for all of them: a
/// Solana vault and the EVM receiver it bridges to share it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Commitment {
    /// The session id, left-aligned in the word.
    pub session_id: B256,
    /// Destination chain.
    pub to_chain_id: u64,
    /// Destination token.
    pub to_token: B256,
    /// Recipient, or the contract the final call goes to.
    pub to_address: B256,
    /// Fixed amount in base units; zero for a session where the payer chooses.
    pub amount: U256,
    /// Nothing starts the session (a delivery, its final call) before this much of the destination token
    /// is at the receiver (see [`Session::min_amount`]).
    pub min_amount: U256,
    /// Final call data; empty for a plain transfer.
    pub final_call: Bytes,
    /// Where funds go on EVM-shaped chains (EVM and Tron) when they cannot (or may no longer) be
    /// delivered: a left-padded 20-byte address, or zero when none is committed (the contracts then refund
    /// to an EVM destination, or send the destination token home to the destination chain).
    pub refund_address: B256,
    /// Where funds go on Solana: a public key, or zero when none is committed (the program then refunds to
    /// a Solana destination, or bridges the funds to the EVM destination's receiver).
    pub solana_refund_address: B256,
    /// Unix seconds after which nothing new starts, and funds may only be refunded.
    pub expires_at: u64,
}

impl Session {
    /// The session's commitment, the same on every chain. Each family gets a refund address it can pay:
    /// on EVM-shaped chains the integrator's `refundAddress`, else an EVM destination itself; on Solana
    /// the paying wallet of a Solana payer, else a Solana destination itself. A family with neither
    /// commits zero, and the contracts and the program fall back as [`Commitment::refund_address`] says.
    pub fn commitment(&self) -> Commitment {
        let d = &self.destination;
        let of = |family: Family| Some(d.address).filter(|a| a.family() == family);
        let evm = self
            .refund_address
            .filter(|a| a.evm_shaped().is_some())
            .or_else(|| of(Family::Evm))
            .map_or(B256::ZERO, |a| a.word());
        let wallet = self.payment_method.as_ref().and_then(PaymentMethod::wallet);
        let solana = wallet
            .filter(|w| w.family() == Family::Solana)
            .or_else(|| of(Family::Solana))
            .map_or(B256::ZERO, |a| a.word());
        Commitment {
            session_id: self.id.to_b256(),
            to_chain_id: d.token.chain_id,
            to_token: d.token.address.word(),
            to_address: d.address.word(),
            amount: d.amount.unwrap_or_default(),
            min_amount: self.min_amount,
            final_call: d.calldata.clone().unwrap_or_default(),
            refund_address: evm,
            solana_refund_address: solana,
            expires_at: self.expires_at,
        }
    }
}
