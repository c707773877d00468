//! A session's on-chain commitment, family-neutral: the mirror of Solidity's `DepositParams`
//! (`contracts/src/libraries/DepositParamsLib.sol`). Endpoints are 32-byte words, as the contracts
//! store them: an EVM or Tron address is left-padded with zeros, a Solana public key fills the word.

use alloy_primitives::{B256, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::{Family, PaymentMethod, session::Session};

/// What a session's receiver commits to, on every chain family.
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
    /// Final call data; empty for a plain transfer.
    pub final_call: Bytes,
    /// Where funds go when they cannot (or may no longer) be delivered.
    pub refund_address: B256,
    /// Unix seconds after which nothing new starts, and funds may only be refunded.
    pub expires_at: u64,
}

impl Session {
    /// The session's commitment. Sessions without a refund address refund to the destination: the
    /// contracts require a refund address, and the destination is the one other place funds may go.
    pub fn commitment(&self) -> Commitment {
        let d = &self.destination;
        Commitment {
            session_id: self.id.to_b256(),
            to_chain_id: d.token.chain_id,
            to_token: d.token.address.word(),
            to_address: d.address.word(),
            amount: d.amount.unwrap_or_default(),
            final_call: d.calldata.clone().unwrap_or_default(),
            refund_address: self.refund_address.unwrap_or(d.address).word(),
            expires_at: self.expires_at,
        }
    }

    /// The commitment of the session's receivers on chains of `family`. A Solana payer's session commits
    /// to the paying wallet as refund address on every family: its Solana vault must refund to a Solana
    /// account (the API's `refundAddress` is an EVM address, and nothing sent to a padded EVM address on
    /// Solana can be spent), and the EVM receiver its vault bridges to is derived from the same params.
    /// An EVM or Tron payer's session commits to the API's refund address everywhere: on Solana its funds
    /// only arrive bridged from that payer's receiver (in the deposit-vault inbox, claimed with the params
    /// that receiver commits to), so the Solana side must use the same params. Before a payment method is
    /// chosen, a Solana receiver commits to a Solana refund address or, failing that, a Solana
    /// destination's own address.
    pub fn commitment_on(&self, family: Family) -> Commitment {
        let mut commitment = self.commitment();
        match &self.payment_method {
            Some(PaymentMethod::Solana { wallet, .. }) => commitment.refund_address = wallet.word(),
            Some(PaymentMethod::Evm { .. } | PaymentMethod::Tron { .. }) => {}
            _ if family == Family::Solana => {
                let destination = Some(self.destination.address).filter(|a| a.family() == Family::Solana);
                let refund = self.refund_address.filter(|a| a.family() == Family::Solana);
                if let Some(solana) = refund.or(destination) {
                    commitment.refund_address = solana.word();
                }
            }
            _ => {}
        }
        commitment
    }
}
