//! The server's REST API as `import` and `export` use it: one HTTP client carrying the API key,
//! every call retried a bounded number of times on 429/503 (after `Retry-After`) and on broken
//! connections. Files go up and come down as streams, never whole in memory.

use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use futures_util::StreamExt;
use reqwest::{
    header::{HeaderValue, AUTHORIZATION, RETRY_AFTER},
    multipart::{Form, Part},
    Response, Url,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::TransferError;

/// Attempts of the first call, which tells a wrong URL from a server that is up (the others'
/// are [`TransferError::retry_wait`]'s).
const FIRST_CALL_ATTEMPTS: u32 = 3;
/// How long a retried upload holds its file back after the request's head (see [`file_body`]).
const HOLD: Duration = Duration::from_secs(1);
const PAGE: &str = "100";

/// Told of each retry: what is retried, why, and after how long.
pub type OnRetry = Box<dyn Fn(&str, &TransferError, Duration) + Send + Sync>;

pub struct Client {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    on_retry: OnRetry,
    /// Set once a call found no server even after its retries: the run stops starting new files.
    unreachable: AtomicBool,
}

/// One file to upload, with the fields of SPEC §3's upload form.
pub struct Upload {
    pub path: PathBuf,
    pub file_name: Option<String>,
    pub public_id: String,
    pub folder: Option<String>,
    pub tags: Vec<String>,
    pub visibility: Option<&'static str>,
    pub overwrite: bool,
}

/// What an upload came to, when the server answered as expected.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// 201, or 200 when it replaced the asset.
    Stored,
    /// 409 `already_exists`: the public_id is taken (and no `--overwrite`).
    Exists,
    /// 413 `file_too_large` (or a gateway's 413): past the server's upload limit.
    TooLarge,
    /// 404 `direct_upload_unavailable`: this server takes no direct uploads.
    NoDirectUploads,
}

/// One page of `GET /v1/assets`.
#[derive(Deserialize)]
pub struct Page {
    pub assets: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// `POST /v1/uploads`' presigned form.
#[derive(Deserialize)]
struct DirectForm {
    upload_id: String,
    url: String,
    fields: serde_json::Map<String, Value>,
    max_bytes: u64,
}

impl Client {
    /// Checks the URL and the key's shape; nothing is sent yet.
    pub fn new(url: &str, key: &str, on_retry: OnRetry) -> Result<Self, TransferError> {
        let base = Url::parse(url.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| TransferError::Usage(format!("--url {url:?} is not an http:// or https:// URL")))?;
        let key = key.trim();
        if !key.split_once(':').is_some_and(|(id, secret)| !id.is_empty() && !secret.is_empty()) {
            return Err(TransferError::Usage("--key must be KEY_ID:KEY_SECRET (ck_…:cs_…)".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("ApiKey {key}"))
            .map_err(|_| TransferError::Usage("--key has characters a header cannot carry".into()))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(concat!("imgcloud/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| TransferError::Usage(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self { http, base, auth, on_retry, unreachable: AtomicBool::new(false) })
    }

    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// Whether a call found no server, after its retries.
    pub fn unreachable(&self) -> bool {
        self.unreachable.load(Ordering::Relaxed)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// `GET /v1/auth/me`: the server is there and takes the key. Both failures are the run's.
    pub async fn check_key(&self) -> Result<(), TransferError> {
        let me = || async {
            let response = self.http.get(self.url("/v1/auth/me")).header(AUTHORIZATION, &self.auth).send().await?;
            ok(response).await.map(drop)
        };
        match self.attempts(FIRST_CALL_ATTEMPTS, "GET /v1/auth/me", me).await {
            Ok(()) => Ok(()),
            Err(TransferError::Transport(e)) => Err(TransferError::Unreachable {
                url: self.base().to_owned(),
                cause: TransferError::Transport(e).to_string(),
            }),
            Err(e @ TransferError::Refused { status: 401 | 403, .. }) => {
                Err(TransferError::Usage(format!("the server refused the key: {e}")))
            }
            Err(e) => Err(TransferError::Usage(format!("{} does not answer as an img-cloud server: {e}", self.base()))),
        }
    }

    /// One page of the assets the key may see, newest first; `prefix` narrows them to public_ids
    /// starting with it.
    pub async fn list_assets(&self, prefix: &str, cursor: Option<&str>) -> Result<Page, TransferError> {
        let mut query = vec![("limit", PAGE)];
        if !prefix.is_empty() {
            query.push(("q", prefix));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        let list = || async {
            let request = self.http.get(self.url("/v1/assets")).query(&query).header(AUTHORIZATION, &self.auth);
            let page = ok(request.send().await?).await?.json::<Page>().await?;
            Ok(page)
        };
        self.retrying("GET /v1/assets", list).await
    }

    /// `POST /v1/upload` with the file streamed from disk.
    pub async fn upload(&self, upload: &Upload) -> Result<Sent, TransferError> {
        let broke = AtomicBool::new(false);
        let send = || async {
            let hold = if broke.load(Ordering::Relaxed) { HOLD } else { Duration::ZERO };
            // The file first: a server that refuses by the head alone has read everything sent
            // before the file's bytes (see `file_body`).
            let mut form = Form::new().part("file", file_part(upload, hold).await?);
            form = form.text("public_id", upload.public_id.clone());
            if let Some(folder) = &upload.folder {
                form = form.text("folder", folder.clone());
            }
            if !upload.tags.is_empty() {
                form = form.text("tags", upload.tags.join(","));
            }
            if let Some(visibility) = upload.visibility {
                form = form.text("visibility", visibility);
            }
            if upload.overwrite {
                form = form.text("overwrite", "true");
            }
            let request = self.http.post(self.url("/v1/upload")).header(AUTHORIZATION, &self.auth).multipart(form);
            let response = request.send().await.inspect_err(|_| broke.store(true, Ordering::Relaxed))?;
            sent(response).await
        };
        self.retrying(&format!("the upload of {}", upload.public_id), send).await
    }

    /// A direct upload (`POST /v1/uploads`, the presigned form to the store, then `…/complete`):
    /// the way past the upload limit of `POST /v1/upload`, where the server offers it.
    pub async fn direct_upload(&self, upload: &Upload, size: u64) -> Result<Sent, TransferError> {
        let start = || async {
            let response = self.http.post(self.url("/v1/uploads")).header(AUTHORIZATION, &self.auth).send().await?;
            Ok(ok(response).await?.json::<DirectForm>().await?)
        };
        let form = match self.retrying("POST /v1/uploads", start).await {
            Ok(form) => form,
            Err(e) if e.code() == "direct_upload_unavailable" => return Ok(Sent::NoDirectUploads),
            Err(e) => return Err(e),
        };
        if size > form.max_bytes {
            return Err(TransferError::File(format!(
                "the file ({size} bytes) is larger than the server's upload limit ({} bytes)",
                form.max_bytes
            )));
        }
        let to_store = || async {
            let mut multipart = Form::new();
            for (name, value) in &form.fields {
                multipart = multipart.text(name.clone(), value.as_str().unwrap_or_default().to_owned());
            }
            // The store takes the fields before the file.
            let multipart = multipart.part("file", file_part(upload, Duration::ZERO).await?);
            ok(self.http.post(&form.url).multipart(multipart).send().await?).await.map(drop)
        };
        self.retrying(&format!("the direct upload of {}", upload.public_id), to_store).await?;
        // The same fields as the form; null is an absent field.
        let registration = json!({
            "public_id": upload.public_id,
            "folder": upload.folder,
            "tags": (!upload.tags.is_empty()).then_some(&upload.tags),
            "visibility": upload.visibility,
            "overwrite": upload.overwrite,
            "filename": upload.file_name,
        });
        let path = format!("/v1/uploads/{}/complete", form.upload_id);
        let complete = || async {
            let request = self.http.post(self.url(&path)).header(AUTHORIZATION, &self.auth).json(&registration);
            sent(request.send().await?).await
        };
        self.retrying(&format!("the registration of {}", upload.public_id), complete).await
    }

    /// `GET /v1/image/<public_id>` (the original, with the key's credentials for private assets)
    /// streamed into `to`, synced; returns its length.
    pub async fn download(&self, public_id: &str, to: &Path) -> Result<u64, TransferError> {
        let url = self.url(&format!("/v1/image/{public_id}"));
        let fetch = || async {
            let mut response = ok(self.http.get(&url).header(AUTHORIZATION, &self.auth).send().await?).await?;
            let mut file = tokio::fs::File::create(to).await.map_err(TransferError::io(to))?;
            let mut written = 0;
            while let Some(chunk) = response.chunk().await? {
                file.write_all(&chunk).await.map_err(TransferError::io(to))?;
                written += chunk.len() as u64;
            }
            file.sync_all().await.map_err(TransferError::io(to))?;
            Ok(written)
        };
        self.retrying(&format!("the download of {public_id}"), fetch).await
    }

    async fn retrying<T, F, Fut>(&self, what: &str, op: F) -> Result<T, TransferError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransferError>>,
    {
        self.attempts(u32::MAX, what, op).await
    }

    /// Runs `op` until it succeeds, fails for good, or has run `attempts` times.
    async fn attempts<T, F, Fut>(&self, attempts: u32, what: &str, mut op: F) -> Result<T, TransferError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransferError>>,
    {
        let mut attempt = 1;
        loop {
            let error = match op().await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            match error.retry_wait(attempt).filter(|_| attempt < attempts) {
                Some(wait) => {
                    // Up to half again, so that the clients one answer held back do not all come
                    // back at the same instant.
                    let wait = wait.mul_f64(1.0 + jitter() / 2.0);
                    (self.on_retry)(what, &error, wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => {
                    if matches!(&error, TransferError::Transport(e) if e.is_connect()) {
                        self.unreachable.store(true, Ordering::Relaxed);
                    }
                    return Err(error);
                }
            }
        }
    }
}

/// A number in [0, 1), different at each call (std's hasher keys are random).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    (random >> 11) as f64 / (1u64 << 53) as f64
}

/// The file as a streamed part of its current length.
async fn file_part(upload: &Upload, hold: Duration) -> Result<Part, TransferError> {
    let file = tokio::fs::File::open(&upload.path).await.map_err(TransferError::io(&upload.path))?;
    let length = file.metadata().await.map_err(TransferError::io(&upload.path))?.len();
    let part = Part::stream_with_length(file_body(file, hold), length);
    Ok(match &upload.file_name {
        Some(name) => part.file_name(name.clone()),
        None => part,
    })
}

/// The file's bytes, `hold` after the body starts.
///
/// A server that refuses an upload by its head (413 by `Content-Length`, 429, 503) answers and
/// closes at once; while the client is still sending, the close resets the connection and the
/// answer is often lost to a broken pipe. A retry after a broken connection holds the file back
/// for a moment, so that such an answer arrives before there is anything unread to reset the
/// connection with.
fn file_body(file: tokio::fs::File, hold: Duration) -> reqwest::Body {
    if hold.is_zero() {
        return reqwest::Body::from(file);
    }
    let wait = futures_util::stream::once(tokio::time::sleep(hold))
        .filter_map(|()| std::future::ready(None::<std::io::Result<bytes::Bytes>>));
    reqwest::Body::wrap_stream(wait.chain(tokio_util::io::ReaderStream::new(file)))
}

/// The response if it is a success, else the refusal it carries.
async fn ok(response: Response) -> Result<Response, TransferError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(refusal(response).await)
    }
}

/// An upload's or a registration's answer.
async fn sent(response: Response) -> Result<Sent, TransferError> {
    if response.status().is_success() {
        return Ok(Sent::Stored);
    }
    match refusal(response).await {
        e if e.status() == Some(409) && e.code() == "already_exists" => Ok(Sent::Exists),
        e if e.status() == Some(413) && matches!(e.code(), "file_too_large" | "") => Ok(Sent::TooLarge),
        e => Err(e),
    }
}

/// A non-success answer: its status, and SPEC §8's `code` and `error` when the body is ours (a
/// proxy's or a store's answer keeps the start of its body as the message).
async fn refusal(response: Response) -> TransferError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    let message = match body["error"].as_str().or(body["message"].as_str()) {
        Some(message) => message.to_owned(),
        None if text.trim().is_empty() => status.canonical_reason().unwrap_or("no message").to_owned(),
        None => text.chars().take(200).collect(),
    };
    // One line per failure, whatever the message holds.
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    TransferError::Refused { status: status.as_u16(), code, message, retry_after }
}
