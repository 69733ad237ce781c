//! The JSON shapes of SPEC §3: what a user, an API key and an asset look like on the wire.

use serde_json::{json, Value};

use crate::{
    clock::rfc3339,
    config::Config,
    store::{ApiKeyRecord, AssetRecord, PresetRecord, UserRecord},
};

/// `{id, email, name, role, disabled, created_at}`: never a hash.
pub fn user(u: &UserRecord) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "role": u.role.as_str(),
        "disabled": u.disabled,
        "created_at": rfc3339(u.created_at),
    })
}

/// A key without its secret.
pub fn api_key(k: &ApiKeyRecord) -> Value {
    json!({
        "key_id": k.key_id,
        "name": k.name,
        "owner_id": k.owner_id,
        "created_at": rfc3339(k.created_at),
        "last_used_at": k.last_used_at.map(rfc3339),
        "revoked_at": k.revoked_at.map(rfc3339),
    })
}

pub fn asset(config: &Config, a: &AssetRecord) -> Value {
    json!({
        "public_id": a.public_id,
        "url": format!("{}/v1/image/{}", config.public_url.base, a.public_id),
        "folder": a.folder,
        "tags": a.tags,
        "visibility": a.visibility.as_str(),
        "format": a.format.name(),
        "width": a.width,
        "height": a.height,
        "bytes": a.bytes,
        "content_type": a.format.content_type(),
        "owner_id": a.owner_id,
        "original_filename": a.original_filename,
        "created_at": rfc3339(a.created_at),
        "updated_at": rfc3339(a.updated_at),
        "version": a.version,
        // Names this version's content, never reused; signed URLs are bound to it.
        "revision": a.blob_id,
        "focal_point": a.focal_point,
        "faces": a.analysis.as_ref().map_or(&[][..], |x| &x.faces),
        "thumbhash": a.analysis.as_ref().map(|x| &x.thumbhash),
        "dominant_color": a.analysis.as_ref().map(|x| &x.dominant_color),
    })
}

/// `{name, transform, created_at, updated_at}` (SPEC §14).
pub fn preset(p: &PresetRecord) -> Value {
    json!({
        "name": p.name,
        "transform": p.transform,
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
    })
}
