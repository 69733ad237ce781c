//! How a variant is made: the rendition a request names (its stored key and ETag, known before
//! any rendering), and on a miss one render per variant at a time — a bounded queue, the variant's
//! lock, the smallest master that serves it, the render on a decode slot within its budget —
//! stored within the asset's caps and counted in its derived bytes.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;

use crate::{
    app::App,
    error::{AppError, AppResult, ErrorCode},
    limits::{too_many, Limit},
    media::Format,
    render::{self, master, RenderError, Source},
    secrets::sha256_hex,
    store::{asset_tree, master_key, original_key, AssetRecord, VariantAdded},
    telemetry::metrics,
    transform::{Gravity, Transform},
};

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

fn output_format(t: &Transform, asset: &AssetRecord, accept: &str) -> Format {
    let original = asset.format;
    match t.format.map(|f| (f, f.concrete())) {
        None => original.rendered_as(asset.has_alpha),
        Some((_, Some(format))) => format,
        Some((_, None)) => negotiate(accept, asset.has_alpha),
    }
}

/// What one request asks for: the stored object, its ETag and type, known before any rendering.
pub struct Rendition {
    pub key: String,
    pub etag: String,
    pub format: Format,
    /// `None` for the original.
    transform: Option<Transform>,
}

/// The rendition of `asset` that `transform` asks for, with `f_auto` resolved against `accept`.
pub fn rendition(asset: &AssetRecord, transform: Option<Transform>, accept: &str) -> Rendition {
    match transform {
        None => Rendition {
            key: original_key(&asset.blob_id),
            etag: format!("\"{}\"", asset.blob_id),
            format: asset.format,
            transform: None,
        },
        Some(t) => {
            let format = output_format(&t, asset, accept);
            // f_auto resolves to a format; the variant is named by what is actually rendered, so
            // keys that change nothing (`q_1`..`q_100` of a PNG) name no new variant.
            let effective = render::effective_transform(&t, format, asset.has_alpha);
            let mut named = effective.canonical();
            named.extend(["|", format.name()]);
            // A crop that looks for the subject renders anew when its focal point moves (faces
            // change only with the version, which names the variant's tree).
            if let (Some(point), Some(Gravity::Auto | Gravity::Face | Gravity::Faces)) =
                (asset.focal_point, effective.gravity)
            {
                named += &format!("|focal={},{}", point.x.get(), point.y.get());
            }
            let name = &sha256_hex(named.as_bytes())[..32];
            Rendition {
                key: format!("{}/variants/{name}.{}", asset_tree(&asset.blob_id), format.name()),
                etag: format!("\"{}-{}\"", asset.blob_id, &name[..16]),
                format,
                transform: Some(t),
            }
        }
    }
}

/// A place in the render queue, given back when dropped.
struct Waiting<'a>(&'a AtomicU32);

impl<'a> Waiting<'a> {
    fn enter(waiting: &'a AtomicU32, limit: u32) -> AppResult<Self> {
        if waiting.fetch_add(1, Ordering::AcqRel) >= limit {
            waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ErrorCode::Busy.with("too many renders are waiting; retry shortly"));
        }
        metrics::render_queue(1.0);
        Ok(Self(waiting))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        metrics::render_queue(-1.0);
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

/// Whether a variant was stored already (`HIT`) or rendered for this request (`MISS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    Hit,
    Miss,
}

impl Cache {
    pub fn name(self) -> &'static str {
        match self {
            Cache::Hit => "HIT",
            Cache::Miss => "MISS",
        }
    }
}

/// The bytes of a rendition: the original, or its variant (`Some` cache status) as stored, or
/// rendered for `client_ip` (within its render limit) and stored for next time.
pub async fn fetch(
    app: &Arc<App>,
    asset: &AssetRecord,
    rendition: &Rendition,
    client_ip: &str,
) -> AppResult<(Bytes, Option<Cache>)> {
    match &rendition.transform {
        None => Ok((app.blobs.get(&rendition.key).await?.ok_or_else(|| missing_original(asset))?, None)),
        Some(t) => variant(app, asset, t, rendition, client_ip).await.map(|(bytes, cache)| (bytes, Some(cache))),
    }
}

/// The stored variant, or a render of it stored for next time (one render per variant at once).
async fn variant(
    app: &Arc<App>,
    asset: &AssetRecord,
    t: &Transform,
    target: &Rendition,
    client_ip: &str,
) -> AppResult<(Bytes, Cache)> {
    if let Some(bytes) = app.blobs.get(&target.key).await? {
        return Ok((bytes, Cache::Hit));
    }
    // Only renders count against the client's limit; cached deliveries are free (SPEC §9).
    app.limits.renders.check(client_ip).await.map_err(|wait| too_many(wait, Limit::Renders))?;
    let lock = app.render_locks.lock_for(&target.key);
    let guard = lock.clone().lock_owned().await;
    if let Some(bytes) = app.blobs.get(&target.key).await? {
        return Ok((bytes, Cache::Hit));
    }
    // The render and its store run as a task of their own that holds the variant's lock, so that
    // a client hanging up stops it only when nobody else waits for it.
    let cancelled = Arc::new(AtomicBool::new(false));
    let job = RenderJob { app: app.clone(), asset: asset.clone(), t: t.clone(), key: target.key.clone() };
    let task = tokio::spawn(job.run(target.format, cancelled.clone(), guard));
    let _cancel = CancelUnlessAwaited { cancelled, lock };
    let bytes = task.await.map_err(AppError::internal)??;
    Ok((bytes, Cache::Miss))
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
        // Start from the first stored master of those that serve the render (see
        // `master::serving`: an asset uploaded by an earlier release has other sizes); the
        // original when there is none, or when they are missing (a master is a cache of the
        // original).
        let size = (asset.width, asset.height);
        let original = Source::Original(asset.format);
        let levels = if asset.has_master {
            master::serving(size, asset.has_alpha, &self.t, app.config.max_output_side)
        } else {
            Vec::new()
        };
        let (mut limits, budget) = (app.render_limits(), Duration::from_secs(app.config.render_seconds.into()));
        limits.cancelled = Some(cancelled);
        // Renders run one per core; a bounded number wait, holding no image bytes yet.
        let permit = {
            let _waiting = Waiting::enter(&app.renders_waiting, app.config.render_queue)?;
            app.decode_permit().await.map_err(AppError::internal)?
        };
        let mut master = None;
        for level in levels {
            master = app.blobs.get(&master_key(&asset.blob_id, level.name)).await?;
            if master.is_some() {
                break;
            }
        }
        let (input, source, plan_on) = match master {
            Some(bytes) => (bytes, Source::Master, Some(size)),
            None => {
                let bytes = app.blobs.get(&original_key(&asset.blob_id)).await?;
                (bytes.ok_or_else(|| missing_original(asset))?, original, None)
            }
        };
        let (t, subject) = (self.t.clone(), asset.subject());
        let rendered = permit
            .run(move || {
                // The budget runs from when the render gets its core.
                let started = Instant::now();
                limits.deadline = Some(started + budget);
                let rendered = render::render(&input, source, plan_on, &t, output, &limits, &subject);
                if rendered.is_ok() {
                    metrics::render(output, started.elapsed());
                }
                rendered
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
        match app.meta.add_variant(asset, bytes.len() as u64, caps).await? {
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
}
