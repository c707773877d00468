//! End-to-end: real anvil, contracts compiled from this repository, the real relayer, real HTTP.

use std::time::Duration;

use alloy::{
    primitives::{Address, Bytes, U256},
    providers::Provider,
    sol_types::SolCall,
};
use e2e::{API_KEY, Api, Auth, Chain, DEST, REFUND, Relayer, Settings, session_body, usdc, wait_until};
use relayer_devnet::{BASE_USDC, bindings::PullAllowanceTarget};
use relayer_evm::{
    bindings::{DepositRouter, DepositRouter::DepositRouterErrors},
    create2::deposit_params,
};
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
    let session = relayer.api.create(&session_body(DEST, Some("10.00"), None, None)).await?;
    assert_eq!(session["status"], "requires_payment_method");
    assert_eq!(session["destination"]["chainName"], "Base");
    assert_eq!(session["destination"]["tokenSymbol"], "USDC");
    assert_eq!(session["destination"]["amountUnits"], "10.00");
    assert_eq!(session["paymentMethod"], Value::Null);

    let receiver = relayer.api.set_evm(&session).await?;
    assert_eq!(
        receiver,
        chain
            .deployment
            .receiver(&deposit_params(&relayer.node.engine.session(&id_of(&session).parse()?)?.commitment()))
    );
    let deposit_tx = chain.pay(receiver, usdc(10)).await?;

    let done = relayer.api.wait_for(&id_of(&session), "succeeded", 30).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "10.00");
    let source = &done["paymentMethod"]["source"];
    assert_eq!(source["address"], chain.payer_address.to_checksum(None));
    assert_eq!(source["chainId"], 8453);
    assert_eq!(source["chainName"], "Base");
    assert_eq!(source["tokenAddress"], BASE_USDC.to_checksum(None));
    assert_eq!(source["tokenSymbol"], "USDC");
    assert_eq!(source["sentUnits"], "10.00");
    assert_eq!(source["txHash"], deposit_tx.to_string());
    assert_eq!(chain.balance(DEST).await?, usdc(10), "destination received the deposit");
    assert_eq!(chain.balance(receiver).await?, U256::ZERO);
    let delivery_tx: alloy::primitives::B256 =
        done["destination"]["delivery"]["txHash"].as_str().unwrap_or_default().parse()?;
    let receipt = alloy::providers::Provider::get_transaction_receipt(&chain.deployer, delivery_tx).await?;
    assert!(receipt.is_some_and(|r| r.status()), "delivery txHash is the mined settlement");
    relayer.node.shutdown().await;
    Ok(())
}

/// A chain, a relayer and a 25.00 calldata session whose target pulls its allowance and credits
/// `beneficiary`: (chain, relayer, target, beneficiary, session).
async fn pull_session() -> eyre::Result<(Chain, Relayer, Address, Address, Value)> {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let target = chain.deploy_pull_target().await?;
    let beneficiary = Address::repeat_byte(0xaa);
    let call = PullAllowanceTarget::depositCall { token: BASE_USDC, beneficiary }.abi_encode();
    let session = relayer
        .api
        .create(&session_body(target, Some("25.00"), Some(Bytes::from(call)), Some(REFUND)))
        .await?;
    Ok((chain, relayer, target, beneficiary, session))
}

#[tokio::test(flavor = "multi_thread")]
async fn calldata_session_delivers_and_the_target_pulls_its_allowance() -> Result {
    let (chain, relayer, target, beneficiary, session) = pull_session().await?;
    assert_eq!(session["destination"]["calldata"].as_str().map(|s| s.starts_with("0x")), Some(true));
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(25)).await?;

    let done = relayer.api.wait_for(&id_of(&session), "succeeded", 30).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "25.00");
    assert_eq!(chain.balance(target).await?, usdc(25), "target pulled its full allowance");
    let credited = PullAllowanceTarget::new(target, &chain.deployer).credited(beneficiary).call().await?;
    assert_eq!(credited, usdc(25));
    assert_eq!(chain.balance(REFUND).await?, U256::ZERO);
    relayer.node.shutdown().await;
    Ok(())
}

/// The attack (from the issue-19 review): one base unit sent ahead of the payer, then a permissionless
/// `settle`, used to spend a calldata session's single call on dust, so the payer's real deposit could
/// only be refunded. The committed minimum stops it: the router refuses to start a session below it, the
/// relayer does not start it either, and the payer's deposit is delivered with the dust.
#[tokio::test(flavor = "multi_thread")]
async fn dust_ahead_of_the_payer_cannot_spend_a_calldata_sessions_call() -> Result {
    let (chain, relayer, target, beneficiary, session) = pull_session().await?;
    let id = id_of(&session);
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, U256::from(1u64)).await?;

    // Anyone may call the router; with one unit in the receiver it refuses.
    let params = deposit_params(&relayer.node.engine.session(&id.parse()?)?.commitment());
    let router = DepositRouter::new(chain.deployment.router, &chain.payer);
    let refused = router.settle(params, BASE_USDC).call().await.expect_err("settle below the minimum");
    let minimum = refused.as_decoded_interface_error::<DepositRouterErrors>().and_then(|e| match e {
        DepositRouterErrors::BelowMinimum(m) => Some(m),
        _ => None,
    });
    assert_eq!(
        minimum.map(|m| (m.available, m.minAmount)),
        Some((U256::from(1u64), usdc(25))),
        "the router names the minimum: {refused}"
    );
    wait_until(10, "the dust indexed", async || {
        Ok(relayer.api.get(&id).await?["deposits"].as_array().map(Vec::len) == Some(1))
    })
    .await?;
    let waiting = relayer.api.get(&id).await?;
    assert_eq!(waiting["status"], "waiting_payment", "dust starts nothing: {waiting}");
    assert_eq!(chain.balance(receiver).await?, U256::from(1u64));

    chain.pay(receiver, usdc(25)).await?;
    let done = relayer.api.wait_for(&id, "succeeded", 30).await?;
    let credited = PullAllowanceTarget::new(target, &chain.deployer).credited(beneficiary).call().await?;
    assert_eq!(credited, usdc(25) + U256::from(1u64), "the call received the payer's deposit and the dust");
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "25.000001", "{done}");
    assert_eq!(chain.balance(REFUND).await?, U256::ZERO, "nothing bounced");
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn reverting_target_bounces_funds_to_the_refund_address() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let (body, target) = chain.bouncing_session_body("5.00").await?;
    let session = relayer.api.create(&body).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(5)).await?;

    let done = relayer.api.wait_for(&id_of(&session), "bounced", 30).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "5.00", "delivery reports the refund");
    assert_eq!(chain.balance(REFUND).await?, usdc(5), "funds at the refund address");
    assert_eq!(chain.balance(target).await?, U256::ZERO);
    let refund_tx: alloy::primitives::B256 =
        done["destination"]["delivery"]["txHash"].as_str().unwrap_or_default().parse()?;
    assert!(alloy::providers::Provider::get_transaction_receipt(&chain.deployer, refund_tx).await?.is_some());
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn open_amount_and_over_payments_deliver_what_arrived_and_short_ones_wait_for_the_rest() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    // (requested, paid in micro-USDC, expected receivedUnits)
    let cases = [(None, 3_500_000u64, "3.50"), (Some("10.00"), 12_345_678, "12.345678")];
    let mut dests = vec![];
    for (i, (requested, paid, _)) in cases.iter().enumerate() {
        let dest = Address::with_last_byte(0x40 + i as u8);
        let session = relayer.api.create(&session_body(dest, *requested, None, None)).await?;
        if requested.is_none() {
            assert!(session["destination"].get("amountUnits").is_none(), "open amount has no amountUnits");
        }
        let receiver = relayer.api.set_evm(&session).await?;
        chain.pay(receiver, U256::from(*paid)).await?;
        dests.push((id_of(&session), dest));
    }
    // Short of what starts a session (the contracts start nothing below the committed minimum): 7.00 of a
    // fixed 10.00, and 0.50 of an open amount (below the token's 1.00 minimum). Both wait for more.
    let (short_dest, dust_dest) = (Address::with_last_byte(0x50), Address::with_last_byte(0x51));
    let short = relayer.api.create(&session_body(short_dest, Some("10.00"), None, None)).await?;
    let short_receiver = relayer.api.set_evm(&short).await?;
    chain.pay(short_receiver, usdc(7)).await?;
    let dust = relayer.api.create(&session_body(dust_dest, None, None, None)).await?;
    let dust_receiver = relayer.api.set_evm(&dust).await?;
    chain.pay(dust_receiver, U256::from(500_000u64)).await?;

    for ((id, dest), (_, paid, want)) in dests.iter().zip(cases) {
        let done = relayer.api.wait_for(id, "succeeded", 30).await?;
        assert_eq!(done["destination"]["delivery"]["receivedUnits"], want);
        assert_eq!(done["paymentMethod"]["source"]["sentUnits"], want);
        assert_eq!(chain.balance(*dest).await?, U256::from(paid));
    }
    for (session, dest, sent) in [(&short, short_dest, "7.00"), (&dust, dust_dest, "0.50")] {
        let waiting = relayer.api.get(&id_of(session)).await?;
        assert_eq!(waiting["status"], "waiting_payment", "{waiting}");
        assert_eq!(waiting["paymentMethod"]["source"]["sentUnits"], sent, "what arrived is shown: {waiting}");
        assert_eq!(waiting["deposits"].as_array().map(Vec::len), Some(1), "{waiting}");
        assert_eq!(chain.balance(dest).await?, U256::ZERO, "nothing delivered");
    }
    // The rest arrives: everything is delivered at once.
    chain.pay(short_receiver, usdc(3)).await?;
    let done = relayer.api.wait_for(&id_of(&short), "succeeded", 30).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "10.00", "{done}");
    assert_eq!(chain.balance(short_dest).await?, usdc(10));
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_expire_and_a_late_deposit_is_refunded_and_recorded() -> Result {
    let chain = Chain::start().await?;
    let relayer =
        Relayer::start(&chain, Settings { session_lifetime_secs: 2, ..Settings::default() }).await?;
    let never_paid = relayer.api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    let late = relayer.api.create(&session_body(DEST, Some("1.00"), None, Some(REFUND))).await?;
    let receiver = relayer.api.set_evm(&late).await?;

    relayer.api.wait_for(&id_of(&never_paid), "expired", 15).await?;
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
    assert_eq!((answer.status, answer.body["error"]["code"].as_str()), (400, Some("session_expired")));

    // Funds sent after expiry are not lost: they go back to the refund address; the status stays.
    chain.pay(receiver, usdc(1)).await?;
    let id: SessionId = id_of(&late).parse()?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while chain.balance(REFUND).await? != usdc(1) {
        assert!(tokio::time::Instant::now() < deadline, "late deposit was not refunded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = relayer.node.engine.session(&id)?;
    assert_eq!(stored.status, relayer_types::SessionStatus::Expired, "a terminal status never changes");
    assert_eq!(stored.deposits.len(), 1, "late deposit recorded");
    assert_eq!(stored.settlements.len(), 1, "refund recorded");
    assert_eq!(stored.settlements[0].outcome, relayer_types::Outcome::Refunded);
    assert_eq!(chain.balance(DEST).await?, U256::ZERO);
    relayer.node.shutdown().await;
    Ok(())
}

/// The router lets nothing start towards the destination after `expiresAt`. A deposit that arrived in
/// time but whose settlement would land after the chain's clock passed the expiry is refunded, not
/// dropped, and the session says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_deposit_the_chain_sees_only_after_expiry_is_refunded_instead_of_settled() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let session = relayer.api.create(&session_body(DEST, Some("10.00"), None, Some(REFUND))).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay_unmined(receiver, usdc(10)).await?; // automining is now off
    chain.increase_time(2 * 3600).await?; // the chain's clock passes expiresAt; the relayer's does not
    chain.mine().await?;
    chain.set_automine(true).await?;

    let done = relayer.api.wait_for(&id_of(&session), "bounced", 30).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "10.00", "the refund is reported");
    assert_eq!(chain.balance(REFUND).await?, usdc(10), "refunded on chain");
    assert_eq!(chain.balance(DEST).await?, U256::ZERO, "nothing delivered after expiry");
    assert_eq!(chain.balance(receiver).await?, U256::ZERO, "nothing stranded");
    let stored = relayer.node.engine.session(&id_of(&session).parse()?)?;
    assert_eq!(stored.settlements.len(), 1);
    assert_eq!(stored.settlements[0].outcome, relayer_types::Outcome::Refunded);
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_deposit_after_success_is_delivered_and_recorded() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let session = relayer.api.create(&session_body(DEST, Some("10.00"), None, None)).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(10)).await?;
    let first = relayer.api.wait_for(&id_of(&session), "succeeded", 30).await?;

    chain.pay(receiver, usdc(4)).await?;
    let id: SessionId = id_of(&session).parse()?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while relayer.node.engine.session(&id)?.settlements.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "second deposit was not settled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(chain.balance(DEST).await?, usdc(14), "both deposits delivered");
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

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_enforced_and_the_public_view_hides_secrets() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let api = &relayer.api;
    let mut body = session_body(DEST, Some("1.00"), None, None);
    body["metadata"] = json!({ "orderId": "123" });

    let none = api.json(Method::POST, "/v1/sessions", &body, Auth::None).await?;
    assert_eq!((none.status, none.body["error"]["type"].as_str()), (401, Some("authentication_error")));
    let wrong = api.json(Method::POST, "/v1/sessions", &body, Auth::Key("not-the-key")).await?;
    assert_eq!((wrong.status, wrong.body["error"]["code"].as_str()), (401, Some("invalid_api_key")));

    let a = api.create(&body).await?;
    let b = api.create(&body).await?;
    assert_eq!(a["metadata"]["orderId"], "123");
    let (a_id, b_secret) = (id_of(&a), b["clientSecret"].as_str().unwrap_or_default().to_owned());

    // Another session's client secret opens nothing.
    let pm = json!({ "clientSecret": b_secret, "paymentMethod": { "type": "evm" } });
    let denied =
        api.json(Method::POST, &format!("/v1/sessions/{a_id}/paymentMethods"), &pm, Auth::None).await?;
    assert_eq!((denied.status, denied.body["error"]["code"].as_str()), (401, Some("invalid_client_secret")));
    let check = api
        .json(
            Method::PUT,
            &format!("/v1/sessions/{a_id}/check"),
            &json!({ "clientSecret": b_secret }),
            Auth::None,
        )
        .await?;
    assert_eq!(check.status, 401);
    let get = api
        .send(Method::GET, &format!("/v1/sessions/{a_id}?clientSecret={b_secret}"), None, None, Auth::None)
        .await?;
    assert_eq!(get.status, 401);
    let no_secret =
        api.json(Method::PUT, &format!("/v1/sessions/{a_id}/check"), &json!({}), Auth::None).await?;
    assert_eq!(
        (no_secret.status, no_secret.body["error"]["code"].as_str()),
        (401, Some("missing_credentials"))
    );
    assert_eq!(
        api.get(&a_id).await?["status"],
        "requires_payment_method",
        "refused requests changed nothing"
    );

    // Public views: without a key, or with the session's own client secret.
    let a_secret = a["clientSecret"].as_str().unwrap_or_default();
    for path in [format!("/v1/sessions/{a_id}"), format!("/v1/sessions/{a_id}?clientSecret={a_secret}")] {
        let public = api.send(Method::GET, &path, None, None, Auth::None).await?;
        assert_eq!(public.status, 200, "{path}");
        let public = e2e::session_of(public.body)?; // wrapped, as with the API key
        assert!(public.get("metadata").is_none() && public.get("clientSecret").is_none(), "{public}");
        assert_eq!(public["sessionId"], a_id.as_str());
    }
    let full = api.get(&a_id).await?;
    assert_eq!(
        (full["clientSecret"].as_str(), full["metadata"]["orderId"].as_str()),
        (Some(a_secret), Some("123"))
    );
    let check = api
        .json(
            Method::PUT,
            &format!("/v1/sessions/{a_id}/check"),
            &json!({ "clientSecret": a_secret }),
            Auth::None,
        )
        .await?;
    assert_eq!(check.status, 200);
    assert!(check.body["session"].get("clientSecret").is_none());
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_requests_get_the_error_envelope_with_the_right_param_and_change_nothing() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let api = &relayer.api;
    let good = session_body(DEST, Some("10.00"), None, None);
    let with = |path: &[&str], value: Value| {
        let mut body = good.clone();
        let mut at = &mut body;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        match value {
            Value::Null => {
                at.as_object_mut().map(|o| o.remove(path[path.len() - 1]));
            }
            v => at[path[path.len() - 1]] = v,
        }
        body
    };
    let call = Bytes::from(vec![0xab; 4]);
    let long_key = format!("metadata.{}", "k".repeat(41));
    // (body, expected status, error type, param)
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (with(&["destination"], Value::Null), 400, "validation_error", "destination"),
        (with(&["display"], Value::Null), 400, "validation_error", "display"),
        (with(&["display", "title"], Value::Null), 400, "validation_error", "display.title"),
        (with(&["display", "verb"], json!(7)), 400, "validation_error", "display.verb"),
        (
            with(&["display", "themeCssUrl"], json!("javascript:alert(1)")),
            400,
            "validation_error",
            "display.themeCssUrl",
        ),
        (
            with(&["display", "paymentOptions"], json!(["MetaMask", "Nope"])),
            400,
            "validation_error",
            "display.paymentOptions[1]",
        ),
        (
            with(&["display", "paymentOptions"], json!(["AllWallets", ["Trust", "Bad"]])),
            400,
            "validation_error",
            "display.paymentOptions[1][1]",
        ),
        (with(&["destination", "type"], json!("bitcoin")), 400, "validation_error", "destination.type"),
        (with(&["destination", "type"], json!("solana")), 400, "invalid_request_error", "destination.type"),
        (with(&["destination", "address"], json!("0x1234")), 400, "validation_error", "destination.address"),
        (
            with(&["destination", "address"], json!("0xD8dA6BF26964aF9D7eEd9e03E53415D37aA96045")),
            400,
            "validation_error",
            "destination.address",
        ),
        (with(&["destination", "chainId"], json!(1)), 400, "validation_error", "destination.chainId"),
        (with(&["destination", "chainId"], json!("8453")), 400, "validation_error", "destination.chainId"),
        (
            with(&["destination", "tokenAddress"], json!(Address::repeat_byte(7).to_checksum(None))),
            400,
            "validation_error",
            "destination.tokenAddress",
        ),
        (
            with(&["destination", "amountUnits"], json!("10.0000001")),
            400,
            "validation_error",
            "destination.amountUnits",
        ),
        (
            with(&["destination", "amountUnits"], json!("ten")),
            400,
            "validation_error",
            "destination.amountUnits",
        ),
        (
            with(&["destination", "amountUnits"], json!("0")),
            400,
            "validation_error",
            "destination.amountUnits",
        ),
        (
            with(&["destination", "amountUnits"], json!(10)),
            400,
            "validation_error",
            "destination.amountUnits",
        ),
        (with(&["destination", "calldata"], json!("0xzz")), 400, "validation_error", "destination.calldata"),
        (
            with(&["destination", "calldata"], json!(call.to_string())),
            400,
            "validation_error",
            "refundAddress",
        ),
        (with(&["refundAddress"], json!("nope")), 400, "validation_error", "refundAddress"),
        (with(&["metadata"], json!({ "orderId": 123 })), 400, "validation_error", "metadata.orderId"),
        (with(&["metadata"], json!({ "k".repeat(41): "v" })), 400, "validation_error", &long_key),
        (with(&["metadata"], json!("x")), 400, "validation_error", "metadata"),
        (with(&["surprise"], json!(1)), 400, "validation_error", "surprise"),
        (with(&["destination", "surprise"], json!(1)), 400, "validation_error", "destination.surprise"),
    ];
    for (body, status, kind, param) in &cases {
        let a = api.json(Method::POST, "/v1/sessions", body, Auth::Key(API_KEY)).await?;
        assert_eq!(a.status, *status, "{param}: {}", a.body);
        assert_eq!(a.body["error"]["type"], *kind, "{param}: {}", a.body);
        assert_eq!(a.body["error"]["param"], *param, "{}", a.body);
        assert!(a.body["error"]["code"].is_string() && a.body["error"]["message"].is_string());
    }

    // Malformed requests, whatever the route.
    let post = async |body: String, content_type: Option<&str>| {
        api.send(Method::POST, "/v1/sessions", Some(body), content_type, Auth::Key(API_KEY)).await
    };
    let get = async |method: Method, path: &str| api.send(method, path, None, None, Auth::None).await;
    let json_ct = Some("application/json");
    let bad = [
        (post("{not json".into(), json_ct).await?, 400, "invalid_json"),
        (post("[1]".into(), json_ct).await?, 400, "invalid_json"),
        (post(good.to_string(), Some("text/plain")).await?, 400, "invalid_content_type"),
        (post(good.to_string(), None).await?, 400, "invalid_content_type"),
        (post(format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000)), json_ct).await?, 400, "body_too_large"),
        (get(Method::GET, "/v2/nothing").await?, 404, "route_not_found"),
        (get(Method::DELETE, "/v1/sessions").await?, 405, "method_not_allowed"),
        (get(Method::GET, &format!("/v1/sessions/{}", "0".repeat(32))).await?, 404, "session_not_found"),
        (get(Method::GET, "/v1/sessions/NOT-AN-ID").await?, 404, "session_not_found"),
    ];
    for (answer, status, code) in bad {
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{}",
            answer.body
        );
        assert!(answer.headers.contains_key("x-request-id"), "every response has a request id");
    }
    // A payment method the deployment does not offer yet, and an unknown one.
    let s = api.create(&good).await?;
    let path = format!("/v1/sessions/{}/paymentMethods", id_of(&s));
    for (kind, status, code) in
        [("tron", 400, "unsupported_payment_method"), ("carrier-pigeon", 400, "invalid_parameter")]
    {
        let a = api
            .json(
                Method::POST,
                &path,
                &json!({ "clientSecret": s["clientSecret"], "paymentMethod": { "type": kind } }),
                Auth::None,
            )
            .await?;
        assert_eq!(
            (a.status, a.body["error"]["code"].as_str(), a.body["error"]["param"].as_str()),
            (status, Some(code), Some("paymentMethod.type"))
        );
    }
    let hint = api
        .json(
            Method::PUT,
            &format!("/v1/sessions/{}/check", id_of(&s)),
            &json!({ "clientSecret": s["clientSecret"], "txHash": "0x12" }),
            Auth::None,
        )
        .await?;
    assert_eq!((hint.status, hint.body["error"]["param"].as_str()), (400, Some("txHash")));

    // Nothing was created by any refused request: only the one good session exists.
    let metrics = api.send(Method::GET, "/metrics", None, None, Auth::None).await?;
    assert_eq!(metrics.status, 200);
    let counts = relayer.node.engine.status_counts()?;
    assert_eq!(counts.values().sum::<u64>(), 1, "refused requests created nothing: {counts:?}");
    assert_eq!(api.get(&id_of(&s)).await?["status"], "requires_payment_method");
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn health_metrics_and_request_ids() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let health = relayer.api.send(Method::GET, "/healthz", None, None, Auth::None).await?;
    assert_eq!((health.status, &health.body), (200, &json!({ "status": "ok" })));
    let given = relayer
        .api
        .send(Method::GET, "/healthz", None, None, Auth::None)
        .await?
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    assert!(given.is_some_and(|id| id.starts_with("req_")));

    let session = relayer.api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(2)).await?;
    relayer.api.wait_for(&id_of(&session), "succeeded", 30).await?;
    let text =
        Api::new(relayer.api.base.clone()).send(Method::GET, "/metrics", None, None, Auth::None).await?;
    let raw = reqwest::get(format!("{}/metrics", relayer.api.base)).await?.text().await?;
    assert_eq!(text.status, 200);
    for line in [
        "relayer_sessions{status=\"succeeded\"} 1",
        "relayer_deliveries_total{chain_id=\"8453\",outcome=\"delivered\"} 1",
        "relayer_watcher_lag_blocks{chain_id=\"8453\"}",
        "relayer_rpc_errors_total{chain_id=\"8453\"}",
    ] {
        assert!(raw.contains(line), "metrics lack {line}:\n{raw}");
    }
    assert!(!raw.contains(API_KEY), "no secret in metrics");
    relayer.node.shutdown().await;
    Ok(())
}

/// A send record a previous run left that cannot be read (a torn write, a bad edit) may describe a
/// transaction in flight: it is reported (`/readyz` fails naming it, `/metrics` counts it), left in the
/// store for an operator, and holds up no other work.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_send_record_is_reported_and_left_and_other_work_goes_on() -> Result {
    let chain = Chain::start().await?;
    let torn = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let key = std::sync::Arc::clone(&torn);
    let relayer = Relayer::start_prepared(&chain, Settings::default(), move |dir, signer| {
        use relayer_store::ChainStore as _;
        let store = relayer_store::SledStore::open(dir)?;
        // The EVM executor's key: signer ‖ nonce.
        let at = [signer.as_slice(), &7u64.to_be_bytes()].concat();
        store.put_send(8453, &at, b"{\"chain_id\":8453,\"signer\":")?;
        *key.lock().map_err(|_| eyre::eyre!("poisoned"))? = at;
        Ok(())
    })
    .await?;
    let ready = |api: Api| async move { api.send(Method::GET, "/readyz", None, None, Auth::None).await };
    wait_until(10, "readiness to name the record", async || {
        Ok(ready(relayer.api.clone()).await?.body.to_string().contains("send records cannot be read"))
    })
    .await?;
    let answer = ready(relayer.api.clone()).await?;
    assert_eq!(answer.status, 503, "{}", answer.body);
    let metrics = reqwest::get(format!("{}/metrics", relayer.api.base)).await?.text().await?;
    assert!(metrics.contains("relayer_unreadable_send_records{chain_id=\"8453\"} 1"), "{metrics}");

    let session = relayer.api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(2)).await?;
    relayer.api.wait_for(&id_of(&session), "succeeded", 30).await?;
    let store = relayer.node.engine.store();
    let left = || -> eyre::Result<Vec<Vec<u8>>> {
        Ok(store.sends(8453, &[]).map_err(|e| eyre::eyre!("{e}"))?.into_iter().map(|(k, _)| k).collect())
    };
    let torn = torn.lock().map_err(|_| eyre::eyre!("poisoned"))?.clone();
    // The delivery's own record goes once its transaction is final; the unreadable one stays.
    wait_until(10, "the delivery's record gone", async || Ok(left()?.len() == 1)).await?;
    assert_eq!(left()?, vec![torn], "left for an operator");
    relayer.node.shutdown().await;
    Ok(())
}

/// Spawns the real relayer binary and waits for its API.
async fn spawn_relayer(
    config: &std::path::Path,
    key: &str,
    log: &std::path::Path,
    api: &Api,
) -> eyre::Result<tokio::process::Child> {
    e2e::spawn_relayer(std::path::Path::new(env!("CARGO_BIN_EXE_relayer-under-test")), config, key, log, api)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn relayer_killed_between_broadcast_and_receipt_delivers_exactly_once_after_restart() -> Result {
    let chain = Chain::start().await?;
    let dir = tempfile::tempdir()?;
    let settings = Settings { bump_after_secs: 3600, ..Settings::default() };
    let (mut params, key, signer) = e2e::relayer_config(&chain, dir.path().join("db"), &settings).await?;
    let port = e2e::free_port()?;
    params.port = port;
    let config = dir.path().join("relayer.toml");
    std::fs::write(&config, relayer_devnet::config_text(&params)?)?;
    let log = dir.path().join("relayer.log");
    let api = Api::new(format!("http://127.0.0.1:{port}"));

    let mut relayer = spawn_relayer(&config, &key, &log, &api).await?;
    let session = api.create(&session_body(DEST, Some("10.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    chain.pay_unmined(receiver, usdc(10)).await?; // automining is now off
    chain.mine().await?; // the deposit lands; the settlement will not be mined until we say so

    wait_until(30, "the settlement broadcast", async || Ok(chain.nonce(signer, true).await? == 1)).await?;
    relayer.start_kill()?; // SIGKILL: no shutdown path runs
    relayer.wait().await?;
    assert_eq!(chain.nonce(signer, false).await?, 0, "killed before the receipt");

    let mut relayer = spawn_relayer(&config, &key, &log, &api).await?;
    tokio::time::sleep(Duration::from_secs(2)).await; // let it reconcile and re-announce
    assert_eq!(chain.nonce(signer, true).await?, 1, "the restart sent no second transaction");
    let ours = chain
        .pending_transactions()
        .await?
        .into_iter()
        .filter(|tx| tx["from"].as_str().map(str::to_lowercase) == Some(signer.to_string().to_lowercase()))
        .count();
    assert_eq!(ours, 1, "exactly one settlement pending");

    chain.set_automine(true).await?;
    chain.mine().await?;
    let done = api.wait_for(&id_of(&session), "succeeded", 30).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "10.00");
    assert_eq!(chain.balance(DEST).await?, usdc(10), "delivered exactly once");
    assert_eq!(chain.settled_events(receiver).await?, 1, "one settlement on chain");
    assert_eq!(chain.nonce(signer, false).await?, 1, "one transaction from the relayer in total");
    let logs = std::fs::read_to_string(&log)?;
    assert!(logs.contains("reconciling stored intents"), "the restart reconciled:\n{logs}");
    assert!(!logs.contains(&key.trim_start_matches("0x")[..16]), "the relayer key never reaches the logs");
    relayer.start_kill()?;
    Ok(())
}

/// `docker stop`, systemd and Kubernetes stop a process with SIGTERM. The relayer stops gracefully (exit
/// status 0, within its grace period), in the middle of a delivery, and a restart finishes the work.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_relayer_gracefully_mid_delivery_and_a_restart_finishes() -> Result {
    let chain = Chain::start().await?;
    let process = e2e::RelayerProcess::prepare(&chain, &Settings::default()).await?;
    let (api, signer, log) = (&process.api, process.signer, &process.log);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_relayer-under-test"));

    let mut relayer = process.spawn(bin).await?;
    let session = api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    chain.pay_unmined(receiver, usdc(2)).await?; // automining off: the settlement stays pending
    chain.mine().await?;
    wait_until(30, "the settlement broadcast", async || Ok(chain.nonce(signer, true).await? == 1)).await?;

    let pid = relayer.id().ok_or_else(|| eyre::eyre!("no pid"))?;
    let sent = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(15), relayer.wait())
        .await
        .map_err(|_| eyre::eyre!("the relayer did not stop within 15 s of SIGTERM"))??;
    assert_eq!(status.code(), Some(0), "a graceful exit, not death by signal: {status:?}");
    let logs = std::fs::read_to_string(log)?;
    assert!(logs.contains("shutting down") && logs.contains("SIGTERM"), "{logs}");
    assert!(logs.contains("stopped"), "every task stopped within the grace period:\n{logs}");
    assert!(api.send(Method::GET, "/healthz", None, None, Auth::None).await.is_err(), "no longer serving");

    let mut relayer = process.spawn(bin).await?;
    chain.set_automine(true).await?;
    chain.mine().await?;
    api.wait_for(&id_of(&session), "succeeded", 30).await?;
    assert_eq!(chain.settled_events(receiver).await?, 1, "delivered once");
    assert_eq!(chain.nonce(signer, false).await?, 1, "one transaction in total");
    relayer.start_kill()?;
    Ok(())
}

/// A one-block reorg takes a mined settlement away. The executor used to forget a transaction at its
/// first receipt, so the settlement was never sent again and every later nonce of the key waited behind
/// the gap for good. Now it keeps the transaction until the chain's confirmations make it final and sends
/// the same bytes again when it vanishes.
#[tokio::test(flavor = "multi_thread")]
async fn a_settlement_a_reorg_removes_is_sent_again_and_leaves_no_nonce_gap() -> Result {
    let chain = Chain::start().await?; // automining: every transaction is its own block
    let relayer = Relayer::start(&chain, Settings { confirmations: 3, ..Settings::default() }).await?;
    let signer = relayer.signer;
    let first = relayer.api.create(&session_body(DEST, Some("5.00"), None, None)).await?;
    let first_receiver = relayer.api.set_evm(&first).await?;
    chain.pay(first_receiver, usdc(5)).await?;
    for _ in 0..2 {
        chain.mine().await?; // the deposit's confirmations
    }
    wait_until(30, "the settlement mined", async || Ok(chain.nonce(signer, false).await? == 1)).await?;
    tokio::time::sleep(Duration::from_millis(800)).await; // the executor sees its receipt

    chain.deployer.raw_request::<_, Value>("anvil_rollback".into(), (1,)).await?;
    assert_eq!(chain.nonce(signer, false).await?, 0, "the reorg took the settlement away");
    wait_until(30, "the settlement sent again", async || Ok(chain.nonce(signer, false).await? == 1)).await?;
    for _ in 0..3 {
        chain.mine().await?; // final now
    }
    relayer.api.wait_for(&id_of(&first), "succeeded", 30).await?;

    // The key is not stuck: the next session's settlement takes the next nonce and lands.
    let second = relayer.api.create(&session_body(DEST, Some("6.00"), None, None)).await?;
    let second_receiver = relayer.api.set_evm(&second).await?;
    chain.pay(second_receiver, usdc(6)).await?;
    for _ in 0..2 {
        chain.mine().await?;
    }
    wait_until(30, "the second settlement mined", async || Ok(chain.nonce(signer, false).await? == 2))
        .await?;
    for _ in 0..3 {
        chain.mine().await?;
    }
    relayer.api.wait_for(&id_of(&second), "succeeded", 30).await?;
    assert_eq!(chain.settled_events(first_receiver).await?, 1);
    assert_eq!(chain.settled_events(second_receiver).await?, 1);
    assert_eq!(chain.balance(DEST).await?, usdc(11), "each delivered once");
    let metrics = reqwest::get(format!("{}/metrics", relayer.api.base)).await?.text().await?;
    assert!(
        metrics.contains("relayer_resent_after_reorg_total{chain_id=\"8453\"} 1"),
        "operators see the re-send:\n{metrics}"
    );
    relayer.node.shutdown().await;
    Ok(())
}

/// The fee of the relayer's pending transaction, if it has one in the pool.
async fn pending_fee(chain: &Chain, signer: Address) -> eyre::Result<Option<u128>> {
    let signer = signer.to_string().to_lowercase();
    let txs = chain.pending_transactions().await?;
    let tx =
        txs.iter().find(|tx| tx["from"].as_str().map(str::to_lowercase).as_deref() == Some(signer.as_str()));
    Ok(tx.and_then(|tx| u128::from_str_radix(tx["maxFeePerGas"].as_str()?.trim_start_matches("0x"), 16).ok()))
}

/// Makes the next block's base fee `fee` and mines it (empty of anything paying less).
async fn raise_base_fee(chain: &Chain, fee: u128) -> Result {
    chain
        .deployer
        .raw_request::<_, Value>("anvil_setNextBlockBaseFeePerGas".into(), (format!("{fee:#x}"),))
        .await?;
    chain.mine().await
}

/// A relayer with `settings` whose settlement of a paid 3 USDC session sits in the pool (automining
/// off): chain, relayer, session, receiver and the settlement's max fee.
async fn pending_settlement(settings: Settings) -> eyre::Result<(Chain, Relayer, Value, Address, u128)> {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, settings).await?;
    let session = relayer.api.create(&session_body(DEST, Some("3.00"), None, None)).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    chain.pay_unmined(receiver, usdc(3)).await?;
    chain.mine().await?;
    wait_until(30, "the first broadcast", async || Ok(pending_fee(&chain, relayer.signer).await?.is_some()))
        .await?;
    let first = pending_fee(&chain, relayer.signer).await?.unwrap_or_default();
    Ok((chain, relayer, session, receiver, first))
}

/// A settlement priced out by a rising base fee is replaced at a higher fee (same nonce) and lands once.
#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_settlement_is_replaced_at_a_higher_fee_and_lands_once() -> Result {
    let (chain, relayer, session, receiver, first) =
        pending_settlement(Settings { bump_after_secs: 1, ..Settings::default() }).await?;
    raise_base_fee(&chain, first * 3).await?; // the settlement no longer pays enough
    wait_until(30, "a fee bump", async || {
        Ok(pending_fee(&chain, relayer.signer).await?.is_some_and(|f| f > first))
    })
    .await?;
    assert_eq!(chain.nonce(relayer.signer, true).await?, 1, "the replacement reuses the nonce");

    chain.set_automine(true).await?;
    chain.mine().await?;
    relayer.api.wait_for(&id_of(&session), "succeeded", 30).await?;
    assert_eq!(chain.balance(DEST).await?, usdc(3));
    assert_eq!(chain.settled_events(receiver).await?, 1);
    assert_eq!(chain.nonce(relayer.signer, false).await?, 1);
    relayer.node.shutdown().await;
    Ok(())
}

/// Key rotation without downtime: a relayer restarted with a new key and the old one under
/// `[[signer.retiring]]` sends new work with the new key, while the old key sees its settlement that
/// was pending at the restart through to the end (re-priced when the base fee rises) and the new key
/// does not send that settlement again (without the hold, it would race it and pay for a revert).
#[tokio::test(flavor = "multi_thread")]
async fn a_retiring_key_finishes_its_pending_settlement_while_the_new_key_takes_new_work() -> Result {
    let chain = Chain::start().await?;
    let dir = tempfile::tempdir()?;
    let settings = Settings { bump_after_secs: 1, ..Settings::default() };
    let (mut params, old_key, old) = e2e::relayer_config(&chain, dir.path().join("db"), &settings).await?;
    params.port = e2e::free_port()?;
    let first = relayer_node::start(relayer_devnet::config(&params, &old_key)?).await?;
    let api = Api::new(format!("http://127.0.0.1:{}", params.port));
    let pending = api.create(&session_body(DEST, Some("3.00"), None, None)).await?;
    let pending_receiver = api.set_evm(&pending).await?;
    chain.pay_unmined(pending_receiver, usdc(3)).await?;
    chain.mine().await?;
    wait_until(30, "the old key's settlement", async || Ok(pending_fee(&chain, old).await?.is_some()))
        .await?;
    let first_fee = pending_fee(&chain, old).await?.unwrap_or_default();
    first.shutdown().await;

    // The new key, funded. Same store, same API port.
    let new_key = alloy::signers::local::PrivateKeySigner::random();
    chain.fund(new_key.address()).await?;
    let new_hex = alloy::hex::encode_prefixed(new_key.to_bytes());
    let start = async |retiring: bool| -> eyre::Result<relayer_core::Node> {
        let mut file = relayer_devnet::config_file(&params);
        if retiring {
            file.signer.retiring = vec![relayer_node::config::SignerSection {
                private_key: Some("env:OLD_RELAYER_KEY".into()),
                address: Some(old),
                ..Default::default()
            }];
        }
        let config = relayer_node::config::Config::from_file(file, |name| match name {
            relayer_devnet::KEY_VAR => Some(new_hex.clone()),
            "OLD_RELAYER_KEY" => Some(old_key.clone()),
            _ => None,
        })?;
        relayer_node::start(config).await
    };
    // The settlement's work waits behind the other key's transaction, as a retry (not given up), as
    // reported since `since`.
    let held = async |since: u64| -> eyre::Result<bool> {
        let work = api.get(&id_of(&pending)).await?["deliveryAttempts"][0].clone();
        let reason = work["reason"].as_str().unwrap_or_default();
        let fresh = work["updatedAt"].as_u64().is_some_and(|at| at >= since);
        Ok(work["state"] == "retrying" && reason.contains("on record") && fresh)
    };

    // First without the old key at all: its work waits, and `/readyz` says why.
    let forgotten = start(false).await?;
    let since = relayer_types::unix_now();
    wait_until(30, "the old key's work held", async || held(since).await).await?;
    let ready = api.send(Method::GET, "/readyz", None, None, Auth::None).await?;
    assert!(
        ready.status == 503 && ready.text.contains("not configured here"),
        "{} {}",
        ready.status,
        ready.text
    );
    forgotten.shutdown().await;

    // Then with the old key retiring.
    tokio::time::sleep(Duration::from_secs(1)).await; // a later second than the first run's reports
    let since = relayer_types::unix_now();
    let second = start(true).await?;
    wait_until(30, "the old key's work held", async || held(since).await).await?;
    let metrics = api.send(Method::GET, "/metrics", None, None, Auth::None).await?.text;
    let retiring_pending =
        format!("relayer_retiring_pending_transactions{{chain_id=\"{}\"}} 1", chain.desc.chain_id);
    assert!(metrics.lines().any(|l| l == retiring_pending), "{retiring_pending}");
    // The old settlement is priced out: only the retiring key's executor can re-price it.
    raise_base_fee(&chain, first_fee * 3).await?;
    wait_until(30, "the retiring key's fee bump", async || {
        Ok(pending_fee(&chain, old).await?.is_some_and(|f| f > first_fee))
    })
    .await?;
    chain.set_automine(true).await?;
    chain.mine().await?;
    api.wait_for(&id_of(&pending), "succeeded", 30).await?;

    let fresh = api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    chain.pay(api.set_evm(&fresh).await?, usdc(2)).await?;
    api.wait_for(&id_of(&fresh), "succeeded", 30).await?;
    assert_eq!(chain.balance(DEST).await?, usdc(5));
    assert_eq!(chain.settled_events(pending_receiver).await?, 1);
    assert_eq!(chain.nonce(old, false).await?, 1, "the old key sent its one settlement, re-priced");
    assert_eq!(chain.nonce(new_key.address(), false).await?, 1, "the new key sent only the new session's");
    second.shutdown().await;
    Ok(())
}

/// The daily fee cap: once a chain's fees today reach `max_daily_fees`, new work waits for the next UTC
/// day (said on the session's work, by `/readyz` and in `/metrics`), while what was sent before still
/// lands; each transaction over `costly_fee` is counted.
#[tokio::test(flavor = "multi_thread")]
async fn the_daily_fee_cap_stops_new_sends_and_says_so() -> Result {
    let chain = Chain::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut params, key, _) =
        e2e::relayer_config(&chain, dir.path().join("db"), &Settings::default()).await?;
    params.port = e2e::free_port()?;
    let mut file = relayer_devnet::config_file(&params);
    for section in &mut file.chains {
        if let relayer_node::config::ChainSection::Evm(c) = section {
            // One settlement costs more than a gwei: the first one reaches the cap.
            c.max_daily_fees = Some("0.000000001".into());
            c.costly_fee = Some("0.000000001".into());
        }
    }
    let config = relayer_node::config::Config::from_file(file, |name| {
        (name == relayer_devnet::KEY_VAR).then(|| key.clone())
    })?;
    let node = relayer_node::start(config).await?;
    let api = Api::new(format!("http://127.0.0.1:{}", params.port));
    let first = api.create(&session_body(DEST, Some("3.00"), None, None)).await?;
    chain.pay(api.set_evm(&first).await?, usdc(3)).await?;
    api.wait_for(&id_of(&first), "succeeded", 30).await?;

    let second = api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    chain.pay(api.set_evm(&second).await?, usdc(2)).await?;
    wait_until(30, "the second settlement held by the cap", async || {
        let work = api.get(&id_of(&second)).await?["deliveryAttempts"][0].clone();
        // Not before the next UTC midnight.
        let midnight = work["retryAt"].as_u64().is_some_and(|at| at % 86_400 == 0);
        Ok(work["state"] == "retrying"
            && midnight
            && work["reason"].as_str().is_some_and(|r| r.contains("daily fee cap")))
    })
    .await?;
    assert_eq!(chain.balance(DEST).await?, usdc(3), "nothing new sent");
    let ready = api.send(Method::GET, "/readyz", None, None, Auth::None).await?;
    assert!(ready.status == 503 && ready.text.contains("daily fee cap"), "{} {}", ready.status, ready.text);
    let metrics = api.send(Method::GET, "/metrics", None, None, Auth::None).await?.text;
    let id = chain.desc.chain_id;
    let spent = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("relayer_fees_spent_today{{chain_id=\"{id}\",unit=\"gwei\"}} "))
        })
        .and_then(|v| v.parse::<u64>().ok());
    assert!(spent.is_some_and(|g| g > 1), "the settlement's fee, in gwei: {spent:?}");
    assert!(
        metrics.lines().any(|l| l == format!("relayer_daily_fee_cap{{chain_id=\"{id}\",unit=\"gwei\"}} 1"))
    );
    assert!(
        metrics.lines().any(|l| l == format!("relayer_costly_transactions_total{{chain_id=\"{id}\"}} 1"))
    );
    node.shutdown().await;
    Ok(())
}

/// Fee bumps stop at the chain's ceiling, and when price is not why a transaction waits (here: the node
/// is not mining at all) it is not re-priced; both are counted for operators. Before, a stuck
/// transaction was re-priced ×1.25 every `bump_after` without end.
#[tokio::test(flavor = "multi_thread")]
async fn fee_bumps_stop_at_the_ceiling_and_when_price_is_not_why() -> Result {
    let settings = Settings { bump_after_secs: 1, max_fee_gwei: Some(5), ..Settings::default() };
    let (chain, relayer, _, _, first) = pending_settlement(settings).await?;

    // Not mining is not a price problem: several bump periods pass without a replacement.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(pending_fee(&chain, relayer.signer).await?, Some(first), "price is not why: left alone");

    // Now the price is the problem: the node asks well over the ceiling of 5 gwei (about twice the
    // base fee of 4 gwei), and a replacement at the ceiling still fits in a block.
    let ceiling = 5_000_000_000u128;
    raise_base_fee(&chain, 4_000_000_000).await?;
    tokio::time::sleep(Duration::from_secs(4)).await; // several bump periods pass
    let fee = pending_fee(&chain, relayer.signer).await?.unwrap_or_default();
    assert_eq!(fee, ceiling, "re-priced up to the ceiling and no further (first paid {first})");
    let metrics = reqwest::get(format!("{}/metrics", relayer.api.base)).await?.text().await?;
    let held = metrics
        .lines()
        .find_map(|l| l.strip_prefix("relayer_fee_bumps_held_total{chain_id=\"8453\"} "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(held.is_some_and(|n| n >= 2), "price-is-not-why and the ceiling are counted: {held:?}");
    let gauge = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}{{chain_id=\"8453\"}} "))?.parse::<u64>().ok())
    };
    assert_eq!(gauge("relayer_pending_transactions"), Some(1), "{metrics}");
    assert!(gauge("relayer_oldest_pending_seconds").is_some_and(|s| s >= 4), "{metrics}");
    assert_eq!(gauge("relayer_nonce_gap"), Some(0), "{metrics}");
    assert!(metrics.contains("relayer_store_writable{} 1"), "{metrics}");
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_with_a_tx_hash_looks_at_that_transaction_right_away() -> Result {
    let chain = Chain::start().await?;
    // The watcher polls once a minute: only the hint can notice the deposit within this test.
    let relayer =
        Relayer::start(&chain, Settings { watcher_poll_interval_ms: 60_000, ..Settings::default() }).await?;
    let session = relayer.api.create(&session_body(DEST, Some("4.00"), None, None)).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    let path = format!("/v1/sessions/{}/check", id_of(&session));
    let secret = session["clientSecret"].clone();
    let deposit = chain.pay(receiver, usdc(4)).await?;

    let plain = relayer.api.json(Method::PUT, &path, &json!({ "clientSecret": secret }), Auth::None).await?;
    assert_eq!(
        plain.body["session"]["status"], "waiting_payment",
        "without a hint the slow watcher has not looked yet"
    );
    let hinted = relayer
        .api
        .json(
            Method::PUT,
            &path,
            &json!({ "clientSecret": secret, "txHash": deposit.to_string() }),
            Auth::None,
        )
        .await?;
    assert_eq!(hinted.status, 200);
    assert_eq!(hinted.body["session"]["status"], "processing");
    assert_eq!(hinted.body["session"]["paymentMethod"]["source"]["txHash"], deposit.to_string());
    assert_eq!(hinted.body["session"]["paymentMethod"]["source"]["sentUnits"], "4.00");
    relayer.node.shutdown().await;
    Ok(())
}

/// A hint goes through the watcher, so a hinted deposit is rolled back by a reorg like any other. (When
/// the hint applied the deposit itself, the watcher's cursor stayed below the deposit's block: after the
/// reorg nothing under the cursor had changed, and the session stayed `processing` on a deposit that no
/// longer existed.)
#[tokio::test(flavor = "multi_thread")]
async fn a_hinted_deposit_is_rolled_back_by_a_reorg_too() -> Result {
    let chain = Chain::start().await?;
    // The watcher polls once a minute: within this test only hints make it look.
    let relayer =
        Relayer::start(&chain, Settings { watcher_poll_interval_ms: 60_000, ..Settings::default() }).await?;
    let session = relayer.api.create(&session_body(DEST, Some("7.00"), None, None)).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    let (id, secret) = (id_of(&session), session["clientSecret"].clone());
    let path = format!("/v1/sessions/{id}/check");
    let hint = |tx: String| {
        let (api, path, secret) = (&relayer.api, path.clone(), secret.clone());
        async move {
            let answer = api
                .json(Method::PUT, &path, &json!({ "clientSecret": secret, "txHash": tx }), Auth::None)
                .await?;
            eyre::ensure!(answer.status == 200, "check failed: {}", answer.body);
            Ok::<_, eyre::Report>(answer.body["session"]["status"].as_str().unwrap_or_default().to_owned())
        }
    };

    let snapshot: String = chain.deployer.raw_request("evm_snapshot".into(), ()).await?;
    let deposit = chain.pay_unmined(receiver, usdc(7)).await?; // automining off: no settlement lands
    chain.mine().await?;
    assert_eq!(hint(deposit.to_string()).await?, "processing", "the hint made the watcher read the deposit");

    // The deposit's branch vanishes; a longer one replaces it.
    let reverted: bool = chain.deployer.raw_request("evm_revert".into(), (snapshot,)).await?;
    assert!(reverted);
    chain.set_automine(true).await?;
    for _ in 0..3 {
        chain.mine().await?;
    }
    // Any transaction on the new branch, hinted, wakes the watcher, which finds the fork and rolls back.
    let unrelated = chain.pay(REFUND, usdc(1)).await?;
    hint(unrelated.to_string()).await?;
    let back = relayer.api.get(&id).await?;
    assert_eq!(back["status"], "waiting_payment", "the vanished deposit no longer counts");
    assert_eq!(back["paymentMethod"]["source"], Value::Null);
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deposit_reorganised_away_returns_the_session_to_waiting_payment() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let session = relayer.api.create(&session_body(DEST, Some("6.00"), None, None)).await?;
    let receiver = relayer.api.set_evm(&session).await?;
    let id = id_of(&session);

    let snapshot: String = chain.deployer.raw_request("evm_snapshot".into(), ()).await?;
    chain.pay_unmined(receiver, usdc(6)).await?; // automining off: the settlement will wait
    chain.mine().await?;
    relayer.api.wait_for(&id, "processing", 30).await?;

    // The branch with the deposit disappears; a longer one without it replaces it.
    let reverted: bool = chain.deployer.raw_request("evm_revert".into(), (snapshot,)).await?;
    assert!(reverted);
    chain.set_automine(true).await?;
    for _ in 0..4 {
        chain.mine().await?;
    }
    let back = relayer.api.wait_for(&id, "waiting_payment", 30).await?;
    assert_eq!(back["paymentMethod"]["source"], Value::Null, "the vanished deposit is no longer the source");
    assert_eq!(chain.balance(receiver).await?, U256::ZERO);

    // A real deposit afterwards completes the session normally.
    chain.pay(receiver, usdc(6)).await?;
    let done = relayer.api.wait_for(&id, "succeeded", 30).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "6.00");
    assert_eq!(chain.balance(DEST).await?, usdc(6));
    relayer.node.shutdown().await;
    Ok(())
}

/// After a restart the relayer re-queues work for every session holding unsettled funds. That must not
/// keep the API down while the chain's RPC is slow: here 1,100 such sessions (more than an executor's
/// queue holds) and an RPC endpoint that accepts connections and never answers (each call waits out the
/// 10 s RPC timeout). Before the fix, `Node::start` returned only after the executor had worked through
/// the overflow, about 76 × 10 s.
#[tokio::test(flavor = "multi_thread")]
async fn the_api_comes_up_while_restart_work_waits_on_a_hanging_rpc() -> Result {
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let rpc_url = format!("http://{}", silent.local_addr()?);
    std::thread::spawn(move || {
        let mut held = vec![];
        for conn in silent.incoming().flatten() {
            held.push(conn); // accepted, never answered
        }
    });
    let data = tempfile::tempdir()?;
    {
        let store = relayer_store::SledStore::open(data.path().join("db"))?;
        for i in 0..1100u16 {
            let mut session = relayer_store::conformance::session(1);
            let mut id = [0u8; 16];
            id[..2].copy_from_slice(&i.to_be_bytes());
            session.id = SessionId::from_bytes(id);
            session.status = relayer_types::SessionStatus::Processing;
            session.expires_at = u64::MAX;
            session.deposits.push(relayer_store::conformance::deposit(8453, 1));
            relayer_store::Store::insert_session(&store, &session)?;
        }
    }
    let key = alloy::signers::local::PrivateKeySigner::random();
    let params = relayer_devnet::ConfigParams {
        data_dir: data.path().join("db"),
        port: 0,
        rpc_url,
        router: Address::repeat_byte(0xaa),
        usdc: BASE_USDC,
        api_key_hash: hex::encode(relayer_core::api::auth::hash_api_key(API_KEY)),
        session_lifetime_secs: 3600,
        confirmations: 1,
        bump_after_secs: 30,
        poll_interval_ms: 100,
        watcher_poll_interval_ms: 100,
        max_fee_gwei: None,
        usdt: None,
        front_cap: None,
        more_chains: vec![],
        webhook_retry_schedule_ms: None,
        database_url: None,
    };
    let config = relayer_devnet::config(&params, &alloy::hex::encode_prefixed(key.to_bytes()))?;
    let node = tokio::time::timeout(Duration::from_secs(30), relayer_node::start(config))
        .await
        .map_err(|_| eyre::eyre!("Node::start did not return while the RPC hangs"))??;
    let api = Api::new(format!("http://{}", node.addr));
    let health = api.send(Method::GET, "/healthz", None, None, Auth::None).await?;
    assert_eq!(health.status, 200, "the API answers");
    let one = format!("{:032x}", 0u128);
    assert_eq!(api.get(&one).await?["status"], "processing", "stored sessions are served");
    node.shutdown().await;
    Ok(())
}

/// Hardening from the API probe (issue 11, item 9), over real HTTP: the `Bearer` scheme in any case;
/// duplicate JSON members and duplicate query parameters refused (a proxy reading the other copy would see
/// another request); a known route with the wrong method is a 405 in the envelope, not a 404.
#[tokio::test(flavor = "multi_thread")]
async fn the_auth_scheme_is_case_insensitive_duplicates_are_refused_and_wrong_methods_are_405() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let api = &relayer.api;
    let http = reqwest::Client::new();
    let body = session_body(DEST, Some("1.00"), None, None);
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let created = http
            .post(format!("{}/v1/sessions", api.base))
            .header("authorization", format!("{scheme} {}", e2e::API_KEY))
            .json(&body)
            .send()
            .await?;
        assert_eq!(created.status(), 201, "{scheme}");
    }
    let session = api.create(&body).await?;
    let (id, secret) = (id_of(&session), session["clientSecret"].as_str().unwrap_or_default().to_owned());

    // The right secret second: serde would keep it and answer 200.
    let twice =
        format!(r#"{{"clientSecret":"wrong","clientSecret":"{secret}","paymentMethod":{{"type":"evm"}}}}"#);
    let refused = api
        .send(
            Method::POST,
            &format!("/v1/sessions/{id}/paymentMethods"),
            Some(twice),
            Some("application/json"),
            Auth::None,
        )
        .await?;
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (400, Some("invalid_json")),
        "{}",
        refused.body
    );
    assert!(refused.body["error"]["message"].as_str().unwrap_or_default().contains("appears twice"));
    assert_eq!(api.get(&id).await?["status"], "requires_payment_method", "nothing changed");
    let query = format!("/v1/sessions/{id}?clientSecret=wrong&clientSecret={secret}");
    let refused = api.send(Method::GET, &query, None, None, Auth::None).await?;
    assert_eq!(
        (refused.status, refused.body["error"]["param"].as_str()),
        (400, Some("clientSecret")),
        "{}",
        refused.body
    );

    for (method, path) in [
        (Method::DELETE, format!("/v1/sessions/{id}")),
        (Method::GET, "/v1/sessions".to_owned()),
        (Method::POST, format!("/v1/sessions/{id}/check")),
    ] {
        let answer = api.send(method.clone(), &path, None, None, Auth::Key(e2e::API_KEY)).await?;
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str(), answer.body["error"]["type"].as_str()),
            (405, Some("method_not_allowed"), Some("invalid_request_error")),
            "{method} {path}"
        );
    }
    let unknown = api.send(Method::GET, "/v1/nothing", None, None, Auth::None).await?;
    assert_eq!(unknown.status, 404);
    relayer.node.shutdown().await;
    Ok(())
}

/// `/metrics` behind its own token when configured (hardening, issue 11 item 9): nothing without it, nor
/// with an API key (a scraper's credential and an integrator's are different things); all with it.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_behind_a_configured_token_answer_only_to_that_token() -> Result {
    let chain = Chain::start().await?;
    let data = tempfile::tempdir()?;
    let (params, key, _) = e2e::relayer_config(&chain, data.path().join("db"), &Settings::default()).await?;
    let mut config = relayer_devnet::config(&params, &key)?;
    config.node.metrics_token_hash = Some(relayer_core::api::auth::hash_api_key("scrape-me"));
    let node = relayer_node::start(config).await?;
    let url = format!("http://{}/metrics", node.addr);
    let http = reqwest::Client::new();
    for auth in [None, Some(API_KEY), Some("wrong")] {
        let mut req = http.get(&url);
        if let Some(token) = auth {
            req = req.bearer_auth(token);
        }
        let answer = req.send().await?;
        assert_eq!(answer.status(), 401, "{auth:?}");
        let body: Value = answer.json().await?;
        assert_eq!(body["error"]["code"], "invalid_metrics_token", "{auth:?}");
    }
    let answer = http.get(&url).bearer_auth("scrape-me").send().await?;
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await?.contains("relayer_sessions"), "the metrics themselves");
    node.shutdown().await;
    Ok(())
}

/// CORS for browser code holding a client secret (hardening, issue 11 item 9): configured origins get
/// preflights and headers on the client-secret routes only, never the `Authorization` header; the
/// API-key route answers no preflight, other origins get nothing, and without configured origins nobody does.
#[tokio::test(flavor = "multi_thread")]
async fn client_secret_routes_answer_cors_for_configured_origins_and_api_key_routes_never_do() -> Result {
    use reqwest::header::{
        ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_HEADERS,
        ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    };
    const SHOP: &str = "https://shop.example";
    let chain = Chain::start().await?;
    let data = tempfile::tempdir()?;
    let (params, key, _) = e2e::relayer_config(&chain, data.path().join("db"), &Settings::default()).await?;
    let mut config = relayer_devnet::config(&params, &key)?;
    config.node.browser_origins = vec![reqwest::header::HeaderValue::from_static(SHOP)];
    let node = relayer_node::start(config).await?;
    let api = Api::new(format!("http://{}", node.addr));
    let session = api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    let id = id_of(&session);
    let http = reqwest::Client::new();
    let preflight = |path: String, origin: &'static str, method: &'static str, headers: &'static str| {
        http.request(Method::OPTIONS, format!("{}{path}", api.base))
            .header(ORIGIN, origin)
            .header(ACCESS_CONTROL_REQUEST_METHOD, method)
            .header(ACCESS_CONTROL_REQUEST_HEADERS, headers)
            .send()
    };
    let allowed = |r: &reqwest::Response| r.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).cloned();

    for (path, method) in [
        (format!("/v1/sessions/{id}"), "GET"),
        (format!("/v1/sessions/{id}/paymentMethods"), "POST"),
        (format!("/v1/sessions/{id}/check"), "PUT"),
    ] {
        let ok = preflight(path.clone(), SHOP, method, "content-type").await?;
        assert!(ok.status().is_success(), "{path}: {}", ok.status());
        assert_eq!(allowed(&ok).as_ref().and_then(|v| v.to_str().ok()), Some(SHOP), "{path}");
        let headers =
            ok.headers().get(ACCESS_CONTROL_ALLOW_HEADERS).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(!headers.to_ascii_lowercase().contains("authorization"), "{path}: {headers}");
        let other = preflight(path.clone(), "https://evil.example", method, "content-type").await?;
        assert_eq!(allowed(&other), None, "{path}: another origin");
    }
    // The API-key route: no preflight for anyone.
    let create = preflight("/v1/sessions".into(), SHOP, "POST", "authorization,content-type").await?;
    assert_eq!(allowed(&create), None, "POST /v1/sessions must not be callable from a page");
    // A real cross-origin read with the client secret carries the header.
    let secret = session["clientSecret"].as_str().unwrap_or_default();
    let read = http
        .get(format!("{}/v1/sessions/{id}?clientSecret={secret}", api.base))
        .header(ORIGIN, SHOP)
        .send()
        .await?;
    assert_eq!(read.status(), 200);
    assert_eq!(allowed(&read).as_ref().and_then(|v| v.to_str().ok()), Some(SHOP));
    node.shutdown().await;

    // Without configured origins nobody gets CORS.
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let session = relayer.api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    let answer = http
        .request(Method::OPTIONS, format!("{}/v1/sessions/{}/check", relayer.api.base, id_of(&session)))
        .header(ORIGIN, SHOP)
        .header(ACCESS_CONTROL_REQUEST_METHOD, "PUT")
        .send()
        .await?;
    assert_eq!(allowed(&answer), None);
    relayer.node.shutdown().await;
    Ok(())
}

/// Raw bytes to the API and whatever comes back until the server closes (or `limit` passes).
async fn raw_exchange(
    addr: std::net::SocketAddr,
    request: &[u8],
    limit: Duration,
) -> eyre::Result<(String, Duration)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let started = tokio::time::Instant::now();
    stream.write_all(request).await?;
    let mut out = vec![];
    tokio::time::timeout(limit, stream.read_to_end(&mut out))
        .await
        .map_err(|_| eyre::eyre!("still open after {limit:?}"))??;
    Ok((String::from_utf8_lossy(&out).into_owned(), started.elapsed()))
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_or_silent_connections_are_closed_and_unparseable_requests_get_the_envelope() -> Result {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let addr = relayer.node.addr;
    let limit = relayer_core::api::serve::HEAD_TIMEOUT + Duration::from_secs(5);

    // Silent: connects and sends nothing. Slowloris: one byte of a head every second, never finishing.
    let silent = raw_exchange(addr, b"", limit);
    let drip = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let started = tokio::time::Instant::now();
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in head {
            if stream.write_all(&[*byte]).await.is_err() {
                return eyre::Ok(started.elapsed()); // closed under us
            }
            let mut probe = [0u8; 1];
            if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut probe)).await {
                return Ok(started.elapsed());
            }
            eyre::ensure!(started.elapsed() < limit, "a slowloris connection stayed open {limit:?}");
        }
        eyre::bail!("the whole head went through without the server closing")
    };
    let (silent, drip) = tokio::join!(silent, drip);
    let (answer, closed_after) = silent?;
    assert!(answer.is_empty() && closed_after >= Duration::from_secs(9), "{answer:?} after {closed_after:?}");
    assert!(drip? <= limit);

    // Parser-level errors: hyper refuses them before routing; they still come back in the envelope.
    let cases: [(Vec<u8>, &str, &str); 2] = [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n".to_vec(), "400", "malformed_request"),
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            "414",
            "uri_too_long",
        ),
    ];
    for (request, status, code) in cases {
        let (answer, _) = raw_exchange(addr, &request, limit).await?;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{answer}");
        let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default())?;
        assert_eq!(body["error"]["code"], code, "{answer}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    // A well-formed request on the same server is untouched.
    let (ok, _) =
        raw_exchange(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", limit).await?;
    assert!(ok.starts_with("HTTP/1.1 200") && ok.contains("x-request-id"), "{ok}");
    relayer.node.shutdown().await;
    Ok(())
}
