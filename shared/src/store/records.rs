//! The records the metadata store keeps. Times are unix milliseconds.

use crate::{
    domain::{Analysis, Point, Role, Subject, Visibility},
    media::Format,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub disabled: bool,
    pub password_hash: String,
    pub created_at: i64,
}

/// The fields of a user to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// `Some(None)` clears the name.
    pub name: Option<Option<String>>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

impl UserUpdate {
    /// `user` with this change applied.
    pub fn applied_to(&self, user: &UserRecord) -> UserRecord {
        let mut user = user.clone();
        if let Some(name) = &self.name {
            user.name = name.clone();
        }
        user.role = self.role.unwrap_or(user.role);
        user.disabled = self.disabled.unwrap_or(user.disabled);
        if let Some(hash) = &self.password_hash {
            user.password_hash = hash.clone();
        }
        user
    }

    /// Whether the change ends the user's sessions: a new password, or a disabled user.
    pub fn ends_sessions(&self, after: &UserRecord) -> bool {
        self.password_hash.is_some() || after.disabled
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute end of the session.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub owner_id: String,
    pub name: String,
    pub secret_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRecord {
    pub public_id: String,
    pub owner_id: String,
    pub folder: String,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    /// The original's format, as sniffed at upload.
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Whether the original may have transparent pixels (`f_auto` picks PNG over JPEG then).
    pub has_alpha: bool,
    /// Whether the masters `render::master::levels` names were stored beside the original.
    pub has_master: bool,
    /// Bytes stored beside the original for this version: masters and rendered variants.
    pub derived_bytes: u64,
    /// Rendered variants stored for this version (masters are not counted); 0 at every upload.
    pub variants: u64,
    pub bytes: u64,
    pub original_filename: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// 1 at the first upload, +1 at every overwrite.
    pub version: i64,
    /// Names the stored original (`assets/<blob_id>/original`) and everything derived from it.
    pub blob_id: String,
    /// Set by its owner (SPEC §14); cleared by an overwrite.
    pub focal_point: Option<Point>,
    /// What this version's upload found; `None` for versions stored before uploads looked.
    pub analysis: Option<Analysis>,
}

#[cfg(test)]
impl AssetRecord {
    /// An asset for unit tests: `p` of `u1`, one pixel, no tags, in the root folder.
    pub(crate) fn sample() -> Self {
        AssetRecord {
            public_id: "p".into(),
            owner_id: "u1".into(),
            folder: String::new(),
            tags: Vec::new(),
            visibility: Visibility::Public,
            format: Format::Png,
            width: 1,
            height: 1,
            has_alpha: false,
            has_master: false,
            derived_bytes: 0,
            variants: 0,
            bytes: 1,
            original_filename: None,
            created_at: 1,
            updated_at: 1,
            version: 1,
            blob_id: "b".into(),
            focal_point: None,
            analysis: None,
        }
    }
}

impl AssetRecord {
    /// What a crop with gravity needs of this asset.
    pub fn subject(&self) -> Subject {
        Subject {
            focal_point: self.focal_point,
            faces: self.analysis.as_ref().map(|a| a.faces.clone()).unwrap_or_default(),
        }
    }
}

/// The most one version of an asset may store beside its original (`IMGCLOUD_MAX_VARIANTS_PER_ASSET`,
/// `IMGCLOUD_MAX_VARIANT_BYTES_PER_ASSET`): past either, a variant is rendered but not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariantCaps {
    /// Stored variants.
    pub max_variants: u64,
    /// Derived bytes: the upload's masters and the stored variants together (what usage reports
    /// as `variant_bytes`).
    pub max_bytes: u64,
}

impl VariantCaps {
    /// Whether one more variant of `bytes` fits beside what `asset` stores.
    pub fn admit(&self, asset: &AssetRecord, bytes: u64) -> bool {
        asset.variants < self.max_variants && asset.derived_bytes.saturating_add(bytes) <= self.max_bytes
    }
}

/// What [`super::MetaStore::add_variant`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariantAdded {
    /// Counted: the variant stays.
    Stored,
    /// The version is current but one more variant would pass a cap: nothing was counted.
    Full,
    /// The asset was replaced or deleted (its version is gone): nothing was counted.
    Gone,
}

/// Filters of an asset listing; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetQuery {
    pub owner_id: Option<String>,
    pub folder: Option<String>,
    pub tag: Option<String>,
    pub visibility: Option<Visibility>,
    /// A public_id prefix.
    pub prefix: Option<String>,
    pub limit: usize,
    /// Continue after this position (exclusive).
    pub after: Option<AssetCursor>,
}

/// A position in the newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetCursor {
    pub created_at: i64,
    pub public_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetPage {
    pub assets: Vec<AssetRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<AssetCursor>,
}

/// Image bytes served for one owner in one period (`2026-11`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    pub owner_id: String,
    pub period: String,
    pub bandwidth_bytes: u64,
    pub requests: u64,
}

/// What one owner stores.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Storage {
    pub owner_id: String,
    pub asset_count: u64,
    pub original_bytes: u64,
    pub derived_bytes: u64,
}

/// An owner whose storage counters were not what their asset records sum to (see
/// [`super::UsageStore::recount_storage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageDrift {
    pub kept: Storage,
    pub counted: Storage,
}

impl StorageDrift {
    /// The owners on which `kept` and `counted` (each by owner id) differ; an owner missing from
    /// one counts as zero there.
    pub fn between(
        kept: std::collections::BTreeMap<String, Storage>,
        mut counted: std::collections::BTreeMap<String, Storage>,
    ) -> Vec<StorageDrift> {
        let zero = |owner: &str| Storage { owner_id: owner.to_owned(), ..Default::default() };
        let mut drift = Vec::new();
        for (owner, kept) in kept {
            let counted = counted.remove(&owner).unwrap_or_else(|| zero(&owner));
            if kept != counted {
                drift.push(StorageDrift { kept, counted });
            }
        }
        drift.extend(counted.into_values().map(|counted| StorageDrift { kept: zero(&counted.owner_id), counted }));
        drift.sort_by(|a, b| a.counted.owner_id.cmp(&b.counted.owner_id));
        drift
    }
}

/// A named transform (SPEC §14): `t_<name>` in a delivery URL stands for `transform`, stored in
/// canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetRecord {
    pub name: String,
    pub transform: String,
    pub created_at: i64,
    pub updated_at: i64,
}
