//! Direct uploads (`POST /v1/uploads`, then the form to the store, then `.../complete`): originals
//! larger than API Gateway takes go straight to S3 and are registered afterwards.

use reqwest::{multipart, Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn a_staged_original_is_registered_like_an_upload() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let key = app.key(&ann).await;
    let started = app.send_json(Method::POST, "/v1/uploads", &key, json!({})).await;
    if !aws_backend() {
        // Files cannot presign a form: the embedded shape says so (its /v1/upload has no payload cap).
        assert_eq!(assert_error(started, StatusCode::NOT_FOUND).await, "direct_upload_unavailable");
        return;
    }
    assert_eq!(started.status(), StatusCode::CREATED);
    let form: Value = started.json().await.unwrap();
    let upload_id = form["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(form["max_bytes"], 26_214_400);
    let fields = form["fields"].as_object().unwrap();
    for field in ["key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"] {
        assert!(fields.contains_key(field), "{field} in {form}");
    }
    let policy: Value = {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD.decode(fields["policy"].as_str().unwrap()).unwrap();
        serde_json::from_slice(&raw).unwrap()
    };
    let conditions = policy["conditions"].to_string();
    assert!(conditions.contains(r#"["content-length-range",1,26214400]"#), "{conditions}");
    assert!(conditions.contains(fields["key"].as_str().unwrap()), "the exact key is signed: {conditions}");

    // The client posts the file to the store itself, as a browser form would.
    let mut multipart = multipart::Form::new();
    for (name, value) in fields {
        multipart = multipart.text(name.clone(), value.as_str().unwrap().to_owned());
    }
    multipart = multipart.part("file", multipart::Part::bytes(photo()).file_name("big.jpg"));
    let posted = app.client.post(form["url"].as_str().unwrap()).multipart(multipart).send().await.unwrap();
    assert!(posted.status().is_success(), "{}", posted.text().await.unwrap());

    // Only the uploader can register it.
    let (_, bob) = app.user("bob@example.com").await;
    let path = format!("/v1/uploads/{upload_id}/complete");
    let stolen = app.send_json(Method::POST, &path, &bob, json!({"public_id": "stolen"})).await;
    assert_error(stolen, StatusCode::NOT_FOUND).await;
    let bad = app.send_json(Method::POST, &path, &key, json!({"public_id": "x", "colour": "red"})).await;
    assert_error(bad, StatusCode::BAD_REQUEST).await;
    // Tags come as PATCH takes them; in a list, a comma is a character a tag may not have, never a
    // separator. The refusal leaves the staged file for the next try.
    let comma = app.send_json(Method::POST, &path, &key, json!({"public_id": "x", "tags": ["a,b"]})).await;
    assert_eq!(assert_error(comma, StatusCode::BAD_REQUEST).await, "invalid_tags");

    let registered = app
        .send_json(
            Method::POST,
            &path,
            &key,
            json!({"public_id": "big/photo", "tags": ["large", "direct"], "visibility": "private", "filename": "big.jpg"}),
        )
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let asset = registered.json::<Value>().await.unwrap()["asset"].clone();
    assert_eq!(asset["public_id"], "big/photo");
    assert_eq!(asset["tags"], json!(["large", "direct"]));
    assert_eq!(asset["bytes"], photo().len());
    assert_eq!(app.get("/v1/image/big/photo", &key).await.bytes().await.unwrap(), photo());
    assert!(!app.stored_files().await.iter().any(|k| k.starts_with("staging/")), "the staged copy is gone");
    let again = app.send_json(Method::POST, &path, &key, json!({"public_id": "big/again"})).await;
    assert_error(again, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn unknown_and_malformed_upload_ids_are_404() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for id in ["0123456789abcdef0123456789abcdef", "..%2F..%2Fassets", "ABC"] {
        let response = app.send_json(Method::POST, &format!("/v1/uploads/{id}/complete"), &admin, json!({})).await;
        assert_error(response, StatusCode::NOT_FOUND).await;
    }
    let anonymous = app.send_json(Method::POST, "/v1/uploads", &Cred::None, json!({})).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED).await;
}
