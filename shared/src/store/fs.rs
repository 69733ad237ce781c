//! Blobs as files under a root folder. Writes are atomic and durable: a temp file in the same
//! filesystem, fsync, rename over the target, fsync of the folder.

use std::{
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use bytes::Bytes;

use super::{BlobStore, StoreError, StoreResult};
use crate::secrets::random_hex;

const TMP_DIR: &str = ".tmp";

pub struct FileBlobStore {
    root: PathBuf,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError { backend: "blob files", message: e.to_string() }
}

impl FileBlobStore {
    /// Opens (creating) the store at `root` and removes temp files that a crash left behind.
    pub fn open(root: impl Into<PathBuf>) -> StoreResult<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join(TMP_DIR)).map_err(err)?;
        let store = Self { root };
        store.remove_stale_temp_files(Duration::from_secs(3600));
        Ok(store)
    }

    fn remove_stale_temp_files(&self, older_than: Duration) {
        let Ok(entries) = std::fs::read_dir(self.root.join(TMP_DIR)) else {
            return;
        };
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > older_than);
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Maps a key to a path, refusing anything that could leave the root.
    fn path(&self, key: &str) -> StoreResult<PathBuf> {
        let valid = !key.is_empty()
            && key.split('/').all(|s| {
                !s.is_empty()
                    && !s.starts_with('.')
                    && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            });
        if !valid {
            return Err(err(format!("invalid blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

fn write_atomically(tmp_dir: &Path, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = target.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(parent)?;
    let tmp = tmp_dir.join(random_hex(12));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, target)?;
        std::fs::File::open(parent)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[async_trait]
impl BlobStore for FileBlobStore {
    #[tracing::instrument(level = "debug", skip_all, fields(backend = "files"))]
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()> {
        let target = self.path(key)?;
        let tmp_dir = self.root.join(TMP_DIR);
        tokio::task::spawn_blocking(move || write_atomically(&tmp_dir, &target, &bytes))
            .await
            .map_err(err)?
            .map_err(err)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "files"))]
    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "files"))]
    async fn size(&self, key: &str) -> StoreResult<Option<u64>> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "files"))]
    async fn delete_tree(&self, key: &str) -> StoreResult<()> {
        let path = self.path(key)?;
        let ignore_missing = |r: std::io::Result<()>| match r {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(err(e)),
            _ => Ok(()),
        };
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_dir() => ignore_missing(tokio::fs::remove_dir_all(&path).await),
            Ok(_) => ignore_missing(tokio::fs::remove_file(&path).await),
            Err(e) => ignore_missing(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn puts_gets_and_deletes_trees() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::open(dir.path()).unwrap();
        store.put("assets/ab12/original", Bytes::from_static(b"one")).await.unwrap();
        store.put("assets/ab12/original", Bytes::from_static(b"two")).await.unwrap();
        store.put("assets/ab12/variants/w_1.jpg", Bytes::from_static(b"v")).await.unwrap();
        store.put("assets/ab13/original", Bytes::from_static(b"other")).await.unwrap();
        assert_eq!(store.get("assets/ab12/original").await.unwrap().unwrap(), "two");
        assert_eq!(store.get("assets/none/original").await.unwrap(), None);
        store.delete_tree("assets/ab12").await.unwrap();
        store.delete_tree("assets/ab12").await.unwrap();
        assert_eq!(store.get("assets/ab12/original").await.unwrap(), None);
        assert_eq!(store.get("assets/ab12/variants/w_1.jpg").await.unwrap(), None);
        assert!(store.get("assets/ab13/original").await.unwrap().is_some());
        assert_eq!(std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn refuses_keys_that_could_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::open(dir.path()).unwrap();
        for key in ["../x", "a/../../x", "/etc/passwd", "A", "a//b", ".tmp/x", ""] {
            assert!(store.put(key, Bytes::new()).await.is_err(), "{key}");
            assert!(store.get(key).await.is_err(), "{key}");
        }
    }
}
