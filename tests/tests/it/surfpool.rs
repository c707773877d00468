//! The relayer's Solana flows against a Solana JSON-RPC server we did not write: surfpool (LiteSVM-based,
//! offline, in process; `relayer-surfnet`), with the programs registered natively. The relayer reaches it
//! only through its own JSON-RPC client, over real HTTP, as it would reach a real cluster; the payer's
//! wallet signs the API's `serializedTx` and sends it there too.

use std::time::Duration;

use e2e::{
    API_KEY, Auth, Chain as EvmChain, Settings,
    solana::{set_solana, sign_and_send, start_node},
};
use relayer_surfnet::{SLOT_TIME, Surfnet, USDC_MINT};
use relayer_svm::{SvmClient, client::Confirmation};
use serde_json::{Value, json};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

fn session(merchant: &Pubkey, amount: &str) -> Value {
    json!({
        "destination": {
            "type": "solana",
            "address": merchant.to_string(),
            "tokenAddress": USDC_MINT.to_string(),
            "amountUnits": amount,
        },
        "display": { "title": "Top up", "verb": "Deposit" },
    })
}

/// A value of a `/metrics` sample of chain 501, if present.
fn sample(metrics: &str, name: &str) -> Option<u64> {
    let prefix = format!("{name}{{chain_id=\"501\"");
    metrics.lines().find(|l| l.starts_with(&prefix))?.rsplit(' ').next()?.parse().ok()
}

/// A Solana payer pays a Solana destination; the relayer sees the deposit, prices and sends its settle,
/// and reports the delivery with what it paid; a payment that arrives after its session expired is
/// refunded to the wallet; a relayer restarted over the same store picks up where it was. All through
/// surfpool's JSON-RPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solana_payments_are_delivered_and_refunded_through_a_json_rpc_server_we_did_not_write()
-> eyre::Result<()> {
    let evm = EvmChain::start().await?;
    let net = Surfnet::start(
        relayer_devnet::multichain::attester_address()?,
        relayer_devnet::multichain::messenger_address()?.into_array(),
    )
    .await?;
    let client = net.client();
    let key = Keypair::new();
    net.fund(&key.pubkey(), 5_000_000_000, 0).await?;
    let dir = tempfile::tempdir()?;
    let settings = Settings { session_lifetime_secs: 20, ..Settings::default() };
    let start = |settings: Settings| {
        let client = net.client() as std::sync::Arc<dyn SvmClient>;
        let (evm, key, dir) = (&evm, &key, dir.path().to_path_buf());
        async move { start_node(evm, (USDC_MINT, SLOT_TIME), client, key, &dir, &settings).await }
    };
    let (node, api) = start(settings.clone()).await?;

    // Delivered.
    let merchant = Keypair::new().pubkey();
    let created = api.create(&session(&merchant, "10.00")).await?;
    let id = created["sessionId"].as_str().expect("id").to_owned();
    let payer = Keypair::new();
    net.fund(&payer.pubkey(), 1_000_000_000, 25_000_000).await?;
    let answer = set_solana(&api, &created, &payer.pubkey(), json!({})).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let serialized = answer.body["solana"]["serializedTx"].as_str().expect("serializedTx").to_owned();
    let deposit = sign_and_send(client.as_ref(), &serialized, &payer).await?;
    let done = api.wait_for(&id, "succeeded", 60).await?;
    assert_eq!(done["paymentMethod"]["source"]["txHash"], deposit.to_string());
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "10.00");
    let settle: solana_sdk::signature::Signature =
        done["destination"]["delivery"]["txHash"].as_str().expect("txHash").parse()?;
    let status = client.statuses(vec![settle]).await?.remove(0).expect("the settle is known");
    assert!(!status.failed && status.confirmation >= Confirmation::Confirmed, "{status:?}");
    assert_eq!(net.usdc_balance(&merchant).await?, 10_000_000, "delivered, exactly");
    assert_eq!(net.usdc_balance(&payer.pubkey()).await?, 15_000_000);

    // Bridged in from an EVM chain: Circle's transmitter (the stand-in) delivers a burn from Base for the
    // deposit-vault inbox naming the session's EVM receiver, as Circle's forwarding service would; the
    // relayer reads the delivery from surfpool's `getTransaction` (the top-level instruction's data), has
    // the program record it in a transaction of its own, and claims it for the recipient.
    let inbound = api.create(&session(&merchant, "3")).await?;
    let inbound_id = inbound["sessionId"].as_str().expect("id").to_owned();
    let answer = set_solana(&api, &inbound, &payer.pubkey(), json!({})).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let stored = node.engine.session(&inbound_id.parse().map_err(|e| eyre::eyre!("{e:?}"))?)?;
    let hook =
        relayer_svm::tx::vault_evm::receiver_word(&relayer_svm::tx::params(&stored.commitment()).hash());
    let inbox = relayer_svm::tx::inbox_token(&USDC_MINT);
    let (message, attestation) = relayer_devnet::multichain::attested_burn_for_solana(
        6,
        inbox.to_bytes(),
        3_000_000,
        hook,
        alloy::primitives::B256::repeat_byte(0x5e),
    )?;
    let forwarder = Keypair::new();
    net.fund(&forwarder.pubkey(), 1_000_000_000, 0).await?;
    let nonce = relayer_svm::tx::nonce_of(&message);
    let deliver = relayer_svm::tx::receive_message(
        forwarder.pubkey(),
        USDC_MINT,
        relayer_svm::tx::CCTP_FEE_RECIPIENT,
        message,
        attestation,
    )
    .expect("a burn");
    let (_, raw) = relayer_svm::tx::signed(&[deliver], &forwarder, client.latest_blockhash().await?.0);
    client.send(raw).await?;
    let done = api.wait_for(&inbound_id, "succeeded", 60).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "3.00", "{done}");
    assert_eq!(net.usdc_balance(&merchant).await?, 13_000_000, "claimed once for the recipient");
    let record = client.accounts(vec![relayer_svm::tx::received_record(&nonce)]).await?.remove(0);
    assert!(record.is_some_and(|r| r.owner == relayer_svm::tx::PROGRAM_ID), "the program's record of it");

    // What the relayer paid, and its fee payer's SOL, from surfpool's answers.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
        if sample(&metrics, "relayer_fees_paid_total").is_some_and(|f| f >= 5_000) {
            break metrics;
        }
        assert!(tokio::time::Instant::now() < deadline, "no fee counted:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(sample(&metrics, "relayer_priority_fees_paid_total").is_some(), "{metrics}");
    let sol = metrics
        .lines()
        .find(|l| {
            l.starts_with(
                "relayer_account_resource{chain_id=\"501\",role=\"settle\",resource=\"sol_lamports\"}",
            )
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert!(sol.is_some_and(|s| s > 4_000_000_000), "{metrics}");

    // Paid after it expired: refunded to the wallet, nothing delivered.
    let late = api.create(&session(&merchant, "4")).await?;
    let late_id = late["sessionId"].as_str().expect("id").to_owned();
    let answer = set_solana(&api, &late, &payer.pubkey(), json!({})).await?;
    let serialized = answer.body["solana"]["serializedTx"].as_str().expect("serializedTx").to_owned();
    api.wait_for(&late_id, "expired", 40).await?;
    // A restart in between: the new relayer reads what changed since its marks.
    node.shutdown().await;
    let (node, api) = start(settings).await?;
    sign_and_send(client.as_ref(), &serialized, &payer).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while net.usdc_balance(&payer.pubkey()).await? != 15_000_000 {
        assert!(tokio::time::Instant::now() < deadline, "not refunded: {}", api.get(&late_id).await?);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(net.usdc_balance(&merchant).await?, 13_000_000, "nothing more delivered");
    let seen = api
        .send(reqwest::Method::GET, &format!("/v1/sessions/{late_id}"), None, None, Auth::Key(API_KEY))
        .await?;
    assert_eq!(seen.body["session"]["status"], "expired", "{}", seen.body);
    assert_eq!(api.get(&id).await?["status"], "succeeded", "the first session is untouched by the restart");
    node.shutdown().await;
    net.stop();
    Ok(())
}
