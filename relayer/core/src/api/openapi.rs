//! The OpenAPI 3.1 document, generated from the wire types and the handlers' annotations (never written
//! by hand) and served at `/openapi.json`. Request bodies are the DTOs the handlers read (`dto`);
//! responses are the types the handlers actually serialize.

use serde_json::json;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    dto::{
        CheckRequest, CreateSessionRequest, CreateWebhookRequest, DestinationInput, DisplayInput,
        PaymentMethodInput, PaymentOptionInput, SetPaymentMethodRequest, TestWebhookRequest,
    },
    error::{ErrorObject, ErrorResponse, ErrorType},
    webhooks::{
        AttemptView, EventList, EventResponse, EventView, WebhookDeleted, WebhookList, WebhookResponse,
        WebhookView,
    },
    wire::{SessionResponse, SolanaPayment},
};
use crate::view::{
    CostView, Delivery, DeliveryAttempt, DepositRecord, DepositSource, DestinationView, Evm, FiatType,
    MovementRecord, PaymentMethodEvm, PaymentMethodFiat, PaymentMethodSolana, PaymentMethodTron,
    PaymentMethodView, SessionDestinationEvm, SessionDestinationSolana, SessionDisplay, SessionObject,
    SessionPublicInfo, SessionView, SolanaType, TronType,
};

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
        PaymentMethodFiat, TronType, SolanaType, FiatType, DepositSource, DeliveryAttempt, CostView, DepositRecord, MovementRecord, ErrorResponse, ErrorObject,
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
