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
    clock::rfc3339,
    error::{AppResult, ErrorCode},
    services::api_keys,
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
    let (key, secret) = api_keys::create(&app, &principal, name).await?;
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
    let key = api_keys::revoke(&app, &principal, &key_id).await?;
    Ok(Json(json!({ "api_key": views::api_key(&key) })))
}
