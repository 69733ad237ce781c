//! The purge of a Varnish running `infra/varnish/imgcloud.vcl`: `PURGE /` with the tag in
//! `xkey-purge`, which the VCL hands to varnish-modules' `xkey.purge` (200 with the count).

use std::time::Duration;

use axum::http::{Method, Request, Uri};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};

use super::CdnPurge;

/// The longest one purge request may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(2);

pub struct XkeyPurge {
    url: Uri,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl XkeyPurge {
    /// Purges through the Varnish at `url` (`IMGCLOUD_PURGE_URL`, checked to be `http://`).
    pub fn new(url: Uri) -> Self {
        Self { url, client: Client::builder(TokioExecutor::new()).build_http() }
    }
}

#[async_trait::async_trait]
impl CdnPurge for XkeyPurge {
    async fn purge(&self, tag: &str) -> Result<(), String> {
        let request = Request::builder()
            .method(Method::from_bytes(b"PURGE").expect("a valid method"))
            .uri(self.url.clone())
            .header("xkey-purge", tag)
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("{} did not answer in {} s", self.url, TIMEOUT.as_secs()))?
            .map_err(|e| format!("{}: {e}", self.url))?;
        match response.status() {
            s if s.is_success() => Ok(()),
            s => Err(format!("{} answered {s}", self.url)),
        }
    }
}
