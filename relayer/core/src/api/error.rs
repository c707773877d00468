//! The API's error envelope (`{"error": {type, code, message, param?}}`) and its HTTP statuses, exactly
//! as the spec defines them. Internal failures are logged with the request id and answered with a
//! generic message: nothing internal leaks.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// An API error, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Its type.
    pub kind: ErrorType,
    /// Machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// The parameter at fault.
    pub param: Option<String>,
}

/// `{"error": {...}}`: every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorResponse<'a> {
    /// The error.
    pub error: ErrorObject<'a>,
}

/// One error, Stripe style.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorObject<'a> {
    /// `authentication_error`, `validation_error`, `invalid_request_error` or `api_error`.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// Machine-readable code, e.g. `invalid_parameter`.
    pub code: &'a str,
    /// Human-readable message.
    pub message: &'a str,
    /// The parameter at fault, e.g. `destination.amountUnits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<&'a str>,
}

/// The error types the API uses (the spec's names, exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// Missing or wrong credentials (401).
    AuthenticationError,
    /// A parameter is invalid (400).
    ValidationError,
    /// The request is well-formed but cannot be done (404, 422).
    InvalidRequestError,
    /// Something failed on our side (500).
    ApiError,
}

impl ApiError {
    /// 400 `validation_error` about `param`.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: ErrorType::ValidationError,
            code: "invalid_parameter",
            message: message.into(),
            param: Some(param.into()),
        }
    }

    /// 400 `validation_error`: a required parameter is missing.
    pub fn missing(param: impl Into<String>) -> Self {
        let param = param.into();
        Self {
            code: "missing_parameter",
            message: format!("{param} is required"),
            ..Self::invalid(param, "")
        }
    }

    /// 400 `validation_error` about the request body as a whole.
    pub fn body(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, ..Self::invalid("body", message) }
    }

    /// 401 `authentication_error`.
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            kind: ErrorType::AuthenticationError,
            code,
            message: message.into(),
            param: None,
        }
    }

    /// 400 `invalid_request_error`: valid, but cannot be processed.
    pub fn unprocessable(code: &'static str, message: impl Into<String>, param: Option<&str>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: ErrorType::InvalidRequestError,
            code,
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }

    /// 404 `invalid_request_error`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: ErrorType::InvalidRequestError,
            code,
            message: message.into(),
            param: None,
        }
    }

    /// 405 `invalid_request_error`: the route exists, not with this method.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            kind: ErrorType::InvalidRequestError,
            code: "method_not_allowed",
            message: message.into(),
            param: None,
        }
    }

    /// 503 `api_error`: a chain the request needs does not answer; trying again may work.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: ErrorType::ApiError,
            code: "chain_unavailable",
            message: message.into(),
            param: None,
        }
    }

    /// 500 `api_error`; the cause is logged, not sent.
    pub fn internal(cause: impl std::error::Error + 'static) -> Self {
        tracing::error!(cause = %relayer_util::causes(&cause), "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: ErrorType::ApiError,
            code: "internal_error",
            message: "internal error; the request id identifies it in the server logs".into(),
            param: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorObject {
                kind: self.kind,
                code: self.code,
                message: &self.message,
                param: self.param.as_deref(),
            },
        };
        (self.status, Json(body)).into_response()
    }
}
