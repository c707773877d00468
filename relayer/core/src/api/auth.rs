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
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are `Bearer`.
    let key = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_bearer_scheme_matches_in_any_case_and_nothing_else_passes() {
        let hashes = [hash_api_key("k")];
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers
                .insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")));
            caller(&headers, &hashes).map_err(|e| e.code)
        };
        for ok in ["Bearer k", "bearer k", "BEARER k", "bEaReR  k "] {
            assert_eq!(with(ok), Ok(Caller::ApiKey), "{ok}");
        }
        for (bad, code) in [
            ("Basic k", "invalid_authorization"),
            ("Bearerk", "invalid_authorization"),
            ("Bearer ", "invalid_authorization"),
            ("bearer x", "invalid_api_key"),
        ] {
            assert_eq!(with(bad), Err(code), "{bad}");
        }
    }
}
