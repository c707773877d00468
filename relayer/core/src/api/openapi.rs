//! The OpenAPI 3.1 document, generated from the wire types and the handlers' annotations (never written
//! by hand) and served at `/openapi.json`. The request bodies below document what the validation in
//! `create` and `json` accepts; responses are the types the handlers actually serialize.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    error::{ErrorObject, ErrorResponse, ErrorType},
    webhooks::{
        AttemptView, EventList, EventResponse, EventView, WebhookDeleted, WebhookList, WebhookResponse,
        WebhookView,
    },
    wire::{SessionResponse, SolanaPayment},
};
use crate::view::{
    Delivery, DeliveryAttempt, DepositRecord, DepositSource, DestinationView, Evm, FiatType, MovementRecord,
    PaymentMethodEvm, PaymentMethodFiat, PaymentMethodSolana, PaymentMethodTron, PaymentMethodView,
    SessionDestinationEvm, SessionDestinationSolana, SessionDisplay, SessionObject, SessionPublicInfo,
    SessionView, SolanaType, TronType,
};

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
    pub destination: DestinationInput,
    /// Checkout page settings.
    pub display: DisplayInput,
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
    pub kind: String,
    /// `evm`: `^0x[0-9a-fA-F]{40}$`, EIP-55 when mixed case. `solana`: base58 owner address,
    /// `^[1-9A-HJ-NP-Za-km-z]{32,44}$`.
    pub address: String,
    /// `evm` only (required there): a configured chain.
    pub chain_id: Option<u64>,
    /// A configured token of that chain (`solana`: the base58 USDC mint).
    pub token_address: String,
    /// Fixed amount in token units, at most the token's decimals; omitted: the payer chooses.
    pub amount_units: Option<String>,
    /// 0x-prefixed call data (at most 16 KiB); delivery is approve + call.
    pub calldata: Option<String>,
}

/// Checkout page settings of a new session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisplayInput {
    /// Title, 1–200 characters.
    pub title: String,
    /// Verb, 1–50 characters.
    pub verb: String,
    /// An http(s) URL.
    pub theme_css_url: Option<String>,
    /// Payment option names, or groups of them.
    pub payment_options: Option<Vec<PaymentOptionInput>>,
}

/// A payment option, or a group shown together.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PaymentOptionInput {
    /// One option, e.g. `MetaMask`.
    One(String),
    /// A group.
    Group(Vec<String>),
}

/// `POST /v1/sessions/{id}/paymentMethods`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({ "paymentMethod": { "type": "evm" } }))]
pub struct SetPaymentMethodRequest {
    /// Required without an API key.
    pub client_secret: Option<String>,
    /// The method.
    pub payment_method: PaymentMethodInput,
}

/// A payment method choice.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentMethodInput {
    /// `evm`, `tron` or `solana` where such a chain is configured (`stripe`, `fiat` answer
    /// `unsupported_payment_method`).
    #[serde(rename = "type")]
    pub kind: String,
    /// For `fiat`: `interac`, `ach`, `sepa` or `apple_pay`.
    pub fiat_method: Option<String>,
    /// For `solana` (required): the paying wallet, base58. The transaction is built for it, and the
    /// session's Solana vault refunds to it.
    pub wallet_address: Option<String>,
    /// For `solana`: the base58 mint paid with (default: the deployment's USDC).
    pub input_token_mint: Option<String>,
    /// What the payer sends, in USD (at most 6 decimals); required for `solana` on an open-amount
    /// session.
    pub amount_usd: Option<String>,
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
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "url": "https://example.com/webhooks/deposits", "events": ["*"], "description": "orders" }))]
pub struct CreateWebhookRequest {
    /// `https://` (or `http://` on loopback where the deployment allows it), at most 2048 characters,
    /// no credentials, no fragment, and a public host: loopback and private-network addresses only
    /// where the deployment allows them, link-local and reserved addresses never.
    pub url: String,
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
    pub event_type: String,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "BearerAuth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Deposit relayer API", description = "Wire-compatible with the deposit-session API in shared/spec/."),
    paths(
        super::create_session, super::get_session, super::set_payment_method, super::check_session,
        super::token_options::token_options,
        super::webhooks::create_webhook, super::webhooks::list_webhooks, super::webhooks::delete_webhook,
        super::webhooks::test_webhook, super::webhooks::list_events, super::webhooks::redeliver
    ),
    components(schemas(
        SessionResponse, SessionView, SessionObject, SessionPublicInfo, Evm, SessionDestinationEvm,
        DestinationView, SessionDestinationSolana, SolanaPayment, Delivery, SessionDisplay, PaymentMethodView, PaymentMethodEvm, PaymentMethodTron, PaymentMethodSolana,
        PaymentMethodFiat, TronType, SolanaType, FiatType, DepositSource, DeliveryAttempt, DepositRecord, MovementRecord, ErrorResponse, ErrorObject,
        ErrorType, CreateSessionRequest, DestinationInput, DisplayInput, PaymentOptionInput,
        SetPaymentMethodRequest, PaymentMethodInput, CheckRequest, CreateWebhookRequest, TestWebhookRequest,
        WebhookResponse, WebhookView, WebhookList, WebhookDeleted, EventResponse, EventList, EventView,
        AttemptView, super::token_options::TokenOptions, super::token_options::TokenOption
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The document as JSON (generated once).
pub fn document() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        add_links(&mut doc);
        doc
    })
}

/// OpenAPI links from each creating operation to the operations on what it created (how a client, or a
/// stateful fuzzer, follows `create → paymentMethods → check → retrieve` and a webhook's routes).
fn add_links(doc: &mut serde_json::Value) {
    let session =
        |op: &str| json!({ "operationId": op, "parameters": { "id": "$response.body#/session/sessionId" } });
    let webhook =
        |op: &str| json!({ "operationId": op, "parameters": { "id": "$response.body#/webhook/id" } });
    let links = [
        (
            "/v1/sessions",
            "post",
            "201",
            json!({
                "GetSession": session("get_session"),
                "SetPaymentMethod": session("set_payment_method"),
                "CheckSession": session("check_session"),
                "TokenOptions": session("token_options"),
            }),
        ),
        (
            "/v1/webhooks",
            "post",
            "201",
            json!({
                "TestWebhook": webhook("test_webhook"),
                "ListWebhookEvents": webhook("list_events"),
                "DeleteWebhook": webhook("delete_webhook"),
            }),
        ),
        (
            "/v1/webhooks/{id}/test",
            "post",
            "200",
            json!({
                "RedeliverEvent": {
                    "operationId": "redeliver",
                    "parameters": { "id": "$request.path.id", "eventId": "$response.body#/event/id" },
                },
            }),
        ),
    ];
    for (path, method, status, link) in links {
        if let Some(response) =
            doc.pointer_mut(&format!("/paths/{}/{method}/responses/{status}", path.replace('/', "~1")))
        {
            response["links"] = link;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_the_spec_schemas_and_every_status() {
        let doc = document();
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
        let schemas = &doc["components"]["schemas"];
        for name in [
            "Session",
            "SessionPublicInfo",
            "SessionDestinationEvm",
            "SessionDestinationSolana",
            "PaymentMethodEvm",
            "PaymentMethodTron",
            "PaymentMethodSolana",
            "PaymentMethodFiat",
        ] {
            assert!(schemas[name].is_object(), "{name} missing");
        }
        let statuses = &schemas["Session"]["properties"]["status"]["enum"];
        assert_eq!(
            statuses,
            &serde_json::json!([
                "requires_payment_method",
                "waiting_payment",
                "processing",
                "succeeded",
                "bounced",
                "expired"
            ])
        );
        assert_eq!(
            schemas["SessionPublicInfo"]["additionalProperties"], false,
            "the public view admits no secret"
        );
        for path in [
            "/v1/sessions",
            "/v1/sessions/{id}",
            "/v1/sessions/{id}/paymentMethods",
            "/v1/sessions/{id}/check",
            "/v1/webhooks",
            "/v1/webhooks/{id}",
            "/v1/webhooks/{id}/test",
            "/v1/webhooks/{id}/events",
            "/v1/webhooks/{id}/events/{eventId}/redeliver",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        let links = &doc["paths"]["/v1/sessions"]["post"]["responses"]["201"]["links"];
        assert_eq!(links["GetSession"]["operationId"], "get_session");
        let ops: Vec<&str> = doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
            .flat_map(|m| m.as_object().into_iter().flat_map(|m| m.values()))
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        for link in ["get_session", "set_payment_method", "check_session", "test_webhook", "redeliver"] {
            assert!(ops.contains(&link), "a link names {link}, which must be an operation: {ops:?}");
        }
    }
}
