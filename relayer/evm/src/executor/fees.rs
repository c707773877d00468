//! Fees: the node's estimate (shared by a batch of sends), and replacing a stuck transaction at a
//! higher fee, never past the ceiling and only when price is why it is stuck.

use super::*;

/// Fees of a replacement: at least a quarter above the previous attempt (nodes require ~10% to accept
/// a replacement) and at least the current estimate; the priority fee never exceeds the max fee.
pub fn bumped_fees(previous: (u128, u128), estimate: (u128, u128)) -> (u128, u128) {
    let bump = |old: u128, now: u128| old.saturating_add(old / 4).max(now).max(old.saturating_add(1));
    let max_fee = bump(previous.0, estimate.0);
    (max_fee, bump(previous.1, estimate.1).min(max_fee))
}

/// The most a chain's transactions may pay per gas: an absolute cap, and a multiple of the current base
/// fee (whichever is lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeCeiling {
    /// Absolute cap in wei per gas.
    pub absolute: Option<u128>,
    /// Cap as a multiple of the latest base fee.
    pub base_fee_multiple: u64,
}

impl Default for FeeCeiling {
    fn default() -> Self {
        Self { absolute: None, base_fee_multiple: 10 }
    }
}

impl FeeCeiling {
    /// The cap at `base_fee`.
    pub fn at(&self, base_fee: u128) -> u128 {
        let relative = base_fee.saturating_mul(u128::from(self.base_fee_multiple.max(1)));
        self.absolute.map_or(relative, |a| a.min(relative))
    }
}

/// What to do about a transaction pending past `bump_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    /// Replace it with these fees (max fee, priority fee).
    To(u128, u128),
    /// Leave it: a higher price would not help, or may not be paid.
    Hold(HoldReason),
}

/// Why a stuck transaction is not re-priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldReason {
    /// An earlier nonce of the key is not mined: this one waits for it, whatever its price.
    BehindEarlierNonce,
    /// Its fees already meet the current estimate: price is not why it waits.
    PriceIsNotWhy,
    /// A replacement would have to pay more than the ceiling allows.
    Ceiling,
}

impl HoldReason {
    /// For logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BehindEarlierNonce => "behind_earlier_nonce",
            Self::PriceIsNotWhy => "price_is_not_why",
            Self::Ceiling => "fee_ceiling",
        }
    }
}

/// Decides about a stuck transaction with `nonce` when the key's mined nonce is `latest`, its last
/// attempt paid `previous` (max fee, priority fee), the node now estimates `estimate`, and `cap` is the
/// ceiling. Re-pricing only helps when price is why it waits, and never goes past the ceiling.
pub fn bump_decision(
    nonce: u64,
    latest: u64,
    previous: (u128, u128),
    estimate: (u128, u128),
    cap: u128,
) -> Bump {
    if nonce > latest {
        return Bump::Hold(HoldReason::BehindEarlierNonce);
    }
    if previous.0 >= estimate.0 && previous.1 >= estimate.1 {
        return Bump::Hold(HoldReason::PriceIsNotWhy);
    }
    let (max_fee, priority) = bumped_fees(previous, estimate);
    let max_fee = max_fee.min(cap);
    // Nodes accept a replacement only at a real increase (about 10%); less than that is pointless.
    if max_fee < previous.0.saturating_add(previous.0 / 10).max(previous.0.saturating_add(1)) {
        return Bump::Hold(HoldReason::Ceiling);
    }
    Bump::To(max_fee, priority.min(max_fee))
}

/// Gas limit with `margin_percent` over the estimate.
pub fn gas_with_margin(estimate: u64, margin_percent: u64) -> u64 {
    estimate.saturating_mul(100 + margin_percent) / 100
}

/// How long a fee estimate is used before the node is asked again.
pub(super) const FEES_FRESH_FOR: Duration = Duration::from_secs(2);

impl Executor {
    /// The node's fee estimate, asked at most once per [`FEES_FRESH_FOR`] (a batch of sends shares it).
    pub(super) async fn fees(&mut self) -> Result<alloy::eips::eip1559::Eip1559Estimation, ExecError> {
        if let Some((at, fees)) = self.fees
            && at.elapsed() < FEES_FRESH_FOR
        {
            return Ok(fees);
        }
        let fees = self.chain.rpc(|p| async move { p.estimate_eip1559_fees().await }).await?;
        self.fees = Some((std::time::Instant::now(), fees));
        Ok(fees)
    }

    /// Replaces a stuck transaction: same nonce and calldata, fees up by at least a quarter (nodes
    /// require ~10% to accept a replacement) or to the current estimate, whichever is higher.
    pub(super) async fn bump(&mut self, mut intent: Intent, latest: u64) -> Result<(), ExecError> {
        let chain = Arc::clone(&self.chain);
        let Some(last) = intent.attempts.last().cloned() else {
            return Ok(());
        };
        let envelope = TxEnvelope::decode_2718(&mut last.raw.as_ref())
            .map_err(|e| ExecError::Sign(format!("stored transaction unreadable: {e}")))?;
        let fees = chain.rpc(|p| async move { p.estimate_eip1559_fees().await }).await?;
        let block = chain
            .rpc(|p| async move { p.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await })
            .await?;
        let base_fee =
            block.and_then(|b| b.header.base_fee_per_gas).map_or(fees.max_fee_per_gas / 2, u128::from);
        let decision = bump_decision(
            intent.nonce,
            latest,
            (last.max_fee_per_gas, last.max_priority_fee_per_gas),
            (fees.max_fee_per_gas, fees.max_priority_fee_per_gas),
            chain.spec.fee_ceiling.at(base_fee),
        );
        let (max_fee, priority) = match decision {
            Bump::To(max_fee, priority) => (max_fee, priority),
            Bump::Hold(reason) => {
                // Said once per transaction and reason, not at every poll.
                if self.held.insert(intent.nonce, reason) != Some(reason) {
                    chain.stats.bumps_held.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        chain_id = chain.spec.chain_id,
                        session_id = %intent.session_id,
                        nonce = intent.nonce,
                        reason = reason.as_str(),
                        max_fee_per_gas = last.max_fee_per_gas,
                        estimate = fees.max_fee_per_gas,
                        base_fee,
                        "stuck transaction not re-priced"
                    );
                }
                return Ok(());
            }
        };
        self.held.remove(&intent.nonce);
        let tx = TransactionRequest::from_transaction(envelope)
            .with_from(self.signer)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority);
        let attempt = self.sign(tx, super::Reserve::Over(last.most_gwei())).await?;
        intent.attempts.push(attempt.clone());
        chain.sends.put(&intent.key(), &intent)?;
        tracing::info!(
            chain_id = chain.spec.chain_id,
            session_id = %intent.session_id,
            nonce = intent.nonce,
            tx_hash = %attempt.tx_hash,
            max_fee_per_gas = max_fee,
            "fee bump"
        );
        self.in_flight.insert(intent.nonce, intent);
        self.broadcast(&attempt);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_fees_rise_by_a_quarter_or_to_the_estimate() {
        // ((previous max, previous priority), (estimate max, estimate priority), expected)
        let table = [
            ((100, 10), (50, 5), (125, 12)),
            ((100, 10), (300, 20), (300, 20)),
            // Tiny fees still rise (a quarter of 1 rounds to 0).
            ((1, 1), (0, 0), (2, 2)),
            ((0, 0), (0, 0), (1, 1)),
            // The priority fee never exceeds the max fee.
            ((100, 100), (0, 500), (125, 125)),
            // No overflow at the top.
            ((u128::MAX, u128::MAX), (0, 0), (u128::MAX, u128::MAX)),
        ];
        for (previous, estimate, want) in table {
            let got = bumped_fees(previous, estimate);
            assert_eq!(got, want, "previous {previous:?}, estimate {estimate:?}");
            assert!(got.0 > previous.0 || previous.0 == u128::MAX, "a replacement must pay more");
        }
    }

    #[test]
    fn stuck_transactions_are_re_priced_only_when_price_is_why_and_never_past_the_ceiling() {
        use HoldReason::*;
        // (nonce, key's mined nonce, previous fees, estimate, cap, expected)
        let table = [
            // The estimate rose past what it pays: re-price.
            (5, 5, (100, 10), (300, 20), 1_000, Bump::To(300, 20)),
            (5, 5, (100, 10), (110, 11), 1_000, Bump::To(125, 12)),
            // Capped at the ceiling, as long as that is still a real increase.
            (5, 5, (100, 10), (300, 20), 150, Bump::To(150, 20)),
            (5, 5, (100, 10), (300, 20), 105, Bump::Hold(Ceiling)),
            (5, 5, (100, 10), (300, 20), 100, Bump::Hold(Ceiling)),
            // It already pays what the node asks: something else holds it.
            (5, 5, (100, 10), (100, 10), 1_000, Bump::Hold(PriceIsNotWhy)),
            (5, 5, (100, 10), (90, 5), 1_000, Bump::Hold(PriceIsNotWhy)),
            // An earlier nonce is not mined: this one cannot go first at any price.
            (6, 5, (100, 10), (300, 20), 1_000, Bump::Hold(BehindEarlierNonce)),
        ];
        for (nonce, latest, previous, estimate, cap, want) in table {
            assert_eq!(
                bump_decision(nonce, latest, previous, estimate, cap),
                want,
                "{previous:?} {estimate:?} cap {cap}"
            );
        }
        let ceiling = FeeCeiling { absolute: Some(500), base_fee_multiple: 3 };
        assert_eq!(ceiling.at(100), 300);
        assert_eq!(ceiling.at(1_000), 500);
        assert_eq!(FeeCeiling::default().at(7), 70);
    }

    #[test]
    fn gas_margin_is_added_without_overflow() {
        assert_eq!(gas_with_margin(100_000, 25), 125_000);
        assert_eq!(gas_with_margin(0, 25), 0);
        assert_eq!(gas_with_margin(u64::MAX, 25), u64::MAX / 100);
    }
}
