//! The counters `/metrics` reads, and their labels.

use std::collections::BTreeMap;

use relayer_chain::WorkResult;

use super::{Engine, lock};

/// Counters by (chain, name), for metrics.
pub type Counts = BTreeMap<(u64, &'static str), u64>;

impl Engine {
    /// Settlements seen, by chain and outcome.
    pub fn delivery_counts(&self) -> Counts {
        lock(&self.deliveries).clone()
    }

    /// Settlements reorganised away after they counted, by chain and outcome: every chain's and
    /// outcome's from the start, at 0, so an alert on their increase sees the first one (a series that
    /// appears at 1 has no increase to see).
    pub fn orphaned_counts(&self) -> Counts {
        use relayer_types::Outcome::{Bounced, Delivered, Refunded};
        let outcomes = [Delivered, Bounced, Refunded].map(outcome_name);
        let mut counts: Counts = self.chains.keys().flat_map(|c| outcomes.map(|o| ((*c, o), 0))).collect();
        counts.extend(lock(&self.orphaned).iter().map(|(k, n)| (*k, *n)));
        counts
    }

    /// Work reports received, by chain and result.
    pub fn report_counts(&self) -> Counts {
        lock(&self.reports).clone()
    }
}

/// The metrics label of a work result.
pub(super) const fn result_name(result: &WorkResult) -> &'static str {
    match result {
        WorkResult::Sent { .. } => "sent",
        WorkResult::Done(_) => "done",
        WorkResult::NotYet(_) => "not_yet",
        WorkResult::NotBefore { .. } => "not_before",
        WorkResult::RefundInstead => "refund_instead",
        WorkResult::Failed(_) => "failed",
        WorkResult::Reverted { .. } => "reverted",
        WorkResult::Landed { .. } => "landed",
    }
}

/// The metrics label of a settlement outcome.
pub(super) const fn outcome_name(outcome: relayer_types::Outcome) -> &'static str {
    match outcome {
        relayer_types::Outcome::Delivered => "delivered",
        relayer_types::Outcome::Bounced => "bounced",
        relayer_types::Outcome::Refunded => "refunded",
    }
}
