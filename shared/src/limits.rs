//! Rate limits (SPEC §9), each a GCRA (`governor`) keyed by who is asking: failed logins per email
//! and per client IP, API calls and uploads per principal, uncached renders per client IP. A
//! refusal carries the seconds until the next request would pass (`Retry-After`).
//!
//! These limiters live in the process: exact for the local server; in the AWS shape each Lambda
//! instance keeps its own, so the same design moves to atomic, TTL'd counters in the metadata store.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota, RateLimiter,
};

use crate::error::{AppError, Kind};

/// `count` requests per `period` for each key, or no limit when `count` is 0.
pub struct KeyedLimit {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl KeyedLimit {
    pub fn new(count: u32, period: Duration) -> Self {
        let limiter = NonZeroU32::new(count)
            .and_then(|n| Quota::with_period(period / n.get()).map(|q| RateLimiter::keyed(q.allow_burst(n))));
        Self { limiter }
    }

    /// Takes one request from `key`'s allowance, or says how many seconds until there is one.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            not_until.wait_time_from(DefaultClock::default().now()).as_secs_f64().ceil().max(1.0) as u64
        })
    }

    /// Forgets keys whose allowance is full again, so that memory follows recent traffic.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

pub fn too_many(retry_after_secs: u64, what: &str) -> AppError {
    AppError::new(Kind::TooManyRequests { retry_after_secs }, "rate_limited", format!("too many {what}; retry later"))
}

/// Failed logins: past the limit an email or an IP is blocked for the wait GCRA gives, and while
/// blocked even the right password is refused.
pub struct LoginLimit {
    failures: KeyedLimit,
    blocked: Mutex<HashMap<String, Instant>>,
}

impl LoginLimit {
    pub fn new(count: u32, period: Duration) -> Self {
        Self { failures: KeyedLimit::new(count, period), blocked: Mutex::default() }
    }

    fn keys(email: &str, ip: &str) -> [String; 2] {
        [format!("email:{email}"), format!("ip:{ip}")]
    }

    /// Seconds until `email` and `ip` may try again, if either is blocked.
    pub fn blocked(&self, email: &str, ip: &str) -> Option<u64> {
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|_, until| *until > now);
        Self::keys(email, ip)
            .iter()
            .filter_map(|k| blocked.get(k))
            .map(|until| until.duration_since(now).as_secs_f64().ceil().max(1.0) as u64)
            .max()
    }

    /// Counts a failure; returns the block's length when this one went past the limit.
    pub fn failed(&self, email: &str, ip: &str) -> Option<u64> {
        let mut longest = None;
        for key in Self::keys(email, ip) {
            if let Err(wait) = self.failures.check(&key) {
                let until = Instant::now() + Duration::from_secs(wait);
                self.blocked.lock().unwrap_or_else(|p| p.into_inner()).insert(key, until);
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

impl Limits {
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

    #[test]
    fn a_key_gets_its_burst_then_waits() {
        let limit = KeyedLimit::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limit.check("a"), Ok(()));
        }
        let wait = limit.check("a").unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(limit.check("b"), Ok(()), "keys are independent");
        assert_eq!(KeyedLimit::new(0, Duration::from_secs(60)).check("a"), Ok(()), "0 means no limit");
    }

    #[test]
    fn failed_logins_block_the_email_and_the_ip() {
        let limit = LoginLimit::new(2, Duration::from_secs(900));
        assert_eq!(limit.failed("a@x", "1.1.1.1"), None);
        assert_eq!(limit.failed("a@x", "1.1.1.1"), None);
        assert_eq!(limit.blocked("a@x", "2.2.2.2"), None);
        assert!(limit.failed("a@x", "1.1.1.1").is_some());
        assert!(limit.blocked("a@x", "9.9.9.9").is_some(), "the email is blocked from anywhere");
        assert!(limit.blocked("b@x", "1.1.1.1").is_some(), "the IP is blocked for any email");
        assert_eq!(limit.blocked("b@x", "2.2.2.2"), None);
    }
}
