//! End-to-end: real anvil, contracts compiled from this repository, the real relayer, real HTTP.

use std::time::Duration;

use alloy::{
    primitives::{Address, Bytes, U256},
    sol_types::SolCall,
};
use e2e::{API_KEY, Api, Auth, Chain, DEST, REFUND, Relayer, Settings, session_body, usdc};
use relayer::devnet::BASE_USDC;
use relayer_evm::bindings::{PullAllowanceTarget, RevertingTarget};
use relayer_types::SessionId;
use reqwest::Method;
use serde_json::{Value, json};

type Result = eyre::Result<()>;

fn id_of(session: &Value) -> String {
    session["sessionId"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_session_succeeds_and_the_destination_receives_the_amount() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let session = relayer
        .api
        .create(&session_body(DEST, Some("10.00"), None, None))
        .await?;
    assert_eq!(session["status"], "requires_payment_method");
    assert_eq!(session["destination"]["chainName"], "Base");
    assert_eq!(session["destination"]["tokenSymbol"], "USDC");
    assert_eq!(session["destination"]["amountUnits"], "10.00");
    assert_eq!(session["paymentMethod"], Value::Null);

    let receiver = relayer.api.set_evm(&session).await?;
    assert_eq!(
        receiver,
        chain.deployment.receiver(&relayer_evm::commitment(
            &relayer.node.engine.session(&id_of(&session).parse()?)?
        ))
    );
    let deposit_tx = chain.pay(receiver, usdc(10)).await?;

    let done = relayer
        .api
        .wait_for(&id_of(&session), "succeeded", 30)
        .await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "10.00");
    let source = &done["paymentMethod"]["source"];
    assert_eq!(source["address"], chain.payer_address.to_checksum(None));
    assert_eq!(source["chainId"], 8453);
    assert_eq!(source["chainName"], "Base");
    assert_eq!(source["tokenAddress"], BASE_USDC.to_checksum(None));
    assert_eq!(source["tokenSymbol"], "USDC");
    assert_eq!(source["sentUnits"], "10.00");
    assert_eq!(source["txHash"], deposit_tx.to_string());
    assert_eq!(
        chain.balance(DEST).await?,
        usdc(10),
        "destination received the deposit"
    );
    assert_eq!(chain.balance(receiver).await?, U256::ZERO);
    let delivery_tx: alloy::primitives::B256 = done["destination"]["delivery"]["txHash"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    let receipt =
        alloy::providers::Provider::get_transaction_receipt(&chain.deployer, delivery_tx).await?;
    assert!(
        receipt.is_some_and(|r| r.status()),
        "delivery txHash is the mined settlement"
    );
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn calldata_session_delivers_and_the_target_pulls_its_allowance() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let target = chain.deploy_pull_target().await?;
    let beneficiary = Address::repeat_byte(0xaa);
    let call = PullAllowanceTarget::depositCall {
        token: BASE_USDC,
        beneficiary,
    }
    .abi_encode();
    let session = relayer
        .api
        .create(&session_body(
            target,
            Some("25.00"),
            Some(Bytes::from(call)),
            Some(REFUND),
        ))
        .await?;
    assert_eq!(
        session["destination"]["calldata"]
            .as_str()
            .map(|s| s.starts_with("0x")),
        Some(true)
    );
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(25)).await?;

    let done = relayer
        .api
        .wait_for(&id_of(&session), "succeeded", 30)
        .await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "25.00");
    assert_eq!(
        chain.balance(target).await?,
        usdc(25),
        "target pulled its full allowance"
    );
    let credited = PullAllowanceTarget::new(target, &chain.deployer)
        .credited(beneficiary)
        .call()
        .await?;
    assert_eq!(credited, usdc(25));
    assert_eq!(chain.balance(REFUND).await?, U256::ZERO);
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn reverting_target_bounces_funds_to_the_refund_address() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let target = chain.deploy_reverting_target().await?;
    let call = RevertingTarget::depositCall {
        _0: BASE_USDC,
        _1: Address::repeat_byte(1),
    }
    .abi_encode();
    let session = relayer
        .api
        .create(&session_body(
            target,
            Some("5.00"),
            Some(Bytes::from(call)),
            Some(REFUND),
        ))
        .await?;
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(5)).await?;

    let done = relayer
        .api
        .wait_for(&id_of(&session), "bounced", 30)
        .await?;
    assert_eq!(
        done["destination"]["delivery"]["receivedUnits"], "5.00",
        "delivery reports the refund"
    );
    assert_eq!(
        chain.balance(REFUND).await?,
        usdc(5),
        "funds at the refund address"
    );
    assert_eq!(chain.balance(target).await?, U256::ZERO);
    let refund_tx: alloy::primitives::B256 = done["destination"]["delivery"]["txHash"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    assert!(
        alloy::providers::Provider::get_transaction_receipt(&chain.deployer, refund_tx)
            .await?
            .is_some()
    );
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn open_amount_and_under_or_over_payments_deliver_what_arrived() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    // (requested, paid in micro-USDC, expected receivedUnits)
    let cases = [
        (None, 3_500_000u64, "3.50"),
        (Some("10.00"), 7_000_000, "7.00"),
        (Some("10.00"), 12_345_678, "12.345678"),
    ];
    let mut dests = vec![];
    for (i, (requested, paid, _)) in cases.iter().enumerate() {
        let dest = Address::with_last_byte(0x40 + i as u8);
        let session = relayer
            .api
            .create(&session_body(dest, *requested, None, None))
            .await?;
        if requested.is_none() {
            assert!(
                session["destination"].get("amountUnits").is_none(),
                "open amount has no amountUnits"
            );
        }
        let receiver = relayer.api.set_evm(&session).await?;
        chain.pay(receiver, U256::from(*paid)).await?;
        dests.push((id_of(&session), dest));
    }
    for ((id, dest), (_, paid, want)) in dests.iter().zip(cases) {
        let done = relayer.api.wait_for(id, "succeeded", 30).await?;
        assert_eq!(done["destination"]["delivery"]["receivedUnits"], want);
        assert_eq!(done["paymentMethod"]["source"]["sentUnits"], want);
        assert_eq!(chain.balance(*dest).await?, U256::from(paid));
    }
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_expire_and_a_late_deposit_is_refunded_and_recorded() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(
        &chain,
        Settings {
            session_lifetime_secs: 2,
            ..Settings::default()
        },
    )
    .await?;
    let never_paid = relayer
        .api
        .create(&session_body(DEST, Some("1.00"), None, None))
        .await?;
    let late = relayer
        .api
        .create(&session_body(DEST, Some("1.00"), None, Some(REFUND)))
        .await?;
    let receiver = relayer.api.set_evm(&late).await?;

    relayer
        .api
        .wait_for(&id_of(&never_paid), "expired", 15)
        .await?;
    relayer.api.wait_for(&id_of(&late), "expired", 15).await?;
    let answer = relayer
        .api
        .json(
            Method::POST,
            &format!("/v1/sessions/{}/paymentMethods", id_of(&never_paid)),
            &json!({"clientSecret": never_paid["clientSecret"], "paymentMethod": {"type": "evm"}}),
            Auth::None,
        )
        .await?;
    assert_eq!(
        (answer.status, answer.body["error"]["code"].as_str()),
        (400, Some("session_expired"))
    );

    // Funds sent after expiry are not lost: they go back to the refund address; the status stays.
    chain.pay(receiver, usdc(1)).await?;
    let id: SessionId = id_of(&late).parse()?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while chain.balance(REFUND).await? != usdc(1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "late deposit was not refunded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = relayer.node.engine.session(&id)?;
    assert_eq!(
        stored.status,
        relayer_types::SessionStatus::Expired,
        "a terminal status never changes"
    );
    assert_eq!(stored.deposits.len(), 1, "late deposit recorded");
    assert_eq!(stored.settlements.len(), 1, "refund recorded");
    assert_eq!(
        stored.settlements[0].outcome,
        relayer_types::Outcome::Refunded
    );
    assert_eq!(chain.balance(DEST).await?, U256::ZERO);
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_deposit_after_success_is_delivered_and_recorded() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let session = relayer
        .api
        .create(&session_body(DEST, Some("10.00"), None, None))
        .await?;
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(10)).await?;
    let first = relayer
        .api
        .wait_for(&id_of(&session), "succeeded", 30)
        .await?;

    chain.pay(receiver, usdc(4)).await?;
    let id: SessionId = id_of(&session).parse()?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while relayer.node.engine.session(&id)?.settlements.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "second deposit was not settled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        chain.balance(DEST).await?,
        usdc(14),
        "both deposits delivered"
    );
    let stored = relayer.node.engine.session(&id)?;
    assert_eq!((stored.deposits.len(), stored.settlements.len()), (2, 2));
    let after = relayer.api.get(&id_of(&session)).await?;
    assert_eq!(after["status"], "succeeded");
    assert_eq!(
        after["destination"]["delivery"], first["destination"]["delivery"],
        "the reported delivery is the first"
    );
    relayer.node.shutdown().await;
    Ok(())
}
