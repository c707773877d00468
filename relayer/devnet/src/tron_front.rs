//! The devnet's Tron node: a front over the devnet's EVM node that answers the parts of a Tron full
//! node's HTTP API the relayer calls, and nothing more, so the relayer reaches the devnet's Tron exactly
//! as it reaches a real one. Devnet only: no production crate depends on it.
//!
//! What it does as java-tron does: it decodes the protobuf `Transaction`, checks that its one signature
//! recovers the `owner_address`, checks TaPoS (the reference block's number bytes and hash name one of
//! the last 65,536 blocks) and the expiration (after the head block's time, at most 24 h after the
//! reference block's), answers a txid it has seen with `DUP_TRANSACTION_ERROR` and an expired one with
//! `TRANSACTION_EXPIRATION_ERROR`, runs the call, and serves blocks (head and solidified: a fixed depth
//! behind the head), transaction infos, constant calls, energy estimates and chain parameters. A
//! block's id is its number in 8 bytes followed by 24 bytes of the EVM node's hash.
//!
//! What it cannot reproduce: energy and bandwidth accounting (the EVM node charges gas in its own coin;
//! `fee_limit` is not enforced, `fee` is the gas used), the TVM's `0x41` CREATE2 derivation (the EVM
//! node computes `0xff`: the devnet's Tron config says `create2_prefix = 0xff`), and Tron's own block
//! production (blocks are the EVM node's). The call runs as the owner through the EVM node's account
//! impersonation, since the EVM node cannot verify a Tron signature itself: the front verifies it first.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use axum::{Json, Router, extract::State, routing::post};
use relayer_tron::tx::{self, Unsigned};
use serde_json::{Value, json};

/// Blocks between the head and the solidified block (java-tron: about 19, two thirds of the 27
/// witnesses; fewer here, so the devnet's tests do not wait a minute per transaction).
pub const SOLID_DEPTH: u64 = 3;

/// The energy price the front reports (`getEnergyFee`), in sun.
pub const ENERGY_FEE_SUN: u64 = 100;

/// What the front does to the next broadcast (tests' faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastFault {
    /// Nothing: answered as a node does.
    None,
    /// Runs it, then answers 502: it took effect, the caller never learns.
    LoseAnswer,
    /// Answers 502 without running it: it never reached the network.
    Drop,
    /// Takes it into the pool (a repeat is a `DUP_TRANSACTION_ERROR`) without running it until
    /// [`TronFront::release_held`], and answers 502: a transaction that can still land, whose sender
    /// never learnt it was taken.
    Hold,
}

struct Front {
    evm: DynProvider,
    /// The EVM node's URL (JSON-RPC is passed through to it).
    evm_url: String,
    http: reqwest::Client,
    /// Held while a broadcast runs and records its txid, so JSON-RPC never shows a front-run transaction
    /// under its EVM hash.
    sending: tokio::sync::RwLock<()>,
    /// Txids the front took, with the EVM transaction each became.
    seen: Mutex<HashMap<B256, B256>>,
    /// A fault, and how many more broadcasts get it.
    fault: Mutex<(BroadcastFault, u64)>,
    /// Broadcast requests received, whatever came of them.
    asked: AtomicU64,
    /// Every txid a broadcast carried, whatever came of it.
    received: Mutex<std::collections::BTreeSet<B256>>,
    /// Transactions taken into the pool and not run yet ([`BroadcastFault::Hold`]).
    held: Mutex<Vec<(B256, Unsigned)>>,
}

/// A running front; stops when dropped.
pub struct TronFront {
    /// Its base URL (what the relayer's Tron chain names as its `http_url`; its JSON-RPC, the `rpc_url`,
    /// is [`TronFront::jsonrpc_url`]).
    pub url: String,
    front: Arc<Front>,
    stop: tokio_util::sync::CancellationToken,
}

impl Drop for TronFront {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TronFront {
    /// Starts a front over the EVM node at `evm_rpc`, on a free local port. With `produce_blocks`, it
    /// also has the EVM node mine a block at that interval, as a Tron network produces blocks whether
    /// or not anyone transacts (every 3 s): for an EVM node that mines only on transactions, whose
    /// solidified block would otherwise never pass the last transaction.
    pub async fn start(evm_rpc: &str, produce_blocks: Option<Duration>) -> eyre::Result<Self> {
        let evm = ProviderBuilder::new().connect_http(evm_rpc.parse()?).erased();
        let front = Arc::new(Front {
            evm,
            evm_url: evm_rpc.to_owned(),
            http: reqwest::Client::new(),
            sending: tokio::sync::RwLock::new(()),
            seen: Mutex::default(),
            fault: Mutex::new((BroadcastFault::None, 0)),
            asked: AtomicU64::new(0),
            received: Mutex::default(),
            held: Mutex::default(),
        });
        let app = Router::new()
            .route("/wallet/getnowblock", post(head_block))
            .route("/walletsolidity/getnowblock", post(solid_block))
            .route("/wallet/gettransactioninfobyid", post(info))
            .route("/walletsolidity/gettransactioninfobyid", post(solid_info))
            .route("/wallet/triggerconstantcontract", post(constant))
            .route("/wallet/estimateenergy", post(estimate))
            .route("/wallet/getchainparameters", post(parameters))
            .route("/wallet/broadcasthex", post(broadcast))
            .route("/wallet/getaccount", post(account))
            .route("/wallet/getblockbynum", post(block_by_number))
            .route("/jsonrpc", post(jsonrpc))
            .route("/wallet/getaccountresource", post(account_resource))
            .with_state(Arc::clone(&front));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let stop = tokio_util::sync::CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(stopped.cancelled_owned()).await;
        });
        if let Some(every) = produce_blocks {
            let (evm, stopped) = (front.evm.clone(), stop.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tokio::select! {
                        () = stopped.cancelled() => return,
                        _ = tick.tick() => {
                            let _ = evm.raw_request::<_, Value>("evm_mine".into(), ()).await;
                        }
                    }
                }
            });
        }
        Ok(Self { url, front, stop })
    }

    /// The JSON-RPC endpoint (`{url}/jsonrpc`, as TronGrid serves it).
    pub fn jsonrpc_url(&self) -> String {
        format!("{}/jsonrpc", self.url)
    }

    /// What happens to the next `times` broadcasts.
    pub fn fault_broadcasts(&self, fault: BroadcastFault, times: u64) {
        *self.front.fault.lock().unwrap_or_else(PoisonError::into_inner) = (fault, times);
    }

    /// Broadcast requests received so far, whatever came of them.
    pub fn broadcasts(&self) -> u64 {
        self.front.asked.load(Ordering::SeqCst)
    }

    /// Every distinct txid broadcast to it, whatever came of each (dropped, held, duplicated, run).
    pub fn received(&self) -> Vec<B256> {
        self.front.received.lock().unwrap_or_else(PoisonError::into_inner).iter().copied().collect()
    }

    /// Runs the transactions held in the pool ([`BroadcastFault::Hold`]), as a network would include
    /// them at last.
    pub async fn release_held(&self) -> eyre::Result<()> {
        let held = std::mem::take(&mut *self.front.held.lock().unwrap_or_else(PoisonError::into_inner));
        for (txid, unsigned) in held {
            run(&self.front, txid, &unsigned).await?;
        }
        Ok(())
    }

    /// The EVM transactions the front ran, one per txid taken.
    pub fn taken(&self) -> Vec<(B256, B256)> {
        self.front.seen.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|(k, v)| (*k, *v)).collect()
    }
}

/// A java-tron style refusal: `{"result": false, "code", "message"}`, the message hex-encoded.
fn refused(code: &str, message: &str) -> Value {
    json!({ "result": false, "code": code, "message": hex::encode(message) })
}

/// `{"Error": …}`, as java-tron answers a request it could not handle.
fn error(message: impl std::fmt::Display) -> Json<Value> {
    Json(json!({ "Error": message.to_string() }))
}

/// The block `number` (or the head) as `getnowblock` answers it.
async fn block_answer(front: &Front, number: Option<u64>) -> eyre::Result<Value> {
    let tag = number.map_or(BlockNumberOrTag::Latest, BlockNumberOrTag::Number);
    let block = front.evm.get_block_by_number(tag).await?.ok_or_else(|| eyre::eyre!("no block {tag}"))?;
    let (number, hash) = (block.header.number, block.header.hash);
    Ok(json!({
        "blockID": hex::encode(block_id(number, hash)),
        "block_header": { "raw_data": { "number": number, "timestamp": block.header.timestamp * 1000 } },
    }))
}

/// A block's Tron id: its number, then 24 bytes of the EVM node's hash.
fn block_id(number: u64, hash: B256) -> B256 {
    let mut id = hash;
    id[..8].copy_from_slice(&number.to_be_bytes());
    id
}

/// `getblockbynum`: block 0's id ends in the chain id, as on Tron (its chain id is its genesis block's
/// last four bytes).
async fn block_by_number(State(front): State<Arc<Front>>, Json(body): Json<Value>) -> Json<Value> {
    let answer = async {
        let number = body["num"].as_u64().unwrap_or_default();
        let mut answer = block_answer(&front, Some(number)).await?;
        if number == 0 {
            let chain_id = u32::try_from(front.evm.get_chain_id().await?)?;
            let mut id: B256 = answer["blockID"].as_str().unwrap_or_default().parse()?;
            id[28..].copy_from_slice(&chain_id.to_be_bytes());
            answer["blockID"] = json!(hex::encode(id));
        }
        eyre::Ok(answer)
    };
    answer.await.map_or_else(error, Json)
}

async fn solid_number(front: &Front) -> eyre::Result<u64> {
    Ok(front.evm.get_block_number().await?.saturating_sub(SOLID_DEPTH))
}

async fn head_block(State(front): State<Arc<Front>>) -> Json<Value> {
    block_answer(&front, None).await.map_or_else(error, Json)
}

async fn solid_block(State(front): State<Arc<Front>>) -> Json<Value> {
    let answer = async { block_answer(&front, Some(solid_number(&front).await?)).await };
    answer.await.map_or_else(error, Json)
}

async fn info(State(front): State<Arc<Front>>, Json(body): Json<Value>) -> Json<Value> {
    info_up_to(&front, &body, None).await.map_or_else(error, Json)
}

async fn solid_info(State(front): State<Arc<Front>>, Json(body): Json<Value>) -> Json<Value> {
    let answer = async { info_up_to(&front, &body, Some(solid_number(&front).await?)).await };
    answer.await.map_or_else(error, Json)
}

/// `gettransactioninfobyid`: `{}` for a txid not in a block (up to `limit`, if given).
async fn info_up_to(front: &Front, body: &Value, limit: Option<u64>) -> eyre::Result<Value> {
    let txid: B256 = body["value"].as_str().unwrap_or_default().parse()?;
    let hash = front.seen.lock().unwrap_or_else(PoisonError::into_inner).get(&txid).copied();
    let Some(hash) = hash else { return Ok(json!({})) };
    let Some(receipt) = front.evm.get_transaction_receipt(hash).await? else { return Ok(json!({})) };
    let Some(number) = receipt.block_number.filter(|n| limit.is_none_or(|l| *n <= l)) else {
        return Ok(json!({}));
    };
    let mut answer = json!({
        "id": hex::encode(txid),
        "blockNumber": number,
        "fee": receipt.gas_used,
        "receipt": {
            "energy_usage_total": receipt.gas_used,
            "result": if receipt.status() { "SUCCESS" } else { "REVERT" },
        },
    });
    if !receipt.status() {
        answer["result"] = json!("FAILED");
    }
    Ok(answer)
}

/// The call a `triggerconstantcontract`/`estimateenergy` body asks for (hex addresses with `41`).
fn call_of(body: &Value) -> eyre::Result<TransactionRequest> {
    let address = |field: &str| -> eyre::Result<Address> {
        let bytes = hex::decode(body[field].as_str().unwrap_or_default())?;
        Ok(tx::evm_address(&bytes)?)
    };
    let data = hex::decode(body["data"].as_str().unwrap_or_default())?;
    Ok(TransactionRequest::default()
        .with_from(address("owner_address")?)
        .with_to(address("contract_address")?)
        .with_input(Bytes::from(data))
        .with_value(U256::from(body["call_value"].as_u64().unwrap_or_default())))
}

/// The revert data of an EVM node's error answer, if it is a revert.
fn revert_data(
    error: &alloy::transports::RpcError<alloy::transports::TransportErrorKind>,
) -> Option<Vec<u8>> {
    let resp = error.as_error_resp()?;
    resp.message.contains("revert").then(|| resp.as_revert_data().map(|d| d.to_vec()).unwrap_or_default())
}

async fn constant(State(front): State<Arc<Front>>, Json(body): Json<Value>) -> Json<Value> {
    let call = match call_of(&body) {
        Ok(call) => call,
        Err(e) => return Json(json!({ "result": refused("CONTRACT_VALIDATE_ERROR", &e.to_string()) })),
    };
    let used = front.evm.estimate_gas(call.clone()).block(BlockId::pending()).await.unwrap_or_default();
    match front.evm.call(call).block(BlockId::pending()).await {
        Ok(output) => Json(json!({
            "result": { "result": true },
            "energy_used": used,
            "constant_result": [hex::encode(output)],
            "transaction": { "ret": [{}] },
        })),
        Err(e) => match revert_data(&e) {
            // java-tron: result true, the transaction's `ret` FAILED, the revert data as the output.
            Some(data) => Json(json!({
                "result": { "result": true, "message": hex::encode("REVERT opcode executed") },
                "constant_result": [hex::encode(data)],
                "transaction": { "ret": [{ "ret": "FAILED" }] },
            })),
            None => error(e),
        },
    }
}

async fn estimate(State(front): State<Arc<Front>>, Json(body): Json<Value>) -> Json<Value> {
    let call = match call_of(&body) {
        Ok(call) => call,
        Err(e) => return Json(json!({ "result": refused("CONTRACT_VALIDATE_ERROR", &e.to_string()) })),
    };
    match front.evm.estimate_gas(call).block(BlockId::pending()).await {
        Ok(gas) => Json(json!({ "result": { "result": true }, "energy_required": gas })),
        // As java-tron answers a call that would revert: result true, and no estimate.
        Err(e) if revert_data(&e).is_some() => Json(json!({ "result": { "result": true } })),
        Err(e) => error(e),
    }
}

/// `getaccount`: the owner's balance on the EVM node, read as sun at one per 10^12 wei (1 ETH shows as
/// 1 TRX); `{}` for an account with nothing, as java-tron answers one it never saw.
async fn account(State(front): State<Arc<Front>>, Json(body): Json<Value>) -> Json<Value> {
    let answer = async {
        let owner = tx::evm_address(&hex::decode(body["address"].as_str().unwrap_or_default())?)?;
        let wei = front.evm.get_balance(owner).await?;
        let sun = u64::try_from(wei / U256::from(1_000_000_000_000u64)).unwrap_or(u64::MAX);
        eyre::Ok(if sun == 0 { json!({}) } else { json!({ "address": body["address"], "balance": sun }) })
    };
    answer.await.map_or_else(error, Json)
}

/// `getaccountresource`: the free daily bandwidth every account has; no staked energy.
async fn account_resource() -> Json<Value> {
    Json(json!({ "freeNetLimit": 600, "TotalNetLimit": 43_200_000_000_u64 }))
}

async fn parameters() -> Json<Value> {
    Json(json!({ "chainParameter": [
        { "key": "getMaintenanceTimeInterval", "value": 21_600_000 },
        { "key": "getEnergyFee", "value": ENERGY_FEE_SUN },
        { "key": "getTransactionFee", "value": 1000 },
    ]}))
}

/// `broadcasthex`: checked as java-tron checks, then run as the owner.
async fn broadcast(
    State(front): State<Arc<Front>>,
    Json(body): Json<Value>,
) -> (axum::http::StatusCode, Json<Value>) {
    use axum::http::StatusCode;
    front.asked.fetch_add(1, Ordering::SeqCst);
    let fault = {
        let mut fault = front.fault.lock().unwrap_or_else(PoisonError::into_inner);
        let now = if fault.1 > 0 { fault.0 } else { BroadcastFault::None };
        fault.1 = fault.1.saturating_sub(1);
        now
    };
    let bytes = hex::decode(body["transaction"].as_str().unwrap_or_default()).unwrap_or_default();
    if let Ok(signed) = tx::Signed::decode(&bytes) {
        front.received.lock().unwrap_or_else(PoisonError::into_inner).insert(signed.txid);
    }
    if fault == BroadcastFault::Drop {
        return (StatusCode::BAD_GATEWAY, Json(json!({ "Error": "dropped" })));
    }
    let answer = match take(&front, &bytes, fault == BroadcastFault::Hold).await {
        Ok(answer) => answer,
        Err(e) => json!({ "Error": e.to_string() }),
    };
    if matches!(fault, BroadcastFault::LoseAnswer | BroadcastFault::Hold) {
        return (StatusCode::BAD_GATEWAY, Json(json!({ "Error": "answer lost" })));
    }
    (StatusCode::OK, Json(answer))
}

/// Checks and runs a broadcast transaction (or, with `hold`, only takes it into the pool).
async fn take(front: &Front, bytes: &[u8], hold: bool) -> eyre::Result<Value> {
    let signed = match tx::Signed::decode(bytes) {
        Ok(signed) => signed,
        Err(e) => return Ok(refused("OTHER_ERROR", &e.to_string())),
    };
    let unsigned = match Unsigned::from_raw_data(&signed.raw_data) {
        Ok(unsigned) => unsigned,
        Err(e) => return Ok(refused("CONTRACT_VALIDATE_ERROR", &e.to_string())),
    };
    if signed.signer().ok() != Some(unsigned.call.owner) {
        return Ok(refused("SIGERROR", "validate signature error: the signature does not recover the owner"));
    }
    let pooled =
        front.held.lock().unwrap_or_else(PoisonError::into_inner).iter().any(|(t, _)| *t == signed.txid);
    if pooled || front.seen.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&signed.txid) {
        return Ok(refused("DUP_TRANSACTION_ERROR", "dup transaction"));
    }
    // TaPoS: the newest block whose number ends in the reference bytes must have the reference hash.
    let head = front.evm.get_block_number().await?;
    let low = u64::from(u16::from_be_bytes(unsigned.ref_block_bytes));
    let number = (head & !0xffff) | low;
    let number = if number > head { number.checked_sub(0x1_0000) } else { Some(number) };
    let reference = match number {
        Some(n) => front.evm.get_block_by_number(BlockNumberOrTag::Number(n)).await?,
        None => None,
    };
    let Some(reference) =
        reference.filter(|b| block_id(b.header.number, b.header.hash)[8..16] == unsigned.ref_block_hash[..])
    else {
        return Ok(refused("TAPOS_ERROR", "Tapos check error"));
    };
    let head_ms = head_time_ms(front).await?;
    let reference_ms = i64::try_from(reference.header.timestamp * 1000)?;
    if unsigned.expiration_ms <= head_ms
        || unsigned.expiration_ms > reference_ms + Duration::from_secs(86_400).as_millis() as i64
    {
        return Ok(refused("TRANSACTION_EXPIRATION_ERROR", "transaction expired"));
    }
    if hold {
        front.held.lock().unwrap_or_else(PoisonError::into_inner).push((signed.txid, unsigned));
        return Ok(json!({ "result": true, "code": "SUCCESS", "txid": hex::encode(signed.txid) }));
    }
    if let Err(e) = run(front, signed.txid, &unsigned).await {
        return Ok(refused("CONTRACT_VALIDATE_ERROR", &e.to_string()));
    }
    Ok(json!({ "result": true, "code": "SUCCESS", "txid": hex::encode(signed.txid) }))
}

/// Runs `unsigned`'s call as its owner on the EVM node, known from then on as `txid`.
async fn run(front: &Front, txid: B256, unsigned: &Unsigned) -> eyre::Result<()> {
    let call = &unsigned.call;
    let _recording = front.sending.write().await;
    front.evm.raw_request::<_, ()>("anvil_impersonateAccount".into(), (call.owner,)).await?;
    let request = TransactionRequest::default()
        .with_from(call.owner)
        .with_to(call.contract)
        .with_input(Bytes::from(call.data.clone()))
        .with_value(U256::from(u64::try_from(call.call_value).unwrap_or_default()))
        .with_gas_limit(5_000_000);
    let hash = *front.evm.send_transaction(request).await?.tx_hash();
    front.seen.lock().unwrap_or_else(PoisonError::into_inner).insert(txid, hash);
    Ok(())
}

/// JSON-RPC, passed through to the EVM node with the one difference Tron's JSON-RPC has that matters
/// here: a transaction the front ran is known by its Tron txid, in requests (`eth_getTransactionReceipt`,
/// `eth_getTransactionByHash`) and answers (every `transactionHash`), as a Tron node knows it.
async fn jsonrpc(State(front): State<Arc<Front>>, body: axum::body::Bytes) -> axum::response::Response {
    use axum::{http::StatusCode, response::IntoResponse};
    let answer = async {
        let mut request: Value = serde_json::from_slice(&body)?;
        let _recorded = front.sending.read().await;
        let (to_evm, to_tron): (HashMap<B256, B256>, HashMap<String, String>) = {
            let seen = front.seen.lock().unwrap_or_else(PoisonError::into_inner);
            let to_tron = seen.iter().map(|(t, e)| (format!("{e:#x}"), format!("{t:#x}"))).collect();
            (seen.clone(), to_tron)
        };
        let solid = solid_number(&front).await?;
        for call in calls_mut(&mut request) {
            // `finalized` is the solidified block, as on a Tron node (the EVM node's own is far deeper).
            if call["method"] == "eth_getBlockByNumber"
                && let Some(tag) = call["params"].get_mut(0).filter(|t| *t == "finalized")
            {
                *tag = json!(format!("{solid:#x}"));
            }
            let by_hash = matches!(
                call["method"].as_str(),
                Some("eth_getTransactionReceipt" | "eth_getTransactionByHash")
            );
            if let Some(param) = call["params"].get_mut(0).filter(|_| by_hash) {
                let txid = param.as_str().and_then(|p| p.parse::<B256>().ok());
                if let Some(hash) = txid.and_then(|t| to_evm.get(&t)) {
                    *param = json!(format!("{hash:#x}"));
                }
            }
        }
        let mut answer: Value = front.http.post(&front.evm_url).json(&request).send().await?.json().await?;
        rename_hashes(&mut answer, &to_tron);
        eyre::Ok(answer)
    };
    match answer.await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The calls of a JSON-RPC request (one, or a batch).
fn calls_mut(request: &mut Value) -> Vec<&mut Value> {
    match request {
        Value::Array(calls) => calls.iter_mut().collect(),
        call => vec![call],
    }
}

/// Replaces every `transactionHash` in `value` found in `to_tron` (EVM hash → txid).
fn rename_hashes(value: &mut Value, to_tron: &HashMap<String, String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match field {
                    Value::String(hash) if key == "transactionHash" => {
                        if let Some(txid) = to_tron.get(hash.as_str()) {
                            *hash = txid.clone();
                        }
                    }
                    other => rename_hashes(other, to_tron),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_hashes(item, to_tron)),
        _ => {}
    }
}

async fn head_time_ms(front: &Front) -> eyre::Result<i64> {
    let head = front
        .evm
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await?
        .ok_or_else(|| eyre::eyre!("no head block"))?;
    Ok(i64::try_from(head.header.timestamp * 1000)?)
}
