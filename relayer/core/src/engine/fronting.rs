//! The fronting book: when the relayer fronts a bridged session on its destination chain, and what it
//! has fronted and not been repaid (the cap check and `/metrics` read it).

use std::collections::BTreeMap;

use relayer_chain::Work;
use relayer_types::{Action, Bridging, ChainAddress, Session, U256, WorkState, unix_now};

use super::{Engine, attribution, lock};

impl Engine {
    /// Fronted and not yet repaid, by destination chain and token (base units).
    pub fn exposure(&self) -> BTreeMap<(u64, ChainAddress), U256> {
        lock(&self.exposure)
            .iter()
            .map(|(k, v)| (*k, v.values().fold(U256::ZERO, |a, b| a.saturating_add(*b))))
            .collect()
    }

    /// session's own receiver on the source chain (`source`, checked against the commitment the fronting
    /// will name, so the bridged funds go to the very receiver that repays the fronter), the destination
    /// chain fronts that token, the session has a fixed amount and has not started there, the bridging
    /// went through a configured route whose worst fee still leaves the whole amount, the session is not
    /// close to expiry, and the cap leaves room. Every condition stops an attack or a loss: a bridging of
    /// someone else's params is never repaid to us; a fronting above what the bridge delivers is a
    /// shortfall the relayer carries; past the cap, inventory runs dry for everyone else.
    pub(super) async fn consider_fronting(
        &self,
        session: &Session,
        from_chain: u64,
        source: ChainAddress,
        bridging: &Bridging,
    ) {
        let dest = &session.destination.token;
        let Some(chain) = self.chains.get(&dest.chain_id) else { return };
        let Some(cap) = chain.fronting_cap(&dest.address) else { return };
        if chain.fronting_off() {
            tracing::warn!(session_id = %session.id, chain_id = dest.chain_id, "not fronting: the key that fronts could not be used at start; delivered when the bridge arrives");
            return;
        }
        let commitment = session.commitment();
        // The bridging left the session's own receiver, towards the session's destination chain (a Solana
        // inbox transfer sent back to the chain it came from is a bridging too, away from the destination:
        // nothing would ever repay a fronting of it).
        // And it is on its way to the very receiver that repays the fronter (a misconfigured destination
        // table, or a program pinned to another deployment, would send it elsewhere).
        let lands_at_receiver = bridging
            .to_receiver
            .is_some_and(|to| attribution::is_sessions_receiver(&self.chains, session, dest.chain_id, to));
        let proven = attribution::is_sessions_receiver(&self.chains, session, from_chain, source)
            && bridging.to_chain_id == Some(dest.chain_id)
            && lands_at_receiver
            && !bridging.home;
        if !proven {
            tracing::warn!(session_id = %session.id, chain_id = from_chain, %source, to_chain_id = ?bridging.to_chain_id, "not fronting: the bridging is not the session's own funds on their way to its destination");
            return;
        }
        let amount = commitment.amount;
        let source_chain = self.chains.get(&from_chain);
        let route = source_chain.and_then(|c| c.route(&bridging.token, dest.chain_id));
        // In the destination token's base units (a route may bridge a token of other decimals).
        let decimals = source_chain.and_then(|c| c.token(bridging.token)).map(|t| t.decimals);
        let Some(bridged) =
            decimals.and_then(|d| relayer_types::rescale_units(bridging.amount, d, dest.decimals))
        else {
            return;
        };
        // Our own bridging paid the fee we chose; anyone else's may have paid the most the adapter allows.
        let ours = session.work.iter().any(|w| {
            matches!(w.action, Action::Bridge { .. })
                && matches!(w.state, WorkState::Sent { tx_hash } | WorkState::Landed { tx_hash, .. }
                    if tx_hash == bridging.event.tx_hash)
        });
        let worst = route
            .filter(|r| r.adapter == bridging.adapter && r.to_token == dest.address)
            .map(|r| r.worst_delivery(bridged, ours));
        // Started on the destination: a fronting, or a delivery of the destination token there (a junk
        // token refunded from the receiver starts nothing, and must not turn fronting off).
        let started = !session.frontings.is_empty()
            || session
                .settlements
                .iter()
                .any(|x| x.event.chain_id == dest.chain_id && x.token == dest.address)
            || session.work.iter().any(|w| matches!(w.action, Action::FastFinish { .. }));
        // The fronting must land well before expiry (the router refuses it after).
        let late = unix_now().saturating_add(60) > session.expires_at;
        if amount.is_zero() || started || late || worst.is_none_or(|w| w < amount) {
            return;
        }
        {
            let mut exposure = lock(&self.exposure);
            let book = exposure.entry((dest.chain_id, dest.address)).or_default();
            let outstanding = book.values().fold(U256::ZERO, |a, b| a.saturating_add(*b));
            if outstanding.saturating_add(amount) > cap {
                tracing::warn!(session_id = %session.id, chain_id = dest.chain_id, %outstanding, %cap, "not fronting: the cap is reached; delivered when the bridge arrives");
                return;
            }
            book.insert(session.id, amount);
        }
        let action = Action::FastFinish { token: dest.address, amount };
        self.submit(Work { session_id: session.id, chain_id: dest.chain_id, commitment, action }).await;
    }

    /// Frees the cap reserved for `work` (a fronting) unless the chain shows the relayer did front it.
    pub(super) fn release_fronting(&self, work: &Work) {
        let ours = self.chains.get(&work.chain_id).map(|c| ours(c.as_ref())).unwrap_or_default();
        let fronted = self
            .store
            .session(&work.session_id)
            .ok()
            .flatten()
            .is_some_and(|s| s.value.frontings.iter().any(|f| ours.contains(&f.relayer)));
        if !fronted {
            let mut exposure = lock(&self.exposure);
            if let Some(book) = exposure.get_mut(&(work.chain_id, work.action.token())) {
                book.remove(&work.session_id);
            }
        }
    }

    /// After a fronting or repayment event: what the relayer is now owed on this session.
    pub(super) fn update_exposure(&self, session: &Session, chain_id: u64) {
        let ours = self.chains.get(&chain_id).map(|c| ours(c.as_ref())).unwrap_or_default();
        if ours.is_empty() {
            return;
        }
        let key = (chain_id, session.destination.token.address);
        let owed = owed_to_us(session, &ours);
        let mut exposure = lock(&self.exposure);
        let book = exposure.entry(key).or_default();
        if owed.is_zero() {
            // Repaid, or fronted by someone else: a fronting of ours still in flight can no longer land
            // (the router fronts a session once).
            if !session.frontings.is_empty() {
                book.remove(&session.id);
            }
        } else {
            book.insert(session.id, owed);
        }
    }
}

/// The addresses on `chain` whose frontings are the relayer's: the key that fronts, and its other keys
/// (being rotated out, or the signer that fronted before an inventory key took over: still repaid, so
/// still counted against the cap).
pub(super) fn ours(chain: &dyn relayer_chain::Chain) -> Vec<ChainAddress> {
    chain.relayer_address().into_iter().chain(chain.other_addresses()).collect()
}

/// What `session` still owes the relayer's addresses `ours`.
pub(super) fn owed_to_us(session: &Session, ours: &[ChainAddress]) -> U256 {
    ours.iter().fold(U256::ZERO, |sum, me| sum.saturating_add(session.owed_to(me)))
}
