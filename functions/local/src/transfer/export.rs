//! `imgcloud export DIR`: list every asset the key may see (`GET /v1/assets`, page by page), then
//! download each original (`GET /v1/image/<public_id>`, with the key's credentials, so private
//! assets too) to `DIR/<public_id>.<format>`, `--jobs` at once.
//!
//! Each original is streamed to a hidden temp file beside its place (`.<name>.part`), synced,
//! checked against the asset's `bytes`, and only then renamed: a file under its final name is
//! whole, and a re-run skips those whose size is the asset's. `assets.jsonl` (one asset per line,
//! as the API shows it) is written the same way, last: with it, the directory is a finished export.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use futures_util::StreamExt;
use imgcloud_core::{domain::PublicId, media::Format};
use serde_json::Value;

use super::{
    client::Client,
    import::ASSETS_FILE,
    progress::{Counts, Outcome, Reporter},
    ExportArgs, TransferError,
};

/// What a download needs of a listed asset.
struct Listed {
    public_id: String,
    format: String,
    bytes: u64,
}

pub async fn run(args: ExportArgs) -> Result<Counts, TransferError> {
    let dir = args.dir;
    std::fs::create_dir_all(&dir).map_err(|e| TransferError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let reporter = Arc::new(Reporter::new("exported", args.common.verbose));
    let client = super::connect(&args.common, &reporter)?;
    client.check_key().await?;
    let metadata = temp_name(&dir.join(ASSETS_FILE));
    let listed = list_all(&client, &metadata).await?;
    reporter.start(listed.len() as u64);
    futures_util::stream::iter(listed)
        .map(|asset| {
            let (client, dir) = (&client, &dir);
            async move { (asset.public_id.clone(), export_one(client, dir, &asset).await) }
        })
        .buffer_unordered(args.common.jobs.into())
        .for_each(|(public_id, outcome)| {
            reporter.record(&public_id, outcome);
            std::future::ready(())
        })
        .await;
    let assets = dir.join(ASSETS_FILE);
    std::fs::rename(&metadata, &assets).map_err(TransferError::io(&assets))?;
    let counts = reporter.finish();
    super::stopped_if_unreachable(&client)?;
    Ok(counts)
}

/// Pages through every asset, writing each as one line of `metadata`.
async fn list_all(client: &Client, metadata: &Path) -> Result<Vec<Listed>, TransferError> {
    let file = std::fs::File::create(metadata).map_err(TransferError::io(metadata))?;
    let mut lines = std::io::BufWriter::new(file);
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = client.list_assets("", cursor.as_deref()).await?;
        for asset in &page.assets {
            writeln!(lines, "{asset}").map_err(TransferError::io(metadata))?;
            listed.push(Listed {
                public_id: text(asset, "public_id"),
                format: text(asset, "format"),
                bytes: asset["bytes"].as_u64().unwrap_or_default(),
            });
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let file = lines.into_inner().map_err(|e| TransferError::io(metadata)(e.into_error()))?;
    file.sync_all().map_err(TransferError::io(metadata))?;
    Ok(listed)
}

fn text(asset: &Value, field: &str) -> String {
    asset[field].as_str().unwrap_or_default().to_owned()
}

async fn export_one(client: &Client, dir: &Path, asset: &Listed) -> Outcome {
    if client.unreachable() {
        return Outcome::NotAttempted;
    }
    // The server's word is not trusted with paths: only a valid public_id and a known format make one.
    let (Ok(id), Some(format)) = (PublicId::existing(&asset.public_id), Format::from_name(&asset.format)) else {
        return Outcome::Failed(format!("not a public_id and format to name a file by: {:?}", asset.format));
    };
    let relative = file_name(&id, format);
    let target = dir.join(&relative);
    if tokio::fs::metadata(&target).await.is_ok_and(|m| m.is_file() && m.len() == asset.bytes) {
        return Outcome::Skipped(format!("{relative} is there"));
    }
    match download(client, id.as_str(), &target, asset.bytes).await {
        Ok(()) => Outcome::Done(format!("to {relative}")),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Where an export keeps an asset's original, relative to its directory (SPEC §15).
pub fn file_name(id: &PublicId, format: Format) -> String {
    format!("{}.{}", id.as_str(), format.name())
}

/// Downloads to the temp name beside `target`, then renames it: never a partial file under the
/// final name.
async fn download(client: &Client, public_id: &str, target: &Path, bytes: u64) -> Result<(), TransferError> {
    let parent = target.parent().unwrap_or(target);
    tokio::fs::create_dir_all(parent).await.map_err(TransferError::io(parent))?;
    let temp = temp_name(target);
    let result = match client.download(public_id, &temp).await {
        Ok(written) if written == bytes => tokio::fs::rename(&temp, target).await.map_err(TransferError::io(target)),
        Ok(written) => Err(TransferError::File(format!("got {written} bytes where the asset has {bytes}"))),
        Err(e) => Err(e),
    };
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

/// `dir/.name.part` for `dir/name`: hidden, and never a name an export gives a file (a public_id's
/// segments never start with a dot).
fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.part"))
}
