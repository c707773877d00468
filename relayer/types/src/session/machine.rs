//! How a session changes: [`Session::apply`] and the rules behind it (what a deposit, a settlement, a
//! bridging or a tick does to the status), and what a session's receivers hold.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::U256;

use super::*;

impl Session {
    /// Applies `event`. On `Err` the session is unchanged.
    pub fn apply(&mut self, event: SessionEvent) -> Result<Applied, StateError> {
        let from = self.status;
        let changed = match event {
            SessionEvent::PaymentMethodSet { method, now } => self.set_payment_method(method, now)?,
            SessionEvent::DepositDetected(deposit) => self.record_deposit(deposit),
            SessionEvent::DepositOrphaned(id) => self.orphan_deposit(id),
            SessionEvent::Settled(settlement) => self.record_settlement(settlement),
            SessionEvent::SettlementOrphaned(id) => self.orphan_settlement(id),
            SessionEvent::Bridged(bridging) => record_once(&mut self.bridges, bridging, |b| b.event),
            SessionEvent::Fronted(fronting) => record_once(&mut self.frontings, fronting, |f| f.event),
            SessionEvent::MovementOrphaned(id) => {
                let before = self.bridges.len() + self.frontings.len();
                self.bridges.retain(|b| b.event != id);
                self.frontings.retain(|f| f.event != id);
                self.bridges.len() + self.frontings.len() != before
            }
            SessionEvent::Work(record) => self.record_work(record),
            SessionEvent::Tick { now } => self.tick(now),
        };
        Ok(Applied { from, to: self.status, changed })
    }

    fn set_payment_method(&mut self, method: PaymentMethod, now: u64) -> Result<bool, StateError> {
        if now >= self.expires_at || self.status == SessionStatus::Expired {
            return Err(StateError::Expired);
        }
        match (self.status, &self.payment_method) {
            (SessionStatus::RequiresPaymentMethod, _) => {
                self.payment_method = Some(method);
                self.status = SessionStatus::WaitingPayment;
                Ok(true)
            }
            // Setting the same method again is idempotent: the user reloaded the page.
            (SessionStatus::WaitingPayment, Some(existing))
                if existing.kind() == method.kind()
                    && existing.receiver() == method.receiver()
                    && existing.wallet() == method.wallet() =>
            {
                Ok(false)
            }
            (SessionStatus::WaitingPayment, _) => Err(StateError::PaymentMethodConflict),
            (status, _) => Err(StateError::WrongStatus(status.as_str())),
        }
    }

    /// Whether what the session can use has reached its minimum at one chain's receiver: what the
    /// contracts and the program require before anything starts, so the session is `processing` only once
    /// funds can actually move (a dust transfer, or a payer who paid too little, leaves it waiting; what
    /// arrived is refunded after expiry unless the rest comes).
    pub fn started_on_some_chain(&self) -> bool {
        let mut by_chain: BTreeMap<u64, U256> = BTreeMap::new();
        for d in &self.deposits {
            let sum = by_chain.entry(d.event.chain_id).or_default();
            *sum = sum.saturating_add(d.counted());
        }
        by_chain.values().any(|sum| !sum.is_zero() && *sum >= self.min_amount)
    }

    /// What sits at the session's receiver on `chain_id` in `token`, as the chain's events tell it.
    pub fn at_receiver(&self, chain_id: u64, token: ChainAddress) -> Holding {
        let here = |event: &EventId| event.chain_id == chain_id;
        let arrived = self
            .deposits
            .iter()
            .filter(|d| here(&d.event) && d.token.address == token)
            .map(|d| d.amount)
            .fold(U256::ZERO, U256::saturating_add);
        // A fronting's own delivery is paid from the fronter's wallet, not the receiver: its `Settled`
        // shares the transaction of its `FastFinished` (the relayer's fronting, `still_owed` unset).
        let fronted_in = |x: &Settlement| {
            self.frontings.iter().any(|f| f.still_owed.is_none() && f.event.tx_hash == x.event.tx_hash)
        };
        let settled =
            self.settlements.iter().filter(|x| here(&x.event) && x.token == token && !fronted_in(x));
        let bridged = self.bridges.iter().filter(|b| here(&b.event) && b.token == token);
        // A repayment is paid from the receiver, in the destination token.
        let repaid = self
            .frontings
            .iter()
            .filter(|f| here(&f.event) && f.still_owed.is_some() && token == self.destination.token.address);
        let left = settled
            .map(|x| x.amount)
            .chain(bridged.map(|b| b.amount))
            .chain(repaid.map(|f| f.amount))
            .fold(U256::ZERO, U256::saturating_add);
        Holding { arrived, left }
    }

    /// Whether any of the session's receivers still holds something, by the chain's events: the
    /// sessions a restart must plan for again.
    pub fn holds_funds(&self) -> bool {
        let places: BTreeSet<(u64, ChainAddress)> =
            self.deposits.iter().map(|d| (d.event.chain_id, d.token.address)).collect();
        places.into_iter().any(|(chain_id, token)| !self.at_receiver(chain_id, token).remaining().is_zero())
    }

    /// Whether funds the session bridged may still be on their way, by its events: towards some chain it
    /// bridged (not sent home) more times than deposits of it arrived there, whatever its status (a third
    /// party's bridging of a partial payment while it waits, a second payment after it succeeded). The
    /// family there may have to fetch and deliver them (Solana: nobody else calls Circle's transmitter), so
    /// a restart announces them again ([`Chain::arriving`](../../relayer_chain/trait.Chain.html)). Anyone
    /// can add deposits there (a burn naming the receiver), which can hide a bridging still on its way
    /// from this count: that costs a restart's announcement of it, not the transfer (it stays attested at
    /// the bridge, deliverable by anyone).
    pub fn awaits_arrival(&self) -> bool {
        let mut bridged: BTreeMap<u64, usize> = BTreeMap::new();
        for b in self.bridges.iter().filter(|b| !b.home) {
            if let Some(to) = b.to_chain_id.filter(|to| *to != b.event.chain_id) {
                *bridged.entry(to).or_default() += 1;
            }
        }
        bridged.into_iter().any(|(to, n)| self.deposits.iter().filter(|d| d.event.chain_id == to).count() < n)
    }

    /// The sessions a restart must plan for again: a receiver still holds something ([`Self::holds_funds`])
    /// or bridged funds are on their way ([`Self::awaits_arrival`]).
    pub fn unsettled(&self) -> bool {
        self.holds_funds() || self.awaits_arrival()
    }

    fn record_deposit(&mut self, deposit: Deposit) -> bool {
        if self.deposits.iter().any(|d| d.event == deposit.event) {
            return false;
        }
        let source = Source {
            from: deposit.from,
            token: deposit.token.clone(),
            sent: deposit.amount,
            tx_hash: deposit.event.tx_hash,
        };
        let counts = !deposit.counted().is_zero();
        self.deposits.push(deposit);
        if matches!(self.status, SessionStatus::RequiresPaymentMethod | SessionStatus::WaitingPayment) {
            let starts = self.started_on_some_chain();
            // While the session waits, the first usable deposit is what arrived so far; the one that starts
            // it replaces it. Dust sent ahead of the payer's transaction is never reported as the payment.
            if let Some(slot) = self.payment_method.as_mut().and_then(PaymentMethod::source_mut)
                && counts
                && (slot.is_none() || starts)
            {
                *slot = Some(source);
            }
            if starts {
                self.status = SessionStatus::Processing;
            }
        }
        true
    }

    fn orphan_deposit(&mut self, id: EventId) -> bool {
        let before = self.deposits.len();
        self.deposits.retain(|d| d.event != id);
        if self.deposits.len() == before {
            return false;
        }
        // The source was this deposit: the next counted one (if any) is the source now.
        let source_gone = self.payment_method.as_ref().and_then(PaymentMethod::source).is_some_and(|s| {
            s.tx_hash == id.tx_hash && !self.deposits.iter().any(|d| d.event.tx_hash == id.tx_hash)
        });
        if source_gone {
            let next = self.deposits.iter().find(|d| !d.counted().is_zero()).map(|d| Source {
                from: d.from,
                token: d.token.clone(),
                sent: d.amount,
                tx_hash: d.event.tx_hash,
            });
            if let Some(slot) = self.payment_method.as_mut().and_then(PaymentMethod::source_mut) {
                *slot = next;
            }
        }
        if self.status == SessionStatus::Processing
            && !self.started_on_some_chain()
            && self.settlements.is_empty()
        {
            self.status = SessionStatus::WaitingPayment;
        }
        true
    }

    /// Whether `settlement` is about the session's payment, and so may decide its status: a delivery or
    /// bounce of the destination token on the destination chain, or a refund of a token the session
    /// received a deposit of on that chain. Anything else (a token someone sent to the receiver only to
    /// have it refunded, say) is recorded as a movement and changes no status: otherwise a refund of junk
    /// would report the session `bounced` before its payer paid.
    fn decides_status(&self, settlement: &Settlement) -> bool {
        let chain_id = settlement.event.chain_id;
        match settlement.outcome {
            // Only a settlement that itself moved at least the minimum (the payer's deposit, a fronting,
            // a bridged payment) is the session's delivery, whatever the status: a claim or settle of dust
            // is a movement. In `processing` too: while the payer's payment is on its way across chains,
            // anyone can bridge dust to the destination; claimed there, it must not finish the session.
            Outcome::Delivered | Outcome::Bounced => {
                chain_id == self.destination.token.chain_id
                    && settlement.token == self.destination.token.address
                    && !settlement.amount.is_zero()
                    && settlement.amount >= self.min_amount
            }
            // Only once the payment started: a refund of dust that never started the session, or of a token
            // it cannot use, is a movement (and after expiry the session is `expired` anyway).
            // And only once the refunds of the payment on that chain reach the minimum (in the destination
            // token's units): dust refunded from the Solana inbox while the payer's deposit waits in the
            // vault must not end a paid session as `bounced`; but a payment refunded in pieces (part of it
            // bridged ahead by a third party, the rest sent home at expiry) does end it, or it would stay
            // `processing` for good.
            Outcome::Refunded => {
                let Some(paid) = self.deposits.iter().find(|d| {
                    d.event.chain_id == chain_id
                        && d.token.address == settlement.token
                        && !d.counted().is_zero()
                }) else {
                    return false;
                };
                let refunded = self
                    .settlements
                    .iter()
                    .filter(|s| {
                        s.outcome == Outcome::Refunded
                            && s.event.chain_id == chain_id
                            && s.token == settlement.token
                    })
                    .fold(settlement.amount, |sum, s| sum.saturating_add(s.amount));
                let refunded = rescale_down(refunded, paid.token.decimals, self.destination.token.decimals);
                self.status != SessionStatus::WaitingPayment
                    && !settlement.amount.is_zero()
                    && !refunded.is_zero()
                    && refunded >= self.min_amount
            }
        }
    }

    fn record_settlement(&mut self, settlement: Settlement) -> bool {
        if self.settlements.iter().any(|s| s.event == settlement.event) {
            return false;
        }
        let delivery = |received| Delivery { tx_hash: settlement.event.tx_hash, received };
        let (status, received) = match settlement.outcome {
            Outcome::Delivered => (SessionStatus::Succeeded, settlement.delivered),
            Outcome::Bounced | Outcome::Refunded => (SessionStatus::Bounced, settlement.refunded),
        };
        if !self.decides_status(&settlement) {
            self.settlements.push(settlement);
            return true;
        }
        if matches!(self.status, SessionStatus::Processing | SessionStatus::WaitingPayment) {
            self.status = status;
            self.destination.delivery = Some(delivery(received));
        } else if self.status == status && self.destination.delivery.is_none() {
            // The delivery that made this status was reorganised away; this one replaces it.
            self.destination.delivery = Some(delivery(received));
        }
        self.settlements.push(settlement);
        true
    }

    /// A settlement vanished in a reorg. The status stays (terminal statuses never change), but the
    /// delivery it recorded no longer exists: it is cleared until a new settlement lands.
    fn orphan_settlement(&mut self, id: EventId) -> bool {
        let before = self.settlements.len();
        self.settlements.retain(|s| s.event != id);
        if self.settlements.len() == before {
            return false;
        }
        if self.destination.delivery.as_ref().is_some_and(|d| d.tx_hash == id.tx_hash) {
            self.destination.delivery = None;
        }
        true
    }

    /// What `relayer` fronted on this session and has not been repaid: the least `still_owed` of its
    /// repayments (what it is owed only ever falls), or the whole fronting when none followed.
    pub fn owed_to(&self, relayer: &ChainAddress) -> U256 {
        let mine = self.frontings.iter().filter(|f| f.relayer == *relayer);
        match mine.clone().filter_map(|f| f.still_owed).min() {
            Some(owed) => owed,
            None => mine.map(|f| f.amount).fold(U256::ZERO, U256::saturating_add),
        }
    }

    fn record_work(&mut self, record: WorkRecord) -> bool {
        let slot = self.work.iter_mut().find(|w| w.chain_id == record.chain_id && w.action == record.action);
        match slot {
            Some(existing) if *existing == record => false,
            Some(existing) => {
                *existing = record;
                true
            }
            None => {
                self.work.push(record);
                true
            }
        }
    }

    fn tick(&mut self, now: u64) -> bool {
        let open =
            matches!(self.status, SessionStatus::RequiresPaymentMethod | SessionStatus::WaitingPayment);
        if open && now >= self.expires_at {
            self.status = SessionStatus::Expired;
            return true;
        }
        false
    }

    /// Total deposited so far, in base units.
    pub fn deposited(&self) -> U256 {
        self.deposits.iter().map(|d| d.amount).sum()
    }
}

/// Appends `item` unless one with the same event is there; whether it was added. These records never
/// move the status: the `Settled` events that go with them do.
fn record_once<T>(list: &mut Vec<T>, item: T, event: impl Fn(&T) -> EventId) -> bool {
    if list.iter().any(|x| event(x) == event(&item)) {
        return false;
    }
    list.push(item);
    true
}

/// `value` in `from` decimals, in `to` decimals, rounded down: a sum compared against a minimum never
/// reaches it by rounding.
fn rescale_down(value: U256, from: u8, to: u8) -> U256 {
    if to >= from {
        return crate::rescale_units(value, from, to).unwrap_or(U256::MAX);
    }
    value / U256::from(10u8).pow(U256::from(from - to))
}
