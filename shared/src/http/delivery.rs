//! `GET|HEAD /v1/image[/<transform>]/<public_id>` (SPEC §5): the original, or a variant rendered
//! on first request and stored beside it (`X-Cache: MISS`, then `HIT`). The ETag is known before
//! any rendering: the asset's blob id (new at every version) plus the variant's name.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::Response,
};
use percent_encoding::percent_decode_str;

use super::client_ip::ClientIp;
use crate::{
    app::App,
    auth::authenticate,
    cdn,
    clock::now_ms,
    domain::{
        public_id::{is_transform_shaped, starts_with_added_key},
        PublicId, Visibility,
    },
    error::{AppError, AppResult, ErrorCode},
    services::{signed, variant},
    store::AssetRecord,
    telemetry::metrics,
    transform::{OutputFormat, Transform},
    usage::period,
};

const X_CACHE: header::HeaderName = header::HeaderName::from_static("x-cache");

/// How long a redirect to the store's own URL stays valid (responses over `inline_max_bytes`).
const REDIRECT_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Splits `<transform>/<public_id>` from `<public_id>` (SPEC §3: a transform-shaped first segment
/// is the transform, and is a 400 if invalid).
fn parse_path(path: &str) -> AppResult<(Option<Transform>, PublicId)> {
    let (transform, id) = match path.split_once('/') {
        Some((first, rest)) if is_transform_shaped(first) => {
            (Some(Transform::parse(first).map_err(|m| ErrorCode::InvalidTransform.with(m))?), rest)
        }
        _ => (None, path),
    };
    let id = PublicId::existing(id)?;
    Ok((transform, id))
}

/// The asset stored under the whole `path` before its first segment's key joined the grammar
/// (`t_old/photo`, `g_old/photo`: DECISIONS.md), delivered as it always was.
async fn legacy_asset(app: &App, path: &str) -> AppResult<Option<AssetRecord>> {
    if !path.split('/').next().is_some_and(starts_with_added_key) {
        return Ok(None);
    }
    match PublicId::existing(path) {
        Ok(id) => Ok(app.meta.asset(id.as_str()).await?),
        Err(_) => Ok(None),
    }
}

async fn find(app: &App, id: &PublicId) -> AppResult<AssetRecord> {
    app.meta.asset(id.as_str()).await?.ok_or_else(|| ErrorCode::NotFound.with("no such asset"))
}

/// A `t_<name>` delivery: the preset's transform in its place (so that a variant is keyed by what
/// it renders, and a changed preset never serves an old render), with the URL's `f` and `dpr`.
/// Without such a preset, the whole path may name an asset stored before `t` was a key
/// (`t_old/photo`); else 400.
async fn with_preset(
    app: &App,
    transform: Option<Transform>,
    name: &str,
    id: &PublicId,
    path: &str,
) -> AppResult<(Option<Transform>, AssetRecord)> {
    if let Some(preset) = app.meta.preset(name).await? {
        let expanded = Transform::parse(&preset.transform).map_err(AppError::internal)?;
        let transform = transform.map(|t| t.with_preset(&expanded));
        return Ok((transform, find(app, id).await?));
    }
    if let Some(asset) = legacy_asset(app, path).await? {
        return Ok((None, asset));
    }
    Err(ErrorCode::InvalidTransform.with(format!("no preset named {name:?}")))
}

pub async fn deliver(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> AppResult<Response> {
    // The signature is checked first, on the path exactly as sent, before any other work.
    let signed = signed::verify(&app, uri.path(), uri.query())?;
    let raw = uri.path().strip_prefix("/v1/image/").unwrap_or_default();
    let path =
        percent_decode_str(raw).decode_utf8().map_err(|_| ErrorCode::InvalidPublicId.with("the path is not UTF-8"))?;
    // `%2C` would smuggle a second spelling of a transform past the canonical form: refuse it.
    let raw_first = raw.split('/').next().unwrap_or_default();
    if raw_first.contains('%') && path.split('/').next().is_some_and(is_transform_shaped) {
        return Err(ErrorCode::InvalidTransform.with("a transform must not be percent-encoded"));
    }
    let parsed = parse_path(&path);
    let preset = parsed.as_ref().ok().and_then(|(t, _)| t.as_ref()?.preset.clone());
    let (transform, asset) = match parsed {
        Ok((transform, id)) => match &preset {
            Some(name) => with_preset(&app, transform, name, &id, &path).await?,
            None => (transform, find(&app, &id).await?),
        },
        // `g_old/photo` is no transform (g needs a crop): it may name an asset stored before.
        Err(e) => (None, legacy_asset(&app, &path).await?.ok_or(e)?),
    };
    // Strict mode (SPEC §14) lets anonymous unsigned requests have originals and presets only.
    let restricted = app.config.strict_transforms && transform.is_some() && preset.is_none();
    if let Some(signed) = &signed {
        signed.check_asset(&asset)?;
    }
    let cache_control = match (signed.map(|s| s.expires), asset.visibility) {
        // No cache may keep a signed response past its signature (SPEC §5).
        (Some(expires), _) => format!("public, max-age={}", (expires - now_ms() / 1000).max(0)),
        (None, Visibility::Public) if !restricted => {
            format!("public, max-age={}", app.config.cache_max_age)
        }
        // Strict mode (SPEC §14): a transform of a public asset, like any delivery of a private
        // one, needs the owner's credentials; and its response is theirs alone.
        (None, visibility) => {
            let principal = authenticate(&app, &headers).await?;
            if !principal.is_some_and(|p| p.may_manage(&asset.owner_id)) {
                return Err(match visibility {
                    Visibility::Private => ErrorCode::Unauthorized
                        .with("this asset is private: sign the URL or send the owner's credentials"),
                    Visibility::Public => ErrorCode::TransformNotAllowed.with(
                        "this server delivers originals only to unsigned requests (IMGCLOUD_STRICT_TRANSFORMS): sign the URL",
                    ),
                });
            }
            "private, no-store".to_owned()
        }
    };
    let negotiated = transform.as_ref().is_some_and(|t| t.format == Some(OutputFormat::Auto));
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let target = variant::rendition(&asset, transform, accept);
    let mut response = Response::builder()
        .header(header::ETAG, &target.etag)
        .header(header::CACHE_CONTROL, cache_control)
        .header(cdn::XKEY, cdn::asset_tag(&asset.public_id));
    if negotiated {
        response = response.header(header::VARY, "Accept");
    }
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == target.etag || t.trim() == "*"));
    if not_modified {
        return response.status(StatusCode::NOT_MODIFIED).body(Body::empty()).map_err(AppError::internal);
    }
    let (bytes, cache) = variant::fetch(&app, &asset, &target, &ip).await?;
    if let Some(cache) = cache {
        response = response.header(X_CACHE, cache.name());
    }
    if method == Method::GET {
        app.usage.record(&asset.owner_id, &period(now_ms()), bytes.len() as u64);
    }
    let hit = cache != Some(variant::Cache::Miss);
    if app.config.inline_max_bytes.is_some_and(|max| bytes.len() as u64 > max) {
        if let Some(url) = app.blobs.presigned_get(&target.key, REDIRECT_TTL).await? {
            metrics::delivery(hit, 0);
            // The short-lived URL must not outlive itself in any cache.
            response.headers_mut().map(|h| h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
            return response
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(header::LOCATION, url)
                .body(Body::empty())
                .map_err(AppError::internal);
        }
    }
    metrics::delivery(hit, if method == Method::GET { bytes.len() as u64 } else { 0 });
    response
        .header(header::CONTENT_TYPE, HeaderValue::from_static(target.format.content_type()))
        .header(header::CONTENT_LENGTH, bytes.len())
        .body(Body::from(bytes))
        .map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transform_shaped_first_segment_is_the_transform() {
        let (t, id) = parse_path("w_400,h_300/marketing/hero").unwrap();
        assert_eq!((t.unwrap().canonical(), id.as_str()), ("w_400,h_300".to_owned(), "marketing/hero"));
        let (t, id) = parse_path("my_photo/x").unwrap();
        assert_eq!((t, id.as_str()), (None, "my_photo/x"));
        assert!(parse_path("w_0/x").is_err());
        assert!(parse_path("w_400").is_err(), "a bare transform names no asset");
    }
}
