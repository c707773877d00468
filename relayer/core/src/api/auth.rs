//! Credentials. API keys are configured as SHA-256 hashes and compared in constant time against all of
//! them; client secrets are compared in constant time. Neither is ever logged.

use axum::http::{HeaderMap, header::AUTHORIZATION};
use relayer_types::{ClientSecret, Session};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// What the caller proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A valid API key: full access.
    ApiKey,
    /// No credential.
    Anonymous,
}

/// SHA-256 of an API key, as configured.
pub fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Checks the `Authorization` header. Absent → `Anonymous`; present but wrong → 401.
pub fn caller(headers: &HeaderMap, key_hashes: &[[u8; 32]]) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let value = value.to_str().unwrap_or("");
    let Some(key) = value.strip_prefix("Bearer ").map(str::trim).filter(|k| !k.is_empty()) else {
        return Err(ApiError::unauthenticated(
            "invalid_authorization",
            "Authorization must be `Bearer <API key>`",
        ));
    };
    let hash = hash_api_key(key);
    // Compare against every configured hash, without stopping early.
    let matched = key_hashes.iter().fold(subtle::Choice::from(0), |acc, h| acc | h.ct_eq(&hash));
    if bool::from(matched) {
        Ok(Caller::ApiKey)
    } else {
        Err(ApiError::unauthenticated("invalid_api_key", "invalid API key"))
    }
}

/// Requires a valid API key.
pub fn require_api_key(headers: &HeaderMap, key_hashes: &[[u8; 32]]) -> Result<(), ApiError> {
    match caller(headers, key_hashes)? {
        Caller::ApiKey => Ok(()),
        Caller::Anonymous => Err(ApiError::unauthenticated(
            "missing_api_key",
            "an API key is required (Authorization: Bearer <API key>)",
        )),
    }
}

/// Checks a presented client secret against the session's, in constant time.
pub fn check_client_secret(session: &Session, presented: &str) -> Result<(), ApiError> {
    let wrong =
        || ApiError::unauthenticated("invalid_client_secret", "invalid client secret for this session");
    let presented: ClientSecret = presented.parse().map_err(|_| wrong())?;
    if bool::from(presented.as_bytes().ct_eq(session.client_secret.as_bytes())) {
        Ok(())
    } else {
        Err(wrong())
    }
}
