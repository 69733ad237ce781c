//! Rate-limit counters: fixed windows named by a limit and a key, in this process or shared by
//! every instance of a deployment (the DynamoDB store implements them too).

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_trait::async_trait;

use super::StoreResult;

/// Counters every instance of a deployment shares (DynamoDB's atomic `ADD` on TTL'd items): fixed
/// windows of `window`, named by `limit` and `key`.
#[async_trait]
pub trait SharedCounters: Send + Sync + 'static {
    /// Counts one hit in the window that holds `now_ms`; returns the window's hits so far and its
    /// end (unix ms).
    async fn hit(&self, limit: &str, key: &str, now_ms: i64, window: Duration) -> StoreResult<(u64, i64)>;
    /// Takes back one hit of the window that holds `now_ms` (none when that window has ended).
    async fn refund(&self, limit: &str, key: &str, now_ms: i64) -> StoreResult<()>;
}

/// [`SharedCounters`] in this process: exact for one server.
#[derive(Default)]
pub struct WindowCounters {
    /// `limit` NUL `key` → (hits, window end).
    windows: Mutex<HashMap<String, (u64, i64)>>,
}

impl WindowCounters {
    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, i64)>> {
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets ended windows, so that memory follows recent traffic.
    pub fn forget_ended(&self, now_ms: i64) {
        self.windows().retain(|_, (_, end)| *end > now_ms);
    }
}

#[async_trait]
impl SharedCounters for WindowCounters {
    async fn hit(&self, limit: &str, key: &str, now_ms: i64, window: Duration) -> StoreResult<(u64, i64)> {
        let mut windows = self.windows();
        let entry = windows.entry(format!("{limit}\0{key}")).or_insert((0, now_ms));
        if entry.1 <= now_ms {
            *entry = (0, now_ms + window.as_millis().max(1) as i64);
        }
        entry.0 += 1;
        Ok(*entry)
    }

    async fn refund(&self, limit: &str, key: &str, now_ms: i64) -> StoreResult<()> {
        if let Some((hits, end)) = self.windows().get_mut(&format!("{limit}\0{key}")) {
            if *end > now_ms {
                *hits = hits.saturating_sub(1);
            }
        }
        Ok(())
    }
}
