//! The request layer (SPEC §15): one `request` span over each request, with its id, method and
//! route (the matched template, never the raw path with its ids); `X-Request-Id` on every
//! response; one closing line per request with status and latency, and its count and time in the
//! metrics; and internal errors logged once, here, from the cause their response carries.
//!
//! The request id is a valid incoming `X-Request-Id` (1–128 of `[A-Za-z0-9._-]`), else the
//! platform's id of the request when the shape gives one ([`PlatformRequestId`]: a Lambda
//! function passes API Gateway's), else a generated one.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::{field::Empty, Instrument};

use crate::{error::InternalCause, telemetry::metrics};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route of a request no route matched (404, or a prefix's fallback).
const UNMATCHED: &str = "unmatched";

/// The id the platform gave a request (API Gateway's `requestContext.requestId`), put in the
/// request's extensions by the shape; used unless the client sent a valid `X-Request-Id`.
#[derive(Debug, Clone)]
pub struct PlatformRequestId(pub String);

pub(crate) async fn trace(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let method = request.method().clone();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        route,
        status = Empty,
        duration_ms = Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let (status, elapsed) = (response.status(), started.elapsed());
    span.record("status", status.as_u16());
    span.record("duration_ms", elapsed.as_secs_f64() * 1000.0);
    let cause = response.extensions_mut().remove::<InternalCause>();
    span.in_scope(|| {
        if let Some(InternalCause(cause)) = cause {
            tracing::error!(error = %cause, "internal error");
        }
        tracing::info!("request finished");
    });
    metrics::request(route, &method, status, elapsed);
    let value = HeaderValue::try_from(id).expect("request ids are checked to be header-safe");
    response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    response
}

fn request_id(request: &Request) -> String {
    let incoming = request.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok());
    if let Some(id) = incoming.filter(|id| valid(id)) {
        return id.to_owned();
    }
    match request.extensions().get::<PlatformRequestId>() {
        // API Gateway's ids are base64 (`JKJaXmPLvHcESHA=`): kept as they are, so that they match
        // its access log, when they fit in a header.
        Some(PlatformRequestId(id)) if (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()) => {
            id.clone()
        }
        _ => crate::secrets::random_hex(16),
    }
}

/// SPEC §15's incoming id: 1–128 of `[A-Za-z0-9._-]`.
fn valid(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(header: Option<&str>, platform: Option<&str>) -> String {
        let mut request = Request::new(axum::body::Body::empty());
        if let Some(h) = header {
            request.headers_mut().insert(&X_REQUEST_ID, HeaderValue::from_str(h).unwrap());
        }
        if let Some(p) = platform {
            request.extensions_mut().insert(PlatformRequestId(p.to_owned()));
        }
        request_id(&request)
    }

    #[test]
    fn a_valid_incoming_id_wins_over_the_platform_s() {
        assert_eq!(id_of(Some("abc-1.2_3"), Some("gw")), "abc-1.2_3");
        assert_eq!(id_of(Some(&"a".repeat(128)), None), "a".repeat(128));
    }

    #[test]
    fn an_invalid_incoming_id_gives_way_to_the_platform_s_or_a_generated_one() {
        assert_eq!(id_of(Some("has space"), Some("JKJaXmPLvHcESHA=")), "JKJaXmPLvHcESHA=");
        for bad in [&"a".repeat(129), "a/b", ""] {
            let id = id_of(Some(bad), None);
            assert!(valid(&id) && id.len() == 32, "{bad:?} gave {id:?}");
        }
        assert_ne!(id_of(None, None), id_of(None, None));
        assert_eq!(id_of(None, Some("bad\u{7f}")).len(), 32);
    }

    /// Through a router finished like every area's: an internal error is logged once, at error
    /// level, with its cause and the request's fields; a client error is not logged as an error.
    #[test]
    fn the_cause_of_a_5xx_is_logged_once_with_the_request_and_never_sent() {
        use axum::routing::get;
        use tower_service::Service;

        use crate::{error::ErrorCode, AppError};

        let (subscriber, out) = crate::telemetry::tests::capture();
        let mut router = axum::Router::new()
            .route("/broken/{id}", get(|| async { AppError::internal("disk full at /var/secret") }))
            .route("/refused", get(|| async { AppError::new(ErrorCode::Forbidden, "not yours") }))
            .layer(axum::middleware::from_fn(trace));
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let responses = tracing::subscriber::with_default(subscriber, || {
            runtime.block_on(async {
                let mut responses = Vec::new();
                for (path, id) in [("/broken/42", "req-5xx"), ("/refused", "req-4xx")] {
                    let request =
                        Request::builder().uri(path).header("x-request-id", id).body(axum::body::Body::empty());
                    let response = router.call(request.unwrap()).await.unwrap();
                    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
                    responses.push(String::from_utf8(body.to_vec()).unwrap());
                }
                responses
            })
        });
        assert!(!responses[0].contains("disk full"), "{}", responses[0]);
        let lines = crate::telemetry::tests::lines(&out);
        let errors: Vec<_> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
        assert_eq!(errors.len(), 1, "{lines:?}");
        let error = errors[0];
        assert_eq!(error["error"], "disk full at /var/secret");
        assert_eq!((error["request_id"].as_str(), error["route"].as_str()), (Some("req-5xx"), Some("/broken/{id}")));
        assert_eq!((error["method"].as_str(), error["status"].as_u64()), (Some("GET"), Some(500)));
        let closing: Vec<_> = lines.iter().filter(|l| l["message"] == "request finished").collect();
        assert_eq!(closing.len(), 2, "{lines:?}");
        assert_eq!((closing[1]["request_id"].as_str(), closing[1]["status"].as_u64()), (Some("req-4xx"), Some(403)));
        assert!(closing.iter().all(|l| l["level"] == "INFO" && l["duration_ms"].is_f64()), "{closing:?}");
    }
}
