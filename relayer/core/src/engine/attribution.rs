//! Which session a chain event belongs to, decided only by what the chain proves.
//!
//! Every entry point of the contracts and the program is permissionless, and the params a caller passes
//! are its own: anyone can settle, bridge, front or claim with params that reuse a victim's session id
//! and pay its own funds to itself, and the resulting event carries the victim's id. What the caller
//! cannot choose is the receiver: the router derives it from the params (`CREATE2(factory, paramsHash,
//! …)`), the program's vault is the PDA of the params hash, and the inbox's claims are checked against
//! the hook of the bridged transfer. So an event belongs to a session only if its receiver is one of
//! that session's own receivers, derived from the session's commitment on that chain; the id an event
//! names is read only to recognise a forgery, which is counted
//! (`relayer_foreign_events_total{chain_id,kind}`), logged once with both ids, and applied to nothing.
//!
//! The check runs twice: once on the in-memory receiver index (the attribution itself), and again inside
//! the session's compare-and-swap, against the receiver recomputed from the session as stored, so a
//! stale index entry or a family crate that names the wrong receiver cannot move a session.

use std::{
    collections::{HashSet, VecDeque},
    sync::{Arc, PoisonError},
};

use relayer_chain::{Chain, ChainEvent};
use relayer_types::{ChainAddress, EventId, Session, SessionId};

use super::{Counts, Engine, EngineError, lock};

/// How many foreign events are remembered, so a range a watcher reads again (after a restart or a
/// failed step) is counted and logged once.
const FOREIGN_REMEMBERED: usize = 10_000;

/// Foreign events seen: counts by (chain, kind), and the most recent ids (to count each once).
#[derive(Default)]
pub(super) struct ForeignEvents {
    counts: Counts,
    seen: HashSet<EventId>,
    order: VecDeque<EventId>,
}

impl ForeignEvents {
    /// Counts `event` unless it was counted already; whether it is new.
    fn record(&mut self, chain_id: u64, kind: &'static str, event: EventId) -> bool {
        if !self.seen.insert(event) {
            return false;
        }
        self.order.push_back(event);
        if self.order.len() > FOREIGN_REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        *self.counts.entry((chain_id, kind)).or_default() += 1;
        true
    }
}

/// Whether `receiver` is `session`'s own receiver for an event on `chain_id`: derived from the
/// session's commitment on that chain (a receiver of another family, such as the EVM receiver a Solana
/// inbox transfer names, on that family's chains).
pub(super) fn is_sessions_receiver(
    chains: &std::collections::BTreeMap<u64, Arc<dyn Chain>>,
    session: &Session,
    chain_id: u64,
    receiver: ChainAddress,
) -> bool {
    let derives = |chain: &Arc<dyn Chain>| {
        let family = chain.key().family;
        family == receiver.family() && chain.receiver(&session.commitment()) == receiver
    };
    match chains.get(&chain_id) {
        Some(chain) if chain.key().family == receiver.family() => derives(chain),
        _ => chains.values().any(derives),
    }
}

impl Engine {
    /// The session `event` belongs to, if any: the owner of its receiver, provided the event names no
    /// other session. An event naming one of our sessions from a receiver that is not that session's is
    /// a forgery: counted and logged, attributed to nobody.
    pub(super) fn attribute(
        &self,
        chain_id: u64,
        event: &ChainEvent,
    ) -> Result<Option<SessionId>, EngineError> {
        let owner = relayer_chain::EventSink::session_for_receiver(self, event.receiver);
        match (owner, event.named) {
            (Some(owner), None) => Ok(Some(owner)),
            (Some(owner), Some(named)) if named == owner => Ok(Some(owner)),
            (owner, Some(named)) => {
                // Someone else's session on the same router is none of our business; one of ours named
                // from another receiver is an attack (or a bug) worth an alert.
                if owner.is_some() || self.store.session(&named)?.is_some() {
                    self.foreign(chain_id, event, named, owner);
                }
                Ok(None)
            }
            (None, None) => Ok(None),
        }
    }

    /// Counts and logs a foreign event once.
    pub(super) fn foreign(
        &self,
        chain_id: u64,
        event: &ChainEvent,
        named: SessionId,
        receiver_owner: Option<SessionId>,
    ) {
        let kind = event.kind.name();
        if !lock(&self.foreign).record(chain_id, kind, *event.event()) {
            return;
        }
        tracing::warn!(
            chain_id,
            kind,
            named_session_id = %named,
            receiver = %event.receiver,
            receiver_session_id = receiver_owner.map(|s| s.to_string()).unwrap_or_default(),
            tx_hash = %event.event().tx_hash,
            "foreign event: it names a session of ours but its receiver is not that session's; ignored"
        );
    }

    /// Foreign events seen, by chain and kind (`relayer_foreign_events_total`).
    pub fn foreign_counts(&self) -> Counts {
        self.foreign.lock().unwrap_or_else(PoisonError::into_inner).counts.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_event_read_again_is_counted_once_and_memory_stays_bounded() {
        let mut foreign = ForeignEvents::default();
        let id = |n: u64| EventId {
            chain_id: 1,
            block_number: n,
            tx_hash: relayer_types::B256::with_last_byte(1).into(),
            log_index: 0,
        };
        assert!(foreign.record(1, "settled", id(1)));
        assert!(!foreign.record(1, "settled", id(1)), "a replayed range");
        assert_eq!(foreign.counts.get(&(1, "settled")), Some(&1));
        for n in 2..(FOREIGN_REMEMBERED as u64 + 10) {
            foreign.record(1, "bridged", id(n));
        }
        assert_eq!(foreign.seen.len(), FOREIGN_REMEMBERED);
        assert_eq!(foreign.order.len(), FOREIGN_REMEMBERED);
    }
}
