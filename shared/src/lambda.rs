//! What the Lambda shape adds to a function's router, in one place for the three functions and the
//! event replay tests: API Gateway's request id handed to the core as a [`PlatformRequestId`], and
//! the usage tally stored before each response leaves (a frozen process counts nothing).

use std::sync::Arc;

use crate::{
    http::{flush_usage_per_request, PlatformRequestId},
    App,
};
use axum::{extract::Request, Router};
use lambda_http::{request::RequestContext, RequestExt};

/// `router` (one area's routes) as a function serves it.
pub fn mount(app: Arc<App>, router: Router) -> Router {
    flush_usage_per_request(app, router).layer(axum::middleware::map_request(gateway_request_id))
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
