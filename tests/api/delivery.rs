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

/// SPEC §14's strict mode: anonymous unsigned deliveries get originals; a transform needs a
/// signature or the owner's (or an admin's) credentials, and is then theirs alone.
#[tokio::test]
async fn strict_mode_keeps_transforms_for_signed_urls_and_owners() {
    let app = spawn_app_with(&[("IMGCLOUD_STRICT_TRANSFORMS", "true")]).await;
    let admin = app.admin().await;
    let (_, ann) = app.user("ann@example.com").await;
    let ann = app.key(&ann).await;
    let (_, bob) = app.user("bob@example.com").await;
    app.upload_photo(&ann, &[("public_id", "strict/photo")]).await;
    let transformed = "/v1/image/w_100,f_webp/strict/photo";

    let original = app.get("/v1/image/strict/photo", &Cred::None).await;
    assert_eq!(original.status(), StatusCode::OK);
    assert!(original.headers()["cache-control"].to_str().unwrap().starts_with("public, max-age="));
    for cred in [&Cred::None, &bob] {
        let code = assert_error(app.get(transformed, cred).await, StatusCode::FORBIDDEN).await;
        assert_eq!(code, "transform_not_allowed");
    }
    for cred in [&ann, &admin] {
        let response = app.get(transformed, cred).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "private, no-store", "never cached for anyone else");
    }
    let signed: serde_json::Value = app
        .send_json(
            Method::POST,
            "/v1/image/sign",
            &ann,
            serde_json::json!({"public_id": "strict/photo", "transform": "w_100,f_webp"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let url = signed["url"].as_str().unwrap();
    let response = app.get(url.strip_prefix(&app.base).unwrap(), &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK, "a signed URL may use any transform");
    assert_eq!(response.headers()["content-type"], "image/webp");
}
