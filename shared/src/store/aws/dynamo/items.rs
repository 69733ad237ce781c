//! Items and their attributes: each record as the item that holds it, and back; a missing or
//! mangled attribute is an error (`corrupt`), never a default.

use super::*;

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError { backend: "dynamodb", message: format!("item without a valid {what}") }
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn get_s(item: &Item, name: &str) -> StoreResult<String> {
    opt_s(item, name).ok_or_else(|| corrupt(name))
}

pub(super) fn opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn get_n<T: FromStr>(item: &Item, name: &str) -> StoreResult<T> {
    opt_n(item, name).ok_or_else(|| corrupt(name))
}

pub(super) fn opt_n<T: FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

pub(super) fn get_bool(item: &Item, name: &str) -> StoreResult<bool> {
    item.get(name).and_then(|v| v.as_bool().ok()).copied().ok_or_else(|| corrupt(name))
}

/// A string attribute as one of our values; an item that holds anything else is corrupt and reads
/// as an error, never as a default.
pub(super) fn get_parsed<T, E>(item: &Item, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> StoreResult<T> {
    parse(&get_s(item, name)?).map_err(|_| corrupt(name))
}

pub(super) fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

pub(super) fn user_item(u: &UserRecord, epoch: i64) -> Item {
    let mut item = keys::user(&u.id);
    item.extend([
        ("id".to_owned(), s(&u.id)),
        ("email".to_owned(), s(&u.email)),
        ("role".to_owned(), s(u.role.as_str())),
        ("disabled".to_owned(), AttributeValue::Bool(u.disabled)),
        ("password_hash".to_owned(), s(&u.password_hash)),
        ("created_at".to_owned(), n(u.created_at)),
        ("session_epoch".to_owned(), n(epoch)),
    ]);
    item.extend(Partition::Users.entry(sort_key(u.created_at, &u.id)));
    if let Some(name) = &u.name {
        item.insert("name".to_owned(), s(name));
    }
    item
}

pub(super) fn user_from(item: &Item) -> StoreResult<(UserRecord, i64)> {
    let user = UserRecord {
        id: get_s(item, "id")?,
        email: get_s(item, "email")?,
        name: opt_s(item, "name"),
        role: get_parsed(item, "role", Role::parse)?,
        disabled: get_bool(item, "disabled")?,
        password_hash: get_s(item, "password_hash")?,
        created_at: get_n(item, "created_at")?,
    };
    Ok((user, opt_n(item, "session_epoch").unwrap_or(0)))
}

pub(super) fn enabled_admin(u: &UserRecord) -> bool {
    u.role == Role::Admin && !u.disabled
}

pub(super) fn api_key_item(k: &ApiKeyRecord) -> Item {
    let mut item = keys::api_key(&k.key_id);
    item.extend([
        ("key_id".to_owned(), s(&k.key_id)),
        ("owner_id".to_owned(), s(&k.owner_id)),
        ("name".to_owned(), s(&k.name)),
        ("secret_hash".to_owned(), s(&k.secret_hash)),
        ("created_at".to_owned(), n(k.created_at)),
    ]);
    item.extend(Partition::KeysOf(&k.owner_id).entry(sort_key(k.created_at, &k.key_id)));
    if let Some(t) = k.last_used_at {
        item.insert("last_used_at".to_owned(), n(t));
    }
    if let Some(t) = k.revoked_at {
        item.insert("revoked_at".to_owned(), n(t));
    }
    item
}

pub(super) fn api_key_from(item: &Item) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        key_id: get_s(item, "key_id")?,
        owner_id: get_s(item, "owner_id")?,
        name: get_s(item, "name")?,
        secret_hash: get_s(item, "secret_hash")?,
        created_at: get_n(item, "created_at")?,
        last_used_at: opt_n(item, "last_used_at"),
        revoked_at: opt_n(item, "revoked_at"),
    })
}

/// An asset's item. Listings read its entries ([`entry_items`]), so that the counts a render
/// changes on the asset touch no index.
pub(super) fn asset_item(a: &AssetRecord) -> Item {
    let mut item = keys::asset(&a.public_id);
    item.extend([
        ("public_id".to_owned(), s(&a.public_id)),
        ("owner_id".to_owned(), s(&a.owner_id)),
        ("folder".to_owned(), s(&a.folder)),
        ("tags".to_owned(), AttributeValue::L(a.tags.iter().map(s).collect())),
        ("visibility".to_owned(), s(a.visibility.as_str())),
        ("format".to_owned(), s(a.format.name())),
        ("width".to_owned(), n(a.width)),
        ("height".to_owned(), n(a.height)),
        ("has_alpha".to_owned(), AttributeValue::Bool(a.has_alpha)),
        ("has_master".to_owned(), AttributeValue::Bool(a.has_master)),
        ("derived_bytes".to_owned(), n(a.derived_bytes)),
        ("variants".to_owned(), n(a.variants)),
        ("bytes".to_owned(), n(a.bytes)),
        ("created_at".to_owned(), n(a.created_at)),
        ("updated_at".to_owned(), n(a.updated_at)),
        ("version".to_owned(), n(a.version)),
        ("blob_id".to_owned(), s(&a.blob_id)),
    ]);
    if let Some(f) = &a.original_filename {
        item.insert("original_filename".to_owned(), s(f));
    }
    if let Some(point) = json_attribute(a.focal_point.as_ref()) {
        item.insert("focal_point".to_owned(), point);
    }
    if let Some(analysis) = json_attribute(a.analysis.as_ref()) {
        item.insert("analysis".to_owned(), analysis);
    }
    item
}

/// The listing entries of `a` by name (see `store::listing`): one per facet, in the facet's
/// partition across owners (GSI1) and within the owner (GSI2), newest first, and one in the order
/// of public_ids (GSI1 `IDS`). Each carries the fields a listing filter checks.
pub(super) fn entry_items(a: &AssetRecord) -> Vec<(String, Item)> {
    let order = sort_key(a.created_at, &a.public_id);
    let fields = |name: &str| {
        let mut item = keys::entry(&a.public_id, name);
        item.extend([
            ("public_id".to_owned(), s(&a.public_id)),
            ("owner_id".to_owned(), s(&a.owner_id)),
            ("folder".to_owned(), s(&a.folder)),
            ("tags".to_owned(), AttributeValue::L(a.tags.iter().map(s).collect())),
            ("visibility".to_owned(), s(a.visibility.as_str())),
            ("created_at".to_owned(), n(a.created_at)),
        ]);
        item
    };
    let mut entries: Vec<(String, Item)> = crate::store::listing::entries(a)
        .into_iter()
        .map(|entry| {
            let mut item = fields(&entry.across);
            item.extend(Partition::Facet(&entry.across).entry(order.clone()));
            item.extend(Partition::OwnFacet(&entry.within).entry(order.clone()));
            (entry.across, item)
        })
        .collect();
    let mut ids = fields(keys::IDS_ENTRY);
    ids.extend(Partition::Ids.entry(a.public_id.clone()));
    entries.push((keys::IDS_ENTRY.to_owned(), ids));
    entries
}

/// The position of an entry in the newest-first order.
pub(super) fn entry_position(item: &Item) -> StoreResult<AssetCursor> {
    Ok(AssetCursor { created_at: get_n(item, "created_at")?, public_id: get_s(item, "public_id")? })
}

/// A value as a JSON string attribute.
pub(super) fn json_attribute<T: serde::Serialize>(value: Option<&T>) -> Option<AttributeValue> {
    value.and_then(|v| serde_json::to_string(v).ok()).map(s)
}

/// A JSON string attribute, absent on items written before it existed.
fn opt_json<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> StoreResult<Option<T>> {
    opt_s(item, name).map(|json| serde_json::from_str(&json).map_err(|_| corrupt(name))).transpose()
}

pub(super) fn asset_from(item: &Item) -> StoreResult<AssetRecord> {
    let tags = match item.get("tags") {
        Some(AttributeValue::L(list)) => list.iter().map(|v| v.as_s().cloned().map_err(|_| corrupt("tags"))).collect(),
        _ => Err(corrupt("tags")),
    }?;
    Ok(AssetRecord {
        public_id: get_s(item, "public_id")?,
        owner_id: get_s(item, "owner_id")?,
        folder: get_s(item, "folder")?,
        tags,
        visibility: get_parsed(item, "visibility", Visibility::parse)?,
        format: get_parsed(item, "format", |name| Format::from_name(name).ok_or(()))?,
        width: get_n(item, "width")?,
        height: get_n(item, "height")?,
        has_alpha: get_bool(item, "has_alpha")?,
        has_master: get_bool(item, "has_master")?,
        derived_bytes: get_n(item, "derived_bytes")?,
        // Absent on items written before variants were counted.
        variants: opt_n(item, "variants").unwrap_or(0),
        bytes: get_n(item, "bytes")?,
        original_filename: opt_s(item, "original_filename"),
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
        version: get_n(item, "version")?,
        blob_id: get_s(item, "blob_id")?,
        focal_point: opt_json(item, "focal_point")?,
        analysis: opt_json(item, "analysis")?,
    })
}

pub(super) fn garbage_item(blob_id: &str, due_at: i64) -> Item {
    let mut item = keys::garbage(blob_id);
    item.extend([("blob_id".to_owned(), s(blob_id)), ("due_at".to_owned(), n(due_at))]);
    item.extend(Partition::Garbage.entry(sort_key(due_at, blob_id)));
    item
}
