//! A Tron node's HTTP API, as the family calls it: blocks (head and solidified), transaction lookups,
//! energy estimates, chain parameters, constant calls and broadcasts. Hosted endpoints take an API key
//! in a header (`TRON-PRO-API-KEY` on TronGrid); it is sent on every request and never printed: it lives
//! in a [`Secret`], and error texts carry the URL cut to its host ([`relayer_util::redact_urls`]).

use std::time::Duration;

use alloy::primitives::{Address, B256};
use relayer_chain::{Refusal, pipeline::SendFailure};
use relayer_util::{Secret, causes};
use serde_json::{Value, json};

use crate::{
    answers::{self, Block, Landing, Resources},
    broadcast,
    tx::{Call, Signed, tron_address},
};

/// The largest answer read from a node: a busy block with all its transactions is a few MiB.
const MAX_ANSWER: usize = 16 << 20;

/// Where the node is, and how to speak to it. (`Debug` shows the URL's host only: a provider's key may
/// be in its path.)
#[derive(Clone)]
pub struct NodeConfig {
    /// The HTTP API's base URL (`https://api.trongrid.io`, or a full node's `http://host:8090`).
    pub url: String,
    /// Where `/walletsolidity/*` is served, if not at `url` (a java-tron full node serves it on its
    /// solidity port, `http://host:8091`; hosted endpoints serve both at one URL).
    pub solidity_url: Option<String>,
    /// The API key header's name and value, for hosted endpoints.
    pub api_key: Option<(String, Secret)>,
    /// How long one request may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("url", &relayer_util::redact_urls(&self.url))
            .field("solidity_url", &self.solidity_url.as_deref().map(relayer_util::redact_urls))
            .field("api_key", &self.api_key)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A Tron node's HTTP API.
#[derive(Debug, Clone)]
pub struct Node {
    config: NodeConfig,
    http: reqwest::Client,
}

impl Node {
    /// A client for `config`.
    pub fn new(config: NodeConfig) -> Result<Self, String> {
        // No redirects: the API key header would follow one to whatever host it names (reqwest drops
        // only its own sensitive headers on a cross-host redirect), and a node's API never redirects.
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| causes(&e))?;
        Ok(Self { config, http })
    }

    /// POSTs `body` to `path`: the HTTP status and the body's text.
    async fn post(&self, path: &str, body: &Value) -> Result<(u16, String), String> {
        let base = match &self.config.solidity_url {
            Some(solidity) if path.starts_with("/walletsolidity/") => solidity,
            _ => &self.config.url,
        };
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let mut request = self.http.post(url).json(body);
        if let Some((header, key)) = &self.config.api_key {
            request = request.header(header.as_str(), key.expose());
        }
        let mut response = request.send().await.map_err(|e| causes(&e))?;
        let status = response.status().as_u16();
        // Read at most MAX_ANSWER bytes: an endpoint that streams without end cannot exhaust memory.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| causes(&e))? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(format!("{path}: an answer over {MAX_ANSWER} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, self.masked(String::from_utf8_lossy(&body).into_owned())))
    }

    /// `text` with the API key's value masked: a gateway may echo the header it was sent.
    fn masked(&self, text: String) -> String {
        match &self.config.api_key {
            Some((_, key)) if !key.expose().is_empty() => text.replace(key.expose(), "[redacted]"),
            _ => text,
        }
    }

    /// POSTs and reads a JSON answer from a 2xx status (an answer with an `Error` field is an error).
    async fn ask(&self, path: &str, body: &Value) -> Result<Value, String> {
        let (status, text) = self.post(path, body).await?;
        // What a node or a gateway in front of it says may echo the request's URL, key and all.
        let said = |text: &str| relayer_util::redact_urls(&text.chars().take(200).collect::<String>());
        let answer: Value = serde_json::from_str(&text)
            .map_err(|_| format!("{path}: HTTP {status}, not JSON: {}", said(&text)))?;
        if !(200..300).contains(&status) {
            return Err(format!("{path}: HTTP {status}: {}", said(&answer.to_string())));
        }
        if let Some(error) = answer.get("Error") {
            return Err(format!("{path}: {}", said(&broadcast::message(error))));
        }
        Ok(answer)
    }

    /// The head block (`solidified`: the last irreversible one).
    pub async fn block(&self, solidified: bool) -> Result<Block, String> {
        let path = if solidified { "/walletsolidity/getnowblock" } else { "/wallet/getnowblock" };
        answers::block(&self.ask(path, &json!({})).await?)
    }

    /// The id of the network's first block: Tron's chain id is its last four bytes.
    pub async fn genesis_id(&self) -> Result<B256, String> {
        let answer = self.ask("/wallet/getblockbynum", &json!({ "num": 0 })).await?;
        answer["blockID"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| "no blockID for block 0".into())
    }

    /// Where transaction `txid` stands (`solidified`: only as far as irreversible blocks go).
    pub async fn landing(&self, txid: B256, solidified: bool) -> Result<Landing, String> {
        let path = if solidified {
            "/walletsolidity/gettransactioninfobyid"
        } else {
            "/wallet/gettransactioninfobyid"
        };
        answers::landing(&self.ask(path, &json!({ "value": hex::encode(txid) })).await?)
    }

    /// The energy `call` needs now.
    pub async fn energy(&self, call: &Call) -> Result<u64, Refusal> {
        let answer =
            self.ask("/wallet/estimateenergy", &call_body(call)).await.map_err(Refusal::Unanswered)?;
        answers::energy(&answer)
    }

    /// The price of a unit of energy, in sun.
    pub async fn energy_price(&self) -> Result<u64, String> {
        answers::energy_price(&self.ask("/wallet/getchainparameters", &json!({})).await?)
    }

    /// What `owner`'s account has to pay for transactions.
    pub async fn resources(&self, owner: Address) -> Result<Resources, String> {
        let body = json!({ "address": hex::encode(tron_address(owner)), "visible": false });
        let account = self.ask("/wallet/getaccount", &body).await?;
        let resource = self.ask("/wallet/getaccountresource", &body).await?;
        Ok(answers::resources(&account, &resource))
    }

    /// Runs `call` without a transaction (as `eth_call`): what it returned, its revert data, or why the
    /// node would not run it. (`Err`: no answer.)
    pub async fn constant(&self, call: &Call) -> Result<Constant, String> {
        Ok(self.constant_and_energy(call).await?.0)
    }

    /// [`Node::constant`], and the energy the call used (java-tron's `energy_used`; 0 if not said).
    pub async fn constant_and_energy(&self, call: &Call) -> Result<(Constant, u64), String> {
        let answer = self.ask("/wallet/triggerconstantcontract", &call_body(call)).await?;
        Ok((constant(&answer)?, answer["energy_used"].as_u64().unwrap_or_default()))
    }

    /// Broadcasts `signed` (see [`broadcast::outcome`] for what the answer means).
    pub async fn broadcast(&self, signed: &Signed) -> Result<(), SendFailure> {
        let bytes = signed.encode().map_err(|e| SendFailure::Refused(Refusal::Permanent(e.to_string())))?;
        // A request that failed on the way may still have reached the node.
        let (status, text) = self
            .post("/wallet/broadcasthex", &json!({ "transaction": hex::encode(bytes) }))
            .await
            .map_err(SendFailure::Unsure)?;
        broadcast::outcome(status, &text)
    }
}

/// What a constant call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constant {
    /// It ran: its return data.
    Returned(Vec<u8>),
    /// It reverted (`ret` `FAILED`): its revert data (the router's error), possibly empty.
    Reverted(Vec<u8>),
    /// The node would not run it (`result.result` not true: a validation error, the node's own
    /// trouble), with its message: nothing about the call itself.
    Refused(String),
}

/// Reads a `triggerconstantcontract` answer. java-tron answers a revert with `result.result` true,
/// `transaction.ret[0].ret` `FAILED` and the revert data in `constant_result[0]`.
fn constant(answer: &Value) -> Result<Constant, String> {
    let result = &answer["result"];
    if result["result"].as_bool() != Some(true) {
        let code = result["code"].as_str().unwrap_or("no code");
        return Ok(Constant::Refused(format!("{code}: {}", broadcast::message(&result["message"]))));
    }
    let output = answer["constant_result"][0].as_str().unwrap_or_default();
    let output = hex::decode(output).map_err(|e| format!("constant_result is not hex: {e}"))?;
    Ok(if answer["transaction"]["ret"][0]["ret"] == "FAILED" {
        Constant::Reverted(output)
    } else {
        Constant::Returned(output)
    })
}

/// The body of `estimateenergy` and `triggerconstantcontract` for `call` (hex addresses with `41`).
fn call_body(call: &Call) -> Value {
    json!({
        "owner_address": hex::encode(tron_address(call.owner)),
        "contract_address": hex::encode(tron_address(call.contract)),
        "data": hex::encode(&call.data),
        "call_value": call.call_value,
        "visible": false,
    })
}

#[cfg(test)]
mod tests;
