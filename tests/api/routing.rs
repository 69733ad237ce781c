use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn healthz_is_ok_without_credentials() {
    let app = spawn_app().await;
    let response = app.get("/healthz", &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn unknown_routes_are_json_404_and_wrong_methods_json_405() {
    let app = spawn_app().await;
    assert_eq!(
        assert_error(
            app.get("/v1/nothing", &Cred::None).await,
            StatusCode::NOT_FOUND
        )
        .await,
        "not_found"
    );
    assert_eq!(
        assert_error(app.get("/", &Cred::None).await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    for (method, path) in [
        (Method::DELETE, "/healthz"),
        (Method::GET, "/v1/auth/login"),
        (Method::PUT, "/v1/users"),
        (Method::GET, "/v1/upload"),
    ] {
        let response = app
            .req(method.clone(), path, &Cred::None)
            .send()
            .await
            .unwrap();
        assert_eq!(
            assert_error(response, StatusCode::METHOD_NOT_ALLOWED).await,
            "method_not_allowed",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let app = spawn_app().await;
    for path in ["/healthz", "/v1/nothing", "/v1/auth/me"] {
        assert_eq!(
            app.get(path, &Cred::None).await.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
}
