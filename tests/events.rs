//! The saved API Gateway events in `events/` replayed through each Lambda function's router, the
//! way `lambda_http` hands them over in production.

use std::sync::Arc;

use axum::Router;
use imgcloud_core::{http, App, Config};
use serde_json::Value;
use tower::ServiceExt;

const ADMIN_PASSWORD: &str = "admin-password-for-events";

async fn app(dir: &tempfile::TempDir) -> Arc<App> {
    let data_dir = dir.path().display().to_string();
    let config = Config::from_lookup(|k| match k {
        "IMGCLOUD_DATA_DIR" => Some(data_dir.clone()),
        "IMGCLOUD_ADMIN_EMAIL" => Some("admin@example.com".into()),
        "IMGCLOUD_ADMIN_PASSWORD" => Some(ADMIN_PASSWORD.into()),
        "IMGCLOUD_PUBLIC_URL" => Some("https://abc123.execute-api.eu-west-1.amazonaws.com".into()),
        _ => None,
    })
    .unwrap();
    let app = App::open_embedded(config).unwrap();
    app.bootstrap_admin().await.unwrap();
    app
}

/// Replays `events/<name>` through `router`; returns the status, the headers and the JSON body.
async fn replay(router: Router, name: &str) -> (u16, axum::http::HeaderMap, Value) {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let request =
        lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap()).expect("a valid API Gateway event");
    let response = router.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (parts.status.as_u16(), parts.headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_api_function_answers_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir).await;
    let (status, _, body) = replay(http::api_routes(app.clone()), "api-healthz.json").await;
    assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));

    let (status, headers, body) = replay(http::api_routes(app.clone()), "api-login.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], "admin@example.com");
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-imgcloud_session=") && cookie.contains("Secure"), "{cookie}");

    let (status, _, body) = replay(http::api_routes(app.clone()), "api-login-wrong-password.json").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")));

    let (status, _, _) = replay(http::api_routes(app), "api-assets-list-anonymous.json").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_upload_and_delivery_functions_answer_their_events() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir).await;
    let (status, _, body) = replay(http::upload_routes(app.clone()), "upload-anonymous.json").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, headers, _) = replay(http::delivery_routes(app.clone()), "delivery-missing.json").await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // A function answers only its own routes.
    let (status, _, _) = replay(http::delivery_routes(app), "api-healthz.json").await;
    assert_eq!(status, 404);
}
