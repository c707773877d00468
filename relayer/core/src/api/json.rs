//! Request bodies: JSON only (by content type), bounded in size, parsed into a `serde_json` object (kept
//! for idempotency's request hash) and from it into the route's DTO, naming the exact parameter at fault. Every rejection uses the API's error envelope.

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
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body(
                    "body_too_large",
                    format!("request body must be at most {MAX_BODY_BYTES} bytes"),
                )
            } else {
                // Cut off, or slower than the body timeout allows.
                ApiError::body("body_unreadable", "the request body did not arrive completely in time")
            }
        })?;
        match parse_strict(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::body("invalid_json", "request body must be a JSON object")),
            Err(e) => Err(ApiError::body("invalid_json", format!("request body is not valid JSON: {e}"))),
        }
    }
}

/// `bytes` as a JSON value, refusing an object with the same member twice at any depth. `serde_json`
/// keeps the last copy, so `{"clientSecret":"wrong","clientSecret":"right"}` would pass here while a proxy
/// or a log that reads the first copy sees another request. The check is its own pass that builds
/// nothing; the value is then parsed as usual (so numbers read exactly as `serde_json` reads them, with or
/// without its `arbitrary_precision` feature, which another crate of the build may turn on).
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<NoDuplicates>(bytes)?;
    serde_json::from_slice(bytes)
}

/// A JSON document with no object member given twice.
struct NoDuplicates;

impl<'de> serde::Deserialize<'de> for NoDuplicates {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("member {key:?} appears twice")));
            }
            map.next_value::<NoDuplicates>()?;
        }
        Ok(NoDuplicates)
    }
}

/// A query string's parameters, refusing any given twice (for the same reason as [`parse_strict`]).
pub fn query_params(raw: Option<&str>) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::invalid("query", format!("the query string is not valid: {e}")))?;
    let mut out = std::collections::HashMap::new();
    for (key, value) in pairs {
        if out.contains_key(&key) {
            return Err(ApiError::invalid(key.clone(), format!("query parameter {key} appears twice")));
        }
        out.insert(key, value);
    }
    Ok(out)
}

/// The request body as the route's DTO (see [`super::dto`]): a member of the wrong type, or one the DTO
/// does not know (Stripe-style: unknown parameters are errors, not ignored), is refused with its exact
/// path as the `param`, e.g. `destination.chainId` or `display.paymentOptions[1][0]`.
pub fn dto<T: serde::de::DeserializeOwned>(body: &Map<String, Value>) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let param = match e.path().to_string() {
            root if root == "." => "body".to_owned(),
            path => path,
        };
        ApiError::invalid(param.clone(), format!("{param}: {}", e.into_inner()))
    })
}

/// A member the route requires (a DTO's `Option`): absent and `null` are both missing.
pub fn required<'a>(value: &'a Option<String>, param: &str) -> Result<&'a str, ApiError> {
    value.as_deref().ok_or_else(|| ApiError::missing(param))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_given_twice_at_any_depth_is_refused_and_single_ones_parse_as_serde_json_does() {
        let parse = |text: &str| parse_strict(text.as_bytes());
        for twice in [
            r#"{"clientSecret":"wrong","clientSecret":"right"}"#,
            r#"{"paymentMethod":{"type":"evm","type":"solana"}}"#,
            r#"{"a":[{"b":1,"b":2}]}"#,
        ] {
            let error = parse(twice).expect_err(twice).to_string();
            assert!(error.contains("appears twice"), "{twice}: {error}");
        }
        let text = r#"{"a":[1,-2,3.5,18446744073709551616,"x",null,true,{"b":{}}],"c":{"d":[]}}"#;
        assert_eq!(parse(text).ok(), serde_json::from_str::<Value>(text).ok());
        assert!(parse(text).is_ok());
    }

    #[test]
    fn a_query_parameter_given_twice_is_refused() {
        let error = query_params(Some("clientSecret=a&clientSecret=b")).err();
        let fault = error.as_ref().map(|e| (e.code, e.param.as_deref()));
        assert_eq!(fault, Some(("invalid_parameter", Some("clientSecret"))));
        let one = query_params(Some("clientSecret=a%20b")).ok();
        assert_eq!(one.as_ref().and_then(|q| q.get("clientSecret")).map(String::as_str), Some("a b"));
        assert_eq!(query_params(None).ok().map(|q| q.len()), Some(0));
    }
}
