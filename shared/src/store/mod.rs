//! The storage ports. A [`BlobStore`] keeps bytes (originals, masters, variants); a [`MetaStore`]
//! keeps records, one trait per concern ([`UserStore`], [`SessionStore`], [`ApiKeyStore`],
//! [`AssetStore`], [`GarbageStore`], [`UsageStore`], [`PresetStore`]); [`SharedCounters`] count rate-limit windows.
//! Each has an embedded twin ([`fs::FileBlobStore`], [`sqlite::SqliteMetaStore`]); the contracts are written so that S3 and
//! DynamoDB fit them unchanged: conditional creates, version-checked swaps, cursor pages, records
//! with an expiry a TTL can enforce.
//!
//! Expected outcomes are values (`Option`, [`Created`], [`Swapped`]); `Err` is a real failure.

#[cfg(feature = "aws")]
pub mod aws;
mod counters;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "embedded")]
pub mod fs;
pub mod listing;
pub mod memory;
mod records;
#[cfg(feature = "embedded")]
pub mod sqlite;

use async_trait::async_trait;
use bytes::Bytes;

pub use counters::{SharedCounters, WindowCounters};
pub use records::*;

#[derive(Debug, thiserror::Error)]
#[error("{backend}: {message}")]
pub struct StoreError {
    pub backend: &'static str,
    pub message: String,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Bytes under `/`-separated keys of `[a-z0-9._-]` segments.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there; durable once it returns.
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()>;
    /// The bytes under `key`, or `None` when there are none.
    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>>;
    /// Removes `key` and every key below `key/` (an asset's original and all its variants live
    /// below `assets/<blob_id>/`); absent keys are not an error.
    async fn delete_tree(&self, key: &str) -> StoreResult<()>;

    /// The size of the blob under `key`, without reading it.
    async fn size(&self, key: &str) -> StoreResult<Option<u64>>;

    /// Keeps `bytes` for reads of `key` in this store's memory cache only, if it has one: a
    /// variant past its asset's caps is not stored, but a popular one must not be rendered again
    /// on every request.
    fn keep_in_memory(&self, _key: &str, _bytes: &Bytes) {}

    /// A URL that serves `key` for `ttl` without credentials, when the store can make one (S3
    /// can; files cannot, so the caller serves the bytes itself).
    async fn presigned_get(&self, _key: &str, _ttl: std::time::Duration) -> StoreResult<Option<String>> {
        Ok(None)
    }

    /// A browser form that uploads one object of up to `max_bytes` to `key` within `ttl`, when the
    /// store can take uploads directly (S3's presigned POST).
    async fn presigned_post(
        &self,
        _key: &str,
        _max_bytes: u64,
        _ttl: std::time::Duration,
    ) -> StoreResult<Option<PresignedPost>> {
        Ok(None)
    }
}

/// A form to POST (multipart, `fields` first, then `file`) to `url` before `expires_at` (unix s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPost {
    pub url: String,
    pub fields: Vec<(String, String)>,
    pub expires_at: i64,
}

/// What a conditional create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExists,
}

/// What a version-checked replace did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swapped {
    Swapped,
    /// The record is gone or has another version: nothing was changed.
    Stale,
}

/// Why a user change was not made; the store refuses any change that would leave no enabled admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRefusal {
    NotFound,
    LastAdmin,
}

/// The users, with the invariant that an enabled admin always remains.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user unless its email is taken.
    async fn create_user(&self, user: &UserRecord) -> StoreResult<Created>;
    async fn user(&self, id: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    /// Every user, oldest first.
    async fn users(&self) -> StoreResult<Vec<UserRecord>>;
    async fn has_users(&self) -> StoreResult<bool>;
    /// Writes the fields `change` sets, and only those (a concurrent change of another field
    /// stands); returns the user as stored afterwards. When the user ends up disabled, or gets a
    /// new password hash, their sessions (but `keep_session`, a token hash) end in the same write.
    async fn update_user(
        &self,
        id: &str,
        change: &UserUpdate,
        keep_session: Option<&str>,
    ) -> StoreResult<Result<UserRecord, UserRefusal>>;
    /// Deletes the user with their sessions and API keys (their assets stay, still theirs).
    async fn delete_user(&self, id: &str) -> StoreResult<Result<(), UserRefusal>>;
}

/// Sessions, keyed by the token's hash; `expires_at` is the absolute end a TTL may enforce.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// The session with its user, read together (every session-authenticated request needs both);
    /// `None` when either is gone or the user's sessions were ended.
    async fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>>;
    async fn touch_session(&self, token_hash: &str, last_seen_at: i64) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Drops sessions past their expiry. Backends with a native TTL may do nothing.
    async fn purge_expired(&self, now: i64) -> StoreResult<()>;
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn create_api_key(&self, key: &ApiKeyRecord) -> StoreResult<Created>;
    async fn api_key(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>>;
    /// The owner's keys, newest first.
    async fn api_keys_of(&self, owner_id: &str) -> StoreResult<Vec<ApiKeyRecord>>;
    /// Sets `revoked_at` unless already set; returns the key as stored afterwards.
    async fn revoke_api_key(&self, key_id: &str, at: i64) -> StoreResult<Option<ApiKeyRecord>>;
    async fn touch_api_key(&self, key_id: &str, last_used_at: i64) -> StoreResult<()>;
}

/// Asset records: version-checked changes that move blobs on and off the garbage list in the same
/// write (see [`crate::gc`]).
#[async_trait]
pub trait AssetStore: Send + Sync {
    async fn asset(&self, public_id: &str) -> StoreResult<Option<AssetRecord>>;
    /// Creates the asset unless its public_id exists and, in the same write, takes its blob off
    /// the garbage list (the blob was listed before it was written).
    async fn create_asset(&self, asset: &AssetRecord) -> StoreResult<Created>;
    /// Creates each asset as [`Self::create_asset`] does, many per write where the backend can
    /// (seeding a benchmark's library); says for each whether it was created.
    async fn create_assets(&self, assets: &[AssetRecord]) -> StoreResult<Vec<Created>>;
    /// Replaces the asset if it still has `expected_version`: takes the new blob off the garbage
    /// list and puts the old one on it (due now), all in one write.
    async fn replace_asset(
        &self,
        asset: &AssetRecord,
        expected_version: i64,
        old_blob_id: &str,
    ) -> StoreResult<Swapped>;
    /// Sets tags, folder, visibility and `updated_at` (from `asset`) on the stored asset, leaving
    /// its content fields alone; returns the stored asset afterwards.
    async fn update_asset_meta(&self, asset: &AssetRecord) -> StoreResult<Option<AssetRecord>>;
    /// Deletes the asset if it still has `expected_version` and puts its blob on the garbage list.
    async fn delete_asset(
        &self,
        public_id: &str,
        expected_version: i64,
        blob_id: &str,
        now: i64,
    ) -> StoreResult<Swapped>;
    /// One page, newest first (`created_at`, then `public_id`, descending).
    async fn list_assets(&self, query: &AssetQuery) -> StoreResult<AssetPage>;
    /// Counts one stored variant of `bytes` of the version `asset` names (its public_id and
    /// blob_id): +1 `variants`, +`bytes` `derived_bytes` on the asset and on its owner's storage,
    /// in one conditional write, if the asset still has that blob and the variant fits `caps` (see
    /// [`VariantCaps::admit`]); else changes nothing and says why: [`VariantAdded::Gone`] when the
    /// version was replaced or deleted, [`VariantAdded::Full`] when it is current but full.
    async fn add_variant(&self, asset: &AssetRecord, bytes: u64, caps: VariantCaps) -> StoreResult<VariantAdded>;
}

/// Blobs that may be collected once due (see [`crate::gc`]).
#[async_trait]
pub trait GarbageStore: Send + Sync {
    async fn add_garbage(&self, blob_id: &str, due_at: i64) -> StoreResult<()>;
    async fn due_garbage(&self, now: i64, limit: usize) -> StoreResult<Vec<String>>;
    async fn remove_garbage(&self, blob_id: &str) -> StoreResult<()>;
}

/// Usage accounting (SPEC §10).
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds each entry to its owner's counters for its period, atomically (a batch of many requests).
    async fn add_traffic(&self, batch: &[Traffic]) -> StoreResult<()>;
    /// The counters of `period`, for one owner or for every owner.
    async fn traffic(&self, period: &str, owner_id: Option<&str>) -> StoreResult<Vec<Traffic>>;
    /// What each owner (or one owner) stores, from counters kept in the same write as every
    /// change of their assets; owners who store nothing are left out.
    async fn storage(&self, owner_id: Option<&str>) -> StoreResult<Vec<Storage>>;
    /// Sets the storage counters to what the asset records sum to (a repair, reading every
    /// record); returns the owners whose counters were off.
    async fn recount_storage(&self) -> StoreResult<Vec<StorageDrift>>;
}

/// The named transforms (SPEC §14).
#[async_trait]
pub trait PresetStore: Send + Sync {
    /// Every preset, by name.
    async fn presets(&self) -> StoreResult<Vec<PresetRecord>>;
    async fn preset(&self, name: &str) -> StoreResult<Option<PresetRecord>>;
    /// Creates the preset, or replaces its transform and `updated_at` keeping its `created_at`;
    /// returns the preset as stored and whether it was created.
    async fn put_preset(&self, preset: &PresetRecord) -> StoreResult<(PresetRecord, Created)>;
    /// Whether there was such a preset to delete.
    async fn delete_preset(&self, name: &str) -> StoreResult<bool>;
}

/// Every record concern together: what the app holds one of. Implemented by any store that
/// implements each part.
pub trait MetaStore:
    UserStore + SessionStore + ApiKeyStore + AssetStore + GarbageStore + UsageStore + PresetStore + 'static
{
}

impl<T> MetaStore for T where
    T: UserStore + SessionStore + ApiKeyStore + AssetStore + GarbageStore + UsageStore + PresetStore + 'static
{
}

/// Where an asset's original lives in the blob store.
pub fn original_key(blob_id: &str) -> String {
    format!("{}/original", asset_tree(blob_id))
}

/// Where an asset's master `name` lives (see `render::master`).
pub fn master_key(blob_id: &str, name: &str) -> String {
    format!("{}/master-{name}", asset_tree(blob_id))
}

/// Where a direct upload waits until it is registered (see `http::upload`); the bucket expires
/// what is left there after a day.
pub fn staging_key(upload_id: &str) -> String {
    format!("staging/{upload_id}")
}

/// The folder of everything stored for one version of an asset (original, master, variants).
pub fn asset_tree(blob_id: &str) -> String {
    format!("assets/{blob_id}")
}
