//! The HTTP layer's one error type, and its one mapping to SPEC §8: status, `code` and a public
//! sentence. Internal causes go to the log, never into a response: the response carries its cause
//! in a private extension ([`InternalCause`]), which the request layer (`http::trace`) takes out and
//! logs once, inside the request's span.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::store::StoreError;

mod code;

pub use code::{ErrorCode, Invalid};

#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// For `rate_limited`: when the client may try again.
    retry_after_secs: Option<u64>,
    /// For `internal`: what went wrong, for the log alone.
    cause: Option<String>,
}

/// The cause of a 5xx, in its response's extensions until the request layer logs it; never sent.
#[derive(Debug, Clone)]
pub(crate) struct InternalCause(pub(crate) String);

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_secs: None, cause: None }
    }
    pub fn rate_limited(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self { retry_after_secs: Some(retry_after_secs), ..Self::new(ErrorCode::RateLimited, message) }
    }
    pub fn request_timeout() -> Self {
        Self::new(ErrorCode::RequestTimeout, "the request body stopped arriving")
    }
    /// A failure that is ours, not the client's: answered generically, its cause logged once by
    /// the request layer (not here: an error may be made and then handled).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self { cause: Some(cause.to_string()), ..Self::new(ErrorCode::InternalError, "internal error") }
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        Self::new(e.code, e.message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::internal(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(json!({"error": self.message, "code": self.code.as_str()}))).into_response();
        // A CDN keeps some errors for seconds by default: one viewer's 401, 429 or 503 must not be
        // served to everyone (SPEC §13).
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self.code {
            ErrorCode::RateLimited => {
                let secs = self.retry_after_secs.unwrap_or(1).max(1);
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            ErrorCode::Busy => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
            }
            // The rest of the body may still be on its way: the connection cannot carry another request.
            ErrorCode::RequestTimeout => {
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(InternalCause(cause));
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Whether reading a request body failed because it sent nothing for the body timeout (the local
/// server wraps bodies in `tower_http`'s `TimeoutBody`); the error may be wrapped at any depth.
pub fn body_timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}
