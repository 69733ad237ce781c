use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn healthz_is_ok_without_credentials() {
    let app = spawn_app().await;
    let response = app.get("/healthz", &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn unknown_routes_are_json_404_and_wrong_methods_json_405() {
    let app = spawn_app().await;
    assert_eq!(assert_error(app.get("/v1/nothing", &Cred::None).await, StatusCode::NOT_FOUND).await, "not_found");
    assert_eq!(assert_error(app.get("/", &Cred::None).await, StatusCode::NOT_FOUND).await, "not_found");
    for (method, path) in [
        (Method::DELETE, "/healthz"),
        (Method::GET, "/v1/auth/login"),
        (Method::PUT, "/v1/users"),
        (Method::GET, "/v1/upload"),
    ] {
        let response = app.req(method.clone(), path, &Cred::None).send().await.unwrap();
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
        assert_eq!(app.get(path, &Cred::None).await.headers()["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn the_dashboard_is_served_with_a_strict_csp() {
    let app = spawn_app().await;
    let page = app.get("/dashboard/", &Cred::None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let redirect = app.get("/dashboard", &Cred::None).await;
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers()["location"], "/dashboard/");
    assert_error(app.get("/dashboard/no-such-file.js", &Cred::None).await, StatusCode::NOT_FOUND).await;
}
