//! Signed URLs (SPEC §7) through HTTP: issue, deliver, tamper, expire.

use imgcloud_core::{clock::now_ms, signing::Signer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

async fn private_photo() -> (TestApp, Cred) {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let key = app.key(&ann).await;
    app.upload_photo(&key, &[("public_id", "private/contract-001"), ("visibility", "private")]).await;
    (app, key)
}

async fn sign(app: &TestApp, cred: &Cred, body: Value) -> reqwest::Response {
    app.send_json(Method::POST, "/v1/image/sign", cred, body).await
}

/// The path and query of a signed URL.
fn local(app: &TestApp, url: &str) -> String {
    url.strip_prefix(&app.base).expect("the URL starts with the public URL").to_owned()
}

#[tokio::test]
async fn a_signed_url_delivers_a_private_asset_and_no_cache_keeps_it_past_expiry() {
    let (app, key) = private_photo().await;
    assert_error(app.get("/v1/image/w_200,q_80/private/contract-001", &Cred::None).await, StatusCode::UNAUTHORIZED)
        .await;
    let response =
        sign(&app, &key, json!({"public_id": "private/contract-001", "transform": "q_80,w_200", "ttl_seconds": 3600}))
            .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let (url, expires) = (body["url"].as_str().unwrap(), body["expires"].as_i64().unwrap());
    let now = now_ms() / 1000;
    assert!((now + 3599..=now + 3601).contains(&expires));
    assert!(
        url.starts_with(&format!(
            "{}/v1/image/w_200,q_80/private/contract-001?expires={expires}&v={}&sig=",
            app.base,
            revision(&app, &key, "private/contract-001").await
        )),
        "{url}"
    );

    let delivered = app.get(&local(&app, url), &Cred::None).await;
    assert_eq!(delivered.status(), StatusCode::OK);
    let max_age: i64 = delivered.headers()["cache-control"]
        .to_str()
        .unwrap()
        .strip_prefix("public, max-age=")
        .unwrap()
        .parse()
        .unwrap();
    assert!((3590..=3600).contains(&max_age), "{max_age}");
    let image = image::load_from_memory(&delivered.bytes().await.unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (200, 133));
}

#[tokio::test]
async fn an_object_transform_is_validated_and_canonicalised_and_none_signs_the_original() {
    let (app, key) = private_photo().await;
    let body: Value =
        sign(&app, &key, json!({"public_id": "private/contract-001", "transform": {"q": 80, "w": 200, "gr": true}}))
            .await
            .json()
            .await
            .unwrap();
    assert!(body["url"].as_str().unwrap().contains("/v1/image/w_200,q_80,gr_1/private/contract-001?"), "{body}");
    let original: Value = sign(&app, &key, json!({"public_id": "private/contract-001"})).await.json().await.unwrap();
    let url = original["url"].as_str().unwrap();
    assert!(url.contains("/v1/image/private/contract-001?expires="), "{url}");
    assert_eq!(app.get(&local(&app, url), &Cred::None).await.bytes().await.unwrap(), photo());
}

#[tokio::test]
async fn a_signature_never_carries_over_to_another_path_transform_or_expiry() {
    let (app, key) = private_photo().await;
    let body: Value = sign(&app, &key, json!({"public_id": "private/contract-001", "transform": "w_200"}))
        .await
        .json()
        .await
        .unwrap();
    let url = local(&app, body["url"].as_str().unwrap());
    let (path, query) = url.split_once('?').unwrap();
    let expires = body["expires"].as_i64().unwrap();
    let sig = query.split("sig=").nth(1).unwrap();
    let v = revision(&app, &key, "private/contract-001").await;
    let other_v = format!("{}{}", &v[..v.len() - 1], if v.ends_with('0') { '1' } else { '0' });
    let flipped = format!("{}{}", &sig[..sig.len() - 1], if sig.ends_with('A') { 'B' } else { 'A' });
    for tampered in [
        format!("/v1/image/w_201/private/contract-001?{query}"),
        format!("/v1/image/w_200/private/Contract-001?{query}"),
        format!("/v1/image/w_200/private/contract-001/?{query}"),
        format!("/v1/image/h_10,w_200/private/contract-001?{query}"),
        format!("{path}?expires={}&v={v}&sig={sig}", expires + 1),
        format!("{path}?expires={expires}&v={other_v}&sig={sig}"),
        format!("{path}?expires={expires}&v={}&sig={sig}", v.to_uppercase()),
        format!("{path}?expires={expires}&v=&sig={sig}"),
        format!("{path}?expires={expires}&sig={sig}"),
        format!("{path}?expires={expires}&sig={flipped}"),
        format!("{path}?expires={expires}&sig={}", &sig[..20]),
        format!("{path}?expires={expires}&sig=not-base64!!"),
        format!("{path}?expires={expires}"),
        format!("{path}?sig={sig}"),
        format!("{path}?expires=soon&sig={sig}"),
    ] {
        let response = app.get(&tampered, &Cred::None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{tampered}");
        assert_error(response, StatusCode::UNAUTHORIZED).await;
    }
    let twice = app.get(&format!("{path}?expires={expires}&expires={expires}&v={v}&sig={sig}"), &Cred::None).await;
    assert_error(twice, StatusCode::BAD_REQUEST).await;
    let twice = app.get(&format!("{path}?expires={expires}&v={v}&v={v}&sig={sig}"), &Cred::None).await;
    assert_error(twice, StatusCode::BAD_REQUEST).await;
    assert_eq!(app.get(&url, &Cred::None).await.status(), StatusCode::OK, "the untouched URL still works");
}

#[tokio::test]
async fn an_expired_signature_is_401() {
    let (app, key) = private_photo().await;
    let revision = revision(&app, &key, "private/contract-001").await;
    let secret = app.generated_signing_secret().await.expect("the server made a secret");
    let signer = Signer::new(secret.as_bytes()).unwrap();
    let path = "/v1/image/w_100/private/contract-001";
    let expired = now_ms() / 1000 - 5;
    let response = app
        .get(
            &format!("{path}?expires={expired}&v={revision}&sig={}", signer.sign(path, expired, Some(&revision))),
            &Cred::None,
        )
        .await;
    assert_eq!(assert_error(response, StatusCode::UNAUTHORIZED).await, "signature_expired");
    let valid = now_ms() / 1000 + 60;
    let response = app
        .get(
            &format!("{path}?expires={valid}&v={revision}&sig={}", signer.sign(path, valid, Some(&revision))),
            &Cred::None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "signing offline with the secret works");
}

#[tokio::test]
async fn only_the_owner_or_an_admin_signs_and_bad_requests_are_refused() {
    let (app, ann_key) = private_photo().await;
    let (_, bob) = app.user("bob@example.com").await;
    let admin = app.admin().await;
    assert_error(sign(&app, &bob, json!({"public_id": "private/contract-001"})).await, StatusCode::FORBIDDEN).await;
    assert_eq!(sign(&app, &admin, json!({"public_id": "private/contract-001"})).await.status(), StatusCode::OK);
    assert_error(sign(&app, &Cred::None, json!({"public_id": "private/contract-001"})).await, StatusCode::UNAUTHORIZED)
        .await;
    assert_error(sign(&app, &ann_key, json!({"public_id": "nothing"})).await, StatusCode::NOT_FOUND).await;
    for body in [
        json!({"public_id": "private/contract-001", "transform": "w_0"}),
        json!({"public_id": "private/contract-001", "transform": {"w": 0}}),
        json!({"public_id": "private/contract-001", "transform": {"zoom": 2}}),
        json!({"public_id": "private/contract-001", "transform": {"w": [1]}}),
        json!({"public_id": "private/contract-001", "ttl_seconds": 0}),
        json!({"public_id": "private/contract-001", "ttl_seconds": 604_801}),
        json!({"public_id": "../etc"}),
        json!({"public_id": "private/contract-001", "extra": 1}),
    ] {
        assert_error(sign(&app, &ann_key, body.clone()).await, StatusCode::BAD_REQUEST).await;
    }
    assert_eq!(
        sign(&app, &ann_key, json!({"public_id": "private/contract-001", "ttl_seconds": 604_800})).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_asset_named_sign_is_still_delivered() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "sign")]).await;
    assert_eq!(app.get("/v1/image/sign", &Cred::None).await.bytes().await.unwrap(), photo());
}

#[tokio::test]
async fn a_configured_signing_secret_signs_urls_anyone_holding_it_can_make() {
    let secret = "a-signing-secret-from-the-environment";
    let app = spawn_app_with(&[("IMGCLOUD_SIGNING_SECRET", secret)]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "doc"), ("visibility", "private")]).await;
    assert_eq!(app.generated_signing_secret().await, None, "no generated secret when one is configured");
    let (path, expires) = ("/v1/image/w_50/doc", now_ms() / 1000 + 60);
    let v = revision(&app, &admin, "doc").await;
    let signer = Signer::new(secret.as_bytes()).unwrap();
    let sig = signer.sign(path, expires, Some(&v));
    let response = app.get(&format!("{path}?expires={expires}&v={v}&sig={sig}"), &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let issued: Value =
        sign(&app, &admin, json!({"public_id": "doc", "transform": "w_50"})).await.json().await.unwrap();
    let expires = issued["expires"].as_i64().unwrap();
    assert_eq!(
        issued["url"],
        format!("{}{path}?expires={expires}&v={v}&sig={}", app.base, signer.sign(path, expires, Some(&v)))
    );
}

/// The asset's revision, which signatures are bound to.
async fn revision(app: &TestApp, cred: &Cred, public_id: &str) -> String {
    let asset: Value = app.get(&format!("/v1/assets/{public_id}"), cred).await.json().await.unwrap();
    let revision = asset["asset"]["revision"].as_str().expect("assets carry a revision").to_owned();
    assert!(revision.len() == 32 && revision.bytes().all(|b| b.is_ascii_hexdigit()), "{revision}");
    revision
}

#[tokio::test]
async fn a_signed_url_dies_with_its_asset_and_never_serves_a_later_one() {
    let (app, ann_key) = private_photo().await;
    let issued: Value = sign(&app, &ann_key, json!({"public_id": "private/contract-001", "ttl_seconds": 604_800}))
        .await
        .json()
        .await
        .unwrap();
    let url = local(&app, issued["url"].as_str().unwrap());
    assert_eq!(app.get(&url, &Cred::None).await.status(), StatusCode::OK);

    // Ann overwrites it: her URL named the old content.
    let png = corpus("alpha_1024x1024.png");
    let replaced = app
        .upload(
            &ann_key,
            Some((png.clone(), "c.png")),
            &[("public_id", "private/contract-001"), ("overwrite", "true"), ("visibility", "private")],
        )
        .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(assert_error(app.get(&url, &Cred::None).await, StatusCode::UNAUTHORIZED).await, "invalid_signature");
    let fresh: Value = sign(&app, &ann_key, json!({"public_id": "private/contract-001"})).await.json().await.unwrap();
    let fresh = local(&app, fresh["url"].as_str().unwrap());
    assert_eq!(app.get(&fresh, &Cred::None).await.bytes().await.unwrap(), png);

    // Ann deletes it and Bob uploads his own private asset under the same id: neither URL serves it.
    let deleted = app.req(Method::DELETE, "/v1/assets/private/contract-001", &ann_key).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (_, bob) = app.user("bob@example.com").await;
    let bobs = app
        .upload(&bob, Some((photo(), "b.jpg")), &[("public_id", "private/contract-001"), ("visibility", "private")])
        .await;
    assert_eq!(bobs.status(), StatusCode::CREATED);
    for old in [&url, &fresh] {
        assert_eq!(assert_error(app.get(old, &Cred::None).await, StatusCode::UNAUTHORIZED).await, "invalid_signature");
    }
}

#[tokio::test]
async fn a_legacy_signature_without_a_revision_does_not_serve_recent_content() {
    let (app, key) = private_photo().await;
    let secret = app.generated_signing_secret().await.unwrap();
    let signer = Signer::new(secret.as_bytes()).unwrap();
    let path = "/v1/image/private/contract-001";
    // Signed the old way: the content is younger than the week such a URL may have lived.
    let expires = now_ms() / 1000 + 60;
    let legacy = format!("{path}?expires={expires}&sig={}", signer.sign(path, expires, None));
    assert_eq!(assert_error(app.get(&legacy, &Cred::None).await, StatusCode::UNAUTHORIZED).await, "invalid_signature");
    let v = revision(&app, &key, "private/contract-001").await;
    let current = format!("{path}?expires={expires}&v={v}&sig={}", signer.sign(path, expires, Some(&v)));
    assert_eq!(app.get(&current, &Cred::None).await.status(), StatusCode::OK);
}

/// The path and query of a new signed URL of `public_id` at `w_40`.
async fn signed_path(app: &TestApp, cred: &Cred, public_id: &str) -> String {
    let body: Value = sign(app, cred, json!({"public_id": public_id, "transform": "w_40"})).await.json().await.unwrap();
    let url = body["url"].as_str().unwrap();
    url[url.find("/v1/").unwrap()..].to_owned()
}

/// SPEC §14's rotation: the new key signs, the previous one still verifies until it is removed
/// from `IMGCLOUD_PREVIOUS_SIGNING_SECRETS`; docs/SIGNED-URLS.md's procedure, step by step.
#[tokio::test]
async fn a_rotated_key_keeps_earlier_urls_working_until_it_is_removed() {
    let (old, new) = ("the-signing-secret-before-rotation", "the-signing-secret-after-rotation");
    let app = spawn_app_with(&[("IMGCLOUD_SIGNING_SECRET", old)]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "rotated"), ("visibility", "private")]).await;
    let before = signed_path(&app, &admin, "rotated").await;
    assert_eq!(app.get(&before, &Cred::None).await.status(), StatusCode::OK);

    let app = app
        .restart_with(&[("IMGCLOUD_SIGNING_SECRET", Some(new)), ("IMGCLOUD_PREVIOUS_SIGNING_SECRETS", Some(old))])
        .await;
    assert_eq!(app.get(&before, &Cred::None).await.status(), StatusCode::OK, "signed with the previous key");
    let after = signed_path(&app, &app.admin().await, "rotated").await;
    let (path, query) = after.split_once('?').unwrap();
    let fields: std::collections::HashMap<&str, &str> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
    let by_new = Signer::new(new.as_bytes()).unwrap().sign(path, fields["expires"].parse().unwrap(), Some(fields["v"]));
    assert_eq!(fields["sig"], by_new, "the new key signs; the previous one never does");
    assert_eq!(app.get(&after, &Cred::None).await.status(), StatusCode::OK);

    let app = app.restart_with(&[("IMGCLOUD_PREVIOUS_SIGNING_SECRETS", None)]).await;
    assert_error(app.get(&before, &Cred::None).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.get(&after, &Cred::None).await.status(), StatusCode::OK);
}
