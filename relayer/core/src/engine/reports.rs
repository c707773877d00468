//! Delivery work: scheduling what the planner decides, submitting it, what the chains report of it (the
//! state and follow-up each report puts its work in), the retries as they come due, resuming after a
//! restart, and the timers.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use relayer_chain::{Refusal, Work, WorkReport, WorkResult};
use relayer_store::update_session;
use relayer_types::{
    Action, ChainAddress, Session, SessionEvent, SessionId, U256, WorkRecord, WorkState, unix_now,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    Engine, EngineError,
    counters::result_name,
    lock,
    planner::{Terms, When, plan},
    retry::FOREVER,
};

impl Engine {
    /// Decides what to do with what sits at a session's receiver (see [`plan`]) and queues it, now or
    /// for the session's expiry.
    pub(super) async fn schedule(&self, session: &Session, chain_id: u64, token: ChainAddress) {
        let dest_chain = session.destination.token.chain_id;
        let chain = self.chains.get(&chain_id);
        let route = chain.and_then(|c| c.route(&token, dest_chain));
        let terms = Terms {
            route: route.as_ref(),
            floor: chain.map_or(U256::ZERO, |c| c.open_amount_minimum(&token)),
            destination_adds_up: self.chains.get(&dest_chain).is_none_or(|c| c.bridged_arrivals_add_up()),
            now: unix_now(),
        };
        let floor = terms.floor;
        let Some(plan) = plan(session, chain_id, token, terms) else {
            tracing::info!(session_id = %session.id, chain_id, %token, %floor, "below what is worth a transaction: left at the receiver");
            return;
        };
        let work =
            Work { session_id: session.id, chain_id, commitment: session.commitment(), action: plan.action };
        match plan.when {
            When::Now => self.submit(work).await,
            When::AtExpiry => {
                tracing::info!(session_id = %session.id, chain_id, %token, action = plan.action.name(), "waiting for expiry (short of the minimum, or dust)");
                // Once the chain's clock is past the expiry (a second after it, at the latest).
                let due = self.clock.instant_of(session.expires_at.saturating_add(2));
                lock(&self.retries).push(due, work);
            }
        }
    }

    pub(super) async fn submit(&self, work: Work) {
        let (chain_id, session_id) = (work.chain_id, work.session_id);
        let result = match self.chain(chain_id) {
            Ok(chain) => chain.submit(work.clone()).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(reason) = result {
            tracing::error!(chain_id, %session_id, %reason, "work not queued");
            self.record(&work, 0, WorkState::GaveUp { reason });
        }
    }

    /// Records the latest state of `work` on its session (never fails the caller: a store failure is
    /// logged, and the work itself goes on).
    fn record(&self, work: &Work, attempts: u32, state: WorkState) {
        let record = WorkRecord {
            chain_id: work.chain_id,
            action: work.action,
            attempts,
            reverts: 0,
            state,
            updated_at: unix_now(),
        };
        if let Err(error) = self.apply(&work.session_id, SessionEvent::Work(record), None) {
            tracing::warn!(session_id = %work.session_id, error = %relayer_util::causes(&error), "recording work state failed");
        }
    }

    /// Queues `work` for `delay` from now; the same work already queued as early is not queued twice
    /// (a griefer's thousand dust transfers wait as one sweep).
    fn retry_at(&self, work: Work, delay: Duration) {
        // A session that never expires (far-future `expires_at`) waits for good, not a panic.
        let at = Instant::now().checked_add(delay).unwrap_or_else(|| Instant::now() + FOREVER);
        lock(&self.retries).push(at, work);
    }

    /// What a chain reported: recorded on the session, counted, and retried within the policy.
    pub fn handle_report(&self, report: WorkReport) {
        let WorkReport { work, result } = report;
        *lock(&self.reports).entry((work.chain_id, result_name(&result))).or_default() += 1;
        // One read-modify-write: the attempt count comes from the record this one replaces.
        let mut decided = None;
        let written = update_session(self.store.as_ref(), &work.session_id, |s| {
            let previous = s.work.iter().find(|w| w.chain_id == work.chain_id && w.action == work.action);
            // A wait for a time (the session's expiry, the next day's fee allowance, another key's
            // transaction) is not a failed attempt: days of waiting must not use up the retries.
            let waits = u32::from(!matches!(result, WorkResult::NotBefore { .. }));
            let attempts =
                previous.filter(|w| matches!(w.state, WorkState::Retrying { .. })).map_or(0, |w| w.attempts)
                    + waits;
            // Transactions that landed and failed, in a row for this work (each burnt fees; a call out of
            // energy on Tron burns its whole fee limit): counted across the sends and retries between
            // them, so they are not sent for ever; anything that ends the work starts the count again.
            let running = previous
                .filter(|w| {
                    matches!(
                        w.state,
                        WorkState::Sent { .. } | WorkState::Retrying { .. } | WorkState::Reverted { .. }
                    )
                })
                .map_or(0, |w| w.reverts);
            let reverts = match result {
                WorkResult::Reverted { .. } => running + 1,
                WorkResult::Sent { .. } | WorkResult::NotYet(_) | WorkResult::NotBefore { .. } => running,
                _ => 0,
            };
            let (state, follow_up) = self.next_step(&work, &result, attempts, reverts);
            let record = WorkRecord {
                chain_id: work.chain_id,
                action: work.action,
                attempts,
                reverts,
                state: state.clone(),
                updated_at: unix_now(),
            };
            decided = Some((attempts, state, follow_up));
            s.apply(SessionEvent::Work(record)).map(|a| a.changed)
        });
        if let Err(error) = written.map_err(EngineError::from) {
            tracing::warn!(session_id = %work.session_id, error = %relayer_util::causes(&error), "recording work state failed");
        }
        // Recorded or not, the work goes on.
        let (attempts, state, follow_up) = decided.unwrap_or_else(|| {
            let (state, follow_up) = self.next_step(&work, &result, 1, 0);
            (1, state, follow_up)
        });
        // A fronting that will not happen (someone else delivered, it reverted, it gave up) frees its
        // place under the cap; one that is sent or retried keeps it until the chain says what was fronted.
        if matches!(work.action, Action::FastFinish { .. })
            && matches!(state, WorkState::Done { .. } | WorkState::GaveUp { .. } | WorkState::Reverted { .. })
        {
            self.release_fronting(&work);
        }
        if let Some((next, delay)) = follow_up {
            self.retry_at(next, delay);
        }
        let (session_id, chain_id, action) = (work.session_id, work.chain_id, work.action.name());
        match &state {
            WorkState::GaveUp { .. } => {
                tracing::error!(%session_id, chain_id, action, attempts, ?state, "work gave up")
            }
            WorkState::Retrying { .. } | WorkState::Reverted { .. } => {
                tracing::warn!(%session_id, chain_id, action, attempts, ?state, "work not done");
            }
            _ => tracing::info!(%session_id, chain_id, action, attempts, ?state, "work"),
        }
    }

    /// The state a report puts its work in at its `attempts`-th try, `reverts` transactions in a row
    /// having failed on chain, and the work to submit next (and after how long), if any.
    fn next_step(
        &self,
        work: &Work,
        result: &WorkResult,
        attempts: u32,
        reverts: u32,
    ) -> (WorkState, Option<(Work, Duration)>) {
        let policy = self.settings.retry;
        match result.clone() {
            WorkResult::Sent { tx_hash } => (WorkState::Sent { tx_hash }, None),
            WorkResult::Done(reason) => (WorkState::Done { reason: reason.to_string() }, None),
            // E.g. the router refunds a usable token only after expiry: wait for it, without giving up.
            WorkResult::NotBefore { reason, at } => {
                // On a source chain, a wait for the expiry means the funds are not bridged.
                let unbridged = matches!(reason, Refusal::NotExpired | Refusal::BelowMinimum);
                let reason = if work.chain_id == work.commitment.to_chain_id || !unbridged {
                    reason.to_string()
                } else {
                    format!("not bridged (no route to the destination chain, or below its minimum): {reason}")
                };
                let delay = Duration::from_secs(at.saturating_sub(unix_now())).max(policy.delay(1));
                (WorkState::Retrying { reason, retry_at: at }, Some((work.clone(), delay)))
            }
            // Delivery that gives up (a bridge or token paused past the retries, a long outage) leaves the
            // funds where they are; at the expiry they are refunded, as the planner sweeps what never
            // started, instead of waiting for a restart or another deposit to look again.
            WorkResult::NotYet(reason) if attempts >= policy.max_attempts => {
                let state =
                    WorkState::GaveUp { reason: format!("gave up after {attempts} attempts: {reason}") };
                let sweep = matches!(work.action, Action::Settle { .. } | Action::Bridge { .. }).then(|| {
                    let refund =
                        Work { action: Action::Refund { token: work.action.token() }, ..work.clone() };
                    let at = work.commitment.expires_at.saturating_add(2);
                    (refund, Duration::from_secs(at.saturating_sub(unix_now())).max(policy.delay(1)))
                });
                (state, sweep)
            }
            WorkResult::NotYet(reason) => {
                let delay = policy.delay(attempts);
                (
                    WorkState::Retrying {
                        reason: reason.to_string(),
                        retry_at: unix_now() + delay.as_secs(),
                    },
                    Some((work.clone(), delay)),
                )
            }
            WorkResult::RefundInstead => {
                let refund = Work { action: Action::Refund { token: work.action.token() }, ..work.clone() };
                if refund.action == work.action {
                    (WorkState::GaveUp { reason: "the router refused a refund as expired".into() }, None)
                } else {
                    let done = WorkState::Done {
                        reason: "expired on chain before delivery; refunding instead".into(),
                    };
                    (done, Some((refund, Duration::ZERO)))
                }
            }
            WorkResult::Failed(reason) => (WorkState::GaveUp { reason: reason.to_string() }, None),
            WorkResult::Reverted { tx_hash } if reverts >= policy.max_attempts => (
                WorkState::GaveUp {
                    reason: format!(
                        "gave up after {reverts} transactions failed on chain, the last {tx_hash}"
                    ),
                },
                None,
            ),
            // Usually someone else moved the funds first; a retry's simulation finds out.
            WorkResult::Reverted { tx_hash } => {
                (WorkState::Reverted { tx_hash }, Some((work.clone(), policy.delay(1))))
            }
            WorkResult::Landed { tx_hash, cost } => (WorkState::Landed { tx_hash, cost: Some(cost) }, None),
        }
    }

    /// Work queued for later (retries, and sweeps waiting for a session's expiry), soonest first.
    pub fn waiting_work(&self) -> Vec<Work> {
        lock(&self.retries).waiting()
    }

    /// Submits the retries due at `now`, soonest first.
    pub async fn submit_due(&self, now: Instant) {
        let due = lock(&self.retries).pop_due(now);
        for work in due {
            self.submit(work).await;
        }
    }

    /// Re-queues work for the sessions [`Engine::new`] found holding funds not yet settled (after a
    /// restart), and announces again the bridged funds of those still on their way; the executors'
    /// simulation drops what turns out to be settled already.
    pub async fn resume(&self) {
        let unsettled = std::mem::take(&mut *lock(&self.unsettled));
        for session in unsettled {
            // Bridged funds on their way: the destination's family may be the one to deliver them.
            if session.awaits_arrival() {
                for bridging in &session.bridges {
                    if let Err(error) = self.announce_arrival(&session, bridging.event.chain_id, bridging) {
                        tracing::error!(session_id = %session.id, error = %relayer_util::causes(&error), "cannot announce bridged funds on their way; announced again at the next start");
                    }
                }
            }
            // Indexed only for bridged funds on their way: its receivers hold nothing to plan for.
            if !session.holds_funds() {
                continue;
            }
            let mut seen = BTreeSet::new();
            for d in &session.deposits {
                if seen.insert((d.event.chain_id, d.token.address)) {
                    self.schedule(&session, d.event.chain_id, d.token.address).await;
                }
            }
        }
    }

    /// Expires sessions and submits due retries as their time comes, until `cancel`: it wakes when the
    /// next retry is due, and at least every 250 ms for the expiries.
    pub async fn run_timers(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            self.submit_due(Instant::now()).await;
            self.reload_expiries_if_due();
            let now = unix_now();
            let due: Vec<SessionId> = {
                let expiries = lock(&self.expiries);
                expiries.iter().take_while(|(at, _)| *at <= now).map(|(_, id)| *id).collect()
            };
            // `apply` takes the sessions it expires out of the queue; a failure leaves them in for a
            // retry. One no longer open leaves too, whoever closed it (the API's engine expires a session
            // read at its expiry, and another instance may have): else it would be ticked forever.
            for id in due {
                match self.apply(&id, SessionEvent::Tick { now }, None) {
                    Ok(session) if !session.status.can_expire() => {
                        lock(&self.expiries).remove(&(session.expires_at, id));
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(session_id = %id, error = %relayer_util::causes(&error), "expiry failed; will retry")
                    }
                }
            }
            let tick = Instant::now() + Duration::from_millis(250);
            let wake = lock(&self.retries).next_due().map_or(tick, |due| due.min(tick));
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}
