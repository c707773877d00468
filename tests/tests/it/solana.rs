//! Solana end to end: the in-process bank with the deposit-vault program and the real SPL programs, a
//! real anvil chain beside it, the relayer over real HTTP, and a payer wallet that signs the API's
//! `serializedTx`.

use std::{sync::Arc, time::Duration};

use e2e::{
    API_KEY, Auth, Settings, conforms,
    solana::{Flaky, SendFault, SolanaEnv, deposit_address, set_solana, sign_and_send, vault_moves, wallet},
};
use relayer_svm::{LocalBank, SvmClient, tx};
use serde_json::{Value, json};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

fn solana_session(bank: &LocalBank, merchant: &Pubkey, amount: Option<&str>) -> Value {
    let mut destination =
        json!({ "type": "solana", "address": merchant.to_string(), "tokenAddress": bank.usdc().to_string() });
    if let Some(a) = amount {
        destination["amountUnits"] = a.into();
    }
    json!({ "destination": destination, "display": { "title": "Top up", "verb": "Deposit" } })
}

#[tokio::test]
async fn a_solana_payer_pays_a_solana_destination_and_the_rent_returns_to_the_wallet() -> eyre::Result<()> {
    let env = SolanaEnv::start().await?;
    let bank = &env.bank;
    let dir = tempfile::tempdir()?;
    let (node, api) = env.relayer(dir.path(), &Settings::default()).await?;

    let doc = api.send(reqwest::Method::GET, "/openapi.json", None, None, Auth::None).await?.body;

    let merchant = Keypair::new().pubkey();
    let body = solana_session(bank, &merchant, Some("10.00"));
    let created = api.json(reqwest::Method::POST, "/v1/sessions", &body, Auth::Key(API_KEY)).await?;
    assert_eq!(created.status, 201, "{}", created.body);
    conforms(&doc, "post", "/v1/sessions", &created)?;
    let session = created.body["session"].clone();
    // Spec: a Solana destination shows the mint as tokenAddress and no chainId, chainName or calldata.
    let dest = &session["destination"];
    assert_eq!(dest["type"], "solana");
    assert_eq!(dest["address"], merchant.to_string());
    assert_eq!(dest["tokenAddress"], bank.usdc().to_string());
    assert_eq!(dest["amountUnits"], "10.00");
    for absent in ["chainId", "chainName", "calldata"] {
        assert!(dest.get(absent).is_none(), "{absent} in {dest}");
    }

    let payer = wallet(bank, 25_000_000).await?;
    let answer =
        set_solana(&api, &session, &payer.pubkey(), json!({ "inputTokenMint": bank.usdc().to_string() }))
            .await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    conforms(&doc, "post", "/v1/sessions/{id}/paymentMethods", &answer)?;
    let method = &answer.body["session"]["paymentMethod"];
    assert_eq!(method["type"], "solana");
    assert!(method.get("receiverAddress").is_none(), "sign-and-send: no address to show");
    let serialized = answer.body["solana"]["serializedTx"].as_str().expect("serializedTx").to_owned();
    assert!(serialized.bytes().all(|b| b.is_ascii_hexdigit()));
    let id = session["sessionId"].as_str().expect("id");
    assert_eq!(api.get(id).await?["status"], "waiting_payment");

    let lamports_before = bank.lamports(&payer.pubkey()).await?;
    let deposit = sign_and_send(bank.as_ref(), &serialized, &payer).await?;
    let done = api.wait_for(id, "succeeded", 30).await?;
    let seen =
        api.send(reqwest::Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(API_KEY)).await?;
    conforms(&doc, "get", "/v1/sessions/{id}", &seen)?;

    let source = &done["paymentMethod"]["source"];
    assert_eq!(source["chainId"], 501);
    assert_eq!(source["chainName"], "solana");
    assert_eq!(source["address"], payer.pubkey().to_string());
    assert_eq!(source["tokenAddress"], bank.usdc().to_string());
    assert_eq!(source["sentUnits"], "10.00");
    assert_eq!(source["txHash"], deposit.to_string(), "the payer's signature, base58");
    let delivery = &done["destination"]["delivery"];
    assert_eq!(delivery["receivedUnits"], "10.00");
    let settle: solana_sdk::signature::Signature = delivery["txHash"].as_str().expect("txHash").parse()?;
    assert!(bank.transaction(settle).await?.is_some_and(|t| !t.failed), "the delivery is a landed signature");

    assert_eq!(bank.usdc_balance(&merchant).await?, 10_000_000, "delivered, exactly");
    assert_eq!(bank.usdc_balance(&payer.pubkey()).await?, 15_000_000);
    // The wallet paid the fee and the vault account's rent; the rent came back when the vault emptied.
    let fee = 5_000;
    assert_eq!(bank.lamports(&payer.pubkey()).await?, lamports_before - fee, "only the fee is spent");

    // A check with the payment's signature as hint answers the session (a Solana signature is a valid hint).
    let body = json!({ "clientSecret": session["clientSecret"], "txHash": deposit.to_string() });
    let checked =
        api.json(reqwest::Method::PUT, &format!("/v1/sessions/{id}/check"), &body, Auth::None).await?;
    assert_eq!(
        (checked.status, &checked.body["session"]["status"]),
        (200, &json!("succeeded")),
        "{}",
        checked.body
    );

    // The wallet pays the same again (an extra deposit): nothing is lost, it is delivered too.
    sign_and_send(bank.as_ref(), &serialized, &payer).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while bank.usdc_balance(&merchant).await? != 20_000_000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the extra deposit was not delivered: {}",
            api.get(id).await?
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(vault_moves(bank, &deposit_address(&serialized)?).await?, (2, 0, 0), "one settlement each");

    node.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_solana_input_gets_a_clear_error_and_changes_nothing() -> eyre::Result<()> {
    let env = SolanaEnv::start().await?;
    let (evm, bank) = (&env.evm, &env.bank);
    let dir = tempfile::tempdir()?;
    let (node, api) = env.relayer(dir.path(), &Settings::default()).await?;

    let merchant = Keypair::new().pubkey();
    let mut with_chain = solana_session(bank, &merchant, Some("1"));
    with_chain["destination"]["chainId"] = 501.into();
    let mut wrong_mint = solana_session(bank, &merchant, Some("1"));
    wrong_mint["destination"]["tokenAddress"] = merchant.to_string().into();
    for (body, param) in [(with_chain, "destination.chainId"), (wrong_mint, "destination.tokenAddress")] {
        let a = api.json(reqwest::Method::POST, "/v1/sessions", &body, Auth::Key(API_KEY)).await?;
        assert_eq!(a.status, 400, "{}", a.body);
        assert_eq!(a.body["error"]["param"], param, "{}", a.body);
    }

    // An open-amount session needs the amount the wallet sends; a wallet must be base58.
    let open = api.create(&solana_session(bank, &merchant, None)).await?;
    let id = open["sessionId"].as_str().expect("id");
    let payer = Keypair::new().pubkey();
    let missing = set_solana(&api, &open, &payer, json!({})).await?;
    assert_eq!(
        (missing.status, missing.body["error"]["param"].as_str()),
        (400, Some("paymentMethod.amountUsd"))
    );
    let bad =
        set_solana(&api, &open, &Pubkey::default(), json!({ "walletAddress": "0xabc", "amountUsd": "1" }))
            .await?;
    assert_eq!((bad.status, bad.body["error"]["param"].as_str()), (400, Some("paymentMethod.walletAddress")));
    // More than an SPL amount holds (a u64 of base units): refused before the method is set.
    let huge = set_solana(&api, &open, &payer, json!({ "amountUsd": 1e20 })).await?;
    assert_eq!((huge.status, huge.body["error"]["param"].as_str()), (400, Some("paymentMethod.amountUsd")));
    assert_eq!(api.get(id).await?["status"], "requires_payment_method", "nothing changed");
    let ok = set_solana(&api, &open, &payer, json!({ "amountUsd": "2.5" })).await?;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let raw = hex::decode(ok.body["solana"]["serializedTx"].as_str().expect("tx"))?;
    let transfer = &tx::deserialize(&raw).map_err(|e| eyre::eyre!(e))?.message.instructions[1].data;
    assert_eq!(&transfer[1..9], &2_500_000u64.to_le_bytes(), "amountUsd in the mint's base units");
    // The vault commits to the first wallet: another wallet cannot take its place.
    let other = set_solana(&api, &open, &Keypair::new().pubkey(), json!({ "amountUsd": "2.5" })).await?;
    assert_eq!(other.status, 400, "{}", other.body);

    // A Solana payment for an EVM destination needs a route to it (none yet): refused before anyone pays.
    let evm_session = api
        .create(&json!({
            "destination": { "type": "evm", "address": format!("{}", e2e::DEST), "chainId": 8453,
                             "tokenAddress": format!("{}", evm.usdc), "amountUnits": "1" },
            "display": { "title": "t", "verb": "v" }
        }))
        .await?;
    let refused = set_solana(&api, &evm_session, &payer, json!({})).await?;
    assert_eq!(refused.status, 400, "{}", refused.body);
    // And an EVM payment for a Solana destination likewise: a refund on an EVM chain could go nowhere.
    let sol_session = api.create(&solana_session(bank, &merchant, Some("1"))).await?;
    let evm_refused = api
        .json(
            reqwest::Method::POST,
            &format!("/v1/sessions/{}/paymentMethods", sol_session["sessionId"].as_str().expect("id")),
            &json!({ "clientSecret": sol_session["clientSecret"], "paymentMethod": { "type": "evm" } }),
            Auth::None,
        )
        .await?;
    assert_eq!(evm_refused.status, 400, "{}", evm_refused.body);
    assert_eq!(evm_refused.body["error"]["code"], "unsupported_route", "{}", evm_refused.body);

    node.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_deposit_after_expiry_is_refunded_to_the_wallet_on_solana() -> eyre::Result<()> {
    let env = SolanaEnv::start().await?;
    let bank = &env.bank;
    let dir = tempfile::tempdir()?;
    let settings = Settings { session_lifetime_secs: 3, ..Settings::default() };
    let (node, api) = env.relayer(dir.path(), &settings).await?;

    let merchant = Keypair::new().pubkey();
    let session = api.create(&solana_session(bank, &merchant, Some("4"))).await?;
    let id = session["sessionId"].as_str().expect("id");
    let payer = wallet(bank, 4_000_000).await?;
    let answer = set_solana(&api, &session, &payer.pubkey(), json!({})).await?;
    let serialized = answer.body["solana"]["serializedTx"].as_str().expect("serializedTx").to_owned();
    api.wait_for(id, "expired", 10).await?;
    // The wallet signs late: the session expired in the meantime.
    sign_and_send(bank.as_ref(), &serialized, &payer).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while bank.usdc_balance(&payer.pubkey()).await? != 4_000_000 {
        assert!(tokio::time::Instant::now() < deadline, "not refunded: {}", api.get(id).await?);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(bank.usdc_balance(&merchant).await?, 0, "nothing delivered after expiry");
    let s = api.get(id).await?;
    assert_eq!(s["status"], "expired", "{s}");

    node.shutdown().await;
    Ok(())
}

/// The relayer "crashes" while its settle is in flight (once after the cluster got it, once before),
/// and a new relayer over the same store finishes the job: one settlement each, never two.
#[tokio::test]
async fn a_restart_mid_settle_settles_exactly_once() -> eyre::Result<()> {
    let env = SolanaEnv::start().await?;
    let bank = &env.bank;
    for fault in [SendFault::HangAfterSending, SendFault::HangWithoutSending] {
        let dir = tempfile::tempdir()?;
        let flaky: Arc<dyn SvmClient> = Arc::new(Flaky::new(Arc::clone(bank), fault));
        let (node, api) = env.relayer_over(flaky, dir.path(), &Settings::default()).await?;
        let merchant = Keypair::new().pubkey();
        let session = api.create(&solana_session(bank, &merchant, Some("3"))).await?;
        let id = session["sessionId"].as_str().expect("id").to_owned();
        let payer = wallet(bank, 3_000_000).await?;
        let answer = set_solana(&api, &session, &payer.pubkey(), json!({})).await?;
        let serialized = answer.body["solana"]["serializedTx"].as_str().expect("serializedTx").to_owned();
        sign_and_send(bank.as_ref(), &serialized, &payer).await?;
        // The relayer signs, records and sends its settle, and hangs there.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let s = api.get(&id).await?;
            if s["status"] == "processing" {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{fault:?}: no deposit seen: {s}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        node.shutdown().await;

        let (node, api) = env.relayer(dir.path(), &Settings::default()).await?;
        let done = api.wait_for(&id, "succeeded", 30).await?;
        assert_eq!(done["destination"]["delivery"]["receivedUnits"], "3.00", "{fault:?}");
        assert_eq!(bank.usdc_balance(&merchant).await?, 3_000_000, "{fault:?}: delivered exactly once");
        assert_eq!(
            vault_moves(bank, &deposit_address(&serialized)?).await?,
            (1, 0, 0),
            "{fault:?}: one Settled event"
        );
        node.shutdown().await;
    }
    Ok(())
}

/// A fixed-amount Solana session paid by `payer`: the session, and the wallet's `serializedTx`.
async fn paid_by(
    api: &e2e::Api,
    bank: &LocalBank,
    merchant: &Pubkey,
    payer: &Keypair,
    amount: &str,
) -> eyre::Result<(Value, String)> {
    let session = api.create(&solana_session(bank, merchant, Some(amount))).await?;
    let answer = set_solana(api, &session, &payer.pubkey(), json!({})).await?;
    eyre::ensure!(answer.status == 200, "{}", answer.body);
    let serialized = answer.body["solana"]["serializedTx"].as_str().unwrap_or_default().to_owned();
    Ok((answer.body["session"].clone(), serialized))
}

/// Someone pays a session's vault and settles it in the same transaction: the vault's balance never
/// changes between two polls, so only the program's own transactions show that anything happened.
#[tokio::test]
async fn a_deposit_settled_by_someone_else_before_the_next_poll_is_recorded_and_delivered() -> eyre::Result<()>
{
    let env = SolanaEnv::start().await?;
    let bank = &env.bank;
    let dir = tempfile::tempdir()?;
    let (node, api) = env.relayer(dir.path(), &Settings::default()).await?;
    let merchant = Keypair::new().pubkey();
    let payer = wallet(bank, 5_000_000).await?;
    let (session, serialized) = paid_by(&api, bank, &merchant, &payer, "5").await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    let commitment = e2e::solana::solana_commitment(&session, &bank.usdc(), &payer.pubkey())?;
    assert_eq!(
        tx::vault_token(&commitment, &bank.usdc()),
        deposit_address(&serialized)?,
        "the public commitment"
    );

    // The wallet's deposit and a settle, one transaction.
    let deposit = tx::deserialize(&hex::decode(&serialized)?).map_err(|e| eyre::eyre!(e))?;
    let mut instructions: Vec<solana_sdk::instruction::Instruction> = deposit
        .message
        .instructions
        .iter()
        .map(|ix| solana_sdk::instruction::Instruction {
            program_id: deposit.message.account_keys[usize::from(ix.program_id_index)],
            accounts: ix
                .accounts
                .iter()
                .map(|&i| {
                    let i = usize::from(i);
                    let key = deposit.message.account_keys[i];
                    if deposit.message.is_maybe_writable(i, None) {
                        solana_sdk::instruction::AccountMeta::new(key, deposit.message.is_signer(i))
                    } else {
                        solana_sdk::instruction::AccountMeta::new_readonly(key, deposit.message.is_signer(i))
                    }
                })
                .collect(),
            data: ix.data.clone(),
        })
        .collect();
    instructions.push(tx::settle(payer.pubkey(), &tx::params(&commitment), bank.usdc()));
    let (signature, raw) = tx::signed(&instructions, &payer, bank.latest_blockhash().await?.0);
    bank.send(raw).await?;

    let done = api.wait_for(&id, "succeeded", 30).await?;
    assert_eq!(done["destination"]["delivery"]["txHash"], signature.to_string(), "{done}");
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "5.00", "{done}");
    assert_eq!(
        done["paymentMethod"]["source"]["txHash"],
        signature.to_string(),
        "the deposit is recorded: {done}"
    );
    assert_eq!(bank.usdc_balance(&merchant).await?, 5_000_000);
    node.shutdown().await;
    Ok(())
}

/// More than a node's page (1,000) of cheap transactions mention a vault after its deposit, while the
/// relayer is down: the restarted watcher pages back to the deposit instead of stopping at the page.
#[tokio::test]
async fn a_deposit_buried_under_more_than_a_page_of_transactions_is_still_found() -> eyre::Result<()> {
    let env = SolanaEnv::start().await?;
    let bank = &env.bank;
    let dir = tempfile::tempdir()?;
    let (node, api) = env.relayer(dir.path(), &Settings::default()).await?;
    let merchant = Keypair::new().pubkey();
    let payer = wallet(bank, 2_000_000).await?;
    let (session, serialized) = paid_by(&api, bank, &merchant, &payer, "2").await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    node.shutdown().await;

    sign_and_send(bank.as_ref(), &serialized, &payer).await?;
    let vault_token = deposit_address(&serialized)?;
    let spammer = wallet(bank, 0).await?;
    for lamports in 1..=1_001u64 {
        // A lamport into the vault's token account: cheap, and it lists the account.
        let ix = relayer_svm::tx::lamport_transfer(&spammer.pubkey(), &vault_token, lamports);
        let (_, raw) = tx::signed(&[ix], &spammer, bank.latest_blockhash().await?.0);
        bank.send(raw).await?;
    }

    let (node, api) = env.relayer(dir.path(), &Settings::default()).await?;
    let done = api.wait_for(&id, "succeeded", 60).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "2.00", "{done}");
    assert_eq!(bank.usdc_balance(&merchant).await?, 2_000_000);
    node.shutdown().await;
    Ok(())
}

/// The node serving the history lags the one serving balances: the relayer reads the vault's new balance
/// but not the transaction behind it. The balance and what the read transactions add up to disagree, so
/// the watcher reads the vault's history again a few polls later, and the deposit is delivered.
#[tokio::test]
async fn a_vault_whose_balance_disagrees_with_the_transactions_read_is_read_again() -> eyre::Result<()> {
    let env = SolanaEnv::start().await?;
    let bank = &env.bank;
    let dir = tempfile::tempdir()?;
    let lagging = Arc::new(Flaky::new(Arc::clone(bank), SendFault::None));
    let (node, api) = env
        .relayer_over(Arc::clone(&lagging) as Arc<dyn SvmClient>, dir.path(), &Settings::default())
        .await?;
    let merchant = Keypair::new().pubkey();
    let payer = wallet(bank, 3_000_000).await?;
    let (session, serialized) = paid_by(&api, bank, &merchant, &payer, "3").await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    lagging.lag(deposit_address(&serialized)?);
    sign_and_send(bank.as_ref(), &serialized, &payer).await?;
    let done = api.wait_for(&id, "succeeded", 30).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "3.00", "{done}");
    node.shutdown().await;
    Ok(())
}

/// Anyone can add to the deposit-vault program's history for a base fee (a transaction that merely lists
/// the program), and a node may fail a rare call: thousands of such transactions landing between two
/// polls, through a node that fails one `getTransaction` in a thousand, delay a real deposit by a few
/// polls at most (the watcher reads a bounded number of the program's transactions per poll, keeps its
/// progress, and reads balances and vaults whatever happens there).
#[tokio::test]
async fn program_history_spam_and_a_rare_rpc_error_hide_no_deposit() -> eyre::Result<()> {
    let env = SolanaEnv::start().await?;
    let bank = &env.bank;
    let dir = tempfile::tempdir()?;
    let node_client = Arc::new(Flaky::new(Arc::clone(bank), SendFault::None));
    node_client.fail_transactions_every(1000);
    let (node, api) = env
        .relayer_over(Arc::clone(&node_client) as Arc<dyn SvmClient>, dir.path(), &Settings::default())
        .await?;
    let merchant = Keypair::new().pubkey();
    let payer = wallet(bank, 3_000_000).await?;
    let (session, serialized) = paid_by(&api, bank, &merchant, &payer, "3").await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();

    // 1,500 transactions that only list the program (5,000 lamports each on a real cluster), landing while
    // the watcher's history reads are held, as if between two polls.
    let spammer = wallet(bank, 0).await?;
    node_client.hold_histories(true);
    for lamports in 1..=1_500u64 {
        let mut ix = tx::lamport_transfer(&spammer.pubkey(), &spammer.pubkey(), lamports);
        ix.accounts.push(solana_sdk::instruction::AccountMeta::new_readonly(tx::PROGRAM_ID, false));
        let (_, raw) = tx::signed(&[ix], &spammer, bank.latest_blockhash().await?.0);
        bank.send(raw).await?;
    }
    node_client.hold_histories(false);
    sign_and_send(bank.as_ref(), &serialized, &payer).await?;
    let done = api.wait_for(&id, "succeeded", 60).await?;
    assert_eq!(done["destination"]["delivery"]["receivedUnits"], "3.00", "{done}");
    println!("delivered through the spam; getTransaction calls {}", node_client.transaction_calls());
    node.shutdown().await;
    Ok(())
}
