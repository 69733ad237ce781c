//! `GET|HEAD /v1/image/<public_id>`: the original's bytes, with a strong ETag and the Cache-Control
//! of SPEC §5. Transforms (`/v1/image/<transform>/<public_id>`) arrive with the image engine.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::Response,
};

use crate::{
    app::App,
    auth::authenticate,
    domain::{public_id::is_transform_shaped, PublicId, Visibility},
    error::{AppError, AppResult},
    media::Format,
    store::original_key,
};

pub async fn deliver(
    State(app): State<Arc<App>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    if path.split('/').next().is_some_and(is_transform_shaped) {
        return Err(AppError::new(
            crate::error::Kind::NotFound,
            "transform_unavailable",
            "transforms are not available in this build yet; request the original",
        ));
    }
    let id = PublicId::parse(&path).map_err(|m| AppError::bad_request("invalid_public_id", m))?;
    let asset = app
        .meta
        .asset(id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("no such asset"))?;
    let cache_control = match asset.visibility {
        Visibility::Public => format!("public, max-age={}", app.config.cache_max_age),
        Visibility::Private => {
            let principal = authenticate(&app, &headers).await?;
            if !principal.is_some_and(|p| p.may_manage(&asset.owner_id)) {
                return Err(AppError::unauthorized(
                    "this asset is private: sign the URL or send the owner's credentials",
                ));
            }
            "private, no-store".to_owned()
        }
    };
    // The blob id changes with every version, so it identifies these exact bytes.
    let etag = format!("\"{}\"", asset.blob_id);
    let response = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache_control);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        return response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(AppError::internal);
    }
    let bytes = app
        .blobs
        .get(&original_key(&asset.blob_id))
        .await?
        .ok_or_else(|| AppError::internal(format!("original of {} is missing", asset.public_id)))?;
    let content_type =
        Format::from_name(&asset.format).map_or("application/octet-stream", Format::content_type);
    response
        .header(header::CONTENT_TYPE, HeaderValue::from_static(content_type))
        .header(header::CONTENT_LENGTH, bytes.len())
        .body(Body::from(bytes))
        .map_err(AppError::internal)
}
