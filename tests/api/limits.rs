//! Rate limits (SPEC §9) through HTTP, each configured small: 429 with `Retry-After`, and nothing
//! done for a refused request.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

async fn assert_throttled(response: reqwest::Response) {
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert_eq!(assert_error(response, StatusCode::TOO_MANY_REQUESTS).await, "rate_limited");
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.send_json(Method::POST, "/v1/auth/login", &Cred::None, json!({"email": email, "password": password})).await
}

#[tokio::test]
async fn failed_logins_past_the_limit_are_429_even_with_the_right_password() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_LOGIN_FAILURES", "3")]).await;
    for _ in 0..3 {
        assert_error(login(&app, ADMIN_EMAIL, "wrong-password-1").await, StatusCode::UNAUTHORIZED).await;
    }
    assert_throttled(login(&app, ADMIN_EMAIL, "wrong-password-1").await).await;
    assert_throttled(login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await).await;
    // The client's IP is throttled too, whatever email it tries next.
    assert_throttled(login(&app, "someone-else@example.com", "whatever-password").await).await;
}

#[tokio::test]
async fn successful_logins_do_not_count_as_failures() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_LOGIN_FAILURES", "2")]).await;
    for _ in 0..5 {
        assert_eq!(login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn api_calls_are_limited_per_principal() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_API_PER_MINUTE", "8")]).await;
    let (_, ann) = app.user("ann@example.com").await; // the admin's calls: create user
    let key = app.key(&ann).await; // ann's first call
    for _ in 0..7 {
        assert_eq!(app.get("/v1/auth/me", &key).await.status(), StatusCode::OK);
    }
    assert_throttled(app.get("/v1/auth/me", &key).await).await;
    assert_throttled(app.get("/v1/assets", &ann).await).await;
    let (_, bob) = app.user("bob@example.com").await;
    assert_eq!(app.get("/v1/auth/me", &bob).await.status(), StatusCode::OK, "another principal is not throttled");
    assert_eq!(app.get("/healthz", &Cred::None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn uploads_are_limited_per_principal_and_a_refused_one_writes_nothing() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_UPLOADS_PER_MINUTE", "2")]).await;
    let admin = app.admin().await;
    let key = app.key(&admin).await;
    app.upload_photo(&key, &[]).await;
    app.upload_photo(&key, &[]).await;
    assert_throttled(app.upload(&key, Some((photo(), "p.jpg")), &[("public_id", "third")]).await).await;
    assert_error(app.get("/v1/assets/third", &key).await, StatusCode::NOT_FOUND).await;
    assert_eq!(app.stored_files().await.len(), 2);
}

#[tokio::test]
async fn uncached_renders_are_limited_per_client_and_cached_deliveries_are_not() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_RENDERS_PER_MINUTE", "2")]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    assert_eq!(app.get("/v1/image/w_100/p", &Cred::None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/v1/image/w_101/p", &Cred::None).await.status(), StatusCode::OK);
    assert_throttled(app.get("/v1/image/w_102/p", &Cred::None).await).await;
    for _ in 0..5 {
        let cached = app.get("/v1/image/w_100/p", &Cred::None).await;
        assert_eq!((cached.status(), cached.headers()["x-cache"].to_str().unwrap()), (StatusCode::OK, "HIT"));
        assert_eq!(app.get("/v1/image/p", &Cred::None).await.status(), StatusCode::OK, "originals are not renders");
    }
}

#[tokio::test]
async fn behind_a_cdn_only_its_requests_pass_and_its_viewer_address_is_the_client() {
    let secret = "origin-secret-from-the-cdn-0123";
    let app = spawn_app_with(&[("IMGCLOUD_ORIGIN_SECRET", secret), ("IMGCLOUD_RATE_LOGIN_FAILURES", "2")]).await;
    let around = app.get("/healthz", &Cred::None).await;
    assert_eq!(assert_error(around, StatusCode::FORBIDDEN).await, "forbidden");
    let unknown = app.get("/no/such/route", &Cred::None).await;
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN, "even unknown routes say nothing around the CDN");
    let wrong =
        app.req(Method::GET, "/healthz", &Cred::None).header("x-imgcloud-origin", "guess").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    let via_cdn = |viewer: &'static str, email: &'static str, password: &'static str| {
        app.req(Method::POST, "/v1/auth/login", &Cred::None)
            .header("x-imgcloud-origin", secret)
            .header("cloudfront-viewer-address", viewer)
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    // Two viewers behind the same edge (the same peer address here): limited one by one.
    for _ in 0..2 {
        let response = via_cdn("198.51.100.7:40001", "nobody-1@example.com", "wrong-password-1").await.unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED).await;
    }
    assert_throttled(via_cdn("198.51.100.7:40002", "nobody-2@example.com", "wrong-password-1").await.unwrap()).await;
    let other = via_cdn("[2001:db8::1]:40003", ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another viewer is not throttled");
}
