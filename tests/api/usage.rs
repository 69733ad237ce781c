//! `GET /v1/usage/summary` (SPEC §10) through HTTP: storage and traffic per owner, exact at once,
//! kept across a restart; refused and not-modified responses are not counted.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

async fn summary(app: &TestApp, cred: &Cred, query: &str) -> Value {
    let response = app.get(&format!("/v1/usage/summary{query}"), cred).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn usage_counts_what_the_caller_stores_and_serves_this_month() {
    let app = spawn_app().await;
    let (ann_user, ann) = app.user("ann@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    let original = photo().len() as u64;
    app.upload_photo(&ann, &[("public_id", "p")]).await;
    app.upload_photo(&ann, &[("public_id", "secret"), ("visibility", "private")]).await;

    let mut served = 0;
    for _ in 0..2 {
        served += app.get("/v1/image/p", &Cred::None).await.bytes().await.unwrap().len() as u64;
    }
    let variant = app.get("/v1/image/w_100/p", &Cred::None).await.bytes().await.unwrap().len() as u64;
    served += variant;
    // Not counted: HEAD, 304, refusals.
    let etag = app.get("/v1/image/p", &Cred::None).await.headers()["etag"].clone();
    served += original;
    assert_eq!(app.req(Method::HEAD, "/v1/image/p", &Cred::None).send().await.unwrap().status(), StatusCode::OK);
    let not_modified =
        app.req(Method::GET, "/v1/image/p", &Cred::None).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(app.get("/v1/image/secret", &Cred::None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/v1/image/w_0/p", &Cred::None).await.status(), StatusCode::BAD_REQUEST);
    let svg = app.upload(&ann, Some((b"<svg/>".to_vec(), "x.svg")), &[]).await;
    assert_eq!(svg.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let mine = summary(&app, &ann, "").await;
    let period = imgcloud_core::usage::period(imgcloud_core::clock::now_ms());
    assert_eq!(mine["period"], period.as_str());
    assert_eq!(mine["asset_count"], 2);
    assert_eq!(mine["original_bytes"].as_u64(), Some(2 * original));
    assert_eq!(mine["variant_bytes"].as_u64(), Some(variant));
    assert_eq!(mine["storage_bytes"].as_u64(), Some(2 * original + variant));
    assert_eq!(mine["bandwidth_bytes"].as_u64(), Some(served));
    assert_eq!(mine["requests"], 4);

    let bobs = summary(&app, &bob, "").await;
    assert_eq!((bobs["asset_count"].as_u64(), bobs["bandwidth_bytes"].as_u64()), (Some(0), Some(0)));
    assert_error(app.get("/v1/usage/summary?all=true", &bob).await, StatusCode::FORBIDDEN).await;
    assert_error(app.get("/v1/usage/summary?all=yes", &ann).await, StatusCode::BAD_REQUEST).await;
    assert_error(app.get("/v1/usage/summary", &Cred::None).await, StatusCode::UNAUTHORIZED).await;

    let everyone = summary(&app, &app.admin().await, "?all=true").await;
    assert_eq!(everyone["bandwidth_bytes"].as_u64(), Some(served));
    let row = everyone["users"].as_array().unwrap().iter().find(|u| u["user_id"] == ann_user["id"]).unwrap().clone();
    assert_eq!(row["email"], "ann@example.com");
    assert_eq!(row["requests"], 4);

    // Flushed to the store on the way down: nothing is lost across a restart.
    let app = app.restart().await;
    let after = summary(&app, &ann, "").await;
    assert_eq!((after["bandwidth_bytes"].as_u64(), after["requests"].as_u64()), (Some(served), Some(4)));
}

#[tokio::test]
async fn masters_and_variants_count_as_variant_storage_and_leave_with_their_asset() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let asset = app.upload(&admin, Some((corpus("alpha_1024x1024.png"), "a.png")), &[("public_id", "a")]).await;
    assert_eq!(asset.status(), StatusCode::CREATED);
    let with_master = summary(&app, &admin, "").await["variant_bytes"].as_u64().unwrap();
    assert!(with_master > 0, "the lossless master is stored beside the original");
    let deleted = app.req(Method::DELETE, "/v1/assets/a", &admin).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let after = summary(&app, &admin, "").await;
    assert_eq!((after["storage_bytes"].as_u64(), after["asset_count"].as_u64()), (Some(0), Some(0)));
}
