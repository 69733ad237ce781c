//! Nothing lost, nothing leaked: how blobs and metadata stay consistent without a transaction
//! spanning both stores.
//!
//! A blob is put on the garbage list (due in [`UPLOAD_GRACE_MS`]) *before* it is written. The write
//! that makes an asset point at it takes it off the list; the write that makes an asset stop
//! pointing at it (overwrite, delete) puts it back on, due at once. So a crash at any point leaves
//! either a row whose blob is durable, or a listed blob that [`sweep`] removes: never a row
//! pointing at nothing, never an orphan nobody will collect.

use std::{sync::Arc, time::Duration};

use crate::{
    app::App,
    clock::now_ms,
    store::{asset_tree, StoreResult},
};

/// How long an upload may take between listing its blob and committing its row.
pub const UPLOAD_GRACE_MS: i64 = 3600 * 1000;
const SWEEP_EVERY: Duration = Duration::from_secs(60);
const SWEEP_BATCH: usize = 100;

/// Removes everything stored for `blob_id`, then its garbage entry. Failures are logged and left
/// for the next sweep.
pub async fn collect(app: &App, blob_id: &str) {
    let result = async {
        app.blobs.delete_tree(&asset_tree(blob_id)).await?;
        app.meta.remove_garbage(blob_id).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(blob_id, error = %e, "blob left for the next sweep");
    }
}

/// Collects every due blob and purges expired records; returns how many blobs were collected.
pub async fn sweep(app: &App) -> StoreResult<usize> {
    app.meta.purge_expired(now_ms()).await?;
    let mut collected = 0;
    loop {
        let due = app.meta.due_garbage(now_ms(), SWEEP_BATCH).await?;
        for blob_id in &due {
            collect(app, blob_id).await;
        }
        collected += due.len();
        if due.len() < SWEEP_BATCH {
            return Ok(collected);
        }
    }
}

/// Sweeps at start and then every minute, for as long as the runtime lives.
pub fn spawn_sweeper(app: Arc<App>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            app.limits.forget_idle();
            match sweep(&app).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(collected = n, "garbage blobs removed"),
                Err(e) => tracing::warn!(error = %e, "sweep failed"),
            }
        }
    })
}

/// Flushes the usage tally every few seconds, for as long as the runtime lives.
pub fn spawn_usage_flusher(app: Arc<App>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            if let Err(e) = app.usage.flush(app.meta.as_ref()).await {
                tracing::warn!(error = %e, "usage flush failed; kept for the next one");
            }
        }
    })
}
