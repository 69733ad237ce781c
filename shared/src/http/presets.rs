//! `/v1/presets` (SPEC §14): named transforms, delivered as `t_<name>`. Anyone signed in lists
//! them; admins write them.

use std::sync::Arc;

use axum::{extract::Path, extract::State, http::StatusCode, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{body::JsonBody, views};
use crate::{
    app::App,
    auth::{AdminAuth, AnyAuth},
    clock::now_ms,
    error::{AppResult, ErrorCode},
    store::{Created, PresetRecord},
    transform::{is_preset_name, Transform},
};

fn checked_name(name: &str) -> AppResult<&str> {
    if is_preset_name(name) {
        Ok(name)
    } else {
        Err(ErrorCode::InvalidPreset.with("a preset name is 1 to 64 of a-z, 0-9, _ and -"))
    }
}

pub async fn list(State(app): State<Arc<App>>, _: AnyAuth) -> AppResult<Json<Value>> {
    let presets: Vec<Value> = app.meta.presets().await?.iter().map(views::preset).collect();
    Ok(Json(json!({ "presets": presets })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetBody {
    transform: String,
}

/// Creates (201) or replaces (200) a preset; its transform is validated and stored canonical.
pub async fn put(
    State(app): State<Arc<App>>,
    _: AdminAuth,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<PresetBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let name = checked_name(&name)?;
    let transform = Transform::parse(&body.transform).map_err(|m| ErrorCode::InvalidTransform.with(m))?;
    if transform.preset.is_some() {
        return Err(ErrorCode::InvalidTransform.with("a preset's transform cannot name a preset (t_)"));
    }
    let now = now_ms();
    let preset =
        PresetRecord { name: name.to_owned(), transform: transform.canonical(), created_at: now, updated_at: now };
    let (stored, created) = app.meta.put_preset(&preset).await?;
    let status = if created == Created::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "preset": views::preset(&stored) }))))
}

pub async fn delete(State(app): State<Arc<App>>, _: AdminAuth, Path(name): Path<String>) -> AppResult<StatusCode> {
    if app.meta.delete_preset(checked_name(&name)?).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ErrorCode::NotFound.with("no such preset"))
    }
}
