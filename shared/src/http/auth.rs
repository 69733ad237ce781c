//! `/v1/auth/*`: sign in and out with a server-side session, who am I, change my password.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::json;

use super::{body::JsonBody, client_ip::ClientIp, views};
use crate::{
    app::App,
    auth::{self, check_csrf, session_cookie, AnyAuth, SessionAuth, Via, SESSION_MAX_MS},
    clock::now_ms,
    domain::{password, Email},
    error::{AppError, AppResult, ErrorCode},
    limits::{too_many, Limit},
    secrets::{random_token, sha256_hex},
    store::{SessionRecord, UserUpdate},
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

fn login_failed() -> AppError {
    ErrorCode::InvalidCredentials.with("invalid email or password")
}

pub async fn login(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Login>,
) -> AppResult<Response> {
    check_csrf(&app.config, &Method::POST, &headers)?;
    let email = body.email.trim().to_ascii_lowercase();
    // The guess is reserved before it is verified; while throttled even the right password is
    // refused (SPEC §9).
    let reservation = app.limits.logins.reserve(&email, &ip).await.map_err(|wait| too_many(wait, Limit::SignIns))?;
    let user = match Email::parse(&email) {
        Ok(email) => app.meta.user_by_email(&email.0).await?,
        Err(_) => None,
    };
    // One generic failure, in comparable time, whether the user is unknown, disabled or mistyped.
    let password_ok = app.passwords.verify(body.password, user.as_ref().map(|u| u.password_hash.clone())).await;
    let Some(user) = user.filter(|u| password_ok && !u.disabled) else {
        return Err(login_failed());
    };
    app.limits.logins.succeeded(reservation).await;

    // A fresh token at every login; a session the client already had ends (no fixation).
    if let Some(old) = auth::session_token(&app.config, &headers) {
        app.meta.delete_session(&sha256_hex(old.as_bytes())).await?;
    }
    let token = random_token(32);
    let now = now_ms();
    app.meta
        .create_session(&SessionRecord {
            token_hash: sha256_hex(token.as_bytes()),
            user_id: user.id.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + SESSION_MAX_MS,
        })
        .await?;
    Ok(([(header::SET_COOKIE, session_cookie(&app.config, &token))], Json(json!({"user": views::user(&user)})))
        .into_response())
}

pub async fn logout(State(app): State<Arc<App>>, SessionAuth(principal): SessionAuth) -> AppResult<Response> {
    if let Via::Session { token_hash } = &principal.via {
        app.meta.delete_session(token_hash).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, auth::clear_session_cookie(&app.config))]).into_response())
}

pub async fn me(AnyAuth(principal): AnyAuth) -> Json<serde_json::Value> {
    Json(json!({"user": views::user(&principal.user), "auth": principal.auth_kind()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    SessionAuth(principal): SessionAuth,
    JsonBody(body): JsonBody<ChangePassword>,
) -> AppResult<StatusCode> {
    // A guess at the current password counts like a failed sign-in, so a stolen cookie cannot
    // try passwords faster than the sign-in form.
    let limits = &app.limits.logins;
    let reservation =
        limits.reserve(&principal.user.email, &ip).await.map_err(|wait| too_many(wait, Limit::PasswordChecks))?;
    if !app.passwords.verify(body.current_password, Some(principal.user.password_hash.clone())).await {
        return Err(ErrorCode::InvalidCredentials.with("current password is wrong"));
    }
    limits.succeeded(reservation).await;
    password::check_policy(&body.new_password)?;
    let change = UserUpdate { password_hash: Some(app.passwords.hash(body.new_password).await), ..Default::default() };
    let this_session = match &principal.via {
        Via::Session { token_hash } => Some(token_hash.as_str()),
        Via::ApiKey { .. } => None,
    };
    // Only the hash changes (a concurrent demotion or disable stands); every other session of the
    // user ends in the same write.
    match app.meta.update_user(&principal.user.id, &change, this_session).await? {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(_) => Err(ErrorCode::Unauthorized.with("missing or invalid credentials")),
    }
}
