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
    AccountView, ClientError, InnerInstruction, Page, SIGNATURES_PER_PAGE, SendError, SignatureInfo,
    Simulation, SvmClient, TokenBalance, TxFailure, TxStatus, TxView,
};

/// A JSON-RPC endpoint.
pub struct RpcClient {
    url: String,
    http: reqwest::Client,
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
    ClientError(format!("unexpected {what}: {value}"))
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
pub fn decode_failure(err: &Value) -> Option<TxFailure> {
    if err.is_null() {
        return None;
    }
    let custom = err["InstructionError"][1]["Custom"].as_u64().and_then(|c| u32::try_from(c).ok());
    let text = || err.as_str().map_or_else(|| err.to_string(), str::to_owned);
    Some(custom.map_or_else(|| TxFailure::Other(text()), TxFailure::Custom))
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
        failure: decode_failure(&value["err"]),
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
            Ok(Some(TxStatus {
                slot: u64_of(&s["slot"])?,
                failed: !s["err"].is_null(),
                finalized: s["confirmationStatus"] == FINALIZED,
            }))
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
                data: BASE64.decode(data).map_err(|e| ClientError(format!("account data: {e}")))?,
            }))
        })
        .collect()
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
    let mut inner_instructions = vec![];
    for group in meta["innerInstructions"].as_array().into_iter().flatten() {
        let outer = usize::try_from(u64_of(&group["index"])?).map_err(|_| bad("index", group))?;
        for ix in group["instructions"].as_array().into_iter().flatten() {
            let program = usize::try_from(u64_of(&ix["programIdIndex"])?).map_err(|_| bad("index", ix))?;
            let program = *account_keys.get(program).ok_or_else(|| bad("program index", ix))?;
            let data = ix["data"].as_str().ok_or_else(|| bad("instruction data", ix))?;
            let data =
                bs58::decode(data).into_vec().map_err(|e| ClientError(format!("instruction data: {e}")))?;
            inner_instructions.push(InnerInstruction { outer, program, data });
        }
    }
    Ok(Some(TxView {
        signature: signature(&tx["signatures"][0])?,
        slot: u64_of(&result["slot"])?,
        failed: !meta["err"].is_null(),
        account_keys,
        pre_token_balances: token_balances(&meta["preTokenBalances"])?,
        post_token_balances: token_balances(&meta["postTokenBalances"])?,
        inner_instructions,
    }))
}

/// `sendTransaction`'s error: a failed preflight carries the transaction error in `data.err`.
pub fn decode_send_error(error: &RpcError) -> SendError {
    match decode_failure(&error.data["err"]) {
        Some(failure) => SendError::Preflight(failure),
        None => {
            SendError::Transport(ClientError(format!("sendTransaction: {} {}", error.code, error.message)))
        }
    }
}

impl RpcClient {
    /// A client for `url`, each request bounded by `timeout`.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<Self, ClientError> {
        let http =
            reqwest::Client::builder().timeout(timeout).build().map_err(|e| ClientError(e.to_string()))?;
        Ok(Self { url: url.into(), http })
    }

    /// One JSON-RPC call: `Ok(result)`, `Err(Ok(error object))`, or `Err(Err(transport failure))`.
    async fn call(&self, method: &str, params: Value) -> Result<Value, Result<RpcError, ClientError>> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let answer: Value =
            async { self.http.post(&self.url).json(&body).send().await?.error_for_status()?.json().await }
                .await
                .map_err(|e: reqwest::Error| Err(ClientError(format!("{method}: {e}"))))?;
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
            Ok(rpc) => ClientError(format!("{method}: {} {}", rpc.code, rpc.message)),
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
            let params =
                json!([BASE64.encode(raw), { "encoding": "base64", "preflightCommitment": FINALIZED }]);
            match self.call("sendTransaction", params).await {
                Ok(result) => Ok(signature(&result)?),
                Err(Ok(rpc)) => Err(decode_send_error(&rpc)),
                Err(Err(transport)) => Err(SendError::Transport(transport)),
            }
        })
    }

    fn simulate(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Simulation, ClientError>> {
        Box::pin(async move {
            let params = json!([BASE64.encode(raw), { "encoding": "base64", "commitment": FINALIZED, "sigVerify": false }]);
            decode_simulation(&self.result("simulateTransaction", params).await?)
        })
    }

    fn statuses(
        &self,
        signatures: Vec<Signature>,
    ) -> BoxFuture<'_, Result<Vec<Option<TxStatus>>, ClientError>> {
        Box::pin(async move {
            let list: Vec<String> = signatures.iter().map(ToString::to_string).collect();
            let params = json!([list, { "searchTransactionHistory": true }]);
            decode_statuses(&self.result("getSignatureStatuses", params).await?)
        })
    }

    fn accounts(&self, keys: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<Option<AccountView>>, ClientError>> {
        Box::pin(async move {
            let list: Vec<String> = keys.iter().map(ToString::to_string).collect();
            let params = json!([list, { "encoding": "base64", "commitment": FINALIZED }]);
            decode_accounts(&self.result("getMultipleAccounts", params).await?)
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
        json!({ "context": { "slot": 0 }, "value": value })
    }

    /// A transaction error.
    pub fn failure(failure: &TxFailure) -> Value {
        match failure {
            TxFailure::Custom(code) => json!({ "InstructionError": [0, { "Custom": code }] }),
            TxFailure::Other(text) => Value::String(text.clone()),
        }
    }

    /// `getLatestBlockhash`.
    pub fn blockhash(hash: &solana_sdk::hash::Hash, last_valid: u64) -> Value {
        context(json!({ "blockhash": hash.to_string(), "lastValidBlockHeight": last_valid }))
    }

    /// `simulateTransaction`.
    pub fn simulation(sim: &Simulation) -> Value {
        let err = sim.failure.as_ref().map_or(Value::Null, failure);
        context(
            json!({ "err": err, "logs": [], "accounts": null, "returnData": null, "unitsConsumed": sim.units }),
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
                    "confirmationStatus": if s.finalized { FINALIZED } else { "confirmed" },
                }),
            })
            .collect();
        context(Value::Array(list))
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
                "message": { "accountKeys": view.account_keys.iter().map(ToString::to_string).collect::<Vec<_>>() },
            },
        })
    }

    /// A `sendTransaction` error object.
    pub fn send_error(error: &SendError) -> Value {
        match error {
            SendError::Preflight(f) => json!({
                "code": -32002,
                "message": "Transaction simulation failed",
                "data": { "err": failure(f) },
            }),
            SendError::Transport(e) => json!({ "code": -32603, "message": e.to_string() }),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Answers as Solana's JSON-RPC documents them (https://solana.com/docs/rpc), field for field.

    use super::*;

    fn parse(text: &str) -> Value {
        serde_json::from_str::<Value>(text).expect("json")["result"].clone()
    }

    const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
    const TOKEN: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";

    #[test]
    fn blockhash_and_simulation_answers() {
        let answer = parse(
            r#"{"jsonrpc":"2.0","result":{"context":{"slot":2792},"value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":3090}},"id":1}"#,
        );
        let (hash, last) = decode_blockhash(&answer).expect("blockhash");
        assert_eq!((hash.to_string().as_str(), last), ("EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N", 3090));

        let failed = parse(
            r#"{"jsonrpc":"2.0","result":{"context":{"slot":218},"value":{"err":{"InstructionError":[0,{"Custom":6003}]},"accounts":null,"logs":["Program 2dnu8sNDGGAHV6vTNZ7dieMx7Zg6c7PUpbGHGuzzXp1R invoke [1]"],"returnData":null,"unitsConsumed":5210}},"id":1}"#,
        );
        let sim = decode_simulation(&failed).expect("simulation");
        assert_eq!((sim.failure, sim.units), (Some(TxFailure::Custom(6003)), 5210));
        let ok = parse(
            r#"{"jsonrpc":"2.0","result":{"context":{"slot":218},"value":{"err":null,"accounts":null,"logs":[],"returnData":null,"unitsConsumed":37223}},"id":1}"#,
        );
        assert_eq!(decode_simulation(&ok).expect("simulation").failure, None);
        let other = decode_failure(&json!("BlockhashNotFound"));
        assert_eq!(other, Some(TxFailure::Other("BlockhashNotFound".into())));
    }

    #[test]
    fn status_account_and_signature_lists() {
        let statuses = parse(
            r#"{"jsonrpc":"2.0","result":{"context":{"slot":82},"value":[{"slot":48,"confirmations":null,"err":null,"status":{"Ok":null},"confirmationStatus":"finalized"},null,{"slot":49,"confirmations":3,"err":{"InstructionError":[0,{"Custom":3012}]},"status":{"Err":{"InstructionError":[0,{"Custom":3012}]}},"confirmationStatus":"confirmed"}]},"id":1}"#,
        );
        assert_eq!(
            decode_statuses(&statuses).expect("statuses"),
            vec![
                Some(TxStatus { slot: 48, failed: false, finalized: true }),
                None,
                Some(TxStatus { slot: 49, failed: true, finalized: false }),
            ]
        );
        // A token account: 165 bytes, base64.
        let mut data = vec![0u8; 165];
        data[64..72].copy_from_slice(&7_000_000u64.to_le_bytes());
        data[108] = 1; // initialized
        let accounts = parse(&format!(
            r#"{{"jsonrpc":"2.0","result":{{"context":{{"slot":1}},"value":[{{"data":["{}","base64"],"executable":false,"lamports":2039280,"owner":"{TOKEN}","rentEpoch":18446744073709551615,"space":165}},null]}},"id":1}}"#,
            BASE64.encode(&data)
        ));
        let decoded = decode_accounts(&accounts).expect("accounts");
        assert_eq!(decoded.len(), 2);
        let first = decoded[0].as_ref().expect("account");
        assert_eq!(
            (first.lamports, first.owner.to_string().as_str(), first.data.len()),
            (2_039_280, TOKEN, 165)
        );
        assert_eq!(crate::tx::token_account(&first.data).map(|t| t.2), Some(7_000_000));
        assert_eq!(decoded[1], None);

        let signatures = parse(
            r#"{"jsonrpc":"2.0","result":[{"err":null,"memo":null,"signature":"5h6xBEauJ3PK6SWCZ1PGjBvj8vDdWG3KpwATGy1ARAXFSDwt8GFXM7W5Ncn16wmqokgpiKRLuS83KUxyZyv2sUYv","slot":114,"blockTime":null,"confirmationStatus":"finalized"},{"err":{"InstructionError":[1,{"Custom":1}]},"memo":null,"signature":"4RPdd4FvV3qFXyQFrq5DNZS6AGGiYgfiExeNgX8mzXaoMmvj8ErjmsLbVwLHGKcggBjHSZrKq44h6ZwxFYhh7Kwk","slot":113,"blockTime":null,"confirmationStatus":"finalized"}],"id":1}"#,
        );
        let list = decode_signatures(&signatures).expect("signatures");
        assert_eq!(
            list.iter().map(|s| (s.slot, s.failed)).collect::<Vec<_>>(),
            vec![(114, false), (113, true)]
        );
    }

    #[test]
    fn a_deposit_transaction_with_an_address_table_and_an_event() {
        let program = deposit_vault::ID.to_string();
        let event_data =
            bs58::encode([anchor_lang::event::EVENT_IX_TAG_LE, &[1, 2, 3]].concat()).into_string();
        let (payer, payer_ata, vault_ata, vault) =
            (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        let loaded = Pubkey::new_unique();
        let answer = json!({ "jsonrpc": "2.0", "id": 1, "result": {
            "slot": 430,
            "blockTime": 1_700_000_000,
            "version": 0,
            "meta": {
                "err": null, "fee": 5000, "status": { "Ok": null },
                "preBalances": [1, 2, 3, 4, 5], "postBalances": [1, 2, 3, 4, 5],
                "preTokenBalances": [
                    { "accountIndex": 1, "mint": USDC, "owner": payer.to_string(), "programId": TOKEN,
                      "uiTokenAmount": { "amount": "25000000", "decimals": 6, "uiAmount": 25.0, "uiAmountString": "25" } }
                ],
                "postTokenBalances": [
                    { "accountIndex": 1, "mint": USDC, "owner": payer.to_string(), "programId": TOKEN,
                      "uiTokenAmount": { "amount": "15000000", "decimals": 6, "uiAmount": 15.0, "uiAmountString": "15" } },
                    { "accountIndex": 2, "mint": USDC, "owner": vault.to_string(), "programId": TOKEN,
                      "uiTokenAmount": { "amount": "10000000", "decimals": 6, "uiAmount": 10.0, "uiAmountString": "10" } }
                ],
                "innerInstructions": [
                    { "index": 0, "instructions": [
                        { "programIdIndex": 5, "accounts": [0], "data": event_data, "stackHeight": 2 }
                    ] }
                ],
                "loadedAddresses": { "writable": [], "readonly": [program] },
                "logMessages": [], "computeUnitsConsumed": 30000
            },
            "transaction": {
                "signatures": ["5h6xBEauJ3PK6SWCZ1PGjBvj8vDdWG3KpwATGy1ARAXFSDwt8GFXM7W5Ncn16wmqokgpiKRLuS83KUxyZyv2sUYv"],
                "message": {
                    "accountKeys": [payer.to_string(), payer_ata.to_string(), vault_ata.to_string(), USDC, loaded.to_string()],
                    "header": { "numRequiredSignatures": 1, "numReadonlySignedAccounts": 0, "numReadonlyUnsignedAccounts": 2 },
                    "recentBlockhash": "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N",
                    "instructions": [],
                    "addressTableLookups": []
                }
            }
        }})["result"]
            .clone();
        let view = decode_transaction(&answer).expect("decode").expect("found");
        assert_eq!(view.slot, 430);
        assert_eq!(view.account_keys.len(), 6, "static keys, then the table's");
        assert_eq!(view.inner_instructions[0].program, deposit_vault::ID, "indexed past the static keys");
        assert_eq!(&view.inner_instructions[0].data[8..], &[1, 2, 3]);
        let inflow = crate::tx::inflow(&view, &vault_ata, 0, None).expect("inflow");
        assert_eq!((inflow.from, inflow.amount, inflow.index), (payer, 10_000_000, 2));
        assert_eq!(decode_transaction(&Value::Null).expect("null"), None, "not found (yet)");
    }

    #[test]
    fn a_failed_preflight_is_told_apart_from_a_transport_failure() {
        let preflight = RpcError {
            code: -32002,
            message:
                "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1774"
                    .into(),
            data: json!({ "accounts": null, "err": { "InstructionError": [0, { "Custom": 6004 }] }, "logs": [], "unitsConsumed": 4000 }),
        };
        assert_eq!(decode_send_error(&preflight), SendError::Preflight(TxFailure::Custom(6004)));
        let busy = RpcError {
            code: -32005,
            message: "Node is behind by 42 slots".into(),
            data: json!({ "numSlotsBehind": 42 }),
        };
        assert!(matches!(decode_send_error(&busy), SendError::Transport(_)));
    }

    /// The transport against a local server answering recorded JSON: what it asks, and how it reads.
    #[tokio::test]
    async fn requests_are_json_rpc_at_finalized_commitment() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let mut seen = vec![];
            for answer in [
                r#"{"jsonrpc":"2.0","result":{"context":{"slot":1},"value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":151}},"id":1}"#,
                r#"{"jsonrpc":"2.0","error":{"code":-32002,"message":"Transaction simulation failed","data":{"err":{"InstructionError":[0,{"Custom":6003}]}}},"id":1}"#,
            ] {
                let (mut socket, _) = listener.accept().await.expect("accept");
                let mut buf = vec![0u8; 65536];
                let mut len = 0;
                // Read headers and the body announced by Content-Length.
                loop {
                    len += socket.read(&mut buf[len..]).await.expect("read");
                    let text = String::from_utf8_lossy(&buf[..len]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if len >= end + 4 + length {
                            seen.push(
                                serde_json::from_str::<Value>(&text[end + 4..end + 4 + length])
                                    .expect("body"),
                            );
                            break;
                        }
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                socket.write_all(response.as_bytes()).await.expect("write");
            }
            seen
        });
        let client = RpcClient::new(url, Duration::from_secs(5)).expect("client");
        let (_, last) = client.latest_blockhash().await.expect("blockhash");
        assert_eq!(last, 151);
        let sent = client.send(vec![1, 2, 3]).await;
        assert_eq!(sent, Err(SendError::Preflight(TxFailure::Custom(6003))));
        let seen = server.await.expect("server");
        assert_eq!(seen[0]["method"], "getLatestBlockhash");
        assert_eq!(seen[0]["params"], json!([{ "commitment": "finalized" }]));
        assert_eq!(seen[1]["method"], "sendTransaction");
        assert_eq!(seen[1]["params"][0], BASE64.encode([1, 2, 3]));
        assert_eq!(seen[1]["params"][1]["encoding"], "base64");
    }

    #[test]
    fn every_encoded_answer_decodes_to_what_it_encoded() {
        use crate::client::{InnerInstruction, TokenBalance};
        let hash = Hash::new_unique();
        assert_eq!(decode_blockhash(&encode::blockhash(&hash, 9)).expect("blockhash"), (hash, 9));
        for failure in
            [None, Some(TxFailure::Custom(6004)), Some(TxFailure::Other("BlockhashNotFound".into()))]
        {
            let sim = Simulation { failure: failure.clone(), units: 12 };
            assert_eq!(decode_simulation(&encode::simulation(&sim)).expect("simulation"), sim);
            if let Some(f) = failure {
                let error = encode::send_error(&SendError::Preflight(f.clone()));
                let rpc = RpcError { code: -32002, message: String::new(), data: error["data"].clone() };
                assert_eq!(decode_send_error(&rpc), SendError::Preflight(f));
            }
        }
        let statuses = vec![Some(TxStatus { slot: 3, failed: true, finalized: true }), None];
        assert_eq!(decode_statuses(&encode::statuses(&statuses)).expect("statuses"), statuses);
        let accounts =
            vec![None, Some(AccountView { lamports: 5, owner: Pubkey::new_unique(), data: vec![1, 2, 3] })];
        assert_eq!(decode_accounts(&encode::accounts(&accounts)).expect("accounts"), accounts);
        let signatures = vec![SignatureInfo { signature: Signature::new_unique(), slot: 4, failed: false }];
        assert_eq!(decode_signatures(&encode::signatures(&signatures)).expect("signatures"), signatures);
        let keys = vec![Pubkey::new_unique(), Pubkey::new_unique(), deposit_vault::ID];
        let balance =
            TokenBalance { account_index: 1, mint: Pubkey::new_unique(), owner: keys[0], amount: 77 };
        let view = TxView {
            signature: Signature::new_unique(),
            slot: 8,
            failed: false,
            account_keys: keys,
            pre_token_balances: vec![],
            post_token_balances: vec![balance],
            inner_instructions: vec![
                InnerInstruction { outer: 0, program: deposit_vault::ID, data: vec![1] },
                InnerInstruction { outer: 0, program: deposit_vault::ID, data: vec![2] },
                InnerInstruction { outer: 1, program: deposit_vault::ID, data: vec![3] },
            ],
        };
        assert_eq!(decode_transaction(&encode::transaction(Some(&view))).expect("tx"), Some(view));
        assert_eq!(decode_transaction(&encode::transaction(None)).expect("none"), None);
    }
}
