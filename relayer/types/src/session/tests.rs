use alloy_primitives::Address;

use super::*;

#[test]
fn every_family_commits_a_refund_address_it_can_pay_or_none() {
    let wallet = ChainAddress::Solana([9; 32]);
    let refund = ChainAddress::Evm(Address::repeat_byte(0xbe));
    let dest = Address::repeat_byte(0xd0);
    let mut s = session(RequiresPaymentMethod);
    // An EVM destination: its own address unless the integrator gave a refund address; nothing on
    // Solana until a Solana wallet pays.
    assert_eq!(s.commitment().refund_address, dest.into_word());
    assert_eq!(s.commitment().solana_refund_address, B256::ZERO);
    s.refund_address = Some(refund);
    assert_eq!(s.commitment().refund_address, refund.word());
    s.payment_method = Some(PaymentMethod::Solana { wallet, source: None, created_at: 1 });
    let c = s.commitment();
    assert_eq!((c.refund_address, c.solana_refund_address), (refund.word(), wallet.word()));
    // A Solana destination: the destination itself on Solana, and on EVM chains only the
    // integrator's refund address (a Solana key is no EVM address).
    let mut solana_dest = session(RequiresPaymentMethod);
    solana_dest.destination.address = ChainAddress::Solana([7; 32]);
    let c = solana_dest.commitment();
    assert_eq!((c.refund_address, c.solana_refund_address), (B256::ZERO, B256::from([7; 32])));
    solana_dest.refund_address = Some(refund);
    solana_dest.payment_method = Some(evm());
    let c = solana_dest.commitment();
    assert_eq!((c.refund_address, c.solana_refund_address), (refund.word(), B256::from([7; 32])));
    // The minimum is the session's, fixed at creation.
    solana_dest.min_amount = U256::from(9_990_000u64);
    assert_eq!(solana_dest.commitment().min_amount, U256::from(9_990_000u64));
}

#[test]
fn outcome_mirrors_the_solidity_enum_in_declaration_order() {
    assert_eq!(Outcome::try_from(0), Ok(Outcome::Delivered));
    assert_eq!(Outcome::try_from(1), Ok(Outcome::Bounced));
    assert_eq!(Outcome::try_from(2), Ok(Outcome::Refunded));
    assert_eq!(Outcome::try_from(3), Err(UnknownOutcome(3)));
    assert_eq!(Outcome::try_from(u8::MAX), Err(UnknownOutcome(u8::MAX)));
}
use SessionStatus::*;

const EXPIRES: u64 = 1_700_003_600;

fn token() -> TokenRef {
    TokenRef {
        chain_id: 8453,
        chain_name: "Base".into(),
        address: Address::repeat_byte(0x83).into(),
        symbol: "USDC".into(),
        decimals: 6,
    }
}

fn session(status: SessionStatus) -> Session {
    Session {
        id: SessionId::from_bytes([1; 16]),
        client_secret: ClientSecret::from_bytes([2; 16]),
        status,
        destination: Destination {
            address: Address::repeat_byte(0xd0).into(),
            token: token(),
            amount: Some(U256::from(10_000_000u64)),
            calldata: None,
            delivery: None,
        },
        display: DisplayInfo {
            title: "Deposit to Acme".into(),
            verb: "Deposit".into(),
            theme_css_url: None,
            payment_options: None,
        },
        metadata: None,
        refund_address: None,
        min_amount: U256::from(9_990_000u64),
        payment_method: (status != RequiresPaymentMethod).then(evm),
        created_at: EXPIRES - 3600,
        expires_at: EXPIRES,
        deposits: vec![],
        bridges: vec![],
        frontings: vec![],
        settlements: vec![],
        work: vec![],
    }
}

fn evm() -> PaymentMethod {
    PaymentMethod::Evm {
        receiver: Address::repeat_byte(0xee).into(),
        source: None,
        created_at: EXPIRES - 3000,
    }
}

fn event(n: u8) -> EventId {
    EventId { chain_id: 8453, block_number: u64::from(n), tx_hash: B256::repeat_byte(n).into(), log_index: 0 }
}

fn deposit(n: u8) -> SessionEvent {
    SessionEvent::DepositDetected(Deposit {
        event: event(n),
        block_hash: B256::repeat_byte(0xbb),
        from: Address::repeat_byte(0xaa).into(),
        token: token(),
        amount: U256::from(10_000_000u64),
        counts: None,
    })
}

fn settled(n: u8, outcome: Outcome) -> SessionEvent {
    SessionEvent::Settled(Settlement {
        event: event(n),
        token: token().address,
        outcome,
        amount: U256::from(10_000_000u64),
        delivered: U256::from(if outcome == Outcome::Delivered { 10_000_000u64 } else { 0 }),
        refunded: U256::from(if outcome == Outcome::Delivered { 0 } else { 10_000_000u64 }),
    })
}

fn set_pm(now: u64) -> SessionEvent {
    SessionEvent::PaymentMethodSet { method: evm(), now }
}

#[test]
fn transitions_follow_the_lifecycle_table() {
    let before = EXPIRES - 10;
    let after = EXPIRES;
    // (from, event, expected status or error)
    let table: Vec<(SessionStatus, SessionEvent, Result<SessionStatus, StateError>)> = vec![
        (RequiresPaymentMethod, set_pm(before), Ok(WaitingPayment)),
        (RequiresPaymentMethod, set_pm(after), Err(StateError::Expired)),
        (RequiresPaymentMethod, SessionEvent::Tick { now: before }, Ok(RequiresPaymentMethod)),
        (RequiresPaymentMethod, SessionEvent::Tick { now: after }, Ok(Expired)),
        (WaitingPayment, set_pm(before), Ok(WaitingPayment)),
        (WaitingPayment, deposit(1), Ok(Processing)),
        (WaitingPayment, SessionEvent::Tick { now: after }, Ok(Expired)),
        (WaitingPayment, settled(1, Outcome::Delivered), Ok(Succeeded)),
        (Processing, SessionEvent::Tick { now: after }, Ok(Processing)),
        (Processing, deposit(2), Ok(Processing)),
        (Processing, settled(1, Outcome::Delivered), Ok(Succeeded)),
        (Processing, settled(1, Outcome::Bounced), Ok(Bounced)),
        // A refund moves the status only when it returns a deposit the session received (below).
        (Processing, settled(1, Outcome::Refunded), Ok(Processing)),
        (Processing, set_pm(before), Err(StateError::WrongStatus("processing"))),
        (Succeeded, deposit(2), Ok(Succeeded)),
        (Succeeded, settled(2, Outcome::Refunded), Ok(Succeeded)),
        (Succeeded, set_pm(before), Err(StateError::WrongStatus("succeeded"))),
        (Bounced, settled(2, Outcome::Delivered), Ok(Bounced)),
        (Bounced, SessionEvent::Tick { now: after }, Ok(Bounced)),
        (Expired, deposit(1), Ok(Expired)),
        (Expired, settled(1, Outcome::Delivered), Ok(Expired)),
        (Expired, set_pm(before), Err(StateError::Expired)),
    ];
    for (from, ev, want) in table {
        let mut s = session(from);
        let original = s.clone();
        let got = s.apply(ev.clone()).map(|a| a.to);
        assert_eq!(got, want, "{from:?} + {ev:?}");
        if got.is_err() {
            assert_eq!(s, original, "a refused event changed the session: {from:?} + {ev:?}");
        }
    }
}

#[test]
fn terminal_statuses_never_change() {
    let events = [
        set_pm(0),
        deposit(3),
        settled(3, Outcome::Delivered),
        settled(4, Outcome::Bounced),
        SessionEvent::Tick { now: u64::MAX },
        SessionEvent::DepositOrphaned(event(3)),
    ];
    for status in SessionStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
        let mut s = session(status);
        for ev in events.clone() {
            let _ = s.apply(ev);
            assert_eq!(s.status, status);
        }
    }
}

#[test]
fn deposit_sets_the_payment_method_source_and_replays_are_ignored() {
    let mut s = session(WaitingPayment);
    assert!(s.apply(deposit(1)).is_ok_and(|a| a.changed));
    let Some(PaymentMethod::Evm { source: Some(source), .. }) = &s.payment_method else {
        panic!("source not set")
    };
    assert_eq!(source.tx_hash, B256::repeat_byte(1).into());
    assert_eq!(source.sent, U256::from(10_000_000u64));
    assert_eq!(s.apply(deposit(1)), Ok(Applied { from: Processing, to: Processing, changed: false }));
    assert_eq!(s.deposits.len(), 1);
}

#[test]
fn delivery_carries_the_settlement_tx_and_measured_amount() {
    let mut s = session(Processing);
    let mut ev = settled(7, Outcome::Delivered);
    if let SessionEvent::Settled(st) = &mut ev {
        st.delivered = U256::from(9_900_000u64);
    }
    s.apply(ev).ok();
    assert_eq!(
        s.destination.delivery,
        Some(Delivery { tx_hash: B256::repeat_byte(7).into(), received: U256::from(9_900_000u64) })
    );
}

#[test]
fn bounced_delivery_is_the_refund() {
    let mut s = session(Processing);
    s.apply(settled(8, Outcome::Bounced)).ok();
    assert_eq!(s.status, Bounced);
    assert_eq!(s.destination.delivery.map(|d| d.received), Some(U256::from(10_000_000u64)));
}

#[test]
fn late_deposits_and_settlements_are_recorded_on_terminal_sessions() {
    let mut s = session(Succeeded);
    s.apply(deposit(5)).ok();
    s.apply(settled(6, Outcome::Delivered)).ok();
    assert_eq!((s.deposits.len(), s.settlements.len(), s.status), (1, 1, Succeeded));
}

#[test]
fn an_orphaned_only_deposit_returns_the_session_to_waiting_payment() {
    let mut s = session(WaitingPayment);
    s.apply(deposit(1)).ok();
    s.apply(SessionEvent::DepositOrphaned(event(1))).ok();
    assert_eq!(s.status, WaitingPayment);
    assert!(matches!(s.payment_method, Some(PaymentMethod::Evm { source: None, .. })));
}

#[test]
fn work_records_keep_the_latest_state_per_chain_and_action_and_never_change_the_status() {
    use crate::work::{Action, WorkState};
    let token = token().address;
    let record = |action, attempts, state| {
        SessionEvent::Work(WorkRecord { chain_id: 8453, action, attempts, reverts: 0, state, updated_at: 1 })
    };
    let waiting = WorkState::Retrying { reason: "rpc".into(), retry_at: 9 };
    for status in SessionStatus::ALL {
        let mut s = session(status);
        let settle = Action::Settle { token };
        assert!(s.apply(record(settle, 1, waiting.clone())).is_ok_and(|a| a.changed));
        assert!(s.apply(record(settle, 1, waiting.clone())).is_ok_and(|a| !a.changed), "replay");
        let sent = WorkState::Sent { tx_hash: B256::repeat_byte(3).into() };
        assert!(s.apply(record(settle, 2, sent.clone())).is_ok_and(|a| a.changed));
        s.apply(record(Action::Refund { token }, 1, waiting.clone())).ok();
        assert_eq!(s.work.len(), 2, "one record per action");
        assert_eq!(s.work[0].state, sent);
        assert_eq!(s.work[0].attempts, 2);
        assert_eq!(s.status, status, "work never moves the status");
    }
}

#[test]
fn sessions_stored_before_work_records_existed_still_read() {
    let mut stored = serde_json::to_value(session(Processing)).expect("encode");
    assert!(stored.get("work").is_none(), "no records: not written");
    stored.as_object_mut().map(|o| o.remove("work"));
    let read: Session = serde_json::from_value(stored).expect("decode");
    assert!(read.work.is_empty());
}

#[test]
fn a_delivery_reorganised_away_is_cleared_and_the_next_one_recorded_without_changing_the_status() {
    let mut s = session(Processing);
    s.apply(deposit(1)).ok();
    s.apply(settled(2, Outcome::Delivered)).ok();
    assert_eq!(s.status, Succeeded);
    assert!(s.apply(SessionEvent::SettlementOrphaned(event(2))).is_ok_and(|a| a.changed));
    assert_eq!((s.status, s.destination.delivery.clone(), s.settlements.len()), (Succeeded, None, 0));
    assert!(s.apply(SessionEvent::SettlementOrphaned(event(2))).is_ok_and(|a| !a.changed), "replay");
    let mut again = settled(3, Outcome::Delivered);
    if let SessionEvent::Settled(st) = &mut again {
        st.delivered = U256::from(9_990_000u64);
    }
    s.apply(again).ok();
    assert_eq!(
        s.destination.delivery,
        Some(Delivery { tx_hash: B256::repeat_byte(3).into(), received: U256::from(9_990_000u64) })
    );
    // A later settlement never overwrites a delivery that stands, nor one of the other outcome.
    s.apply(settled(4, Outcome::Delivered)).ok();
    assert_eq!(s.destination.delivery.as_ref().map(|d| d.tx_hash), Some(B256::repeat_byte(3).into()));
    let mut b = session(Bounced);
    b.apply(settled(5, Outcome::Delivered)).ok();
    assert_eq!(b.destination.delivery, None, "a delivery does not describe a bounced session");
}

#[test]
fn only_settlements_of_the_sessions_payment_decide_its_status() {
    let junk = ChainAddress::Evm(Address::repeat_byte(0x99));
    let with_token = |ev: SessionEvent, token: ChainAddress, chain_id: u64| match ev {
        SessionEvent::Settled(mut st) => {
            st.token = token;
            st.event.chain_id = chain_id;
            SessionEvent::Settled(st)
        }
        other => other,
    };
    // Someone sends a junk token to a waiting session's receiver and has the router refund it: a
    // movement on the session, not a bounce of a payment nobody made.
    let mut s = session(WaitingPayment);
    assert!(s.apply(with_token(settled(1, Outcome::Refunded), junk, 8453)).is_ok_and(|a| a.changed));
    assert_eq!((s.status, s.destination.delivery.clone(), s.settlements.len()), (WaitingPayment, None, 1));
    // A delivery or bounce of another token, or on another chain, decides nothing either.
    for (outcome, token, chain) in [
        (Outcome::Delivered, junk, 8453),
        (Outcome::Bounced, junk, 8453),
        (Outcome::Delivered, token().address, 42161),
    ] {
        let mut s = session(WaitingPayment);
        s.apply(with_token(settled(2, outcome), token, chain)).ok();
        assert_eq!(s.status, WaitingPayment, "{outcome:?} of {token} on {chain}");
    }
    // A refund of what the payer deposited (expired, or no route) is the session's bounce.
    let mut s = session(WaitingPayment);
    s.apply(deposit(3)).ok();
    s.apply(settled(4, Outcome::Refunded)).ok();
    assert_eq!(s.status, Bounced);
    assert_eq!(s.destination.delivery.map(|d| d.tx_hash), Some(B256::repeat_byte(4).into()));
    // On a source chain: deposited there, refunded there.
    let mut s = session(WaitingPayment);
    let mut paid = deposit(5);
    if let SessionEvent::DepositDetected(d) = &mut paid {
        d.event.chain_id = 42161;
    }
    s.apply(paid).ok();
    s.apply(with_token(settled(6, Outcome::Refunded), token().address, 42161)).ok();
    assert_eq!(s.status, Bounced);
}

/// A refund decides the status once the refunds of the payment on that chain reach the minimum in
/// the destination token's units: dust (however fine the source token's units) never does, pieces
/// that add up do.
#[test]
fn refunds_decide_the_status_once_they_add_up_to_the_minimum_in_the_destinations_units() {
    // The payment on a chain whose USDT has 18 decimals (BNB Chain's).
    let usdt = TokenRef { chain_id: 56, decimals: 18, ..token() };
    let on_bsc = |n: u8| EventId { chain_id: 56, ..event(n) };
    let refund = |n: u8, amount: U256| {
        SessionEvent::Settled(Settlement {
            event: on_bsc(n),
            token: usdt.address,
            outcome: Outcome::Refunded,
            amount,
            delivered: U256::ZERO,
            refunded: amount,
        })
    };
    let mut s = session(WaitingPayment);
    let paid = U256::from(10u64).pow(U256::from(19u64)); // 10.00 at 18 decimals
    s.apply(SessionEvent::DepositDetected(Deposit {
        event: on_bsc(1),
        block_hash: B256::ZERO,
        from: Address::repeat_byte(0xaa).into(),
        token: usdt.clone(),
        amount: paid,
        counts: Some(U256::from(10_000_000u64)),
    }))
    .ok();
    assert_eq!(s.status, Processing);
    // 9,989,999,999,999 wei is more than the 6-decimal minimum's 9,990,000 units, but not 9.99 USDT.
    s.apply(refund(2, U256::from(9_989_999_999_999u64))).ok();
    assert_eq!(s.status, Processing, "dust in fine units is no bounce");
    // The rest, refunded in a second piece: together they reach the minimum.
    s.apply(refund(3, paid - U256::from(9_989_999_999_999u64))).ok();
    assert_eq!(s.status, Bounced, "a payment refunded in pieces ends the session");
    assert_eq!(s.destination.delivery.map(|d| d.tx_hash), Some(B256::repeat_byte(3).into()));
}

#[test]
fn a_different_payment_method_conflicts() {
    let mut s = session(WaitingPayment);
    let other = PaymentMethod::Evm { receiver: Address::repeat_byte(1).into(), source: None, created_at: 0 };
    assert_eq!(
        s.apply(SessionEvent::PaymentMethodSet { method: other, now: 0 }),
        Err(StateError::PaymentMethodConflict)
    );
}
