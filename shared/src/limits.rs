//! Rate limits (SPEC §9), each a GCRA (`governor`) keyed by who is asking: failed logins per email
//! and per client IP, API calls and uploads per principal, uncached renders per client IP. A
//! refusal carries the seconds until the next request would pass (`Retry-After`).
//!
//! These limiters live in the process: exact for the local server; in the AWS shape each Lambda
//! instance keeps its own, so the same design moves to atomic, TTL'd counters in the metadata store.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota, RateLimiter,
};

use crate::{
    clock::now_ms,
    error::{AppError, Kind},
    store::StoreResult,
};

/// Counters every instance of a deployment shares (DynamoDB's atomic `ADD` on TTL'd items): fixed
/// windows of `window`, named by `limit` and `key`.
#[async_trait]
pub trait SharedCounters: Send + Sync + 'static {
    /// Counts one hit in the window that holds `now_ms`; returns the window's hits so far and its
    /// end (unix ms).
    async fn hit(&self, limit: &str, key: &str, now_ms: i64, window: Duration) -> StoreResult<(u64, i64)>;
    /// The hits of the window that holds `now_ms`, and its end.
    async fn hits(&self, limit: &str, key: &str, now_ms: i64, window: Duration) -> StoreResult<(u64, i64)>;
}

fn seconds_until(end_ms: i64) -> u64 {
    ((end_ms - now_ms()) as f64 / 1000.0).ceil().max(1.0) as u64
}

enum Counter {
    /// No limit.
    Off,
    /// In this process: a GCRA (`governor`), exact for one server.
    Local(DefaultKeyedRateLimiter<String>),
    /// Across processes: fixed windows in the shared counters.
    Shared { counters: Arc<dyn SharedCounters>, name: &'static str, count: u32, period: Duration },
}

/// `count` requests per `period` for each key, or no limit when `count` is 0.
pub struct KeyedLimit {
    counter: Counter,
}

impl KeyedLimit {
    pub fn new(count: u32, period: Duration) -> Self {
        let limiter = NonZeroU32::new(count)
            .and_then(|n| Quota::with_period(period / n.get()).map(|q| RateLimiter::keyed(q.allow_burst(n))));
        Self { counter: limiter.map_or(Counter::Off, Counter::Local) }
    }

    /// The same limit kept in `counters`, shared by every instance (the Lambda shape).
    pub fn shared(counters: Arc<dyn SharedCounters>, name: &'static str, count: u32, period: Duration) -> Self {
        let counter = if count == 0 { Counter::Off } else { Counter::Shared { counters, name, count, period } };
        Self { counter }
    }

    /// Takes one request from `key`'s allowance, or says how many seconds until there is one. A
    /// shared counter that cannot be reached lets the request through (and says so in the log):
    /// throttling must not take the service down with it.
    pub async fn check(&self, key: &str) -> Result<(), u64> {
        match &self.counter {
            Counter::Off => Ok(()),
            Counter::Local(limiter) => limiter.check_key(&key.to_owned()).map_err(|not_until| {
                not_until.wait_time_from(DefaultClock::default().now()).as_secs_f64().ceil().max(1.0) as u64
            }),
            Counter::Shared { counters, name, count, period } => {
                match counters.hit(name, key, now_ms(), *period).await {
                    Ok((hits, end)) if hits > u64::from(*count) => Err(seconds_until(end)),
                    Ok(_) => Ok(()),
                    Err(e) => {
                        tracing::warn!(limit = name, error = %e, "rate limit not checked");
                        Ok(())
                    }
                }
            }
        }
    }

    /// Seconds until `key` has an allowance again, without taking one (shared counters only; a
    /// local limit answers through `check`).
    async fn exhausted(&self, key: &str) -> Option<u64> {
        let Counter::Shared { counters, name, count, period } = &self.counter else { return None };
        match counters.hits(name, key, now_ms(), *period).await {
            Ok((hits, end)) if hits > u64::from(*count) => Some(seconds_until(end)),
            _ => None,
        }
    }

    /// Forgets keys whose allowance is full again, so that memory follows recent traffic.
    pub fn forget_idle(&self) {
        if let Counter::Local(limiter) = &self.counter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

pub fn too_many(retry_after_secs: u64, what: &str) -> AppError {
    AppError::new(Kind::TooManyRequests { retry_after_secs }, "rate_limited", format!("too many {what}; retry later"))
}

/// Failed logins: past the limit an email or an IP is blocked for the wait the limit gives, and
/// while blocked even the right password is refused.
pub struct LoginLimit {
    failures: KeyedLimit,
    /// Blocks of the local limit; a shared limit's block is its exhausted window.
    blocked: Mutex<HashMap<String, Instant>>,
}

impl LoginLimit {
    pub fn new(failures: KeyedLimit) -> Self {
        Self { failures, blocked: Mutex::default() }
    }

    fn keys(email: &str, ip: &str) -> [String; 2] {
        [format!("email:{email}"), format!("ip:{ip}")]
    }

    /// Seconds until `email` and `ip` may try again, if either is blocked.
    pub async fn blocked(&self, email: &str, ip: &str) -> Option<u64> {
        let keys = Self::keys(email, ip);
        let mut longest = None;
        for key in &keys {
            longest = longest.max(self.failures.exhausted(key).await);
        }
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|_, until| *until > now);
        let local = keys
            .iter()
            .filter_map(|k| blocked.get(k))
            .map(|until| until.duration_since(now).as_secs_f64().ceil().max(1.0) as u64)
            .max();
        longest.max(local)
    }

    /// Counts a failure; returns the block's length when this one went past the limit.
    pub async fn failed(&self, email: &str, ip: &str) -> Option<u64> {
        let mut longest = None;
        for key in Self::keys(email, ip) {
            if let Err(wait) = self.failures.check(&key).await {
                if matches!(self.failures.counter, Counter::Local(_)) {
                    let until = Instant::now() + Duration::from_secs(wait);
                    self.blocked.lock().unwrap_or_else(|p| p.into_inner()).insert(key, until);
                }
                longest = longest.max(Some(wait));
            }
        }
        longest
    }

    pub fn forget_idle(&self) {
        self.failures.forget_idle();
    }
}

/// Every limit of SPEC §9.
pub struct Limits {
    pub logins: LoginLimit,
    pub api: KeyedLimit,
    pub uploads: KeyedLimit,
    pub renders: KeyedLimit,
}

const MINUTE: Duration = Duration::from_secs(60);
const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

impl Limits {
    /// The configured limits, in this process or, given `shared`, across every instance.
    pub fn new(config: &crate::config::Config, shared: Option<Arc<dyn SharedCounters>>) -> Self {
        let limit = |name: &'static str, count: u32, period: Duration| match &shared {
            Some(counters) => KeyedLimit::shared(counters.clone(), name, count, period),
            None => KeyedLimit::new(count, period),
        };
        Self {
            logins: LoginLimit::new(limit("login", config.rate_login_failures, LOGIN_WINDOW)),
            api: limit("api", config.rate_api_per_minute, MINUTE),
            uploads: limit("upload", config.rate_uploads_per_minute, MINUTE),
            renders: limit("render", config.rate_renders_per_minute, MINUTE),
        }
    }

    pub fn forget_idle(&self) {
        self.logins.forget_idle();
        self.api.forget_idle();
        self.uploads.forget_idle();
        self.renders.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_gets_its_burst_then_waits() {
        let limit = KeyedLimit::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limit.check("a").await, Ok(()));
        }
        let wait = limit.check("a").await.unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(limit.check("b").await, Ok(()), "keys are independent");
        assert_eq!(KeyedLimit::new(0, Duration::from_secs(60)).check("a").await, Ok(()), "0 means no limit");
    }

    #[tokio::test]
    async fn failed_logins_block_the_email_and_the_ip() {
        let limit = LoginLimit::new(KeyedLimit::new(2, Duration::from_secs(900)));
        assert_eq!(limit.failed("a@x", "1.1.1.1").await, None);
        assert_eq!(limit.failed("a@x", "1.1.1.1").await, None);
        assert_eq!(limit.blocked("a@x", "2.2.2.2").await, None);
        assert!(limit.failed("a@x", "1.1.1.1").await.is_some());
        assert!(limit.blocked("a@x", "9.9.9.9").await.is_some(), "the email is blocked from anywhere");
        assert!(limit.blocked("b@x", "1.1.1.1").await.is_some(), "the IP is blocked for any email");
        assert_eq!(limit.blocked("b@x", "2.2.2.2").await, None);
    }
}
