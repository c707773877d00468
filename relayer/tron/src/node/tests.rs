//! The client against a stand-in node that answers as Tron's documentation shows, and records what it
//! was sent.

use std::sync::{Arc, Mutex};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};

use super::*;
use crate::tx::{RefBlock, Unsigned};

type Seen = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

/// Serves `answers` (path → JSON text) on a free port; returns its URL and what it was sent.
async fn stand_in(answers: Vec<(&'static str, &'static str)>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
            let (log, answers) = (Arc::clone(&log), answers.clone());
            async move {
                let key = headers.get("tron-pro-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body = serde_json::from_str(&body).unwrap_or(Value::Null);
                log.lock().expect("log").push((uri.path().to_owned(), key, body));
                answers.iter().find(|(path, _)| *path == uri.path()).map_or_else(
                    || (axum::http::StatusCode::NOT_FOUND, String::new()),
                    |(_, answer)| (axum::http::StatusCode::OK, (*answer).to_owned()),
                )
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn node(url: &str) -> Node {
    Node::new(NodeConfig {
        url: url.to_owned(),
        solidity_url: None,
        api_key: Some(("TRON-PRO-API-KEY".into(), Secret::new("k-0123456789"))),
        timeout: Duration::from_secs(5),
    })
    .expect("client")
}

fn call() -> Call {
    Call {
        owner: Address::repeat_byte(0x11),
        contract: "a614f803b6fd780986a42c78ec9c7f77e6ded13c".parse().expect("usdt"),
        data: vec![0x70, 0xa0, 0x82, 0x31],
        call_value: 0,
    }
}

#[tokio::test]
async fn every_request_carries_the_api_key_and_each_answer_is_read() {
    let (url, seen) = stand_in(vec![
        ("/walletsolidity/getnowblock", r#"{"blockID":"0000000003fe266bf6b6d392f654dc2e5011601546ed04623d9fcc4e9d439a25","block_header":{"raw_data":{"number":66987627,"timestamp":1777445307000}}}"#),
        ("/wallet/gettransactioninfobyid", "{}"),
        ("/wallet/estimateenergy", r#"{"result":{"result":true},"energy_required":1870}"#),
        ("/wallet/getchainparameters", r#"{"chainParameter":[{"key":"getEnergyFee","value":100}]}"#),
        ("/wallet/triggerconstantcontract", r#"{"result":{"result":true},"energy_used":935,"constant_result":["0000000000000000000000000000000000000000000000000000000040cfcc00"],"transaction":{"ret":[{}]}}"#),
        ("/wallet/broadcasthex", r#"{"result":false,"code":"DUP_TRANSACTION_ERROR","message":"Dup transaction.","txid":"ab"}"#),
    ])
    .await;
    let node = node(&url);
    assert_eq!(node.block(true).await.map(|b| b.block.number), Ok(66_987_627));
    assert_eq!(node.landing(B256::repeat_byte(7), false).await, Ok(Landing::Unknown));
    assert_eq!(node.energy(&call()).await, Ok(1870));
    assert_eq!(node.energy_price().await, Ok(100));
    let balance =
        hex::decode("0000000000000000000000000000000000000000000000000000000040cfcc00").expect("hex");
    assert_eq!(node.constant(&call()).await, Ok(Constant::Returned(balance)));
    let key = PrivateKeySigner::from_bytes(&B256::with_last_byte(9)).expect("key");
    let signed =
        Unsigned::new(Call { owner: key.address(), ..call() }, &RefBlock { number: 5, id: B256::ZERO }, 0, 1)
            .sign(&key.clone().into())
            .await
            .expect("signs");
    assert!(node.broadcast(&signed).await.is_ok(), "a duplicate counts as sent");

    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 6);
    assert!(seen.iter().all(|(_, key, _)| key.as_deref() == Some("k-0123456789")), "{seen:?}");
    let (_, _, lookup) = &seen[1];
    assert_eq!(lookup["value"], hex::encode(B256::repeat_byte(7)));
    let (_, _, estimate) = &seen[2];
    assert_eq!(estimate["owner_address"], format!("41{}", "11".repeat(20)));
    assert_eq!(estimate["contract_address"], "41a614f803b6fd780986a42c78ec9c7f77e6ded13c");
    let (_, _, sent) = &seen[5];
    assert_eq!(sent["transaction"], hex::encode(signed.encode().expect("encodes")));
}

#[tokio::test]
async fn an_http_200_with_an_error_field_is_an_error_and_no_error_text_shows_the_key_or_the_url_path() {
    let (url, _) =
        stand_in(vec![("/wallet/getnowblock", r#"{"Error":"class java.lang.NullPointerException : null"}"#)])
            .await;
    let error = node(&url).block(false).await.expect_err("an Error field");
    assert!(error.contains("NullPointerException"), "{error}");
    // A provider URL with its key in the path, unreachable: the error names the host only.
    let hosted = node("http://127.0.0.1:1/v1/SECRETPATHKEY");
    let error = hosted.block(false).await.expect_err("unreachable");
    assert!(!error.contains("SECRETPATHKEY") && !error.contains("k-0123456789"), "{error}");
    let debug = format!("{hosted:?}");
    assert!(
        !debug.contains("k-0123456789") && !debug.contains("SECRETPATHKEY"),
        "Debug redacts both: {debug}"
    );
    // A gateway that echoes the key it was sent: masked in what the relayer keeps, for a read and a
    // broadcast alike.
    let (url, _) = stand_in(vec![
        ("/wallet/getnowblock", r#"{"Error":"key k-0123456789 is over its quota"}"#),
        (
            "/wallet/broadcasthex",
            r#"{"result":false,"code":"SERVER_BUSY","message":"key k-0123456789 busy"}"#,
        ),
    ])
    .await;
    let error = node(&url).block(false).await.expect_err("an Error field");
    assert!(!error.contains("k-0123456789") && error.contains("[redacted]"), "{error}");
    let key = PrivateKeySigner::random();
    let signed =
        Unsigned::new(Call { owner: key.address(), ..call() }, &RefBlock { number: 5, id: B256::ZERO }, 0, 1)
            .sign(&key.clone().into())
            .await
            .expect("signs");
    let Err(SendFailure::Unsure(why)) = node(&url).broadcast(&signed).await else { panic!("unsure") };
    assert!(!why.contains("k-0123456789"), "{why}");
    // A reverted constant call says so; a lost broadcast answer is unsure, not refused.
    let (url, _) = stand_in(vec![
        ("/wallet/triggerconstantcontract", r#"{"result":{"result":true},"constant_result":["08c379a0"],"transaction":{"ret":[{"ret":"FAILED"}]}}"#),
    ])
    .await;
    assert_eq!(node(&url).constant(&call()).await, Ok(Constant::Reverted(vec![0x08, 0xc3, 0x79, 0xa0])));
    assert!(matches!(hosted.broadcast(&signed).await, Err(SendFailure::Unsure(_))));
}

/// A java-tron full node serves `/walletsolidity/*` on its own port: with `solidity_url`, those requests
/// go there and the rest to `url`.
#[tokio::test]
async fn solidity_requests_go_to_the_solidity_url_when_one_is_given() {
    const BLOCK: &str = r#"{"blockID":"0000000003fe266bf6b6d392f654dc2e5011601546ed04623d9fcc4e9d439a25","block_header":{"raw_data":{"number":66987627,"timestamp":1777445307000}}}"#;
    let (full, full_seen) = stand_in(vec![("/wallet/getnowblock", BLOCK)]).await;
    let (solidity, solidity_seen) = stand_in(vec![("/walletsolidity/getnowblock", BLOCK)]).await;
    let node = Node::new(NodeConfig {
        url: full,
        solidity_url: Some(solidity),
        api_key: None,
        timeout: Duration::from_secs(5),
    })
    .expect("client");
    assert!(node.block(true).await.is_ok() && node.block(false).await.is_ok());
    let paths = |seen: &Seen| seen.lock().expect("log").iter().map(|(p, ..)| p.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&full_seen), ["/wallet/getnowblock"]);
    assert_eq!(paths(&solidity_seen), ["/walletsolidity/getnowblock"]);
}
