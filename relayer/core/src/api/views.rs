//! Sessions as the API shows them: field names and casing exactly as the spec, EIP-55 addresses,
//! amounts as decimal strings in token units. `full` adds `metadata` and `clientSecret` (API key only),
//! and `deliveryAttempts`: this relayer's record of its delivery work (not in the spec; an addition
//! for the integrator's operators, never shown to the public view).

use relayer_types::{PaymentMethod, Session, WorkRecord, WorkState, format_units};
use serde_json::{Map, Value, json};

/// The session object; `SessionPublicInfo` when `full` is false.
pub fn session(s: &Session, full: bool) -> Value {
    let d = &s.destination;
    let t = &d.token;
    let mut destination = json!({
        "type": "evm",
        "address": d.address.to_checksum(None),
        "chainId": t.chain_id,
        "chainName": t.chain_name,
        "tokenAddress": t.address.to_checksum(None),
        "tokenSymbol": t.symbol,
    });
    if let Some(amount) = d.amount {
        destination["amountUnits"] = format_units(amount, t.decimals).into();
    }
    if let Some(calldata) = &d.calldata {
        destination["calldata"] = calldata.to_string().into();
    }
    if let Some(delivery) = &d.delivery {
        destination["delivery"] = json!({
            "txHash": delivery.tx_hash.to_string(),
            "receivedUnits": format_units(delivery.received, t.decimals),
        });
    }
    let mut display = json!({ "title": s.display.title, "verb": s.display.verb });
    if let Some(url) = &s.display.theme_css_url {
        display["themeCssUrl"] = url.clone().into();
    }
    let payment_method = match &s.payment_method {
        None => Value::Null,
        Some(PaymentMethod::Evm { receiver, source, created_at }) => {
            let mut pm = json!({
                "type": "evm",
                "receiverAddress": receiver.to_checksum(None),
                "createdAt": created_at,
            });
            if let Some(src) = source {
                pm["source"] = json!({
                    "address": src.from.to_checksum(None),
                    "chainId": src.token.chain_id,
                    "chainName": src.token.chain_name,
                    "tokenAddress": src.token.address.to_checksum(None),
                    "tokenSymbol": src.token.symbol,
                    "sentUnits": format_units(src.sent, src.token.decimals),
                    "txHash": src.tx_hash.to_string(),
                });
            }
            pm
        }
    };
    let mut out = Map::new();
    out.insert("sessionId".into(), s.id.to_string().into());
    out.insert("status".into(), s.status.as_str().into());
    out.insert("destination".into(), destination);
    out.insert("display".into(), display);
    out.insert("paymentMethod".into(), payment_method);
    if full {
        out.insert("metadata".into(), s.metadata.as_ref().map_or(Value::Null, |m| json!(m)));
        out.insert("clientSecret".into(), s.client_secret.to_string().into());
        out.insert("deliveryAttempts".into(), s.work.iter().map(work).collect());
    }
    out.insert("createdAt".into(), s.created_at.into());
    out.insert("expiresAt".into(), s.expires_at.into());
    Value::Object(out)
}

/// One work record: `{chainId, action, attempts, state, updatedAt}` plus `txHash`, `reason` or
/// `retryAt` as the state has them.
fn work(w: &WorkRecord) -> Value {
    let mut out = json!({
        "chainId": w.chain_id,
        "action": w.action.name(),
        "tokenAddress": w.action.token().to_checksum(None),
        "attempts": w.attempts,
        "state": w.state.name(),
        "updatedAt": w.updated_at,
    });
    match &w.state {
        WorkState::Sent { tx_hash } | WorkState::Reverted { tx_hash } => {
            out["txHash"] = tx_hash.to_string().into();
        }
        WorkState::Done { reason } | WorkState::GaveUp { reason } => out["reason"] = reason.clone().into(),
        WorkState::Retrying { reason, retry_at } => {
            out["reason"] = reason.clone().into();
            out["retryAt"] = (*retry_at).into();
        }
    }
    out
}
