//! The devnet's Solana: the in-process bank (solana-program-test with the deposit-vault program and the
//! real SPL programs) served over JSON-RPC, so the relayer reaches it exactly as it reaches a real
//! cluster ([`relayer_svm::RpcClient`]) and `relayer devnet pay-solana` can sign and send from another
//! process.

use std::sync::Arc;

use axum::{Json, Router, extract::State, routing::post};
use base64::Engine as _;
use relayer_svm::{
    LocalBank, RpcClient, SvmClient,
    client::{Page, SIGNATURES_PER_PAGE},
    rpc::encode,
    tx,
};
use serde_json::{Value, json};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};
use tokio_util::sync::CancellationToken;

/// The devnet's Solana payer wallet (a fixed, public test key: never use it elsewhere).
pub fn payer_keypair() -> Keypair {
    Keypair::new_from_array([0x5a; 32])
}

/// The key that delivers the EVM chains' bridge messages on Solana (the attester's forwarder; public).
pub fn forwarder_keypair() -> Keypair {
    Keypair::new_from_array([0xf0; 32])
}

/// USDC the devnet payer starts with (base units).
pub const PAYER_USDC: u64 = 1_000_000_000_000;

/// A running devnet Solana.
pub struct SolanaDevnet {
    /// The bank.
    pub bank: Arc<LocalBank>,
    /// Its JSON-RPC URL.
    pub rpc_url: String,
    stop: CancellationToken,
}

impl SolanaDevnet {
    /// Starts the bank, funds `relayer` (fees, recipients' token accounts) and the devnet payer, and
    /// serves JSON-RPC on `port` (0: any free port).
    pub async fn start(port: u16, relayer: &Pubkey) -> eyre::Result<Self> {
        let bank = LocalBank::start(
            crate::multichain::attester_address()?,
            crate::multichain::messenger_address()?.into_array(),
        )
        .await?;
        bank.fund(relayer, 100_000_000_000, 0).await?;
        bank.fund(&payer_keypair().pubkey(), 100_000_000_000, PAYER_USDC).await?;
        bank.fund(&forwarder_keypair().pubkey(), 100_000_000_000, 0).await?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let rpc_url = format!("http://{}", listener.local_addr()?);
        let stop = CancellationToken::new();
        let app = Router::new().route("/", post(rpc)).with_state(Arc::clone(&bank));
        let shutdown = stop.clone();
        tokio::spawn(async move {
            if let Err(error) =
                axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await
            {
                tracing::error!(%error, "devnet solana rpc failed");
            }
        });
        Ok(Self { bank, rpc_url, stop })
    }

    /// Stops the server and the bank's clock.
    pub fn stop(&self) {
        self.stop.cancel();
        self.bank.stop();
    }
}

fn param_pubkeys(value: &Value) -> Vec<Pubkey> {
    value.as_array().into_iter().flatten().filter_map(|k| k.as_str()?.parse().ok()).collect()
}

/// One JSON-RPC request against the bank: the methods `RpcClient` uses.
async fn rpc(State(bank): State<Arc<LocalBank>>, Json(request): Json<Value>) -> Json<Value> {
    let id = request["id"].clone();
    let params = &request["params"];
    let raw = || base64::engine::general_purpose::STANDARD.decode(params[0].as_str().unwrap_or_default());
    let result: Result<Value, Value> = match request["method"].as_str().unwrap_or_default() {
        "getLatestBlockhash" => {
            bank.latest_blockhash().await.map(|(h, last)| encode::blockhash(&h, last)).map_err(internal)
        }
        "getBlockHeight" => bank.block_height().await.map(Value::from).map_err(internal),
        "getSlot" => bank.slot().await.map(Value::from).map_err(internal),
        "sendTransaction" => match raw() {
            Ok(raw) => {
                bank.send(raw).await.map(|s| Value::String(s.to_string())).map_err(|e| encode::send_error(&e))
            }
            Err(e) => Err(invalid(e)),
        },
        "simulateTransaction" => match raw() {
            Ok(raw) => bank.simulate(raw).await.map(|s| encode::simulation(&s)).map_err(internal),
            Err(e) => Err(invalid(e)),
        },
        "getSignatureStatuses" => {
            let signatures =
                params[0].as_array().into_iter().flatten().filter_map(|s| s.as_str()?.parse().ok()).collect();
            match (bank.slot().await, bank.statuses(signatures).await) {
                (Ok(slot), Ok(list)) => Ok(encode::statuses_at(slot, &list)),
                (Err(e), _) | (_, Err(e)) => Err(internal(e)),
            }
        }
        "getEpochInfo" => match (bank.slot().await, bank.block_height().await) {
            (Ok(slot), Ok(height)) => Ok(encode::epoch_info(slot, height)),
            (Err(e), _) | (_, Err(e)) => Err(internal(e)),
        },
        "getMultipleAccounts" => {
            bank.accounts(param_pubkeys(&params[0])).await.map(|a| encode::accounts(&a)).map_err(internal)
        }
        "getSignaturesForAddress" => match params[0].as_str().and_then(|a| a.parse().ok()) {
            Some(address) => {
                // As a node answers: at most 1,000 per call (the default too), older than `before`, down
                // to `until`.
                let signature = |name: &str| params[1][name].as_str().and_then(|s| s.parse().ok());
                let limit = params[1]["limit"].as_u64().map_or(SIGNATURES_PER_PAGE, |l| l as usize);
                let min_slot = params[1]["minContextSlot"].as_u64();
                let page = Page { before: signature("before"), until: signature("until"), limit, min_slot };
                // As a node behind the slot asked for answers (the bank's own slot is its block height).
                match (min_slot, bank.slot().await) {
                    (Some(min), Ok(slot)) if slot < min => Err(json!({
                        "code": -32016,
                        "message": "Minimum context slot has not been reached",
                        "data": { "contextSlot": slot },
                    })),
                    _ => bank
                        .signatures_for(address, page)
                        .await
                        .map(|s| encode::signatures(&s))
                        .map_err(internal),
                }
            }
            None => Err(invalid("address")),
        },
        "getTransaction" => match params[0].as_str().and_then(|s| s.parse().ok()) {
            Some(signature) => {
                bank.transaction(signature).await.map(|t| encode::transaction(t.as_ref())).map_err(internal)
            }
            None => Err(invalid("signature")),
        },
        "getRecentPrioritizationFees" => bank
            .recent_priority_fees(param_pubkeys(&params[0]))
            .await
            .map(|f| encode::priority_fees(&f))
            .map_err(internal),
        "getBalance" => match params[0].as_str().and_then(|a| a.parse().ok()) {
            Some(account) => bank.balance(account).await.map(encode::balance).map_err(internal),
            None => Err(invalid("address")),
        },
        other => Err(json!({ "code": -32601, "message": format!("method not found: {other}") })),
    };
    Json(match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(error) => json!({ "jsonrpc": "2.0", "id": id, "error": error }),
    })
}

fn internal(e: impl std::fmt::Display) -> Value {
    json!({ "code": -32603, "message": e.to_string() })
}

fn invalid(e: impl std::fmt::Display) -> Value {
    json!({ "code": -32602, "message": format!("invalid params: {e}") })
}

/// What a wallet does with a session's `solana.serializedTx`: checks that it asks only for the devnet
/// payer's signature, signs and sends it. The bank's blockhashes live about a second (program-test's
/// clock), so the wallet stamps a fresh one first; nothing else in the message changes.
pub async fn pay(rpc_url: &str, serialized_hex: &str) -> eyre::Result<solana_sdk::signature::Signature> {
    let payer = payer_keypair();
    let raw = hex::decode(serialized_hex.trim()).map_err(|e| eyre::eyre!("serializedTx is not hex: {e}"))?;
    let mut transaction = tx::deserialize(&raw).map_err(|e| eyre::eyre!(e))?;
    eyre::ensure!(
        transaction.message.header.num_required_signatures == 1
            && transaction.message.account_keys[0] == payer.pubkey(),
        "this transaction is for wallet {}, not the devnet payer {} (use walletAddress {} in paymentMethods)",
        transaction.message.account_keys[0],
        payer.pubkey(),
        payer.pubkey()
    );
    let client = RpcClient::new(rpc_url, std::time::Duration::from_secs(10))?;
    let blockhash = client.latest_blockhash().await?.0;
    transaction.message.recent_blockhash = blockhash;
    transaction.try_sign(&[&payer], blockhash)?;
    Ok(client.send(tx::serialize(&transaction)).await?)
}
