//! Rate limits (SPEC §9), keyed by who is asking: failed logins per email and per client IP, API
//! calls and uploads per principal, uncached renders per client IP. A refusal carries the seconds
//! until the next request would pass (`Retry-After`).
//!
//! API calls, uploads and renders are a GCRA (`governor`) in the process, or, where several
//! instances serve one deployment (Lambda), fixed windows in [`SharedCounters`]. Failed logins are
//! always fixed windows of counters (in the process: [`WindowCounters`]), because a guess must be
//! *reserved* before its password is verified and given back when it was right: counted after
//! the check, a burst of concurrent guesses would all be verified before the first one counted.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota, RateLimiter,
};

use crate::{
    clock::now_ms,
    error::AppError,
    store::{SharedCounters, WindowCounters},
};

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

    /// Forgets keys whose allowance is full again, so that memory follows recent traffic.
    pub fn forget_idle(&self) {
        if let Counter::Local(limiter) = &self.counter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The rate limits a request can meet, each with its metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    SignIns,
    PasswordChecks,
    ApiCalls,
    Uploads,
    Renders,
}

impl Limit {
    fn label(self) -> &'static str {
        match self {
            Limit::SignIns => "login",
            Limit::PasswordChecks => "password",
            Limit::ApiCalls => "api",
            Limit::Uploads => "upload",
            Limit::Renders => "render",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Limit::SignIns => "failed sign-ins",
            Limit::PasswordChecks => "failed password checks",
            Limit::ApiCalls => "API calls",
            Limit::Uploads => "uploads",
            Limit::Renders => "uncached renders",
        }
    }
}

/// The 429 of `limit`, counted in the metrics.
pub fn too_many(retry_after_secs: u64, limit: Limit) -> AppError {
    crate::telemetry::metrics::rate_limited(limit.label());
    AppError::rate_limited(retry_after_secs, format!("too many {}; retry later", limit.what()))
}

/// Failed password checks (sign-in, and the current password of a change), per email and per
/// client IP. Each check reserves a failure first and is refused, without verifying anything,
/// when that goes past the limit of either key; a right password gives its reservation back. So
/// no more than the limit of guesses is ever verified in a window, however many arrive at once,
/// and while an email or IP is blocked even the right password is refused.
pub struct LoginLimit {
    counters: Arc<dyn SharedCounters>,
    /// Kept to forget ended windows when the counters live in this process.
    local: Option<Arc<WindowCounters>>,
    count: u32,
    window: Duration,
}

/// A reserved failure, to give back with [`LoginLimit::succeeded`] when the password was right.
#[must_use]
pub struct Reservation {
    keys: Vec<String>,
}

const LOGIN: &str = "login";

impl LoginLimit {
    /// `count` failures per `window` for each key, or no limit when `count` is 0; counted in
    /// `shared`, or in this process.
    pub fn new(count: u32, window: Duration, shared: Option<Arc<dyn SharedCounters>>) -> Self {
        let (counters, local): (Arc<dyn SharedCounters>, _) = match shared {
            Some(shared) => (shared, None),
            None => {
                let local = Arc::new(WindowCounters::default());
                (local.clone(), Some(local))
            }
        };
        Self { counters, local, count, window }
    }

    /// Reserves one failure of `email` and of `ip`, or says how many seconds until either may try
    /// again. Counters that cannot be reached let the attempt through (and say so in the log), as
    /// every limit does.
    pub async fn reserve(&self, email: &str, ip: &str) -> Result<Reservation, u64> {
        if self.count == 0 {
            return Ok(Reservation { keys: Vec::new() });
        }
        let now = now_ms();
        let mut taken = Vec::new();
        for key in [format!("email:{email}"), format!("ip:{ip}")] {
            match self.counters.hit(LOGIN, &key, now, self.window).await {
                Ok((hits, end)) => {
                    taken.push(key);
                    if hits > u64::from(self.count) {
                        // A refused attempt verified nothing, so it is no failure. The next key is
                        // not touched: a hit there by an attempt that this key refuses could crowd
                        // out one that passes both, and a burst could then verify nothing at all.
                        self.give_back(Reservation { keys: taken }).await;
                        return Err(seconds_until(end));
                    }
                }
                Err(e) => tracing::warn!(limit = LOGIN, error = %e, "rate limit not checked"),
            }
        }
        Ok(Reservation { keys: taken })
    }

    /// The password was right: its reservation is given back.
    pub async fn succeeded(&self, reservation: Reservation) {
        self.give_back(reservation).await;
    }

    async fn give_back(&self, reservation: Reservation) {
        let now = now_ms();
        // Last taken, first given back: a key is never held without the ones before it.
        for key in reservation.keys.into_iter().rev() {
            if let Err(e) = self.counters.refund(LOGIN, &key, now).await {
                tracing::warn!(limit = LOGIN, error = %e, "rate limit reservation not given back");
            }
        }
    }

    pub fn forget_idle(&self) {
        if let Some(local) = &self.local {
            local.forget_ended(now_ms());
        }
    }
}

/// Every limit of SPEC §9.
pub struct RateLimits {
    pub logins: LoginLimit,
    pub api: KeyedLimit,
    pub uploads: KeyedLimit,
    pub renders: KeyedLimit,
}

const MINUTE: Duration = Duration::from_secs(60);
const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

impl RateLimits {
    /// The configured limits, in this process or, given `shared`, across every instance.
    pub fn new(config: &crate::config::Config, shared: Option<Arc<dyn SharedCounters>>) -> Self {
        let limit = |name: &'static str, count: u32, period: Duration| match &shared {
            Some(counters) => KeyedLimit::shared(counters.clone(), name, count, period),
            None => KeyedLimit::new(count, period),
        };
        Self {
            logins: LoginLimit::new(config.rate_login_failures, LOGIN_WINDOW, shared.clone()),
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
        let limit = LoginLimit::new(2, Duration::from_secs(900), None);
        for _ in 0..2 {
            drop(limit.reserve("a@x", "1.1.1.1").await.unwrap());
        }
        assert!(limit.reserve("a@x", "9.9.9.9").await.is_err(), "the email is blocked from anywhere");
        assert!(limit.reserve("b@x", "1.1.1.1").await.is_err(), "the IP is blocked for any email");
        assert!(limit.reserve("b@x", "2.2.2.2").await.is_ok());
    }

    #[tokio::test]
    async fn a_right_password_gives_its_reservation_back_and_refusals_count_nothing() {
        let limit = LoginLimit::new(2, Duration::from_secs(900), None);
        for _ in 0..5 {
            let reservation = limit.reserve("a@x", "1.1.1.1").await.unwrap();
            limit.succeeded(reservation).await;
        }
        let (first, second) = (limit.reserve("a@x", "1.1.1.1").await, limit.reserve("a@x", "1.1.1.1").await);
        let third = limit.reserve("a@x", "1.1.1.1").await;
        assert!(first.is_ok() && second.is_ok() && third.is_err(), "two pending guesses fill the limit");
        limit.succeeded(first.unwrap()).await;
        assert!(limit.reserve("a@x", "1.1.1.1").await.is_ok(), "the refused third took nothing");
    }
}
