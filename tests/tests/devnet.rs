//! `relayer devnet` itself (its library entry point, which the binary only wraps): it starts every chain
//! (the figure is printed), and the printed flow works paying USDC from each EVM chain and USDT from Tron.

use std::time::{Duration, Instant};

use e2e::{Api, Auth, DEST, session_body};
use relayer_devnet::{Devnet, pay};
use reqwest::Method;
use serde_json::json;

type Result = eyre::Result<()>;

#[tokio::test(flavor = "multi_thread")]
async fn the_devnet_starts_every_chain_and_a_payment_from_each_is_delivered_on_base() -> Result {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let devnet = Devnet::start(dir.path(), 0, 0).await?;
    let took = started.elapsed();
    println!("devnet with {} chains up in {took:.1?}", devnet.info.chains.len());
    assert!(devnet.info.chains.len() >= 3, "{:?}", devnet.info.chains);
    assert_eq!(relayer_devnet::read_info(dir.path())?.api_url, devnet.info.api_url, "devnet.json written");

    let api = Api::new(devnet.info.api_url.clone());
    let key = devnet.info.api_key.clone();
    for chain in devnet.info.chains.clone().into_iter().filter(|c| c.usdc.is_some()) {
        // The printed flow: create with the API key, choose EVM with the client secret, pay, check.
        let created = api
            .send(
                Method::POST,
                "/v1/sessions",
                Some(session_body(DEST, Some("10.00"), None, None).to_string()),
                Some("application/json"),
                Auth::Key(&key),
            )
            .await?;
        assert_eq!(created.status, 201, "{}", created.body);
        let session = &created.body["session"];
        let (id, secret) =
            (session["sessionId"].as_str().unwrap_or_default(), session["clientSecret"].clone());
        let chosen = api
            .send(
                Method::POST,
                &format!("/v1/sessions/{id}/paymentMethods"),
                Some(json!({ "clientSecret": secret, "paymentMethod": { "type": "evm" } }).to_string()),
                Some("application/json"),
                Auth::None,
            )
            .await?;
        assert_eq!(chosen.status, 200, "{}", chosen.body);
        let receiver = chosen.body["session"]["paymentMethod"]["receiverAddress"]
            .as_str()
            .unwrap_or_default()
            .parse()?;
        pay(&devnet.info, &chain.name.to_lowercase(), Some("usdc"), receiver, "10.00").await?;
        let done = tokio::time::timeout(Duration::from_secs(90), async {
            loop {
                let checked = api
                    .send(
                        Method::PUT,
                        &format!("/v1/sessions/{id}/check"),
                        Some(json!({ "clientSecret": secret }).to_string()),
                        Some("application/json"),
                        Auth::None,
                    )
                    .await?;
                if checked.body["session"]["status"] == "succeeded" {
                    return eyre::Ok(checked.body);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await
        .map_err(|_| eyre::eyre!("paid on {} but not delivered within 90 s", chain.name))??;
        assert_eq!(done["session"]["paymentMethod"]["source"]["chainId"], chain.chain_id, "{done}");
        assert_eq!(done["session"]["destination"]["delivery"]["receivedUnits"], "10.00", "{done}");
    }

    // Tron USDT for a USDT session on Base, through the OFT adapter.
    let usdt = relayer_devnet::multichain::BASE.usdt.ok_or_else(|| eyre::eyre!("Base USDT"))?;
    let mut body = session_body(DEST, Some("10.00"), None, None);
    body["destination"]["tokenAddress"] = usdt.to_checksum(None).into();
    let created = api
        .send(Method::POST, "/v1/sessions", Some(body.to_string()), Some("application/json"), Auth::Key(&key))
        .await?;
    let session = &created.body["session"];
    let (id, secret) = (session["sessionId"].as_str().unwrap_or_default(), session["clientSecret"].clone());
    let chosen = api
        .send(
            Method::POST,
            &format!("/v1/sessions/{id}/paymentMethods"),
            Some(
                json!({ "clientSecret": secret, "paymentMethod": { "type": "tron", "amountUsd": "10.00" } })
                    .to_string(),
            ),
            Some("application/json"),
            Auth::None,
        )
        .await?;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    let receiver: relayer_types::ChainAddress =
        format!("tron:{}", chosen.body["tron"]["receiverAddress"].as_str().unwrap_or_default()).parse()?;
    let receiver = receiver.evm_shaped().ok_or_else(|| eyre::eyre!("20 bytes"))?;
    pay(&devnet.info, "tron", None, receiver, "10.00").await?;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = api.send(Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(&key)).await?;
        if got.body["session"]["status"] == "succeeded" {
            break;
        }
        eyre::ensure!(Instant::now() < deadline, "paid on Tron but not delivered: {}", got.body);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    devnet.stop("test").await;
    Ok(())
}
