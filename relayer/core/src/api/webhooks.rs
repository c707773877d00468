//! Webhook endpoints (API key only): register (`POST /v1/webhooks`, with `Idempotency-Key`), list,
//! delete, send a test event, list an endpoint's recent events with their attempts, redeliver one.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use relayer_store::{Creation, DeliveryState, EventDelivery, IdempotencyRecord, WebhookEndpoint};
use relayer_types::{
    Address, ChainAddress, Destination, DisplayInfo, Session, SessionId, SessionStatus, U256, unix_now,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    AppState,
    auth::require_api_key,
    dto::{CreateWebhookRequest, TestWebhookRequest},
    error::ApiError,
    idempotency,
    json::{self, JsonObject, required},
};
use crate::webhooks::{self, EventType, worker::WebhookError};

/// Most endpoints one deployment keeps (each costs a task and a request per event).
pub const MAX_ENDPOINTS: usize = 50;

/// An endpoint as listed (no secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    /// Its id (a UUID).
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Event types it receives (`*`: all).
    pub events: Vec<String>,
    /// The integrator's note.
    pub description: Option<String>,
    /// The signing secret: only in the response that created the endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// `enabled`, or `disabled` (it answered 410 Gone; nothing more is sent to it).
    pub status: String,
    /// Why it was disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

impl WebhookView {
    fn of(e: &WebhookEndpoint, with_secret: bool) -> Self {
        Self {
            id: e.id.clone(),
            url: e.url.clone(),
            events: e.events.clone(),
            description: e.description.clone(),
            secret: with_secret.then(|| e.secret.expose().to_owned()),
            created_at: e.created_at,
            status: if e.disabled.is_some() { "disabled" } else { "enabled" }.into(),
            disabled_reason: e.disabled.clone(),
        }
    }
}

/// `{"webhook": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    /// The endpoint.
    pub webhook: WebhookView,
}

/// `{"webhooks": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Every endpoint, in id order.
    pub webhooks: Vec<WebhookView>,
}

/// `{"id": ..., "deleted": true}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeleted {
    /// The endpoint's id.
    pub id: String,
    /// Always true.
    pub deleted: bool,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    /// Unix milliseconds.
    pub at_ms: u64,
    /// The endpoint's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong without an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: u64,
}

/// One event sent (or being sent) to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// The event id (the same in every attempt; `webhook-id` and the body's `id`).
    pub id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The same, in milliseconds: when the transition that caused it was committed.
    pub created_at_ms: u64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Next attempt, unix milliseconds (`pending`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<u64>,
    /// When it was delivered or given up on, unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptView>,
    /// The body as sent.
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl EventView {
    fn of(d: &EventDelivery) -> Self {
        let (status, next, finished) = match d.state {
            DeliveryState::Pending { next_attempt_ms } => ("pending", Some(next_attempt_ms), None),
            DeliveryState::Delivered { at_ms } => ("delivered", None, Some(at_ms)),
            DeliveryState::Failed { at_ms } => ("failed", None, Some(at_ms)),
        };
        Self {
            id: d.event_id.clone(),
            kind: d.event_type.clone(),
            created_at: d.created_ms / 1000,
            created_at_ms: d.created_ms,
            status: status.into(),
            next_attempt_at_ms: next,
            finished_at_ms: finished,
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptView {
                    at_ms: a.at_ms,
                    status_code: a.status,
                    error: a.error.clone(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
            payload: serde_json::from_str(&d.body).unwrap_or(Value::Null),
        }
    }
}

/// `{"event": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    /// The event and its delivery.
    pub event: EventView,
}

/// `{"events": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Newest first.
    pub events: Vec<EventView>,
}

fn webhook_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::NotFound => not_found(),
        WebhookError::Disabled(why) => ApiError::unprocessable(
            "webhook_disabled",
            format!("the webhook endpoint is disabled ({why}); register it again to receive events"),
            None,
        ),
        WebhookError::Store(e) => ApiError::internal(e),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("webhook_not_found", "no webhook endpoint with this id")
}

/// Every event type's name, as error messages list them.
fn event_type_names() -> String {
    EventType::ALL.map(EventType::as_str).join(", ")
}

fn event_type(value: &Option<String>, key: &str) -> Result<EventType, ApiError> {
    EventType::named(required(value, key)?)
        .ok_or_else(|| ApiError::invalid(key, format!("{key} must be one of {}", event_type_names())))
}

/// Validates `{url, events?, description?}` into a new endpoint with a fresh id and secret.
fn parse_endpoint(
    request: CreateWebhookRequest,
    egress: webhooks::Egress,
) -> Result<WebhookEndpoint, ApiError> {
    let url = required(&request.url, "url")?;
    webhooks::check_url(url, egress).map_err(|m| ApiError::invalid("url", m))?;
    let events = match &request.events {
        None => vec!["*".to_owned()],
        Some(items) if !items.is_empty() => {
            let mut events: Vec<String> = vec![];
            for (i, kind) in items.iter().enumerate() {
                if !(kind == "*" || EventType::named(kind).is_some()) {
                    return Err(ApiError::invalid(
                        format!("events[{i}]"),
                        format!("events entries must be \"*\" or one of {}", event_type_names()),
                    ));
                }
                if !events.contains(kind) {
                    events.push(kind.clone());
                }
            }
            events
        }
        Some(_) => {
            return Err(ApiError::invalid("events", "events must be a non-empty array of event types"));
        }
    };
    let description = request.description;
    if description.as_ref().is_some_and(|d| d.chars().count() > 500) {
        return Err(ApiError::invalid("description", "description must be at most 500 characters"));
    }
    Ok(WebhookEndpoint {
        id: webhooks::uuid(crate::random_bytes()),
        url: url.to_owned(),
        events,
        description,
        secret: relayer_util::Secret::new(webhooks::new_secret()),
        created_at: unix_now(),
        disabled: None,
    })
}

#[utoipa::path(
    post, path = "/v1/webhooks", request_body = CreateWebhookRequest, security(("BearerAuth" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 hours")),
    responses(
        (status = 201, description = "Registered; the secret is shown only here", body = WebhookResponse),
        (status = 400, description = "Invalid (`validation_error`, `invalid_request_error`)", body = super::error::ErrorResponse),
        (status = 401, description = "Missing or invalid API key", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = super::error::ErrorResponse),
    )
)]
pub(super) async fn create_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    require_api_key(&headers, &state.api_keys)?;
    let store = state.engine.store();
    let keyed = idempotency::key(&headers, "POST /v1/webhooks", &body)?;
    let valid_since = unix_now().saturating_sub(idempotency::KEY_LIFETIME_SECS);
    if let Some(keyed) = &keyed
        && let Some(record) = store.idempotency(&keyed.scoped).map_err(ApiError::internal)?
        && record.created_at >= valid_since
    {
        return idempotency::replay(&record, keyed, false);
    }
    let endpoint = parse_endpoint(json::dto(&body)?, state.webhooks.settings().egress)?;
    if store.webhooks().map_err(ApiError::internal)?.len() >= MAX_ENDPOINTS {
        return Err(ApiError::unprocessable(
            "too_many_webhooks",
            format!("a deployment keeps at most {MAX_ENDPOINTS} webhook endpoints; delete one first"),
            None,
        ));
    }
    let body = serde_json::to_string(&WebhookResponse { webhook: WebhookView::of(&endpoint, true) })
        .map_err(ApiError::internal)?;
    match keyed {
        None => store.put_webhook(&endpoint).map_err(ApiError::internal)?,
        Some(keyed) => {
            let record = IdempotencyRecord {
                key: keyed.scoped.clone(),
                request_sha256: keyed.request_sha256.clone(),
                status: 201,
                body: body.clone(),
                created_at: unix_now(),
            };
            if let Some(existing) = store
                .create_idempotent(Creation::Webhook(&endpoint), &record, valid_since)
                .map_err(ApiError::internal)?
            {
                return idempotency::replay(&existing, &keyed, false);
            }
        }
    }
    tracing::info!(webhook = %endpoint.id, origin = %webhooks::url_origin(&endpoint.url), "webhook endpoint registered");
    state.webhooks.endpoint_added(endpoint);
    Ok((StatusCode::CREATED, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[utoipa::path(
    get, path = "/v1/webhooks", security(("BearerAuth" = [])),
    responses(
        (status = 200, description = "Every endpoint (no secrets)", body = WebhookList),
        (status = 401, description = "Missing or invalid API key", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = super::error::ErrorResponse),
    )
)]
pub(super) async fn list_webhooks(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<WebhookList>, ApiError> {
    require_api_key(&headers, &state.api_keys)?;
    let endpoints = state.engine.store().webhooks().map_err(ApiError::internal)?;
    Ok(Json(WebhookList { webhooks: endpoints.iter().map(|e| WebhookView::of(e, false)).collect() }))
}

/// A webhook id as given in the path: unknown shapes are simply not found.
fn known(state: &AppState, id: &str) -> Result<WebhookEndpoint, ApiError> {
    state.webhooks.lookup(id).map_err(webhook_error)
}

#[utoipa::path(
    delete, path = "/v1/webhooks/{id}", security(("BearerAuth" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "Deleted, with its pending deliveries", body = WebhookDeleted),
        (status = 401, description = "Missing or invalid API key", body = super::error::ErrorResponse),
        (status = 404, description = "No such endpoint", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = super::error::ErrorResponse),
    )
)]
pub(super) async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WebhookDeleted>, ApiError> {
    require_api_key(&headers, &state.api_keys)?;
    if !state.webhooks.delete_endpoint(&id).map_err(ApiError::internal)? {
        return Err(not_found());
    }
    tracing::info!(webhook = %id, "webhook endpoint deleted");
    Ok(Json(WebhookDeleted { id, deleted: true }))
}

/// A session of the deployment's first destination token in the status `kind` announces: what a test
/// event carries (its id is random and matches no real session).
fn example_session(state: &AppState, kind: EventType) -> Value {
    let status = match kind {
        EventType::PaymentMethodSet => SessionStatus::WaitingPayment,
        EventType::Succeeded => SessionStatus::Succeeded,
        EventType::Bounced => SessionStatus::Bounced,
        EventType::Expired => SessionStatus::Expired,
        EventType::Processing | EventType::Updated => SessionStatus::Processing,
    };
    let Some(token) = state.offered.first().cloned() else { return Value::Null };
    let now = unix_now();
    let session = Session {
        id: SessionId::from_bytes(crate::random_bytes()),
        client_secret: relayer_types::ClientSecret::from_bytes(crate::random_bytes()),
        status,
        destination: Destination {
            address: ChainAddress::Evm(Address::repeat_byte(0x11)),
            amount: Some(U256::from(10u64).pow(U256::from(token.decimals))),
            token,
            calldata: None,
            delivery: None,
        },
        display: DisplayInfo {
            title: "Test event".into(),
            verb: "Deposit".into(),
            theme_css_url: None,
            payment_options: None,
        },
        metadata: Some([("test".to_owned(), "true".to_owned())].into()),
        refund_address: None,
        min_amount: U256::ZERO,
        payment_method: None,
        created_at: now,
        expires_at: now + 3600,
        deposits: vec![],
        settlements: vec![],
        bridges: vec![],
        frontings: vec![],
        work: vec![],
    };
    webhooks::session_snapshot(&session)
}

#[utoipa::path(
    post, path = "/v1/webhooks/{id}/test", request_body = TestWebhookRequest, security(("BearerAuth" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "Queued: an event with `isTestEvent: true`", body = EventResponse),
        (status = 400, description = "Invalid, or the endpoint is disabled", body = super::error::ErrorResponse),
        (status = 401, description = "Missing or invalid API key", body = super::error::ErrorResponse),
        (status = 404, description = "No such endpoint", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = super::error::ErrorResponse),
    )
)]
pub(super) async fn test_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Json<EventResponse>, ApiError> {
    require_api_key(&headers, &state.api_keys)?;
    let request: TestWebhookRequest = json::dto(&body)?;
    known(&state, &id)?;
    let kind = event_type(&request.event_type, "eventType")?;
    let delivery =
        state.webhooks.send_test(&id, kind, example_session(&state, kind)).map_err(webhook_error)?;
    Ok(Json(EventResponse { event: EventView::of(&delivery) }))
}

#[utoipa::path(
    get, path = "/v1/webhooks/{id}/events", security(("BearerAuth" = [])),
    params(
        ("id" = String, Path, description = "Webhook id"),
        ("limit" = Option<u32>, Query, description = "At most this many (1 to 100, default 20)"),
    ),
    responses(
        (status = 200, description = "Recent events of this endpoint, newest first, with their attempts", body = EventList),
        (status = 400, description = "Invalid `limit`", body = super::error::ErrorResponse),
        (status = 401, description = "Missing or invalid API key", body = super::error::ErrorResponse),
        (status = 404, description = "No such endpoint", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = super::error::ErrorResponse),
    )
)]
pub(super) async fn list_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<EventList>, ApiError> {
    require_api_key(&headers, &state.api_keys)?;
    let query = super::json::query_params(raw.as_deref())?;
    let limit = match query.get("limit") {
        None => 20,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "limit must be an integer from 1 to 100"))?,
    };
    known(&state, &id)?;
    let deliveries = state.engine.store().deliveries(&id, limit).map_err(ApiError::internal)?;
    Ok(Json(EventList { events: deliveries.iter().map(EventView::of).collect() }))
}

#[utoipa::path(
    post, path = "/v1/webhooks/{id}/events/{eventId}/redeliver", security(("BearerAuth" = [])),
    params(("id" = String, Path, description = "Webhook id"), ("eventId" = String, Path, description = "Event id")),
    responses(
        (status = 200, description = "Queued again (same event id and body)", body = EventResponse),
        (status = 400, description = "The endpoint is disabled", body = super::error::ErrorResponse),
        (status = 401, description = "Missing or invalid API key", body = super::error::ErrorResponse),
        (status = 404, description = "No such endpoint or event", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = super::error::ErrorResponse),
    )
)]
pub(super) async fn redeliver(
    State(state): State<AppState>,
    Path((id, event_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<EventResponse>, ApiError> {
    require_api_key(&headers, &state.api_keys)?;
    known(&state, &id)?;
    let delivery = state.webhooks.redeliver(&id, &event_id).map_err(|e| match e {
        WebhookError::NotFound => {
            ApiError::not_found("event_not_found", "no event with this id for this endpoint")
        }
        other => webhook_error(other),
    })?;
    Ok(Json(EventResponse { event: EventView::of(&delivery) }))
}
