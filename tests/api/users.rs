use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn admins_create_list_update_and_delete_users() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .send_json(
            Method::POST,
            "/v1/users",
            &admin,
            json!({"email": "Bob@Example.com", "password": USER_PASSWORD, "role": "user", "name": "Bob"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let bob: Value = created.json::<Value>().await.unwrap()["user"].clone();
    assert_eq!(bob["email"], "bob@example.com");
    assert_eq!(bob["name"], "Bob");
    assert_eq!(bob["role"], "user");
    let id = bob["id"].as_str().unwrap();

    let list: Value = app.get("/v1/users", &admin).await.json().await.unwrap();
    let emails: Vec<_> = list["users"].as_array().unwrap().iter().map(|u| u["email"].clone()).collect();
    assert_eq!(emails, [json!(ADMIN_EMAIL), json!("bob@example.com")]);
    assert!(!list.to_string().contains("argon2"), "no hash in responses");

    let patched = app
        .send_json(Method::PATCH, &format!("/v1/users/{id}"), &admin, json!({"name": "Robert", "role": "admin"}))
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!((patched["user"]["name"].clone(), patched["user"]["role"].clone()), (json!("Robert"), json!("admin")));

    let reset = app
        .send_json(Method::PATCH, &format!("/v1/users/{id}"), &admin, json!({"password": "reset-by-the-admin"}))
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    app.login("bob@example.com", "reset-by-the-admin").await;

    let deleted = app.req(Method::DELETE, &format!("/v1/users/{id}"), &admin).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.req(Method::DELETE, &format!("/v1/users/{id}"), &admin).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        app.send_json(Method::PATCH, "/v1/users/usr_nobody", &admin, json!({"name": "x"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let again = app
        .send_json(
            Method::POST,
            "/v1/users",
            &admin,
            json!({"email": ADMIN_EMAIL.to_uppercase(), "password": USER_PASSWORD, "role": "user"}),
        )
        .await;
    assert_eq!(assert_error(again, StatusCode::CONFLICT).await, "email_taken");
}

#[tokio::test]
async fn user_bodies_are_validated() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (body, code) in [
        (json!({"email": "no-at-sign", "password": USER_PASSWORD, "role": "user"}), "invalid_email"),
        (json!({"email": "c@example.com", "password": "short", "role": "user"}), "invalid_password"),
        (json!({"email": "c@example.com", "password": "password123", "role": "user"}), "invalid_password"),
        (json!({"email": "c@example.com", "password": USER_PASSWORD, "role": "root"}), "invalid_role"),
        (json!({"email": "c@example.com", "password": USER_PASSWORD, "role": "user", "extra": 1}), "invalid_body"),
        (json!({"email": "c@example.com", "password": 12345678, "role": "user"}), "invalid_body"),
    ] {
        let response = app.send_json(Method::POST, "/v1/users", &admin, body.clone()).await;
        assert_eq!(assert_error(response, StatusCode::BAD_REQUEST).await, code, "{body}");
    }
    let list: Value = app.get("/v1/users", &admin).await.json().await.unwrap();
    assert_eq!(list["users"].as_array().unwrap().len(), 1, "nothing was created");
}

#[tokio::test]
async fn non_admins_get_403_on_every_user_endpoint() {
    let app = spawn_app().await;
    let (me, session) = app.user("eve@example.com").await;
    let key = app.key(&session).await;
    let my_path = format!("/v1/users/{}", me["id"].as_str().unwrap());
    for cred in [&session, &key] {
        assert_error(app.get("/v1/users", cred).await, StatusCode::FORBIDDEN).await;
        let create = app
            .send_json(
                Method::POST,
                "/v1/users",
                cred,
                json!({"email": "x@example.com", "password": USER_PASSWORD, "role": "admin"}),
            )
            .await;
        assert_error(create, StatusCode::FORBIDDEN).await;
        let promote = app.send_json(Method::PATCH, &my_path, cred, json!({"role": "admin"})).await;
        assert_error(promote, StatusCode::FORBIDDEN).await;
        assert_error(app.req(Method::DELETE, &my_path, cred).send().await.unwrap(), StatusCode::FORBIDDEN).await;
    }
    assert_error(app.get("/v1/users", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
    let me_now: Value = app.get("/v1/auth/me", &session).await.json().await.unwrap();
    assert_eq!(me_now["user"]["role"], "user");
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let me: Value = app.get("/v1/auth/me", &admin).await.json().await.unwrap();
    let path = format!("/v1/users/{}", me["user"]["id"].as_str().unwrap());
    for body in [json!({"role": "user"}), json!({"disabled": true})] {
        let response = app.send_json(Method::PATCH, &path, &admin, body).await;
        assert_eq!(assert_error(response, StatusCode::CONFLICT).await, "last_admin");
    }
    assert_error(app.req(Method::DELETE, &path, &admin).send().await.unwrap(), StatusCode::CONFLICT).await;

    // With a second admin, the first may go.
    let second = app
        .send_json(
            Method::POST,
            "/v1/users",
            &admin,
            json!({"email": "second@example.com", "password": USER_PASSWORD, "role": "admin"}),
        )
        .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let demoted = app.send_json(Method::PATCH, &path, &admin, json!({"role": "user"})).await;
    assert_eq!(demoted.status(), StatusCode::OK);
}

#[tokio::test]
async fn disabling_or_deleting_a_user_ends_their_sessions_and_keys_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (dan, session) = app.user("dan@example.com").await;
    let key = app.key(&session).await;
    let path = format!("/v1/users/{}", dan["id"].as_str().unwrap());

    let disabled = app.send_json(Method::PATCH, &path, &admin, json!({"disabled": true})).await;
    assert_eq!(disabled.status(), StatusCode::OK);
    assert_error(app.get("/v1/auth/me", &session).await, StatusCode::UNAUTHORIZED).await;
    assert_error(app.get("/v1/auth/me", &key).await, StatusCode::UNAUTHORIZED).await;
    let login = app
        .send_json(
            Method::POST,
            "/v1/auth/login",
            &Cred::None,
            json!({"email": "dan@example.com", "password": USER_PASSWORD}),
        )
        .await;
    assert_error(login, StatusCode::UNAUTHORIZED).await;

    let enabled = app.send_json(Method::PATCH, &path, &admin, json!({"disabled": false})).await;
    assert_eq!(enabled.status(), StatusCode::OK);
    assert_eq!(app.get("/v1/auth/me", &key).await.status(), StatusCode::OK, "the key works again once enabled");
    let session = app.login("dan@example.com", USER_PASSWORD).await;

    assert_eq!(app.req(Method::DELETE, &path, &admin).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_error(app.get("/v1/auth/me", &session).await, StatusCode::UNAUTHORIZED).await;
    assert_error(app.get("/v1/auth/me", &key).await, StatusCode::UNAUTHORIZED).await;
}
