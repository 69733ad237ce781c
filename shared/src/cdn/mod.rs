//! The CDN in front of the delivery (SPEC §13). Every successful delivery names its asset in an
//! `xkey` header; an asset change that alters what its URLs answer (overwrite, delete, visibility)
//! purges every response the CDN keeps of it before the API answers. The purge itself is a
//! [`CdnPurge`] adapter: [`XkeyPurge`] for a Varnish with varnish-modules' xkey.

mod xkey;

use std::time::Duration;

use axum::http::HeaderName;
use sha2::{Digest, Sha256};

pub use xkey::XkeyPurge;

use crate::{app::App, secrets::hex, telemetry::metrics};

/// The header naming a delivery's asset, read by xkey (and removed by nothing: harmless to viewers).
pub const XKEY: HeaderName = HeaderName::from_static("xkey");

/// Attempts of one purge; the wait before each retry doubles from [`FIRST_RETRY`] (0.1 + 0.2 +
/// 0.4 s), so that a CDN restarting answers the last one and a dead one delays the API little.
const ATTEMPTS: u32 = 4;
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// What drops a CDN's cached responses by tag.
#[async_trait::async_trait]
pub trait CdnPurge: Send + Sync {
    /// Drops every cached response carrying `tag`; `Err` says why it did not.
    async fn purge(&self, tag: &str) -> Result<(), String>;
}

/// The tag of one asset's responses: the same for every response of that public_id (every
/// transform, format and version), and for no other asset's; hex, as xkey splits tags on spaces
/// and commas. A digest rather than the public_id itself, which may hold `,`.
pub fn asset_tag(public_id: &str) -> String {
    hex(&Sha256::digest(public_id.as_bytes())[..16])
}

/// Purges what the CDN keeps of `public_id`, if a CDN is configured, retrying with backoff. The
/// change itself stands whatever happens: a purge that keeps failing is logged and counted
/// (`imgcloud_cdn_purge_failures_total`), and the CDN serves the old responses until they expire.
pub async fn purge_asset(app: &App, public_id: &str) {
    let Some(cdn) = &app.cdn else { return };
    let tag = asset_tag(public_id);
    let mut wait = FIRST_RETRY;
    for attempt in 1..=ATTEMPTS {
        match cdn.purge(&tag).await {
            Ok(()) => return,
            Err(error) if attempt < ATTEMPTS => {
                tracing::warn!(public_id, attempt, %error, "CDN purge failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(error) => {
                tracing::error!(
                    public_id,
                    attempts = ATTEMPTS,
                    %error,
                    "CDN purge failed: the CDN may serve this asset's old responses until they expire"
                );
                metrics::purge_failed();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_asset_tag_is_one_hex_token_per_public_id() {
        let tag = asset_tag("marketing/hero,2");
        assert_eq!(tag.len(), 32);
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(tag, asset_tag("marketing/hero,2"));
        assert_ne!(tag, asset_tag("marketing/hero"));
    }
}
