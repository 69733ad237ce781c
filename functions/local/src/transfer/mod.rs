//! `imgcloud import DIR` and `imgcloud export DIR` (SPEC §15): a client of a running server's
//! REST API, by URL and API key, never of its stores.
//!
//! Both are resumable. An import skips the public_ids that exist (listed once at the start, and a
//! 409 `already_exists` counts as skipped too), so a re-run continues where one stopped. An export
//! writes each original to a hidden temp name and renames it once complete, so a file under its
//! final name is always whole, and a re-run skips those whose size matches the asset's.
//!
//! Exit status: 0 when every file was transferred or skipped, 1 when any failed, 2 for a usage or
//! configuration error (missing `--url`/`--key`, a refused key, an unreachable server).

mod client;
mod error;
mod export;
mod import;
mod progress;

use std::{path::PathBuf, sync::Arc};

use clap::{Args, Parser, Subcommand};
use imgcloud_core::domain::Visibility;

use client::Client;
pub use error::TransferError;
use progress::{Counts, Reporter};

/// Runs `imgcloud import|export …` when the first argument names one; `None` for the other
/// commands (serving, `init-aws`), which `main` handles as before.
pub async fn dispatch() -> Option<i32> {
    let command = std::env::args().nth(1)?;
    if command != "import" && command != "export" {
        return None;
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(args) => import::run(args).await,
        Command::Export(args) => export::run(args).await,
    };
    Some(exit_status(result))
}

fn exit_status(result: Result<Counts, TransferError>) -> i32 {
    match result {
        Ok(counts) if counts.failed > 0 => 1,
        Ok(_) => 0,
        Err(e) => {
            eprintln!("imgcloud: {e}");
            2
        }
    }
}

/// The client of `common`'s server, telling `reporter` of its retries.
fn connect(common: &Common, reporter: &Arc<Reporter>) -> Result<Client, TransferError> {
    let reporter = reporter.clone();
    let on_retry = Box::new(move |what: &str, error: &TransferError, wait: std::time::Duration| {
        reporter.line(&format!("retry: {what} in {:.1} s, after {error}", wait.as_secs_f64()));
    });
    Client::new(&common.url, &common.key, on_retry)
}

/// After a run that lost the server: what was left was not attempted, and a re-run continues.
fn stopped_if_unreachable(client: &Client) -> Result<(), TransferError> {
    if client.unreachable() {
        return Err(TransferError::Unreachable {
            url: client.base().to_owned(),
            cause: "the connection failed during the run, which stopped; run it again to continue".into(),
        });
    }
    Ok(())
}

#[derive(Parser)]
#[command(name = "imgcloud", about = "img-cloud's local server, and a client that imports and exports its images")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Upload every image under DIR (recursively), or recreate an export directory's assets.
    Import(ImportArgs),
    /// Download every asset the key may see into DIR, with their metadata in DIR/assets.jsonl.
    Export(ExportArgs),
}

/// Where the server is, who is asking, and how.
#[derive(Args, Clone)]
pub struct Common {
    /// The server's base URL, e.g. https://images.example.com
    #[arg(long, env = "IMGCLOUD_URL")]
    pub url: String,
    /// An API key, KEY_ID:KEY_SECRET (the dashboard's API keys page makes one).
    #[arg(long, env = "IMGCLOUD_KEY", hide_env_values = true)]
    pub key: String,
    /// Uploads or downloads at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// A line for every file, not only for failures.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The directory to import: a tree of images, or a directory `imgcloud export` wrote.
    pub dir: PathBuf,
    #[command(flatten)]
    pub common: Common,
    /// Put every public_id (and folder) under this folder.
    #[arg(long)]
    pub folder: Option<String>,
    /// Comma-separated tags added to every asset.
    #[arg(long)]
    pub tags: Option<String>,
    /// The visibility of every asset (default: public; an export's own otherwise).
    #[arg(long, value_parser = visibility)]
    pub visibility: Option<Visibility>,
    /// Replace the assets that exist instead of skipping them.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The directory to write (created if missing; a re-run continues an export in it).
    pub dir: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// `--visibility`, by the API's own rule.
fn visibility(raw: &str) -> Result<Visibility, String> {
    Visibility::parse(raw).map_err(|e| e.message)
}
