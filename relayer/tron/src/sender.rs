//! Tron's half of the shared expiry-ordered pipeline ([`relayer_chain::pipeline`]): a piece of work is
//! the router's call (the same calldata the EVM family sends, [`relayer_evm::executor::router_input`]) in
//! a `TriggerSmartContract` transaction of its own, naming a solidified block and expiring
//! [`LIFETIME`](crate::tx::LIFETIME) after the head's time. The pipeline persists the signed bytes and
//! txid before the broadcast, sends the same bytes again while they can land, and rebuilds the work only
//! once they provably never will.
//!
//! When a transaction provably never lands: it is not in any block, and the *solidified* head is past
//! its expiration. A block holding it would have a time at or before the expiration, so it would be
//! irreversible already; a fork cannot bring it back. (The head alone would not do: a block a fork then
//! drops could still be the one that holds it.)

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::primitives::{B256, U256};
use relayer_chain::{
    BoxFuture, Refusal, SendLedger, Work,
    pipeline::{self, ExpiryOrdered, Planned, SendFailure, Signature, Signed, Standing},
};
use relayer_evm::{
    ChainSpec,
    executor::{quote_input, revert_refusal, router_input},
};
use relayer_types::{Action, TxId};

use crate::{
    answers::{Landing, Resources, fee_limit},
    node::{Constant, Node},
    tx::{self, Call, Unsigned},
};

/// How much TRX a transaction's energy may burn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePolicy {
    /// The estimate's cost times this, in percent (at least 100): room for state that changes between
    /// the estimate and the block.
    pub margin_percent: u64,
    /// The most one transaction may burn, in sun (the chain's fee ceiling).
    pub ceiling_sun: u64,
    /// The least `fee_limit` set, in sun, whatever the estimate says: an estimate of nothing (a node
    /// that answers 0) must not send a call that runs out of energy at once and burns its bandwidth
    /// for nothing, again and again.
    pub floor_sun: u64,
}

/// The Tron sender of one chain and key (built by [`connect`](crate::connect)).
pub struct TronSender {
    pub(crate) spec: Arc<ChainSpec>,
    pub(crate) node: Node,
    pub(crate) key: relayer_evm::EvmKey,
    pub(crate) ledger: SendLedger<Signed>,
    pub(crate) fees: FeePolicy,
    pub(crate) reconcile_every: Duration,
    pub(crate) broadcasts: AtomicU64,
    /// The node was found on this chain's network (checked before the first signature).
    pub(crate) on_network: std::sync::atomic::AtomicBool,
    /// Fees paid (sun), against the operator's limits (where any are set).
    pub(crate) spending: Option<relayer_chain::Spending>,
}

impl std::fmt::Debug for TronSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TronSender")
            .field("chain_id", &self.spec.chain_id)
            .field("owner", &self.key.address())
            .finish_non_exhaustive()
    }
}

impl TronSender {
    /// Broadcasts made so far (for `/metrics`).
    pub fn broadcasts(&self) -> u64 {
        self.broadcasts.load(Ordering::Relaxed)
    }

    /// The node this sender speaks to.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The account it sends from.
    pub fn owner(&self) -> alloy::primitives::Address {
        self.key.address()
    }

    /// Whether the node is on this chain's network (its genesis block id ends in the chain id), asked
    /// once it answers. The mistake it stops: an `http_url` of another network (Nile for mainnet) would
    /// have the relayer sign and send there, where the router may sit at the same address.
    async fn check_network(&self) -> Result<(), Refusal> {
        if self.on_network.load(Ordering::Relaxed) {
            return Ok(());
        }
        let genesis = self.node.genesis_id().await.map_err(Refusal::Unanswered)?;
        if !genesis_of(genesis, self.spec.chain_id) {
            return Err(Refusal::Permanent(format!(
                "the Tron node is on another network (genesis {genesis}) than chain {}",
                self.spec.chain_id
            )));
        }
        self.on_network.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// The router call for `work` from the relayer's account, with the bridge's messaging fee (quoted by
    /// the router, in sun) when it bridges.
    async fn call(&self, work: &Work) -> Result<Call, Refusal> {
        let data = router_input(&self.spec, work);
        let mut call = Call { owner: self.key.address(), contract: self.spec.router, data, call_value: 0 };
        if let Some(quote) = quote_input(&call.data) {
            let ask = Call { data: quote, ..call.clone() };
            let fee = match self.node.constant(&ask).await.map_err(Refusal::Unanswered)? {
                Constant::Returned(output) => word(&output)
                    .ok_or_else(|| Refusal::Unanswered("quoteBridge answered no uint256".into()))?,
                Constant::Reverted(data) => return Err(revert_refusal(&data)),
                Constant::Refused(message) => return Err(Refusal::Unanswered(message)),
            };
            call.call_value = i64::try_from(fee)
                .map_err(|_| Refusal::Unanswered(format!("a bridge fee of {fee} sun is out of range")))?;
        }
        Ok(call)
    }
}

/// How far a node's head time may be from this machine's clock before nothing is signed against it.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// How far behind this machine's clock a node's head may be (a node still catching up, or one that
/// stopped): a transaction timed from it would expire before it was sent.
pub const HEAD_BEHIND: Duration = Duration::from_secs(90);

/// Whether the head's time `head_ms` is one to time a transaction from, at `now_ms` here.
///
/// The attack it stops: a node (or a gateway in front of several) that reports a head a day ahead
/// would have the relayer sign transactions that stay live for a day past the real time, and no
/// replacement may be sent while one can still land: the session's refund or bridging would wait a day.
fn head_in_time(head_ms: i64, now_ms: i64) -> Result<(), Refusal> {
    if head_ms > now_ms.saturating_add(ms(CLOCK_SKEW)) {
        return Err(Refusal::Unanswered(format!(
            "the node's head is {} s ahead of this machine's clock",
            (head_ms - now_ms) / 1000
        )));
    }
    if head_ms < now_ms.saturating_sub(ms(HEAD_BEHIND)) {
        return Err(Refusal::Unanswered(format!(
            "the node's head is {} s behind this machine's clock",
            (now_ms - head_ms) / 1000
        )));
    }
    Ok(())
}

/// Whether `genesis` is the first block of the Tron network `chain_id` (the chain id is the last four
/// bytes of its genesis block's id).
fn genesis_of(genesis: B256, chain_id: u64) -> bool {
    u32::try_from(chain_id).is_ok_and(|id| genesis[28..] == id.to_be_bytes())
}

/// Tron's largest transaction (java-tron's `TRANSACTION_MAX_BYTE_SIZE`, 500 KiB).
const MAX_TRANSACTION_BYTES: usize = 500 * 1024;

/// Whether a transaction expiring at `expiration_ms` provably never lands, with the solidified head's time
/// `solid_ms` (read before the transaction was looked up) at `now_ms` here: both past the expiration,
/// and the solidified head not ahead of this clock (a node claiming a solidified block from the future
/// must not make the relayer replace a transaction that can still land).
fn never_lands(solid_ms: i64, expiration_ms: u64, now_ms: i64) -> bool {
    let expiration = i64::try_from(expiration_ms).unwrap_or(i64::MAX);
    solid_ms > expiration && now_ms > expiration && solid_ms <= now_ms.saturating_add(ms(CLOCK_SKEW))
}

/// `d` in milliseconds, as Tron times blocks.
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What a byte of a transaction burns when the account has no bandwidth left: mainnet's price (1,000
/// sun since 2024). Only what the daily fee cap reserves until the transaction lands and its real cost
/// replaces it.
const BANDWIDTH_SUN_PER_BYTE: u64 = 1_000;

/// Whether the account can pay for a call with `fee_limit` and `call_value` (sun) at `price` sun per
/// unit of energy: its TRX, and its staked energy at that price.
///
/// The attack it stops: a call signed with a limit the account cannot cover passes every simulation (they
/// do not look at the balance), runs out of energy on chain, burns what the balance does cover, and is
/// retried, again and again, until the account is empty.
fn affordable(account: &Resources, price: u64, fee_limit: i64, call_value: i64) -> Result<(), Refusal> {
    let need = u128::try_from(fee_limit).unwrap_or_default() + u128::try_from(call_value).unwrap_or_default();
    let has = u128::from(account.balance_sun) + u128::from(account.energy) * u128::from(price);
    if has < need {
        return Err(Refusal::Unanswered(format!(
            "the relayer's Tron account holds {} sun and {} energy; this call may need {need} sun: top it up",
            account.balance_sun, account.energy
        )));
    }
    Ok(())
}

/// A 32-byte ABI word as an unsigned integer.
fn word(output: &[u8]) -> Option<U256> {
    (output.len() >= 32).then(|| U256::from_be_slice(&output[..32]))
}

/// The ledger key of a session's transaction for `action`: the shared layout ([`pipeline::work_key`])
/// [‖ adapter, for a bridging: one through another adapter after a route change is other work, and a
/// record of the first must not be reported as its transaction].
pub fn record_key(work: &Work) -> Vec<u8> {
    let mut key = pipeline::work_key(&work.session_id, work.action);
    if let Action::Bridge { adapter, .. } = work.action {
        key.extend_from_slice(adapter.word().as_slice());
    }
    key
}

impl ExpiryOrdered for TronSender {
    fn spending(&self) -> Option<&relayer_chain::Spending> {
        self.spending.as_ref()
    }

    type Plan = Call;

    fn chain_id(&self) -> u64 {
        self.spec.chain_id
    }

    fn ledger(&self) -> &SendLedger<Signed> {
        &self.ledger
    }

    fn reconcile_every(&self) -> Duration {
        self.reconcile_every
    }

    fn key(&self, work: &Work, _part: Option<&str>) -> Vec<u8> {
        record_key(work)
    }

    /// One router call. Nothing is delivered, fronted or called on Tron (it is a source chain): a
    /// settle or a fronting asked of it is refused for good.
    fn plan<'a>(&'a self, work: &'a Work) -> BoxFuture<'a, Result<Vec<Planned<Self::Plan>>, Refusal>> {
        Box::pin(async move {
            if matches!(work.action, Action::FastFinish { .. }) {
                return Err(Refusal::Permanent("nothing is fronted on Tron".into()));
            }
            Ok(vec![Planned::doing(None, self.call(work).await?)])
        })
    }

    /// Names the solidified head (TaPoS) and expires [`LIFETIME`](tx::LIFETIME) after the head's time;
    /// `fee_limit` from the energy the call needs now, at the chain's energy price, with the margin, at
    /// least the floor and at most the ceiling. Nothing is signed the account cannot pay for, nor bytes
    /// that are not a transaction any node would take (its own signature checked, its size under the
    /// network's limit): a node claiming otherwise at the broadcast is then lying, and the record stays.
    fn sign<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, Result<Signature, Refusal>> {
        Box::pin(async move {
            self.check_network().await?;
            let solid = self.node.block(true).await.map_err(Refusal::Unanswered)?;
            let head = self.node.block(false).await.map_err(Refusal::Unanswered)?;
            head_in_time(head.timestamp_ms, relayer_types::unix_now_ms())?;
            let price = self.node.energy_price().await.map_err(Refusal::Unanswered)?;
            let limit = match self.node.energy(call).await {
                Ok(energy) => fee_limit(energy, price, self.fees.margin_percent, self.fees.ceiling_sun)?,
                // java-tron answers a call that would revert with no estimate, and a node with estimates
                // turned off (`vm.estimateEnergy`) with an error: the constant call says which. A revert
                // is the router's refusal (a refund instead, a wait for expiry, nothing to move), never a
                // retry until the work is given up; a call that runs is limited by the energy it used
                // there, with the margin, under the ceiling like an estimate (never the bare ceiling: a
                // call needing more would run out of energy on chain and burn all of it, again and again).
                Err(estimate) => {
                    match self.node.constant_and_energy(call).await.map_err(Refusal::Unanswered)? {
                        (Constant::Reverted(data), _) => return Err(revert_refusal(&data)),
                        (Constant::Refused(message), _) => {
                            return Err(Refusal::Unanswered(format!(
                                "{estimate}; the constant call: {message}"
                            )));
                        }
                        (Constant::Returned(_), 0) => {
                            return Err(Refusal::Unanswered(format!(
                                "{estimate}; the constant call used no energy"
                            )));
                        }
                        (Constant::Returned(_), used) => {
                            fee_limit(used, price, self.fees.margin_percent, self.fees.ceiling_sun)?
                        }
                    }
                }
            };
            let floor = i64::try_from(self.fees.floor_sun.min(self.fees.ceiling_sun)).unwrap_or(i64::MAX);
            let limit = limit.max(floor);
            let account = self.node.resources(self.key.address()).await.map_err(Refusal::Unanswered)?;
            affordable(&account, price, limit, call.call_value)?;
            let unsigned = Unsigned::new(call.clone(), &solid.block, head.timestamp_ms, limit);
            // A signer that did not sign (a KMS unreachable or throttled, or answering with another
            // key) is retried: nothing was sent.
            let signed = unsigned.sign(&self.key).await.map_err(|e| Refusal::Unanswered(e.to_string()))?;
            if signed.signer().ok() != Some(call.owner) {
                return Err(Refusal::Permanent(
                    "the relayer's own signature does not recover its account".into(),
                ));
            }
            let raw = signed.encode().map_err(|e| Refusal::Permanent(e.to_string()))?;
            if raw.len() > MAX_TRANSACTION_BYTES {
                return Err(Refusal::Permanent(format!(
                    "a transaction of {} bytes is over Tron's limit",
                    raw.len()
                )));
            }
            // At most: all of its fee limit burnt for energy, its bytes' bandwidth burnt (when the
            // account's free bandwidth is used up), and the value it pays along (a bridge's fee).
            let bandwidth =
                u64::try_from(raw.len()).unwrap_or(u64::MAX).saturating_mul(BANDWIDTH_SUN_PER_BYTE);
            let most = u64::try_from(limit)
                .unwrap_or(u64::MAX)
                .saturating_add(bandwidth)
                .saturating_add(u64::try_from(call.call_value).unwrap_or(0));
            Ok(Signature {
                id: hex::encode(signed.txid),
                raw,
                valid_until: u64::try_from(unsigned.expiration_ms).unwrap_or_default(),
                most,
            })
        })
    }

    /// The call run as a constant call from the relayer's account: the router's refusal, if it refuses.
    fn simulate<'a>(&'a self, raw: &'a [u8]) -> BoxFuture<'a, Result<(), Refusal>> {
        Box::pin(async move {
            let signed = tx::Signed::decode(raw).map_err(|e| Refusal::Permanent(e.to_string()))?;
            let unsigned =
                Unsigned::from_raw_data(&signed.raw_data).map_err(|e| Refusal::Permanent(e.to_string()))?;
            match self.node.constant(&unsigned.call).await.map_err(Refusal::Unanswered)? {
                Constant::Returned(_) => Ok(()),
                Constant::Reverted(data) => Err(revert_refusal(&data)),
                Constant::Refused(message) => Err(Refusal::Unanswered(message)),
            }
        })
    }

    fn send<'a>(&'a self, raw: &'a [u8]) -> BoxFuture<'a, Result<(), SendFailure>> {
        Box::pin(async move {
            let signed = tx::Signed::decode(raw)
                .map_err(|e| SendFailure::Refused(Refusal::Permanent(e.to_string())))?;
            self.node.broadcast(&signed).await
        })
    }

    /// Landed only once a solidified block holds it (a head block can be forked away, and the record
    /// would be gone with nothing to replace the transaction); never to land only once the solidified
    /// head, read first, is past its expiration, and this machine's clock too, and no block of the full
    /// node holds it either (a solidity endpoint lagging behind the one that answered the head cannot
    /// make a landed transaction look lost).
    fn standing<'a>(&'a self, signed: &'a Signed) -> BoxFuture<'a, Result<Standing, String>> {
        Box::pin(async move {
            let txid: B256 =
                signed.signature.parse().map_err(|e| format!("txid {} on record: {e}", signed.signature))?;
            let solid = self.node.block(true).await?;
            if let Landing::Landed { success, fee_sun, .. } = self.node.landing(txid, true).await? {
                // What its energy and bandwidth burnt, and the bridge fee it paid along.
                let paid = tx::Signed::decode(&signed.raw())
                    .ok()
                    .and_then(|s| Unsigned::from_raw_data(&s.raw_data).ok())
                    .map_or(0, |u| u64::try_from(u.call.call_value).unwrap_or_default());
                let amount = fee_sun.saturating_add(paid);
                let cost = Some(relayer_types::Cost { amount, decimals: 6, symbol: "TRX".into() });
                return Ok(Standing::Landed { failed: !success, cost });
            }
            if let Landing::Landed { .. } = self.node.landing(txid, false).await? {
                return Ok(Standing::Pending);
            }
            Ok(if never_lands(solid.timestamp_ms, signed.valid_until, relayer_types::unix_now_ms()) {
                Standing::NeverLands
            } else {
                Standing::Pending
            })
        })
    }

    fn tx_id(&self, id: &str) -> TxId {
        TxId::Tron(id.parse().unwrap_or_default())
    }

    fn count_broadcast(&self) {
        self.broadcasts.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_far_from_this_machines_clock_times_nothing() {
        let now = 1_800_000_000_000;
        assert!(head_in_time(now, now).is_ok());
        assert!(head_in_time(now - 80_000, now).is_ok(), "a little behind: a node a few blocks late");
        assert!(head_in_time(now + 50_000, now).is_ok());
        assert!(head_in_time(now + 86_400_000, now).is_err(), "a day ahead");
        assert!(head_in_time(now - 3_600_000, now).is_err(), "an hour behind");
    }

    #[test]
    fn a_transaction_never_lands_only_once_the_solidified_head_and_this_clock_are_past_it() {
        let expiration = 1_800_000_120_000u64;
        let at = |ms: u64| i64::try_from(ms).unwrap_or_default();
        assert!(never_lands(at(expiration + 3_000), expiration, at(expiration + 60_000)));
        assert!(!never_lands(at(expiration), expiration, at(expiration + 60_000)), "at it, not past it");
        assert!(!never_lands(at(expiration + 3_000), expiration, at(expiration - 1)), "this clock before it");
        assert!(
            !never_lands(at(expiration + 86_400_000), expiration, at(expiration + 1)),
            "a solidified block from the future"
        );
    }

    /// Mainnet's and Nile's genesis block ids, and their chain ids (728126428, 3448148188).
    #[test]
    fn a_node_is_on_the_network_whose_genesis_ends_in_the_chain_id() {
        let mainnet: B256 =
            "00000000000000001ebf88508a03865c71d452e25f4d51194196a1d22b6653dc".parse().expect("id");
        let nile: B256 =
            "0000000000000000d698d4192c56cb6be724a558448e2684802de4d6cd8690dc".parse().expect("id");
        assert!(genesis_of(mainnet, 728_126_428) && genesis_of(nile, 3_448_148_188));
        assert!(!genesis_of(nile, 728_126_428), "Nile is not mainnet");
        assert!(!genesis_of(mainnet, 1u64 << 40), "no chain id over 32 bits");
    }

    #[test]
    fn a_call_the_account_cannot_pay_for_is_not_signed() {
        let account = |balance_sun, energy| Resources { balance_sun, energy, bandwidth: 600 };
        assert!(affordable(&account(30_000_000, 0), 100, 26_000_000, 4_000_000).is_ok());
        assert!(affordable(&account(29_999_999, 0), 100, 26_000_000, 4_000_000).is_err());
        assert!(
            affordable(&account(4_000_000, 260_000), 100, 26_000_000, 4_000_000).is_ok(),
            "staked energy"
        );
        assert!(matches!(affordable(&account(0, 0), 100, 1, 0), Err(Refusal::Unanswered(_))));
    }

    #[test]
    fn record_keys_differ_by_session_action_and_token() {
        use relayer_types::{ChainAddress, SessionId};
        let work = |session: u8, action: Action| Work {
            session_id: SessionId::from_bytes([session; 16]),
            chain_id: 728_126_428,
            commitment: relayer_store::conformance::session(0).commitment(),
            action,
        };
        let token = |b: u8| ChainAddress::Tron(alloy::primitives::Address::repeat_byte(b));
        let keys = [
            record_key(&work(1, Action::Bridge { token: token(1), adapter: token(7) })),
            record_key(&work(1, Action::Bridge { token: token(1), adapter: token(8) })),
            record_key(&work(1, Action::Refund { token: token(1) })),
            record_key(&work(2, Action::Refund { token: token(1) })),
            record_key(&work(1, Action::Settle { token: token(1) })),
            record_key(&work(1, Action::Refund { token: token(2) })),
        ];
        let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
    }
}
