//! The pure planner: what to do with what sits at a session's receiver, and when.

use relayer_types::{Action, ChainAddress, Session, SessionStatus, U256};

/// When a [`Plan`] is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Now.
    Now,
    /// Once the session has expired (the router and the program refund a usable token only then; and
    /// dust waits for one sweep rather than costing the relayer a transaction per transfer).
    AtExpiry,
}

/// What to do with what sits at a session's receiver, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The action.
    pub action: Action,
    /// When.
    pub when: When,
}

/// What a chain's configuration says about planning for one of its receivers (see [`plan`]).
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    /// The route out of this chain to the session's destination chain, for this token, if any.
    pub route: Option<&'a relayer_chain::Route>,
    /// Less than this of the token is not worth a transaction of the relayer's (base units).
    pub floor: U256,
    /// Whether transfers bridged to the session's receiver on its destination chain add up there (see
    /// [`Chain::bridged_arrivals_add_up`](relayer_chain::Chain::bridged_arrivals_add_up)).
    pub destination_adds_up: bool,
    /// When the plan is made (unix seconds): past the session's expiry, what is below `floor` is left.
    pub now: u64,
}

/// What to do with what sits at a session's receiver on `chain_id` in `token` (see
/// [`Session::at_receiver`]: the deposits seen there, less what already left it). `None`: nothing worth
/// a transaction of the relayer's (anyone may still move it: every router and program entry point is
/// permissionless).
///
/// - Deliver it on the destination chain in the destination token once it reaches the session's minimum
///   (the first delivery), or the token's `floor` (a later arrival of a started session).
/// - Bridge it from another chain on a configured `route` delivering the destination token once what
///   the relayer's bridging delivers, with what was already bridged towards the destination when
///   arrivals add up there, reaches the session's minimum, and what sits here the route's minimum; once
///   the payment is on its way, a later arrival only when it reaches `floor`.
///   Where they do not add up (the Solana inbox claims each transfer alone), each bridging must carry the
///   minimum on its own, and a transfer that arrived short is sent back at once, to rejoin the rest.
/// - Refund a token the session cannot use at once (the router and the program allow it), when it
///   reaches `floor`.
/// - Anything else (a payment short of the minimum, dust after a delivery or a bridging, a chain with no
///   route) waits for expiry and is refunded then, in one transaction for all of it; after expiry
///   (whatever the session's status), what is below `floor` is left for whoever wants to pay for moving
///   it.
///
/// The attacks this stops: a griefer sending 1 base unit at a time to a public receiver, each making
/// the relayer pay a settle or a bridge (and a bridge's messaging fee); a griefer bridging part of a
/// payment ahead of the rest (the permissionless `bridge` has no minimum), so that neither part ever
/// reaches the minimum on its own.
pub fn plan(session: &Session, chain_id: u64, token: ChainAddress, terms: Terms<'_>) -> Option<Plan> {
    let dest = &session.destination.token;
    let now = |action| Some(Plan { action, when: When::Now });
    let refund = Action::Refund { token };
    let holding = session.at_receiver(chain_id, token);
    let at_receiver = holding.remaining();
    if at_receiver.is_zero() {
        return None;
    }
    let worth_a_transaction = at_receiver >= terms.floor;
    if session.status == SessionStatus::Expired {
        return worth_a_transaction.then_some(Plan { action: refund, when: When::Now });
    }
    // Zero counted means the session cannot use the token here.
    let Some(decimals) = decimals_of(session, chain_id, token, true) else {
        return worth_a_transaction.then_some(Plan { action: refund, when: When::Now });
    };
    // In the destination token's base units.
    let in_dest = |amount: U256, decimals: u8| {
        relayer_types::rescale_units(amount, decimals, dest.decimals).unwrap_or(U256::MAX)
    };
    let usable = in_dest(at_receiver, decimals);
    let reaches_minimum = |amount: U256| !amount.is_zero() && amount >= session.min_amount;
    // Past the expiry, whatever the status (a session that succeeded keeps its status after it), the
    // sweep "at expiry" would be now: one transaction per griefer's transfer. Below `floor`, left.
    let later = (terms.now <= session.expires_at || worth_a_transaction)
        .then_some(Plan { action: refund, when: When::AtExpiry });
    if chain_id == dest.chain_id {
        // Started here: something left this receiver already, or a relayer fronted the session.
        let started = !holding.left.is_zero() || !session.frontings.is_empty();
        if token == dest.address && (if started { worth_a_transaction } else { reaches_minimum(usable) }) {
            return now(Action::Settle { token });
        }
        // Short here, where bridged transfers do not add up: back where it came from, at once.
        let sent_back = !started && !terms.destination_adds_up && worth_a_transaction;
        return if sent_back { now(refund) } else { later };
    }
    let Some(r) = terms.route.filter(|r| r.to_token == dest.address && at_receiver >= r.min_amount) else {
        return later;
    };
    // What is already on its way to (or at) the destination receiver, at the worst fee its sender may
    // have chosen.
    let on_its_way = if terms.destination_adds_up {
        session
            .bridges
            .iter()
            .filter(|b| b.to_chain_id == Some(dest.chain_id) && !b.home)
            .filter_map(|b| {
                let decimals = decimals_of(session, b.event.chain_id, b.token, false)?;
                Some(in_dest(r.worst_delivery(b.amount, false), decimals))
            })
            .fold(U256::ZERO, U256::saturating_add)
    } else {
        U256::ZERO
    };
    // Once the payment is on its way, what arrives later is bridged only if it is worth a transaction.
    let enough = if reaches_minimum(on_its_way) {
        worth_a_transaction
    } else {
        reaches_minimum(r.worst_delivery(usable, true).saturating_add(on_its_way))
    };
    if enough { now(Action::Bridge { token, adapter: r.adapter }) } else { later }
}

/// The decimals of `token` on `chain_id`, from a deposit of it there (only one the session can use, if
/// `usable`).
fn decimals_of(session: &Session, chain_id: u64, token: ChainAddress, usable: bool) -> Option<u8> {
    session
        .deposits
        .iter()
        .find(|d| {
            d.event.chain_id == chain_id && d.token.address == token && (!usable || !d.counted().is_zero())
        })
        .map(|d| d.token.decimals)
}
