//! `imgcloud import DIR`: plan every file first (what it is by its bytes, its public_id, whether
//! its id is taken), then upload the images, `--jobs` at once.
//!
//! A tree of files: each image's public_id is `--folder` plus its path without the extension, each
//! segment made valid ([`PublicId::for_file`]); its folder is that id's directory, as the API sets it. A directory with an
//! `assets.jsonl` (an export): each line's asset is recreated from `<public_id>.<format>` with its
//! own public_id, folder, tags and visibility (under `--folder`, with `--tags` added, and
//! `--visibility` instead of its own when given).
//!
//! Files over the upload limit of `POST /v1/upload` (a 413 `file_too_large`) go through a direct
//! upload where the server offers one (the aws backend); once a size is refused, larger files go
//! there at once.

use std::{
    collections::{HashMap, HashSet},
    io::Read,
    path::{Component, Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
};

use futures_util::StreamExt;
use imgcloud_core::{
    domain::{Folder, PublicId, Tags, Visibility},
    media::{sniff, Format},
};
use serde::Deserialize;

use super::{
    client::{Client, Sent, Upload},
    progress::{Counts, Outcome, Reporter},
    ImportArgs, TransferError,
};

/// The export's metadata file, one asset per line.
pub const ASSETS_FILE: &str = "assets.jsonl";
/// Enough of a file to tell its format (an ISO-BMFF `ftyp` box lists its brands early).
const SNIFF_BYTES: u64 = 512;

/// The options that apply to every file, checked before anything is sent.
struct Options {
    folder: Folder,
    tags: Vec<String>,
    visibility: Option<&'static str>,
    overwrite: bool,
}

/// What the plan says of one file.
struct Planned {
    /// The file as the user knows it: its path under DIR (or the line of `assets.jsonl`).
    file: String,
    step: Step,
}

enum Step {
    Skip(String),
    Fail(String),
    Upload { upload: Upload, size: u64 },
}

/// One line of an export's `assets.jsonl` (an asset as the API shows it; the rest is ignored).
#[derive(Deserialize)]
struct ExportedAsset {
    public_id: String,
    #[serde(default)]
    folder: String,
    #[serde(default)]
    tags: Vec<String>,
    visibility: String,
    format: String,
    original_filename: Option<String>,
}

pub async fn run(args: ImportArgs) -> Result<Counts, TransferError> {
    let options = Options::parse(&args)?;
    let dir = args.dir.clone();
    if !dir.is_dir() {
        return Err(TransferError::Usage(format!("{} is not a directory", dir.display())));
    }
    let reporter = Arc::new(Reporter::new("imported", args.common.verbose));
    let client = super::connect(&args.common, &reporter)?;
    client.check_key().await?;
    let prefix = if options.folder.is_root() { String::new() } else { format!("{}/", options.folder.as_str()) };
    let plan = tokio::task::spawn_blocking(move || plan(&dir, &options))
        .await
        .map_err(|e| TransferError::Usage(format!("planning stopped: {e}")))??;
    let existing = if args.overwrite { HashSet::new() } else { existing_ids(&client, &prefix).await? };
    reporter.start(plan.len() as u64);

    let mut uploads = Vec::new();
    for Planned { file, step } in plan {
        match step {
            Step::Skip(why) => reporter.record(&file, Outcome::Skipped(why)),
            Step::Fail(why) => reporter.record(&file, Outcome::Failed(why)),
            Step::Upload { upload, .. } if existing.contains(&upload.public_id) => {
                reporter.record(&file, Outcome::Skipped(format!("{} exists", upload.public_id)))
            }
            Step::Upload { upload, size } => uploads.push((file, upload, size)),
        }
    }
    let limit = UploadLimit::default();
    futures_util::stream::iter(uploads)
        .map(|(file, upload, size)| {
            let (client, limit) = (&client, &limit);
            async move { (file, upload_one(client, limit, &upload, size).await) }
        })
        .buffer_unordered(args.common.jobs.into())
        .for_each(|(file, outcome)| {
            reporter.record(&file, outcome);
            std::future::ready(())
        })
        .await;
    let counts = reporter.finish();
    super::stopped_if_unreachable(&client)?;
    Ok(counts)
}

impl Options {
    fn parse(args: &ImportArgs) -> Result<Self, TransferError> {
        let folder = Folder::parse(args.folder.as_deref().unwrap_or_default().trim_matches('/'))
            .map_err(|e| TransferError::Usage(format!("--folder: {}", e.message)))?;
        let tags = match args.tags.as_deref() {
            Some(csv) => Tags::parse_csv(csv).map_err(|e| TransferError::Usage(format!("--tags: {}", e.message)))?.0,
            None => Vec::new(),
        };
        Ok(Self { folder, tags, visibility: args.visibility.map(Visibility::as_str), overwrite: args.overwrite })
    }
}

/// Every file's step, in path order; a public_id that two images would share is the later one's
/// failure (`a.jpg` and `a.png` are both `a`).
fn plan(dir: &Path, options: &Options) -> Result<Vec<Planned>, TransferError> {
    let assets = dir.join(ASSETS_FILE);
    let mut plan = if assets.is_file() { plan_export(dir, &assets, options)? } else { plan_tree(dir, options)? };
    let mut owners: HashMap<String, String> = HashMap::new();
    for planned in &mut plan {
        if let Step::Upload { upload, .. } = &planned.step {
            if let Some(first) = owners.get(&upload.public_id) {
                let why = format!("its public_id {} is also that of {first}", upload.public_id);
                planned.step = Step::Fail(why);
            } else {
                owners.insert(upload.public_id.clone(), planned.file.clone());
            }
        }
    }
    Ok(plan)
}

fn plan_tree(dir: &Path, options: &Options) -> Result<Vec<Planned>, TransferError> {
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files)?;
    files.sort();
    Ok(files.iter().map(|relative| plan_file(dir, relative, options)).collect())
}

/// The files under `dir/relative`, as paths relative to `dir`. Symbolic links to files are
/// followed; links to directories are not (they could loop).
fn walk(dir: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<(), TransferError> {
    let here = dir.join(relative);
    for entry in std::fs::read_dir(&here).map_err(TransferError::io(&here))? {
        let entry = entry.map_err(TransferError::io(&here))?;
        let path = relative.join(entry.file_name());
        let kind = entry.file_type().map_err(TransferError::io(entry.path()))?;
        if kind.is_dir() {
            walk(dir, &path, out)?;
        } else if kind.is_file() || (kind.is_symlink() && entry.path().is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

fn plan_file(dir: &Path, relative: &Path, options: &Options) -> Planned {
    let file = relative.display().to_string();
    let path = dir.join(relative);
    let step = match image_size(&path) {
        Err(e) => Step::Fail(e.to_string()),
        Ok(None) => Step::Skip("not an image".into()),
        Ok(Some(size)) => match public_id_for(&options.folder, relative) {
            Err(why) => Step::Fail(format!("no valid public_id for it: {why}")),
            Ok(public_id) => {
                let file_name = relative.file_name().map(|n| n.to_string_lossy().into_owned());
                let upload = Upload {
                    path,
                    file_name: file_name.filter(|n| valid_file_name(n)),
                    public_id: public_id.as_str().to_owned(),
                    folder: None,
                    tags: options.tags.clone(),
                    visibility: options.visibility,
                    overwrite: options.overwrite,
                };
                Step::Upload { upload, size }
            }
        },
    };
    Planned { file, step }
}

/// The public_id of the file at `relative` (a path under DIR) in `folder`.
fn public_id_for(folder: &Folder, relative: &Path) -> Result<PublicId, String> {
    let mut segments: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let name = segments.pop().ok_or("the file has no name")?;
    let stem = Path::new(&name).file_stem().map(|s| s.to_string_lossy().into_owned());
    segments.push(stem.unwrap_or(name));
    PublicId::for_file(folder, &segments).map_err(|e| e.message)
}

/// The file's length if its first bytes are those of an image format the core knows (SPEC §4,
/// §12), `None` if they are not.
fn image_size(path: &Path) -> Result<Option<u64>, TransferError> {
    let file = std::fs::File::open(path).map_err(TransferError::io(path))?;
    let size = file.metadata().map_err(TransferError::io(path))?.len();
    let mut head = Vec::with_capacity(SNIFF_BYTES as usize);
    file.take(SNIFF_BYTES).read_to_end(&mut head).map_err(TransferError::io(path))?;
    Ok(sniff(&head).map(|_| size))
}

fn plan_export(dir: &Path, assets: &Path, options: &Options) -> Result<Vec<Planned>, TransferError> {
    let text = std::fs::read_to_string(assets).map_err(TransferError::io(assets))?;
    let lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
    Ok(lines.map(|(n, line)| plan_line(dir, n + 1, line, options)).collect())
}

/// One line of `assets.jsonl`: its original, and its metadata under the options.
fn plan_line(dir: &Path, number: usize, line: &str, options: &Options) -> Planned {
    let (file, upload) = match exported_upload(dir, line, options) {
        Ok(found) => found,
        Err(why) => return Planned { file: format!("{ASSETS_FILE}:{number}"), step: Step::Fail(why) },
    };
    let step = match image_size(&upload.path) {
        Err(e) => Step::Fail(e.to_string()),
        Ok(None) => Step::Skip("not an image".into()),
        Ok(Some(size)) => Step::Upload { upload, size },
    };
    Planned { file, step }
}

/// The upload that recreates an exported asset, and its file's name under DIR.
fn exported_upload(dir: &Path, line: &str, options: &Options) -> Result<(String, Upload), String> {
    let asset: ExportedAsset = serde_json::from_str(line).map_err(|e| format!("not an exported asset: {e}"))?;
    let id = PublicId::parse(&asset.public_id).map_err(|e| e.message)?;
    let format = Format::from_name(&asset.format).ok_or_else(|| format!("unknown format {:?}", asset.format))?;
    let file = super::export::file_name(&id, format);
    let visibility = match options.visibility {
        Some(v) => v,
        None => Visibility::parse(&asset.visibility).map_err(|e| e.message)?.as_str(),
    };
    let added: Vec<String> = options.tags.iter().filter(|t| !asset.tags.contains(t)).cloned().collect();
    let tags = [asset.tags, added].concat();
    let under = |path: &str| match (options.folder.is_root(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => options.folder.as_str().to_owned(),
        (false, false) => format!("{}/{path}", options.folder.as_str()),
    };
    let public_id = PublicId::parse(&under(id.as_str())).map_err(|e| e.message)?;
    let upload = Upload {
        path: dir.join(&file),
        file_name: asset.original_filename.filter(|n| valid_file_name(n)),
        public_id: public_id.as_str().to_owned(),
        folder: Some(under(&asset.folder)),
        tags,
        visibility: Some(visibility),
        overwrite: options.overwrite,
    };
    Ok((file, upload))
}

/// A name the upload form takes as the original's (at most 255 bytes, no control characters).
fn valid_file_name(name: &str) -> bool {
    name.len() <= 255 && !name.chars().any(char::is_control)
}

/// The public_ids under `prefix` that the key sees (others' too, for an admin's key).
async fn existing_ids(client: &Client, prefix: &str) -> Result<HashSet<String>, TransferError> {
    let mut ids = HashSet::new();
    let mut cursor = None;
    loop {
        let page = client.list_assets(prefix, cursor.as_deref()).await?;
        ids.extend(page.assets.iter().filter_map(|a| a["public_id"].as_str().map(str::to_owned)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(ids),
        }
    }
}

/// What this run learnt of the server's upload limit.
#[derive(Default)]
struct UploadLimit {
    /// The smallest file that `POST /v1/upload` refused as too large (0: none yet).
    refused_from: AtomicU64,
    /// The server answered `direct_upload_unavailable`.
    no_direct: AtomicBool,
}

impl UploadLimit {
    fn over(&self, size: u64) -> bool {
        let from = self.refused_from.load(Ordering::Relaxed);
        from != 0 && size >= from
    }

    fn refused(&self, size: u64) {
        let _ = self
            .refused_from
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |from| (from == 0 || size < from).then_some(size));
    }
}

async fn upload_one(client: &Client, limit: &UploadLimit, upload: &Upload, size: u64) -> Outcome {
    if client.unreachable() {
        return Outcome::NotAttempted;
    }
    let sent = if limit.over(size) {
        direct(client, limit, upload, size).await
    } else {
        match client.upload(upload).await {
            Ok(Sent::TooLarge) => {
                limit.refused(size);
                direct(client, limit, upload, size).await
            }
            other => other,
        }
    };
    match sent {
        Ok(Sent::Exists) => Outcome::Skipped(format!("{} exists", upload.public_id)),
        Ok(_) => Outcome::Done(format!("as {}", upload.public_id)),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The direct upload of a file that `POST /v1/upload` cannot take.
async fn direct(client: &Client, limit: &UploadLimit, upload: &Upload, size: u64) -> Result<Sent, TransferError> {
    let unavailable = || {
        TransferError::File(format!(
            "the file ({size} bytes) is over the server's upload limit (413 file_too_large), and the server \
             offers no direct uploads for larger files (404 direct_upload_unavailable: only its aws backend does)"
        ))
    };
    if limit.no_direct.load(Ordering::Relaxed) {
        return Err(unavailable());
    }
    match client.direct_upload(upload, size).await? {
        Sent::NoDirectUploads => {
            limit.no_direct.store(true, Ordering::Relaxed);
            Err(unavailable())
        }
        Sent::TooLarge => {
            Err(TransferError::File(format!("the file ({size} bytes) is over the server's upload limit")))
        }
        sent => Ok(sent),
    }
}
