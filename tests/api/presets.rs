//! Presets (SPEC §14) through HTTP: the admin's CRUD, `t_<name>` deliveries keyed by what they
//! render, strict mode's allowance, and public_ids stored before `t` and `g` were keys.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

async fn put(app: &TestApp, cred: &Cred, name: &str, transform: &str) -> reqwest::Response {
    app.send_json(Method::PUT, &format!("/v1/presets/{name}"), cred, json!({ "transform": transform })).await
}

async fn size_of(response: reqwest::Response) -> (u32, u32) {
    assert_eq!(response.status(), StatusCode::OK);
    let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
    (image.width(), image.height())
}

#[tokio::test]
async fn admins_write_presets_everyone_signed_in_reads_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, ann) = app.user("ann@example.com").await;

    let created = put(&app, &admin, "thumb", "c_fill,h_80,w_120").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        (created["preset"]["name"].as_str(), created["preset"]["transform"].as_str()),
        (Some("thumb"), Some("w_120,h_80,c_fill"))
    );
    let replaced = put(&app, &admin, "thumb", "w_60,h_60,c_fill").await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["preset"]["created_at"], created["preset"]["created_at"]);
    assert_eq!(replaced["preset"]["transform"], "w_60,h_60,c_fill");

    let listed: Value = app.get("/v1/presets", &ann).await.json().await.unwrap();
    assert_eq!(listed["presets"], json!([replaced["preset"]]));
    assert_error(app.get("/v1/presets", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
    assert_error(put(&app, &ann, "mine", "w_10").await, StatusCode::FORBIDDEN).await;
    assert_eq!(assert_error(put(&app, &admin, "Thumb", "w_10").await, StatusCode::BAD_REQUEST).await, "invalid_preset");
    assert_eq!(assert_error(put(&app, &admin, "x", "w_0").await, StatusCode::BAD_REQUEST).await, "invalid_transform");
    assert_eq!(
        assert_error(put(&app, &admin, "x", "t_thumb").await, StatusCode::BAD_REQUEST).await,
        "invalid_transform"
    );

    let delete = |cred: &Cred| app.req(Method::DELETE, "/v1/presets/thumb", cred).send();
    assert_error(delete(&ann).await.unwrap(), StatusCode::FORBIDDEN).await;
    assert_eq!(delete(&admin).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_error(delete(&admin).await.unwrap(), StatusCode::NOT_FOUND).await;
    let listed: Value = app.get("/v1/presets", &admin).await.json().await.unwrap();
    assert_eq!(listed["presets"], json!([]));
}

#[tokio::test]
async fn a_preset_delivers_its_transform_and_a_changed_one_never_serves_old_renders() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "pre/photo")]).await;
    assert_eq!(put(&app, &admin, "card", "w_120,h_80,c_fill,f_jpg").await.status(), StatusCode::CREATED);

    let first = app.get("/v1/image/t_card/pre/photo", &Cred::None).await;
    assert_eq!(
        (first.headers()["x-cache"].to_str().unwrap(), first.headers()["content-type"].to_str().unwrap()),
        ("MISS", "image/jpeg")
    );
    assert_eq!(size_of(first).await, (120, 80));
    assert_eq!(app.get("/v1/image/t_card/pre/photo", &Cred::None).await.headers()["x-cache"], "HIT");
    let webp = app.get("/v1/image/t_card,f_webp/pre/photo", &Cred::None).await;
    assert_eq!(webp.headers()["content-type"], "image/webp", "the URL's f_ overrides the preset's");
    assert_eq!(size_of(webp).await, (120, 80));
    assert_eq!(size_of(app.get("/v1/image/dpr_2,t_card/pre/photo", &Cred::None).await).await, (240, 160));
    let etag = app.get("/v1/image/t_card/pre/photo", &Cred::None).await.headers()["etag"].clone();

    assert_eq!(put(&app, &admin, "card", "w_50,h_50,c_fill").await.status(), StatusCode::OK);
    let changed = app.get("/v1/image/t_card/pre/photo", &Cred::None).await;
    assert_eq!(changed.headers()["x-cache"], "MISS", "keyed by the new expansion");
    assert_ne!(changed.headers()["etag"], etag);
    assert_eq!(size_of(changed).await, (50, 50));

    for bad in ["/v1/image/t_nope/pre/photo", "/v1/image/t_card,w_10/pre/photo", "/v1/image/t_Card/pre/photo"] {
        assert_eq!(
            assert_error(app.get(bad, &Cred::None).await, StatusCode::BAD_REQUEST).await,
            "invalid_transform",
            "{bad}"
        );
    }
    assert_eq!(
        app.req(Method::DELETE, "/v1/presets/card", &admin).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_error(app.get("/v1/image/t_card/pre/photo", &Cred::None).await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn strict_mode_lets_anonymous_requests_have_presets() {
    let app = spawn_app_with(&[("IMGCLOUD_STRICT_TRANSFORMS", "true")]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "strict/photo")]).await;
    put(&app, &admin, "small", "w_64").await;
    let preset = app.get("/v1/image/t_small,f_webp,dpr_2/strict/photo", &Cred::None).await;
    assert!(preset.headers()["cache-control"].to_str().unwrap().starts_with("public, max-age="));
    assert_eq!(size_of(preset).await.0, 128);
    let code = assert_error(app.get("/v1/image/w_64/strict/photo", &Cred::None).await, StatusCode::FORBIDDEN).await;
    assert_eq!(code, "transform_not_allowed");
}

/// `t` and `g` became keys of the grammar after public_ids could start with `t_` or `g_`: such an
/// id cannot be made any more, and one stored before is still delivered, changed and deleted by
/// its name (`g_auto/photo` too, though `g_auto` alone is no transform: gravity needs a crop).
#[tokio::test]
async fn public_ids_stored_before_t_and_g_were_keys_keep_working() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let meta = app.meta_store().await;
    for (i, id) in ["t_old/photo", "g_old/photo", "g_auto/photo"].into_iter().enumerate() {
        let refused = app.upload(&admin, Some((photo(), "p.jpg")), &[("public_id", id)]).await;
        assert_eq!(assert_error(refused, StatusCode::BAD_REQUEST).await, "invalid_public_id", "{id}");

        // As an earlier release stored it: the record written to the store directly (sharing the
        // blobs of an asset uploaded now, which go when it is deleted).
        let now = format!("now/photo-{i}");
        app.upload_photo(&admin, &[("public_id", &now)]).await;
        let mut legacy = meta.asset(&now).await.unwrap().unwrap();
        legacy.public_id = id.into();
        assert_eq!(meta.create_asset(&legacy).await.unwrap(), imgcloud_core::store::Created::Created);

        let original = app.get(&format!("/v1/image/{id}"), &Cred::None).await;
        assert_eq!(original.bytes().await.unwrap(), photo(), "{id}");
        assert_eq!(size_of(app.get(&format!("/v1/image/w_100/{id}"), &Cred::None).await).await.0, 100);
        let patched =
            app.send_json(Method::PATCH, &format!("/v1/assets/{id}"), &admin, json!({"tags": ["kept"]})).await;
        assert_eq!(patched.status(), StatusCode::OK);
        let deleted = app.req(Method::DELETE, &format!("/v1/assets/{id}"), &admin).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    }
    let unknown = app.get("/v1/image/g_old/other", &Cred::None).await;
    assert_eq!(
        assert_error(unknown, StatusCode::BAD_REQUEST).await,
        "invalid_transform",
        "no such asset: the 400 stays"
    );
}
