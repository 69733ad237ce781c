//! The one router. Each area returns its routes ([`api_routes`], [`upload_routes`],
//! [`delivery_routes`]); a Lambda function mounts its own area, the local server all of them.
//! Handlers take a request and return a response; they do not know which shape they run in.

mod api_keys;
mod assets;
mod auth;
mod body;
mod client_ip;
mod delivery;
mod health;
mod openapi;
mod presets;
mod sign;
mod trace;
mod upload;
mod usage;
mod users;
mod views;

use std::sync::Arc;

use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderValue},
    routing::{get, patch, post},
    Router,
};

pub use trace::{PlatformRequestId, X_REQUEST_ID};

use crate::{app::App, error::ErrorCode};

/// Auth, users, API keys, asset metadata, presets, signing, the OpenAPI document, `/healthz` and
/// `/readyz`.
pub fn api_routes(app: Arc<App>) -> Router {
    finish(&app, api(app.clone()))
}

/// `POST /v1/upload`, and direct uploads (`POST /v1/uploads`, `.../{upload_id}/complete`).
pub fn upload_routes(app: Arc<App>) -> Router {
    finish(&app, upload(app.clone()))
}

/// `GET|HEAD /v1/image/...`: nothing but deliveries, so that the Lambda shape can stream them
/// from a function URL that takes no request body (docs/AWS.md).
pub fn delivery_routes(app: Arc<App>) -> Router {
    finish(&app, delivery(app.clone()))
}

/// Every area in one router, plus the shape's own `extra` routes (the local server's dashboard).
pub fn all_routes(app: Arc<App>, extra: Router) -> Router {
    finish(&app, api(app.clone()).merge(upload(app.clone())).merge(delivery(app.clone())).merge(extra))
}

fn api(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/auth/me", get(auth::me))
        .route("/v1/auth/change-password", post(auth::change_password))
        .route("/v1/users", get(users::list).post(users::create))
        .route("/v1/users/{id}", patch(users::update).delete(users::delete))
        .route("/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/v1/api-keys/{key_id}/revoke", post(api_keys::revoke))
        .route("/v1/usage/summary", get(usage::summary_handler))
        .route("/v1/assets", get(assets::list))
        .route("/v1/assets/{*public_id}", get(assets::get).patch(assets::update).delete(assets::delete))
        .route("/v1/presets", get(presets::list))
        .route("/v1/presets/{name}", axum::routing::put(presets::put).delete(presets::delete))
        // An authenticated API call under the image path. `sign` can also be an asset's id: GET
        // on that path is a delivery like any other.
        .route("/v1/image/sign", post(sign::sign).get(delivery::deliver))
        .with_state(app)
}

/// Upload streams its own body with its own limits, so the default body cap is off; at most
/// `IMGCLOUD_UPLOADS_IN_FLIGHT` run at once (see [`upload::in_flight`]). Every answer of the two
/// routes that make an asset is counted by outcome, those refused as busy too.
fn upload(app: Arc<App>) -> Router {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(app.config.uploads_in_flight as usize));
    let counted = || axum::middleware::map_response(upload::counted);
    Router::new()
        .route(
            "/v1/upload",
            post(upload::upload)
                .route_layer(axum::middleware::from_fn_with_state(in_flight, upload::in_flight))
                .route_layer(counted()),
        )
        .layer(DefaultBodyLimit::disable())
        .route("/v1/uploads", post(upload::start_direct))
        .route("/v1/uploads/{upload_id}/complete", post(upload::complete_direct).route_layer(counted()))
        .with_state(app)
}

fn delivery(app: Arc<App>) -> Router {
    Router::new().route("/v1/image/{*path}", get(delivery::deliver)).with_state(app)
}

/// For shapes whose process may be frozen or ended between requests (Lambda): the usage tally is
/// stored before each response leaves, so that no counted delivery waits in a frozen process.
pub fn flush_usage_per_request(app: Arc<App>, router: Router) -> Router {
    router.layer(axum::middleware::from_fn(move |request, next: axum::middleware::Next| {
        let app = app.clone();
        async move {
            let response = next.run(request).await;
            if let Err(e) = app.usage.flush(app.meta.as_ref()).await {
                tracing::warn!(error = %e, "usage flush failed; kept for the next request");
            }
            response
        }
    }))
}

/// JSON for unknown routes (404) and wrong methods (405), `nosniff` on every response, behind a
/// CDN the check that requests came through it, and, outermost, the request's span, id and log
/// lines ([`trace`]).
fn finish(app: &App, router: Router) -> Router {
    let router = router
        .fallback(|| async { ErrorCode::NotFound.with("no such route") })
        .method_not_allowed_fallback(|| async { ErrorCode::MethodNotAllowed.with("method not allowed on this route") });
    let router = match &app.config.origin_secret {
        Some(secret) => router
            .layer(axum::middleware::from_fn_with_state(Arc::<str>::from(secret.expose()), client_ip::through_cdn)),
        None => router,
    };
    router
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(axum::middleware::from_fn(trace::trace))
}
