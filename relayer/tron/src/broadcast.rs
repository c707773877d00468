//! What a Tron node's answer to `/wallet/broadcasthex` (or `broadcasttransaction`) means for the submit
//! pipeline: sent, or unclear (it may have
//! reached the network: the transaction id is looked up before anything else is sent for that work, and
//! a replacement is built only once the first provably cannot land, past its expiration).
//!
//! "Never sent" is never said on a node's word: every refusal proves at most that *this* node did not
//! relay it, and an endpoint is often a gateway over several nodes (or a node that pooled the transaction
//! and then failed to relay it, `NOT_ENOUGH_EFFECTIVE_CONNECTION`): treating those as never sent would let
//! a second transaction for the same work go live beside the first. Even `SIGERROR` and the too-big codes,
//! which no honest node would answer to these bytes (the sender checks the signature and the size itself
//! before anything is sent), leave the transaction on record: a node that says them anyway is lying or
//! broken, and must not be able to make the relayer give the work up for good. The record goes once the
//! transaction provably never lands (its expiration passed), and the work is rebuilt.
//!
//! java-tron answers HTTP 200 for nearly everything: `{"result": true, "txid"}` when accepted (hosted
//! endpoints may leave out `code`), `{"result": false, "code", "message"}` when refused, the message
//! hex-encoded UTF-8; and `{"Error": "class …Exception : …"}` when the request itself broke.

use relayer_chain::pipeline::SendFailure;
use relayer_util::redact_urls;
use serde_json::Value;

/// The answer to a broadcast.
pub fn outcome(status: u16, body: &str) -> Result<(), SendFailure> {
    // What a node or a gateway says may echo the request's URL, a provider's key in its path.
    let unsure = |why: String| Err(SendFailure::Unsure(redact_urls(&why)));
    let Ok(answer) = serde_json::from_str::<Value>(body) else {
        return unsure(format!("HTTP {status}, not JSON: {}", clip(body)));
    };
    if let Some(error) = answer.get("Error") {
        // The node failed on the request; whether the transaction went anywhere is not said.
        return unsure(format!("HTTP {status}: {}", text(error)));
    }
    if !(200..300).contains(&status) {
        return unsure(format!("HTTP {status}: {}", clip(body)));
    }
    let code = answer.get("code").and_then(Value::as_str);
    let message = answer.get("message").map(message).unwrap_or_default();
    if answer.get("result").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    match code {
        // Already in the node's pool or on chain: the same bytes, so sent.
        Some("DUP_TRANSACTION_ERROR") => Ok(()),
        // Refused by this node (short of TRX or bandwidth, busy, poorly connected, behind, an unknown
        // reference block, a revert in its check, `OTHER_ERROR`, a code this build does not know; and
        // `SIGERROR` or too big, which these bytes are not: see the module's docs), or nothing said: the
        // bytes may still land through another node.
        Some(code) => unsure(format!("{code}: {message}")),
        None => unsure(format!("no result and no code: {}", clip(body))),
    }
}

/// A node's `message`: hex of UTF-8 text (java-tron's `ByteArray.toHexString`), or plain text.
pub fn message(value: &Value) -> String {
    let text = text(value);
    match hex::decode(&text).ok().and_then(|bytes| String::from_utf8(bytes).ok()) {
        Some(decoded) if !text.is_empty() => decoded,
        _ => text,
    }
}

fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

fn clip(body: &str) -> String {
    body.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers as java-tron writes them (Tron's documentation, and its `Return.response_code` values).
    #[test]
    fn each_broadcast_answer_means_one_thing_for_the_pipeline() {
        type Want = fn(&Result<(), SendFailure>) -> bool;
        let sent: Want = |r| r.is_ok();
        let unsure: Want = |r| matches!(r, Err(SendFailure::Unsure(_)));
        let refused =
            |code: &str| format!(r#"{{"result":false,"code":"{code}","message":"4475702e","txid":"ab"}}"#);
        let table: Vec<(u16, String, Want, &str)> = vec![
            (200, r#"{"result":true,"code":"SUCCESS","txid":"d5ec"}"#.into(), sent, "accepted"),
            (
                200,
                r#"{"result":true,"txid":"d5ec"}"#.into(),
                sent,
                "accepted, code left out by a hosted node",
            ),
            (
                200,
                r#"{"result":true,"code":"SUCCESS","message":"","transaction":"{}","txid":"d5"}"#.into(),
                sent,
                "broadcasthex",
            ),
            (
                200,
                r#"{"result":false,"code":"DUP_TRANSACTION_ERROR","message":"Dup transaction.","txid":"d5"}"#
                    .into(),
                sent,
                "a duplicate",
            ),
            (200, refused("CONTRACT_VALIDATE_ERROR"), unsure, "short of TRX"),
            (200, refused("CONTRACT_EXE_ERROR"), unsure, "reverted in the node's check"),
            (200, refused("BANDWITH_ERROR"), unsure, "no bandwidth"),
            (200, refused("SERVER_BUSY"), unsure, "busy"),
            (200, refused("NO_CONNECTION"), unsure, "no peers"),
            (200, refused("NOT_ENOUGH_EFFECTIVE_CONNECTION"), unsure, "few peers"),
            (200, refused("BLOCK_UNSOLIDIFIED"), unsure, "behind"),
            (200, refused("TAPOS_ERROR"), unsure, "unknown reference block"),
            (200, refused("TRANSACTION_EXPIRATION_ERROR"), unsure, "expired"),
            // Never true of the bytes the sender checked: a lying or broken node; the record stays.
            (200, refused("SIGERROR"), unsure, "a signature said not to verify"),
            (200, refused("TOO_BIG_TRANSACTION_ERROR"), unsure, "said to be too big"),
            (200, refused("OTHER_ERROR"), unsure, "other"),
            (200, refused("A_CODE_FROM_THE_FUTURE"), unsure, "unknown code"),
            (
                200,
                r#"{"Error":"class java.lang.NullPointerException : null"}"#.into(),
                unsure,
                "HTTP 200 with Error",
            ),
            (
                200,
                r#"{"Error":"class org.tron.json.JSONException : Unexpected end"}"#.into(),
                unsure,
                "bad JSON",
            ),
            (200, r#"{}"#.into(), unsure, "nothing said"),
            (502, "<html>Bad Gateway</html>".into(), unsure, "a proxy's page"),
            (503, r#"{"result":false,"code":"SERVER_BUSY"}"#.into(), unsure, "an HTTP error status"),
        ];
        for (status, body, want, what) in table {
            let got = outcome(status, &body);
            assert!(want(&got), "{what}: {got:?}");
        }
    }

    #[test]
    fn what_a_gateway_echoes_of_the_url_is_cut_to_its_host() {
        let body = r#"{"Error":"upstream https://tron.example/v1/SECRETKEY123/wallet/broadcasthex failed"}"#;
        let Err(SendFailure::Unsure(why)) = outcome(200, body) else { panic!("not unsure") };
        assert!(!why.contains("SECRETKEY123"), "{why}");
    }

    #[test]
    fn a_refusal_says_the_nodes_message_decoded() {
        let body = r#"{"result":false,"code":"CONTRACT_VALIDATE_ERROR","message":"436f6e74726163742076616c6964617465206572726f72203a206163636f756e74206e6f7420657869737473"}"#;
        let Err(SendFailure::Unsure(why)) = outcome(200, body) else {
            panic!("not a refusal");
        };
        assert_eq!(why, "CONTRACT_VALIDATE_ERROR: Contract validate error : account not exists");
        assert_eq!(message(&Value::String("Dup transaction.".into())), "Dup transaction.");
        assert_eq!(message(&Value::String(String::new())), "");
    }
}
