//! `Idempotency-Key` on creating requests, with Stripe's semantics: the first successful response
//! (status and body) is stored with the key, in the same commit as what it created, for
//! [`KEY_LIFETIME_SECS`]; a retry with the same key and the same body gets that response again (marked
//! `Idempotent-Replayed: true`) and creates nothing; the same key with another body is refused. Keys
//! are scoped by route. A request that failed validation stores nothing: it changed nothing, so a
//! corrected retry with the same key proceeds.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use relayer_store::IdempotencyRecord;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::ApiError;

pub use crate::IDEMPOTENCY_KEY_LIFETIME_SECS as KEY_LIFETIME_SECS;

/// The header.
pub const HEADER: &str = "Idempotency-Key";

/// A request's idempotency key, scoped by its route, and the fingerprint of its body.
#[derive(Debug, Clone)]
pub struct Keyed {
    /// `<route> <key>`.
    pub scoped: String,
    /// SHA-256 (hex) of the body in canonical form (members sorted, no spaces): the same parameters in
    /// another order are the same request.
    pub request_sha256: String,
}

/// The `Idempotency-Key` of a request to `route`, if it has one.
pub fn key(headers: &HeaderMap, route: &str, body: &Map<String, Value>) -> Result<Option<Keyed>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    let invalid = |message: &str| ApiError::unprocessable("invalid_idempotency_key", message, Some(HEADER));
    if values.next().is_some() {
        return Err(invalid("Idempotency-Key must be given once"));
    }
    let key = value.to_str().map_err(|_| invalid("Idempotency-Key must be printable ASCII"))?;
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(invalid("Idempotency-Key must be 1 to 255 printable ASCII characters"));
    }
    Ok(Some(Keyed {
        scoped: format!("{route} {key}"),
        request_sha256: hex::encode(Sha256::digest(canonical(&Value::Object(body.clone())).as_bytes())),
    }))
}

/// `value` with object members sorted at every depth.
fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// The response of a stored record: the first response again, or, if the body differs, a refusal.
pub fn replay(record: &IdempotencyRecord, request: &Keyed, fresh: bool) -> Result<Response, ApiError> {
    if record.request_sha256 != request.request_sha256 {
        return Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "Idempotency-Key was already used with a different request body; use a new key for a new request",
            Some(HEADER),
        ));
    }
    let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
    let mut response = (status, [(CONTENT_TYPE, "application/json")], record.body.clone()).into_response();
    if !fresh {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap_or_default()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(HEADER, HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("x")));
        }
        h
    }

    #[test]
    fn the_same_parameters_in_another_order_are_the_same_request() {
        let a = key(&headers(&["k"]), "POST /v1/sessions", &body(r#"{"a":1,"b":{"c":2,"d":3}}"#));
        let b = key(&headers(&["k"]), "POST /v1/sessions", &body(r#"{"b":{"d":3,"c":2},"a":1}"#));
        let c = key(&headers(&["k"]), "POST /v1/sessions", &body(r#"{"a":2,"b":{"c":2,"d":3}}"#));
        let hash = |k: Result<Option<Keyed>, ApiError>| k.ok().flatten().map(|k| k.request_sha256);
        assert_eq!(hash(a), hash(b.clone()));
        assert_ne!(hash(b), hash(c));
    }

    #[test]
    fn keys_are_scoped_by_route_and_checked() {
        let scoped =
            key(&headers(&["k 1"]), "POST /v1/webhooks", &Map::new()).ok().flatten().map(|k| k.scoped);
        assert_eq!(scoped.as_deref(), Some("POST /v1/webhooks k 1"));
        assert!(matches!(key(&HeaderMap::new(), "r", &Map::new()), Ok(None)));
        let long = "x".repeat(256);
        for bad in [vec![""], vec![long.as_str()], vec!["a", "b"]] {
            let error = key(&headers(&bad), "r", &Map::new()).err().map(|e| (e.code, e.param));
            assert_eq!(error, Some(("invalid_idempotency_key", Some(HEADER.to_owned()))), "{bad:?}");
        }
    }
}
