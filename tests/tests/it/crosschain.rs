//! Deposits from another chain, end to end on real local chains: the payer pays on Arbitrum for a
//! session whose destination is Base; the relayer bridges through the router and the real CCTP adapter
//! over the local CCTP (the devnet's attester signs and delivers the burn message), and delivers on
//! Base: at once from its own inventory (fronting) and repaid when the bridge arrives, or on arrival.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use e2e::{Api, Chains, DEST, REFUND, Settings, session_body, usdc, wait_until};
use relayer_devnet::{
    bindings::TestUSDC,
    multichain::{ARBITRUM, BASE},
};

type Result = eyre::Result<()>;

/// A relayer over `chains` (Base the destination), fronting up to `front_cap` USDC on Base.
async fn relayer(
    chains: &Chains,
    settings: Settings,
    front_cap: Option<&str>,
) -> eyre::Result<(relayer_core::Node, Api, Address, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let (params, key, signer) = chains.relayer_config(dir.path().join("db"), &settings, front_cap).await?;
    let node = relayer_node::start(relayer_devnet::config(&params, &key)?).await?;
    let api = Api::new(format!("http://{}", node.addr));
    Ok((node, api, signer, dir))
}

/// 50 USDC of inventory for `signer` on `base`.
async fn inventory(base: &e2e::Chain, signer: Address) -> Result {
    TestUSDC::new(base.usdc, &base.deployer).mint(signer, usdc(50)).send().await?.get_receipt().await?;
    Ok(())
}

/// A relayer fronting up to 100 USDC on Base, with 50 USDC of inventory there.
async fn fronting_relayer(
    chains: &Chains,
) -> eyre::Result<(relayer_core::Node, Api, Address, tempfile::TempDir)> {
    let started = relayer(chains, Settings::default(), Some("100")).await?;
    inventory(chains.get(BASE.chain_id)?, started.2).await?;
    Ok(started)
}

fn id(session: &serde_json::Value) -> String {
    session["sessionId"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn paid_on_arbitrum_without_inventory_is_bridged_and_delivered_on_arrival() -> Result {
    let chains = Chains::start(&[BASE, ARBITRUM]).await?;
    let (base, arbitrum) = (chains.get(BASE.chain_id)?, chains.get(ARBITRUM.chain_id)?);
    let (node, api, _, _dir) = relayer(&chains, Settings::default(), None).await?;
    let session = api.create(&session_body(DEST, Some("5.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;

    let paid = arbitrum.pay(receiver, usdc(5)).await?;
    let done = api.wait_for(&id(&session), "succeeded", 60).await?;
    let source = &done["paymentMethod"]["source"];
    assert_eq!(source["chainId"], ARBITRUM.chain_id, "{done}");
    assert_eq!(source["txHash"], paid.to_string(), "{done}");
    assert_eq!(base.balance(DEST).await?, usdc(5), "delivered on Base");
    assert_eq!(arbitrum.balance(receiver).await?, U256::ZERO, "nothing left on Arbitrum");
    assert_eq!(base.balance(receiver).await?, U256::ZERO, "nothing left on Base");
    assert_eq!(base.settled_events(receiver).await?, 1);
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn with_inventory_the_relayer_fronts_on_base_and_the_bridge_repays_it() -> Result {
    let chains = Chains::start(&[BASE, ARBITRUM]).await?;
    let (base, arbitrum) = (chains.get(BASE.chain_id)?, chains.get(ARBITRUM.chain_id)?);
    let (node, api, signer, _dir) = relayer(&chains, Settings::default(), Some("100")).await?;
    // The relayer's inventory on Base.
    inventory(base, signer).await?;

    let session = api.create(&session_body(DEST, Some("5.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    chains.pause_bridge(true); // the bridge takes its time, as CCTP's standard transfers do
    arbitrum.pay(receiver, usdc(5)).await?;
    let done = api.wait_for(&id(&session), "succeeded", 60).await?;
    assert_eq!(base.balance(DEST).await?, usdc(5), "delivered on Base before the bridge arrived: {done}");
    assert_eq!(base.balance(signer).await?, usdc(45), "from the relayer's inventory");
    let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
    let outstanding =
        |n: u64| format!("relayer_fronted_outstanding{{chain_id=\"8453\",token=\"{}\"}} {n}", base.usdc);
    assert!(metrics.contains(&outstanding(5_000_000)), "fronted and not repaid yet:\n{metrics}");

    // The bridged funds reach the receiver on Base and repay the relayer: inventory back to 50.
    chains.pause_bridge(false);
    wait_until(60, "the relayer repaid on Base", async || Ok(base.balance(signer).await? == usdc(50)))
        .await?;
    assert_eq!(base.balance(receiver).await?, U256::ZERO, "the receiver paid the relayer, nothing else");
    assert_eq!(base.balance(DEST).await?, usdc(5), "the destination was paid once");
    let full = api.get(&id(&session)).await?;
    let attempts = full["deliveryAttempts"].to_string();
    assert!(attempts.contains("fast_finish") && attempts.contains("bridge"), "{full}");
    // The watcher reads the repayment a poll later.
    wait_until(30, "nothing outstanding once repaid", async || {
        Ok(reqwest::get(format!("{}/metrics", api.base)).await?.text().await?.contains(&outstanding(0)))
    })
    .await?;
    node.shutdown().await;
    Ok(())
}

/// With a separate inventory key (`[signer.inventory]`), the fronting is signed by that key and paid
/// from its balance, the repayment goes back to it, and the settle key, which sends everything else
/// (the bridging on Arbitrum, the settlement that repays on Base), never holds a token. `/metrics`
/// shows each key's gas by role and the inventory's balance. The attack this serves: a settle key
/// stolen from a machine that also serves the API can spend its gas, but takes no inventory with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_separate_inventory_key_fronts_and_is_repaid_while_the_settle_key_holds_no_tokens() -> Result {
    let chains = Chains::start(&[BASE, ARBITRUM]).await?;
    let (base, arbitrum) = (chains.get(BASE.chain_id)?, chains.get(ARBITRUM.chain_id)?);
    let dir = tempfile::tempdir()?;
    let (params, key, signer) =
        chains.relayer_config(dir.path().join("db"), &Settings::default(), Some("100")).await?;
    let inventory_key = alloy::signers::local::PrivateKeySigner::random();
    let holder = inventory_key.address();
    base.fund(holder).await?;
    inventory(base, holder).await?;
    let mut file = relayer_devnet::config_file(&params);
    file.signer.inventory = Some(Box::new(relayer_node::config::SignerSection {
        private_key: Some("env:INVENTORY_KEY".into()),
        address: Some(holder),
        ..Default::default()
    }));
    let inventory_hex = alloy::hex::encode_prefixed(inventory_key.to_bytes());
    let config = relayer_node::config::Config::from_file(file, |name| match name {
        relayer_devnet::KEY_VAR => Some(key.clone()),
        "INVENTORY_KEY" => Some(inventory_hex.clone()),
        _ => None,
    })?;
    let node = relayer_node::start(config).await?;
    let api = Api::new(format!("http://{}", node.addr));

    let session = api.create(&session_body(DEST, Some("5.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    chains.pause_bridge(true);
    arbitrum.pay(receiver, usdc(5)).await?;
    let done = api.wait_for(&id(&session), "succeeded", 60).await?;
    assert_eq!(base.balance(DEST).await?, usdc(5), "fronted on Base: {done}");
    assert_eq!(base.balance(holder).await?, usdc(45), "from the inventory key's balance");
    assert_eq!(base.nonce(signer, false).await?, 0, "the settle key sent nothing on Base yet");
    assert!(arbitrum.nonce(signer, false).await? >= 1, "the settle key bridged on Arbitrum");
    assert_eq!(arbitrum.nonce(holder, false).await?, 0, "the inventory key sends nothing but frontings");
    let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
    for (what, line) in [
        (
            "the fronted amount",
            format!("relayer_fronted_outstanding{{chain_id=\"8453\",token=\"{}\"}} 5000000", base.usdc),
        ),
        (
            "each key's gas",
            "relayer_account_resource{chain_id=\"8453\",role=\"inventory\",resource=\"native_gwei\"} ".into(),
        ),
        (
            "each key's gas",
            "relayer_account_resource{chain_id=\"8453\",role=\"settle\",resource=\"native_gwei\"} ".into(),
        ),
    ] {
        assert!(metrics.contains(&line), "{what}: {line}\n{metrics}");
    }
    let balance =
        |n: u64| format!("relayer_inventory_balance{{chain_id=\"8453\",token=\"{}\"}} {n}\n", base.usdc);
    wait_until(30, "the inventory's balance in /metrics", async || {
        Ok(reqwest::get(format!("{}/metrics", api.base)).await?.text().await?.contains(&balance(45_000_000)))
    })
    .await?;

    // The bridge arrives: the settle key settles the receiver, which repays the inventory key.
    chains.pause_bridge(false);
    wait_until(60, "the inventory key repaid on Base", async || Ok(base.balance(holder).await? == usdc(50)))
        .await?;
    assert!(base.nonce(signer, false).await? >= 1, "the settle key sent the repaying settlement");
    assert_eq!(base.balance(signer).await?, U256::ZERO, "the settle key never held a token");
    assert_eq!(arbitrum.balance(signer).await?, U256::ZERO, "on either chain");
    assert_eq!(base.balance(DEST).await?, usdc(5), "the destination was paid once");
    wait_until(30, "nothing outstanding once repaid", async || {
        let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
        Ok(metrics
            .contains(&format!("relayer_fronted_outstanding{{chain_id=\"8453\",token=\"{}\"}} 0", base.usdc)))
    })
    .await?;
    node.shutdown().await;
    Ok(())
}

/// A 5.00 session on Base that lives six seconds, paid `amount` on Arbitrum: refunded there, in full, once
/// it expires; the session ends `status` (`bounced` when the payment started it, `expired` when it was too
/// little to start it).
async fn paid_on_arbitrum_and_refunded_there(amount: U256, status: &str) -> Result {
    let chains = Chains::start(&[BASE, ARBITRUM]).await?;
    let arbitrum = chains.get(ARBITRUM.chain_id)?;
    let settings = Settings { session_lifetime_secs: 6, ..Settings::default() };
    let (node, api, _, _dir) = relayer(&chains, settings, None).await?;
    let session = api.create(&session_body(DEST, Some("5.00"), None, Some(REFUND))).await?;
    let receiver = api.set_evm(&session).await?;

    arbitrum.pay(receiver, amount).await?;
    wait_until(60, "refunded on Arbitrum", async || Ok(arbitrum.balance(REFUND).await? == amount)).await?;
    api.wait_for(&id(&session), status, 60).await?;
    // The watcher records the refund once it is confirmed, maybe a poll after the balance moved.
    let refunded = |s: &serde_json::Value| {
        s["movements"].as_array().is_some_and(|m| m.iter().any(|x| x["type"] == "refunded"))
    };
    wait_until(30, "the refund on the session", async || Ok(refunded(&api.get(&id(&session)).await?)))
        .await?;
    let done = api.get(&id(&session)).await?;
    assert_eq!(done["status"], status, "{done}");
    assert_eq!(arbitrum.balance(receiver).await?, U256::ZERO);
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deposit_below_the_routes_minimum_is_refunded_on_its_chain_when_the_session_expires() -> Result {
    // 0.50 USDC, below the 1.00 minimum: it never started the session, which expires unpaid.
    paid_on_arbitrum_and_refunded_there(U256::from(500_000u64), "expired").await
}

/// Six seconds to live, and the adapter may take 900 s: the router refuses to bridge (the funds could arrive
/// after expiry, where only a refund would remain). They are refunded on Arbitrum instead, once the session
/// expires; before, the bridge was retried until it gave up and the funds sat in the receiver.
#[tokio::test(flavor = "multi_thread")]
async fn a_deposit_too_late_to_bridge_before_expiry_is_refunded_on_its_chain_once_it_expires() -> Result {
    paid_on_arbitrum_and_refunded_there(usdc(5), "bounced").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_calldata_session_paid_on_arbitrum_calls_its_target_on_base_or_bounces_there() -> Result {
    use alloy::{primitives::Bytes, sol_types::SolCall};
    use relayer_devnet::bindings::{PullAllowanceTarget, RevertingTarget};
    let chains = Chains::start(&[BASE, ARBITRUM]).await?;
    let (base, arbitrum) = (chains.get(BASE.chain_id)?, chains.get(ARBITRUM.chain_id)?);
    // Fronted: the call runs from the relayer's funds before the bridge arrives.
    let (node, api, signer, _dir) = fronting_relayer(&chains).await?;

    let target = base.deploy_pull_target().await?;
    let beneficiary = Address::repeat_byte(0xaa);
    let call = PullAllowanceTarget::depositCall { token: base.usdc, beneficiary }.abi_encode();
    let session =
        api.create(&session_body(target, Some("7.00"), Some(Bytes::from(call)), Some(REFUND))).await?;
    let receiver = api.set_evm(&session).await?;
    chains.pause_bridge(true);
    arbitrum.pay(receiver, usdc(7)).await?;
    api.wait_for(&id(&session), "succeeded", 60).await?;
    let credited = PullAllowanceTarget::new(target, &base.deployer).credited(beneficiary).call().await?;
    assert_eq!(credited, usdc(7), "the target was called on Base with the session's amount");
    assert_eq!(base.balance(signer).await?, usdc(43), "from the relayer's inventory, before the bridge");

    // A reverting target: everything bounces to the refund address on Base, once.
    let reverting = base.deploy_reverting_target().await?;
    let call = RevertingTarget::depositCall { _0: base.usdc, _1: Address::repeat_byte(1) }.abi_encode();
    let bouncing =
        api.create(&session_body(reverting, Some("3.00"), Some(Bytes::from(call)), Some(REFUND))).await?;
    let receiver_b = api.set_evm(&bouncing).await?;
    arbitrum.pay(receiver_b, usdc(3)).await?;
    let done = api.wait_for(&id(&bouncing), "bounced", 60).await?;
    assert_eq!(base.balance(REFUND).await?, usdc(3), "refunded on Base: {done}");
    assert_eq!(base.balance(signer).await?, usdc(40), "fronted too: the bounce went to the refund address");
    chains.pause_bridge(false);

    // Both bridges arrive and repay the relayer; nothing is left in either receiver on either chain.
    wait_until(60, "the relayer repaid", async || Ok(base.balance(signer).await? == usdc(50))).await?;
    for r in [receiver, receiver_b] {
        assert_eq!(base.balance(r).await?, U256::ZERO);
        assert_eq!(arbitrum.balance(r).await?, U256::ZERO);
    }
    assert_eq!(base.balance(REFUND).await?, usdc(3), "the call never ran twice, nothing refunded twice");
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relayer_restarted_between_fronting_and_the_bridges_arrival_is_repaid_exactly_once() -> Result {
    let chains = Chains::start(&[BASE, ARBITRUM]).await?;
    let (base, arbitrum) = (chains.get(BASE.chain_id)?, chains.get(ARBITRUM.chain_id)?);
    let dir = tempfile::tempdir()?;
    let (params, key, signer) =
        chains.relayer_config(dir.path().join("db"), &Settings::default(), Some("100")).await?;
    inventory(base, signer).await?;
    let node = relayer_node::start(relayer_devnet::config(&params, &key)?).await?;
    let api = Api::new(format!("http://{}", node.addr));

    let session = api.create(&session_body(DEST, Some("4.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    chains.pause_bridge(true);
    arbitrum.pay(receiver, usdc(4)).await?;
    api.wait_for(&id(&session), "succeeded", 60).await?;
    assert_eq!(base.balance(signer).await?, usdc(46), "fronted");
    node.shutdown().await;

    // The bridge arrives while the relayer is down.
    chains.pause_bridge(false);
    wait_until(60, "the bridged funds on Base", async || Ok(base.balance(receiver).await? == usdc(4)))
        .await?;

    let node = relayer_node::start(relayer_devnet::config(&params, &key)?).await?;
    let api = Api::new(format!("http://{}", node.addr));
    let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
    assert!(
        metrics.contains("relayer_fronted_outstanding{chain_id=\"8453\""),
        "known after the restart:\n{metrics}"
    );
    wait_until(60, "the relayer repaid after the restart", async || {
        Ok(base.balance(signer).await? == usdc(50))
    })
    .await?;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(base.balance(signer).await?, usdc(50), "repaid exactly once");
    assert_eq!(base.balance(receiver).await?, U256::ZERO);
    assert_eq!(base.balance(DEST).await?, usdc(4), "delivered once");
    assert_eq!(base.settled_events(receiver).await?, 1, "one delivery (the fronting), no second one");
    node.shutdown().await;
    Ok(())
}

/// A Base session in `token` for `amount` units to `DEST`.
fn session_in(token: Address, amount: &str) -> serde_json::Value {
    serde_json::json!({
        "destination": { "type": "evm", "address": DEST.to_checksum(None), "chainId": BASE.chain_id,
                         "tokenAddress": token.to_checksum(None), "amountUnits": amount },
        "display": { "title": "Deposit to Acme", "verb": "Deposit" },
    })
}

/// `POST /v1/sessions/{id}/paymentMethods` with `paymentMethod`, as the checkout page sends it.
async fn choose(
    api: &Api,
    session: &serde_json::Value,
    method: serde_json::Value,
) -> eyre::Result<e2e::Answer> {
    let body = serde_json::json!({ "clientSecret": session["clientSecret"], "paymentMethod": method });
    api.send(
        reqwest::Method::POST,
        &format!("/v1/sessions/{}/paymentMethods", id(session)),
        Some(body.to_string()),
        Some("application/json"),
        e2e::Auth::None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn tron_usdt_pays_a_usdt_session_on_base_through_the_oft_adapter() -> Result {
    use relayer_devnet::multichain::TRON;
    let chains = Chains::start(&[BASE, TRON]).await?;
    let (base, tron) = (chains.get(BASE.chain_id)?, chains.get(TRON.chain_id)?);
    let base_usdt = BASE.usdt.ok_or_else(|| eyre::eyre!("Base USDT"))?;
    // With a daily fee cap on Tron (far above what this costs) and a "costly" ceiling below it.
    let _dir = tempfile::tempdir()?;
    let (params, key, _) = chains.relayer_config(_dir.path().join("db"), &Settings::default(), None).await?;
    let mut file = relayer_devnet::config_file(&params);
    for section in &mut file.chains {
        if let relayer_node::config::ChainSection::Tron(tron) = section {
            tron.chain.max_daily_fees = Some("1000".into());
            tron.chain.costly_fee = Some("0.000001".into());
        }
    }
    let config = relayer_node::config::Config::from_file(file, |name| {
        (name == relayer_devnet::KEY_VAR).then(|| key.clone())
    })?;
    let node = relayer_node::start(config).await?;
    let api = Api::new(format!("http://{}", node.addr));

    let session = api.create(&session_in(base_usdt, "7.00")).await?;
    let chosen = choose(&api, &session, serde_json::json!({ "type": "tron", "amountUsd": "7.00" })).await?;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    let tron_info = &chosen.body["tron"];
    let receiver_t = tron_info["receiverAddress"].as_str().unwrap_or_default().to_owned();
    assert!(
        receiver_t.starts_with('T') && receiver_t.len() == 34,
        "base58check Tron address: {}",
        chosen.body
    );
    assert_eq!(tron_info["expiresAt"], session["expiresAt"], "{}", chosen.body);
    let method = &chosen.body["session"]["paymentMethod"];
    assert_eq!(
        (method["type"].as_str(), method["receiverAddress"].as_str()),
        (Some("tron"), Some(receiver_t.as_str()))
    );
    assert_eq!(tron_info["deeplinks"]["trustWallet"]["label"], "USDT on Tron");
    let link = tron_info["deeplinks"]["trustWallet"]["url"].as_str().unwrap_or_default();
    for part in [
        "coin=195",
        &format!("address={receiver_t}"),
        "token_id=TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "amount=7.00",
    ] {
        assert!(link.contains(part), "{link} should contain {part}");
    }

    // Pay USDT (whose transfer returns nothing) on Tron to that receiver.
    let receiver: relayer_types::ChainAddress = format!("tron:{receiver_t}").parse()?;
    let receiver = receiver.evm_shaped().ok_or_else(|| eyre::eyre!("20 bytes"))?;
    let paid = tron.pay(receiver, usdc(7)).await?;
    let done = api.wait_for(&id(&session), "succeeded", 60).await?;
    let source = &done["paymentMethod"]["source"];
    assert_eq!(
        (source["chainId"].as_u64(), source["chainName"].as_str()),
        (Some(TRON.chain_id), Some("tron")),
        "{done}"
    );
    assert_eq!(source["tokenSymbol"], "USDT", "{done}");
    assert_eq!(
        source["txHash"],
        paid.to_string().trim_start_matches("0x"),
        "Tron spells hashes without 0x: {done}"
    );
    assert_eq!(
        TestUSDC::new(base_usdt, &base.deployer).balanceOf(DEST).call().await?,
        usdc(7),
        "USDT on Base"
    );
    assert_eq!(tron.balance(receiver).await?, U256::ZERO, "nothing left on Tron");
    // Sent as a Tron transaction through the node's HTTP API: one, the bridging.
    let front = chains.tron_fronts.get(&TRON.chain_id).ok_or_else(|| eyre::eyre!("Tron's front"))?;
    assert_eq!(front.taken().len(), 1, "one Tron transaction: {:?}", front.taken());
    let attempts = done["deliveryAttempts"].as_array().cloned().unwrap_or_default();
    let on_tron: Vec<&serde_json::Value> =
        attempts.iter().filter(|a| a["chainId"] == TRON.chain_id).collect();
    let txid = format!("{:x}", front.taken()[0].0);
    assert!(
        on_tron.len() == 1 && on_tron[0]["txHash"] == txid.as_str(),
        "the Tron attempt names the txid the node took ({txid}): {done}"
    );
    // Once solidified, the attempt says it landed and what it cost the relayer, in TRX.
    wait_until(30, "the bridging landed, with its cost", async || {
        let s = api.get(&id(&session)).await?;
        Ok(s["deliveryAttempts"].as_array().is_some_and(|a| {
            a.iter().any(|w| {
                w["chainId"] == TRON.chain_id
                    && w["state"] == "landed"
                    && w["txHash"] == txid.as_str()
                    && w["cost"]["symbol"] == "TRX"
                    && w["cost"]["amountUnits"].as_str().is_some_and(|u| u != "0.00")
            })
        }))
    })
    .await?;
    // The day's fees on Tron, in sun: the reservation made at signing (its fee limit, bandwidth and the
    // bridge's fee) corrected to what it cost once solidified; and it cost more than the ceiling.
    let landed = api.get(&id(&session)).await?;
    let cost = landed["deliveryAttempts"]
        .as_array()
        .and_then(|a| a.iter().find(|w| w["txHash"] == txid.as_str()))
        .and_then(|w| w["cost"]["amountUnits"].as_str().map(str::to_owned))
        .ok_or_else(|| eyre::eyre!("the attempt's cost: {landed}"))?;
    let sun = relayer_types::parse_units(&cost, 6)?;
    let spent = format!("relayer_fees_spent_today{{chain_id=\"{}\",unit=\"sun\"}} {sun}\n", TRON.chain_id);
    let costly = format!("relayer_costly_transactions_total{{chain_id=\"{}\"}} 1\n", TRON.chain_id);
    wait_until(30, "the day's Tron fees corrected to the landed cost", async || {
        let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
        Ok(metrics.contains(&spent) && metrics.contains(&costly))
    })
    .await?;
    // The chain's own record of it (read through Tron's JSON-RPC once solidified) names the same txid.
    wait_until(30, "the bridging known by its txid", async || {
        let s = api.get(&id(&session)).await?;
        let movements = s["movements"].as_array().cloned().unwrap_or_default();
        Ok(movements.iter().any(|m| m["type"] == "bridged" && m["txHash"] == txid.as_str()))
    })
    .await?;
    // The operator sees the Tron account's TRX, energy and bandwidth (read from the node's HTTP API).
    let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
    let gauge = |resource: &str| {
        let prefix = format!(
            "relayer_account_resource{{chain_id=\"{}\",role=\"settle\",resource=\"{resource}\"}} ",
            TRON.chain_id
        );
        metrics.lines().find_map(|l| l.strip_prefix(&prefix).and_then(|v| v.parse::<u64>().ok()))
    };
    assert!(gauge("trx_sun").is_some_and(|sun| sun > 0), "{metrics}");
    assert_eq!((gauge("energy"), gauge("bandwidth")), (Some(0), Some(600)), "{metrics}");
    node.shutdown().await;
    Ok(())
}

/// Pays a 7 USDT session on Tron (as [`tron_usdt_pays_a_usdt_session_on_base_through_the_oft_adapter`])
/// and returns its id and Tron receiver.
async fn pay_on_tron(api: &Api, chains: &Chains) -> eyre::Result<(String, Address)> {
    use relayer_devnet::multichain::TRON;
    let base_usdt = BASE.usdt.ok_or_else(|| eyre::eyre!("Base USDT"))?;
    let session = api.create(&session_in(base_usdt, "7.00")).await?;
    let chosen = choose(api, &session, serde_json::json!({ "type": "tron" })).await?;
    let receiver: relayer_types::ChainAddress =
        format!("tron:{}", chosen.body["tron"]["receiverAddress"].as_str().unwrap_or_default()).parse()?;
    let receiver = receiver.evm_shaped().ok_or_else(|| eyre::eyre!("20 bytes"))?;
    chains.get(TRON.chain_id)?.pay(receiver, usdc(7)).await?;
    Ok((id(&session), receiver))
}

/// A 5.00 USDT session on Base that lives 15 seconds, paid `amount` USDT on Tron: refunded there, in
/// full and in one Tron transaction through the node's HTTP API, once it expires; the session ends
/// `status`.
async fn paid_on_tron_and_refunded_there(amount: U256, status: &str) -> Result {
    use relayer_devnet::multichain::TRON;
    let chains = Chains::start(&[BASE, TRON]).await?;
    let (tron, front) = (
        chains.get(TRON.chain_id)?,
        chains.tron_fronts.get(&TRON.chain_id).ok_or_else(|| eyre::eyre!("Tron's front"))?,
    );
    let settings = Settings { session_lifetime_secs: 15, ..Settings::default() };
    let (node, api, _, _dir) = relayer(&chains, settings, None).await?;
    let mut body = session_in(BASE.usdt.ok_or_else(|| eyre::eyre!("Base USDT"))?, "5.00");
    body["refundAddress"] = serde_json::json!(REFUND.to_checksum(None));
    let session = api.create(&body).await?;
    let chosen = choose(&api, &session, serde_json::json!({ "type": "tron" })).await?;
    let receiver: relayer_types::ChainAddress =
        format!("tron:{}", chosen.body["tron"]["receiverAddress"].as_str().unwrap_or_default()).parse()?;
    let receiver = receiver.evm_shaped().ok_or_else(|| eyre::eyre!("20 bytes"))?;
    tron.pay(receiver, amount).await?;
    wait_until(90, "refunded on Tron", async || Ok(tron.balance(REFUND).await? == amount)).await?;
    api.wait_for(&id(&session), status, 60).await?;
    assert_eq!(tron.balance(receiver).await?, U256::ZERO);
    assert_eq!(front.taken().len(), 1, "one Tron transaction, the refund: {:?}", front.taken());
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tron_deposit_below_the_routes_minimum_is_refunded_on_tron_when_the_session_expires() -> Result {
    paid_on_tron_and_refunded_there(U256::from(500_000u64), "expired").await
}

/// The router refuses to bridge a payment that could arrive after expiry (the adapter may take 900 s):
/// read from the call's revert (the node gives no energy estimate for a call that would revert), it is
/// refunded on Tron once the session expires, never retried as a bridging until given up.
#[tokio::test(flavor = "multi_thread")]
async fn a_tron_deposit_too_late_to_bridge_is_refunded_on_tron_once_it_expires() -> Result {
    paid_on_tron_and_refunded_there(usdc(5), "bounced").await
}

/// `session` (paid into `receiver` on Tron) succeeds, and stays with exactly one Tron transaction on
/// chain, the receiver emptied.
async fn delivered_in_one_tron_transaction(
    api: &Api,
    chains: &Chains,
    session: &str,
    receiver: Address,
) -> Result {
    use relayer_devnet::multichain::TRON;
    let front = chains.tron_fronts.get(&TRON.chain_id).ok_or_else(|| eyre::eyre!("Tron's front"))?;
    api.wait_for(session, "succeeded", 90).await?;
    // Long enough for a second transaction, had the relayer built one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(front.taken().len(), 1, "one Tron transaction: {:?}", front.taken());
    assert_eq!(chains.get(TRON.chain_id)?.balance(receiver).await?, U256::ZERO);
    Ok(())
}

/// The Tron node took the bridging into its pool, and its answer was lost: the relayer looks the txid up
/// before anything else and sends only the same bytes again (the funds are still in the receiver, so a
/// rebuilt transaction would pass its simulation and land). One transaction ever, on chain once released.
#[tokio::test(flavor = "multi_thread")]
async fn a_tron_broadcast_whose_answer_is_lost_is_looked_up_not_sent_twice() -> Result {
    use relayer_devnet::{multichain::TRON, tron_front::BroadcastFault};
    let chains = Chains::start(&[BASE, TRON]).await?;
    let front = chains.tron_fronts.get(&TRON.chain_id).ok_or_else(|| eyre::eyre!("Tron's front"))?;
    let (node, api, _, _dir) = relayer(&chains, Settings::default(), None).await?;
    // Taken into the pool, not run yet, and the answer lost: the receiver still holds the funds, so
    // a second transaction built now would pass its simulation and land.
    front.fault_broadcasts(BroadcastFault::Hold, 1);
    let (session, receiver) = pay_on_tron(&api, &chains).await?;
    wait_until(60, "the bridging held in the pool", async || Ok(front.broadcasts() >= 1)).await?;
    // The relayer looks it up, sends the same bytes again (a duplicate), and builds nothing new.
    wait_until(30, "the same bytes sent again", async || Ok(front.broadcasts() >= 2)).await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(front.received().len(), 1, "one transaction ever broadcast: {:?}", front.received());
    front.release_held().await?;
    delivered_in_one_tron_transaction(&api, &chains, &session, receiver).await?;
    assert_eq!(front.received().len(), 1, "and none after: {:?}", front.received());
    node.shutdown().await;
    Ok(())
}

/// The relayer persisted a signed Tron transaction and its broadcast never reached the network, then the
/// relayer stopped: after the restart the record is looked up (not on chain, not expired) and the same
/// bytes are sent, never a second transaction. One transaction on chain.
#[tokio::test(flavor = "multi_thread")]
async fn a_tron_transaction_persisted_but_never_broadcast_is_sent_after_a_restart_exactly_once() -> Result {
    use relayer_devnet::{multichain::TRON, tron_front::BroadcastFault};
    let chains = Chains::start(&[BASE, TRON]).await?;
    let front = chains.tron_fronts.get(&TRON.chain_id).ok_or_else(|| eyre::eyre!("Tron's front"))?;
    let dir = tempfile::tempdir()?;
    let (params, key, _) = chains.relayer_config(dir.path().join("db"), &Settings::default(), None).await?;
    let node = relayer_node::start(relayer_devnet::config(&params, &key)?).await?;
    let api = Api::new(format!("http://{}", node.addr));
    // Every broadcast of the first run is lost on the way: the record is all there is.
    front.fault_broadcasts(BroadcastFault::Drop, u64::MAX);
    let (session, receiver) = pay_on_tron(&api, &chains).await?;
    wait_until(60, "the broadcast tried", async || Ok(front.broadcasts() >= 1)).await?;
    node.shutdown().await;
    assert!(front.taken().is_empty(), "nothing reached the chain before the restart");
    front.fault_broadcasts(BroadcastFault::None, 0);

    let persisted = front.received();
    let node = relayer_node::start(relayer_devnet::config(&params, &key)?).await?;
    let api = Api::new(format!("http://{}", node.addr));
    delivered_in_one_tron_transaction(&api, &chains, &session, receiver).await?;
    // The very transaction persisted before the restart landed; nothing was rebuilt.
    assert_eq!(front.received(), persisted, "only the persisted transaction was ever broadcast");
    assert_eq!(front.taken().first().map(|t| t.0), persisted.first().copied());
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tron_payment_method_is_refused_for_a_usdc_session_before_anyone_pays() -> Result {
    use relayer_devnet::multichain::TRON;
    let chains = Chains::start(&[BASE, TRON]).await?;
    let (node, api, _, _dir) = relayer(&chains, Settings::default(), None).await?;
    let session = api.create(&session_body(DEST, Some("5.00"), None, None)).await?;
    let refused = choose(&api, &session, serde_json::json!({ "type": "tron" })).await?;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let error = &refused.body["error"];
    assert_eq!(error["type"], "invalid_request_error", "{}", refused.body);
    assert_eq!(error["code"], "unsupported_route", "{}", refused.body);
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("USDC") && message.contains("8453") && message.contains("USDT on tron"),
        "{message}"
    );
    assert_eq!(api.get(&id(&session)).await?["status"], "requires_payment_method", "nothing changed");
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payer_who_pays_on_two_chains_loses_nothing_every_deposit_is_delivered_and_shown() -> Result {
    let chains = Chains::start(&[BASE, ARBITRUM]).await?;
    let (base, arbitrum) = (chains.get(BASE.chain_id)?, chains.get(ARBITRUM.chain_id)?);
    let (node, api, signer, _dir) = fronting_relayer(&chains).await?;
    let session = api.create(&session_body(DEST, Some("5.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;

    base.pay(receiver, usdc(5)).await?;
    api.wait_for(&id(&session), "succeeded", 60).await?;
    // The same payer pays again, on Arbitrum: bridged, not fronted (the session is done on Base), and
    // delivered when it arrives, as a plain session's later deposits are.
    arbitrum.pay(receiver, usdc(5)).await?;
    wait_until(60, "the second deposit delivered", async || Ok(base.balance(DEST).await? == usdc(10)))
        .await?;
    wait_until(30, "both deposits on the session", async || {
        let s = api.get(&id(&session)).await?;
        Ok(s["deliveryAttempts"].to_string().contains("bridge"))
    })
    .await?;
    assert_eq!(base.balance(signer).await?, usdc(50), "nothing fronted for a session already delivered");
    assert_eq!((base.balance(receiver).await?, arbitrum.balance(receiver).await?), (U256::ZERO, U256::ZERO));
    assert_eq!(base.settled_events(receiver).await?, 2, "two deliveries, one per deposit");
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn usdt_fronting_renews_a_used_up_allowance_the_way_usdt_demands() -> Result {
    use relayer_devnet::multichain::TRON;
    let chains = Chains::start(&[BASE, TRON]).await?;
    let (base, tron) = (chains.get(BASE.chain_id)?, chains.get(TRON.chain_id)?);
    let base_usdt = BASE.usdt.ok_or_else(|| eyre::eyre!("Base USDT"))?;
    // A 10 USDT cap: the first fronting (7) leaves an allowance of 3, too little for the second, and USDT
    // refuses to change a non-zero allowance to another non-zero one.
    let (node, api, signer, _dir) = relayer(&chains, Settings::default(), Some("10")).await?;
    let usdt = TestUSDC::new(base_usdt, &base.deployer); // same mint/balanceOf
    usdt.mint(signer, usdc(50)).send().await?.get_receipt().await?;
    chains.pause_bridge(true);
    for round in 1..=2u64 {
        let session = api.create(&session_in(base_usdt, "7.00")).await?;
        let chosen = choose(&api, &session, serde_json::json!({ "type": "tron" })).await?;
        let receiver: relayer_types::ChainAddress =
            format!("tron:{}", chosen.body["tron"]["receiverAddress"].as_str().unwrap_or_default())
                .parse()?;
        tron.pay(receiver.evm_shaped().ok_or_else(|| eyre::eyre!("20 bytes"))?, usdc(7)).await?;
        api.wait_for(&id(&session), "succeeded", 60).await?;
        assert_eq!(usdt.balanceOf(signer).call().await?, usdc(43), "fronting {round} from inventory");
        // Repaid before the next one, so the cap has room: only the allowance is short.
        chains.pause_bridge(false);
        wait_until(60, "repaid", async || Ok(usdt.balanceOf(signer).call().await? == usdc(50))).await?;
        chains.pause_bridge(true);
    }
    node.shutdown().await;
    Ok(())
}
