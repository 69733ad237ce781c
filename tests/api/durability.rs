use imgcloud_core::{clock::now_ms, gc, store::original_key};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn a_restart_on_the_same_data_dir_loses_nothing() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let key = app.key(&ann).await;
    let asset = app.upload_photo(&key, &[("public_id", "kept"), ("tags", "x")]).await;

    let app = app.restart().await;
    assert_eq!(app.get("/v1/auth/me", &ann).await.status(), StatusCode::OK, "sessions survive");
    let stored: Value = app.get("/v1/assets/kept", &key).await.json().await.unwrap();
    let mut expected = asset.clone();
    expected["url"] = Value::String(format!("{}/v1/image/kept", app.base));
    assert_eq!(stored["asset"], expected, "keys and assets survive");
    assert_eq!(app.get("/v1/image/kept", &Cred::None).await.bytes().await.unwrap(), photo());
    // The configured admin is not created twice, and their password still works.
    app.admin().await;
}

#[tokio::test]
async fn a_crash_between_blob_and_row_leaves_an_orphan_that_the_sweep_removes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let kept = app.upload_photo(&admin, &[("public_id", "kept")]).await;
    let server_app = app.server.as_ref().unwrap().app.clone();

    // What an upload does before its commit, then "crashes": listed, written, never committed.
    let orphan = "0123456789abcdef0123456789abcdef";
    server_app.meta.add_garbage(orphan, now_ms() - 1).await.unwrap();
    server_app.blobs.put(&original_key(orphan), photo().into()).await.unwrap();
    assert_eq!(app.stored_files().await.len(), 2);

    assert_eq!(gc::sweep(&server_app).await.unwrap(), 1);
    assert_eq!(app.stored_files().await.len(), 1, "the orphan is gone");
    assert_eq!(gc::sweep(&server_app).await.unwrap(), 0);
    let response = app.get("/v1/image/kept", &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK, "committed assets are untouched: {kept}");
}

#[tokio::test]
async fn an_empty_store_without_a_configured_password_gets_a_generated_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = backend_vars().await;
    vars.insert("IMGCLOUD_DATA_DIR".into(), dir.path().display().to_string());
    let config = imgcloud_core::Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let app = imgcloud_local::open_app(config).await.unwrap();
    let (email, password) = app.bootstrap_admin().await.unwrap().expect("a generated password, to print once");
    assert_eq!(email, "admin@localhost");
    assert!(password.len() >= 16, "{password}");
    assert_eq!(app.bootstrap_admin().await.unwrap(), None, "only on an empty store");
    drop(app);

    let server = spawn_app_in(dir, vars).await;
    let session = server.login(&email, &password).await;
    let me: Value = server.get("/v1/auth/me", &session).await.json().await.unwrap();
    assert_eq!(me["user"]["role"], "admin");
}
