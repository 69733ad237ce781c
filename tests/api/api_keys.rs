use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn a_minted_secret_is_shown_once_and_the_list_never_carries_it() {
    let app = spawn_app().await;
    let session = app.admin().await;
    let response = app.send_json(Method::POST, "/v1/api-keys", &session, json!({"name": "ci"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let minted: Value = response.json().await.unwrap();
    let (key_id, secret) = (minted["key_id"].as_str().unwrap(), minted["key_secret"].as_str().unwrap());
    assert!(key_id.starts_with("ck_") && secret.starts_with("cs_") && secret.len() >= 3 + 43, "{minted}");
    assert_eq!(minted["name"], "ci");
    assert!(minted["created_at"].is_string());

    let list: Value = app.get("/v1/api-keys", &session).await.json().await.unwrap();
    let keys = list["api_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["key_id"], key_id);
    assert_eq!(keys[0]["last_used_at"], Value::Null);
    assert!(!list.to_string().contains(secret) && !list.to_string().contains("secret"), "{list}");

    let key = Cred::Key(format!("ApiKey {key_id}:{secret}"));
    assert_eq!(app.get("/v1/auth/me", &key).await.status(), StatusCode::OK);
    let list: Value = app.get("/v1/api-keys", &session).await.json().await.unwrap();
    assert!(list["api_keys"][0]["last_used_at"].is_string(), "use is recorded: {list}");
}

#[tokio::test]
async fn key_names_are_required() {
    let app = spawn_app().await;
    let session = app.admin().await;
    for body in [json!({}), json!({"name": ""}), json!({"name": "x".repeat(101)})] {
        assert_error(app.send_json(Method::POST, "/v1/api-keys", &session, body).await, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn keys_cannot_manage_keys() {
    let app = spawn_app().await;
    let session = app.admin().await;
    let key = app.key(&session).await;
    assert_error(app.get("/v1/api-keys", &key).await, StatusCode::FORBIDDEN).await;
    assert_error(
        app.send_json(Method::POST, "/v1/api-keys", &key, json!({"name": "escalate"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_error(app.get("/v1/api-keys", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_revoked_key_is_401_at_once() {
    let app = spawn_app().await;
    let session = app.admin().await;
    let key = app.key(&session).await;
    let Cred::Key(header) = &key else { unreachable!() };
    let key_id = header.trim_start_matches("ApiKey ").split(':').next().unwrap();
    assert_eq!(app.get("/v1/auth/me", &key).await.status(), StatusCode::OK);

    let revoked = app.req(Method::POST, &format!("/v1/api-keys/{key_id}/revoke"), &session).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let body: Value = revoked.json().await.unwrap();
    assert!(body["api_key"]["revoked_at"].is_string(), "{body}");
    assert_error(app.get("/v1/auth/me", &key).await, StatusCode::UNAUTHORIZED).await;
    let unknown = app.req(Method::POST, "/v1/api-keys/ck_unknown/revoke", &session).send().await.unwrap();
    assert_error(unknown, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn only_the_owner_or_an_admin_revokes_a_key() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    let ann_key = app.key(&ann).await;
    let Cred::Key(header) = &ann_key else { unreachable!() };
    let path = format!("/v1/api-keys/{}/revoke", header.trim_start_matches("ApiKey ").split(':').next().unwrap());
    assert_error(app.req(Method::POST, &path, &bob).send().await.unwrap(), StatusCode::FORBIDDEN).await;
    assert_eq!(app.get("/v1/auth/me", &ann_key).await.status(), StatusCode::OK);
    let admin = app.admin().await;
    assert_eq!(app.req(Method::POST, &path, &admin).send().await.unwrap().status(), StatusCode::OK);
    assert_error(app.get("/v1/auth/me", &ann_key).await, StatusCode::UNAUTHORIZED).await;
}
