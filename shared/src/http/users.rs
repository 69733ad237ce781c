//! `/v1/users`: admins create, list, change and delete users (see `services::users`).

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
    app::App,
    auth::AdminAuth,
    domain::{Email, Role},
    error::{AppResult, ErrorCode},
    services::users,
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

fn name(s: Option<String>) -> AppResult<Option<String>> {
    match s.map(|n| n.trim().to_owned()) {
        Some(n) if n.chars().count() > 100 || n.chars().any(char::is_control) => {
            Err(ErrorCode::InvalidName.with("name must be at most 100 characters, without control characters"))
        }
        Some(n) if n.is_empty() => Ok(None),
        other => Ok(other),
    }
}

pub async fn create(
    State(app): State<Arc<App>>,
    AdminAuth(principal): AdminAuth,
    JsonBody(body): JsonBody<NewUser>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let new = users::NewUser {
        email: Email::parse(&body.email)?,
        role: Role::parse(body.role.as_deref().unwrap_or("user"))?,
        name: name(body.name)?,
        password: body.password,
    };
    let user = users::create(&app, &principal, new).await?;
    Ok((StatusCode::CREATED, Json(json!({ "user": views::user(&user) }))))
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

pub async fn update(
    State(app): State<Arc<App>>,
    AdminAuth(principal): AdminAuth,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<UserPatch>,
) -> AppResult<Json<Value>> {
    let change = users::Change {
        role: patch.role.as_deref().map(Role::parse).transpose()?,
        name: patch.name.is_some().then(|| name(patch.name)).transpose()?,
        password: patch.password,
        disabled: patch.disabled,
    };
    let user = users::update(&app, &principal, &id, change).await?;
    Ok(Json(json!({ "user": views::user(&user) })))
}

pub async fn delete(State(app): State<Arc<App>>, _: AdminAuth, Path(id): Path<String>) -> AppResult<StatusCode> {
    users::delete(&app, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
