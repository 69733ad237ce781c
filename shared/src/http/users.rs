//! `/v1/users`: admins create, list, change and delete users. The store refuses to leave the
//! product without an enabled admin (409).

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{body::JsonBody, views};
use crate::{
    app::{new_user_id, App},
    auth::AdminAuth,
    clock::now_ms,
    domain::{password, Email, Role},
    error::{AppError, AppResult},
    store::{Created, UserChange, UserRecord},
};

pub async fn list(State(app): State<Arc<App>>, _: AdminAuth) -> AppResult<Json<Value>> {
    let users: Vec<Value> = app.meta.users().await?.iter().map(views::user).collect();
    Ok(Json(json!({ "users": users })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    email: String,
    password: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn role(s: &str) -> AppResult<Role> {
    Role::parse(s).ok_or_else(|| AppError::bad_request("invalid_role", "role must be admin or user"))
}

fn name(s: Option<String>) -> AppResult<Option<String>> {
    match s.map(|n| n.trim().to_owned()) {
        Some(n) if n.chars().count() > 100 || n.chars().any(char::is_control) => Err(AppError::bad_request(
            "invalid_name",
            "name must be at most 100 characters, without control characters",
        )),
        Some(n) if n.is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn check_password(p: &str) -> AppResult<()> {
    password::check_policy(p).map_err(|m| AppError::bad_request("invalid_password", m))
}

pub async fn create(
    State(app): State<Arc<App>>,
    _: AdminAuth,
    JsonBody(body): JsonBody<NewUser>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let email = Email::parse(&body.email).map_err(|m| AppError::bad_request("invalid_email", m))?;
    let role = role(body.role.as_deref().unwrap_or("user"))?;
    let name = name(body.name)?;
    check_password(&body.password)?;
    let user = UserRecord {
        id: new_user_id(),
        email: email.0,
        name,
        role,
        disabled: false,
        password_hash: app.passwords.hash(body.password).await,
        created_at: now_ms(),
    };
    match app.meta.create_user(&user).await? {
        Created::Created => Ok((StatusCode::CREATED, Json(json!({ "user": views::user(&user) })))),
        Created::AlreadyExists => Err(AppError::conflict("email_taken", "a user with this email exists")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
}

fn last_admin() -> AppError {
    AppError::conflict("last_admin", "the last enabled admin cannot be removed, demoted or disabled")
}

pub async fn update(
    State(app): State<Arc<App>>,
    _: AdminAuth,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<UserPatch>,
) -> AppResult<Json<Value>> {
    let mut user = app.meta.user(&id).await?.ok_or_else(|| AppError::not_found("no such user"))?;
    if patch.name.is_some() {
        user.name = name(patch.name)?;
    }
    if let Some(r) = &patch.role {
        user.role = role(r)?;
    }
    if let Some(disabled) = patch.disabled {
        user.disabled = disabled;
    }
    if let Some(p) = patch.password {
        check_password(&p)?;
        user.password_hash = app.passwords.hash(p).await;
    }
    match app.meta.update_user(&user, None).await? {
        UserChange::Done => Ok(Json(json!({ "user": views::user(&user) }))),
        UserChange::NotFound => Err(AppError::not_found("no such user")),
        UserChange::LastAdmin => Err(last_admin()),
    }
}

pub async fn delete(State(app): State<Arc<App>>, _: AdminAuth, Path(id): Path<String>) -> AppResult<StatusCode> {
    match app.meta.delete_user(&id).await? {
        UserChange::Done => Ok(StatusCode::NO_CONTENT),
        UserChange::NotFound => Err(AppError::not_found("no such user")),
        UserChange::LastAdmin => Err(last_admin()),
    }
}
