//! The embedded backend's wiring: blobs in files and records in SQLite under the data dir, the
//! signing secret beside them unless configured, rate limits counted in this process.

use std::sync::Arc;

use super::{fs::FileBlobStore, memory::CachedBlobStore, sqlite::SqliteMetaStore};
use crate::{
    app::{App, StartError},
    signing::Signer,
    Config,
};

/// Opens the embedded stores under the configured data dir (made if missing).
pub fn open_app(config: Config) -> Result<Arc<App>, StartError> {
    let dir = config.data_dir.clone();
    let data_dir_error = |source| StartError::DataDir { path: dir.display().to_string(), source };
    std::fs::create_dir_all(&dir).map_err(data_dir_error)?;
    let blobs = CachedBlobStore::new(FileBlobStore::open(dir.join("blobs"))?, config.memory_cache_bytes);
    let meta = SqliteMetaStore::open(&dir.join("imgcloud.sqlite3"))?;
    let signer = match &config.signing_secret {
        Some(secret) => {
            Signer::new(secret.expose().as_bytes()).expect("IMGCLOUD_SIGNING_SECRET is checked with the configuration")
        }
        None => Signer::load_or_create(&dir).map_err(data_dir_error)?,
    };
    let signer = signer.accepting(config.previous_signing_secrets.iter().map(|s| s.expose().as_bytes()));
    Ok(App::new(config, Arc::new(blobs), Arc::new(meta), signer, None))
}
