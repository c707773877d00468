//! `relayer devnet` itself (its library entry point, which the binary only wraps): it starts every chain
//! (the figure is printed), and the printed flow works paying USDC from each EVM chain, USDT from Tron,
//! and USDC from Solana to a Solana destination.

use std::time::{Duration, Instant};

use e2e::{Api, Auth, DEST, session_body};
use relayer_devnet::{Devnet, pay};
use reqwest::Method;
use serde_json::json;

type Result = eyre::Result<()>;

async fn block_number(rpc_url: &str) -> eyre::Result<u64> {
    use alloy::providers::Provider;
    Ok(alloy::providers::ProviderBuilder::new().connect_http(rpc_url.parse()?).get_block_number().await?)
}

async fn usdc_balance(
    rpc_url: &str,
    who: alloy::primitives::Address,
) -> eyre::Result<alloy::primitives::U256> {
    let provider = alloy::providers::ProviderBuilder::new().connect_http(rpc_url.parse()?);
    let usdc = relayer_devnet::bindings::TestUSDC::new(relayer_devnet::BASE_USDC, &provider);
    Ok(usdc.balanceOf(who).call().await?)
}

async fn receipt_block(rpc_url: &str, tx: alloy::primitives::B256) -> eyre::Result<u64> {
    use alloy::providers::Provider;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(rpc_url.parse()?);
    let receipt =
        provider.get_transaction_receipt(tx).await?.ok_or_else(|| eyre::eyre!("no receipt for {tx}"))?;
    receipt.block_number.ok_or_else(|| eyre::eyre!("receipt without a block"))
}

/// `GET /v1/sessions/{id}/tokenOptions` on the devnet: every chain that can pay a Base USDC session, the
/// amount, and the balances of a funded and an unfunded wallet read from the chains.
async fn token_options_read_balances_from_every_chain(devnet: &Devnet, api: &Api, key: &str) -> Result {
    let funded = alloy::primitives::Address::repeat_byte(0x5a);
    let unfunded = alloy::primitives::Address::repeat_byte(0x5b);
    pay(&devnet.info, "base", Some("usdc"), funded, "25.00").await?;
    let session = &api.create_with(key, &session_body(DEST, Some("10.00"), None, None)).await?;
    let (id, secret) = (
        session["sessionId"].as_str().unwrap_or_default(),
        session["clientSecret"].as_str().unwrap_or_default(),
    );
    let solana = devnet.info.solana.clone().ok_or_else(|| eyre::eyre!("the devnet runs Solana"))?;
    let options = |wallet: alloy::primitives::Address, sol: String| {
        let path = format!(
            "/v1/sessions/{id}/tokenOptions?clientSecret={secret}&evmAddress={wallet}&solanaAddress={sol}"
        );
        async move { api.send(Method::GET, &path, None, None, Auth::None).await }
    };
    let rich = options(funded, solana.payer.clone()).await?;
    assert_eq!(rich.status, 200, "{}", rich.body);
    assert_eq!(rich.body["sessionId"], id);
    let list = rich.body["options"].as_array().cloned().unwrap_or_default();
    let base =
        list.iter().find(|o| o["chainId"] == 8453 && o["tokenSymbol"] == "USDC").cloned().unwrap_or_default();
    assert_eq!(
        (base["requiredUnits"].as_str(), base["balanceUnits"].as_str()),
        (Some("10.00"), Some("25.00")),
        "{list:?}"
    );
    assert!(list.iter().all(|o| o["requiredUnits"] == "10.00"), "{list:?}");
    let chains: std::collections::BTreeSet<u64> = list.iter().filter_map(|o| o["chainId"].as_u64()).collect();
    let usdc_chains = devnet.info.chains.iter().filter(|c| c.usdc.is_some()).count();
    assert!(chains.len() >= usdc_chains, "every USDC chain can pay (bridged): {chains:?}");
    let sol = list.iter().find(|o| o["chainId"] == 501).cloned().unwrap_or_default();
    assert!(sol["balanceUnits"].as_str().is_some_and(|b| b != "0.00"), "the Solana payer holds USDC: {sol}");

    let unknown = solana_sdk::pubkey::Pubkey::new_unique().to_string();
    let poor = options(unfunded, unknown).await?;
    let list = poor.body["options"].as_array().cloned().unwrap_or_default();
    for option in list.iter().filter(|o| o["chainId"] != relayer_types::TRON_CHAIN_ID) {
        assert_eq!(option["balanceUnits"], "0.00", "an unfunded wallet holds nothing: {option}");
    }
    // No address: a clear error in the envelope.
    let none = api
        .send(
            Method::GET,
            &format!("/v1/sessions/{id}/tokenOptions?clientSecret={secret}"),
            None,
            None,
            Auth::None,
        )
        .await?;
    assert_eq!((none.status, none.body["error"]["param"].as_str()), (400, Some("evmAddress")));
    Ok(())
}

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
    token_options_read_balances_from_every_chain(&devnet, &api, &key).await?;
    for chain in devnet.info.chains.clone().into_iter().filter(|c| c.usdc.is_some()) {
        // The printed flow: create with the API key, choose EVM with the client secret, pay, check.
        let session = &api.create_with(&key, &session_body(DEST, Some("10.00"), None, None)).await?;
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
        let paid = pay(&devnet.info, &chain.name.to_lowercase(), Some("usdc"), receiver, "10.00").await?.0;
        let base_at_payment = block_number(&devnet.info.chains[0].rpc_url).await?;
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
        // Latency in blocks (1 s blocks on every chain): the payment's block to the delivery's block.
        let delivered: alloy::primitives::B256 =
            done["session"]["destination"]["delivery"]["txHash"].as_str().unwrap_or_default().parse()?;
        let delivery_block = receipt_block(&devnet.info.chains[0].rpc_url, delivered).await?;
        let payment_block = receipt_block(&chain.rpc_url, paid).await?;
        let full = api.send(Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(&key)).await?;
        let bridge = full.body["session"]["deliveryAttempts"]
            .as_array()
            .and_then(|a| a.iter().find(|w| w["action"] == "bridge"))
            .and_then(|w| w["txHash"].as_str())
            .map(str::parse::<alloy::primitives::B256>)
            .transpose()?;
        let bridge_block = match bridge {
            Some(tx) => Some(receipt_block(&chain.rpc_url, tx).await?),
            None => None,
        };
        println!(
            "paid on {}: {} delivered on Base {} Base blocks after the payment (bridge sent {} source blocks after it)",
            chain.name,
            if full.body.to_string().contains("fast_finish") { "fronted and" } else { "settled and" },
            delivery_block.saturating_sub(base_at_payment),
            bridge_block.map_or("-".to_owned(), |b| b.saturating_sub(payment_block).to_string()),
        );
    }

    // Tron USDT for a USDT session on Base, through the OFT adapter.
    let usdt = relayer_devnet::multichain::BASE.usdt.ok_or_else(|| eyre::eyre!("Base USDT"))?;
    let mut body = session_body(DEST, Some("10.00"), None, None);
    body["destination"]["tokenAddress"] = usdt.to_checksum(None).into();
    let (id, chosen) =
        api.create_and_choose(&key, &body, json!({ "type": "tron", "amountUsd": "10.00" })).await?;
    let id = id.as_str();
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

    // Solana: a Solana destination paid by the devnet's Solana wallet, through the printed flow (the
    // relayer reaches the bank over the devnet's JSON-RPC, as it would a real cluster).
    let solana = devnet.info.solana.clone().ok_or_else(|| eyre::eyre!("the devnet runs Solana"))?;
    let merchant = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU";
    let body = json!({
        "destination": { "type": "solana", "address": merchant, "tokenAddress": solana.usdc, "amountUnits": "10.00" },
        "display": { "title": "Deposit to Acme", "verb": "Deposit" }
    });
    let (id, chosen) = api
        .create_and_choose(&key, &body, json!({ "type": "solana", "walletAddress": solana.payer }))
        .await?;
    let id = id.as_str();
    let serialized = chosen.body["solana"]["serializedTx"].as_str().unwrap_or_default();
    let paid_at = Instant::now();
    relayer_devnet::solana::pay(&solana.rpc_url, serialized).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = api.send(Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(&key)).await?;
        if got.body["session"]["status"] == "succeeded" {
            assert_eq!(got.body["session"]["destination"]["delivery"]["receivedUnits"], "10.00");
            break;
        }
        eyre::ensure!(Instant::now() < deadline, "paid on Solana but not delivered: {}", got.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("paid on Solana: settled on Solana {:.1?} after the payment", paid_at.elapsed());
    let owner: solana_sdk::pubkey::Pubkey = merchant.parse()?;
    assert_eq!(devnet.solana.bank.usdc_balance(&owner).await?, 10_000_000);

    // Solana USDC for a Base session: the vault bridges it through CCTP to the session's
    // receiver on Base (the devnet attester delivers the message), and the relayer fronts it on Base.
    let base = &devnet.info.chains[0];
    let (id, chosen) = api
        .create_and_choose(
            &key,
            &session_body(DEST, Some("10.00"), None, None),
            json!({ "type": "solana", "walletAddress": solana.payer }),
        )
        .await?;
    let id = id.as_str();
    let before = usdc_balance(&base.rpc_url, DEST).await?;
    let serialized = chosen.body["solana"]["serializedTx"].as_str().unwrap_or_default();
    let paid_at = Instant::now();
    relayer_devnet::solana::pay(&solana.rpc_url, serialized).await?;
    let deadline = Instant::now() + Duration::from_secs(90);
    let done = loop {
        let got = api.send(Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(&key)).await?;
        if got.body["session"]["status"] == "succeeded" {
            break got.body;
        }
        eyre::ensure!(Instant::now() < deadline, "paid on Solana but not delivered on Base: {}", got.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("paid on Solana for Base: delivered on Base {:.1?} after the payment", paid_at.elapsed());
    assert_eq!(done["session"]["paymentMethod"]["source"]["chainId"], 501, "{done}");
    assert_eq!(done["session"]["destination"]["delivery"]["receivedUnits"], "10.00", "{done}");
    assert_eq!(
        usdc_balance(&base.rpc_url, DEST).await? - before,
        alloy::primitives::U256::from(10_000_000u64)
    );
    let attempts = done["session"]["deliveryAttempts"].to_string();
    assert!(attempts.contains("bridge"), "bridged from Solana: {attempts}");
    // The bridged USDC reaches the session's receiver on Base and repays the fronting: nothing stays
    // outstanding.
    let outstanding =
        format!("relayer_fronted_outstanding{{chain_id=\"8453\",token=\"{}\"}} 0", relayer_devnet::BASE_USDC);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = reqwest::get(format!("{}/metrics", devnet.info.api_url)).await?.text().await?;
        if metrics.contains(&outstanding) {
            break;
        }
        eyre::ensure!(Instant::now() < deadline, "the fronting was never repaid:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("paid on Solana for Base: the fronting was repaid {:.1?} after the payment", paid_at.elapsed());

    // Arbitrum USDC for a Solana session: the router bridges it through the CCTP adapter's Solana route
    // to the deposit-vault inbox (hook: the session's EVM receiver); the attester only attests the message
    // (served in the shape of Circle's API), as Circle does: the relayer fetches it, delivers it through
    // Circle's transmitter itself and claims the transfer for the session's recipient.
    let arbitrum =
        devnet.info.chains.iter().find(|c| c.chain_id == 42161).ok_or_else(|| eyre::eyre!("arbitrum"))?;
    let recipient = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
    let mut body = json!({
        "destination": { "type": "solana", "address": recipient, "tokenAddress": solana.usdc, "amountUnits": "10.00" },
        "display": { "title": "Deposit to Acme", "verb": "Deposit" }
    });
    // Without an EVM refund address, what could not be bridged would have nowhere to go on Arbitrum.
    let created = api
        .send(Method::POST, "/v1/sessions", Some(body.to_string()), Some("application/json"), Auth::Key(&key))
        .await?;
    let refused = api
        .send(
            Method::POST,
            &format!("/v1/sessions/{}/paymentMethods", created.body["session"]["sessionId"].as_str().unwrap_or_default()),
            Some(json!({ "clientSecret": created.body["session"]["clientSecret"], "paymentMethod": { "type": "evm" } }).to_string()),
            Some("application/json"),
            Auth::None,
        )
        .await?;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.to_string().contains("refundAddress"), "{}", refused.body);
    body["refundAddress"] = DEST.to_checksum(None).into();
    let (id, chosen) = api.create_and_choose(&key, &body, json!({ "type": "evm" })).await?;
    let id = id.as_str();
    let receiver =
        chosen.body["session"]["paymentMethod"]["receiverAddress"].as_str().unwrap_or_default().parse()?;
    let paid_at = Instant::now();
    pay(&devnet.info, "arbitrum", Some("usdc"), receiver, "10.00").await?;
    let deadline = Instant::now() + Duration::from_secs(90);
    let done = loop {
        let got = api.send(Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(&key)).await?;
        if got.body["session"]["status"] == "succeeded" {
            break got.body;
        }
        eyre::ensure!(
            Instant::now() < deadline,
            "paid on Arbitrum but not delivered on Solana: {}",
            got.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("paid on Arbitrum for Solana: delivered on Solana {:.1?} after the payment", paid_at.elapsed());
    assert_eq!(done["session"]["paymentMethod"]["source"]["chainId"], arbitrum.chain_id, "{done}");
    assert_eq!(done["session"]["destination"]["delivery"]["receivedUnits"], "10.00", "{done}");
    let attempts = done["session"]["deliveryAttempts"].to_string();
    assert!(attempts.contains("bridge"), "bridged from Arbitrum: {attempts}");
    let owner: solana_sdk::pubkey::Pubkey = recipient.parse()?;
    assert_eq!(devnet.solana.bank.usdc_balance(&owner).await?, 10_000_000, "the recipient got it, once");
    let inbox = relayer_svm::tx::inbox_token(&devnet.solana.bank.usdc());
    assert_eq!(devnet.solana.bank.token_balance(&inbox).await?, 0, "nothing left in the inbox");
    // Delivered by the relayer's own key: nobody else on the devnet calls Circle's transmitter.
    let bank = &devnet.solana.bank;
    let mut deliverers = vec![];
    for info in relayer_svm::client::history(bank.as_ref(), inbox, None).await? {
        let Some(view) = relayer_svm::SvmClient::transaction(bank.as_ref(), info.signature).await? else {
            continue;
        };
        let delivered = relayer_svm::tx::inbox_moves(&view).into_iter().any(|(_, moved)| {
            matches!(moved, relayer_svm::tx::InboxMove::Delivered { received, .. }
                if received.hook.is_some_and(|h| h[12..] == receiver.as_slice()[..]))
        });
        if delivered {
            deliverers.push(view.account_keys[0].to_string());
        }
    }
    assert_eq!(deliverers, vec![solana.relayer.clone()], "delivered once, by the relayer");
    devnet.stop("test").await;
    Ok(())
}
