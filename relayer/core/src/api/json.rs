//! Request bodies: JSON only (by content type), bounded in size, parsed into a `serde_json` object so
//! validation can name the exact parameter at fault. Every rejection uses the API's error envelope.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header::CONTENT_TYPE,
};
use serde_json::{Map, Value};

use super::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON object from the request body.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" {
            return Err(ApiError::body("invalid_content_type", "Content-Type must be application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::body("body_too_large", format!("request body must be at most {MAX_BODY_BYTES} bytes"))
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::body("invalid_json", "request body must be a JSON object")),
            Err(e) => Err(ApiError::body("invalid_json", format!("request body is not valid JSON: {e}"))),
        }
    }
}

/// Rejects members other than `allowed` (Stripe-style: unknown parameters are errors, not ignored).
pub fn only(map: &Map<String, Value>, prefix: &str, allowed: &[&str]) -> Result<(), ApiError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::invalid(format!("{prefix}{k}"), format!("unknown parameter {prefix}{k}"))),
        None => Ok(()),
    }
}

/// A required string member.
pub fn string<'a>(map: &'a Map<String, Value>, key: &str, param: &str) -> Result<&'a str, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Err(ApiError::missing(param)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::invalid(param, format!("{param} must be a string"))),
    }
}

/// An optional string member.
pub fn opt_string<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    param: &str,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(param, format!("{param} must be a string"))),
    }
}

/// A required object member.
pub fn object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    param: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Err(ApiError::missing(param)),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(ApiError::invalid(param, format!("{param} must be an object"))),
    }
}
