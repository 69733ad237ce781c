//! A bounded in-memory cache in front of any blob store. Blob keys are written once with one
//! content (every version of an asset has a new blob id, and a variant's name is derived from its
//! transform and format), so a cached entry is never stale; trees that are deleted are dropped too.

use async_trait::async_trait;
use bytes::Bytes;
use quick_cache::{sync::Cache, Weighter};

use super::{BlobStore, StoreResult};

/// Blobs larger than this are served from the store without being cached.
const MAX_ENTRY_BYTES: usize = 8 << 20;

#[derive(Clone)]
struct ByLength;

impl Weighter<String, Bytes> for ByLength {
    fn weight(&self, _: &String, value: &Bytes) -> u64 {
        value.len().max(1) as u64
    }
}

pub struct CachedBlobStore<S> {
    inner: S,
    cache: Cache<String, Bytes, ByLength>,
}

impl<S: BlobStore> CachedBlobStore<S> {
    pub fn new(inner: S, capacity_bytes: u64) -> Self {
        let estimated_items = (capacity_bytes / (64 << 10)).clamp(16, 1 << 20) as usize;
        Self { inner, cache: Cache::with_weighter(estimated_items, capacity_bytes.max(1), ByLength) }
    }

    fn remember(&self, key: &str, bytes: &Bytes) {
        if bytes.len() <= MAX_ENTRY_BYTES {
            self.cache.insert(key.to_owned(), bytes.clone());
        }
    }
}

#[async_trait]
impl<S: BlobStore> BlobStore for CachedBlobStore<S> {
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()> {
        self.inner.put(key, bytes.clone()).await?;
        self.remember(key, &bytes);
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        if let Some(bytes) = self.cache.get(key) {
            return Ok(Some(bytes));
        }
        let found = self.inner.get(key).await?;
        if let Some(bytes) = &found {
            self.remember(key, bytes);
        }
        Ok(found)
    }

    async fn delete_tree(&self, key: &str) -> StoreResult<()> {
        let below = format!("{key}/");
        self.cache.retain(|k, _| k != key && !k.starts_with(&below));
        self.inner.delete_tree(key).await
    }

    async fn size(&self, key: &str) -> StoreResult<Option<u64>> {
        self.inner.size(key).await
    }

    fn keep_in_memory(&self, key: &str, bytes: &Bytes) {
        self.remember(key, bytes);
    }

    async fn presigned_get(&self, key: &str, ttl: std::time::Duration) -> StoreResult<Option<String>> {
        self.inner.presigned_get(key, ttl).await
    }

    async fn presigned_post(
        &self,
        key: &str,
        max_bytes: u64,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<super::PresignedPost>> {
        self.inner.presigned_post(key, max_bytes, ttl).await
    }
}

// Over the embedded blob store, which every workspace build has.
#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::store::fs::FileBlobStore;

    #[tokio::test]
    async fn serves_from_memory_and_forgets_deleted_trees() {
        let dir = tempfile::tempdir().unwrap();
        let store = CachedBlobStore::new(FileBlobStore::open(dir.path()).unwrap(), 1 << 20);
        store.put("assets/ab/original", Bytes::from_static(b"one")).await.unwrap();
        std::fs::remove_file(dir.path().join("assets/ab/original")).unwrap();
        assert_eq!(store.get("assets/ab/original").await.unwrap().unwrap(), "one", "served from memory");
        store.delete_tree("assets/ab").await.unwrap();
        assert_eq!(store.get("assets/ab/original").await.unwrap(), None);
    }
}
