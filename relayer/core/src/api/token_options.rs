//! `GET /v1/sessions/{id}/tokenOptions`: for each configured chain and token a session can be paid
//! with, the amount to send and, for the payer addresses given, the payer's balance read from the chain.

use std::time::Duration;

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::HeaderMap,
};
use relayer_types::{ChainAddress, Family, format_units};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AppState, authorise, create, error::ApiError, json, load, session_id};

/// How long one balance read may take before the option is listed without a balance.
const BALANCE_TIMEOUT: Duration = Duration::from_secs(5);

/// `{sessionId, options}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenOptions {
    /// The session.
    pub session_id: String,
    /// One per chain and token that delivers the session's token.
    pub options: Vec<TokenOption>,
}

/// One way to pay.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenOption {
    /// Chain id.
    pub chain_id: u64,
    /// The token (the family's spelling: 0x… for EVM, base58 for Solana and Tron).
    pub token_address: String,
    /// Its symbol.
    pub token_symbol: String,
    /// What to send, in token units: the session's amount in this token's decimals (rounded up); for
    /// an open-amount session, the least that starts it. On a chain that bridges to the destination, at
    /// least the route's minimum and enough that the minimum still arrives after the relayer's bridge
    /// fee ([`least_to_send`](crate::Engine::least_to_send)). A bridge fee (at most the route's) may come
    /// off it on the way unless a relayer fronts the delivery.
    pub required_units: String,
    /// The payer's balance, in token units: present when an address of this chain's family was given
    /// and the chain answered in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_units: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}/tokenOptions",
    params(
        ("id" = String, Path, description = "Session id"),
        ("clientSecret" = Option<String>, Query, description = "The session's client secret (or an API key)"),
        ("evmAddress" = Option<String>, Query, description = "The payer's EVM address: balances on EVM chains"),
        ("solanaAddress" = Option<String>, Query, description = "The payer's Solana address: balances on Solana"),
    ),
    responses(
        (status = 200, description = "Every token the session can be paid with, and the payer's balances", body = TokenOptions),
        (status = 400, description = "Neither address given, or one is invalid", body = super::error::ErrorResponse),
        (status = 401, description = "Missing or invalid credentials", body = super::error::ErrorResponse),
        (status = 404, description = "No such session", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error (details only in the logs)", body = super::error::ErrorResponse),
    )
)]
pub(super) async fn token_options(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<TokenOptions>, ApiError> {
    let query = json::query_params(raw.as_deref())?;
    if let Some(unknown) =
        query.keys().find(|k| !["clientSecret", "evmAddress", "solanaAddress"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(unknown.clone(), format!("unknown query parameter {unknown}")));
    }
    let evm = query.get("evmAddress").map(|a| create::evm_address(a, "evmAddress")).transpose()?;
    let solana =
        query.get("solanaAddress").map(|a| create::solana_address(a, "solanaAddress")).transpose()?;
    if evm.is_none() && solana.is_none() {
        return Err(ApiError::invalid("evmAddress", "evmAddress or solanaAddress (or both) is required"));
    }
    let session = load(&state, &session_id(&id)?)?;
    authorise(&headers, &state, &session, query.get("clientSecret").map(String::as_str))?;
    let options = state.engine.token_options(&session).into_iter().filter_map(|(chain, token)| {
        let least = state.engine.least_to_send(&session, chain.as_ref(), &token)?;
        Some((chain, token, least))
    });
    let reads = options.map(|(chain, token, least)| {
        let owner = match chain.key().family {
            Family::Evm => evm.map(ChainAddress::Evm),
            Family::Solana => solana.map(ChainAddress::Solana),
            // A Tron payer's address is neither; the option is listed without a balance.
            Family::Tron => None,
        };
        let required = format_units(least, token.decimals);
        async move {
            let balance = match owner {
                None => None,
                Some(owner) => {
                    match tokio::time::timeout(BALANCE_TIMEOUT, chain.balance_of(token.address, owner)).await
                    {
                        Ok(Ok(balance)) => Some(format_units(balance, token.decimals)),
                        Ok(Err(error)) => {
                            tracing::warn!(chain_id = chain.chain_id(), %error, "balance read failed");
                            None
                        }
                        Err(_) => {
                            tracing::warn!(chain_id = chain.chain_id(), "balance read timed out");
                            None
                        }
                    }
                }
            };
            TokenOption {
                chain_id: chain.chain_id(),
                token_address: token.address.to_string(),
                token_symbol: token.symbol.clone(),
                required_units: required,
                balance_units: balance,
            }
        }
    });
    let options = futures::future::join_all(reads).await;
    Ok(Json(TokenOptions { session_id: session.id.to_string(), options }))
}
