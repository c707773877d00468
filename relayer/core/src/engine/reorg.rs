//! Undoing what a chain reorganisation took away: deposits, bridgings, frontings and settlements at or
//! above the reorganised block.

use relayer_types::SessionEvent;

use super::{Engine, EngineError, counters::outcome_name, lock};

impl Engine {
    pub(super) async fn reorg_from(&self, chain_id: u64, from_block: u64) -> Result<(), EngineError> {
        let mut orphaned = vec![];
        let mut unsettled = vec![];
        let mut movements = vec![];
        for s in self.store.sessions_touched_since(chain_id, from_block)? {
            let gone = |e: &relayer_types::EventId| e.chain_id == chain_id && e.block_number >= from_block;
            orphaned.extend(s.deposits.iter().filter(|d| gone(&d.event)).map(|d| (s.id, d.event)));
            for x in s.settlements.iter().filter(|x| gone(&x.event)) {
                unsettled.push((s.id, x.event, x.token, x.outcome));
            }
            let moved = s.bridges.iter().map(|b| b.event).chain(s.frontings.iter().map(|f| f.event));
            movements.extend(moved.filter(|e| gone(e)).map(|e| (s.id, e)));
        }
        for (id, event) in orphaned {
            tracing::warn!(session_id = %id, chain_id, tx_hash = %event.tx_hash, "deposit orphaned by reorg");
            self.apply(&id, SessionEvent::DepositOrphaned(event), Some(event.tx_hash))?;
        }
        for (id, event) in movements {
            tracing::warn!(session_id = %id, chain_id, tx_hash = %event.tx_hash, "bridging or fronting orphaned by reorg");
            let session = self.apply(&id, SessionEvent::MovementOrphaned(event), Some(event.tx_hash))?;
            self.update_exposure(&session, chain_id);
        }
        for (id, event, token, outcome) in unsettled {
            // Deeper than the confirmations allowed for: the funds may be back in the receiver. Nothing
            // may be stranded: record it, say it loudly, and settle again (the simulation finds out
            // whether the chain re-included the old settlement instead).
            tracing::error!(session_id = %id, chain_id, tx_hash = %event.tx_hash, from_block, "a settlement was reorganised away; settling again");
            *lock(&self.orphaned).entry((chain_id, outcome_name(outcome))).or_default() += 1;
            let session = self.apply(&id, SessionEvent::SettlementOrphaned(event), Some(event.tx_hash))?;
            self.schedule(&session, chain_id, token).await;
        }
        Ok(())
    }
}
