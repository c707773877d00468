//! The Solana executor against the in-process bank, one piece of work at a time (no watcher, no engine):
//! what it reports, and what the chain shows afterwards.

#![allow(missing_docs, clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use relayer_chain::{
    BoxFuture, Chain, ChainEvent, EventKind, EventSink, Refusal, SinkError, Work, WorkReport, WorkResult,
};
use relayer_store::{ChainStore, SledStore};
use relayer_svm::{LocalBank, SvmChain, SvmClient, SvmConfig, tx};
use relayer_types::{
    Action, B256, ChainAddress, Commitment, Family, SOLANA_CHAIN_ID, SessionId, TokenRef, U256,
};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};
use tokio::sync::mpsc;

struct Reports(mpsc::UnboundedSender<WorkReport>);

impl EventSink for Reports {
    fn session_for_receiver(&self, _: ChainAddress) -> Option<SessionId> {
        None
    }
    fn receivers_of(&self, _: Family) -> Vec<(ChainAddress, SessionId)> {
        vec![]
    }
    fn apply(&self, _: u64, _: Vec<ChainEvent>) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn reorg(&self, _: u64, _: u64) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn report(&self, report: WorkReport) -> BoxFuture<'_, ()> {
        let _ = self.0.send(report);
        Box::pin(async {})
    }
}

/// The bank's cluster with its USDC, polled every `poll`.
fn config(bank: &LocalBank, poll: Duration) -> SvmConfig {
    let token = TokenRef {
        chain_id: SOLANA_CHAIN_ID,
        chain_name: "solana".into(),
        address: ChainAddress::Solana(bank.usdc().to_bytes()),
        symbol: "USDC".into(),
        decimals: 6,
    };
    SvmConfig {
        chain_id: SOLANA_CHAIN_ID,
        name: "solana".into(),
        tokens: vec![token],
        poll,
        routes: vec![],
        min_inbox_amount: 1_000_000,
        open_minimums: vec![],
        landing: relayer_svm::Landing::default(),
        lag_budget_slots: 150,
        attestation_url: None,
    }
}

async fn pay(bank: &LocalBank, wallet: &Keypair, commitment: &Commitment, amount: u64) {
    let blockhash = bank.latest_blockhash().await.unwrap().0;
    let mut t =
        tx::payment_transaction(&wallet.pubkey(), &tx::vault(commitment), &bank.usdc(), 6, amount, blockhash)
            .unwrap();
    t.sign(&[wallet], blockhash);
    bank.send(tx::serialize(&t)).await.unwrap();
}

/// A session paid from `wallet`, delivering 3 USDC to `merchant`, refunded to `wallet`.
fn commitment(bank: &LocalBank, wallet: &Keypair, merchant: &Pubkey, id: u8) -> Commitment {
    Commitment {
        session_id: B256::repeat_byte(id),
        to_chain_id: SOLANA_CHAIN_ID,
        to_token: B256::from(bank.usdc().to_bytes()),
        to_address: B256::from(merchant.to_bytes()),
        amount: U256::from(3_000_000u64),
        final_call: Default::default(),
        min_amount: U256::ZERO,
        refund_address: B256::from(wallet.pubkey().to_bytes()),
        solana_refund_address: B256::from(wallet.pubkey().to_bytes()),
        expires_at: u64::MAX / 2,
    }
}

type Started = (
    Arc<SvmChain>,
    mpsc::UnboundedReceiver<WorkReport>,
    tokio_util::sync::CancellationToken,
    tokio_util::task::TaskTracker,
);

/// Starts a chain on the bank's cluster, signing with `key`; its reports arrive on the receiver.
/// Polls a minute apart: the executor's reconciliation never runs between two pieces of work.
fn started(bank: &Arc<LocalBank>, store: &Arc<dyn ChainStore>, key: Keypair) -> Started {
    started_with(Arc::clone(bank) as Arc<dyn SvmClient>, store, key, config(bank, Duration::from_secs(60)))
}

/// Starts a chain over `client` with `config`.
fn started_with(
    client: Arc<dyn SvmClient>,
    store: &Arc<dyn ChainStore>,
    key: Keypair,
    config: SvmConfig,
) -> Started {
    let chain = Arc::new(SvmChain::new(config, client, Arc::clone(store), key));
    let (reports, rx) = mpsc::unbounded_channel();
    let cancel = tokio_util::sync::CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();
    Arc::clone(&chain).start(Arc::new(Reports(reports)), cancel.clone(), &tasks);
    (chain, rx, cancel, tasks)
}

/// A cluster, the relayer's key (SOL only), a payer's wallet (SOL and 10 USDC) and a store.
async fn funded() -> (Arc<LocalBank>, Keypair, Keypair, tempfile::TempDir, Arc<dyn ChainStore>) {
    let bank = LocalBank::start([0xa7; 20], [0x11; 20]).await.unwrap();
    let key = Keypair::new();
    bank.fund(&key.pubkey(), 1_000_000_000, 0).await.unwrap();
    let wallet = Keypair::new();
    bank.fund(&wallet.pubkey(), 1_000_000_000, 10_000_000).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ChainStore> = Arc::new(SledStore::open(dir.path()).unwrap());
    (bank, key, wallet, dir, store)
}

#[tokio::test]
async fn a_second_settle_after_a_landed_one_moves_the_new_deposit_not_the_old_report() {
    let (bank, key, wallet, _dir, store) = funded().await;
    let usdc = ChainAddress::Solana(bank.usdc().to_bytes());
    let (chain, mut rx, cancel, tasks) = started(&bank, &store, key);
    let merchant = Pubkey::new_unique();
    let commitment = commitment(&bank, &wallet, &merchant, 3);
    let work = Work {
        session_id: SessionId::from_bytes([3; 16]),
        chain_id: SOLANA_CHAIN_ID,
        commitment: commitment.clone(),
        action: Action::Settle { token: usdc },
    };

    pay(&bank, &wallet, &commitment, 3_000_000).await;
    chain.submit(work.clone()).await.unwrap();
    let first = rx.recv().await.unwrap().result;
    assert!(matches!(first, WorkResult::Sent { .. }), "{first:?}");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 3_000_000);
    assert_eq!(
        store.sends(SOLANA_CHAIN_ID, &[]).unwrap().len(),
        1,
        "the landed transaction is still on record"
    );

    // A later deposit: the landed record must not stand in for the new settlement.
    pay(&bank, &wallet, &commitment, 2_000_000).await;
    chain.submit(work.clone()).await.unwrap();
    let second = rx.recv().await.unwrap().result;
    assert!(matches!(second, WorkResult::Sent { .. }) && second != first, "{second:?} after {first:?}");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 5_000_000);

    // Nothing left: a third try sends nothing.
    chain.submit(work).await.unwrap();
    let third = rx.recv().await.unwrap().result;
    assert!(matches!(third, WorkResult::Done(_)), "{third:?}");
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
    bank.stop();
}

/// The next report for session `id`, past what reconciling reports (a landed transaction's cost).
async fn report_for(rx: &mut mpsc::UnboundedReceiver<WorkReport>, id: u8) -> WorkResult {
    loop {
        let report = rx.recv().await.unwrap();
        if report.work.session_id == SessionId::from_bytes([id; 16])
            && !matches!(report.result, WorkResult::Landed { .. })
        {
            return report.result;
        }
    }
}

/// The daily fee cap on Solana: the first delivery counts its fee (known from its own bytes) the moment
/// it is signed, and once the day's figure reaches the cap, new work waits for 00:00 UTC without
/// signing anything, saying why; the figure survives a restart (it is in the store). The attack it
/// stops: sessions made to cost more in fees than they are worth drain at most a day's cap.
#[tokio::test]
async fn the_daily_fee_cap_holds_new_work_once_reached_and_survives_a_restart() {
    let (bank, key, wallet, _dir, store) = funded().await;
    let usdc = ChainAddress::Solana(bank.usdc().to_bytes());
    let mut capped = config(&bank, Duration::from_secs(60));
    capped.landing.spending = relayer_chain::SpendingLimits { daily_cap: Some(1), costly_above: Some(0) };
    let key_bytes = key.to_bytes();
    let (chain, mut rx, cancel, tasks) =
        started_with(Arc::clone(&bank) as Arc<dyn SvmClient>, &store, key, capped.clone());
    let work = |id: u8, commitment: &Commitment| Work {
        session_id: SessionId::from_bytes([id; 16]),
        chain_id: SOLANA_CHAIN_ID,
        commitment: commitment.clone(),
        action: Action::Settle { token: usdc },
    };
    let merchant = Pubkey::new_unique();
    let (first, second) =
        (commitment(&bank, &wallet, &merchant, 41), commitment(&bank, &wallet, &merchant, 42));
    pay(&bank, &wallet, &first, 3_000_000).await;
    pay(&bank, &wallet, &second, 3_000_000).await;

    chain.submit(work(41, &first)).await.unwrap();
    let sent = report_for(&mut rx, 41).await;
    assert!(matches!(sent, WorkResult::Sent { .. }), "under the cap: {sent:?}");
    let spent = chain.stats().spending.expect("counted").today;
    assert!(spent >= 5_000, "the fee counts the moment it is signed: {spent}");

    chain.submit(work(42, &second)).await.unwrap();
    let held = report_for(&mut rx, 42).await;
    let WorkResult::NotBefore { reason: Refusal::DailyCapReached { why, until }, .. } = &held else {
        panic!("at the cap, new work waits: {held:?}");
    };
    assert!(why.contains("daily fee cap") && *until % 86_400 == 0, "{why} until {until}");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 3_000_000, "the second was not delivered");
    cancel.cancel();
    tasks.close();
    tasks.wait().await;

    // Restarted: the day's figure is read from the store, and the cap still holds.
    let key = Keypair::try_from(&key_bytes[..]).unwrap();
    let (chain, mut rx, cancel, tasks) =
        started_with(Arc::clone(&bank) as Arc<dyn SvmClient>, &store, key, capped);
    assert!(chain.stats().spending.expect("counted").today >= spent);
    chain.submit(work(42, &second)).await.unwrap();
    let held = report_for(&mut rx, 42).await;
    assert!(
        matches!(held, WorkResult::NotBefore { reason: Refusal::DailyCapReached { .. }, .. }),
        "{held:?}"
    );
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
    bank.stop();
}

/// A send record a previous run left that cannot be read may describe a transaction in flight: the
/// chain reports it (counted for `/readyz` and `/metrics`), refuses the work it names rather than sign
/// a second transaction for it, and leaves it in the store.
#[tokio::test]
async fn an_unreadable_send_record_is_reported_and_its_work_not_sent_again() {
    let (bank, key, wallet, _dir, store) = funded().await;
    let usdc = ChainAddress::Solana(bank.usdc().to_bytes());
    let merchant = Pubkey::new_unique();
    let commitment = commitment(&bank, &wallet, &merchant, 4);
    let session_id = SessionId::from_bytes([4; 16]);
    let action = Action::Settle { token: usdc };
    // The record's key: session ‖ action ‖ mint.
    let at = [&session_id.as_bytes()[..], b"settle", &bank.usdc().to_bytes()].concat();
    store.put_send(SOLANA_CHAIN_ID, &at, b"{\"session_id\":").unwrap();
    pay(&bank, &wallet, &commitment, 3_000_000).await;

    let (chain, mut rx, cancel, tasks) = started(&bank, &store, key);
    chain.submit(Work { session_id, chain_id: SOLANA_CHAIN_ID, commitment, action }).await.unwrap();
    let result = rx.recv().await.unwrap().result;
    assert!(
        matches!(&result, WorkResult::NotYet(reason) if reason.to_string().contains("cannot be read")),
        "{result:?}"
    );
    assert_eq!(chain.stats().unreadable_sends, 1, "reported");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 0, "nothing sent for work it may describe");
    assert_eq!(store.sends(SOLANA_CHAIN_ID, &at).unwrap().len(), 1, "left for an operator");
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
    bank.stop();
}

/// Sees what the watcher applies and the reports; knows its sessions' receivers (the Solana ones are
/// polled) and which sessions are finished.
struct Watching {
    receivers: Vec<(ChainAddress, SessionId)>,
    finished: std::sync::Mutex<Vec<SessionId>>,
    events: mpsc::UnboundedSender<ChainEvent>,
    reports: mpsc::UnboundedSender<WorkReport>,
}

impl EventSink for Watching {
    fn session_for_receiver(&self, receiver: ChainAddress) -> Option<SessionId> {
        self.receivers.iter().find(|(r, _)| *r == receiver).map(|(_, id)| *id)
    }
    fn receivers_of(&self, family: Family) -> Vec<(ChainAddress, SessionId)> {
        self.receivers.iter().filter(|(r, _)| r.family() == family).copied().collect()
    }
    fn terminal(&self, sessions: &[SessionId]) -> Vec<bool> {
        let finished = self.finished.lock().unwrap();
        sessions.iter().map(|id| finished.contains(id)).collect()
    }
    fn apply(&self, _: u64, events: Vec<ChainEvent>) -> BoxFuture<'_, Result<(), SinkError>> {
        for event in events {
            let _ = self.events.send(event);
        }
        Box::pin(async { Ok(()) })
    }
    fn reorg(&self, _: u64, _: u64) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn report(&self, report: WorkReport) -> BoxFuture<'_, ()> {
        let _ = self.reports.send(report);
        Box::pin(async {})
    }
}

fn attester() -> alloy::signers::local::PrivateKeySigner {
    alloy::signers::local::PrivateKeySigner::from_bytes(&B256::repeat_byte(0xa7)).unwrap()
}

/// Delivers a burn on an EVM chain (domain 6, Base) for `commitment`'s receiver, minted to the inbox,
/// through Circle's transmitter (the stand-in) as the devnet attester does; returns what `record` takes.
async fn bridge_in(
    bank: &LocalBank,
    forwarder: &Keypair,
    commitment: &Commitment,
    nonce: u64,
    amount: u64,
) -> tx::Delivery {
    let hook = deposit_vault::evm::receiver_word(&tx::params(commitment).hash());
    let delivery = attested_burn(bank, hook, nonce, amount, &attester());
    let state = bank.accounts(vec![tx::token_messenger_state()]).await.unwrap().remove(0).unwrap();
    let ix = tx::receive_message(
        forwarder.pubkey(),
        bank.usdc(),
        tx::fee_recipient(&state).unwrap(),
        delivery.message.clone(),
        delivery.attestation.clone(),
    )
    .unwrap();
    let (_, raw) = tx::signed(&[ix], forwarder, bank.latest_blockhash().await.unwrap().0);
    bank.send(raw).await.unwrap();
    delivery
}

/// A burn on Base (domain 6) of `amount` minted to the inbox with `hook` as its hook, nonce `nonce`,
/// attested by `signer` as the devnet attester attests.
fn attested_burn(
    bank: &LocalBank,
    hook: [u8; 32],
    nonce: u64,
    amount: u64,
    signer: &alloy::signers::local::PrivateKeySigner,
) -> tx::Delivery {
    use alloy::signers::SignerSync;
    use message_transmitter_v2::message::{BurnMessageV2, MessageV2};
    // The EVM chains' token messenger (the bank registers it for every domain) and Base's USDC.
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(&[0x11; 20]);
    let mut usdc = [0u8; 32];
    usdc[12..].copy_from_slice(&deposit_vault::evm::ROUTES.iter().find(|r| r.domain == 6).unwrap().usdc);
    let mut attested_nonce = [0u8; 32];
    attested_nonce[24..].copy_from_slice(&nonce.to_be_bytes());
    let body = BurnMessageV2 {
        version: 1,
        burn_token: usdc,
        mint_recipient: tx::inbox_token(&bank.usdc()).to_bytes(),
        amount,
        message_sender: word,
        max_fee: 0,
        fee_executed: 0,
        expiration_block: 0,
        hook_data: hook.to_vec(),
    };
    let message = MessageV2 {
        version: 1,
        source_domain: 6,
        destination_domain: 5,
        nonce: attested_nonce,
        sender: word,
        recipient: deposit_vault::evm::TOKEN_MESSENGER_MINTER.to_bytes(),
        destination_caller: [0; 32],
        min_finality_threshold: 2000,
        finality_threshold_executed: 2000,
        body: body.encode(),
    }
    .encode();
    let attestation =
        signer.sign_hash_sync(&alloy::primitives::keccak256(&message)).unwrap().as_bytes().to_vec();
    tx::Delivery { message, attestation }
}

/// A stand-in of Circle's attestation service: for each transaction hash (hex, `0x`-prefixed), its
/// answers (HTTP status, body) in turn, the last one for good; 404 for any other. Its URL, and the
/// requests it answered (path and query).
async fn attestation_service(
    answers: Vec<(String, Vec<(u16, String)>)>,
) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::{
        extract::{Path, Query, State},
        http::StatusCode,
    };
    type Answers = Arc<std::sync::Mutex<(Vec<(String, Vec<(u16, String)>)>, Vec<String>)>>;
    async fn messages(
        State(state): State<Answers>,
        Path(domain): Path<u32>,
        Query(query): Query<std::collections::HashMap<String, String>>,
    ) -> (StatusCode, String) {
        let mut state = state.lock().unwrap();
        let hash = query.get("transactionHash").cloned().unwrap_or_default();
        state.1.push(format!("/v2/messages/{domain}?transactionHash={hash}"));
        let Some((_, list)) = state.0.iter_mut().find(|(h, _)| *h == hash) else {
            return (StatusCode::NOT_FOUND, r#"{"error":"Message hash not found"}"#.into());
        };
        let (status, body) = if list.len() > 1 { list.remove(0) } else { list[0].clone() };
        (StatusCode::from_u16(status).unwrap(), body)
    }
    let state: Answers = Arc::new(std::sync::Mutex::new((answers, vec![])));
    let asked = Arc::new(std::sync::Mutex::new(vec![]));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/v2/messages/{domain}", axum::routing::get(messages))
        .with_state(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (from, to) = (Arc::clone(&state), Arc::clone(&asked));
    tokio::spawn(async move {
        loop {
            let requests = std::mem::take(&mut from.lock().unwrap().1);
            to.lock().unwrap().extend(requests);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (url, asked)
}

/// Circle's answer carrying `deliveries`, attested.
fn complete(deliveries: &[&tx::Delivery]) -> String {
    answer(deliveries, &[])
}

/// Circle's answer carrying `attested` and, not attested yet, `pending`.
fn answer(attested: &[&tx::Delivery], pending: &[&tx::Delivery]) -> String {
    let entry = |d: &tx::Delivery, done: bool| {
        serde_json::json!({
            "message": format!("0x{}", hex::encode(&d.message)),
            "eventNonce": format!("0x{}", hex::encode(tx::nonce_of(&d.message))),
            "attestation": if done { format!("0x{}", hex::encode(&d.attestation)) } else { "PENDING".into() },
            "cctpVersion": 2,
            "status": if done { "complete" } else { "pending_confirmations" },
        })
    };
    let entries: Vec<serde_json::Value> =
        attested.iter().map(|d| entry(d, true)).chain(pending.iter().map(|d| entry(d, false))).collect();
    serde_json::json!({ "messages": entries }).to_string()
}

/// The signatures of the relayer's (`key`'s) transactions that called Circle's transmitter for the
/// message with `nonce`, each with its copies.
fn deliveries_by(
    bank: &LocalBank,
    key: &Pubkey,
    nonce: u64,
) -> Vec<(solana_sdk::signature::Signature, usize)> {
    sent_by(bank, key)
        .into_iter()
        .filter(|(signature, _)| {
            bank.sent().iter().any(|(s, raw)| {
                let t = tx::deserialize(raw).unwrap();
                s == signature
                    && t.message.instructions.iter().any(|ix| {
                        let program = t.message.account_keys[usize::from(ix.program_id_index)];
                        let ix = solana_sdk::instruction::Instruction {
                            program_id: program,
                            accounts: vec![],
                            data: ix.data.clone(),
                        };
                        tx::delivered_by(&ix)
                            .is_some_and(|d| tx::nonce_of(&d.message)[24..] == nonce.to_be_bytes())
                    })
            })
        })
        .collect()
}

/// The relayer delivers what is bridged towards Solana itself, as it must on a real cluster where nobody
/// else calls Circle's transmitter: announced a session's bridging (twice: followed once), it asks the
/// attestation service for the transaction's messages until they are attested (a 404, then
/// `pending_confirmations`), delivers the session's own burn once, in its pipeline, and the watcher reports
/// it as the session's deposit, not waiting for another's burn in the same transaction that is never
/// attested (anyone may add a slower burn to a transaction that bridges the session). A burn naming
/// another receiver and one whose attestation Circle's transmitter refuses are never sent (each would cost
/// a fee and a used-nonce account's rent, or fail on chain for ever); a bridging someone else delivered
/// first costs nothing. Deliveries name the fee recipient Circle's state names, which Circle may change.
#[tokio::test]
async fn a_bridging_towards_solana_is_fetched_from_the_attestation_service_and_delivered_once() {
    let (bank, key, forwarder, _dir, store) = with_forwarder().await;
    // Circle names its own fee recipient, and may change it: each delivery must name the current one.
    let fee_recipient = Pubkey::new_unique();
    bank.set_cctp_fee_recipient(&fee_recipient).await.unwrap();
    let session = relayer_store::conformance::session(4);
    let commitment = session.commitment();
    let receiver = deposit_vault::evm::receiver(&tx::params(&commitment).hash());
    let hook = deposit_vault::evm::receiver_word(&tx::params(&commitment).hash());
    let mine = attested_burn(&bank, hook, 10, 3_000_000, &attester());
    // Naming a receiver that is nobody's.
    let mut other_hook = [0u8; 32];
    other_hook[12..].copy_from_slice(&[0xee; 20]);
    let not_mine = attested_burn(&bank, other_hook, 11, 3_000_000, &attester());
    let forged =
        attested_burn(&bank, hook, 12, 3_000_000, &alloy::signers::local::PrivateKeySigner::random());
    let early = attested_burn(&bank, hook, 13, 2_000_000, &attester());
    let pending = r#"{"messages":[{"message":"0x00","attestation":"PENDING","status":"pending_confirmations","cctpVersion":2}]}"#;
    let (first_tx, second_tx) = (B256::repeat_byte(0xb1), B256::repeat_byte(0xb2));
    let (url, asked) = attestation_service(vec![
        (
            first_tx.to_string(),
            vec![
                (404, r#"{"error":"Message hash not found"}"#.into()),
                (200, pending.into()),
                // Another's burn in the same transaction, never attested: not waited for.
                (200, answer(&[&mine, &forged], &[&not_mine])),
            ],
        ),
        (second_tx.to_string(), vec![(200, complete(&[&early]))]),
    ])
    .await;
    let receivers = vec![(ChainAddress::Evm(receiver.into()), session.id)];
    let (running, mut events) = following(&bank, &store, &key, url, receivers);
    let chain = &running.chain;
    chain.arriving(&session, 8453, &bridging(first_tx)).unwrap();
    chain.arriving(&session, 8453, &bridging(first_tx)).unwrap();

    let deposit =
        tokio::time::timeout(Duration::from_secs(30), events.recv()).await.expect("delivered in time");
    let Some(ChainEvent { receiver: seen, kind: EventKind::Deposit(deposit), .. }) = deposit else {
        panic!("a deposit")
    };
    assert_eq!((seen, deposit.amount), (ChainAddress::Evm(receiver.into()), U256::from(3_000_000u64)));
    let delivered = |d: &tx::Delivery| {
        let marker = tx::delivered_marker(&d.message);
        let bank = Arc::clone(&bank);
        async move { bank.accounts(vec![marker]).await.unwrap()[0].is_some() }
    };
    assert!(delivered(&mine).await);
    assert_eq!(deliveries_by(&bank, &key.pubkey(), 10).len(), 1, "delivered by the relayer, once");
    for (burn, nonce) in [(&not_mine, 11), (&forged, 12)] {
        assert!(!delivered(burn).await && deliveries_by(&bank, &key.pubkey(), nonce).is_empty());
    }
    let asks = asked.lock().unwrap().clone();
    assert!(asks.len() >= 3, "asked until attested: {asks:?}");
    assert!(asks.iter().all(|a| *a == format!("/v2/messages/6?transactionHash={first_tx}")), "{asks:?}");

    // Delivered by someone else before the relayer asked: nothing sent, and the deposit still seen.
    bridge_in(&bank, &forwarder, &commitment, 13, 2_000_000).await;
    chain.arriving(&session, 8453, &bridging(second_tx)).unwrap();
    let deposit = tokio::time::timeout(Duration::from_secs(30), events.recv()).await.expect("seen in time");
    assert!(matches!(deposit, Some(ChainEvent { kind: EventKind::Deposit(_), .. })), "{deposit:?}");
    until("the second bridging asked for", async || {
        asked.lock().unwrap().iter().any(|a| a.ends_with(&second_tx.to_string()))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(deliveries_by(&bank, &key.pubkey(), 13).is_empty(), "someone else delivered it");
    assert_eq!(deliveries_by(&bank, &key.pubkey(), 10).len(), 1, "still once");
    running.stop().await;
    bank.stop();
}

/// A chain over `bank` that follows bridgings towards Solana by asking the attestation service at `url`,
/// its sessions' receivers `receivers`; the events its watcher applies.
fn following(
    bank: &Arc<LocalBank>,
    store: &Arc<dyn ChainStore>,
    key: &Keypair,
    url: String,
    receivers: Vec<(ChainAddress, SessionId)>,
) -> (Running, mpsc::UnboundedReceiver<ChainEvent>) {
    let (events_tx, events) = mpsc::unbounded_channel();
    let (reports_tx, _) = mpsc::unbounded_channel();
    let sink = Arc::new(Watching {
        receivers,
        finished: std::sync::Mutex::default(),
        events: events_tx,
        reports: reports_tx,
    });
    let mut config = config(bank, Duration::from_millis(100));
    config.attestation_url = Some(url);
    let client = Arc::clone(bank) as Arc<dyn SvmClient>;
    let chain = Arc::new(SvmChain::new(config, client, Arc::clone(store), key.insecure_clone()));
    let (cancel, tasks) = (tokio_util::sync::CancellationToken::new(), tokio_util::task::TaskTracker::new());
    Arc::clone(&chain).start(sink, cancel.clone(), &tasks);
    (Running { chain, cancel, tasks }, events)
}

/// A session's bridging of 3.00 USDC from Base towards Solana in `tx_hash`.
fn bridging(tx_hash: B256) -> relayer_types::Bridging {
    relayer_types::Bridging {
        event: relayer_types::EventId {
            chain_id: 8453,
            block_number: 7,
            tx_hash: tx_hash.into(),
            log_index: 2,
        },
        token: ChainAddress::Evm(alloy::primitives::Address::repeat_byte(0x83)),
        adapter: ChainAddress::Evm(alloy::primitives::Address::repeat_byte(0xad)),
        amount: U256::from(3_000_000u64),
        to_chain_id: Some(SOLANA_CHAIN_ID),
        to_receiver: None,
        home: false,
    }
}

/// A session's hook (its EVM receiver as a word) and receiver.
fn hook_of(session: &relayer_types::Session) -> ([u8; 32], ChainAddress) {
    let hash = tx::params(&session.commitment()).hash();
    (deposit_vault::evm::receiver_word(&hash), ChainAddress::Evm(deposit_vault::evm::receiver(&hash).into()))
}

/// Whether the message of `d` was delivered within `secs`.
async fn delivered_within(bank: &LocalBank, d: &tx::Delivery, secs: u64) -> bool {
    let marker = tx::delivered_marker(&d.message);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if bank.accounts(vec![marker]).await.unwrap()[0].is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Anyone may call the router's `bridge` for several sessions' params in one transaction (an attacker
/// bridging its own session and a victim's together): each session announces it, and each session's
/// burn is delivered, not only the first announcer's.
#[tokio::test]
async fn two_sessions_bridged_in_one_transaction_are_both_delivered() {
    let (bank, key, _forwarder, _dir, store) = with_forwarder().await;
    let (first, second) = (relayer_store::conformance::session(4), relayer_store::conformance::session(5));
    let ((hook_a, receiver_a), (hook_b, receiver_b)) = (hook_of(&first), hook_of(&second));
    let (burn_a, burn_b) = (
        attested_burn(&bank, hook_a, 20, 3_000_000, &attester()),
        attested_burn(&bank, hook_b, 21, 3_000_000, &attester()),
    );
    let shared = B256::repeat_byte(0xc1);
    let (url, _) =
        attestation_service(vec![(shared.to_string(), vec![(200, complete(&[&burn_a, &burn_b]))])]).await;
    let (running, _events) =
        following(&bank, &store, &key, url, vec![(receiver_a, first.id), (receiver_b, second.id)]);
    running.chain.arriving(&first, 8453, &bridging(shared)).unwrap();
    running.chain.arriving(&second, 8453, &bridging(shared)).unwrap();
    assert!(delivered_within(&bank, &burn_a, 30).await, "the first session's burn");
    assert!(delivered_within(&bank, &burn_b, 30).await, "the second session's burn of the same transaction");
    running.stop().await;
    bank.stop();
}

/// Anyone may burn to the inbox naming a session's receiver in the very transaction that bridges the
/// session's payment (decoys ahead of it in log order): every burn of the session's is delivered, so
/// none crowds the payment out (each decoy cost its burner at least the claim minimum, now the
/// session's).
#[tokio::test]
async fn decoys_burnt_ahead_of_a_sessions_payment_do_not_crowd_it_out() {
    let (bank, key, _forwarder, _dir, store) = with_forwarder().await;
    let victim = relayer_store::conformance::session(4);
    let (hook, receiver) = hook_of(&victim);
    let decoys: Vec<tx::Delivery> =
        (40..46).map(|nonce| attested_burn(&bank, hook, nonce, 1_000_000, &attester())).collect();
    let payment = attested_burn(&bank, hook, 46, 3_000_000, &attester());
    let shared = B256::repeat_byte(0xe1);
    let all: Vec<&tx::Delivery> = decoys.iter().chain(std::iter::once(&payment)).collect();
    let (url, _) = attestation_service(vec![(shared.to_string(), vec![(200, complete(&all))])]).await;
    let (running, _events) = following(&bank, &store, &key, url, vec![(receiver, victim.id)]);
    running.chain.arriving(&victim, 8453, &bridging(shared)).unwrap();
    assert!(delivered_within(&bank, &payment, 30).await, "the session's payment is delivered");
    for d in &decoys {
        assert!(delivered_within(&bank, d, 10).await, "and each burn for it");
    }
    running.stop().await;
    bank.stop();
}

/// A bridging followed and not yet attested when the relayer stops is followed again by the next
/// process from the chain's store (even when the first read of it fails), with nothing announcing it
/// again (deposits anyone adds on Solana can hide it from the engine's count of what awaits an arrival),
/// and delivered; once delivered, its record is gone.
#[tokio::test]
async fn a_bridging_on_its_way_across_a_restart_is_delivered_from_the_chains_record() {
    let (bank, key, forwarder, _dir, store) = with_forwarder().await;
    let session = relayer_store::conformance::session(8);
    let (hook, receiver) = hook_of(&session);
    let payment = attested_burn(&bank, hook, 60, 3_000_000, &attester());
    let on_its_way = B256::repeat_byte(0xf1);
    let not_yet = (404, r#"{"error":"Message hash not found"}"#.to_owned());
    let (url, asked) = attestation_service(vec![(on_its_way.to_string(), vec![not_yet])]).await;
    let (running, _events) = following(&bank, &store, &key, url, vec![(receiver, session.id)]);
    running.chain.arriving(&session, 8453, &bridging(on_its_way)).unwrap();
    until("asked for", async || !asked.lock().unwrap().is_empty()).await;
    running.stop().await;
    assert_eq!(store.records(SOLANA_CHAIN_ID).unwrap().len(), 1, "recorded");
    // Attested meanwhile; a new process, told nothing, whose first read of the records fails.
    let (url, _) =
        attestation_service(vec![(on_its_way.to_string(), vec![(200, complete(&[&payment]))])]).await;
    let flaky: Arc<dyn ChainStore> = Arc::new(Flaky {
        inner: Arc::clone(&store),
        fail_reads: std::sync::atomic::AtomicUsize::new(1),
        fail_writes: std::sync::atomic::AtomicUsize::new(1),
    });
    let (running, _events) = following(&bank, &flaky, &key, url, vec![(receiver, session.id)]);
    assert!(delivered_within(&bank, &payment, 30).await, "delivered after the restart");
    record(&bank, &forwarder, &payment).await;
    // An announcement whose record cannot be written fails (the engine's batch fails, and the source
    // chain's watcher applies it again) and follows nothing until it can be.
    let later = B256::repeat_byte(0xf2);
    assert!(running.chain.arriving(&session, 8453, &bridging(later)).is_err(), "not durable: refused");
    assert!(
        flaky
            .records(SOLANA_CHAIN_ID)
            .unwrap()
            .iter()
            .all(|(k, _)| !k.windows(32).any(|w| w == later.as_slice()))
    );
    running.chain.arriving(&session, 8453, &bridging(later)).unwrap();
    assert!(
        flaky
            .records(SOLANA_CHAIN_ID)
            .unwrap()
            .iter()
            .any(|(k, _)| k.windows(32).any(|w| w == later.as_slice()))
    );
    until("the delivered one's record forgotten", async || {
        store.records(SOLANA_CHAIN_ID).unwrap().len() == 1
    })
    .await;
    running.stop().await;
    bank.stop();
}

/// A store whose first `fail_reads` reads and `fail_writes` writes of the family records fail (a passing
/// failure).
struct Flaky {
    inner: Arc<dyn ChainStore>,
    fail_reads: std::sync::atomic::AtomicUsize,
    fail_writes: std::sync::atomic::AtomicUsize,
}

impl ChainStore for Flaky {
    fn cursor(&self, c: u64) -> Result<Option<relayer_store::Cursor>, relayer_store::StoreError> {
        self.inner.cursor(c)
    }
    fn set_cursor(
        &self,
        c: u64,
        cursor: relayer_store::Cursor,
        blocks: &[(u64, B256)],
    ) -> Result<(), relayer_store::StoreError> {
        self.inner.set_cursor(c, cursor, blocks)
    }
    fn block_hash(&self, c: u64, n: u64) -> Result<Option<B256>, relayer_store::StoreError> {
        self.inner.block_hash(c, n)
    }
    fn prune_block_hashes(&self, c: u64, below: u64) -> Result<(), relayer_store::StoreError> {
        self.inner.prune_block_hashes(c, below)
    }
    fn put_send(&self, c: u64, k: &[u8], r: &[u8]) -> Result<(), relayer_store::StoreError> {
        self.inner.put_send(c, k, r)
    }
    fn sends(&self, c: u64, p: &[u8]) -> Result<Vec<relayer_store::SendEntry>, relayer_store::StoreError> {
        self.inner.sends(c, p)
    }
    fn delete_send(&self, c: u64, k: &[u8]) -> Result<(), relayer_store::StoreError> {
        self.inner.delete_send(c, k)
    }
    fn watch_marks(&self, c: u64) -> Result<Vec<relayer_store::SendEntry>, relayer_store::StoreError> {
        self.inner.watch_marks(c)
    }
    fn put_watch_marks(
        &self,
        c: u64,
        m: &[relayer_store::SendEntry],
    ) -> Result<(), relayer_store::StoreError> {
        self.inner.put_watch_marks(c, m)
    }
    fn records(&self, c: u64) -> Result<Vec<relayer_store::SendEntry>, relayer_store::StoreError> {
        use std::sync::atomic::Ordering;
        if self.fail_reads.load(Ordering::SeqCst) > 0 {
            self.fail_reads.fetch_sub(1, Ordering::SeqCst);
            return Err(relayer_store::StoreError::codec("a passing failure", None));
        }
        self.inner.records(c)
    }
    fn put_record(&self, c: u64, k: &[u8], r: &[u8]) -> Result<(), relayer_store::StoreError> {
        use std::sync::atomic::Ordering;
        if self.fail_writes.load(Ordering::SeqCst) > 0 {
            self.fail_writes.fetch_sub(1, Ordering::SeqCst);
            return Err(relayer_store::StoreError::codec("a passing failure", None));
        }
        self.inner.put_record(c, k, r)
    }
    fn delete_record(&self, c: u64, k: &[u8]) -> Result<(), relayer_store::StoreError> {
        self.inner.delete_record(c, k)
    }
}

/// One bad answer of the attestation service (a lying one, a stale one, an attestation Circle's
/// transmitter refuses) loses nothing: the record stays, and the honest answer that follows is delivered.
#[tokio::test]
async fn one_bad_answer_of_the_attestation_service_loses_nothing() {
    let (bank, key, _forwarder, _dir, store) = with_forwarder().await;
    let session = relayer_store::conformance::session(9);
    let (hook, receiver) = hook_of(&session);
    let payment = attested_burn(&bank, hook, 90, 3_000_000, &attester());
    let second = attested_burn(&bank, hook, 91, 3_000_000, &attester());
    // The session's own message under a signature Circle's attesters never made.
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    let forged = tx::Delivery {
        message: payment.message.clone(),
        attestation: attested_burn(&bank, hook, 90, 3_000_000, &stranger).attestation,
    };
    // Only another receiver's burn, where the session's own was.
    let mut nobody = [0u8; 32];
    nobody[12..].copy_from_slice(&[0xee; 20]);
    let not_ours = attested_burn(&bank, nobody, 96, 3_000_000, &attester());
    let (forged_tx, wrong_tx) = (B256::repeat_byte(0x91), B256::repeat_byte(0x92));
    let (url, _) = attestation_service(vec![
        (forged_tx.to_string(), vec![(200, complete(&[&forged])), (200, complete(&[&payment]))]),
        (wrong_tx.to_string(), vec![(200, complete(&[&not_ours])), (200, complete(&[&not_ours, &second]))]),
    ])
    .await;
    let (running, _events) = following(&bank, &store, &key, url, vec![(receiver, session.id)]);
    running.chain.arriving(&session, 8453, &bridging(forged_tx)).unwrap();
    running.chain.arriving(&session, 8453, &bridging(wrong_tx)).unwrap();
    assert!(delivered_within(&bank, &payment, 30).await, "delivered after a forged attestation");
    assert!(delivered_within(&bank, &second, 30).await, "delivered after an answer without it");
    running.stop().await;
    bank.stop();
}

/// Has the program record `delivery` (by `by`), as anyone may once it was delivered.
async fn record(bank: &LocalBank, by: &Keypair, delivery: &tx::Delivery) {
    let (_, raw) =
        tx::signed(&[tx::record(by.pubkey(), delivery)], by, bank.latest_blockhash().await.unwrap().0);
    bank.send(raw).await.unwrap();
}

/// A lying attestation service cannot end an arrival by naming a nonce someone else's delivery used: the
/// program's record of that nonce shows another transfer, the message is refused and the service asked
/// again; and a session's burn the relayer does not deliver (less than it claims once Circle's fee is
/// taken) is asked for only every ten minutes, not every few seconds for six hours (an answer, which
/// nothing checks, never ends an arrival).
#[tokio::test]
async fn a_used_nonce_named_by_a_lying_service_ends_nothing_and_an_undeliverable_burn_is_asked_rarely() {
    let (bank, key, forwarder, _dir, store) = with_forwarder().await;
    let (session, other) = (relayer_store::conformance::session(12), relayer_store::conformance::session(13));
    let (hook, receiver) = hook_of(&session);
    // Another session's transfer, delivered and recorded: its nonce is used.
    let theirs = bridge_in(&bank, &forwarder, &other.commitment(), 70, 2_000_000).await;
    record(&bank, &forwarder, &theirs).await;
    // The lie: the session's hook under that nonce; then the honest answer.
    let lie = attested_burn(&bank, hook, 70, 3_000_000, &attester());
    let payment = attested_burn(&bank, hook, 71, 3_000_000, &attester());
    let small = attested_burn(&bank, hook, 72, 999_999, &attester());
    let (lied_tx, small_tx) = (B256::repeat_byte(0xa1), B256::repeat_byte(0xa2));
    let (url, asked) = attestation_service(vec![
        (lied_tx.to_string(), vec![(200, complete(&[&lie])), (200, complete(&[&payment]))]),
        (small_tx.to_string(), vec![(200, complete(&[&small]))]),
    ])
    .await;
    let (running, _events) = following(&bank, &store, &key, url, vec![(receiver, session.id)]);
    running.chain.arriving(&session, 8453, &bridging(lied_tx)).unwrap();
    assert!(delivered_within(&bank, &payment, 30).await, "delivered after the lie");
    // Recorded (the session's work would do it; here no engine drives it): the arrival ends.
    record(&bank, &forwarder, &payment).await;
    running.chain.arriving(&session, 8453, &bridging(small_tx)).unwrap();
    until("the lied one ended", async || store.records(SOLANA_CHAIN_ID).unwrap().len() == 1).await;
    let small_asks = || asked.lock().unwrap().iter().filter(|a| a.ends_with(&small_tx.to_string())).count();
    until("the undeliverable one asked for", async || small_asks() == 1).await;
    assert!(!delivered_within(&bank, &small, 3).await, "not delivered by the relayer");
    assert_eq!(small_asks(), 1, "then asked for only every ten minutes (an answer ends nothing)");
    running.stop().await;
    bank.stop();
}

/// Fresh bridgings from many sessions (each a real bridging, several sessions per transaction) never pass
/// one that has been due for longer: a bridging asked for once and attested since is asked again and
/// delivered while the flood goes on.
#[tokio::test]
async fn fresh_bridgings_from_many_sessions_do_not_starve_an_older_one() {
    let (bank, key, _forwarder, _dir, store) = with_forwarder().await;
    let victim = relayer_store::conformance::session(7);
    let (hook_v, receiver_v) = hook_of(&victim);
    let payment = attested_burn(&bank, hook_v, 50, 3_000_000, &attester());
    let victim_tx = B256::repeat_byte(0xd7);
    let (url, asked) = attestation_service(vec![(
        victim_tx.to_string(),
        vec![(404, r#"{"error":"Message hash not found"}"#.into()), (200, complete(&[&payment]))],
    )])
    .await;
    let attackers: Vec<relayer_types::Session> =
        (100..120u8).map(relayer_store::conformance::session).collect();
    let mut receivers: Vec<(ChainAddress, SessionId)> =
        attackers.iter().map(|s| (hook_of(s).1, s.id)).collect();
    receivers.push((receiver_v, victim.id));
    let (running, _events) = following(&bank, &store, &key, url, receivers);
    running.chain.arriving(&victim, 8453, &bridging(victim_tx)).unwrap();
    until("the first ask", async || {
        asked.lock().unwrap().iter().any(|a| a.ends_with(&victim_tx.to_string()))
    })
    .await;
    // The flood: every 50 ms, a fresh bridging for each of 20 sessions.
    let chain = Arc::clone(&running.chain);
    let stop = tokio_util::sync::CancellationToken::new();
    let flood = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut i = 0u64;
            while !stop.is_cancelled() {
                for s in &attackers {
                    i += 1;
                    let mut hash = [0xab; 32];
                    hash[..8].copy_from_slice(&i.to_be_bytes());
                    chain.arriving(s, 8453, &bridging(B256::from(hash))).unwrap();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let delivered = delivered_within(&bank, &payment, 30).await;
    stop.cancel();
    flood.await.unwrap();
    assert!(delivered, "starved by fresher bridgings");
    running.stop().await;
    bank.stop();
}

/// Bridgings the attestation service never attests (a flood of them from one session, each a real
/// bridging of at least the claim minimum) are asked for a few at each poll, in turns by session: another
/// session's bridging announced after them is among the next asked for and is delivered, not held behind
/// the whole flood (nothing is refused for lack of room either); one below the least the relayer claims
/// is not followed at all.
#[tokio::test]
async fn a_flood_of_unattested_bridgings_does_not_hold_up_a_later_one() {
    let (bank, key, _forwarder, _dir, store) = with_forwarder().await;
    let (attacker, victim) = (relayer_store::conformance::session(6), relayer_store::conformance::session(7));
    let ((_, receiver_a), (hook_v, receiver_v)) = (hook_of(&attacker), hook_of(&victim));
    let victims = attested_burn(&bank, hook_v, 30, 3_000_000, &attester());
    let victim_tx = B256::repeat_byte(0xd1);
    let (url, asked) =
        attestation_service(vec![(victim_tx.to_string(), vec![(200, complete(&[&victims]))])]).await;
    let (running, _events) =
        following(&bank, &store, &key, url, vec![(receiver_a, attacker.id), (receiver_v, victim.id)]);
    for i in 0..500u64 {
        let mut hash = [0xaa; 32];
        hash[..8].copy_from_slice(&i.to_be_bytes());
        running.chain.arriving(&attacker, 8453, &bridging(B256::from(hash))).unwrap();
    }
    let dust = B256::repeat_byte(0xd2);
    running
        .chain
        .arriving(
            &victim,
            8453,
            &relayer_types::Bridging { amount: U256::from(999_999u64), ..bridging(dust) },
        )
        .unwrap();
    until("the flood asked for", async || !asked.lock().unwrap().is_empty()).await;
    running.chain.arriving(&victim, 8453, &bridging(victim_tx)).unwrap();
    assert!(delivered_within(&bank, &victims, 60).await, "the later bridging is delivered");
    let asks = asked.lock().unwrap().clone();
    let at = asks.iter().position(|a| a.ends_with(&victim_tx.to_string())).expect("asked for");
    assert!(at < 100, "asked for after {at} asks of the flood's 500");
    assert!(!asks.iter().any(|a| a.ends_with(&dust.to_string())), "dust is not followed");
    running.stop().await;
    bank.stop();
}

/// Submits `work` until its report is not the wait for a transfer's record (as the engine retries
/// `NotYet`, and as it does when reconciliation reports the record landed): the relayer records a
/// delivered transfer first, in a transaction of its own, then claims it. Returns the last report, and
/// whether a record was waited for; the reports of submits made meanwhile are read too.
async fn through_the_record(
    chain: &SvmChain,
    work: &Work,
    reports: &mut mpsc::UnboundedReceiver<WorkReport>,
) -> (WorkResult, bool) {
    let mut waited = false;
    for _ in 0..100 {
        chain.submit(work.clone()).await.unwrap();
        match unlanded(reports).await {
            WorkResult::NotYet(Refusal::Preparing(_) | Refusal::CalleeRefused(_)) => waited = true,
            other => {
                // A report of the record's landing may have been read in place of a submit's answer:
                // that answer, if any, is read now (it is the same work, in flight or done).
                tokio::time::sleep(Duration::from_millis(500)).await;
                while reports.try_recv().is_ok() {}
                return (other, waited);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the transfer was never recorded")
}

/// A running chain: stopped by `cancel`, its tasks in `tasks`.
struct Running {
    chain: Arc<SvmChain>,
    cancel: tokio_util::sync::CancellationToken,
    tasks: tokio_util::task::TaskTracker,
}

impl Running {
    async fn stop(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Starts a chain over `bank` and `store` with `sink` (a fresh process: nothing in memory).
fn start(
    bank: &Arc<LocalBank>,
    store: &Arc<dyn ChainStore>,
    key: &Keypair,
    sink: Arc<dyn EventSink>,
) -> Running {
    let config = config(bank, Duration::from_millis(100));
    let client = Arc::clone(bank) as Arc<dyn SvmClient>;
    let chain = Arc::new(SvmChain::new(config, client, Arc::clone(store), key.insecure_clone()));
    let (cancel, tasks) = (tokio_util::sync::CancellationToken::new(), tokio_util::task::TaskTracker::new());
    Arc::clone(&chain).start(sink, cancel.clone(), &tasks);
    Running { chain, cancel, tasks }
}

/// The next event the watcher applies, within a few seconds.
async fn next_event(events: &mut mpsc::UnboundedReceiver<ChainEvent>) -> ChainEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv()).await.expect("an event in time").unwrap()
}

/// A bank whose CCTP stand-ins trust the devnet attester, the relayer's key and a forwarder that
/// delivers what is bridged in (each with SOL), and a store.
async fn with_forwarder() -> (Arc<LocalBank>, Keypair, Keypair, tempfile::TempDir, Arc<dyn ChainStore>) {
    let bank = LocalBank::start(attester().address().into_array(), [0x11; 20]).await.unwrap();
    let (key, forwarder) = (Keypair::new(), Keypair::new());
    bank.fund(&key.pubkey(), 1_000_000_000, 0).await.unwrap();
    bank.fund(&forwarder.pubkey(), 1_000_000_000, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ChainStore> = Arc::new(SledStore::open(dir.path()).unwrap());
    (bank, key, forwarder, dir, store)
}

#[tokio::test]
async fn a_transfer_bridged_into_the_inbox_is_claimed_once_known_after_a_restart_and_sent_back_when_late() {
    let (bank, key, forwarder, _dir, store) = with_forwarder().await;
    let usdc = ChainAddress::Solana(bank.usdc().to_bytes());
    let merchant = Pubkey::new_unique();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let commitment = Commitment {
        session_id: SessionId::from_bytes([4; 16]).to_b256(),
        to_chain_id: SOLANA_CHAIN_ID,
        to_token: B256::from(bank.usdc().to_bytes()),
        to_address: B256::from(merchant.to_bytes()),
        amount: U256::from(3_000_000u64),
        final_call: Default::default(),
        min_amount: U256::ZERO,
        refund_address: alloy::primitives::Address::repeat_byte(0xbe).into_word(),
        solana_refund_address: B256::ZERO,
        expires_at: now + 8,
    };
    let session = SessionId::from_bytes([4; 16]);
    let receiver = deposit_vault::evm::receiver(&tx::params(&commitment).hash());
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let sink = Arc::new(Watching {
        receivers: vec![(ChainAddress::Evm(receiver.into()), session)],
        finished: std::sync::Mutex::default(),
        events: events_tx,
        reports: reports_tx,
    });
    let settle = Work {
        session_id: session,
        chain_id: SOLANA_CHAIN_ID,
        commitment,
        action: Action::Settle { token: usdc },
    };
    let inbox = tx::inbox_token(&bank.usdc());

    // Arrives, is seen as the session's deposit, is claimed for its recipient.
    let running = start(&bank, &store, &key, Arc::clone(&sink) as Arc<dyn EventSink>);
    bridge_in(&bank, &forwarder, &settle.commitment, 0, 3_000_000).await;
    let ChainEvent { receiver: seen, named: None, kind: EventKind::Deposit(deposit) } =
        next_event(&mut events).await
    else {
        panic!("a deposit")
    };
    assert_eq!((seen, deposit.amount), (ChainAddress::Evm(receiver.into()), U256::from(3_000_000u64)));
    // First the program's record of it, in a transaction of its own; its landing is never reported as
    // the work's landing (it delivered nothing), and the claim follows.
    running.chain.submit(settle.clone()).await.unwrap();
    let first = unlanded(&mut reports).await;
    let WorkResult::NotYet(Refusal::Preparing(why)) = &first else { panic!("{first:?}") };
    let record_tx = why.split(' ').next().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(Some(report)) = tokio::time::timeout_at(deadline, reports.recv()).await {
        if let WorkResult::Landed { tx_hash, .. } = report.result {
            assert_ne!(tx_hash.to_string(), record_tx, "the record's landing reported as the work's");
        }
    }
    let (sent, _) = through_the_record(&running.chain, &settle, &mut reports).await;
    assert!(matches!(sent, WorkResult::Sent { .. }), "{sent:?}");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 3_000_000);
    assert_eq!(bank.token_balance(&inbox).await.unwrap(), 0);
    let ChainEvent { receiver: at, kind: EventKind::Settled(settlement), .. } = next_event(&mut events).await
    else {
        panic!("a settlement")
    };
    assert_eq!(at, ChainAddress::Evm(receiver.into()), "the receiver the claimed params commit to");
    assert_eq!(settlement.delivered, U256::from(3_000_000u64));
    // Again: the claim record says it is consumed; nothing is sent.
    running.chain.submit(settle.clone()).await.unwrap();
    let again = unlanded(&mut reports).await;
    assert!(matches!(again, WorkResult::Done(_)), "{again:?}");

    // A second transfer arrives while the relayer is down, and someone else records it; the restarted
    // one is given the work before its watcher has read anything: it must wait for the read, not answer
    // that the vault is empty, and claim it on the record it finds.
    running.stop().await;
    let delivery = bridge_in(&bank, &forwarder, &settle.commitment, 1, 2_000_000).await;
    let (_, raw) = tx::signed(
        &[tx::record(forwarder.pubkey(), &delivery)],
        &forwarder,
        bank.latest_blockhash().await.unwrap().0,
    );
    bank.send(raw).await.unwrap();
    let running = start(&bank, &store, &key, Arc::clone(&sink) as Arc<dyn EventSink>);
    let (sent, _) = through_the_record(&running.chain, &settle, &mut reports).await;
    assert!(matches!(sent, WorkResult::Sent { .. }), "{sent:?}");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 5_000_000, "each transfer paid once");

    // A third after the session expired: claiming is refused, so it goes back to the receiver on the
    // chain it came from (where the router refunds it).
    bridge_in(&bank, &forwarder, &settle.commitment, 2, 1_000_000).await;
    let supply = || async {
        use solana_sdk::program_pack::Pack;
        let mint = bank.accounts(vec![bank.usdc()]).await.unwrap().remove(0).unwrap();
        anchor_spl::token::spl_token::state::Mint::unpack(&mint.data).unwrap().supply
    };
    let before = supply().await;
    while bank.sysvar::<solana_sdk::clock::Clock>().await.unwrap().unix_timestamp as u64
        <= settle.commitment.expires_at
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (refused, _) = through_the_record(&running.chain, &settle, &mut reports).await;
    assert_eq!(refused, WorkResult::RefundInstead);
    let refund = Work { action: Action::Refund { token: usdc }, ..settle.clone() };
    let (sent, _) = through_the_record(&running.chain, &refund, &mut reports).await;
    assert!(matches!(sent, WorkResult::Sent { .. }), "{sent:?}");
    assert_eq!(supply().await, before - 1_000_000, "burnt through CCTP for the way back");
    assert_eq!(bank.usdc_balance(&merchant).await.unwrap(), 5_000_000, "nothing delivered after expiry");
    assert_eq!(bank.token_balance(&inbox).await.unwrap(), 0);
    running.stop().await;
    bank.stop();
}

/// The next report that is not a landed transaction's cost (reconciliation reports those whenever it
/// finds one of the relayer's transactions landed).
async fn unlanded(reports: &mut mpsc::UnboundedReceiver<WorkReport>) -> WorkResult {
    loop {
        let result = reports.recv().await.unwrap().result;
        if !matches!(result, WorkResult::Landed { .. }) {
            return result;
        }
    }
}

/// Waits (at most 30 s) until `done` says so.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The distinct signatures of the transactions the relayer's `key` sent, in the order first sent,
/// each with how many copies of it were sent.
fn sent_by(bank: &LocalBank, key: &Pubkey) -> Vec<(solana_sdk::signature::Signature, usize)> {
    let mut out: Vec<(solana_sdk::signature::Signature, usize)> = vec![];
    for (signature, raw) in bank.sent() {
        if tx::deserialize(&raw).unwrap().message.account_keys[0] != *key {
            continue;
        }
        match out.iter_mut().find(|(s, _)| *s == signature) {
            Some((_, copies)) => *copies += 1,
            None => out.push((signature, 1)),
        }
    }
    out
}

/// One paid session (3 USDC into its vault) and a chain polling every 50 ms (reconciling every 100 ms)
/// over `client` (the bank unless given), ready to settle it.
struct Scene {
    bank: Arc<LocalBank>,
    relayer: Pubkey,
    merchant: Pubkey,
    work: Work,
    chain: Arc<SvmChain>,
    rx: mpsc::UnboundedReceiver<WorkReport>,
    cancel: tokio_util::sync::CancellationToken,
    tasks: tokio_util::task::TaskTracker,
    _dir: tempfile::TempDir,
}

impl Scene {
    async fn new(
        id: u8,
        landing: relayer_svm::Landing,
        client: impl FnOnce(&Arc<LocalBank>) -> Arc<dyn SvmClient>,
    ) -> Self {
        let (bank, key, wallet, dir, store) = funded().await;
        let relayer = key.pubkey();
        let mut config = config(&bank, Duration::from_millis(50));
        config.landing = landing;
        let (chain, rx, cancel, tasks) = started_with(client(&bank), &store, key, config);
        let merchant = Pubkey::new_unique();
        let commitment = commitment(&bank, &wallet, &merchant, id);
        pay(&bank, &wallet, &commitment, 3_000_000).await;
        let work = Work {
            session_id: SessionId::from_bytes([id; 16]),
            chain_id: SOLANA_CHAIN_ID,
            commitment,
            action: Action::Settle { token: ChainAddress::Solana(bank.usdc().to_bytes()) },
        };
        Self { bank, relayer, merchant, work, chain, rx, cancel, tasks, _dir: dir }
    }

    /// Over the bank itself, with the default landing settings.
    async fn plain(id: u8) -> Self {
        Self::new(id, relayer_svm::Landing::default(), |bank| Arc::clone(bank) as Arc<dyn SvmClient>).await
    }

    /// Submits the settlement; its first report.
    async fn settle(&mut self) -> WorkResult {
        self.chain.submit(self.work.clone()).await.unwrap();
        self.rx.recv().await.unwrap().result
    }

    /// The distinct transactions the relayer sent (see [`sent_by`]).
    fn sent(&self) -> Vec<(solana_sdk::signature::Signature, usize)> {
        sent_by(&self.bank, &self.relayer)
    }

    async fn merchant_paid(&self) -> u64 {
        self.bank.usdc_balance(&self.merchant).await.unwrap()
    }

    /// Waits until the bank's block height passes that of a blockhash fetched now.
    async fn past_a_blockhash(&self) {
        let valid_until = self.bank.latest_blockhash().await.unwrap().1;
        until("the blockhash's end", async || self.bank.block_height().await.unwrap() > valid_until).await;
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.bank.stop();
    }
}

/// A pool whose node answering statuses lags behind the one answering the finalized height: the
/// transaction landed, the lagging node does not know it, and the height is past its last valid block. It
/// is not given up as never to land (a second transaction would be built, and the first one's cost lost):
/// it stays pending until a node that has seen that far answers, and is then counted landed, once.
#[tokio::test]
async fn a_status_from_a_node_behind_the_finalized_height_never_gets_a_landed_transaction_rebuilt() {
    let observed: std::sync::OnceLock<Arc<Observed>> = std::sync::OnceLock::new();
    let mut scene = Scene::new(9, relayer_svm::Landing::default(), |bank| {
        let client = Observed::new(bank, true);
        client.stale_statuses.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = observed.set(Arc::clone(&client));
        client as Arc<dyn SvmClient>
    })
    .await;
    let first = scene.settle().await;
    assert!(matches!(first, WorkResult::Sent { .. }), "{first:?}");
    until("the merchant's USDC", async || scene.merchant_paid().await == 3_000_000).await;
    scene.past_a_blockhash().await;
    // Reconciled several times (every 100 ms) with only the lagging node answering statuses.
    tokio::time::sleep(Duration::from_millis(800)).await;
    observed.get().unwrap().stale_statuses.store(false, std::sync::atomic::Ordering::SeqCst);
    let report = scene.rx.recv().await.unwrap().result;
    assert!(matches!(report, WorkResult::Landed { .. }), "landed, not given up as never to land: {report:?}");
    assert_eq!(scene.sent().len(), 1, "one transaction");
    assert!(scene.chain.stats().fees_paid.is_some_and(|f| f > 0), "its cost counted");
    scene.stop().await;
}

/// Behind a backend whose status answers carry no slot (0), a transaction lost until its blockhash
/// expired is still rebuilt (the height alone decides there), not left pending for good.
#[tokio::test]
async fn a_lost_transaction_is_rebuilt_behind_a_backend_that_does_not_say_its_slot() {
    let mut scene = Scene::new(10, relayer_svm::Landing::default(), |bank| {
        let client = Observed::new(bank, true);
        client.zero_context.store(true, std::sync::atomic::Ordering::SeqCst);
        client as Arc<dyn SvmClient>
    })
    .await;
    scene.bank.fault_next(relayer_svm::bank::SendFault::Lose, 1);
    assert!(matches!(scene.settle().await, WorkResult::Sent { .. }));
    let retry = tokio::time::timeout(Duration::from_secs(30), scene.rx.recv())
        .await
        .expect("rebuilt, not pending for good")
        .unwrap()
        .result;
    assert!(matches!(retry, WorkResult::NotYet(relayer_chain::Refusal::NeverLanded)), "{retry:?}");
    assert!(matches!(scene.settle().await, WorkResult::Sent { .. }));
    until("the merchant's USDC", async || scene.merchant_paid().await == 3_000_000).await;
    scene.stop().await;
}

/// A settlement whose transaction is lost on the way (every copy of it) is sent again as the same bytes
/// while its blockhash is valid, and rebuilt exactly once when the cluster's block height passes its
/// last valid one: the rebuilt one lands, and the merchant is paid once.
#[tokio::test]
async fn a_transaction_lost_until_its_blockhash_expires_is_rebuilt_once_and_lands() {
    let mut scene = Scene::plain(5).await;
    scene.bank.fault_next(relayer_svm::bank::SendFault::Lose, 1);
    let first = scene.settle().await;
    assert!(matches!(first, WorkResult::Sent { .. }), "{first:?}");
    // The engine's part: the chain says the transaction can never land; the work is submitted again.
    let retry = scene.rx.recv().await.unwrap().result;
    assert!(matches!(retry, WorkResult::NotYet(relayer_chain::Refusal::NeverLanded)), "{retry:?}");
    let second = scene.settle().await;
    assert!(matches!(second, WorkResult::Sent { .. }) && second != first, "{second:?} after {first:?}");
    until("the merchant's USDC", async || scene.merchant_paid().await == 3_000_000).await;

    let sent = scene.sent();
    assert_eq!(sent.len(), 2, "one lost transaction and one rebuilt: {sent:?}");
    assert!(sent[0].1 >= 2, "the lost one was sent again, as the same bytes, while it could land: {sent:?}");
    let statuses = scene.bank.statuses(vec![sent[0].0, sent[1].0]).await.unwrap();
    assert!(statuses[0].is_none() && statuses[1].as_ref().is_some_and(|s| !s.failed), "{statuses:?}");
    // Nothing left to move, nothing more sent.
    let mut report = scene.settle().await;
    while matches!(report, WorkResult::Landed { .. }) {
        report = scene.rx.recv().await.unwrap().result;
    }
    assert!(matches!(report, WorkResult::Done(_)), "{report:?}");
    assert_eq!((scene.sent().len(), scene.merchant_paid().await), (2, 3_000_000));
    scene.stop().await;
}

/// A settlement that is merely slow to land (held on the way, its copies too, while it can still land)
/// is sent again only as the same bytes: when it lands there is one transaction, and nothing is
/// rebuilt.
#[tokio::test]
async fn a_slow_transaction_is_sent_again_as_itself_and_never_duplicated() {
    let mut scene = Scene::plain(6).await;
    scene.bank.fault_next(relayer_svm::bank::SendFault::Hold, 1);
    let first = scene.settle().await;
    assert!(matches!(first, WorkResult::Sent { .. }), "{first:?}");
    // A reconciliation found it pending and sent it again (held too), then it gets through.
    until("a copy sent again", async || scene.bank.held() >= 2).await;
    assert!(scene.bank.release_held().await >= 2);
    until("the merchant's USDC", async || scene.merchant_paid().await == 3_000_000).await;
    // Reconciliations past its last valid height find it landed: still one transaction.
    scene.past_a_blockhash().await;
    until("the landed report", async || {
        matches!(scene.rx.try_recv().map(|r| r.result), Ok(WorkResult::Landed { .. }))
    })
    .await;
    let sent = scene.sent();
    assert_eq!(sent.len(), 1, "one transaction, however often sent: {sent:?}");
    assert!(sent[0].1 >= 2, "{sent:?}");
    assert_eq!(scene.merchant_paid().await, 3_000_000);
    scene.stop().await;
}

/// A transaction is priced from the cluster's recent fees (the configured percentile, capped by the
/// ceiling) and limited to what its simulation used plus the margin; what it cost is counted once it
/// landed, and the fee payer's SOL is shown with its floor.
#[tokio::test]
async fn priority_fee_and_compute_limit_follow_the_cluster_and_what_was_paid_is_counted() {
    let landing = relayer_svm::Landing {
        fee_percentile: 75,
        max_micro_lamports: 6_000,
        min_lamports: 2_000_000_000,
        ..relayer_svm::Landing::default()
    };
    let observed: std::sync::OnceLock<Arc<Observed>> = std::sync::OnceLock::new();
    let mut scene = Scene::new(7, landing, |bank| {
        // 0, 100, ..., 10,000 micro-lamports in 101 recent slots: the 75th percentile is 7,500.
        bank.set_priority_fees((0..=100).map(|i| i * 100).collect());
        let client = Observed::new(bank, true);
        let _ = observed.set(Arc::clone(&client));
        client as Arc<dyn SvmClient>
    })
    .await;
    until("the fee payer's balance", async || scene.chain.stats().account[0].is_some_and(|g| g.amount > 0))
        .await;
    let gauge = scene.chain.stats().account[0].unwrap();
    assert_eq!(
        (gauge.resource, gauge.amount, gauge.floor),
        ("sol_lamports", scene.bank.lamports(&scene.relayer).await.unwrap(), 2_000_000_000),
        "1 SOL, below the 2 SOL floor: /readyz would fail"
    );
    assert!(matches!(scene.settle().await, WorkResult::Sent { .. }));
    let landed = scene.rx.recv().await.unwrap().result;
    let WorkResult::Landed { cost, .. } = landed else { panic!("{landed:?}") };
    let sent = scene.sent();
    assert_eq!(sent.len(), 1);
    let raw = &scene.bank.sent().into_iter().find(|(s, _)| *s == sent[0].0).unwrap().1;
    let budget = tx::budget_of(raw).unwrap();
    assert_eq!(budget.micro_lamports, 6_000, "7,500 capped at the ceiling");
    assert!(
        (10_000..200_000).contains(&budget.units),
        "the simulation's units and a fifth more, not the 1,400,000 it was simulated with: {budget:?}"
    );
    let fee = budget.fee();
    assert_eq!(fee.priority, (u64::from(budget.units) * 6_000).div_ceil(1_000_000));
    assert_eq!((cost.amount, cost.decimals, cost.symbol.as_str()), (fee.base + fee.priority, 9, "SOL"));
    let stats = scene.chain.stats();
    assert_eq!(
        (stats.fees_paid, stats.priority_fees_paid),
        (Some(fee.base + fee.priority), Some(fee.priority))
    );
    // The price is asked for the accounts the settlement writes, but not the fee payer (anyone can
    // write-lock it at a high price, which would raise the price of every transaction at once).
    let asked = observed.get().unwrap().fee_accounts.lock().unwrap().clone();
    assert!(
        !asked.is_empty() && asked.iter().all(|a| !a.contains(&scene.relayer) && !a.is_empty()),
        "{asked:?}"
    );

    // The node stops answering its fees: the last price is paid, the settlement is not held up.
    observed.get().unwrap().fees_fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let wallet = Keypair::new();
    scene.bank.fund(&wallet.pubkey(), 1_000_000_000, 2_000_000).await.unwrap();
    pay(&scene.bank, &wallet, &scene.work.commitment, 2_000_000).await;
    let mut report = scene.settle().await;
    while matches!(report, WorkResult::Landed { .. }) {
        report = scene.rx.recv().await.unwrap().result;
    }
    assert!(matches!(report, WorkResult::Sent { .. }), "{report:?}");
    until("the second delivery", async || scene.merchant_paid().await == 5_000_000).await;
    let sent = scene.sent();
    let raw = &scene.bank.sent().into_iter().find(|(s, _)| *s == sent[1].0).unwrap().1;
    assert_eq!(tx::budget_of(raw).unwrap().micro_lamports, 6_000, "the last price");
    scene.stop().await;
}

/// The bank seen through a cluster that counts what it is asked, and that may have confirmed, not yet
/// finalized, every transaction (while `finalized` is false).
struct Observed {
    bank: Arc<LocalBank>,
    finalized: std::sync::atomic::AtomicBool,
    /// Watcher polls (each starts with `getSlot`).
    polls: std::sync::atomic::AtomicU64,
    /// Addresses whose history was asked for, in order.
    histories: std::sync::Mutex<Vec<Pubkey>>,
    /// `getTransaction` calls.
    transactions: std::sync::atomic::AtomicU64,
    /// Accounts read, each with how often.
    reads: std::sync::Mutex<std::collections::HashMap<Pubkey, u64>>,
    /// The next history reads of this account fail (this many: a watcher read tries a page 3 times).
    fail_history_of: std::sync::Mutex<Option<(Pubkey, u32)>>,
    /// `getRecentPrioritizationFees` fails while set.
    fees_fail: std::sync::atomic::AtomicBool,
    /// The next answers about this account's history come from a node whose ledger starts at this slot
    /// (pruned: it answers only what it holds, without an error).
    pruned_below: std::sync::Mutex<Option<(Pubkey, u64, u32)>>,
    /// While set, status answers carry no slot (0: some archival proxies answer so).
    zero_context: std::sync::atomic::AtomicBool,
    /// While set, statuses come from a node still at slot 1 (of a pool whose others answer the rest).
    stale_statuses: std::sync::atomic::AtomicBool,
    /// The accounts each `getRecentPrioritizationFees` named.
    fee_accounts: std::sync::Mutex<Vec<Vec<Pubkey>>>,
    /// The next non-empty history reads of this account come back empty (a node that lags).
    lag_history_of: std::sync::Mutex<Option<(Pubkey, u32)>>,
    /// Every history read: the address and the slot its node had to have reached.
    asked: std::sync::Mutex<Vec<(Pubkey, Option<u64>)>>,
}

impl Observed {
    fn new(bank: &Arc<LocalBank>, finalized: bool) -> Arc<Self> {
        Arc::new(Self {
            bank: Arc::clone(bank),
            finalized: finalized.into(),
            polls: 0.into(),
            histories: std::sync::Mutex::default(),
            transactions: 0.into(),
            reads: std::sync::Mutex::default(),
            fail_history_of: std::sync::Mutex::default(),
            fees_fail: false.into(),
            fee_accounts: std::sync::Mutex::default(),
            stale_statuses: false.into(),
            zero_context: false.into(),
            pruned_below: std::sync::Mutex::default(),
            lag_history_of: std::sync::Mutex::default(),
            asked: std::sync::Mutex::default(),
        })
    }

    fn histories(&self) -> Vec<Pubkey> {
        self.histories.lock().unwrap().clone()
    }

    fn reads_of(&self, account: &Pubkey) -> u64 {
        self.reads.lock().unwrap().get(account).copied().unwrap_or(0)
    }
}

type Answer<'a, T> = BoxFuture<'a, Result<T, relayer_svm::client::ClientError>>;

impl SvmClient for Observed {
    fn latest_blockhash(&self) -> Answer<'_, (solana_sdk::hash::Hash, u64)> {
        self.bank.latest_blockhash()
    }
    fn block_height(&self) -> Answer<'_, u64> {
        self.bank.block_height()
    }
    fn slot(&self) -> Answer<'_, u64> {
        self.polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.bank.slot()
    }
    fn send(
        &self,
        raw: Vec<u8>,
    ) -> BoxFuture<'_, Result<solana_sdk::signature::Signature, relayer_svm::client::SendError>> {
        self.bank.send(raw)
    }
    fn simulate(&self, raw: Vec<u8>) -> Answer<'_, relayer_svm::client::Simulation> {
        self.bank.simulate(raw)
    }
    fn statuses(
        &self,
        signatures: Vec<solana_sdk::signature::Signature>,
    ) -> Answer<'_, Vec<Option<relayer_svm::client::TxStatus>>> {
        Box::pin(async move {
            let mut list = self.bank.statuses(signatures).await?;
            if !self.finalized.load(std::sync::atomic::Ordering::SeqCst) {
                for status in list.iter_mut().flatten() {
                    status.confirmation = relayer_svm::client::Confirmation::Confirmed;
                }
            }
            Ok(list)
        })
    }
    fn statuses_at(
        &self,
        signatures: Vec<solana_sdk::signature::Signature>,
    ) -> Answer<'_, relayer_svm::client::StatusesAt> {
        Box::pin(async move {
            if self.stale_statuses.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok((1, vec![None; signatures.len()]));
            }
            let slot = if self.zero_context.load(std::sync::atomic::Ordering::SeqCst) {
                0
            } else {
                self.bank.slot().await?
            };
            Ok((slot, self.statuses(signatures).await?))
        })
    }
    fn finalized_position(&self) -> Answer<'_, (u64, u64)> {
        Box::pin(async move { Ok((self.bank.slot().await?, self.bank.block_height().await?)) })
    }
    fn accounts(&self, keys: Vec<Pubkey>) -> Answer<'_, Vec<Option<relayer_svm::client::AccountView>>> {
        let mut reads = self.reads.lock().unwrap();
        for key in &keys {
            *reads.entry(*key).or_default() += 1;
        }
        self.bank.accounts(keys)
    }
    fn signatures_for(
        &self,
        address: Pubkey,
        page: relayer_svm::client::Page,
    ) -> Answer<'_, Vec<relayer_svm::client::SignatureInfo>> {
        self.histories.lock().unwrap().push(address);
        let mut fail = self.fail_history_of.lock().unwrap();
        if let Some((at, left)) = fail.as_mut()
            && *at == address
        {
            *left -= 1;
            if *left == 0 {
                *fail = None;
            }
            return Box::pin(async {
                Err(relayer_svm::client::ClientError::new("getSignaturesForAddress: timed out"))
            });
        }
        drop(fail);
        self.asked.lock().unwrap().push((address, page.min_slot));
        Box::pin(async move {
            let mut found = self.bank.signatures_for(address, page).await?;
            {
                let mut pruned = self.pruned_below.lock().unwrap();
                if let Some((at, first, left)) = pruned.as_mut()
                    && *at == address
                {
                    found.retain(|s| s.slot >= *first);
                    *left -= 1;
                    if *left == 0 {
                        *pruned = None;
                    }
                }
            }
            let mut lag = self.lag_history_of.lock().unwrap();
            if let Some((at, left)) = lag.as_mut()
                && *at == address
                && !found.is_empty()
            {
                *left -= 1;
                if *left == 0 {
                    *lag = None;
                }
                // A node that has not reached the newest of them: it refuses a read that names a slot it
                // has not reached (`minContextSlot`), and answers any other as if they were not there.
                if page.min_slot.is_some_and(|min| min >= found[0].slot) {
                    return Err(relayer_svm::client::ClientError::new(
                        "-32016 Minimum context slot has not been reached",
                    ));
                }
                return Ok(vec![]);
            }
            Ok(found)
        })
    }
    fn transaction(
        &self,
        signature: solana_sdk::signature::Signature,
    ) -> Answer<'_, Option<relayer_svm::client::TxView>> {
        self.transactions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.bank.transaction(signature)
    }
    fn recent_priority_fees(&self, accounts: Vec<Pubkey>) -> Answer<'_, Vec<u64>> {
        self.fee_accounts.lock().unwrap().push(accounts.clone());
        if self.fees_fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(async {
                Err(relayer_svm::client::ClientError::new("getRecentPrioritizationFees: 503"))
            });
        }
        self.bank.recent_priority_fees(accounts)
    }
    fn balance(&self, account: Pubkey) -> Answer<'_, u64> {
        self.bank.balance(account)
    }
}

/// At `finalized` commitment (the default), a transaction the cluster has only confirmed is still
/// pending: nothing is reported landed or counted as paid, nothing is rebuilt even past its last valid
/// height (it is in a block), until the cluster finalizes it.
#[tokio::test]
async fn a_confirmed_transaction_counts_as_landed_only_at_the_configured_commitment() {
    let wrapped: std::sync::OnceLock<Arc<Observed>> = std::sync::OnceLock::new();
    let mut scene = Scene::new(8, relayer_svm::Landing::default(), |bank| {
        let client = Observed::new(bank, false);
        let _ = wrapped.set(Arc::clone(&client));
        client as Arc<dyn SvmClient>
    })
    .await;
    assert!(matches!(scene.settle().await, WorkResult::Sent { .. }));
    assert_eq!(scene.merchant_paid().await, 3_000_000);
    scene.past_a_blockhash().await;
    scene.past_a_blockhash().await;
    assert!(scene.rx.try_recv().is_err(), "not reported while only confirmed");
    assert_eq!(scene.chain.stats().fees_paid, None);
    wrapped.get().unwrap().finalized.store(true, std::sync::atomic::Ordering::SeqCst);
    let landed = scene.rx.recv().await.unwrap().result;
    assert!(matches!(landed, WorkResult::Landed { .. }), "{landed:?}");
    assert!(scene.chain.stats().fees_paid.is_some_and(|f| f > 0));
    assert_eq!(scene.sent().len(), 1);
    scene.stop().await;
}

/// Sessions `ids` paid from one wallet to one merchant, their vaults watched by a sink that records what
/// the watcher applies, over one store that outlives the runs (restarts).
struct Watched {
    bank: Arc<LocalBank>,
    key: Keypair,
    wallet: Keypair,
    merchant: Pubkey,
    store: Arc<dyn ChainStore>,
    commitments: Vec<Commitment>,
    vaults: Vec<Pubkey>,
    sink: Arc<Watching>,
    _dir: tempfile::TempDir,
}

impl Watched {
    /// The sessions, and what the watcher applies to them.
    async fn new(ids: std::ops::Range<u8>) -> (Self, mpsc::UnboundedReceiver<ChainEvent>) {
        let (bank, key, wallet, dir, store) = funded().await;
        let merchant = Pubkey::new_unique();
        let commitments: Vec<Commitment> =
            ids.clone().map(|id| commitment(&bank, &wallet, &merchant, id)).collect();
        let vaults: Vec<Pubkey> = commitments.iter().map(|c| tx::vault_token(c, &bank.usdc())).collect();
        let (events_tx, events) = mpsc::unbounded_channel();
        let sink = Arc::new(Watching {
            reports: mpsc::unbounded_channel().0,
            receivers: vaults
                .iter()
                .zip(ids)
                .map(|(v, id)| (ChainAddress::Solana(v.to_bytes()), SessionId::from_bytes([id; 16])))
                .collect(),
            finished: std::sync::Mutex::default(),
            events: events_tx,
        });
        (Self { bank, key, wallet, merchant, store, commitments, vaults, sink, _dir: dir }, events)
    }

    /// The newest program transaction the program mark names, if there is a mark.
    fn program_newest(&self) -> Option<String> {
        self.store.watch_marks(SOLANA_CHAIN_ID).unwrap().into_iter().find(|(k, _)| k == b"program").map(
            |(_, v)| {
                serde_json::from_slice::<serde_json::Value>(&v).unwrap()["newest"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            },
        )
    }

    /// A relayer process over `client` (polling every 50 ms).
    fn run(&self, client: Arc<Observed>) -> Running {
        let chain = Arc::new(SvmChain::new(
            config(&self.bank, Duration::from_millis(50)),
            client as Arc<dyn SvmClient>,
            Arc::clone(&self.store),
            self.key.insecure_clone(),
        ));
        let (cancel, tasks) =
            (tokio_util::sync::CancellationToken::new(), tokio_util::task::TaskTracker::new());
        Arc::clone(&chain).start(Arc::clone(&self.sink) as Arc<dyn EventSink>, cancel.clone(), &tasks);
        Running { chain, cancel, tasks }
    }
}

/// Pays `commitment`'s vault 3 USDC and settles it in the same transaction (the vault's token account is
/// created and closed: no balance to see); the transaction's signature.
async fn pay_and_settle(
    bank: &LocalBank,
    wallet: &Keypair,
    commitment: &Commitment,
) -> solana_sdk::signature::Signature {
    let mut ixs =
        tx::payment_instructions(&wallet.pubkey(), &tx::vault(commitment), &bank.usdc(), 6, 3_000_000)
            .unwrap();
    ixs.push(tx::settle(wallet.pubkey(), &tx::params(commitment), bank.usdc()));
    let (signature, raw) = tx::signed(&ixs, wallet, bank.latest_blockhash().await.unwrap().0);
    bank.send(raw).await.unwrap();
    signature
}

/// The next two events: a deposit at `vault`, then its settlement.
async fn deposit_then_settlement(events: &mut mpsc::UnboundedReceiver<ChainEvent>, vault: &Pubkey) {
    let mut kinds = vec![];
    while kinds.len() < 2 {
        let event = next_event(events).await;
        assert_eq!(event.receiver, ChainAddress::Solana(vault.to_bytes()), "{event:?}");
        kinds.push(matches!(event.kind, EventKind::Deposit(_)));
    }
    assert_eq!(kinds, [true, false], "the deposit, then its settlement");
}

/// A restarted watcher reads only what changed while it was down (its marks say where it got to): no
/// finished vault's history again, and a deposit made while it was down is still found. The empty vault
/// of a finished session is not read every poll but on the sweeps, where a late deposit into it is
/// found.
#[tokio::test]
async fn a_restart_reads_only_what_changed_and_finished_empty_vaults_are_read_on_the_sweeps() {
    let (w, mut events) = Watched::new(20..23).await;
    let Watched { bank, wallet, commitments, vaults, sink, .. } = &w;
    let run = |client: Arc<Observed>| w.run(client);
    // Two sessions paid and settled; the first run reads every history once.
    let first = Observed::new(bank, true);
    let running = run(Arc::clone(&first));
    for (commitment, id) in commitments.iter().zip(20u8..).take(2) {
        pay(bank, wallet, commitment, 3_000_000).await;
        let work = Work {
            session_id: SessionId::from_bytes([id; 16]),
            chain_id: SOLANA_CHAIN_ID,
            commitment: commitment.clone(),
            action: Action::Settle { token: ChainAddress::Solana(bank.usdc().to_bytes()) },
        };
        until("the deposit", async || {
            matches!(events.try_recv(), Ok(ChainEvent { kind: EventKind::Deposit(_), .. }))
        })
        .await;
        running.chain.submit(work).await.unwrap();
        until("the settlement", async || {
            matches!(events.try_recv(), Ok(ChainEvent { kind: EventKind::Settled(_), .. }))
        })
        .await;
    }
    // A whole poll after the last settlement was read, so its marks are written (a run stopped within a
    // poll reads that poll's accounts again at the next start, which is correct but not what is tested).
    let polls = first.polls.load(std::sync::atomic::Ordering::SeqCst);
    until("two more polls", async || first.polls.load(std::sync::atomic::Ordering::SeqCst) >= polls + 2)
        .await;
    running.stop().await;
    assert!(first.histories().contains(&vaults[0]), "the first run read the vault's history");

    // While it is down: the third session is paid; the first two are finished.
    pay(bank, wallet, &commitments[2], 3_000_000).await;
    *sink.finished.lock().unwrap() = vec![SessionId::from_bytes([20; 16]), SessionId::from_bytes([21; 16])];
    let second = Observed::new(bank, true);
    let running = run(Arc::clone(&second));
    running.chain.caught_up().await;
    let ChainEvent { receiver, kind: EventKind::Deposit(deposit), .. } = next_event(&mut events).await else {
        panic!("the deposit made while the relayer was down")
    };
    assert_eq!(
        (receiver, deposit.amount),
        (ChainAddress::Solana(vaults[2].to_bytes()), U256::from(3_000_000u64))
    );
    let histories = second.histories();
    assert!(
        !histories.contains(&vaults[0]) && !histories.contains(&vaults[1]),
        "no finished vault's history is read again: {vaults:?} {histories:?}"
    );
    assert_eq!(second.transactions.load(std::sync::atomic::Ordering::SeqCst), 1, "only the new deposit's");
    assert_eq!(
        second.reads_of(&vaults[0]),
        0,
        "a finished, empty vault is not read at the start: {:?} in {} polls",
        vaults.iter().map(|v| second.reads_of(v)).collect::<Vec<u64>>(),
        second.polls.load(std::sync::atomic::Ordering::SeqCst)
    );

    // A late deposit into a finished session's vault is found on a sweep.
    pay(bank, wallet, &commitments[0], 1_000_000).await;
    let ChainEvent { receiver, kind: EventKind::Deposit(late), .. } =
        tokio::time::timeout(Duration::from_secs(30), events.recv()).await.unwrap().unwrap()
    else {
        panic!("the late deposit")
    };
    assert_eq!(
        (receiver, late.amount),
        (ChainAddress::Solana(vaults[0].to_bytes()), U256::from(1_000_000u64))
    );
    let polls = second.polls.load(std::sync::atomic::Ordering::SeqCst);
    let reads = second.reads_of(&vaults[0]);
    assert!(polls >= 60 && reads * 20 <= polls, "read {reads} times in {polls} polls: on the sweeps only");
    running.stop().await;
    bank.stop();
}

/// A first run whose read of one vault failed still comes to mark where the program's history stands
/// (once nothing is left to read); and a restart that finds account marks but no readable program mark
/// reads every marked account again, so a vault paid and emptied in one transaction while the relayer
/// was down (its balance unchanged) is still found.
#[tokio::test]
async fn a_restart_without_a_program_mark_reads_every_marked_account_again() {
    let (w, mut events) = Watched::new(30..32).await;
    let Watched { bank, wallet, store, commitments, vaults, merchant, .. } = &w;
    let run = |client: Arc<Observed>| w.run(client);
    let program_mark = |store: &Arc<dyn ChainStore>| {
        store.watch_marks(SOLANA_CHAIN_ID).unwrap().into_iter().find(|(k, _)| k == b"program").map(|(_, v)| v)
    };
    pay(bank, wallet, &commitments[0], 1_000_000).await;
    let first = Observed::new(bank, true);
    // The whole first read of the vault fails (its three tries), so the first poll leaves it to read.
    *first.fail_history_of.lock().unwrap() = Some((vaults[0], 3));
    let running = run(Arc::clone(&first));
    let ChainEvent { kind: EventKind::Deposit(_), .. } = next_event(&mut events).await else {
        panic!("the deposit")
    };
    until("the program mark", async || program_mark(store).is_some()).await;
    running.stop().await;

    // While it is down: the program mark becomes unreadable, and the second vault is paid and settled in
    // one transaction (its token account created and closed: no balance to see).
    store.put_watch_marks(SOLANA_CHAIN_ID, &[(b"program".to_vec(), b"not json".to_vec())]).unwrap();
    pay_and_settle(bank, wallet, &commitments[1]).await;
    assert_eq!(bank.usdc_balance(merchant).await.unwrap(), 3_000_000);

    let running = run(Observed::new(bank, true));
    deposit_then_settlement(&mut events, &vaults[1]).await;
    running.stop().await;
    bank.stop();
}

/// A vault paid and emptied in one transaction shows no balance change; only the program's history says
/// something left it. A node that lags answers that vault's history without the transaction: the read is
/// not believed (nothing applied, read again), so the payment and its settlement are still reported.
#[tokio::test]
async fn a_vault_history_from_a_lagging_node_is_read_again_until_it_shows_what_the_program_moved() {
    let (w, mut events) = Watched::new(40..41).await;
    let observed = Observed::new(&w.bank, true);
    let running = w.run(Arc::clone(&observed));
    running.chain.caught_up().await;
    // Every history of the vault comes back empty a few times (past one read's three tries).
    *observed.lag_history_of.lock().unwrap() = Some((w.vaults[0], 5));
    pay_and_settle(&w.bank, &w.wallet, &w.commitments[0]).await;
    deposit_then_settlement(&mut events, &w.vaults[0]).await;
    assert!(observed.lag_history_of.lock().unwrap().is_none(), "the lagging answers were all given");
    running.stop().await;
    w.bank.stop();
}

/// A refund of another mint out of a vault does not touch the vault's watched token account, so that
/// account's history never shows it: the watcher reads the account (the program named its vault) but does
/// not wait for the refund to appear there, and the program mark moves past it (else the mark would stay
/// behind for good and every restart would read the program's history again from there).
#[tokio::test]
async fn a_refund_of_another_mint_does_not_hold_the_program_mark_back() {
    use anchor_spl::{associated_token, token::spl_token};
    let (w, _events) = Watched::new(50..51).await;
    let running = w.run(Observed::new(&w.bank, true));
    running.chain.caught_up().await;
    // Another mint, created by the payer, some of it sent into the session's vault.
    let junk = Keypair::new();
    let payer = w.wallet.pubkey();
    let vault = tx::vault(&w.commitments[0]);
    let rent = 1_461_600; // an SPL mint account's rent exemption (82 bytes)
    let create = anchor_lang::solana_program::system_instruction::create_account(
        &payer,
        &junk.pubkey(),
        rent,
        82,
        &spl_token::ID,
    );
    let init =
        spl_token::instruction::initialize_mint2(&spl_token::ID, &junk.pubkey(), &payer, None, 6).unwrap();
    let vault_junk = associated_token::get_associated_token_address(&vault, &junk.pubkey());
    let ata = associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &payer,
        &vault,
        &junk.pubkey(),
        &spl_token::ID,
    );
    let mint =
        spl_token::instruction::mint_to(&spl_token::ID, &junk.pubkey(), &vault_junk, &payer, &[], 1_000)
            .unwrap();
    let blockhash = w.bank.latest_blockhash().await.unwrap().0;
    let setup = solana_sdk::transaction::Transaction::new_signed_with_payer(
        &[create, init, ata, mint],
        Some(&payer),
        &[&w.wallet, &junk],
        blockhash,
    );
    w.bank.send(tx::serialize(&setup)).await.unwrap();
    // Refunded at once (a mint the session can never use), by anyone.
    let refund = tx::refund(payer, &tx::params(&w.commitments[0]), junk.pubkey());
    let (signature, raw) = tx::signed(&[refund], &w.wallet, w.bank.latest_blockhash().await.unwrap().0);
    w.bank.send(raw).await.unwrap();
    until("the program mark at the refund", async || w.program_newest() == Some(signature.to_string())).await;
    running.stop().await;
    w.bank.stop();
}

/// A vault paid and emptied in one transaction before the relayer's first start has no balance to see,
/// and the program's history is read only after the first poll's note of it: the vault's own history is
/// the only trace. It is read from a node that reached the noted slot (a lagging node refuses), so the
/// payment and its settlement are reported.
#[tokio::test]
async fn on_a_first_start_an_accounts_history_comes_from_a_node_that_reached_the_noted_slot() {
    let (w, mut events) = Watched::new(60..61).await;
    let signature = pay_and_settle(&w.bank, &w.wallet, &w.commitments[0]).await;
    let slot = w.bank.statuses(vec![signature]).await.unwrap()[0].as_ref().unwrap().slot;
    let observed = Observed::new(&w.bank, true);
    *observed.lag_history_of.lock().unwrap() = Some((w.vaults[0], 2));
    let running = w.run(Arc::clone(&observed));
    deposit_then_settlement(&mut events, &w.vaults[0]).await;
    let asked = observed.asked.lock().unwrap().clone();
    let first = asked.iter().find(|(a, _)| *a == w.vaults[0]).unwrap();
    assert!(first.1.is_some_and(|min| min >= slot), "the first read names the noted slot: {first:?}");
    running.stop().await;
    w.bank.stop();
}

/// A node whose ledger was pruned answers a history cut short, without an error (`minContextSlot` does not
/// catch it: it has reached the slot, it lacks the past). While the relayer was down, a vault was paid and
/// emptied in one transaction (no balance to see), and a later program transaction moved another: a read
/// of the program's history from that node shows only the later one. It is not believed (it does not join
/// the last transaction applied), so once a node holding the whole ledger answers, both are reported.
#[tokio::test]
async fn a_history_cut_short_by_a_pruned_node_is_not_believed() {
    let (w, mut events) = Watched::new(80..83).await;
    // The first run applies a program transaction: the program mark names it.
    let first = pay_and_settle(&w.bank, &w.wallet, &w.commitments[0]).await;
    let running = w.run(Observed::new(&w.bank, true));
    deposit_then_settlement(&mut events, &w.vaults[0]).await;
    until("the program mark at the first transaction", async || {
        w.program_newest() == Some(first.to_string())
    })
    .await;
    running.stop().await;

    // While it is down: the gap (a vault paid and emptied at once), then a later program transaction.
    let gap = pay_and_settle(&w.bank, &w.wallet, &w.commitments[1]).await;
    let gap_slot = w.bank.statuses(vec![gap]).await.unwrap()[0].as_ref().unwrap().slot;
    pay_and_settle(&w.bank, &w.wallet, &w.commitments[2]).await;
    let observed = Observed::new(&w.bank, true);
    *observed.pruned_below.lock().unwrap() = Some((deposit_vault::ID, gap_slot + 1, 6));
    let running = w.run(Arc::clone(&observed));
    let mut settled = std::collections::BTreeSet::new();
    while settled.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("both vaults' settlements, the one in the gap included")
            .unwrap();
        if matches!(event.kind, EventKind::Settled(_)) {
            settled.insert(event.receiver);
        }
    }
    assert_eq!(
        settled,
        w.vaults[1..].iter().map(|v| ChainAddress::Solana(v.to_bytes())).collect(),
        "the vault in the gap and the later one"
    );
    assert!(observed.pruned_below.lock().unwrap().is_none(), "the pruned node's answers were all given");
    running.stop().await;
    w.bank.stop();
}
