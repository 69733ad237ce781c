//! SPEC §15: every response carries `X-Request-Id`; a valid incoming one (1–128 of
//! `[A-Za-z0-9._-]`) is kept, any other replaced by a generated one.

use reqwest::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn every_response_carries_a_request_id_errors_too() {
    let app = spawn_app().await;
    let cases = [
        ("/healthz", StatusCode::OK),
        ("/v1/openapi.json", StatusCode::OK),
        ("/dashboard/", StatusCode::OK),
        ("/v1/nothing", StatusCode::NOT_FOUND),
        ("/v1/auth/me", StatusCode::UNAUTHORIZED),
        ("/v1/image/no/such/asset", StatusCode::NOT_FOUND),
    ];
    let responses = futures::future::join_all(cases.iter().map(|(path, _)| app.get(path, &Cred::None))).await;
    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert_eq!(statuses, cases.map(|(_, status)| status), "{cases:?}");
    let ids: std::collections::HashSet<String> = responses.iter().map(request_id).collect();
    assert_eq!(ids.len(), cases.len(), "request ids differ between requests: {ids:?}");
    let wrong_method = app.req(Method::DELETE, "/healthz", &Cred::None).send().await.unwrap();
    assert_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn a_valid_incoming_request_id_is_echoed() {
    let app = spawn_app().await;
    let longest = "a".repeat(128);
    for id in ["abc", "Req-1.2_3", longest.as_str()] {
        for path in ["/healthz", "/v1/nothing", "/v1/assets/some/id"] {
            let response = app.req(Method::GET, path, &Cred::None).header("X-Request-Id", id).send().await.unwrap();
            assert_eq!(request_id(&response), id, "{path}");
        }
    }
    let failed = app
        .req(Method::POST, "/v1/auth/login", &Cred::None)
        .header("X-Request-Id", "login-attempt-7")
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": "wrong-password-here"}))
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&failed), "login-attempt-7");
    assert_error(failed, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_invalid_incoming_request_id_is_replaced_by_a_generated_one() {
    let app = spawn_app().await;
    let too_long = "a".repeat(129);
    let way_too_long = "b".repeat(200);
    for id in [too_long.as_str(), way_too_long.as_str(), "has space", "slash/ed", "semi;colon", "ünïcode", ""] {
        for path in ["/healthz", "/v1/nothing"] {
            let response = app.req(Method::GET, path, &Cred::None).header("X-Request-Id", id).send().await.unwrap();
            let replaced = request_id(&response);
            assert_ne!(replaced, id, "{id:?} on {path} is not a valid request id");
        }
    }
}
