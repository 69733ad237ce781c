//! `GET|HEAD /v1/image[/<transform>]/<public_id>` (SPEC §5): the original, or a variant rendered
//! on first request and stored beside it (`X-Cache: MISS`, then `HIT`). The ETag is known before
//! any rendering: the asset's blob id (new at every version) plus the variant's name.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::Response,
};
use bytes::Bytes;
use percent_encoding::percent_decode_str;

use super::client_ip::ClientIp;
use crate::{
    app::App,
    auth::authenticate,
    clock::now_ms,
    domain::{public_id::is_transform_shaped, PublicId, Visibility},
    error::{AppError, AppResult, ErrorCode},
    limits::too_many,
    media::Format,
    render::{self, master, RenderError, Source},
    secrets::sha256_hex,
    signing::MAX_TTL_SECONDS,
    store::{asset_tree, master_key, original_key, AssetRecord, VariantAdded},
    transform::{OutputFormat, Transform},
    usage::period,
};

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
    let id = PublicId::parse(id)?;
    Ok((transform, id))
}

/// `f_auto`: AVIF if the client accepts it, else WebP, else JPEG (PNG when the image has alpha).
fn negotiate(accept: &str, has_alpha: bool) -> Format {
    let accepts = |wanted: &str| {
        accept.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            parts.next() == Some(wanted)
                && !parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)))
        })
    };
    if accepts("image/avif") {
        Format::Avif
    } else if accepts("image/webp") {
        Format::WebP
    } else if has_alpha {
        Format::Png
    } else {
        Format::Jpeg
    }
}

fn output_format(t: &Transform, asset: &AssetRecord, headers: &HeaderMap) -> Format {
    let original = Format::from_name(&asset.format).unwrap_or(Format::Jpeg);
    match t.format.map(|f| (f, f.concrete())) {
        None => original.rendered_as(asset.has_alpha),
        Some((_, Some(format))) => format,
        Some((_, None)) => {
            negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default(), asset.has_alpha)
        }
    }
}

/// What one request asks for: the stored object, its ETag and type.
struct Target {
    key: String,
    etag: String,
    format: Format,
    /// `None` for the original.
    transform: Option<Transform>,
}

fn target(asset: &AssetRecord, transform: Option<Transform>, headers: &HeaderMap) -> Target {
    match transform {
        None => Target {
            key: original_key(&asset.blob_id),
            etag: format!("\"{}\"", asset.blob_id),
            format: Format::from_name(&asset.format).unwrap_or(Format::Jpeg),
            transform: None,
        },
        Some(t) => {
            let format = output_format(&t, asset, headers);
            // f_auto resolves to a format; the variant is named by what is actually rendered, so
            // keys that change nothing (`q_1`..`q_100` of a PNG) name no new variant.
            let effective = render::effective_transform(&t, format, asset.has_alpha);
            let name = &sha256_hex(format!("{}|{}", effective.canonical(), format.name()).as_bytes())[..32];
            Target {
                key: format!("{}/variants/{name}.{}", asset_tree(&asset.blob_id), format.name()),
                etag: format!("\"{}-{}\"", asset.blob_id, &name[..16]),
                format,
                transform: Some(t),
            }
        }
    }
}

pub async fn deliver(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> AppResult<Response> {
    // The signature is checked first, on the path exactly as sent, before any other work.
    let signed = check_signature(&app, &uri)?;
    let raw = uri.path().strip_prefix("/v1/image/").unwrap_or_default();
    let path =
        percent_decode_str(raw).decode_utf8().map_err(|_| ErrorCode::InvalidPublicId.with("the path is not UTF-8"))?;
    // `%2C` would smuggle a second spelling of a transform past the canonical form: refuse it.
    let raw_first = raw.split('/').next().unwrap_or_default();
    if raw_first.contains('%') && path.split('/').next().is_some_and(is_transform_shaped) {
        return Err(ErrorCode::InvalidTransform.with("a transform must not be percent-encoded"));
    }
    let (transform, id) = parse_path(&path)?;
    let asset = app.meta.asset(id.as_str()).await?.ok_or_else(|| ErrorCode::NotFound.with("no such asset"))?;
    if let Some(signed) = &signed {
        signed.check_asset(&asset)?;
    }
    let cache_control = match (signed.map(|s| s.expires), asset.visibility) {
        // No cache may keep a signed response past its signature (SPEC §5).
        (Some(expires), _) => format!("public, max-age={}", (expires - now_ms() / 1000).max(0)),
        (None, Visibility::Public) => format!("public, max-age={}", app.config.cache_max_age),
        (None, Visibility::Private) => {
            let principal = authenticate(&app, &headers).await?;
            if !principal.is_some_and(|p| p.may_manage(&asset.owner_id)) {
                return Err(
                    ErrorCode::Unauthorized.with("this asset is private: sign the URL or send the owner's credentials")
                );
            }
            "private, no-store".to_owned()
        }
    };
    let negotiated = transform.as_ref().is_some_and(|t| t.format == Some(OutputFormat::Auto));
    let target = target(&asset, transform, &headers);
    let mut response =
        Response::builder().header(header::ETAG, &target.etag).header(header::CACHE_CONTROL, cache_control);
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
    let (bytes, cache) = match &target.transform {
        None => (app.blobs.get(&target.key).await?.ok_or_else(|| missing_original(&asset))?, None),
        Some(t) => variant(&app, &asset, t, &target, &ip).await?,
    };
    if let Some(cache) = cache {
        response = response.header("x-cache", cache);
    }
    if method == Method::GET {
        app.usage.record(&asset.owner_id, period(now_ms()), bytes.len() as u64);
    }
    if app.config.inline_max_bytes.is_some_and(|max| bytes.len() as u64 > max) {
        if let Some(url) = app.blobs.presigned_get(&target.key, REDIRECT_TTL).await? {
            // The short-lived URL must not outlive itself in any cache.
            response.headers_mut().map(|h| h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
            return response
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(header::LOCATION, url)
                .body(Body::empty())
                .map_err(AppError::internal);
        }
    }
    response
        .header(header::CONTENT_TYPE, HeaderValue::from_static(target.format.content_type()))
        .header(header::CONTENT_LENGTH, bytes.len())
        .body(Body::from(bytes))
        .map_err(AppError::internal)
}

/// What a valid signature says: until when, and for which revision of the asset (`None`: a
/// legacy signature, made before URLs named one).
struct Signed {
    expires: i64,
    revision: Option<String>,
}

fn invalid_signature() -> AppError {
    ErrorCode::InvalidSignature.with("the URL's signature is invalid")
}

impl Signed {
    /// A signature serves only the asset it was made for. A legacy one names no revision: it is
    /// taken only as the API issued them, at most `MAX_TTL_SECONDS` before its expiry, and only for
    /// an asset whose content is older than that, so it was signed while this content existed.
    fn check_asset(&self, asset: &AssetRecord) -> AppResult<()> {
        let issued_after = self.expires - MAX_TTL_SECONDS;
        let bound = match &self.revision {
            Some(revision) => *revision == asset.blob_id,
            None => issued_after <= now_ms() / 1000 && asset.updated_at / 1000 <= issued_after,
        };
        if bound {
            Ok(())
        } else {
            Err(invalid_signature())
        }
    }
}

/// `?expires=<unix>[&v=<revision>]&sig=<sig>`: `None` when the URL is not signed, what it signs
/// when it is signed validly, 401 when it is signed otherwise (tampered, expired, malformed), 400
/// when a parameter is given twice. Other parameters are ignored: they are not part of what was
/// signed.
fn check_signature(app: &App, uri: &Uri) -> AppResult<Option<Signed>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or_default())
        .map_err(|_| ErrorCode::InvalidQuery.with("the query string is malformed"))?;
    let one = |name: &str| -> AppResult<Option<&str>> {
        let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            _ => Err(ErrorCode::InvalidQuery.with(format!("{name} is given twice"))),
        }
    };
    let (expires, revision, sig) = (one("expires")?, one("v")?, one("sig")?);
    // `v` alone is a cache buster on an unsigned URL, as it always was.
    if expires.is_none() && sig.is_none() {
        return Ok(None);
    }
    let expires: i64 = expires.and_then(|e| e.parse().ok()).ok_or_else(invalid_signature)?;
    if !app.signer.verify(uri.path(), expires, revision, sig.unwrap_or_default()) {
        return Err(invalid_signature());
    }
    if expires < now_ms() / 1000 {
        return Err(ErrorCode::SignatureExpired.with("the signed URL has expired"));
    }
    Ok(Some(Signed { expires, revision: revision.map(str::to_owned) }))
}

/// A place in the render queue, given back when dropped.
struct Waiting<'a>(&'a AtomicU32);

impl<'a> Waiting<'a> {
    fn enter(waiting: &'a AtomicU32, limit: u32) -> AppResult<Self> {
        if waiting.fetch_add(1, Ordering::AcqRel) >= limit {
            waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ErrorCode::Busy.with("too many renders are waiting; retry shortly"));
        }
        Ok(Self(waiting))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Tells a render that nobody waits for it any more when the request that started it is dropped
/// (its client hung up) and no other request waits for the same variant: those find it stored.
struct CancelUnlessAwaited {
    cancelled: Arc<AtomicBool>,
    /// The variant's lock: held by the render's task, and by each request waiting for it.
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for CancelUnlessAwaited {
    fn drop(&mut self) {
        // Ours and the render task's guard: anyone more waits.
        if Arc::strong_count(&self.lock) <= 2 {
            self.cancelled.store(true, Ordering::Relaxed);
        }
    }
}

fn missing_original(asset: &AssetRecord) -> AppError {
    AppError::internal(format!("original of {} is missing", asset.public_id))
}

/// The stored variant, or a render of it stored for next time (one render per variant at once).
async fn variant(
    app: &Arc<App>,
    asset: &AssetRecord,
    t: &Transform,
    target: &Target,
    client_ip: &str,
) -> AppResult<(Bytes, Option<&'static str>)> {
    if let Some(bytes) = app.blobs.get(&target.key).await? {
        return Ok((bytes, Some("HIT")));
    }
    // Only renders count against the client's limit; cached deliveries are free (SPEC §9).
    app.limits.renders.check(client_ip).await.map_err(|wait| too_many(wait, "uncached renders"))?;
    let lock = app.render_locks.lock_for(&target.key);
    let guard = lock.clone().lock_owned().await;
    if let Some(bytes) = app.blobs.get(&target.key).await? {
        return Ok((bytes, Some("HIT")));
    }
    // The render and its store run as a task of their own that holds the variant's lock, so that
    // a client hanging up stops it only when nobody else waits for it.
    let cancelled = Arc::new(AtomicBool::new(false));
    let job = RenderJob { app: app.clone(), asset: asset.clone(), t: t.clone(), key: target.key.clone() };
    let task = tokio::spawn(job.run(target.format, cancelled.clone(), guard));
    let _cancel = CancelUnlessAwaited { cancelled, lock };
    let bytes = task.await.map_err(AppError::internal)??;
    Ok((bytes, Some("MISS")))
}

/// One variant to render and store.
struct RenderJob {
    app: Arc<App>,
    asset: AssetRecord,
    t: Transform,
    key: String,
}

impl RenderJob {
    async fn run(
        self,
        output: Format,
        cancelled: Arc<AtomicBool>,
        _lock: tokio::sync::OwnedMutexGuard<()>,
    ) -> AppResult<Bytes> {
        let bytes = self.render(output, cancelled).await?;
        self.store(&bytes).await?;
        Ok(bytes)
    }

    async fn render(&self, output: Format, cancelled: Arc<AtomicBool>) -> AppResult<Bytes> {
        let (app, asset) = (&self.app, &self.asset);
        // Start from the smallest master that serves the render (see `render::master`); the
        // original when there is none, or when it is missing (a master is a cache of the original).
        let size = (asset.width, asset.height);
        let original = Source::Original(Format::from_name(&asset.format).unwrap_or(Format::Jpeg));
        let level = asset
            .has_master
            .then(|| master::choose(size, asset.has_alpha, &self.t, app.config.max_output_side))
            .flatten();
        let (mut limits, budget) = (app.render_limits(), Duration::from_secs(app.config.render_seconds.into()));
        limits.cancelled = Some(cancelled);
        // Renders run one per core; a bounded number wait, holding no image bytes yet.
        let permit = {
            let _waiting = Waiting::enter(&app.renders_waiting, app.config.render_queue)?;
            app.decode_permit().await.map_err(AppError::internal)?
        };
        let master = match level {
            Some(level) => app.blobs.get(&master_key(&asset.blob_id, level.name)).await?,
            None => None,
        };
        let (input, source, plan_on) = match master {
            Some(bytes) => (bytes, Source::Master, Some(size)),
            None => {
                let bytes = app.blobs.get(&original_key(&asset.blob_id)).await?;
                (bytes.ok_or_else(|| missing_original(asset))?, original, None)
            }
        };
        let t = self.t.clone();
        let rendered = permit
            .run(move || {
                // The budget runs from when the render gets its core.
                limits.deadline = Some(Instant::now() + budget);
                render::render(&input, source, plan_on, &t, output, &limits)
            })
            .await
            .map_err(AppError::internal)?;
        let rendered = rendered.map_err(|e| match e {
            RenderError::TooLarge(m) => ErrorCode::ImageTooLarge.with(m),
            RenderError::OverBudget(m) => ErrorCode::RenderTooLarge.with(m),
            // The upload's inspection decoded it; a render's decoder that cannot is no fault of
            // the client's, and no retry helps: 422, logged.
            RenderError::Decode(m) => {
                tracing::warn!(public_id = %asset.public_id, error = %m, "a stored original does not decode for rendering");
                ErrorCode::ImageUnreadable.with(format!("this image cannot be rendered: {m}"))
            }
            RenderError::Encode(m) => AppError::internal(format!("rendering {} failed: {m}", asset.public_id)),
        })?;
        Ok(Bytes::from(rendered.bytes))
    }

    /// Stores the variant within its asset's caps. Past them it is served but not stored; it is
    /// kept in the memory cache alone, so that a popular one is not rendered on every request. A
    /// version's counts only grow, so a record that is full when read is full now: no put.
    async fn store(&self, bytes: &Bytes) -> AppResult<()> {
        let (app, asset, key) = (&self.app, &self.asset, &self.key);
        let caps = app.config.variant_caps;
        if !caps.admit(asset, bytes.len() as u64) {
            app.blobs.keep_in_memory(key, bytes);
            return Ok(());
        }
        app.blobs.put(key, bytes.clone()).await?;
        // Counted only while this version is current and within its caps. If it was replaced or
        // deleted during the render, the collector may have swept its tree already: take the
        // variant back out, or it is an orphan nobody would collect. (Stored first, checked
        // after: in every order, one of the two removes it.) Full: other renders took the room.
        match app.meta.add_variant(&asset.public_id, &asset.blob_id, bytes.len() as u64, caps).await? {
            VariantAdded::Stored => {}
            VariantAdded::Full => {
                app.blobs.delete_tree(key).await?;
                app.blobs.keep_in_memory(key, bytes);
            }
            VariantAdded::Gone => app.blobs.delete_tree(key).await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f_auto_prefers_avif_then_webp_then_jpeg_or_png() {
        assert_eq!(negotiate("image/avif,image/webp,*/*", false), Format::Avif);
        assert_eq!(negotiate("image/webp,*/*;q=0.8", false), Format::WebP);
        assert_eq!(negotiate("image/avif;q=0, image/webp", false), Format::WebP);
        assert_eq!(negotiate("*/*", false), Format::Jpeg);
        assert_eq!(negotiate("", true), Format::Png);
    }

    #[test]
    fn a_legacy_signature_serves_only_content_older_than_any_url_it_could_be() {
        let now = now_ms() / 1000;
        let asset = |updated_at_s: i64| AssetRecord {
            public_id: "p".into(),
            owner_id: "u".into(),
            folder: String::new(),
            tags: Vec::new(),
            visibility: Visibility::Private,
            format: "jpg".into(),
            width: 1,
            height: 1,
            has_alpha: false,
            has_master: false,
            derived_bytes: 0,
            variants: 0,
            bytes: 1,
            original_filename: None,
            created_at: 0,
            updated_at: updated_at_s * 1000,
            version: 1,
            blob_id: "b1".into(),
        };
        let legacy = |expires| Signed { expires, revision: None };
        let week = MAX_TTL_SECONDS;
        assert!(legacy(now + 3600).check_asset(&asset(now - week - 3600)).is_ok(), "content older than the URL");
        assert!(legacy(now + 3600).check_asset(&asset(now - week + 7200)).is_err(), "content that may be younger");
        assert!(legacy(now + week + 60).check_asset(&asset(0)).is_err(), "a lifetime no API URL had");
        let bound = |v: &str| Signed { expires: now + 60, revision: Some(v.into()) };
        assert!(bound("b1").check_asset(&asset(now)).is_ok());
        assert!(bound("b2").check_asset(&asset(0)).is_err());
    }

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
