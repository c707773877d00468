//! The HTTP API (axum), wire-compatible with the deposit-session API in `shared/spec/`:
//! `POST /v1/sessions`, `GET /v1/sessions/{id}`, `POST /v1/sessions/{id}/paymentMethods`,
//! `PUT /v1/sessions/{id}/check`, the webhook endpoints (`/v1/webhooks…`, see [`webhooks`]), plus
//! `/openapi.json`, `/healthz`, `/readyz` and `/metrics`. Every response carries an
//! `x-request-id`; every error uses the spec's envelope.

pub mod auth;
pub mod create;
pub mod dto;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod openapi;
pub mod serve;
pub mod token_options;
pub mod webhooks;
pub mod wire;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, RawQuery, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header::CONTENT_TYPE},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use relayer_types::{B256, Session, SessionId, StateError, TxId};
use serde_json::{Value, json};
use tracing::Instrument;

use self::{
    auth::{Caller, caller, check_client_secret, require_api_key},
    create::PaymentKind,
    error::ApiError,
    json::{JsonObject, MAX_BODY_BYTES},
};
use crate::{
    engine::{Engine, EngineError},
    metrics::HttpCounters,
};

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// SHA-256 hashes of the accepted API keys.
    pub api_keys: Arc<Vec<[u8; 32]>>,
    /// Response counters.
    pub http: Arc<HttpCounters>,
    /// SHA-256 of the token `/metrics` requires; `None`: open.
    pub metrics_token: Option<[u8; 32]>,
    /// Browser origins allowed to call the client-secret routes (CORS); none: no CORS at all.
    pub browser_origins: Arc<Vec<axum::http::HeaderValue>>,
    /// Webhook deliveries.
    pub webhooks: Arc<crate::webhooks::worker::Webhooks>,
    /// The hosted checkout page's settings.
    pub checkout: Arc<crate::checkout::CheckoutSettings>,
    /// The destination tokens this deployment offers (the chains are fixed for the process's life, so
    /// this is listed once, not per request).
    pub offered: Arc<Vec<relayer_types::TokenRef>>,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    // The routes a browser may call with a session's client secret (the spec means client secrets for
    // browser code). CORS is answered for the configured origins on these only, and allows no
    // `Authorization` header: a page can never send an API key cross-origin, and the API-key-only routes
    // answer no preflight at all.
    let cors = !state.browser_origins.is_empty();
    // A preflight must reach the layer: with CORS on, these routes take OPTIONS too (the layer answers it).
    let with_preflight =
        |m: axum::routing::MethodRouter<AppState>| if cors { m.options(preflight) } else { m };
    let mut client_routes = Router::new()
        .route("/v1/sessions/{id}", with_preflight(get(get_session)))
        .route("/v1/sessions/{id}/paymentMethods", with_preflight(post(set_payment_method)))
        .route("/v1/sessions/{id}/check", with_preflight(put(check_session)))
        .route("/v1/sessions/{id}/tokenOptions", with_preflight(get(token_options::token_options)));
    if cors {
        use axum::http::Method;
        let cors = tower_http::cors::CorsLayer::new()
            .allow_origin(state.browser_origins.as_ref().clone())
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            // Daimo's SDK client sends its version on every request.
            .allow_headers([
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderName::from_static("x-sdk-version"),
            ])
            .expose_headers([
                axum::http::HeaderName::from_static("x-request-id"),
                axum::http::HeaderName::from_static("request-id"),
            ])
            .max_age(std::time::Duration::from_secs(600));
        client_routes = client_routes.layer(cors);
    }
    Router::new()
        .route("/v1/sessions", post(create_session))
        .route("/v1/webhooks", post(webhooks::create_webhook).get(webhooks::list_webhooks))
        .route("/v1/webhooks/{id}", axum::routing::delete(webhooks::delete_webhook))
        .route("/v1/webhooks/{id}/test", post(webhooks::test_webhook))
        .route("/v1/webhooks/{id}/events", get(webhooks::list_events))
        .route("/v1/webhooks/{id}/events/{event_id}/redeliver", post(webhooks::redeliver))
        .merge(client_routes)
        .route("/checkout/{id}", get(crate::checkout::page))
        .route("/webview", get(crate::checkout::webview))
        .route("/checkout/assets/{file}", get(crate::checkout::asset))
        .route("/checkout/qr.svg", get(crate::checkout::qr))
        .route("/openapi.json", get(openapi_json))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(serve::BODY_TIMEOUT))
        .layer(middleware::from_fn_with_state(state.clone(), request_id))
        .with_state(state)
}

/// Accepts a caller's `x-request-id` if it is sane, else makes one; echoes it on the response and
/// puts it on the request's tracing span. The query string is never logged (it may carry a client
/// secret).
async fn request_id(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| format!("req_{}", hex::encode(crate::random_bytes::<12>())));
    let span =
        tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    state.http.record(status.as_u16());
    span.in_scope(|| tracing::debug!(status = status.as_u16(), "response"));
    // Also as `request-id` (Stripe's name), which Daimo's SDK puts on its errors as `requestId`.
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value.clone());
        response.headers_mut().insert("request-id", value);
    }
    response
}

async fn no_route(req: Request) -> ApiError {
    ApiError::not_found("route_not_found", format!("no route for {} {}", req.method(), req.uri().path()))
}

/// An `OPTIONS` the CORS layer did not answer (not a preflight): nothing to say.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// A known route asked with another method: 405 (RFC 9110), in the envelope, not a 404 that says the
/// route does not exist.
async fn wrong_method(req: Request) -> ApiError {
    ApiError::method_not_allowed(format!("{} is not allowed on {}", req.method(), req.uri().path()))
}

/// Where and how to pay a session with Tron USDT: the receiver, its expiry, and a Trust Wallet link
/// (SLIP-44 coin 195) for the routed token and `amount_usd` (default: the session's amount).
/// The Solana chain, mint and amount in base units of a `solana` payment: the session's fixed amount, in
/// the paying mint's base units (its decimals may differ from the destination token's), or `amountUsd` on
/// an open-amount session (one USDC per USD).
fn solana_amount(
    state: &AppState,
    session: &relayer_types::Session,
    mint: Option<relayer_types::ChainAddress>,
    amount_usd: Option<&str>,
) -> Result<(u64, relayer_types::ChainAddress, relayer_types::U256), ApiError> {
    let payable = state.engine.payable_token(relayer_types::Family::Solana, session, mint);
    let (chain_id, token) = payable.map_err(|e| match e {
        EngineError::NoRoute(message) => {
            ApiError::unprocessable("unsupported_route", message, Some("paymentMethod.inputTokenMint"))
        }
        other => payment_error(state, other),
    })?;
    let amount = match (session.destination.amount, amount_usd) {
        (Some(fixed), _) => {
            relayer_types::rescale_units(fixed, session.destination.token.decimals, token.decimals)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "paymentMethod",
                        "the session's amount does not fit a Solana token amount",
                    )
                })?
        }
        (None, Some(usd)) => relayer_types::parse_units(usd, token.decimals).map_err(|e| {
            ApiError::invalid("paymentMethod.amountUsd", format!("paymentMethod.amountUsd {e}"))
        })?,
        (None, None) => {
            return Err(ApiError::missing("paymentMethod.amountUsd"));
        }
    };
    // An SPL amount is a u64: refused here, before the method is set (bad input changes nothing).
    if amount > relayer_types::U256::from(u64::MAX) {
        return Err(ApiError::invalid(
            "paymentMethod.amountUsd",
            "paymentMethod.amountUsd is more than a Solana token amount can hold",
        ));
    }
    Ok((chain_id, token.address, amount))
}

fn tron_payment(
    state: &AppState,
    session: &relayer_types::Session,
    amount_usd: Option<String>,
) -> Result<wire::TronPayment, ApiError> {
    let (chain_id, token) = state
        .engine
        .payable_token(relayer_types::Family::Tron, session, None)
        .map_err(|e| payment_error(state, e))?;
    let receiver =
        session.payment_method.as_ref().and_then(|m| m.receiver()).map(|r| r.to_string()).unwrap_or_default();
    // What the wallet fills in: for a fixed amount, what this chain's payer must send (the engine's
    // figure, never the caller's `amountUsd`); for an open amount, the amount the payer chose.
    let least = state
        .engine
        .chains()
        .get(&chain_id)
        .and_then(|chain| state.engine.least_to_send(session, chain.as_ref(), &token))
        .map(|least| relayer_types::format_units(least, token.decimals));
    let amount = if session.destination.amount.is_some() { least } else { amount_usd.or(least) };
    let token = token.address;
    let mut link = format!("https://link.trustwallet.com/send?coin=195&address={receiver}&token_id={token}");
    if let Some(amount) = amount {
        link.push_str(&format!("&amount={amount}"));
    }
    Ok(wire::TronPayment {
        receiver_address: receiver,
        expires_at: session.expires_at,
        deeplinks: wire::TronDeeplinks {
            trust_wallet: wire::WalletLink { url: link, label: "USDT on Tron" },
        },
    })
}

/// [`engine_error`] for a payment-method request: a method this deployment does not offer (a type it
/// never offers, or a family none of its chains is) names the ones it does (the families of its
/// configured chains), in the shape Daimo's SDK reads (`DaimoRequestError` with `type`, `code`, `param`).
fn payment_error(state: &AppState, e: EngineError) -> ApiError {
    let EngineError::UnsupportedPaymentMethod(kind) = e else { return engine_error(e) };
    let families: std::collections::BTreeSet<relayer_types::Family> =
        state.engine.chains().values().map(|chain| chain.key().family).collect();
    let offered: Vec<&str> = families.iter().map(|f| f.as_str()).collect();
    ApiError::unprocessable(
        "unsupported_payment_method",
        format!(
            "payment method {kind:?} is not offered by this deployment; it offers {}",
            offered.join(", ")
        ),
        Some("paymentMethod.type"),
    )
}

fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::NotFound => ApiError::not_found("session_not_found", "no session with this id"),
        EngineError::State(StateError::Expired) => {
            ApiError::unprocessable("session_expired", "the session has expired", None)
        }
        EngineError::State(StateError::WrongStatus(status)) => ApiError::unprocessable(
            "session_not_open",
            format!("the session is {status} and no longer accepts a payment method"),
            None,
        ),
        EngineError::State(StateError::PaymentMethodConflict) => ApiError::unprocessable(
            "payment_method_conflict",
            "a different payment method is already set for this session",
            Some("paymentMethod.type"),
        ),
        EngineError::ChainNotConfigured(chain_id) => ApiError::unprocessable(
            "unsupported_destination",
            format!("the session's destination chain {chain_id} is not served by this relayer"),
            None,
        ),
        EngineError::NoRoute(message) => {
            ApiError::unprocessable("unsupported_route", message, Some("paymentMethod.type"))
        }
        EngineError::UnsupportedPaymentMethod(kind) => ApiError::unprocessable(
            "unsupported_payment_method",
            format!("payment method {kind:?} is not supported on this deployment yet"),
            Some("paymentMethod.type"),
        ),
        EngineError::Store(e) => ApiError::internal(e),
        // Only chain events are refused as foreign; no request applies one.
        EngineError::Foreign => ApiError::internal(e),
    }
}

fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("session_not_found", "no session with this id"))
}

fn load(state: &AppState, id: &SessionId) -> Result<Session, ApiError> {
    state.engine.session(id).map_err(engine_error)
}

/// A request authorised either by the API key (full view) or by the session's client secret.
fn authorise(
    headers: &HeaderMap,
    state: &AppState,
    session: &Session,
    secret: Option<&str>,
) -> Result<bool, ApiError> {
    if caller(headers, &state.api_keys)? == Caller::ApiKey {
        return Ok(true);
    }
    match secret {
        Some(secret) => check_client_secret(session, secret).map(|()| false),
        None => {
            Err(ApiError::unauthenticated("missing_credentials", "clientSecret (or an API key) is required"))
        }
    }
}

/// Prologue of the client-secret routes (once their body is read): loads the session, authorises the
/// caller by API key or the session's `clientSecret`. Returns the session and whether the view is full.
fn client_route(
    state: &AppState,
    headers: &HeaderMap,
    raw_id: &str,
    client_secret: Option<&str>,
) -> Result<(Session, bool), ApiError> {
    let session = load(state, &session_id(raw_id)?)?;
    let full = authorise(headers, state, &session, client_secret)?;
    Ok((session, full))
}

#[utoipa::path(
    post, path = "/v1/sessions", request_body = dto::CreateSessionRequest, security(("BearerAuth" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 hours; another body with the same key is refused")),
    responses(
        (status = 201, description = "Created", body = wire::SessionResponse),
        (status = 400, description = "Invalid, or cannot be done (`validation_error`, `invalid_request_error`)", body = error::ErrorResponse),
        (status = 401, description = "Missing or invalid API key", body = error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = error::ErrorResponse),
    )
)]
async fn create_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    require_api_key(&headers, &state.api_keys)?;
    let Some(keyed) = idempotency::key(&headers, "POST /v1/sessions", &body)? else {
        let new = create::parse(&body, &state.offered)?;
        let session = state.engine.create_session(new).await.map_err(engine_error)?;
        return Ok((StatusCode::CREATED, Json(wire::SessionResponse::of(&session, true))).into_response());
    };
    // A retry of a request that created a session gets the same answer, before anything else is looked
    // at (the deployment's tokens may have changed since).
    let valid_since = relayer_types::unix_now().saturating_sub(idempotency::KEY_LIFETIME_SECS);
    if let Some(record) = state.engine.store().idempotency(&keyed.scoped).map_err(ApiError::internal)?
        && record.created_at >= valid_since
    {
        return idempotency::replay(&record, &keyed, false);
    }
    let new = create::parse(&body, &state.offered)?;
    let respond = |s: &Session| {
        let body = serde_json::to_string(&wire::SessionResponse::of(s, true)).unwrap_or_default();
        (StatusCode::CREATED.as_u16(), body)
    };
    let created = state
        .engine
        .create_session_idempotent(
            new,
            keyed.scoped.clone(),
            keyed.request_sha256.clone(),
            valid_since,
            respond,
        )
        .map_err(engine_error)?;
    match created {
        Ok(record) => idempotency::replay(&record, &keyed, true),
        // Another request with this key won the race: its answer is this one's.
        Err(existing) => idempotency::replay(&existing, &keyed, false),
    }
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}",
    params(("id" = String, Path, description = "Session id"), ("clientSecret" = Option<String>, Query, description = "The session's client secret")),
    responses(
        (status = 200, description = "The session (full with an API key)", body = wire::SessionResponse),
        (status = 400, description = "A query parameter given twice", body = error::ErrorResponse),
        (status = 401, description = "Invalid credentials", body = error::ErrorResponse),
        (status = 404, description = "No such session", body = error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = error::ErrorResponse),
    )
)]
async fn get_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<wire::SessionResponse>, ApiError> {
    let query = json::query_params(raw.as_deref())?;
    let who = caller(&headers, &state.api_keys)?;
    let session = load(&state, &session_id(&id)?)?;
    // Wrapped like every other session response (Daimo's retrieve answers `{"session": ...}` too).
    if who == Caller::ApiKey {
        return Ok(Json(wire::SessionResponse::of(&session, true)));
    }
    if let Some(secret) = query.get("clientSecret") {
        check_client_secret(&session, secret)?;
    }
    Ok(Json(wire::SessionResponse::of(&session, false)))
}

#[utoipa::path(
    post, path = "/v1/sessions/{id}/paymentMethods", request_body = dto::SetPaymentMethodRequest,
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "Payment method set", body = wire::SessionResponse),
        (status = 400, description = "Invalid, or cannot be done (`validation_error`, `invalid_request_error`)", body = error::ErrorResponse),
        (status = 401, description = "Invalid credentials", body = error::ErrorResponse),
        (status = 404, description = "No such session", body = error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = error::ErrorResponse),
        (status = 503, description = "A chain the answer needs (e.g. for `solana.serializedTx`) does not answer; try again", body = error::ErrorResponse),
    )
)]
async fn set_payment_method(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Json<wire::SessionResponse>, ApiError> {
    let request: dto::SetPaymentMethodRequest = json::dto(&body)?;
    let (session, full) = client_route(&state, &headers, &id, request.client_secret.as_deref())?;
    let kind = create::payment_kind(&request)?;
    let amount_usd = create::amount_usd(&request)?;
    // Everything the Solana transaction needs is checked before the method is set: bad input changes
    // nothing.
    let solana = match kind {
        PaymentKind::Solana { wallet, mint } => {
            Some((wallet, solana_amount(&state, &session, mint, amount_usd.as_deref())?))
        }
        PaymentKind::Evm | PaymentKind::Tron | PaymentKind::Fiat(_) | PaymentKind::NotOffered(_) => None,
    };
    let request = kind.request().map_err(|e| payment_error(&state, e))?;
    let session = state.engine.set_payment_method(&session, request).map_err(|e| payment_error(&state, e))?;
    let mut response = wire::SessionResponse::of(&session, full);
    if kind == PaymentKind::Tron {
        response.tron = Some(tron_payment(&state, &session, amount_usd)?);
    }
    if let Some((wallet, (chain_id, token, amount))) = solana {
        let chain = state.engine.chain(chain_id).map_err(engine_error)?;
        let commitment = session.commitment();
        let tx = chain.payment_transaction(&commitment, wallet, token, amount).await.map_err(|e| {
            tracing::warn!(session_id = %session.id, error = %e, "cannot build the Solana payment transaction");
            ApiError::unavailable("the Solana transaction cannot be built right now; try again")
        })?;
        response.solana = Some(wire::SolanaPayment { serialized_tx: hex::encode(tx) });
    }
    Ok(Json(response))
}

#[utoipa::path(
    put, path = "/v1/sessions/{id}/check", request_body = dto::CheckRequest,
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session, after looking at the hint", body = wire::SessionResponse),
        (status = 400, description = "Invalid, or cannot be done (`validation_error`, `invalid_request_error`)", body = error::ErrorResponse),
        (status = 401, description = "Invalid credentials", body = error::ErrorResponse),
        (status = 404, description = "No such session", body = error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = error::ErrorResponse),
    )
)]
async fn check_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Json<wire::SessionResponse>, ApiError> {
    let request: dto::CheckRequest = json::dto(&body)?;
    let (session, full) = client_route(&state, &headers, &id, request.client_secret.as_deref())?;
    if let Some(hash) = request.tx_hash.as_deref() {
        let hex32 = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        let evm = (hash.strip_prefix("0x").is_some_and(hex32))
            .then(|| hash.parse::<B256>().ok().map(TxId::Evm))
            .flatten()
            // Tron spells its transaction ids without `0x` (as the session's `source.txHash` shows them).
            .or_else(|| {
                hex32(hash).then(|| format!("0x{hash}").parse::<B256>().ok().map(TxId::Tron)).flatten()
            });
        // A Solana signature: base58 of 64 bytes (87 or 88 characters).
        let solana = || {
            let bytes = (hash.len() <= 88).then(|| bs58::decode(hash).into_vec().ok()).flatten()?;
            <[u8; 64]>::try_from(bytes).ok().map(TxId::Solana)
        };
        let tx = evm.or_else(solana).ok_or_else(|| {
            ApiError::invalid(
                "txHash",
                "txHash must be a 32-byte hex hash (0x-prefixed, or bare as Tron spells it) or a base58 Solana signature",
            )
        })?;
        state.engine.check_transaction(tx).await;
        // The hint may have moved the session on.
        let session = load(&state, &session.id)?;
        return Ok(Json(wire::SessionResponse::of(&session, full)));
    }
    Ok(Json(wire::SessionResponse::of(&session, full)))
}

async fn openapi_json() -> Json<&'static Value> {
    Json(openapi::document())
}

/// Readiness: 200 when the store takes durable writes and every watcher is within its lag budget,
/// else 503 naming each problem. (`/healthz` is liveness: the process serves.)
async fn readyz(State(state): State<AppState>) -> Response {
    let engine = Arc::clone(&state.engine);
    let problems =
        tokio::task::spawn_blocking(move || engine.readiness()).await.unwrap_or_else(|e| vec![e.to_string()]);
    if problems.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not_ready", "problems": problems })))
            .into_response()
    }
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Behind its own token when configured (not an API key: a scraper need not be able to create sessions).
    if let Some(hash) = state.metrics_token
        && !matches!(caller(&headers, std::slice::from_ref(&hash)), Ok(Caller::ApiKey))
    {
        return ApiError::unauthenticated(
            "invalid_metrics_token",
            "/metrics requires its token (Authorization: Bearer <metrics token>)",
        )
        .into_response();
    }
    let (engine, http) = (state.engine.reporter(), Arc::clone(&state.http));
    let webhooks = Arc::clone(&state.webhooks);
    let body =
        tokio::task::spawn_blocking(move || crate::metrics::render(&engine, &http, Some(&webhooks.metrics)))
            .await
            .unwrap_or_else(|e| format!("# metrics failed: {e}\n"));
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
