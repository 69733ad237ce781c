//! What the Lambda shape adds to a function's router, in one place for the three functions and the
//! event replay tests: API Gateway's request id handed to the core as a [`PlatformRequestId`]; the
//! usage tally stored, and the request's metrics written to the log in CloudWatch's embedded metric
//! format (EMF), before each response leaves (a frozen process keeps nothing for later); and how a
//! function answers ([`ResponseMode`]).

use std::{
    io::Write,
    sync::{Arc, OnceLock},
};

use crate::{
    config::ConfigError,
    http::{flush_usage_per_request, PlatformRequestId},
    telemetry, App,
};
use axum::{extract::Request, middleware::Next, Router};
use lambda_http::{request::RequestContext, RequestExt};
use metrics_cloudwatch_embedded::Collector;

/// How a function's responses leave it (`IMGCLOUD_LAMBDA_RESPONSE_MODE`, named as Lambda names a
/// function URL's invoke modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// `buffered` (the default): one JSON payload, as API Gateway invokes a function; at most 6 MB,
    /// base64 included.
    Buffered,
    /// `response_stream`: the bytes streamed as they come, as a function URL with
    /// `InvokeMode: RESPONSE_STREAM` relays them (docs/AWS.md); up to the streaming limit.
    Streaming,
}

impl ResponseMode {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse(std::env::var("IMGCLOUD_LAMBDA_RESPONSE_MODE").ok().as_deref())
    }

    fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        match value {
            None | Some("buffered") => Ok(Self::Buffered),
            Some("response_stream") => Ok(Self::Streaming),
            Some(_) => Err(ConfigError {
                var: "IMGCLOUD_LAMBDA_RESPONSE_MODE",
                reason: "must be buffered or response_stream".into(),
            }),
        }
    }

    /// The largest image answered in the response; a larger one redirects (307) to a short-lived
    /// URL of the store's. Buffered: 6 MB less base64's third and room for headers. Streaming:
    /// Lambda's 20 MB for a streamed response, less room for headers.
    pub fn inline_max_bytes(self) -> u64 {
        match self {
            Self::Buffered => 4 << 20,
            Self::Streaming => 19 << 20,
        }
    }

    /// Runs the Lambda runtime with `router` as the handler, answering in this mode.
    pub async fn run(self, router: Router) -> Result<(), lambda_http::Error> {
        match self {
            Self::Buffered => lambda_http::run(router).await,
            Self::Streaming => lambda_http::run_with_streaming_response(router).await,
        }
    }
}

/// The CloudWatch namespace of the functions' metrics.
const NAMESPACE: &str = "imgcloud";

/// Where the EMF documents go: the log (stdout), or a test's buffer.
pub type MetricsOut = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// `router` (one area's routes) as a function serves it.
pub fn mount(app: Arc<App>, router: Router) -> Router {
    mount_with_metrics(app, router, Arc::new(write_log))
}

/// [`mount`] with the metrics written to `out`.
pub fn mount_with_metrics(app: Arc<App>, router: Router, out: MetricsOut) -> Router {
    let collector = collector();
    flush_usage_per_request(app, router)
        .layer(axum::middleware::from_fn(move |request: Request, next: Next| {
            let out = out.clone();
            async move {
                let response = next.run(request).await;
                let mut documents = Vec::new();
                match collector.flush(&mut documents) {
                    Ok(()) => out(&documents),
                    Err(e) => tracing::warn!(error = %e, "the metrics could not be written"),
                }
                response
            }
        }))
        .layer(axum::middleware::map_request(gateway_request_id))
}

/// The process's EMF recorder, installed at the first mount.
fn collector() -> &'static Collector {
    static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let collector = metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .init()
            .expect("no other metrics recorder is installed");
        telemetry::metrics::describe();
        collector
    })
}

/// One write of whole lines, so that no log line of another request lands inside a document.
fn write_log(documents: &[u8]) {
    if !documents.is_empty() {
        let _ = std::io::stdout().lock().write_all(documents);
    }
}

/// `requestContext.requestId` of an API Gateway event (HTTP API or REST), for the core's request
/// layer; an ALB event has none.
async fn gateway_request_id(mut request: Request) -> Request {
    let id = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        _ => None,
    };
    if let Some(id) = id {
        request.extensions_mut().insert(PlatformRequestId(id));
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_mode_is_buffered_unless_told_to_stream() {
        assert_eq!(ResponseMode::parse(None).unwrap(), ResponseMode::Buffered);
        assert_eq!(ResponseMode::parse(Some("response_stream")).unwrap(), ResponseMode::Streaming);
        assert_eq!(ResponseMode::parse(Some("RESPONSE_STREAM")).unwrap_err().var, "IMGCLOUD_LAMBDA_RESPONSE_MODE");
        assert!(ResponseMode::Streaming.inline_max_bytes() > 4 * ResponseMode::Buffered.inline_max_bytes());
    }
}
