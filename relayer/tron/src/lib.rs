//! The Tron family: a [`TronChain`](chain::TronChain) is watched as an EVM-shaped chain (the same
//! contracts and events, through Tron's JSON-RPC) and sends through a Tron node's HTTP API on the shared
//! expiry-ordered pipeline ([`sender`]). What is here: Tron transactions as the protocol defines them,
//! built and signed locally ([`tx`]); what a node's answer to a broadcast means for the submit pipeline
//! ([`broadcast`]); what its other answers say ([`answers`]: blocks, landings, energy and fees); the
//! client of its HTTP API ([`node`]); and its `[[chains]]` entry ([`config`]).
//! A Tron transaction has no nonce: it names a recent block (TaPoS: two bytes of its number and eight of
//! its id) and expires at a wall-clock time; its id is the SHA-256 of its `raw_data` protobuf, and its
//! signature is a recoverable secp256k1 signature over that id.

pub mod answers;
pub mod broadcast;
pub mod chain;
pub mod config;
pub mod node;
pub mod sender;
pub mod tx;

use std::{sync::Arc, time::Duration};

use relayer_chain::SendLedger;
use relayer_evm::{EvmChain, Sender};
use relayer_store::ChainStore;

/// Connects the Tron chain `chain` describes: watched over its JSON-RPC, sent to as `sending` says with
/// `sender`'s key, its send records in `store`; transactions on record looked at every
/// `reconcile_every`.
pub fn connect(
    chain: relayer_evm::ChainSpec,
    sending: config::TronSending,
    store: Arc<dyn ChainStore>,
    sender: Sender,
    reconcile_every: Duration,
) -> Result<chain::TronChain, String> {
    let key = sender.signer.clone();
    let chain_id = chain.chain_id;
    let evm = EvmChain::connect(chain.clone(), Arc::clone(&store), sender)?;
    let node = node::Node::new(sending.node)?;
    let limits = chain.spending;
    let spending = (limits != relayer_chain::SpendingLimits::default())
        .then(|| relayer_chain::Spending::new(chain_id, "sun", limits, Arc::clone(&store)));
    let ledger = SendLedger::new(store, chain_id);
    // A Tron block every 3 s: looking at records more often only spends the endpoint's quota.
    let reconcile_every = reconcile_every.max(Duration::from_secs(3));
    let sender = sender::TronSender {
        spec: Arc::new(chain),
        node,
        key,
        ledger,
        fees: sending.fees,
        reconcile_every,
        broadcasts: Default::default(),
        on_network: Default::default(),
        spending,
    };
    Ok(chain::TronChain::new(Arc::new(evm), Arc::new(sender), sending.min_balance_sun))
}
