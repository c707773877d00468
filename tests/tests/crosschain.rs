//! Deposits from another chain, end to end on real local chains: the payer pays on Arbitrum for a
//! session whose destination is Base; the relayer bridges through the router and the real CCTP adapter
//! over the local CCTP (the devnet's attester signs and delivers the burn message), and delivers on
//! Base: at once from its own inventory (fronting) and repaid when the bridge arrives, or on arrival.

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
    TestUSDC::new(base.usdc, &base.deployer).mint(signer, usdc(50)).send().await?.get_receipt().await?;

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

#[tokio::test(flavor = "multi_thread")]
async fn a_deposit_below_the_routes_minimum_is_refunded_on_its_chain_when_the_session_expires() -> Result {
    let chains = Chains::start(&[BASE, ARBITRUM]).await?;
    let arbitrum = chains.get(ARBITRUM.chain_id)?;
    let settings = Settings { session_lifetime_secs: 6, ..Settings::default() };
    let (node, api, _, _dir) = relayer(&chains, settings, None).await?;
    let session = api.create(&session_body(DEST, Some("5.00"), None, Some(REFUND))).await?;
    let receiver = api.set_evm(&session).await?;

    arbitrum.pay(receiver, U256::from(500_000u64)).await?; // 0.50 USDC, below the 1.00 minimum
    let done = api.wait_for(&id(&session), "bounced", 60).await?;
    assert_eq!(arbitrum.balance(REFUND).await?, U256::from(500_000u64), "refunded on Arbitrum: {done}");
    assert_eq!(arbitrum.balance(receiver).await?, U256::ZERO);
    node.shutdown().await;
    Ok(())
}
