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
    auth::{AdminAuth, Principal, Via},
    clock::now_ms,
    domain::{password, Email, Role},
    error::{AppError, AppResult, ErrorCode},
    store::{Created, UserRecord, UserRefusal, UserUpdate},
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
    Ok(Role::parse(s)?)
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

/// An API key acts for its owner, but a leaked one must not become a dashboard session (SPEC §3):
/// with a key, an admin cannot set an existing account's password nor grant the admin role, since
/// either lets the key's holder sign in as an admin and mint keys.
fn session_required(principal: &Principal, what: &str) -> AppResult<()> {
    match principal.via {
        Via::Session { .. } => Ok(()),
        Via::ApiKey { .. } => Err(ErrorCode::SessionRequired
            .with(format!("{what} needs an admin's dashboard session; API keys cannot do it"))),
    }
}

pub async fn create(
    State(app): State<Arc<App>>,
    AdminAuth(principal): AdminAuth,
    JsonBody(body): JsonBody<NewUser>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let email = Email::parse(&body.email)?;
    let role = role(body.role.as_deref().unwrap_or("user"))?;
    if role == Role::Admin {
        session_required(&principal, "creating an admin")?;
    }
    let name = name(body.name)?;
    password::check_policy(&body.password)?;
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
        Created::AlreadyExists => Err(ErrorCode::EmailTaken.with("a user with this email exists")),
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

pub async fn update(
    State(app): State<Arc<App>>,
    AdminAuth(principal): AdminAuth,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<UserPatch>,
) -> AppResult<Json<Value>> {
    let role = patch.role.as_deref().map(role).transpose()?;
    let name = patch.name.is_some().then(|| name(patch.name)).transpose()?;
    if let Some(p) = &patch.password {
        if id == principal.user.id {
            return Err(ErrorCode::Forbidden
                .with("change your own password with POST /v1/auth/change-password and your current password"));
        }
        session_required(&principal, "setting a password")?;
        password::check_policy(p)?;
    }
    if role == Some(Role::Admin) {
        session_required(&principal, "granting the admin role")?;
    }
    let password_hash = match patch.password {
        Some(p) => Some(app.passwords.hash(p).await),
        None => None,
    };
    let change = UserUpdate { name, role, disabled: patch.disabled, password_hash };
    match app.meta.update_user(&id, &change, None).await? {
        Ok(user) => Ok(Json(json!({ "user": views::user(&user) }))),
        Err(refusal) => Err(refused(refusal)),
    }
}

fn refused(refusal: UserRefusal) -> AppError {
    match refusal {
        UserRefusal::NotFound => ErrorCode::NotFound.with("no such user"),
        UserRefusal::LastAdmin => {
            ErrorCode::LastAdmin.with("the last enabled admin cannot be removed, demoted or disabled")
        }
    }
}

pub async fn delete(State(app): State<Arc<App>>, _: AdminAuth, Path(id): Path<String>) -> AppResult<StatusCode> {
    app.meta.delete_user(&id).await?.map(|()| StatusCode::NO_CONTENT).map_err(refused)
}
