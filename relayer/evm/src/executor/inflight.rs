//! Tracking what is in flight until the chain's confirmations make it final (and the watcher has read
//! its block), sending again what a reorg took away.

use super::*;

/// Where one in-flight transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlight {
    /// Mined with the chain's confirmations: forget it.
    Final,
    /// Mined in `block`, not yet final: keep it (a reorg may still take it away).
    Mined {
        /// The block.
        block: u64,
    },
    /// Seen mined before, now without a receipt and with the key's nonce back at or below it: a reorg
    /// removed it. Send the same bytes again.
    Vanished,
    /// No receipt, but the chain has used the nonce (a transaction of ours we do not know of).
    UsedElsewhere,
    /// Not mined yet.
    Pending,
}

/// The chain as one check of the pending transactions saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The key's mined nonce.
    pub latest: u64,
    /// The head.
    pub head: u64,
    /// The last block the watcher had processed, read before the receipts were.
    pub processed: u64,
}

/// Classifies an in-flight transaction from its receipt's block (if any), whether it was seen mined
/// before, its own nonce, what the check saw and the chain's confirmations. Nothing is forgotten
/// before the chain's own confirmation rule makes it final: a transaction dropped at zero
/// confirmations by a reorg would leave a nonce gap no later transaction can pass. Nor before the
/// watcher has processed its block: a transaction final to the executor but reorganised away before
/// the watcher read it would leave its session with neither a recorded delivery nor anyone to send it
/// again. The watcher's mark is read before the receipt, so a receipt in a block the watcher read on
/// another branch means the watcher's cursor is on that branch, and it reads the block again.
pub fn in_flight_state(
    receipt_block: Option<u64>,
    was_mined: bool,
    nonce: u64,
    view: View,
    confirmations: u64,
) -> InFlight {
    let View { latest, head, processed } = view;
    match receipt_block {
        Some(block)
            if head.saturating_add(1) >= block.saturating_add(confirmations.max(1)) && processed >= block =>
        {
            InFlight::Final
        }
        Some(block) => InFlight::Mined { block },
        None if latest > nonce => InFlight::UsedElsewhere,
        None if was_mined => InFlight::Vanished,
        None => InFlight::Pending,
    }
}

/// What one check found about one in-flight nonce.
#[derive(Debug)]
pub(super) struct Lookup {
    /// The receipt of whichever attempt was mined.
    receipt: Option<TransactionReceipt>,
    /// Without a receipt: whether the node still knows the last attempt (asked only of attempts this
    /// process announced).
    known: Option<bool>,
}

/// What one check of the pending transactions found: the chain as it saw it, and whatever lookups
/// answered in time.
pub(super) type Checked = (View, Vec<(u64, Result<Lookup, RpcFailure>)>);

/// One in-flight nonce as a check sees it: its attempts' hashes (newest first) and whether its last
/// attempt was announced by this process.
pub(super) type ToCheck = (u64, Vec<B256>, bool);

/// The receipt of whichever of `hashes` (the attempts of one nonce, newest first) was mined; without
/// one, and if `ask_known`, whether the node still knows the newest.
pub(super) async fn lookup(chain: &EvmChain, hashes: &[B256], ask_known: bool) -> Result<Lookup, RpcFailure> {
    for &hash in hashes {
        if let Some(receipt) = chain.rpc(|p| async move { p.get_transaction_receipt(hash).await }).await? {
            return Ok(Lookup { receipt: Some(receipt), known: None });
        }
    }
    let known = match hashes.first() {
        Some(&last) if ask_known => {
            Some(chain.rpc(|p| async move { p.get_transaction_by_hash(last).await }).await?.is_some())
        }
        _ => None,
    };
    Ok(Lookup { receipt: None, known })
}

/// Looks up every in-flight nonce at once, with the key's mined nonce and the head. Lookups still
/// unanswered after [`CHECK_BUDGET`] (an RPC hanging through every hedge) are left to the next check.
pub(super) async fn check(
    chain: Arc<EvmChain>,
    signer: Address,
    nonces: Vec<ToCheck>,
) -> Result<Checked, RpcFailure> {
    use futures::StreamExt as _;
    let deadline = tokio::time::Instant::now() + CHECK_BUDGET;
    // Before any receipt is read: see [`in_flight_state`].
    let processed = *chain.processed.borrow();
    let heads = async {
        tokio::join!(
            chain.rpc(|p| async move { p.get_transaction_count(signer).await }),
            chain.rpc(|p| async move { p.get_block_number().await }),
        )
    };
    let mut lookups: futures::stream::FuturesUnordered<_> = nonces
        .into_iter()
        .map(|(nonce, hashes, ask_known)| {
            let chain = &chain;
            async move { (nonce, lookup(chain, &hashes, ask_known).await) }
        })
        .collect();
    let answered = async {
        let mut answered = vec![];
        while let Ok(Some(one)) = tokio::time::timeout_at(deadline, lookups.next()).await {
            answered.push(one);
        }
        answered
    };
    let (heads, answered) = tokio::join!(tokio::time::timeout_at(deadline, heads), answered);
    match heads {
        Ok((latest, head)) => Ok((View { latest: latest?, head: head?, processed }, answered)),
        Err(_) => Err(RpcFailure::Timeout(CHECK_BUDGET)),
    }
}

/// The longest one check of pending transactions waits for its lookups.
pub(super) const CHECK_BUDGET: Duration = Duration::from_secs(1);

impl Executor {
    /// Starts a check of the pending transactions, unless one is under way.
    pub(super) fn poll(&mut self) {
        if self.in_flight.is_empty() {
            self.publish(None);
            // Idle: the next send asks the node for the nonce, so a reorg that emptied the nonces of
            // finished transactions leaves no gap behind it.
            self.next_nonce = None;
            return;
        }
        if !self.checks.is_empty() {
            return;
        }
        let nonces: Vec<ToCheck> = self
            .in_flight
            .iter()
            .map(|(nonce, intent)| {
                let hashes: Vec<B256> = intent.attempts.iter().rev().map(|a| a.tx_hash).collect();
                let announced = hashes.first().is_some_and(|h| self.announced.contains(h));
                (*nonce, hashes, announced)
            })
            .collect();
        self.checks.spawn(check(Arc::clone(&self.chain), self.signer, nonces));
    }

    /// Acts on what a check found, each transaction on its own: one failed lookup holds up no other.
    pub(super) async fn checked(&mut self, checked: Result<Checked, RpcFailure>) {
        let chain_id = self.chain.spec.chain_id;
        let (view, lookups) = match checked {
            Ok(checked) => checked,
            Err(error) => {
                if let Some(suppressed) = self.throttle.allow("check", std::time::Instant::now()) {
                    tracing::warn!(chain_id, error = %causes(&error), suppressed, "checking pending transactions failed");
                }
                // The node may have forgotten what we sent; ask it again next time.
                self.next_nonce = None;
                return;
            }
        };
        for (nonce, found) in lookups {
            let checked = match found {
                Ok(found) => self.check_one(nonce, view, found).await,
                Err(error) => Err(error.into()),
            };
            if let Err(error) = checked
                && let Some(suppressed) = self.throttle.allow("check one", std::time::Instant::now())
            {
                tracing::warn!(chain_id, nonce, error = %causes(&error), suppressed, "checking a pending transaction failed; retrying");
            }
        }
        let View { latest, head, .. } = view;
        self.publish(Some(latest));
        match nonce_gap(latest, self.in_flight.keys().next().copied(), head, self.gap_seen) {
            Gap::None => {
                self.gap_seen = None;
                self.fillers.clear();
            }
            Gap::Wait(seen) => self.gap_seen = Some(seen),
            Gap::Fill(nonces) => {
                for nonce in nonces {
                    if let Err(error) = self.fill(nonce, head).await {
                        tracing::warn!(chain_id, nonce, error = %causes(&error), "filling a nonce gap failed; retrying");
                    }
                }
            }
        }
    }

    pub(super) async fn check_one(&mut self, nonce: u64, view: View, found: Lookup) -> Result<(), ExecError> {
        let View { latest, head, .. } = view;
        let Lookup { receipt: mined, known } = found;
        let chain = Arc::clone(&self.chain);
        let Some(intent) = self.in_flight.get(&nonce).cloned() else {
            return Ok(());
        };
        let was_mined = self.mined.contains_key(&nonce);
        let receipt_block = mined.as_ref().map(|r| r.block_number.unwrap_or(head));
        let (session_id, chain_id) = (intent.session_id, chain.spec.chain_id);
        match in_flight_state(receipt_block, was_mined, nonce, view, chain.spec.confirmations) {
            InFlight::Final => {
                let Some(receipt) = mined else { return Ok(()) };
                self.mined.remove(&nonce);
                // What it cost, reverted or not, against what its attempts reserved today (applied once
                // the record is gone: a failed delete sees it final again).
                let actual = crate::intent::gwei(
                    u128::from(receipt.gas_used).saturating_mul(receipt.effective_gas_price),
                );
                let now = relayer_types::unix_now();
                let cost = Cost { reserved: reserved_on(&intent.attempts, now), actual, now };
                if let Some(landed) = intent.attempts.iter().find(|a| a.tx_hash == receipt.transaction_hash) {
                    self.remember(nonce, landed.clone());
                }
                if receipt.status() {
                    tracing::info!(chain_id, session_id = %session_id, tx_hash = %receipt.transaction_hash, block = receipt.block_number, "final");
                    self.finish(nonce, Some(cost)).await?;
                } else {
                    // Typically another relayer settled first; the watcher records what happened.
                    tracing::warn!(chain_id, session_id = %session_id, tx_hash = %receipt.transaction_hash, "final but reverted");
                    if let Some(work) = self.finish(nonce, Some(cost)).await? {
                        let tx_hash = self.chain.tx(receipt.transaction_hash);
                        self.report(work, WorkResult::Reverted { tx_hash }).await;
                    }
                }
            }
            InFlight::Mined { block } => {
                if !was_mined {
                    tracing::info!(chain_id, session_id = %session_id, nonce, block, "mined; kept until final");
                }
                self.mined.insert(nonce, block);
            }
            InFlight::UsedElsewhere => {
                tracing::warn!(chain_id, session_id = %session_id, nonce, "nonce used without a known receipt; treating as done");
                self.mined.remove(&nonce);
                // What it cost is unknown: the reservation (its latest attempt's most) stays.
                self.finish(nonce, None).await?;
            }
            InFlight::Vanished => {
                // A reorg took the block with it. The same signed bytes are valid again: announce them
                // at once, or every later nonce of this key would wait behind the gap forever.
                tracing::warn!(chain_id, session_id = %session_id, nonce, "a mined transaction vanished in a reorg; sending it again");
                self.mined.remove(&nonce);
                chain.stats.resent_after_reorg.fetch_add(1, Ordering::Relaxed);
                if let Some(last) = intent.attempts.last().cloned() {
                    self.announced.remove(&last.tx_hash);
                    self.broadcast(&last);
                }
            }
            InFlight::Pending => {
                let Some(last) = intent.attempts.last().cloned() else { return Ok(()) };
                let due = relayer_types::unix_now().saturating_sub(last.signed_at)
                    >= self.config.bump_after.as_secs();
                if due && !self.signer_resting() {
                    match self.bump(intent, latest).await {
                        // The signer is down (a KMS unreachable, throttled, refusing): bumps wait a
                        // period, and the bytes already signed are still announced below, as they need
                        // no signer.
                        Err(ExecError::Signer(why)) => self.signer_failed(&why),
                        done => return done,
                    }
                }
                if !self.announced.contains(&last.tx_hash) {
                    self.broadcast(&last);
                } else if known == Some(false) {
                    // Neither mined nor known to the node: dropped from its pool, or mined and taken by a
                    // reorg between two looks. Announce the same bytes again now, not at the next bump.
                    if let Some(suppressed) = self.throttle.allow("forgotten", std::time::Instant::now()) {
                        tracing::warn!(chain_id, session_id = %session_id, nonce, tx_hash = %last.tx_hash, suppressed, "the node no longer knows a pending transaction; sending it again");
                    }
                    self.announced.remove(&last.tx_hash);
                    self.broadcast(&last);
                }
            }
        }
        Ok(())
    }

    /// Forgets a landed intent (correcting the day's fees by what it cost, once its record is gone, so
    /// a failed delete, seen final again, corrects nothing twice) and runs work deferred behind it.
    /// Returns the deferred work, if any, after running it, so a revert can be reported against the
    /// session.
    pub(super) async fn finish(&mut self, nonce: u64, cost: Option<Cost>) -> Result<Option<Work>, ExecError> {
        self.chain.sends.delete(&crate::intent::key(self.signer, nonce))?;
        if let Some(Cost { reserved, actual, now }) = cost {
            self.chain.spending.landed(reserved, actual, now);
        }
        let Some(intent) = self.in_flight.remove(&nonce) else {
            return Ok(None);
        };
        let key = (intent.session_id, intent.action);
        self.keys.remove(&key);
        if let Some(work) = self.rerun.remove(&key) {
            Box::pin(self.admit(work.clone())).await;
            return Ok(Some(work));
        }
        Ok(None)
    }
}

/// What a final transaction cost against what was reserved for it on `now`'s day (gwei).
#[derive(Debug, Clone, Copy)]
pub(super) struct Cost {
    reserved: u64,
    actual: u64,
    now: u64,
}

/// What the attempts of one nonce reserved on `now`'s day: each attempt reserved its increase over the
/// one before (a bump), so together they reserved the latest one's most; the part of it reserved on
/// earlier days stays theirs.
fn reserved_on(attempts: &[crate::intent::Attempt], now: u64) -> u64 {
    use relayer_chain::spending::DAY_SECS;
    let today = now / DAY_SECS;
    let (earlier, on_the_day): (Vec<_>, Vec<_>) =
        attempts.iter().partition(|a| a.signed_at / DAY_SECS < today);
    let most = |a: &[&crate::intent::Attempt]| a.last().map_or(0, |a| a.most_gwei());
    if on_the_day.is_empty() { 0 } else { most(&on_the_day).saturating_sub(most(&earlier)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An attempt paying `max_fee` per gas for 100,000 gas, signed at `signed_at`.
    fn attempt(max_fee: u128, signed_at: u64) -> crate::intent::Attempt {
        use alloy::{
            consensus::{SignableTransaction, TxEip1559},
            eips::Encodable2718,
            signers::SignerSync,
        };
        let tx =
            TxEip1559 { chain_id: 1, gas_limit: 100_000, max_fee_per_gas: max_fee, ..Default::default() };
        let key = alloy::signers::local::PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).expect("key");
        let signature = key.sign_hash_sync(&tx.signature_hash()).expect("sign");
        let envelope = alloy::consensus::TxEnvelope::from(tx.into_signed(signature));
        crate::intent::Attempt {
            tx_hash: *envelope.tx_hash(),
            raw: envelope.encoded_2718().into(),
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: 0,
            signed_at,
        }
    }

    /// Each bump counted its increase, so a nonce's attempts reserved its latest one's most; what was
    /// reserved on an earlier day is not taken off today's figure.
    #[test]
    fn a_final_transaction_corrects_only_what_its_attempts_reserved_that_day() {
        let day = 20_000 * 86_400;
        let gwei = 1_000_000_000u128;
        // 100,000 gas at 10, then 20 gwei: 1,000,000 and 2,000,000 gwei at most.
        let both_today = [attempt(10 * gwei, day + 10), attempt(20 * gwei, day + 20)];
        assert_eq!(reserved_on(&both_today, day + 30), 2_000_000);
        let across_midnight = [attempt(10 * gwei, day - 10), attempt(20 * gwei, day + 20)];
        assert_eq!(reserved_on(&across_midnight, day + 30), 1_000_000, "the bump's increase only");
        assert_eq!(reserved_on(&both_today, day + 86_400), 0, "final the next day: yesterday's");
    }

    #[test]
    fn a_transaction_is_kept_until_final_and_sent_again_when_a_reorg_removes_it() {
        use InFlight::*;
        // (receipt block, seen mined before, key's mined nonce, its nonce, head, confirmations, expected);
        // the watcher has processed the head.
        let table = [
            (Some(10), false, 6, 5, 10, 1, Final),
            (Some(10), false, 6, 5, 10, 3, Mined { block: 10 }),
            (Some(10), true, 6, 5, 11, 3, Mined { block: 10 }),
            (Some(10), true, 6, 5, 12, 3, Final),
            // The block with it was rolled back: the nonce is free again, the bytes must go out again.
            (None, true, 5, 5, 10, 3, Vanished),
            (None, false, 5, 5, 10, 3, Pending),
            (None, false, 6, 5, 10, 3, UsedElsewhere),
            (None, true, 6, 5, 10, 3, UsedElsewhere),
            // Zero confirmations configured still waits for the block itself.
            (Some(10), false, 6, 5, 10, 0, Final),
        ];
        for (block, was, latest, nonce, head, confirmations, want) in table {
            let view = View { latest, head, processed: head };
            assert_eq!(
                in_flight_state(block, was, nonce, view, confirmations),
                want,
                "{block:?} {was} {latest} {nonce} {head} {confirmations}"
            );
        }
    }

    #[test]
    fn a_final_transaction_is_kept_until_the_watcher_has_read_its_block() {
        // Final by the confirmations at head 12, but the watcher is behind its block: forgotten now, a
        // reorg before the watcher reads block 10 would take the delivery away unseen by anyone (the
        // reorg chaos test stranded a session this way: `processing`, its settle "sent", the funds
        // back in the receiver).
        for processed in [0, 8, 9] {
            let view = View { latest: 6, head: 12, processed };
            assert_eq!(
                in_flight_state(Some(10), true, 5, view, 3),
                InFlight::Mined { block: 10 },
                "{processed}"
            );
        }
        for processed in [10, 11, 12] {
            let view = View { latest: 6, head: 12, processed };
            assert_eq!(in_flight_state(Some(10), true, 5, view, 3), InFlight::Final, "{processed}");
        }
    }
}
