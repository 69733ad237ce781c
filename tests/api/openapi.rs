//! `openapi.yaml` stays true: every documented operation is routed, and the documented schemas
//! name exactly the fields the API returns.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

async fn document(app: &TestApp) -> Value {
    let response = app.get("/v1/openapi.json", &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"].as_object().unwrap().len() >= 12);
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{public_id}", "some/asset")
            .replace("{id}", "usr_x")
            .replace("{key_id}", "ck_x")
            .replace("{name}", "thumb")
            .replace("{transform}", "w_10")
            .replace("{upload_id}", "0123456789abcdef0123456789abcdef");
        for method in ["get", "post", "patch", "delete", "put"] {
            if item.get(method).is_none() {
                continue;
            }
            let response = app
                .req(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &concrete, &Cred::None)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(body["error"], "no such route", "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 17, "{checked} operations");
}

fn property_names(doc: &Value, schema: &str) -> Vec<String> {
    let mut names: Vec<String> =
        doc["components"]["schemas"][schema]["properties"].as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

fn key_names(value: &Value) -> Vec<String> {
    let mut names: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

#[tokio::test]
async fn documented_schemas_name_exactly_the_returned_fields() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let admin = app.admin().await;
    let minted: Value = app
        .send_json(Method::POST, "/v1/api-keys", &admin, serde_json::json!({"name": "k"}))
        .await
        .json()
        .await
        .unwrap();
    let keys: Value = app.get("/v1/api-keys", &admin).await.json().await.unwrap();
    let me: Value = app.get("/v1/auth/me", &admin).await.json().await.unwrap();
    let asset = app.upload_photo(&admin, &[]).await;
    let error: Value = app.get("/v1/nothing", &Cred::None).await.json().await.unwrap();
    let preset: Value = app
        .send_json(Method::PUT, "/v1/presets/thumb", &admin, serde_json::json!({"transform": "w_100"}))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(property_names(&doc, "User"), key_names(&me["user"]));
    assert_eq!(property_names(&doc, "NewApiKey"), key_names(&minted));
    assert_eq!(property_names(&doc, "ApiKey"), key_names(&keys["api_keys"][0]));
    assert_eq!(property_names(&doc, "Asset"), key_names(&asset));
    assert_eq!(property_names(&doc, "Error"), key_names(&error));
    assert_eq!(property_names(&doc, "Preset"), key_names(&preset["preset"]));
}
