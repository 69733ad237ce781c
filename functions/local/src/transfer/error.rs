//! The one error of `import` and `export`: what went wrong with one file, or with the whole run.

use std::{path::PathBuf, time::Duration};

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// A bad argument or setting, or a key the server refuses: the run does not start (exit 2).
    #[error("{0}")]
    Usage(String),
    /// No connection to the server, after the retries: the run stops (exit 2).
    #[error("cannot reach {url}: {cause}")]
    Unreachable { url: String, cause: String },
    /// The server (or the store of a direct upload) answered with an error: its status, its `code`
    /// (SPEC §8; empty when the answer was not ours) and its message.
    #[error("{status} {code}: {message}")]
    Refused { status: u16, code: String, message: String, retry_after: Option<Duration> },
    /// The connection failed or broke off.
    #[error("{}", chain(.0))]
    Transport(#[from] reqwest::Error),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// What keeps one file from being transferred, in a sentence.
    #[error("{0}")]
    File(String),
}

/// Waits between attempts, when the server named none: 0.5 s, 1 s, 2 s, 4 s, …
const BACKOFF: Duration = Duration::from_millis(500);
/// Attempts of a call whose connection fails (the first included): about 7.5 s of waiting.
const CONNECTION_ATTEMPTS: u32 = 5;
/// Attempts of a call the server asks to repeat later (429, 503): a server that is there and
/// busy, or limiting this key, is waited for longer.
const BUSY_ATTEMPTS: u32 = 10;
/// The longest `Retry-After` honoured; a longer one is waited for this long.
const MAX_WAIT: Duration = Duration::from_secs(60);

impl TransferError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TransferError {
        let path = path.into();
        move |source| TransferError::Io { path, source }
    }

    /// How long to wait after attempt `attempt` (from 1) before the next, when another may
    /// succeed: 429 and 503 (and a gateway's 502 and 504) after their `Retry-After`, a broken
    /// connection after a backoff, each a bounded number of times. `None`: the answer stands.
    pub fn retry_wait(&self, attempt: u32) -> Option<Duration> {
        let backoff = (BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1))).min(MAX_WAIT);
        match self {
            TransferError::Refused { status: 429 | 502 | 503 | 504, retry_after, .. } if attempt < BUSY_ATTEMPTS => {
                Some(retry_after.unwrap_or(backoff).min(MAX_WAIT))
            }
            TransferError::Transport(e) if !e.is_builder() && !e.is_redirect() && attempt < CONNECTION_ATTEMPTS => {
                Some(backoff)
            }
            _ => None,
        }
    }

    /// The `code` of a refusal, else `""`.
    pub fn code(&self) -> &str {
        match self {
            TransferError::Refused { code, .. } => code,
            _ => "",
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            TransferError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// reqwest's message and its causes ("error sending request …: connection refused").
fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
