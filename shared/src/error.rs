//! The HTTP layer's one error type, and its one mapping to SPEC §8: status, `code` and a public
//! sentence. Internal causes go to the log, never into a response.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Well-formed, but more work than a request may take (SPEC §12: `render_too_large`).
    Unprocessable,
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// The request body sent nothing for `IMGCLOUD_BODY_TIMEOUT_SECONDS`; the connection closes.
    RequestTimeout,
    /// Busy: the render queue or the uploads in flight are full (a retry soon will likely succeed).
    Unavailable,
    Internal,
}

#[derive(Debug)]
pub struct AppError {
    pub kind: Kind,
    pub code: &'static str,
    pub message: String,
}

impl AppError {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into() }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, "unauthorized", message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Unprocessable, code, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, "not_found", message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, message)
    }
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::PayloadTooLarge, code, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(Kind::UnsupportedMediaType, "unsupported_media_type", message)
    }
    pub fn request_timeout() -> Self {
        Self::new(Kind::RequestTimeout, "request_timeout", "the request body stopped arriving")
    }
    /// A failure that is ours, not the client's: logged with its cause, answered generically.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Kind::Internal, "internal_error", "internal error")
    }

    pub fn status(&self) -> StatusCode {
        match self.kind {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Kind::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
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
        let mut response = (status, Json(json!({"error": self.message, "code": self.code}))).into_response();
        // A CDN keeps some errors for seconds by default: one viewer's 401, 429 or 503 must not be
        // served to everyone (SPEC §13).
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self.kind {
            Kind::TooManyRequests { retry_after_secs } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
            }
            Kind::Unavailable => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
            }
            // The rest of the body may still be on its way: the connection cannot carry another request.
            Kind::RequestTimeout => {
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
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
