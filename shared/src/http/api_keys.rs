//! `/v1/api-keys`: mint (the secret is shown this once), list and revoke, from a session only.

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
    auth::SessionAuth,
    clock::{now_ms, rfc3339},
    error::{AppError, AppResult, ErrorCode},
    secrets::{random_hex, random_token, sha256_hex},
    store::{ApiKeyRecord, Created},
};

pub async fn list(State(app): State<Arc<App>>, SessionAuth(principal): SessionAuth) -> AppResult<Json<Value>> {
    let keys: Vec<Value> = app.meta.api_keys_of(&principal.user.id).await?.iter().map(views::api_key).collect();
    Ok(Json(json!({ "api_keys": keys })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
}

pub async fn create(
    State(app): State<Arc<App>>,
    SessionAuth(principal): SessionAuth,
    JsonBody(body): JsonBody<NewKey>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ErrorCode::InvalidName.with("name must be 1 to 100 characters, without control characters"));
    }
    let secret = format!("cs_{}", random_token(32));
    let key = ApiKeyRecord {
        key_id: format!("ck_{}", random_hex(12)),
        owner_id: principal.user.id.clone(),
        name,
        secret_hash: sha256_hex(secret.as_bytes()),
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    if app.meta.create_api_key(&key).await? == Created::AlreadyExists {
        return Err(AppError::internal("a random API key id collided"));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "key_id": key.key_id,
            "key_secret": secret,
            "name": key.name,
            "created_at": rfc3339(key.created_at),
        })),
    ))
}

pub async fn revoke(
    State(app): State<Arc<App>>,
    SessionAuth(principal): SessionAuth,
    Path(key_id): Path<String>,
) -> AppResult<Json<Value>> {
    let key = app.meta.api_key(&key_id).await?.ok_or_else(|| ErrorCode::NotFound.with("no such API key"))?;
    if !principal.may_manage(&key.owner_id) {
        return Err(ErrorCode::Forbidden.with("this API key is not yours"));
    }
    let key =
        app.meta.revoke_api_key(&key_id, now_ms()).await?.ok_or_else(|| ErrorCode::NotFound.with("no such API key"))?;
    Ok(Json(json!({ "api_key": views::api_key(&key) })))
}
