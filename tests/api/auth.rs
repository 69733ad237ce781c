use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn login_sets_an_httponly_samesite_cookie_and_returns_the_user() {
    let app = spawn_app().await;
    let response = app
        .send_json(
            Method::POST,
            "/v1/auth/login",
            &Cred::None,
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("imgcloud_session="));
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain-http local runs have no Secure flag");
    let body: Value = response.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(user["email"], ADMIN_EMAIL);
    assert_eq!(user["role"], "admin");
    assert_eq!(user["disabled"], false);
    let mut keys: Vec<_> = user.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "disabled", "email", "id", "name", "role"]);
}

#[tokio::test]
async fn https_public_url_names_the_cookie_host_prefixed_and_secure() {
    let app = spawn_app_with(&[("IMGCLOUD_PUBLIC_URL", "https://img.example.com")]).await;
    // The public URL names a proxy in front; talk to the server itself.
    let url = format!("http://{}/v1/auth/login", app.server.as_ref().unwrap().addr);
    let response =
        app.client.post(url).json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).send().await.unwrap();
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-imgcloud_session=") && cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn login_failure_is_one_generic_401_for_unknown_email_and_wrong_password() {
    let app = spawn_app().await;
    let mut bodies = Vec::new();
    for (email, password) in
        [(ADMIN_EMAIL, "wrong-password-123"), ("nobody@example.com", ADMIN_PASSWORD), ("not-an-email", "x")]
    {
        let response = app
            .send_json(Method::POST, "/v1/auth/login", &Cred::None, json!({"email": email, "password": password}))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("set-cookie").is_none());
        bodies.push(response.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
}

/// A burst of logins queues for the password hasher (one Argon2 per core, in pooled memory):
/// every one is still answered, and each with its own verdict.
#[tokio::test]
async fn concurrent_logins_each_get_their_own_answer() {
    // Every pending check holds a reserved failure until it is verified: room for all twelve.
    let app = std::sync::Arc::new(spawn_app_with(&[("IMGCLOUD_RATE_LOGIN_FAILURES", "12")]).await);
    let logins = (0..12).map(|i| {
        let app = app.clone();
        let password = if i % 3 == 0 { "wrong-password-123" } else { ADMIN_PASSWORD };
        tokio::spawn(async move {
            let body = json!({"email": ADMIN_EMAIL, "password": password});
            (i, app.send_json(Method::POST, "/v1/auth/login", &Cred::None, body).await.status())
        })
    });
    for login in futures::future::join_all(logins).await {
        let (i, status) = login.unwrap();
        let expected = if i % 3 == 0 { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
        assert_eq!(status, expected, "login {i}");
    }
}

#[tokio::test]
async fn login_bodies_are_checked() {
    let app = spawn_app().await;
    let not_json =
        app.req(Method::POST, "/v1/auth/login", &Cred::None).body("email=a&password=b").send().await.unwrap();
    assert_error(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let broken = app
        .req(Method::POST, "/v1/auth/login", &Cred::None)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error(broken, StatusCode::BAD_REQUEST).await, "invalid_body");
    let missing = app.send_json(Method::POST, "/v1/auth/login", &Cred::None, json!({"email": ADMIN_EMAIL})).await;
    assert_error(missing, StatusCode::BAD_REQUEST).await;
    let extra = app
        .send_json(
            Method::POST,
            "/v1/auth/login",
            &Cred::None,
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "role": "admin"}),
        )
        .await;
    assert_error(extra, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn me_reports_the_user_and_how_they_authenticated() {
    let app = spawn_app().await;
    let session = app.admin().await;
    let key = app.key(&session).await;
    for (cred, kind) in [(&session, "session"), (&key, "api_key")] {
        let body: Value = app.get("/v1/auth/me", cred).await.json().await.unwrap();
        assert_eq!(body["auth"], kind);
        assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    }
    assert_error(app.get("/v1/auth/me", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn logout_ends_the_session_server_side_and_clears_the_cookie() {
    let app = spawn_app().await;
    let session = app.admin().await;
    let response = app.req(Method::POST, "/v1/auth/logout", &session).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = response.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.starts_with("imgcloud_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_error(app.get("/v1/auth/me", &session).await, StatusCode::UNAUTHORIZED).await;
    assert_error(app.req(Method::POST, "/v1/auth/logout", &session).send().await.unwrap(), StatusCode::UNAUTHORIZED)
        .await;
}

#[tokio::test]
async fn a_tampered_or_unknown_cookie_is_401() {
    let app = spawn_app().await;
    let Cred::Cookie(cookie) = app.admin().await else { unreachable!() };
    let mut flipped = cookie.into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = Cred::Cookie(String::from_utf8(flipped).unwrap());
    assert_error(app.get("/v1/auth/me", &flipped).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_cookie_held_before_login_is_not_the_session_after_it() {
    let app = spawn_app().await;
    let planted = app.admin().await;
    let response = app
        .req(Method::POST, "/v1/auth/login", &planted)
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let fresh = Cred::Cookie(session_cookie(&response).unwrap());
    let (Cred::Cookie(a), Cred::Cookie(b)) = (&planted, &fresh) else { unreachable!() };
    assert_ne!(a, b);
    assert_error(app.get("/v1/auth/me", &planted).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.get("/v1/auth/me", &fresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn change_password_keeps_this_session_and_ends_the_others() {
    let app = spawn_app().await;
    let (_, this) = app.user("ann@example.com").await;
    let other = app.login("ann@example.com", USER_PASSWORD).await;
    let key = app.key(&this).await;

    let wrong = app
        .send_json(
            Method::POST,
            "/v1/auth/change-password",
            &this,
            json!({"current_password": "nope-nope-nope", "new_password": "a-new-long-password"}),
        )
        .await;
    assert_error(wrong, StatusCode::UNAUTHORIZED).await;
    let weak = app
        .send_json(
            Method::POST,
            "/v1/auth/change-password",
            &this,
            json!({"current_password": USER_PASSWORD, "new_password": "password123"}),
        )
        .await;
    assert_eq!(assert_error(weak, StatusCode::BAD_REQUEST).await, "invalid_password");
    let by_key = app
        .send_json(
            Method::POST,
            "/v1/auth/change-password",
            &key,
            json!({"current_password": USER_PASSWORD, "new_password": "a-new-long-password"}),
        )
        .await;
    assert_error(by_key, StatusCode::FORBIDDEN).await;

    let changed = app
        .send_json(
            Method::POST,
            "/v1/auth/change-password",
            &this,
            json!({"current_password": USER_PASSWORD, "new_password": "a-new-long-password"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/auth/me", &this).await.status(), StatusCode::OK);
    assert_error(app.get("/v1/auth/me", &other).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.get("/v1/auth/me", &key).await.status(), StatusCode::OK, "API keys outlive a password change");
    let old = app
        .send_json(
            Method::POST,
            "/v1/auth/login",
            &Cred::None,
            json!({"email": "ann@example.com", "password": USER_PASSWORD}),
        )
        .await;
    assert_error(old, StatusCode::UNAUTHORIZED).await;
    app.login("ann@example.com", "a-new-long-password").await;
}

#[tokio::test]
async fn malformed_api_key_headers_are_one_401() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Cred::Key(good) = app.key(&admin).await else { unreachable!() };
    let key_id = good.trim_start_matches("ApiKey ").split(':').next().unwrap().to_owned();
    let mut bodies = Vec::new();
    for header in [
        format!("ApiKey {key_id}"),
        format!("ApiKey {key_id}:cs_wrong"),
        "ApiKey ck_unknown:cs_whatever".to_owned(),
        format!("Bearer {key_id}:cs_x"),
        "ApiKey".to_owned(),
        String::new(),
    ] {
        let response = app.get("/v1/auth/me", &Cred::Key(header.clone())).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
        bodies.push(response.json::<Value>().await.unwrap()["code"].clone());
    }
    assert!(bodies.iter().all(|b| b == "unauthorized"));
    let secret = good.split(':').nth(1).unwrap();
    let in_query = app.get(&format!("/v1/auth/me?api_key={key_id}:{secret}"), &Cred::None).await;
    assert_error(in_query, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn cookie_authenticated_writes_from_another_site_are_403() {
    let app = spawn_app().await;
    let session = app.admin().await;
    let key = app.key(&session).await;
    let asset = app.upload_photo(&key, &[]).await;
    let path = format!("/v1/assets/{}", asset["public_id"].as_str().unwrap());

    for (name, value) in
        [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site"), ("referer", "https://evil.example/page")]
    {
        let delete = app.req(Method::DELETE, &path, &session).header(name, value).send().await.unwrap();
        assert_eq!(assert_error(delete, StatusCode::FORBIDDEN).await, "csrf_rejected", "{name}");
        let form =
            reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(photo()).file_name("x.jpg"));
        let upload =
            app.req(Method::POST, "/v1/upload", &session).header(name, value).multipart(form).send().await.unwrap();
        assert_eq!(assert_error(upload, StatusCode::FORBIDDEN).await, "csrf_rejected", "{name}");
    }
    let login = app
        .req(Method::POST, "/v1/auth/login", &Cred::None)
        .header("origin", "https://evil.example")
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_error(login, StatusCode::FORBIDDEN).await;

    // The same origin passes; an API key is not a cookie, so no origin check applies to it.
    let same = app
        .req(Method::PATCH, &path, &session)
        .header("origin", app.base.clone())
        .json(&json!({"tags": "ok"}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    let by_key = app.req(Method::DELETE, &path, &key).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(by_key.status(), StatusCode::NO_CONTENT);
}
