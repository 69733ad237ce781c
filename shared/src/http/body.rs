//! Request bodies and query strings, parsed into typed values with SPEC §8 errors (the framework's
//! own rejections are plain text, so they are not used).

use axum::{
    extract::{FromRequest, Request},
    http::{header, HeaderMap},
};
use serde::de::DeserializeOwned;

use crate::error::{body_timed_out, AppError, AppResult, ErrorCode};

const MAX_JSON_BYTES: usize = 64 * 1024;

/// A JSON body: `Content-Type: application/json` (415 otherwise), at most 64 KiB (413), well-formed
/// and of the expected shape, unknown fields included (400).
pub struct JsonBody<T>(pub T);

pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _: &S) -> AppResult<Self> {
        if !is_json(req.headers()) {
            return Err(ErrorCode::UnsupportedMediaType.with("send a JSON body with Content-Type: application/json"));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BYTES).await.map_err(|e| {
            if body_timed_out(&e) {
                return AppError::request_timeout();
            }
            ErrorCode::BodyTooLarge.with(format!("JSON bodies are limited to {MAX_JSON_BYTES} bytes"))
        })?;
        parse_json(&bytes).map(Self)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        let message = match e.classify() {
            serde_json::error::Category::Data => format!("invalid request body: {e}"),
            _ => "request body is not valid JSON".to_owned(),
        };
        ErrorCode::InvalidBody.with(message)
    })
}

/// A query string of the expected shape (unknown parameters are refused, 400).
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> AppResult<T> {
    serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|e| ErrorCode::InvalidQuery.with(format!("invalid query string: {e}")))
}
