//! How an upload commits safely: validated metadata and bytes in, one asset record out. The
//! original is inspected (fully decoded once) and its masters made before anything is written;
//! its blobs are listed as garbage before they exist and stay listed unless the record that names
//! them is committed, so that a failure or a crash at any step leaves nothing behind.

use std::sync::Arc;

use bytes::Bytes;

use crate::{
    analysis,
    app::App,
    auth::Principal,
    cdn,
    clock::now_ms,
    domain::{Analysis, Folder, PublicId, Tags, Visibility},
    error::{AppError, AppResult, ErrorCode},
    gc, media,
    media::{ImageInfo, InspectError},
    render::{self, master},
    secrets::random_hex,
    store::{master_key, original_key, AssetRecord, Created, StoreError, Swapped},
};

/// Overwrites that race each other retry this often before giving up with 409.
const COMMIT_ATTEMPTS: usize = 3;

/// One upload, validated: the file and where it goes.
pub struct NewUpload {
    pub bytes: Bytes,
    pub file_name: Option<String>,
    pub public_id: PublicId,
    /// `None` keeps the existing value on overwrite (and means the default on create).
    pub folder: Option<Folder>,
    pub tags: Option<Tags>,
    pub visibility: Option<Visibility>,
    pub overwrite: bool,
}

/// What the commit did.
#[derive(Debug)]
pub enum Committed {
    Created(AssetRecord),
    Replaced(AssetRecord),
}

/// Inspects, stores and commits one upload: a new asset, or a new version of an existing one
/// (`overwrite`, by its owner or an admin). Concurrent overwrites of one public_id each decide
/// again after losing a race; after [`COMMIT_ATTEMPTS`] losses, 409 `already_exists`.
pub async fn commit(app: &Arc<App>, principal: &Principal, upload: NewUpload) -> AppResult<Committed> {
    if upload.bytes.is_empty() {
        return Err(ErrorCode::EmptyFile.with("the file is empty"));
    }
    let existing = app.meta.asset(upload.public_id.as_str()).await?;
    check_replaceable(principal, existing.as_ref(), upload.overwrite)?;
    let Inspected { info, masters, analysis } = inspect(app, upload.bytes.clone()).await?;

    // Listed as garbage before it exists, so that a crash from here on leaves nothing behind.
    let blob_id = random_hex(16);
    let now = now_ms();
    app.meta.add_garbage(&blob_id, now + gc::UPLOAD_GRACE_MS).await?;
    if let Err(e) = store_blobs(app, &blob_id, &upload.bytes, &masters).await {
        gc::collect(app, &blob_id).await;
        return Err(e.into());
    }
    let record = |existing: Option<&AssetRecord>| AssetRecord {
        public_id: upload.public_id.as_str().to_owned(),
        owner_id: existing.map_or_else(|| principal.user.id.clone(), |e| e.owner_id.clone()),
        folder: upload
            .folder
            .as_ref()
            .map(|f| f.as_str().to_owned())
            .or_else(|| existing.map(|e| e.folder.clone()))
            .unwrap_or_default(),
        tags: upload.tags.clone().map(|t| t.0).or_else(|| existing.map(|e| e.tags.clone())).unwrap_or_default(),
        visibility: upload.visibility.or(existing.map(|e| e.visibility)).unwrap_or_default(),
        format: info.format,
        width: info.width,
        height: info.height,
        has_alpha: info.has_alpha,
        has_master: !masters.is_empty(),
        derived_bytes: masters.iter().map(|(_, m)| m.len() as u64).sum(),
        // A new version stores no variant yet (an overwrite's old variants go with its old blob).
        variants: 0,
        bytes: upload.bytes.len() as u64,
        original_filename: upload.file_name.clone(),
        created_at: existing.map_or(now, |e| e.created_at),
        updated_at: now,
        version: existing.map_or(1, |e| e.version + 1),
        blob_id: blob_id.clone(),
        // A new version's subject may be elsewhere (SPEC §14).
        focal_point: None,
        analysis: analysis.clone(),
    };

    let mut existing = existing;
    for _ in 0..COMMIT_ATTEMPTS {
        let committed = match &existing {
            None => {
                let asset = record(None);
                (app.meta.create_asset(&asset).await? == Created::Created).then_some(Committed::Created(asset))
            }
            Some(old) => {
                let asset = record(Some(old));
                let swapped = app.meta.replace_asset(&asset, old.version, &old.blob_id).await? == Swapped::Swapped;
                if swapped {
                    gc::collect(app, &old.blob_id).await;
                    // The CDN must not go on serving the old version's responses.
                    cdn::purge_asset(app, &asset.public_id).await;
                }
                swapped.then_some(Committed::Replaced(asset))
            }
        };
        if let Some(committed) = committed {
            return Ok(committed);
        }
        // Someone else created, replaced or deleted this public_id meanwhile: decide again.
        existing = app.meta.asset(upload.public_id.as_str()).await?;
        if let Err(e) = check_replaceable(principal, existing.as_ref(), upload.overwrite) {
            gc::collect(app, &blob_id).await;
            return Err(e);
        }
    }
    gc::collect(app, &blob_id).await;
    Err(already_exists())
}

async fn store_blobs(
    app: &App,
    blob_id: &str,
    original: &Bytes,
    masters: &[(master::Level, Vec<u8>)],
) -> Result<(), StoreError> {
    let original_key = original_key(blob_id);
    let master_keys: Vec<String> = masters.iter().map(|(level, _)| master_key(blob_id, level.name)).collect();
    let puts = std::iter::once(app.blobs.put(&original_key, original.clone())).chain(
        master_keys.iter().zip(masters).map(|(key, (_, master))| app.blobs.put(key, Bytes::from(master.clone()))),
    );
    // At once (their fsyncs overlap), and every one finished before a failure is answered: the
    // caller then collects the whole tree, and no write may land after that.
    futures_util::future::join_all(puts).await.into_iter().collect()
}

/// What the upload's one full decode gives besides the checks: the masters of a still that is
/// slow to decode (see `render::master`) and the analysis (faces, placeholders) of its first frame.
struct Inspected {
    info: ImageInfo,
    masters: master::Masters,
    analysis: Option<Analysis>,
}

/// Inspects the upload, makes its masters and analyses it.
async fn inspect(app: &App, bytes: Bytes) -> AppResult<Inspected> {
    let limits = media::InspectLimits {
        max_pixels: app.config.max_pixels,
        max_frames: app.config.max_frames,
        formats: app.config.formats,
        max_memory: app.config.render_memory_bytes,
    };
    let render_limits = app.render_limits();
    let permit = app.decode_permit().await.map_err(AppError::internal)?;
    let inspected = permit
        .run(move || {
            let (info, pixels) = media::inspect_keeping_pixels(&bytes, &limits)?;
            // Decoded once: the inspection's pixels when it kept them, else a render-path decode.
            let image = match pixels {
                Some(image) => Ok(Some(image)),
                None => render::first_frame(&bytes, info.format, &render_limits),
            };
            let made = image.and_then(|image| match image {
                Some(image) => master::from_image(image, info.frames, info.has_alpha, analysis::analyse).map(Some),
                None => Ok(None),
            });
            // Without masters and analysis the asset is still whole: renders start from the
            // original, and crops find their subject without faces.
            let made = made.unwrap_or_else(|e| {
                tracing::warn!(error = ?e, "no masters and no analysis");
                None
            });
            let (masters, analysis) = made.map_or((Vec::new(), None), |(masters, seen)| (masters, Some(seen)));
            Ok(Inspected { info, masters, analysis })
        })
        .await
        .map_err(AppError::internal)?;
    inspected.map_err(|e| match e {
        InspectError::Unsupported(m) => ErrorCode::UnsupportedMediaType.with(m),
        InspectError::Corrupt(m) => ErrorCode::InvalidImage.with(m),
        InspectError::TooLarge(m) => ErrorCode::ImageTooLarge.with(m),
    })
}

fn already_exists() -> AppError {
    ErrorCode::AlreadyExists.with("an asset with this public_id exists; send overwrite=true to replace it")
}

/// An existing public_id may be replaced only with `overwrite=true`, by its owner or an admin.
fn check_replaceable(principal: &Principal, existing: Option<&AssetRecord>, overwrite: bool) -> AppResult<()> {
    match existing {
        Some(_) if !overwrite => Err(already_exists()),
        Some(e) if !principal.may_manage(&e.owner_id) => {
            Err(ErrorCode::Forbidden.with("this asset is not yours to replace"))
        }
        _ => Ok(()),
    }
}
