//! The request bodies: one typed DTO per route, read from the body's JSON object by [`super::json::dto`],
//! which refuses a member of the wrong type or one the route does not know, naming its exact path
//! (`destination.chainId`, `display.paymentOptions[1][0]`). What the values mean (addresses, amounts, the
//! deployment's tokens, URLs) is checked where a DTO becomes the domain's types (`create`, `webhooks`).
//!
//! A member the route requires is still an `Option` here (the document says it is required), so a
//! missing and a `null` member are both `missing_parameter`, as the checks that follow name them. The
//! same types are the OpenAPI document's request schemas.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, de};
use utoipa::ToSchema;

/// A member told apart from an absent one even when it is `null` (with `#[serde(default)]`): `None` if
/// not given, `Some(None)` if `null`. For members whose mere presence is refused somewhere.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /v1/sessions` (spec: `CreateSessionRequest`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "destination": {
        "type": "evm",
        "address": "0x1111111111111111111111111111111111111111",
        "chainId": 8453,
        "tokenAddress": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        "amountUnits": "10.00"
    },
    "display": { "title": "Deposit to Acme", "verb": "Deposit" },
    "metadata": { "orderId": "1234" }
}))]
pub struct CreateSessionRequest {
    /// Where funds go.
    #[schema(value_type = DestinationInput, required = true)]
    pub destination: Option<DestinationInput>,
    /// Checkout page settings.
    #[schema(value_type = DisplayInput, required = true)]
    pub display: Option<DisplayInput>,
    /// Up to 50 string pairs; keys 1–40 characters, values up to 500.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Where funds go if they cannot be delivered; required with `calldata`.
    pub refund_address: Option<String>,
}

/// The destination of a new session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationInput {
    /// `evm`, or `solana` where a Solana chain is configured (else `unsupported_destination`).
    #[serde(rename = "type")]
    #[schema(value_type = String, required = true)]
    pub kind: Option<String>,
    /// `evm`: `^0x[0-9a-fA-F]{40}$`, EIP-55 when mixed case. `solana`: base58 owner address,
    /// `^[1-9A-HJ-NP-Za-km-z]{32,44}$`.
    #[schema(value_type = String, required = true)]
    pub address: Option<String>,
    /// `evm` only (required there): a configured chain.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    pub chain_id: Option<Option<u64>>,
    /// A configured token of that chain (`solana`: the base58 USDC mint).
    #[schema(value_type = String, required = true)]
    pub token_address: Option<String>,
    /// Fixed amount in token units, at most the token's decimals; omitted: the payer chooses.
    pub amount_units: Option<String>,
    /// 0x-prefixed call data (at most 16 KiB); delivery is approve + call.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub calldata: Option<Option<String>>,
}

/// Checkout page settings of a new session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisplayInput {
    /// Title, 1–200 characters.
    #[schema(value_type = String, required = true)]
    pub title: Option<String>,
    /// Verb, 1–50 characters.
    #[schema(value_type = String, required = true)]
    pub verb: Option<String>,
    /// An http(s) URL.
    pub theme_css_url: Option<String>,
    /// Payment option names, or groups of them.
    pub payment_options: Option<Vec<PaymentOptionInput>>,
}

/// A payment option, or a group shown together.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum PaymentOptionInput {
    /// One option, e.g. `MetaMask`.
    One(String),
    /// A group.
    Group(Vec<String>),
}

/// By hand rather than `untagged`: a wrong member inside a group is named by its own index
/// (`display.paymentOptions[0][1]`), not just the group's.
impl<'de> Deserialize<'de> for PaymentOptionInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = PaymentOptionInput;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a payment option name or an array of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(PaymentOptionInput::One(v.to_owned()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = vec![];
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(PaymentOptionInput::Group(names))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `POST /v1/sessions/{id}/paymentMethods`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "paymentMethod": { "type": "evm" } }))]
pub struct SetPaymentMethodRequest {
    /// Required without an API key.
    pub client_secret: Option<String>,
    /// The method.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = PaymentMethodInput, required = true)]
    pub payment_method: Option<Option<PaymentMethodInput>>,
    /// The method's type without the `paymentMethod` wrapper: read only when that is absent, so any
    /// JSON value is taken here and judged then.
    #[serde(rename = "type")]
    #[schema(ignore)]
    pub kind: Option<BareType>,
    /// The payer's language, as Daimo's SDK sends it with every request (`en`, `es`, …). Accepted and
    /// not used: the checkout page and the API's messages are in English.
    pub locale: Option<String>,
}

/// The top-level `type` of a `paymentMethods` body, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareType {
    /// A string.
    Text(String),
    /// Any other JSON value (not `null`: that is no `type`).
    Other,
}

impl<'de> Deserialize<'de> for BareType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Self::Text(s),
            _ => Self::Other,
        })
    }
}

/// A payment method choice.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentMethodInput {
    /// `evm`, `tron` or `solana` where such a chain is configured (`stripe`, `fiat` answer
    /// `unsupported_payment_method`).
    #[serde(rename = "type")]
    #[schema(value_type = String, required = true)]
    pub kind: Option<String>,
    /// For `fiat`: `interac`, `ach`, `sepa` or `apple_pay`.
    pub fiat_method: Option<String>,
    /// For `exchange` (Daimo's SDK): the exchange paid from. This deployment offers no exchange, so
    /// the method is refused as unsupported; the member is read only so the refusal says that.
    #[schema(value_type = Option<String>)]
    pub exchange_id: Option<serde_json::Value>,
    /// For `exchange` (Daimo's SDK): the payer's platform; as `exchangeId`.
    #[schema(value_type = Option<String>)]
    pub platform: Option<serde_json::Value>,
    /// For `solana` (required): the paying wallet, base58. The transaction is built for it, and the
    /// session's Solana vault refunds to it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub wallet_address: Option<Option<String>>,
    /// For `solana`: the base58 mint paid with (default: the deployment's USDC).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub input_token_mint: Option<Option<String>>,
    /// What the payer sends, in USD (at most 6 decimals); required for `solana` on an open-amount
    /// session.
    #[schema(value_type = Option<String>)]
    pub amount_usd: Option<UsdAmount>,
}

/// A USD amount as given: a decimal string (exact, judged as written), or a JSON number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsdAmount {
    /// A decimal string: more precision than the token has is refused.
    Text(String),
    /// A JSON number, as written in the request. Daimo's SDK sends a JavaScript number (`amountUsd:
    /// number`), where `0.1 + 0.2` is written `0.30000000000000004`: binary noise, not a precision the
    /// payer asked for, so a number is rounded to the token's decimals.
    Number(String),
}

impl<'de> Deserialize<'de> for UsdAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Self::Text(s)),
            serde_json::Value::Number(n) => Ok(Self::Number(n.to_string())),
            _ => Err(de::Error::custom("must be a decimal amount")),
        }
    }
}

/// `PUT /v1/sessions/{id}/check`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct CheckRequest {
    /// Required without an API key.
    pub client_secret: Option<String>,
    /// A 0x-prefixed 32-byte transaction hash, or a base58 Solana signature, to look at right away.
    pub tx_hash: Option<String>,
}

/// `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "url": "https://example.com/webhooks/deposits", "events": ["*"], "description": "orders" }))]
pub struct CreateWebhookRequest {
    /// `https://` (or `http://` on loopback where the deployment allows it), at most 2048 characters,
    /// no credentials, no fragment, and a public host: loopback and private-network addresses only
    /// where the deployment allows them, link-local and reserved addresses never.
    #[schema(value_type = String, required = true)]
    pub url: Option<String>,
    /// Event types to receive (`*`: all; default `["*"]`): `session.payment_method_set`,
    /// `session.processing`, `session.succeeded`, `session.bounced`, `session.expired`, `session.updated`.
    pub events: Option<Vec<String>>,
    /// Up to 500 characters.
    pub description: Option<String>,
}

/// `POST /v1/webhooks/{id}/test`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "eventType": "session.succeeded" }))]
pub struct TestWebhookRequest {
    /// The event type to send (with `isTestEvent: true`).
    #[schema(value_type = String, required = true)]
    pub event_type: Option<String>,
}
