//! Signed delivery URLs (SPEC §7): made for one version of one asset, until an expiry; checked
//! on the path exactly as sent, before any other work of a delivery.

use crate::{
    app::App,
    clock::now_ms,
    error::{AppError, AppResult, ErrorCode},
    signing::MAX_TTL_SECONDS,
    store::AssetRecord,
};

/// A signed URL, as `POST /v1/image/sign` answers it.
pub struct SignedUrl {
    pub url: String,
    pub expires: i64,
}

/// The URL of `asset` (rendered by the canonical `transform`, or the original when empty), valid
/// for `ttl_seconds`. Bound to this version of this asset: no later asset under the same
/// public_id inherits it.
pub fn sign(app: &App, asset: &AssetRecord, transform: &str, ttl_seconds: i64) -> SignedUrl {
    let path = if transform.is_empty() {
        format!("/v1/image/{}", asset.public_id)
    } else {
        format!("/v1/image/{transform}/{}", asset.public_id)
    };
    let expires = now_ms() / 1000 + ttl_seconds;
    let revision = &asset.blob_id;
    let sig = app.signer.sign(&path, expires, Some(revision));
    SignedUrl { url: format!("{}{path}?expires={expires}&v={revision}&sig={sig}", app.config.public_url.base), expires }
}

/// What a valid signature says: until when, and for which revision of the asset (`None`: a
/// legacy signature, made before URLs named one).
#[derive(Debug)]
pub struct Signed {
    pub expires: i64,
    revision: Option<String>,
}

fn invalid_signature() -> AppError {
    ErrorCode::InvalidSignature.with("the URL's signature is invalid")
}

impl Signed {
    /// A signature serves only the asset it was made for. A legacy one names no revision: it is
    /// taken only as the API issued them, at most `MAX_TTL_SECONDS` before its expiry, and only for
    /// an asset whose content is older than that, so it was signed while this content existed.
    pub fn check_asset(&self, asset: &AssetRecord) -> AppResult<()> {
        let issued_after = self.expires - MAX_TTL_SECONDS;
        let bound = match &self.revision {
            Some(revision) => *revision == asset.blob_id,
            None => issued_after <= now_ms() / 1000 && asset.updated_at / 1000 <= issued_after,
        };
        if bound {
            Ok(())
        } else {
            Err(invalid_signature())
        }
    }
}

/// `?expires=<unix>[&v=<revision>]&sig=<sig>`: `None` when the URL is not signed, what it signs
/// when it is signed validly, 401 when it is signed otherwise (tampered, expired, malformed), 400
/// when a parameter is given twice. Other parameters are ignored: they are not part of what was
/// signed.
pub fn verify(app: &App, path: &str, query: Option<&str>) -> AppResult<Option<Signed>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|_| ErrorCode::InvalidQuery.with("the query string is malformed"))?;
    let one = |name: &str| -> AppResult<Option<&str>> {
        let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            _ => Err(ErrorCode::InvalidQuery.with(format!("{name} is given twice"))),
        }
    };
    let (expires, revision, sig) = (one("expires")?, one("v")?, one("sig")?);
    // `v` alone is a cache buster on an unsigned URL, as it always was.
    if expires.is_none() && sig.is_none() {
        return Ok(None);
    }
    let expires: i64 = expires.and_then(|e| e.parse().ok()).ok_or_else(invalid_signature)?;
    if !app.signer.verify(path, expires, revision, sig.unwrap_or_default()) {
        return Err(invalid_signature());
    }
    if expires < now_ms() / 1000 {
        return Err(ErrorCode::SignatureExpired.with("the signed URL has expired"));
    }
    Ok(Some(Signed { expires, revision: revision.map(str::to_owned) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{domain::Visibility, media::Format};

    #[test]
    fn a_legacy_signature_serves_only_content_older_than_any_url_it_could_be() {
        let now = now_ms() / 1000;
        let asset = |updated_at_s: i64| AssetRecord {
            public_id: "p".into(),
            owner_id: "u".into(),
            folder: String::new(),
            tags: Vec::new(),
            visibility: Visibility::Private,
            format: Format::Jpeg,
            width: 1,
            height: 1,
            has_alpha: false,
            has_master: false,
            derived_bytes: 0,
            variants: 0,
            bytes: 1,
            original_filename: None,
            created_at: 0,
            updated_at: updated_at_s * 1000,
            version: 1,
            blob_id: "b1".into(),
            focal_point: None,
            analysis: None,
        };
        let legacy = |expires| Signed { expires, revision: None };
        let week = MAX_TTL_SECONDS;
        assert!(legacy(now + 3600).check_asset(&asset(now - week - 3600)).is_ok(), "content older than the URL");
        assert!(legacy(now + 3600).check_asset(&asset(now - week + 7200)).is_err(), "content that may be younger");
        assert!(legacy(now + week + 60).check_asset(&asset(0)).is_err(), "a lifetime no API URL had");
        let bound = |v: &str| Signed { expires: now + 60, revision: Some(v.into()) };
        assert!(bound("b1").check_asset(&asset(now)).is_ok());
        assert!(bound("b2").check_asset(&asset(0)).is_err());
    }
}
