//! The signer's nonces: which one a new transaction takes, and filling a nonce a reorg emptied below
//! the transactions still in flight (every later one waits behind it).

use super::*;

/// The nonce for a new transaction: the node's pending count, or past the highest nonce this key
/// still has stored in flight (the node may have dropped those from its pool, but they were signed
/// and may still land: reusing their nonce would replace them).
pub fn next_nonce(pending_on_node: u64, highest_stored: Option<u64>) -> u64 {
    pending_on_node.max(highest_stored.map_or(0, |n| n + 1))
}

/// What to do about nonces missing below the key's lowest pending transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// None missing.
    None,
    /// Some missing since the head was at this block: wait, a node that re-includes a reorganised
    /// transaction closes the gap by itself.
    Wait(u64),
    /// Missing for [`GAP_BLOCKS`] blocks: fill these nonces.
    Fill(std::ops::Range<u64>),
}

/// Final nonces whose landed transaction the executor keeps in memory.
pub(super) const REMEMBERED: usize = 1024;

/// Blocks a nonce gap may last before it is filled.
pub const GAP_BLOCKS: u64 = 2;

/// Decides about a gap from the key's mined nonce (`latest`), the lowest nonce still held in flight,
/// the head, and the head when the gap was first seen. Every nonce below the lowest one held was
/// finished (final, or used by the chain), so the chain being behind it means a reorg deeper than the
/// confirmations took a final transaction away: every later one waits behind it for good unless the
/// nonce is used again.
pub fn nonce_gap(latest: u64, lowest_held: Option<u64>, head: u64, seen_at: Option<u64>) -> Gap {
    match lowest_held {
        Some(lowest) if latest < lowest => match seen_at {
            Some(seen) if head >= seen.saturating_add(GAP_BLOCKS) => Gap::Fill(latest..lowest),
            Some(seen) => Gap::Wait(seen),
            None => Gap::Wait(head),
        },
        _ => Gap::None,
    }
}

impl Executor {
    pub(super) async fn nonce(&mut self) -> Result<u64, ExecError> {
        if let Some(n) = self.next_nonce {
            return Ok(n);
        }
        let chain = &self.chain;
        let pending = {
            let signer = self.signer;
            chain.rpc(|p| async move { p.get_transaction_count(signer).pending().await }).await?
        };
        Ok(next_nonce(pending, self.in_flight.keys().next_back().copied()))
    }

    /// Keeps `landed` as the transaction of final `nonce`, forgetting the oldest beyond [`REMEMBERED`].
    pub(super) fn remember(&mut self, nonce: u64, landed: Attempt) {
        self.landed.insert(nonce, landed);
        while self.landed.len() > REMEMBERED {
            self.landed.pop_first();
        }
    }

    /// Uses `nonce` again, which a reorg emptied: every later transaction of the key waits for it. The
    /// transaction that had landed there is sent again (its signed bytes are valid again, as if the
    /// chain re-included it; if what it settled is gone too, it reverts harmlessly and the watcher sees
    /// the deposit orphaned). One this process no longer remembers (after a restart, or too long ago)
    /// is replaced by a no-op transfer to itself: a settlement it carried is seen orphaned by the
    /// watcher and sent again, or re-queued by the engine at start. If the gap lasts another
    /// [`GAP_BLOCKS`] blocks, the same is signed again at higher fees.
    pub(super) async fn fill(&mut self, nonce: u64, head: u64) -> Result<(), ExecError> {
        let chain = Arc::clone(&self.chain);
        let previous = self.fillers.get(&nonce).copied();
        if previous.is_some_and(|(_, sent)| head < sent.saturating_add(GAP_BLOCKS)) {
            return Ok(());
        }
        let landed = self.landed.get(&nonce).cloned();
        let attempt = match (&landed, previous) {
            (Some(landed), None) => landed.clone(),
            _ => {
                let estimate = self.fees().await?;
                let estimate = (estimate.max_fee_per_gas, estimate.max_priority_fee_per_gas);
                let paid = previous.map(|(fees, _)| fees);
                let (max_fee, priority) = paid.map_or(estimate, |paid| bumped_fees(paid, estimate));
                let tx = match &landed {
                    Some(landed) => TransactionRequest::from_transaction(
                        TxEnvelope::decode_2718(&mut landed.raw.as_ref()).map_err(|e| {
                            ExecError::Sign(format!("remembered transaction unreadable: {e}"))
                        })?,
                    ),
                    None => TransactionRequest::default().with_to(self.signer).with_gas_limit(21_000),
                };
                let tx = tx
                    .with_from(self.signer)
                    .with_nonce(nonce)
                    .with_chain_id(chain.spec.chain_id)
                    .with_max_fee_per_gas(max_fee)
                    .with_max_priority_fee_per_gas(priority);
                self.sign(tx, super::Reserve::Filler).await?
            }
        };
        if previous.is_none() {
            chain.stats.nonce_gaps_filled.fetch_add(1, Ordering::Relaxed);
        }
        tracing::error!(
            chain_id = chain.spec.chain_id,
            nonce,
            tx_hash = %attempt.tx_hash,
            again = landed.is_some(),
            "a reorg deeper than the confirmations emptied the nonce of a final transaction; using it again"
        );
        self.fillers.insert(nonce, ((attempt.max_fee_per_gas, attempt.max_priority_fee_per_gas), head));
        self.announced.remove(&attempt.tx_hash);
        self.broadcast(&attempt);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_nonce_never_reuses_one_still_in_flight() {
        // (node's pending count, highest stored in-flight nonce, expected)
        let table = [
            (0, None, 0),
            (5, None, 5),
            (5, Some(4), 5),
            // The node forgot 5..=7 (restart, pool eviction) but they are signed and may land.
            (5, Some(7), 8),
            (9, Some(7), 9),
            (u64::MAX, None, u64::MAX),
        ];
        for (pending, stored, want) in table {
            assert_eq!(next_nonce(pending, stored), want, "pending {pending}, stored {stored:?}");
        }
    }

    #[test]
    fn a_nonce_gap_below_the_pending_transactions_is_filled_once_it_lasts_two_blocks() {
        // (latest, lowest held, head, seen at, expected)
        let table = [
            (5, Some(5), 100, None, Gap::None),
            (7, Some(5), 100, Some(90), Gap::None), // the chain is past it: nothing missing
            (5, None, 100, None, Gap::None),        // nothing held: the next send asks the node
            (3, Some(5), 100, None, Gap::Wait(100)),
            (3, Some(5), 101, Some(100), Gap::Wait(100)),
            (3, Some(5), 102, Some(100), Gap::Fill(3..5)),
            (4, Some(5), 150, Some(100), Gap::Fill(4..5)),
        ];
        for (latest, lowest, head, seen, want) in table {
            assert_eq!(nonce_gap(latest, lowest, head, seen), want, "{latest} {lowest:?} {head} {seen:?}");
        }
    }
}
