//! Applying events: one session event through the state machine and the store's compare-and-swap, and
//! a chain's confirmed events, each to the session it belongs to.

use relayer_chain::{ChainEvent, EventKind};
use relayer_store::update_session_with_events;
use relayer_types::{Bridging, ChainAddress, Deposit, Session, SessionEvent, SessionId, TxId};

use super::{Engine, EngineError, attribution, counters::outcome_name, error::Refused, lock};

impl Engine {
    /// Applies one event to one session and records what changed.
    pub(super) fn apply(
        &self,
        id: &SessionId,
        event: SessionEvent,
        tx: Option<TxId>,
    ) -> Result<Session, EngineError> {
        self.apply_event(id, event, tx, None).map(|(session, _)| session)
    }

    /// Like [`Self::apply`], also telling whether the event changed anything (false for a replay). With
    /// `at = Some((chain, receiver))` (a chain event), the change is refused with
    /// [`EngineError::Foreign`] unless `receiver` is the session's own receiver on that chain, checked on
    /// the session as stored, inside the same compare-and-swap.
    fn apply_event(
        &self,
        id: &SessionId,
        event: SessionEvent,
        tx: Option<TxId>,
        at: Option<(u64, ChainAddress)>,
    ) -> Result<(Session, bool), EngineError> {
        let mut transition = None;
        let mut wrote_events = false;
        // The change and the webhook events it causes are one commit (the outbox): a crash can neither
        // lose an event nor record one for a change that did not happen.
        let session = update_session_with_events(self.store.as_ref(), id, |s| {
            if let Some((chain_id, receiver)) = at
                && !attribution::is_sessions_receiver(&self.chains, s, chain_id, receiver)
            {
                return Err(Refused::Foreign);
            }
            let applied = s.apply(event.clone()).map_err(Refused::State)?;
            transition = Some(applied);
            let events = crate::webhooks::session_events(&event, applied, s, crate::unix_now_ms());
            wrote_events = !events.is_empty();
            Ok(applied.changed.then_some(events))
        })?;
        if wrote_events {
            self.outbox.notify_one();
        }
        if let Some(t) = transition.filter(|t| t.from != t.to) {
            if t.to.can_expire() {
                lock(&self.expiries).insert((session.expires_at, session.id));
            } else {
                lock(&self.expiries).remove(&(session.expires_at, session.id));
            }
            tracing::info!(
                session_id = %id,
                chain_id = session.destination.token.chain_id,
                tx_hash = tx.map(|h| h.to_string()).unwrap_or_default(),
                from = t.from.as_str(),
                to = t.to.as_str(),
                "session status changed"
            );
        }
        Ok((session, transition.is_some_and(|t| t.changed)))
    }

    /// Tells the chain a bridging of `session`'s own funds from `from_chain` is heading to that they are on
    /// their way ([`Chain::arriving`](relayer_chain::Chain::arriving)): a bridging sent home, or one that
    /// names no other chain, is announced nowhere.
    pub(super) fn announce_arrival(
        &self,
        session: &Session,
        from_chain: u64,
        bridging: &Bridging,
    ) -> Result<(), EngineError> {
        if bridging.home {
            return Ok(());
        }
        let Some(to) = bridging.to_chain_id.filter(|to| *to != from_chain) else { return Ok(()) };
        if let Some(chain) = self.chains.get(&to) {
            chain.arriving(session, from_chain, bridging)?;
        }
        Ok(())
    }

    /// Applies confirmed events of `chain_id`, each to the session its receiver proves it belongs to
    /// (see [`attribution`]).
    pub(super) async fn apply_chain_events(
        &self,
        chain_id: u64,
        events: Vec<ChainEvent>,
    ) -> Result<(), EngineError> {
        for event in events {
            let Some(session) = self.attribute(chain_id, &event)? else { continue };
            let at = Some((chain_id, event.receiver));
            let tx = event.event().tx_hash;
            let change = match &event.kind {
                EventKind::Deposit(deposit) => {
                    tracing::info!(session_id = %session, chain_id, tx_hash = %tx, amount = %deposit.amount, "deposit confirmed");
                    // What of it the session can use (the destination token never changes, so any copy
                    // of the session serves).
                    let Some(stored) = self.store.session(&session)? else { continue };
                    let dest = &stored.value.destination.token;
                    let counts = self.usable_amount(dest, chain_id, &deposit.token, deposit.amount);
                    SessionEvent::DepositDetected(Deposit { counts: Some(counts), ..deposit.clone() })
                }
                EventKind::Bridged(bridging) => {
                    tracing::info!(session_id = %session, chain_id, tx_hash = %tx, amount = %bridging.amount, "bridged");
                    SessionEvent::Bridged(bridging.clone())
                }
                EventKind::Fronted(fronting) => SessionEvent::Fronted(fronting.clone()),
                EventKind::Settled(settlement) => SessionEvent::Settled(settlement.clone()),
            };
            let (updated, changed) = match self.apply_event(&session, change, Some(tx), at) {
                Err(EngineError::NotFound) => continue,
                Err(EngineError::Foreign) => {
                    let named = event.named.unwrap_or(session);
                    self.foreign(chain_id, &event, named, Some(session));
                    continue;
                }
                Err(e) => return Err(e),
                Ok(applied) => applied,
            };
            match event.kind {
                // A replayed deposit was scheduled when first seen (or by `resume` after a restart).
                EventKind::Deposit(deposit) if changed => {
                    self.schedule(&updated, chain_id, deposit.token.address).await;
                }
                // Announced on every sighting (a replayed event too: the announcement may not have
                // outlived a crash); fronted once.
                EventKind::Bridged(bridging) => {
                    // Fronted once (the replay of a failed batch finds it applied already: first, then).
                    if changed {
                        self.consider_fronting(&updated, chain_id, event.receiver, &bridging).await;
                    }
                    // Not yet durable there: the batch fails, and the watcher applies it again.
                    self.announce_arrival(&updated, chain_id, &bridging)?;
                }
                EventKind::Fronted(_) => self.update_exposure(&updated, chain_id),
                EventKind::Settled(settlement) if changed => {
                    let outcome = outcome_name(settlement.outcome);
                    *lock(&self.deliveries).entry((chain_id, outcome)).or_default() += 1;
                }
                EventKind::Deposit(_) | EventKind::Settled(_) => {}
            }
        }
        Ok(())
    }
}
