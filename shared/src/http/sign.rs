//! `POST /v1/image/sign` (SPEC §7): a delivery URL for an asset the caller may manage, valid until
//! `expires`. The transform, a string or an object, is validated and canonicalised first, so the
//! URL is the one spelling every SDK would produce.

use std::sync::Arc;

use axum::{extract::State, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{assets::managed_asset, body::JsonBody};
use crate::{
    app::App,
    auth::AnyAuth,
    error::{AppError, AppResult, ErrorCode},
    services::signed,
    signing::MAX_TTL_SECONDS as MAX_TTL,
    transform::Transform,
};

const DEFAULT_TTL: i64 = 3600;

#[derive(Deserialize)]
#[serde(untagged)]
pub enum TransformInput {
    Text(String),
    Object(Map<String, Value>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    public_id: String,
    #[serde(default)]
    transform: Option<TransformInput>,
    #[serde(default)]
    ttl_seconds: Option<i64>,
}

fn invalid(message: impl Into<String>) -> AppError {
    ErrorCode::InvalidTransform.with(message)
}

/// `{"w": 1200, "q": 80}` → `w_1200,q_80` (then parsed like any transform string).
fn object_to_text(object: Map<String, Value>) -> AppResult<String> {
    let pairs = object
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok(format!("{key}_{s}")),
            Value::Number(n) => Ok(format!("{key}_{n}")),
            Value::Bool(true) => Ok(format!("{key}_1")),
            other => Err(invalid(format!("transform value of {key} must be a string or a number, not {other}"))),
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(pairs.join(","))
}

pub async fn sign(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
    JsonBody(body): JsonBody<SignRequest>,
) -> AppResult<Json<Value>> {
    let text = match body.transform {
        None => String::new(),
        Some(TransformInput::Text(s)) => s,
        Some(TransformInput::Object(o)) => object_to_text(o)?,
    };
    let canonical = if text.is_empty() { String::new() } else { Transform::parse(&text).map_err(invalid)?.canonical() };
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_TTL);
    if !(1..=MAX_TTL).contains(&ttl) {
        return Err(ErrorCode::InvalidTtl.with(format!("ttl_seconds must be from 1 to {MAX_TTL}")));
    }
    let asset = managed_asset(&app, &principal, &body.public_id).await?;
    let signed = signed::sign(&app, &asset, &canonical, ttl);
    Ok(Json(json!({ "url": signed.url, "expires": signed.expires })))
}
