//! `/v1/assets`: list with filters and cursor pages; read, change and delete one asset.

use std::sync::Arc;

use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    body::{parse_query, JsonBody},
    views,
};
use crate::{
    app::App,
    auth::{AnyAuth, Principal},
    cdn,
    clock::now_ms,
    domain::{Folder, Point, PublicId, TagsInput, Visibility},
    error::{AppResult, ErrorCode},
    gc,
    store::{AssetCursor, AssetQuery, AssetRecord, Swapped},
};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 100;

/// Reads an asset the caller may manage: 400 bad id, 404 unknown, 403 not theirs.
pub(super) async fn managed_asset(app: &App, principal: &Principal, public_id: &str) -> AppResult<AssetRecord> {
    let id = PublicId::existing(public_id)?;
    let asset = app.meta.asset(id.as_str()).await?.ok_or_else(|| ErrorCode::NotFound.with("no such asset"))?;
    if !principal.may_manage(&asset.owner_id) {
        return Err(ErrorCode::Forbidden.with("this asset is not yours"));
    }
    Ok(asset)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListParams {
    folder: Option<String>,
    tag: Option<String>,
    visibility: Option<String>,
    q: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn encode_cursor(c: &AssetCursor) -> String {
    URL_SAFE_NO_PAD.encode(json!([c.created_at, c.public_id]).to_string())
}

fn decode_cursor(s: &str) -> AppResult<AssetCursor> {
    let invalid = || ErrorCode::InvalidCursor.with("cursor is not one this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
    let (created_at, public_id): (i64, String) = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    Ok(AssetCursor { created_at, public_id })
}

pub async fn list(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Value>> {
    let p: ListParams = parse_query(query.as_deref())?;
    let given = |v: Option<String>| v.filter(|s| !s.is_empty());
    let limit = match given(p.limit) {
        None => DEFAULT_LIMIT,
        Some(l) => l.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            ErrorCode::InvalidLimit.with(format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
        })?,
    };
    let query = AssetQuery {
        owner_id: (!principal.is_admin()).then(|| principal.user.id.clone()),
        folder: given(p.folder).map(|f| Folder::parse(&f).map(|f| f.as_str().to_owned())).transpose()?,
        tag: given(p.tag),
        visibility: given(p.visibility).map(|v| Visibility::parse(&v)).transpose()?,
        prefix: given(p.q),
        limit,
        after: given(p.cursor).map(|c| decode_cursor(&c)).transpose()?,
    };
    let page = app.meta.list_assets(&query).await?;
    let assets: Vec<Value> = page.assets.iter().map(|a| views::asset(&app.config, a)).collect();
    Ok(Json(json!({ "assets": assets, "next_cursor": page.next.as_ref().map(encode_cursor) })))
}

pub async fn get(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
    Path(public_id): Path<String>,
) -> AppResult<Json<Value>> {
    let asset = managed_asset(&app, &principal, &public_id).await?;
    Ok(Json(json!({ "asset": views::asset(&app.config, &asset) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    #[serde(default)]
    tags: Option<TagsInput>,
    #[serde(default)]
    folder: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    /// `null` clears it: present-but-null is `Some(Value::Null)`.
    #[serde(default, deserialize_with = "present")]
    focal_point: Option<Value>,
}

/// A field that is present, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

pub async fn update(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
    Path(public_id): Path<String>,
    JsonBody(patch): JsonBody<AssetPatch>,
) -> AppResult<Json<Value>> {
    let mut asset = managed_asset(&app, &principal, &public_id).await?;
    let (visibility_before, focal_point_before) = (asset.visibility, asset.focal_point);
    if let Some(tags) = patch.tags {
        asset.tags = tags.parse()?.0;
    }
    if let Some(folder) = patch.folder {
        asset.folder = Folder::parse(&folder)?.as_str().to_owned();
    }
    if let Some(visibility) = patch.visibility {
        asset.visibility = Visibility::parse(&visibility)?;
    }
    if let Some(point) = patch.focal_point {
        asset.focal_point = (!point.is_null()).then(|| Point::parse(&point)).transpose()?;
    }
    asset.updated_at = now_ms();
    let stored = app.meta.update_asset_meta(&asset).await?.ok_or_else(|| ErrorCode::NotFound.with("no such asset"))?;
    // A public response cached before must not outlive the asset turning private, nor a crop
    // around the old focal point its move.
    if stored.visibility != visibility_before || stored.focal_point != focal_point_before {
        cdn::purge_asset(&app, &stored.public_id).await;
    }
    Ok(Json(json!({ "asset": views::asset(&app.config, &stored) })))
}

pub async fn delete(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
    Path(public_id): Path<String>,
) -> AppResult<StatusCode> {
    let asset = managed_asset(&app, &principal, &public_id).await?;
    match app.meta.delete_asset(&asset.public_id, asset.version, &asset.blob_id, now_ms()).await? {
        Swapped::Swapped => {
            gc::collect(&app, &asset.blob_id).await;
            cdn::purge_asset(&app, &asset.public_id).await;
            Ok(StatusCode::NO_CONTENT)
        }
        Swapped::Stale => Err(ErrorCode::AssetChanged.with("the asset changed while it was being deleted; retry")),
    }
}
