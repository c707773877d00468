//! Sessions as the previous build stored them (schema 2: every address a plain `0x…` string, every
//! transaction a 32-byte hash, no work records) still read, with every field where it was.

use relayer_types::{ChainAddress, PaymentMethod, Session, SessionStatus, TxId};

#[test]
fn a_session_written_by_the_previous_build_reads_unchanged() {
    let text = include_str!("fixtures/session-schema-2.json");
    let session: Session = serde_json::from_str(text).expect("schema-2 session reads");
    let evm = |b: u8| ChainAddress::Evm(relayer_types::Address::repeat_byte(b));
    assert_eq!(session.status, SessionStatus::Succeeded);
    assert_eq!(session.destination.address, evm(0xd0));
    assert_eq!(session.destination.token.address, evm(0x83));
    assert_eq!(session.refund_address, Some(evm(0xbe)));
    assert_eq!(session.destination.delivery.as_ref().map(|d| d.tx_hash), Some(TxId::Evm([7; 32].into())));
    let Some(PaymentMethod::Evm { receiver, source: Some(source), .. }) = &session.payment_method else {
        panic!("evm payment method with its source: {:?}", session.payment_method)
    };
    assert_eq!((*receiver, source.from), (evm(0xee), evm(0xaa)));
    assert_eq!(session.deposits[0].event.tx_hash, TxId::Evm([9; 32].into()));
    assert_eq!(session.settlements[0].token, evm(0x83));
    assert!(session.work.is_empty());
    // Written again and read back: the same session.
    let again: Session =
        serde_json::from_str(&serde_json::to_string(&session).expect("write")).expect("read");
    assert_eq!(again, session);
}
