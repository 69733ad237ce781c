//! Signed delivery URLs (SPEC §7, docs/SIGNED-URLS.md): `sig` = unpadded base64url of
//! HMAC-SHA256(secret, `<path>?expires=<unix>&v=<revision>`), where `<path>` is the request path
//! exactly as sent (`/v1/image/w_1200,q_80/private/contract-001`) and `<revision>` names the
//! asset's content at signing time (new at every upload and overwrite), so that a signature never
//! carries over to a later asset under the same public_id. Legacy signatures have no `&v=` part;
//! the delivery decides where they are still safe. Compared in constant time.

use std::path::Path;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET_FILE: &str = "signing.key";
const MIN_SECRET_BYTES: usize = 16;
/// The longest a signed URL may live (SPEC §7).
pub const MAX_TTL_SECONDS: i64 = 604_800;

pub struct Signer {
    key: Vec<u8>,
    /// Earlier keys (`IMGCLOUD_PREVIOUS_SIGNING_SECRETS`): accepted when verifying, never used to
    /// sign, so that URLs signed before a rotation work until they expire.
    previous: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { key: <secret> }")
    }
}

impl Signer {
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!("must be at least {MIN_SECRET_BYTES} bytes"));
        }
        Ok(Self { key: secret.to_vec(), previous: Vec::new() })
    }

    /// This signer, also accepting signatures made with `previous` keys (checked as secrets by
    /// the configuration).
    pub fn accepting<'a>(mut self, previous: impl IntoIterator<Item = &'a [u8]>) -> Self {
        self.previous = previous.into_iter().map(<[u8]>::to_vec).collect();
        self
    }

    /// The secret kept in `dir`, made (32 random bytes, readable by the owner only) on first use.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(secret) => Self::new(secret.trim().as_bytes()).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = crate::secrets::random_token(32);
                let tmp = dir.join(format!("{SECRET_FILE}.tmp"));
                {
                    use std::{io::Write, os::unix::fs::OpenOptionsExt};
                    let mut file =
                        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
                    file.write_all(secret.as_bytes())?;
                    file.sync_all()?;
                }
                std::fs::rename(&tmp, &path)?;
                Self::new(secret.as_bytes()).map_err(std::io::Error::other)
            }
            Err(e) => Err(e),
        }
    }

    fn mac(key: &[u8], path: &str, expires: i64, revision: Option<&str>) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(format!("{path}?expires={expires}").as_bytes());
        if let Some(revision) = revision {
            mac.update(format!("&v={revision}").as_bytes());
        }
        mac
    }

    /// The signature of `path` until `expires` for the asset's `revision` (`None`: a legacy one).
    pub fn sign(&self, path: &str, expires: i64, revision: Option<&str>) -> String {
        URL_SAFE_NO_PAD.encode(Self::mac(&self.key, path, expires, revision).finalize().into_bytes())
    }

    /// Whether `sig` signs `path` until `expires` for `revision`, by the current key or a
    /// previous one (the expiry, and whether the revision is the asset's, are the caller's to check).
    pub fn verify(&self, path: &str, expires: i64, revision: Option<&str>, sig: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(sig) {
            Ok(raw) if raw.len() == 32 => std::iter::once(&self.key)
                .chain(&self.previous)
                .any(|key| Self::mac(key, path, expires, revision).verify_slice(&raw).is_ok()),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED_EXAMPLE: &str = "BXDl-rixgHNAOEAFxAz8l01DrRYRXvj58UDtMwfiRxw";

    /// The worked examples of docs/SIGNED-URLS.md: anyone with the secret can sign offline.
    #[test]
    fn matches_the_documented_examples() {
        let signer = Signer::new(b"an-example-signing-secret-of-32b").unwrap();
        let path = "/v1/image/w_1200,q_80/private/contract-001";
        let revision = Some("0123456789abcdef0123456789abcdef");
        let sig = signer.sign(path, 1_800_000_000, revision);
        assert_eq!(sig, SIGNED_EXAMPLE);
        assert!(signer.verify(path, 1_800_000_000, revision, &sig));
        assert!(!signer.verify(path, 1_800_000_000, Some("0123456789abcdef0123456789abcdee"), &sig));
        assert!(!signer.verify(path, 1_800_000_000, None, &sig), "a v2 signature is no legacy one");
        let legacy = signer.sign(path, 1_800_000_000, None);
        assert_eq!(legacy, "viiq07a1fAa85ZjoREvHDnoYqV_xGhogR3k4myE0Ykw");
        assert!(!signer.verify(path, 1_800_000_000, revision, &legacy));
    }

    #[test]
    fn a_signature_covers_exactly_its_path_and_expiry() {
        let signer = Signer::new(b"0123456789abcdef0123456789abcdef").unwrap();
        let v = Some("r1");
        let sig = signer.sign("/v1/image/w_100/a", 100, v);
        assert!(signer.verify("/v1/image/w_100/a", 100, v, &sig));
        assert!(!signer.verify("/v1/image/w_101/a", 100, v, &sig));
        assert!(!signer.verify("/v1/image/w_100/A", 100, v, &sig));
        assert!(!signer.verify("/v1/image/w_100/a/", 100, v, &sig));
        assert!(!signer.verify("/v1/image/w_100/a", 101, v, &sig));
        assert!(!signer.verify("/v1/image/w_100/a", 100, Some("r2"), &sig));
        assert!(!signer.verify("/v1/image/w_100/a", 100, v, &sig[..sig.len() - 1]));
        assert!(!signer.verify("/v1/image/w_100/a", 100, v, "not base64!"));
        assert!(!signer.verify("/v1/image/w_100/a", 100, v, &format!("{sig}=")));
        assert!(Signer::new(b"short").is_err());
    }

    #[test]
    fn previous_keys_verify_and_never_sign() {
        let (old, new) = (b"the-signing-key-before-rotation", b"the-signing-key-after-rotation!");
        let before = Signer::new(old).unwrap().sign("/v1/image/a", 100, Some("r"));
        let rotated = Signer::new(new).unwrap().accepting([&old[..]]);
        assert!(rotated.verify("/v1/image/a", 100, Some("r"), &before));
        assert!(!rotated.verify("/v1/image/b", 100, Some("r"), &before), "still bound to its path");
        assert_eq!(
            rotated.sign("/v1/image/a", 100, Some("r")),
            Signer::new(new).unwrap().sign("/v1/image/a", 100, Some("r"))
        );
        assert!(!Signer::new(new).unwrap().verify("/v1/image/a", 100, Some("r"), &before), "a removed key fails");
    }
}
