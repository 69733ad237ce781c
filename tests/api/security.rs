//! The findings of the adversarial review of SPEC §9, replayed through HTTP: guesses are reserved
//! before they are verified, a stolen cookie guesses no faster than the sign-in form, a password
//! change writes only the password, an API key cannot become a session, and a private or deleted
//! asset stops being served at once by every cache we keep.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.send_json(Method::POST, "/v1/auth/login", &Cred::None, json!({"email": email, "password": password})).await
}

async fn change_password(app: &TestApp, cred: &Cred, current: &str, new: &str) -> reqwest::Response {
    let body = json!({"current_password": current, "new_password": new});
    app.send_json(Method::POST, "/v1/auth/change-password", cred, body).await
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_verifies_no_more_than_the_limit_and_the_right_one_stays_out() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_LOGIN_FAILURES", "3")]).await;
    let burst = futures::future::join_all((0..24).map(|_| login(&app, ADMIN_EMAIL, "wrong-password-1"))).await;
    let statuses: Vec<StatusCode> = burst.iter().map(|r| r.status()).collect();
    let mut verified = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    // A guess refused by the email's limit never touches the IP's, so the burst cannot crowd out
    // every guess; none verifies beyond the limit.
    assert!((1..=3).contains(&verified) && verified + refused == 24, "{statuses:?}");
    // Guesses one at a time use up exactly what the burst left of the limit.
    loop {
        let guess = login(&app, ADMIN_EMAIL, "wrong-password-2").await.status();
        if guess == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(guess, StatusCode::UNAUTHORIZED);
        verified += 1;
        assert!(verified <= 3, "more guesses verified than the limit");
    }
    assert_eq!(verified, 3, "every refused guess gave its reservation back");
    let right = login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS, "the right password waits out the block too");
    assert!(right.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_failed_login_limit() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_LOGIN_FAILURES", "3")]).await;
    let (_, ann) = app.user("ann@example.com").await;
    for _ in 0..3 {
        let wrong = change_password(&app, &ann, "a-guessed-password", "a-new-long-password").await;
        assert_error(wrong, StatusCode::UNAUTHORIZED).await;
    }
    let throttled = change_password(&app, &ann, USER_PASSWORD, "a-new-long-password").await;
    assert_eq!(assert_error(throttled, StatusCode::TOO_MANY_REQUESTS).await, "rate_limited");
    let sign_in = login(&app, "ann@example.com", USER_PASSWORD).await;
    assert_eq!(sign_in.status(), StatusCode::TOO_MANY_REQUESTS, "the same email is blocked at the sign-in form");
    let unchanged = login(&app, "bob@example.com", "whatever-password").await;
    assert_eq!(unchanged.status(), StatusCode::TOO_MANY_REQUESTS, "and so is the client's IP");
}

#[tokio::test]
async fn a_right_current_password_does_not_use_up_the_limit() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_LOGIN_FAILURES", "1")]).await;
    let (_, ann) = app.user("ann@example.com").await;
    let passwords = ["a-new-long-password-1", "a-new-long-password-2", "a-new-long-password-3"];
    let mut current = USER_PASSWORD;
    for new in passwords {
        assert_eq!(change_password(&app, &ann, current, new).await.status(), StatusCode::NO_CONTENT);
        current = new;
    }
    app.login("ann@example.com", current).await;
}

/// The password change reads the user when it authenticates and writes a whole record after its
/// two Argon2 runs; a demotion and disable landing in between must stand.
#[tokio::test]
async fn a_password_change_does_not_undo_a_concurrent_demotion_and_disable() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app.create_user("second@example.com", "admin").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let second = app.login("second@example.com", USER_PASSWORD).await;
    let change = change_password(&app, &second, USER_PASSWORD, "a-new-long-password");
    let demote = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let body = json!({"role": "user", "disabled": true});
        app.send_json(Method::PATCH, &format!("/v1/users/{id}"), &admin, body).await
    };
    let (_, demoted) = tokio::join!(change, demote);
    assert_eq!(demoted.status(), StatusCode::OK);
    let users: Value = app.get("/v1/users", &admin).await.json().await.unwrap();
    let stored = users["users"].as_array().unwrap().iter().find(|u| u["id"] == id.as_str()).unwrap().clone();
    assert_eq!((stored["role"].clone(), stored["disabled"].clone()), (json!("user"), json!(true)), "{stored}");
    assert_error(login(&app, "second@example.com", "a-new-long-password").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_admin_api_key_cannot_become_a_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = app.key(&admin).await;
    let me: Value = app.get("/v1/auth/me", &key).await.json().await.unwrap();
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    let (bob, _) = app.user("bob@example.com").await;
    let bob_id = bob["id"].as_str().unwrap();
    let patch = |cred: &Cred, id: &str, body: Value| {
        app.req(Method::PATCH, &format!("/v1/users/{id}"), cred).json(&body).send()
    };

    // Its own password: refused with the key, and with the session too (that needs the current one).
    let own = json!({"password": "taken-over-by-a-key"});
    assert_error(patch(&key, &admin_id, own.clone()).await.unwrap(), StatusCode::FORBIDDEN).await;
    assert_error(patch(&admin, &admin_id, own).await.unwrap(), StatusCode::FORBIDDEN).await;
    assert_error(login(&app, ADMIN_EMAIL, "taken-over-by-a-key").await, StatusCode::UNAUTHORIZED).await;

    // Another account's password, or the admin role: the key gets 403, the session may.
    let reset = json!({"password": "reset-by-a-leaked-key"});
    let refused = patch(&key, bob_id, reset.clone()).await.unwrap();
    assert_eq!(assert_error(refused, StatusCode::FORBIDDEN).await, "session_required");
    let promote = json!({"role": "admin"});
    assert_eq!(
        assert_error(patch(&key, bob_id, promote.clone()).await.unwrap(), StatusCode::FORBIDDEN).await,
        "session_required"
    );
    let new_admin = json!({"email": "mallory@example.com", "password": USER_PASSWORD, "role": "admin"});
    let created = app.send_json(Method::POST, "/v1/users", &key, new_admin).await;
    assert_eq!(assert_error(created, StatusCode::FORBIDDEN).await, "session_required");
    let users: Value = app.get("/v1/users", &key).await.json().await.unwrap();
    let bob_now = users["users"].as_array().unwrap().iter().find(|u| u["id"] == bob_id).unwrap().clone();
    assert_eq!(bob_now["role"], "user", "nothing was changed");
    assert_eq!(users["users"].as_array().unwrap().len(), 2, "nobody was created");

    // What a key may still do: rename, disable, create plain users.
    assert_eq!(patch(&key, bob_id, json!({"name": "Bob"})).await.unwrap().status(), StatusCode::OK);
    let plain = json!({"email": "carol@example.com", "password": USER_PASSWORD, "role": "user"});
    assert_eq!(app.send_json(Method::POST, "/v1/users", &key, plain).await.status(), StatusCode::CREATED);
    assert_eq!(patch(&admin, bob_id, reset).await.unwrap().status(), StatusCode::OK);
    assert_eq!(patch(&admin, bob_id, promote).await.unwrap().status(), StatusCode::OK);
    app.login("bob@example.com", "reset-by-a-leaked-key").await;
}

#[tokio::test]
async fn a_public_asset_made_private_or_deleted_stops_being_served_from_every_cache() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "soon-private")]).await;
    let paths = ["/v1/image/soon-private", "/v1/image/w_120/soon-private"];
    let mut etags = Vec::new();
    for path in paths {
        // Twice: the second is served from the stored variant and the memory cache.
        for _ in 0..2 {
            let response = app.get(path, &Cred::None).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            etags.push(response.headers()["etag"].to_str().unwrap().to_owned());
        }
    }
    let private = json!({"visibility": "private"});
    let patched = app.send_json(Method::PATCH, "/v1/assets/soon-private", &admin, private).await;
    assert_eq!(patched.status(), StatusCode::OK);
    for (path, etag) in paths.iter().zip(etags.iter().step_by(2)) {
        assert_error(app.get(path, &Cred::None).await, StatusCode::UNAUTHORIZED).await;
        let revalidated = app.req(Method::GET, path, &Cred::None).header("if-none-match", etag).send().await.unwrap();
        assert_error(revalidated, StatusCode::UNAUTHORIZED).await;
        let head = app.req(Method::HEAD, path, &Cred::None).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.get(path, &admin).await.status(), StatusCode::OK, "the owner still sees it");
    }
    let deleted = app.req(Method::DELETE, "/v1/assets/soon-private", &admin).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for path in paths {
        assert_error(app.get(path, &admin).await, StatusCode::NOT_FOUND).await;
    }
}
