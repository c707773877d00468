//! Forged status, as an attacker tries it on the real devnet (four anvil chains, the Solana bank, the
//! real contracts and program, the CCTP stand-ins and their attester, the relayer over real HTTP).
//!
//! The attacker knows a victim session's id (a payer always does: it is in the checkout page's URL). It
//! builds `DepositParams` of its own that reuse that id, pays its own funds to its own receiver, and calls
//! the permissionless entry points, so the chain carries events naming the victim: `Settled`, `Bridged`,
//! `FastFinished` and `Repaid` on EVM chains (Tron included), the deposit-vault program's `Settled` on
//! Solana, and the inbox's `Claimed` and `SentBack`. For every kind, the victim must stay
//! `waiting_payment`, no webhook may fire for it, nothing may be fronted from the relayer's inventory, and
//! `/metrics` must count the foreign event.

use std::time::{Duration, Instant};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use e2e::{Api, Auth, DEST, REFUND, WebhookReceiver, session_body};
use relayer_devnet::{
    Devnet, DevnetInfo,
    bindings::{TestUSDC, TestUSDT},
    multichain::{self, CHAINS},
};
use relayer_evm::{bindings::DepositRouter, create2::DepositParams};
use relayer_svm::{SvmClient, client::history, tx};
use relayer_types::{Commitment, unix_now};
use reqwest::Method;
use serde_json::{Value, json};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

type Result<T = ()> = eyre::Result<T>;

/// 10 and 10.02 test dollars (6 decimals): the victims' amount, and what the attacker bridges so that
/// even the adapter's worst fee leaves the whole amount (what would make the relayer front it).
const TEN: u64 = 10_000_000;
const TEN_AND_CHANGE: u64 = 10_020_000;

struct Attacker {
    key: PrivateKeySigner,
    solana: Keypair,
}

impl Attacker {
    fn address(&self) -> Address {
        self.key.address()
    }

    /// A provider on `rpc_url` signing as the attacker (funded with gas there).
    async fn on(&self, rpc_url: &str) -> Result<DynProvider> {
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.key.clone()))
            .connect_http(rpc_url.parse()?)
            .erased();
        multichain::fund(&provider, self.address()).await?;
        Ok(provider)
    }
}

/// The attacker's own params: the victim's session id, everything else its own (paid to itself; the
/// refund address is the attacker's on whichever family it names, the other family's left empty).
fn own_params(
    victim: &str,
    to_chain_id: u64,
    to_token: B256,
    to_address: B256,
    refund: B256,
) -> Result<DepositParams> {
    let id: relayer_types::SessionId = victim.parse().map_err(|e| eyre::eyre!("{e:?}"))?;
    let evm_shaped = refund[..12] == [0u8; 12];
    Ok(DepositParams {
        sessionId: id.to_b256(),
        toChainId: U256::from(to_chain_id),
        toToken: to_token,
        toAddress: to_address,
        amount: U256::from(TEN),
        minAmount: U256::ZERO,
        finalCall: Bytes::new(),
        refundAddress: if evm_shaped { refund } else { B256::ZERO },
        solanaRefundAddress: if evm_shaped { B256::ZERO } else { refund },
        expiresAt: unix_now() + 3600,
    })
}

fn commitment(p: &DepositParams) -> Commitment {
    Commitment {
        session_id: p.sessionId,
        to_chain_id: p.toChainId.to::<u64>(),
        to_token: p.toToken,
        to_address: p.toAddress,
        amount: p.amount,
        min_amount: p.minAmount,
        final_call: p.finalCall.clone(),
        refund_address: p.refundAddress,
        solana_refund_address: p.solanaRefundAddress,
        expires_at: p.expiresAt,
    }
}

async fn mined(
    pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
) -> Result<B256> {
    let receipt = tokio::time::timeout(Duration::from_secs(30), pending.get_receipt()).await??;
    eyre::ensure!(receipt.status(), "reverted: {}", receipt.transaction_hash);
    Ok(receipt.transaction_hash)
}

/// Creates a session and sets its payment method with the client secret; returns the session.
async fn victim(api: &Api, key: &str, body: &Value, method: Value) -> Result<Value> {
    Ok(api.create_and_choose(key, body, method).await?.1.body["session"].clone())
}

/// `relayer_foreign_events_total` for (chain, kind).
async fn foreign(info: &DevnetInfo, chain_id: u64, kind: &str) -> Result<u64> {
    let metrics = reqwest::get(format!("{}/metrics", info.api_url)).await?.text().await?;
    let line = format!("relayer_foreign_events_total{{chain_id=\"{chain_id}\",kind=\"{kind}\"}} ");
    Ok(metrics.lines().find_map(|l| l.strip_prefix(&line)).and_then(|n| n.trim().parse().ok()).unwrap_or(0))
}

/// Waits until the relayer counted at least `n` foreign events of (chain, kind).
async fn counted(info: &DevnetInfo, chain_id: u64, kind: &str, n: u64) -> Result {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if foreign(info, chain_id, kind).await? >= n {
            return Ok(());
        }
        eyre::ensure!(
            Instant::now() < deadline,
            "the relayer never counted {n} foreign {kind} on chain {chain_id}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The victim as the API key sees it: still waiting, nothing recorded that the attacker did.
async fn untouched(api: &Api, key: &str, id: &str) -> Result {
    let got = api.send(Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(key)).await?;
    let s = &got.body["session"];
    eyre::ensure!(s["status"] == "waiting_payment", "the victim moved: {s}");
    eyre::ensure!(s["destination"].get("delivery").is_none(), "a delivery was reported: {s}");
    for list in ["deposits", "movements", "deliveryAttempts"] {
        eyre::ensure!(
            s.get(list).and_then(Value::as_array).is_none_or(Vec::is_empty),
            "{list} recorded: {s}"
        );
    }
    Ok(())
}

/// The transfer bridged into the inbox with `hook`, once the attester delivered it: where the program's
/// record of it is (or will be), and what `record` takes.
async fn arrived(bank: &relayer_svm::LocalBank, hook: Address) -> Result<(Pubkey, tx::Delivery)> {
    let inbox = tx::inbox_token(&bank.usdc());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for info in history(bank, inbox, None).await? {
            let Some(view) = bank.transaction(info.signature).await? else { continue };
            for (_, moved) in tx::inbox_moves(&view) {
                if let tx::InboxMove::Delivered { at, received, delivery } = moved
                    && received.hook.is_some_and(|h| h[12..] == hook[..])
                {
                    return Ok((at, delivery));
                }
            }
        }
        eyre::ensure!(Instant::now() < deadline, "the bridged transfer never reached the inbox");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// [`arrived`], and recorded by the program (by `signer`, unless someone recorded it already): the
/// record a claim names.
async fn recorded(bank: &relayer_svm::LocalBank, hook: Address, signer: &Keypair) -> Result<Pubkey> {
    let (at, delivery) = arrived(bank, hook).await?;
    if bank.accounts(vec![at]).await?.first().is_some_and(Option::is_none) {
        send_solana(bank, &[tx::record(signer.pubkey(), &delivery)], signer).await?;
    }
    Ok(at)
}

async fn send_solana(
    bank: &relayer_svm::LocalBank,
    ixs: &[solana_sdk::instruction::Instruction],
    signer: &Keypair,
) -> Result {
    let (_, raw) = tx::signed(ixs, signer, bank.latest_blockhash().await?.0);
    bank.send(raw).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_named_by_an_attackers_own_params_stay_untouched_on_every_chain_and_family() -> Result {
    let dir = tempfile::tempdir()?;
    let devnet = Devnet::start(dir.path(), 0, 0).await?;
    // The attacker's burns into the inbox are no session's bridging: nobody would deliver them but a
    // third party (Circle's forwarding service, here the attester), which also races the relayer's
    // deliveries of the sessions' own.
    devnet.forward_to_solana(true);
    let info = devnet.info.clone();
    let (api, key) = (Api::new(info.api_url.clone()), info.api_key.clone());
    let bank = &devnet.solana.bank;
    let deployment = multichain::devnet_deployment(&CHAINS)?;
    let (cctp_adapter, oft_adapter) = multichain::devnet_adapters(&CHAINS)?;
    let (base, arbitrum, tron) = (info.chain("base")?, info.chain("arbitrum")?, info.chain("tron")?);
    let base_usdc = base.usdc.ok_or_else(|| eyre::eyre!("usdc"))?;
    let attacker = Attacker { key: PrivateKeySigner::random(), solana: Keypair::new() };
    bank.fund(&attacker.solana.pubkey(), 10_000_000_000, 100 * TEN).await?;
    let me = attacker.address().into_word();
    let hooks = WebhookReceiver::start().await?;
    let registered = api
        .send(
            Method::POST,
            "/v1/webhooks",
            Some(json!({ "url": hooks.url, "events": ["*"] }).to_string()),
            Some("application/json"),
            Auth::Key(&key),
        )
        .await?;
    eyre::ensure!(registered.status == 201, "{}", registered.body);
    hooks.set_secret(registered.body["webhook"]["secret"].as_str().unwrap_or_default());

    // 1. Same chain: the attacker settles its own params on Base. `Settled` names the victim.
    let v1 =
        victim(&api, &key, &session_body(DEST, Some("10.00"), None, None), json!({ "type": "evm" })).await?;
    let v1_id = v1["sessionId"].as_str().unwrap_or_default().to_owned();
    let on_base = attacker.on(&base.rpc_url).await?;
    let p1 = own_params(&v1_id, base.chain_id, base_usdc.into_word(), me, me)?;
    let r1 = deployment.receiver(&p1);
    let usdc = TestUSDC::new(base_usdc, &on_base);
    mined(usdc.mint(r1, U256::from(TEN)).send().await?).await?;
    let router = DepositRouter::new(deployment.router, &on_base);
    mined(router.settle(p1.clone(), base_usdc).send().await?).await?;
    counted(&info, base.chain_id, "settled", 1).await?;
    untouched(&api, &key, &v1_id).await?;

    // 2. Cross chain: the attacker bridges its own params from Arbitrum (`Bridged` names the victim, with
    // enough to front even at the worst fee), fronts them itself on Base (`FastFinished`, `Settled`), and
    // claims the arrival (`Repaid`). The relayer fronts nothing from its inventory.
    let v2 =
        victim(&api, &key, &session_body(DEST, Some("10.00"), None, None), json!({ "type": "evm" })).await?;
    let v2_id = v2["sessionId"].as_str().unwrap_or_default().to_owned();
    let p2 = own_params(&v2_id, base.chain_id, base_usdc.into_word(), me, me)?;
    let r2 = deployment.receiver(&p2);
    let on_arbitrum = attacker.on(&arbitrum.rpc_url).await?;
    let arbitrum_usdc = arbitrum.usdc.ok_or_else(|| eyre::eyre!("usdc"))?;
    mined(TestUSDC::new(arbitrum_usdc, &on_arbitrum).mint(r2, U256::from(TEN_AND_CHANGE)).send().await?)
        .await?;
    let arbitrum_router = DepositRouter::new(deployment.router, &on_arbitrum);
    mined(arbitrum_router.bridge(p2.clone(), arbitrum_usdc, cctp_adapter, Bytes::new()).send().await?)
        .await?;
    counted(&info, arbitrum.chain_id, "bridged", 1).await?;
    mined(usdc.mint(attacker.address(), U256::from(TEN)).send().await?).await?;
    mined(usdc.approve(deployment.router, U256::from(TEN)).send().await?).await?;
    mined(router.fastFinish(p2.clone(), U256::from(TEN)).send().await?).await?;
    counted(&info, base.chain_id, "fronted", 1).await?;
    counted(&info, base.chain_id, "settled", 2).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while TestUSDC::new(base_usdc, &on_base).balanceOf(r2).call().await?.is_zero() {
        eyre::ensure!(Instant::now() < deadline, "the attacker's bridging never arrived on Base");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    mined(router.claim(p2.clone()).send().await?).await?;
    counted(&info, base.chain_id, "fronted", 2).await?;
    untouched(&api, &key, &v2_id).await?;

    // 3. Tron: the attacker bridges its own USDT params through the OFT adapter for a USDT session on Base.
    let base_usdt = base.usdt.ok_or_else(|| eyre::eyre!("usdt"))?;
    let mut body = session_body(DEST, Some("10.00"), None, None);
    body["destination"]["tokenAddress"] = base_usdt.to_checksum(None).into();
    let v3 = victim(&api, &key, &body, json!({ "type": "tron", "amountUsd": "10.00" })).await?;
    let v3_id = v3["sessionId"].as_str().unwrap_or_default().to_owned();
    let p3 = own_params(&v3_id, base.chain_id, base_usdt.into_word(), me, me)?;
    let on_tron = attacker.on(&tron.rpc_url).await?;
    let tron_usdt = tron.usdt.ok_or_else(|| eyre::eyre!("usdt"))?;
    mined(
        TestUSDT::new(tron_usdt, &on_tron)
            .mint(deployment.receiver(&p3), U256::from(TEN_AND_CHANGE))
            .send()
            .await?,
    )
    .await?;
    let tron_router = DepositRouter::new(deployment.router, &on_tron);
    mined(tron_router.bridge(p3.clone(), tron_usdt, oft_adapter, Bytes::new()).send().await?).await?;
    counted(&info, tron.chain_id, "bridged", 1).await?;
    untouched(&api, &key, &v3_id).await?;

    // 4. Solana vault: the attacker pays its own vault (its params reuse the victim's id) and settles it.
    let solana = info.solana.clone().ok_or_else(|| eyre::eyre!("solana"))?;
    let mint = bank.usdc();
    let body = json!({
        "destination": { "type": "solana", "address": Keypair::new().pubkey().to_string(), "tokenAddress": solana.usdc, "amountUnits": "10.00" },
        "display": { "title": "Top up", "verb": "Deposit" }
    });
    let v4 = victim(&api, &key, &body, json!({ "type": "solana", "walletAddress": solana.payer })).await?;
    let v4_id = v4["sessionId"].as_str().unwrap_or_default().to_owned();
    let thief = B256::from(attacker.solana.pubkey().to_bytes());
    let p4 = own_params(&v4_id, relayer_types::SOLANA_CHAIN_ID, B256::from(mint.to_bytes()), thief, thief)?;
    let c4 = commitment(&p4);
    let blockhash = bank.latest_blockhash().await?.0;
    let mut pay =
        tx::payment_transaction(&attacker.solana.pubkey(), &tx::vault(&c4), &mint, 6, TEN, blockhash)
            .map_err(|e| eyre::eyre!(e))?;
    pay.sign(&[&attacker.solana], blockhash);
    bank.send(tx::serialize(&pay)).await?;
    send_solana(bank, &[tx::settle(attacker.solana.pubkey(), &tx::params(&c4), mint)], &attacker.solana)
        .await?;
    counted(&info, relayer_types::SOLANA_CHAIN_ID, "settled", 1).await?;
    untouched(&api, &key, &v4_id).await?;

    // 5. The inbox: for a Solana session paid from EVM chains, the attacker bridges its own params from
    // Arbitrum to the inbox and claims the transfer to itself (`Claimed`); with a final call its params
    // cannot claim, so it sends another back (`SentBack`).
    let mut body = body.clone();
    body["refundAddress"] = REFUND.to_checksum(None).into();
    let v5 = victim(&api, &key, &body, json!({ "type": "evm" })).await?;
    let v5_id = v5["sessionId"].as_str().unwrap_or_default().to_owned();
    let p5 = own_params(&v5_id, relayer_types::SOLANA_CHAIN_ID, B256::from(mint.to_bytes()), thief, me)?;
    let p6 = DepositParams { finalCall: Bytes::from(vec![1]), ..p5.clone() };
    for p in [&p5, &p6] {
        let receiver = deployment.receiver(p);
        mined(TestUSDC::new(arbitrum_usdc, &on_arbitrum).mint(receiver, U256::from(TEN)).send().await?)
            .await?;
        mined(arbitrum_router.bridge(p.clone(), arbitrum_usdc, cctp_adapter, Bytes::new()).send().await?)
            .await?;
    }
    counted(&info, arbitrum.chain_id, "bridged", 3).await?;
    let claim = tx::claim(
        attacker.solana.pubkey(),
        &tx::params(&commitment(&p5)),
        recorded(bank, deployment.receiver(&p5), &attacker.solana).await?,
        mint,
    );
    send_solana(bank, &[claim], &attacker.solana).await?;
    counted(&info, relayer_types::SOLANA_CHAIN_ID, "settled", 2).await?;
    let back = tx::return_inbound(
        attacker.solana.pubkey(),
        &tx::params(&commitment(&p6)),
        recorded(bank, deployment.receiver(&p6), &attacker.solana).await?,
        3, // it came from Arbitrum's CCTP domain
        mint,
    );
    send_solana(bank, &[back], &attacker.solana).await?;
    counted(&info, relayer_types::SOLANA_CHAIN_ID, "bridged", 1).await?;
    untouched(&api, &key, &v5_id).await?;

    // Every victim once more (nothing arrived late), no fronting, and no webhook but the payment methods.
    for id in [&v1_id, &v2_id, &v3_id, &v4_id, &v5_id] {
        untouched(&api, &key, id).await?;
    }
    let metrics = reqwest::get(format!("{}/metrics", info.api_url)).await?.text().await?;
    for line in metrics.lines().filter(|l| l.starts_with("relayer_fronted_outstanding{")) {
        eyre::ensure!(line.ends_with(" 0"), "the relayer fronted: {line}");
    }
    eyre::ensure!(!metrics.contains("result=\"sent\""), "the relayer sent something:\n{metrics}");
    let kinds: Vec<String> =
        hooks.received().iter().map(|r| r.body["type"].as_str().unwrap_or_default().to_owned()).collect();
    eyre::ensure!(kinds.iter().all(|k| k == "session.payment_method_set"), "webhooks fired: {kinds:?}");
    devnet.stop("test").await;
    Ok(())
}

/// The session as the API key sees it.
async fn full(api: &Api, key: &str, id: &str) -> Result<Value> {
    let got = api.send(Method::GET, &format!("/v1/sessions/{id}"), None, None, Auth::Key(key)).await?;
    Ok(got.body["session"].clone())
}

/// Waits until `done` holds for the session (60 s).
async fn until(api: &Api, key: &str, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = full(api, key, id).await?;
        if done(&s) {
            return Ok(s);
        }
        eyre::ensure!(Instant::now() < deadline, "never {what}: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Burns `amount` (fee `max_fee`) of Arbitrum USDC to the Solana inbox with `hook` as the hook data: what
/// the CCTP adapter's Solana route does, called directly on the messenger, which anyone may call.
async fn burn_to_inbox(
    on_arbitrum: &DynProvider,
    me: Address,
    usdc: Address,
    inbox: Pubkey,
    hook: Address,
    amount: u64,
    max_fee: u64,
) -> Result {
    use alloy::sol_types::SolValue;
    let token = TestUSDC::new(usdc, on_arbitrum);
    let messenger = multichain::messenger_address()?;
    mined(token.mint(me, U256::from(amount)).send().await?).await?;
    mined(token.approve(messenger, U256::from(amount)).send().await?).await?;
    let messenger = relayer_devnet::bindings::LocalTokenMessenger::new(messenger, on_arbitrum);
    let burn = messenger.depositForBurnWithHook(
        U256::from(amount),
        multichain::SOLANA_DOMAIN,
        B256::from(inbox.to_bytes()),
        usdc,
        B256::ZERO,
        U256::from(max_fee),
        2000,
        Bytes::from(hook.into_word().abi_encode()),
    );
    mined(burn.send().await?).await?;
    Ok(())
}

/// A 1-unit burn from Arbitrum to Base that names a destination caller nobody is (Base's transmitter
/// refuses every delivery of it).
async fn undeliverable_burn(on_arbitrum: &DynProvider, me: Address, usdc: Address) -> Result {
    let token = TestUSDC::new(usdc, on_arbitrum);
    let messenger = multichain::messenger_address()?;
    mined(token.mint(me, U256::from(1)).send().await?).await?;
    mined(token.approve(messenger, U256::from(1)).send().await?).await?;
    let messenger = relayer_devnet::bindings::LocalTokenMessenger::new(messenger, on_arbitrum);
    let burn = messenger.depositForBurn(
        U256::from(1),
        6,
        B256::repeat_byte(0x0b),
        usdc,
        B256::repeat_byte(0x77),
        U256::ZERO,
        2000,
    );
    mined(burn.send().await?).await?;
    Ok(())
}

/// Griefs that need no forged params, found by review: a zero-value `transferFrom` naming any sender, one
/// base unit of another configured token (which the relayer leaves, and the attacker refunds), 1 unit
/// bridged into the Solana inbox and then claimed, and a transfer bridged into the inbox for a Base
/// session that goes back to the chain it came from. None may
/// start or finish the session, and the last may never be fronted: it is on its way away from the
/// destination, where nothing would repay the fronting.
#[tokio::test(flavor = "multi_thread")]
async fn dust_zero_transfers_other_tokens_and_inbox_transfers_sent_back_neither_start_nor_finish_a_session()
-> Result {
    let dir = tempfile::tempdir()?;
    let devnet = Devnet::start(dir.path(), 0, 0).await?;
    // The attacker's burns into the inbox are no session's bridging: nobody would deliver them but a
    // third party (Circle's forwarding service, here the attester), which also races the relayer's
    // deliveries of the sessions' own.
    devnet.forward_to_solana(true);
    let info = devnet.info.clone();
    let (api, key) = (Api::new(info.api_url.clone()), info.api_key.clone());
    let bank = &devnet.solana.bank;
    let (base, arbitrum) = (info.chain("base")?, info.chain("arbitrum")?);
    let (base_usdc, base_usdt) =
        (base.usdc.ok_or_else(|| eyre::eyre!("usdc"))?, base.usdt.ok_or_else(|| eyre::eyre!("usdt"))?);
    let arbitrum_usdc = arbitrum.usdc.ok_or_else(|| eyre::eyre!("usdc"))?;
    let attacker = Attacker { key: PrivateKeySigner::random(), solana: Keypair::new() };
    bank.fund(&attacker.solana.pubkey(), 10_000_000_000, 0).await?;
    let (on_base, on_arbitrum) = (attacker.on(&base.rpc_url).await?, attacker.on(&arbitrum.rpc_url).await?);
    let receiver_of = |s: &Value| -> Result<Address> {
        Ok(s["paymentMethod"]["receiverAddress"].as_str().unwrap_or_default().parse()?)
    };

    // A zero-value transfer, from a sender the attacker names, needing no tokens and no allowance.
    let zero =
        victim(&api, &key, &session_body(DEST, Some("10.00"), None, None), json!({ "type": "evm" })).await?;
    let zero_id = zero["sessionId"].as_str().unwrap_or_default().to_owned();
    let usdc = TestUSDC::new(base_usdc, &on_base);
    mined(usdc.transferFrom(Address::repeat_byte(0x1f), receiver_of(&zero)?, U256::ZERO).send().await?)
        .await?;
    // One base unit of Base's USDT (configured, unusable by a USDC session): below what is worth a
    // transaction of the relayer's, so the attacker pays for refunding it (`refund` is permissionless).
    let other =
        victim(&api, &key, &session_body(DEST, Some("10.00"), None, Some(REFUND)), json!({ "type": "evm" }))
            .await?;
    let other_id = other["sessionId"].as_str().unwrap_or_default().to_owned();
    mined(TestUSDT::new(base_usdt, &on_base).mint(receiver_of(&other)?, U256::from(1u64)).send().await?)
        .await?;
    until(&api, &key, &other_id, "the unit recorded", |s| {
        s["deposits"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await?;
    let stored = devnet.node.engine.session(&other_id.parse().map_err(|e| eyre::eyre!("{e:?}"))?)?;
    eyre::ensure!(stored.work.is_empty(), "the relayer spends nothing on 1 unit: {:?}", stored.work);
    let params = relayer_evm::create2::deposit_params(&stored.commitment());
    let router = DepositRouter::new(multichain::devnet_deployment(&CHAINS)?.router, &on_base);
    mined(router.refund(params, base_usdt).send().await?).await?;
    let refunded = until(&api, &key, &other_id, "the unit refunded", |s| {
        s["movements"].as_array().is_some_and(|m| m.iter().any(|x| x["type"] == "refunded"))
    })
    .await?;
    eyre::ensure!(
        refunded["status"] == "waiting_payment",
        "a griefer's token refunded is no bounce: {refunded}"
    );
    // The zero transfer was in an earlier block, which the watcher has passed by now.
    let z = full(&api, &key, &zero_id).await?;
    eyre::ensure!(
        z["status"] == "waiting_payment"
            && z.get("deposits").is_none_or(|d| d.as_array().is_some_and(Vec::is_empty)),
        "{z}"
    );

    // 1 unit into the inbox for an EVM-paid Solana session (2 burnt, the fee takes one: CCTP never lets a
    // fee take the whole amount), then the attacker claims it with the session's public params.
    let solana = info.solana.clone().ok_or_else(|| eyre::eyre!("solana"))?;
    let owner = Keypair::new().pubkey();
    let body = json!({
        "destination": { "type": "solana", "address": owner.to_string(), "tokenAddress": solana.usdc, "amountUnits": "10.00" },
        "display": { "title": "Top up", "verb": "Deposit" },
        "refundAddress": REFUND.to_checksum(None),
    });
    let dust = victim(&api, &key, &body, json!({ "type": "evm" })).await?;
    let dust_id = dust["sessionId"].as_str().unwrap_or_default().to_owned();
    let inbox = tx::inbox_token(&bank.usdc());
    burn_to_inbox(&on_arbitrum, attacker.address(), arbitrum_usdc, inbox, receiver_of(&dust)?, 2, 1).await?;
    let record = recorded(bank, receiver_of(&dust)?, &attacker.solana).await?;
    until(&api, &key, &dust_id, "the dust recorded", |s| {
        s["deposits"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await?;
    let stored = devnet.node.engine.session(&dust_id.parse().map_err(|e| eyre::eyre!("{e:?}"))?)?;
    let claim = tx::claim(attacker.solana.pubkey(), &tx::params(&stored.commitment()), record, bank.usdc());
    // The program refuses to claim less than the session's minimum; either way the session must not move.
    let claimed = send_solana(bank, &[claim], &attacker.solana).await.is_ok();
    if claimed {
        until(&api, &key, &dust_id, "the claim recorded", |s| {
            s["movements"].as_array().is_some_and(|m| !m.is_empty())
        })
        .await?;
    }
    let d = full(&api, &key, &dust_id).await?;
    eyre::ensure!(d["status"] == "waiting_payment" && d["destination"].get("delivery").is_none(), "{d}");

    // 10.02 into the inbox for a Base session: it can only go back to Arbitrum (the relayer sends it back).
    // The bridge holds it there; meanwhile nothing may be fronted for a bridging away from the destination.
    let away =
        victim(&api, &key, &session_body(DEST, Some("10.00"), None, Some(REFUND)), json!({ "type": "evm" }))
            .await?;
    let away_id = away["sessionId"].as_str().unwrap_or_default().to_owned();
    // First, a burn on Arbitrum no one may deliver (it names another destination caller): Base refuses
    // it for good. The attester must pass over it (before, it retried it for ever and no later message
    // from Arbitrum was delivered: the burn below would never arrive).
    undeliverable_burn(&on_arbitrum, attacker.address(), arbitrum_usdc).await?;
    // And a burn for Solana paying a key that is no token account (any burner may name any key):
    // Circle's messenger there refuses to pay it, for good; the attester must pass over it too.
    burn_to_inbox(
        &on_arbitrum,
        attacker.address(),
        arbitrum_usdc,
        Keypair::new().pubkey(),
        receiver_of(&away)?,
        2,
        1,
    )
    .await?;
    // Held from before the relayer can send it back: the sending back must not reach Arbitrum (where a
    // bridging towards Base is one the relayer may front) while the test looks.
    devnet.pause_bridge_from_solana(true);
    burn_to_inbox(
        &on_arbitrum,
        attacker.address(),
        arbitrum_usdc,
        inbox,
        receiver_of(&away)?,
        TEN_AND_CHANGE,
        0,
    )
    .await?;
    arrived(bank, receiver_of(&away)?).await?;
    let sent_back = until(&api, &key, &away_id, "sent back", |s| {
        s["movements"]
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x["type"] == "bridged" && x["chainId"] == 501))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let s = full(&api, &key, &away_id).await?;
    eyre::ensure!(
        !s.to_string().contains("fast_finish") && !s.to_string().contains("\"fronted\""),
        "fronted: {s}"
    );
    let metrics = reqwest::get(format!("{}/metrics", info.api_url)).await?.text().await?;
    for line in metrics.lines().filter(|l| l.starts_with("relayer_fronted_outstanding{")) {
        eyre::ensure!(
            line.ends_with(" 0"),
            "the relayer fronted a bridging away from the destination: {line}\n{sent_back}"
        );
    }
    // Let the bridge go: back on Arbitrum, the receiver bridges it to Base, where it is delivered.
    devnet.pause_bridge_from_solana(false);
    until(&api, &key, &away_id, "delivered", |s| s["status"] == "succeeded").await?;

    // The other-token session is still payable: its payer's real payment is delivered.
    let payer = Attacker { key: PrivateKeySigner::random(), solana: Keypair::new() };
    let payer_base = payer.on(&base.rpc_url).await?;
    let pay = TestUSDC::new(base_usdc, &payer_base);
    mined(pay.mint(receiver_of(&other)?, U256::from(TEN)).send().await?).await?;
    let done = until(&api, &key, &other_id, "succeeded", |s| s["status"] == "succeeded").await?;
    eyre::ensure!(done["destination"]["delivery"]["receivedUnits"] == "10.00", "{done}");
    devnet.stop("test").await;
    Ok(())
}
