use reqwest::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn a_public_original_is_delivered_with_cache_headers_etag_304_and_head() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "pub/photo")]).await;

    let response = app.get("/v1/image/pub/photo", &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["cache-control"], "public, max-age=86400");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-length"].to_str().unwrap(), photo().len().to_string());
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "a strong ETag: {etag}");
    assert_eq!(response.bytes().await.unwrap(), photo());

    let cached =
        app.req(Method::GET, "/v1/image/pub/photo", &Cred::None).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert!(cached.bytes().await.unwrap().is_empty());

    let head = app.req(Method::HEAD, "/v1/image/pub/photo", &Cred::None).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["etag"], etag.as_str());
    assert_eq!(head.headers()["content-length"].to_str().unwrap(), photo().len().to_string());
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_private_original_needs_the_owner_s_or_an_admin_s_credentials() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    let ann_key = app.key(&ann).await;
    app.upload_photo(&ann_key, &[("public_id", "secret/doc"), ("visibility", "private")]).await;

    assert_error(app.get("/v1/image/secret/doc", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
    assert_error(app.get("/v1/image/secret/doc", &bob).await, StatusCode::UNAUTHORIZED).await;
    for cred in [&ann, &ann_key, &app.admin().await] {
        let response = app.get("/v1/image/secret/doc", cred).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "private, no-store");
    }
    let made_public = app
        .send_json(Method::PATCH, "/v1/assets/secret/doc", &ann_key, serde_json::json!({"visibility": "public"}))
        .await;
    assert_eq!(made_public.status(), StatusCode::OK);
    assert_eq!(app.get("/v1/image/secret/doc", &Cred::None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn traversal_and_unknown_ids_never_reach_a_file() {
    let app = spawn_app().await;
    for path in ["/v1/image/..%2f..%2fetc/passwd", "/v1/image/.hidden", "/v1/image/a%00b", "/v1/image/a%5c..%5cb"] {
        assert_error(app.get(path, &Cred::None).await, StatusCode::BAD_REQUEST).await;
    }
    // Clients resolve `%2e%2e` segments before sending: what arrives is another route.
    assert_error(app.get("/v1/image/%2e%2e/%2e%2e/etc/passwd", &Cred::None).await, StatusCode::NOT_FOUND).await;
    assert_error(app.get("/v1/image/not-uploaded", &Cred::None).await, StatusCode::NOT_FOUND).await;
}
