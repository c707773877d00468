//! [`SvmClient`] over Solana's JSON-RPC, for real clusters and `solana-test-validator`. Requests are
//! plain JSON-RPC 2.0 over HTTP; each answer is decoded by a pure function (`decode_*`), unit-tested
//! against recorded answers, so the transport is the only untested-by-unit part. Every read is at
//! `finalized` commitment.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use relayer_chain::BoxFuture;
use serde_json::{Value, json};
use solana_sdk::{hash::Hash, pubkey::Pubkey, signature::Signature};

use crate::client::{
    AccountView, ClientError, Confirmation, InnerInstruction, Page, SIGNATURES_PER_PAGE, SendError,
    SignatureInfo, Simulation, SvmClient, TokenBalance, TopInstruction, TxFailure, TxStatus, TxView,
};

/// The most accounts one `getMultipleAccounts` may name (Solana's JSON-RPC refuses more).
pub const ACCOUNTS_PER_REQUEST: usize = 100;

/// A JSON-RPC endpoint.
pub struct RpcClient {
    url: String,
    http: reqwest::Client,
    backoff: Backoff,
    /// The commitment simulations and preflights read state at: the one at which the relayer's own
    /// transactions count as landed (so a transaction counted landed at `confirmed` is seen by the next
    /// simulation, and no second one is sent to fail on chain). Every other read is finalized.
    send_commitment: Confirmation,
}

/// How a client waits out a node that says it is asked too often (HTTP 429, as Solana's public
/// endpoints and every paid provider answer past their rate limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries of one call that was answered 429 before it fails (the caller's own retry takes over then).
    pub tries: u32,
    /// The first wait; each next one doubles, unless the node's `Retry-After` says how long.
    pub first: Duration,
    /// The longest wait, whatever `Retry-After` asks (a node asking for minutes is as good as down).
    pub longest: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { tries: 5, first: Duration::from_millis(250), longest: Duration::from_secs(10) }
    }
}

impl Backoff {
    /// The wait before try `n + 1` after `n` answers of 429, the last one's `Retry-After` (seconds) if any.
    pub fn wait(&self, n: u32, retry_after: Option<u64>) -> Duration {
        let doubled = self.first.saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX));
        retry_after.map_or(doubled, Duration::from_secs).min(self.longest)
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// `error.code`.
    pub code: i64,
    /// `error.message`.
    pub message: String,
    /// `error.data`.
    pub data: Value,
}

const FINALIZED: &str = "finalized";

fn bad(what: &str, value: &Value) -> ClientError {
    ClientError::new(format!("unexpected {what}: {value}"))
}

fn pubkey(value: &Value) -> Result<Pubkey, ClientError> {
    value.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| bad("public key", value))
}

fn signature(value: &Value) -> Result<Signature, ClientError> {
    value.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| bad("signature", value))
}

fn u64_of(value: &Value) -> Result<u64, ClientError> {
    value.as_u64().ok_or_else(|| bad("integer", value))
}

/// A transaction error as JSON (`{"InstructionError":[0,{"Custom":6003}]}`, `"BlockhashNotFound"`, ...).
pub fn decode_failure(err: &Value, logs: &Value) -> Option<TxFailure> {
    if err.is_null() {
        return None;
    }
    let custom = err["InstructionError"][1]["Custom"].as_u64().and_then(|c| u32::try_from(c).ok());
    let text = || err.as_str().map_or_else(|| err.to_string(), str::to_owned);
    let logs: Vec<String> = logs
        .as_array()
        .map(|l| l.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Some(custom.map_or_else(|| TxFailure::Other(text()), |code| crate::tx::attributed(code, &logs)))
}

/// `getLatestBlockhash`: `{context, value: {blockhash, lastValidBlockHeight}}`.
pub fn decode_blockhash(result: &Value) -> Result<(Hash, u64), ClientError> {
    let value = &result["value"];
    let hash =
        value["blockhash"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| bad("blockhash", result))?;
    Ok((hash, u64_of(&value["lastValidBlockHeight"])?))
}

/// `simulateTransaction`: `{context, value: {err, unitsConsumed, ...}}`.
pub fn decode_simulation(result: &Value) -> Result<Simulation, ClientError> {
    let value = &result["value"];
    if !value.is_object() {
        return Err(bad("simulation", result));
    }
    Ok(Simulation {
        failure: decode_failure(&value["err"], &value["logs"]),
        units: value["unitsConsumed"].as_u64().unwrap_or(0),
    })
}

/// `getSignatureStatuses`: `{context, value: [null | {slot, err, confirmationStatus}]}`.
pub fn decode_statuses(result: &Value) -> Result<Vec<Option<TxStatus>>, ClientError> {
    let list = result["value"].as_array().ok_or_else(|| bad("statuses", result))?;
    list.iter()
        .map(|s| {
            if s.is_null() {
                return Ok(None);
            }
            // `confirmationStatus` came with Solana 1.5; before it, `confirmations: null` meant rooted.
            let confirmation = match s["confirmationStatus"].as_str() {
                Some("finalized") => Confirmation::Finalized,
                Some("confirmed") => Confirmation::Confirmed,
                Some("processed") => Confirmation::Processed,
                Some(_) => return Err(bad("confirmation status", s)),
                // Only an explicit `null` says rooted; a field left out says nothing.
                None if s.get("confirmations").is_some_and(Value::is_null) => Confirmation::Finalized,
                None => Confirmation::Processed,
            };
            Ok(Some(TxStatus { slot: u64_of(&s["slot"])?, failed: !s["err"].is_null(), confirmation }))
        })
        .collect()
}

/// `getMultipleAccounts` with base64 data: `{context, value: [null | {lamports, owner, data: [b64, "base64"]}]}`.
pub fn decode_accounts(result: &Value) -> Result<Vec<Option<AccountView>>, ClientError> {
    let list = result["value"].as_array().ok_or_else(|| bad("accounts", result))?;
    list.iter()
        .map(|a| {
            if a.is_null() {
                return Ok(None);
            }
            let data = a["data"][0].as_str().ok_or_else(|| bad("account data", a))?;
            Ok(Some(AccountView {
                lamports: u64_of(&a["lamports"])?,
                owner: pubkey(&a["owner"])?,
                data: BASE64.decode(data).map_err(|e| ClientError::new(format!("account data: {e}")))?,
            }))
        })
        .collect()
}

/// `getRecentPrioritizationFees`: `[{slot, prioritizationFee}]` (no context), one entry per recent slot.
pub fn decode_priority_fees(result: &Value) -> Result<Vec<u64>, ClientError> {
    let list = result.as_array().ok_or_else(|| bad("prioritization fees", result))?;
    list.iter().map(|f| u64_of(&f["prioritizationFee"])).collect()
}

/// `getBalance`: `{context, value: lamports}`.
pub fn decode_balance(result: &Value) -> Result<u64, ClientError> {
    u64_of(&result["value"])
}

/// `getSignaturesForAddress`: `[{signature, slot, err, ...}]`, newest first.
pub fn decode_signatures(result: &Value) -> Result<Vec<SignatureInfo>, ClientError> {
    let list = result.as_array().ok_or_else(|| bad("signatures", result))?;
    list.iter()
        .map(|s| {
            Ok(SignatureInfo {
                signature: signature(&s["signature"])?,
                slot: u64_of(&s["slot"])?,
                failed: !s["err"].is_null(),
            })
        })
        .collect()
}

fn token_balances(list: &Value) -> Result<Vec<TokenBalance>, ClientError> {
    let Some(list) = list.as_array() else { return Ok(vec![]) };
    list.iter()
        .map(|b| {
            let amount = b["uiTokenAmount"]["amount"].as_str().and_then(|a| a.parse().ok());
            Ok(TokenBalance {
                account_index: usize::try_from(u64_of(&b["accountIndex"])?).map_err(|_| bad("index", b))?,
                mint: pubkey(&b["mint"])?,
                owner: pubkey(&b["owner"])?,
                amount: amount.ok_or_else(|| bad("token amount", b))?,
            })
        })
        .collect()
}

/// `getTransaction` with `json` encoding: account keys (static, then the address tables' writable and
/// readonly ones, as the metadata's indexes count them), token balances, inner instructions.
pub fn decode_transaction(result: &Value) -> Result<Option<TxView>, ClientError> {
    if result.is_null() {
        return Ok(None);
    }
    let meta = &result["meta"];
    let tx = &result["transaction"];
    let mut account_keys: Vec<Pubkey> = tx["message"]["accountKeys"]
        .as_array()
        .ok_or_else(|| bad("account keys", result))?
        .iter()
        .map(pubkey)
        .collect::<Result<_, _>>()?;
    for kind in ["writable", "readonly"] {
        for key in meta["loadedAddresses"][kind].as_array().into_iter().flatten() {
            account_keys.push(pubkey(key)?);
        }
    }
    // A compiled instruction's program and data (`json` encoding: the data in base58).
    let instruction = |ix: &Value| -> Result<(Pubkey, Vec<u8>), ClientError> {
        let program = usize::try_from(u64_of(&ix["programIdIndex"])?).map_err(|_| bad("index", ix))?;
        let program = *account_keys.get(program).ok_or_else(|| bad("program index", ix))?;
        let data = ix["data"].as_str().ok_or_else(|| bad("instruction data", ix))?;
        let data =
            bs58::decode(data).into_vec().map_err(|e| ClientError::new(format!("instruction data: {e}")))?;
        Ok((program, data))
    };
    let mut inner_instructions = vec![];
    for group in meta["innerInstructions"].as_array().into_iter().flatten() {
        let outer = usize::try_from(u64_of(&group["index"])?).map_err(|_| bad("index", group))?;
        for ix in group["instructions"].as_array().into_iter().flatten() {
            let (program, data) = instruction(ix)?;
            inner_instructions.push(InnerInstruction { outer, program, data });
        }
    }
    let instructions = tx["message"]["instructions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|ix| instruction(ix).map(|(program, data)| TopInstruction { program, data }))
        .collect::<Result<_, _>>()?;
    Ok(Some(TxView {
        signature: signature(&tx["signatures"][0])?,
        slot: u64_of(&result["slot"])?,
        failed: !meta["err"].is_null(),
        account_keys,
        pre_token_balances: token_balances(&meta["preTokenBalances"])?,
        post_token_balances: token_balances(&meta["postTokenBalances"])?,
        inner_instructions,
        instructions,
    }))
}

/// `sendTransaction`'s error: a failed preflight carries the transaction error in `data.err`.
pub fn decode_send_error(error: &RpcError) -> SendError {
    match decode_failure(&error.data["err"], &error.data["logs"]) {
        Some(failure) => SendError::Preflight(failure),
        None => SendError::Transport(ClientError::new(format!(
            "sendTransaction: {} {}",
            error.code, error.message
        ))),
    }
}

impl RpcClient {
    /// A client for `url`, each request bounded by `timeout`.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::new(e.to_string()))?;
        Ok(Self {
            url: url.into(),
            http,
            backoff: Backoff::default(),
            send_commitment: Confirmation::Finalized,
        })
    }

    /// The same client, simulating and preflighting at `commitment` (see [`crate::Landing::commitment`]).
    #[must_use]
    pub const fn with_send_commitment(mut self, commitment: Confirmation) -> Self {
        self.send_commitment = commitment;
        self
    }

    /// The same client, waiting out rate limits as `backoff` says.
    #[must_use]
    pub const fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// One HTTP exchange, waiting out answers of 429 (rate limited) as the backoff says.
    async fn post(&self, method: &str, body: &Value) -> Result<Value, ClientError> {
        let mut limited = 0;
        loop {
            let answer = self
                .http
                .post(&self.url)
                .json(body)
                .send()
                .await
                .map_err(|e| ClientError::new(format!("{method}: {e}")))?;
            if answer.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                return async { answer.error_for_status()?.json().await }
                    .await
                    .map_err(|e: reqwest::Error| ClientError::new(format!("{method}: {e}")));
            }
            limited += 1;
            if limited >= self.backoff.tries {
                return Err(ClientError::new(format!(
                    "{method}: rate limited (HTTP 429) {limited} times in a row"
                )));
            }
            let retry_after = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.trim().parse().ok());
            let wait = self.backoff.wait(limited, retry_after);
            tracing::debug!(method, ?wait, "rate limited by the Solana node; waiting");
            tokio::time::sleep(wait).await;
        }
    }

    /// One JSON-RPC call: `Ok(result)`, `Err(Ok(error object))`, or `Err(Err(transport failure))`.
    async fn call(&self, method: &str, params: Value) -> Result<Value, Result<RpcError, ClientError>> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let answer = self.post(method, &body).await.map_err(Err)?;
        if let Some(error) = answer.get("error") {
            return Err(Ok(RpcError {
                code: error["code"].as_i64().unwrap_or_default(),
                message: error["message"].as_str().unwrap_or_default().to_owned(),
                data: error["data"].clone(),
            }));
        }
        Ok(answer["result"].clone())
    }

    async fn result(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        self.call(method, params).await.map_err(|e| match e {
            Ok(rpc) => ClientError::new(format!("{method}: {} {}", rpc.code, rpc.message)),
            Err(transport) => transport,
        })
    }
}

impl SvmClient for RpcClient {
    fn latest_blockhash(&self) -> BoxFuture<'_, Result<(Hash, u64), ClientError>> {
        Box::pin(async move {
            decode_blockhash(&self.result("getLatestBlockhash", json!([{ "commitment": FINALIZED }])).await?)
        })
    }

    fn block_height(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        Box::pin(async move {
            u64_of(&self.result("getBlockHeight", json!([{ "commitment": FINALIZED }])).await?)
        })
    }

    fn slot(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        Box::pin(async move { u64_of(&self.result("getSlot", json!([{ "commitment": FINALIZED }])).await?) })
    }

    fn send(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Signature, SendError>> {
        Box::pin(async move {
            let params = json!([BASE64.encode(raw), { "encoding": "base64", "preflightCommitment": self.send_commitment.as_str() }]);
            match self.call("sendTransaction", params).await {
                Ok(result) => Ok(signature(&result)?),
                Err(Ok(rpc)) => Err(decode_send_error(&rpc)),
                Err(Err(transport)) => Err(SendError::Transport(transport)),
            }
        })
    }

    fn simulate(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Simulation, ClientError>> {
        Box::pin(async move {
            let params = json!([BASE64.encode(raw), { "encoding": "base64", "commitment": self.send_commitment.as_str(), "sigVerify": false }]);
            decode_simulation(&self.result("simulateTransaction", params).await?)
        })
    }

    fn statuses(
        &self,
        signatures: Vec<Signature>,
    ) -> BoxFuture<'_, Result<Vec<Option<TxStatus>>, ClientError>> {
        Box::pin(async move { Ok(self.statuses_at(signatures).await?.1) })
    }

    fn statuses_at(
        &self,
        signatures: Vec<Signature>,
    ) -> BoxFuture<'_, Result<crate::client::StatusesAt, ClientError>> {
        Box::pin(async move {
            let list: Vec<String> = signatures.iter().map(ToString::to_string).collect();
            let params = json!([list, { "searchTransactionHistory": true }]);
            let result = self.result("getSignatureStatuses", params).await?;
            Ok((u64_of(&result["context"]["slot"])?, decode_statuses(&result)?))
        })
    }

    fn finalized_position(&self) -> BoxFuture<'_, Result<(u64, u64), ClientError>> {
        Box::pin(async move {
            let epoch = self.result("getEpochInfo", json!([{ "commitment": FINALIZED }])).await?;
            Ok((u64_of(&epoch["absoluteSlot"])?, u64_of(&epoch["blockHeight"])?))
        })
    }

    /// In requests of at most [`ACCOUNTS_PER_REQUEST`] keys (a node refuses more: a read of a session's
    /// many inbox transfers, which anyone can add to, must not fail for it), answered in order. Each later
    /// request asks for a state at least as recent as the first answer's (`minContextSlot`): behind a pool
    /// of nodes, a later request answered by a node that lags would pair a transfer's claim record read
    /// at one slot with its record read at an older one.
    fn accounts(&self, keys: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<Option<AccountView>>, ClientError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(keys.len());
            let mut first_slot = None;
            for chunk in keys.chunks(ACCOUNTS_PER_REQUEST) {
                let list: Vec<String> = chunk.iter().map(ToString::to_string).collect();
                let mut options = json!({ "encoding": "base64", "commitment": FINALIZED });
                if let Some(slot) = first_slot {
                    options["minContextSlot"] = json!(slot);
                }
                let result = self.result("getMultipleAccounts", json!([list, options])).await?;
                if first_slot.is_none() {
                    first_slot = result["context"]["slot"].as_u64();
                }
                let answer = decode_accounts(&result)?;
                if answer.len() != chunk.len() {
                    return Err(ClientError::new(format!(
                        "getMultipleAccounts answered {} accounts for {}",
                        answer.len(),
                        chunk.len()
                    )));
                }
                out.extend(answer);
            }
            Ok(out)
        })
    }

    fn signatures_for(
        &self,
        address: Pubkey,
        page: Page,
    ) -> BoxFuture<'_, Result<Vec<SignatureInfo>, ClientError>> {
        Box::pin(async move {
            let mut options =
                json!({ "commitment": FINALIZED, "limit": page.limit.min(SIGNATURES_PER_PAGE) });
            if let Some(before) = page.before {
                options["before"] = before.to_string().into();
            }
            if let Some(until) = page.until {
                options["until"] = until.to_string().into();
            }
            if let Some(slot) = page.min_slot {
                options["minContextSlot"] = slot.into();
            }
            decode_signatures(
                &self.result("getSignaturesForAddress", json!([address.to_string(), options])).await?,
            )
        })
    }

    fn transaction(&self, signature: Signature) -> BoxFuture<'_, Result<Option<TxView>, ClientError>> {
        Box::pin(async move {
            let options =
                json!({ "encoding": "json", "commitment": FINALIZED, "maxSupportedTransactionVersion": 0 });
            decode_transaction(&self.result("getTransaction", json!([signature.to_string(), options])).await?)
        })
    }

    fn recent_priority_fees(&self, accounts: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<u64>, ClientError>> {
        Box::pin(async move {
            // A node takes at most 128 accounts.
            let list: Vec<String> = accounts.iter().take(128).map(ToString::to_string).collect();
            decode_priority_fees(&self.result("getRecentPrioritizationFees", json!([list])).await?)
        })
    }

    fn balance(&self, account: Pubkey) -> BoxFuture<'_, Result<u64, ClientError>> {
        Box::pin(async move {
            let params = json!([account.to_string(), { "commitment": FINALIZED }]);
            decode_balance(&self.result("getBalance", params).await?)
        })
    }
}

/// The answers a JSON-RPC node gives, from the client's decoded values: what a node serves over an
/// in-process bank (the devnet's Solana RPC) answers with. Each is the inverse of its `decode_*`.
pub mod encode {
    use base64::Engine as _;
    use serde_json::{Value, json};

    use super::{BASE64, FINALIZED};
    use crate::client::{
        AccountView, SendError, SignatureInfo, Simulation, TokenBalance, TxFailure, TxStatus, TxView,
    };

    fn context(value: Value) -> Value {
        at(0, value)
    }

    /// `value` as a node at `slot` answers it.
    pub fn at(slot: u64, value: Value) -> Value {
        json!({ "context": { "slot": slot }, "value": value })
    }

    /// `getSignatureStatuses` as a node at `slot` answers it.
    pub fn statuses_at(slot: u64, list: &[Option<TxStatus>]) -> Value {
        let mut answer = statuses(list);
        answer["context"]["slot"] = slot.into();
        answer
    }

    /// `getEpochInfo` (one epoch of 432,000 slots; the fields the client reads and their neighbours).
    pub fn epoch_info(slot: u64, block_height: u64) -> Value {
        json!({
            "absoluteSlot": slot,
            "blockHeight": block_height,
            "epoch": slot / 432_000,
            "slotIndex": slot % 432_000,
            "slotsInEpoch": 432_000,
            "transactionCount": null,
        })
    }

    /// A transaction error.
    pub fn failure(failure: &TxFailure) -> Value {
        match failure {
            TxFailure::Custom(code) | TxFailure::Callee { code, .. } => {
                json!({ "InstructionError": [0, { "Custom": code }] })
            }
            TxFailure::Other(text) => Value::String(text.clone()),
        }
    }

    /// The log lines that say which program failed (the runtime's own line for a custom error; nothing
    /// else is kept): a called program's, or the deposit-vault program's own.
    pub fn logs(failure: Option<&TxFailure>) -> Value {
        match failure {
            Some(TxFailure::Callee { program, code }) => json!([crate::tx::failed_line(program, *code)]),
            Some(TxFailure::Custom(code)) => json!([crate::tx::failed_line(&deposit_vault::ID, *code)]),
            _ => json!([]),
        }
    }

    /// `getLatestBlockhash`.
    pub fn blockhash(hash: &solana_sdk::hash::Hash, last_valid: u64) -> Value {
        context(json!({ "blockhash": hash.to_string(), "lastValidBlockHeight": last_valid }))
    }

    /// `simulateTransaction`.
    pub fn simulation(sim: &Simulation) -> Value {
        let err = sim.failure.as_ref().map_or(Value::Null, failure);
        let logs = logs(sim.failure.as_ref());
        context(
            json!({ "err": err, "logs": logs, "accounts": null, "returnData": null, "unitsConsumed": sim.units }),
        )
    }

    /// `getSignatureStatuses`.
    pub fn statuses(list: &[Option<TxStatus>]) -> Value {
        let list: Vec<Value> = list
            .iter()
            .map(|s| match s {
                None => Value::Null,
                Some(s) => json!({
                    "slot": s.slot,
                    "confirmations": null,
                    "err": if s.failed { json!("failed") } else { Value::Null },
                    "confirmationStatus": s.confirmation.as_str(),
                }),
            })
            .collect();
        context(Value::Array(list))
    }

    /// `getRecentPrioritizationFees`, one slot per fee (from slot 1 on).
    pub fn priority_fees(fees: &[u64]) -> Value {
        Value::Array(
            fees.iter()
                .enumerate()
                .map(|(slot, fee)| json!({ "slot": slot + 1, "prioritizationFee": fee }))
                .collect(),
        )
    }

    /// `getBalance`.
    pub fn balance(lamports: u64) -> Value {
        context(Value::from(lamports))
    }

    /// `getMultipleAccounts` (base64).
    pub fn accounts(list: &[Option<AccountView>]) -> Value {
        let list: Vec<Value> = list
            .iter()
            .map(|a| match a {
                None => Value::Null,
                Some(a) => json!({
                    "lamports": a.lamports,
                    "owner": a.owner.to_string(),
                    "data": [BASE64.encode(&a.data), "base64"],
                    "executable": false,
                    "space": a.data.len(),
                }),
            })
            .collect();
        context(Value::Array(list))
    }

    /// `getSignaturesForAddress`.
    pub fn signatures(list: &[SignatureInfo]) -> Value {
        Value::Array(
            list.iter()
                .map(|s| {
                    json!({
                        "signature": s.signature.to_string(),
                        "slot": s.slot,
                        "err": if s.failed { json!("failed") } else { Value::Null },
                        "confirmationStatus": FINALIZED,
                    })
                })
                .collect(),
        )
    }

    fn balances(list: &[TokenBalance]) -> Value {
        Value::Array(
            list.iter()
                .map(|b| {
                    json!({
                        "accountIndex": b.account_index,
                        "mint": b.mint.to_string(),
                        "owner": b.owner.to_string(),
                        "uiTokenAmount": { "amount": b.amount.to_string() },
                    })
                })
                .collect(),
        )
    }

    /// `getTransaction` (`json` encoding; every key static).
    pub fn transaction(view: Option<&TxView>) -> Value {
        let Some(view) = view else { return Value::Null };
        let mut groups: Vec<(usize, Vec<Value>)> = vec![];
        for inner in &view.inner_instructions {
            let program = view.account_keys.iter().position(|k| *k == inner.program).unwrap_or_default();
            let ix = json!({ "programIdIndex": program, "accounts": [], "data": bs58::encode(&inner.data).into_string() });
            match groups.last_mut() {
                Some((outer, list)) if *outer == inner.outer => list.push(ix),
                _ => groups.push((inner.outer, vec![ix])),
            }
        }
        let inner: Vec<Value> = groups
            .into_iter()
            .map(|(index, instructions)| json!({ "index": index, "instructions": instructions }))
            .collect();
        let own: Vec<Value> = view
            .instructions
            .iter()
            .map(|ix| {
                let program = view.account_keys.iter().position(|k| *k == ix.program).unwrap_or_default();
                json!({ "programIdIndex": program, "accounts": [], "data": bs58::encode(&ix.data).into_string() })
            })
            .collect();
        json!({
            "slot": view.slot,
            "meta": {
                "err": if view.failed { json!("failed") } else { Value::Null },
                "preTokenBalances": balances(&view.pre_token_balances),
                "postTokenBalances": balances(&view.post_token_balances),
                "innerInstructions": inner,
                "loadedAddresses": { "writable": [], "readonly": [] },
            },
            "transaction": {
                "signatures": [view.signature.to_string()],
                "message": {
                    "accountKeys": view.account_keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "instructions": own,
                },
            },
        })
    }

    /// A `sendTransaction` error object.
    pub fn send_error(error: &SendError) -> Value {
        match error {
            SendError::Preflight(f) => json!({
                "code": -32002,
                "message": "Transaction simulation failed",
                "data": { "err": failure(f), "logs": logs(Some(f)) },
            }),
            SendError::Transport(e) => json!({ "code": -32603, "message": e.to_string() }),
        }
    }
}

#[cfg(test)]
mod tests;
