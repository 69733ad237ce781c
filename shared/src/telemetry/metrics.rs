//! SPEC §15's figures, recorded through the `metrics` facade. Every name, label and label value is
//! spelled here; each label takes a bounded set of values (route templates, never a raw path or
//! an id). Each shape installs its own recorder (the local server Prometheus's, a Lambda function
//! CloudWatch's embedded metric format) and calls [`describe`]; without one, every call here is a
//! no-op.

use std::{
    collections::HashMap,
    sync::{OnceLock, RwLock},
    time::Duration,
};

use ::metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter, Histogram, Unit,
};
use axum::http::{Method, StatusCode};

use crate::media::Format;

pub const HTTP_REQUESTS: &str = "imgcloud_http_requests_total";
pub const HTTP_REQUEST_SECONDS: &str = "imgcloud_http_request_duration_seconds";
pub const DELIVERIES: &str = "imgcloud_deliveries_total";
pub const DELIVERED_BYTES: &str = "imgcloud_delivered_bytes_total";
pub const RENDERS: &str = "imgcloud_renders_total";
pub const RENDER_SECONDS: &str = "imgcloud_render_duration_seconds";
pub const RENDER_QUEUE_DEPTH: &str = "imgcloud_render_queue_depth";
pub const UPLOADS: &str = "imgcloud_uploads_total";
pub const RATE_LIMITED: &str = "imgcloud_rate_limited_total";
pub const CDN_PURGE_FAILURES: &str = "imgcloud_cdn_purge_failures_total";

/// The histograms' buckets, in seconds: from a cached delivery (well under a millisecond) to a
/// render at its budget.
pub const SECONDS_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The handles of the figures every request records, made once per label set when the recorder
/// is installed: looking one up by its key in the recorder (labels built, hashed and found) at
/// each request cost a cached delivery about 5 % of its instructions. Unset: no recorder, and
/// those figures cost nothing.
static HOT: OnceLock<Hot> = OnceLock::new();

struct Hot {
    hits: Counter,
    misses: Counter,
    delivered_bytes: Counter,
    /// By route template: a bounded set (the router's templates and `unmatched`).
    routes: RwLock<HashMap<Box<str>, Route>>,
}

struct Route {
    seconds: Histogram,
    /// By method label and status: a few per route.
    requests: Vec<(&'static str, StatusCode, Counter)>,
}

impl Route {
    fn requests(&self, method: &'static str, status: StatusCode) -> Option<&Counter> {
        self.requests.iter().find(|(m, s, _)| *m == method && *s == status).map(|(_, _, c)| c)
    }
}

/// Names each family with its unit and help text, for the recorder just installed, and makes the
/// per-request handles; the queue's gauge starts at zero, so that it is there before the first
/// render.
pub fn describe() {
    describe_counter!(HTTP_REQUESTS, "Requests answered, by route template, method and status.");
    describe_histogram!(HTTP_REQUEST_SECONDS, Unit::Seconds, "Time to answer a request, by route template.");
    describe_counter!(DELIVERIES, "Image deliveries: a stored original or variant (hit) or a render (miss).");
    describe_counter!(DELIVERED_BYTES, Unit::Bytes, "Body bytes of image deliveries.");
    describe_counter!(RENDERS, "Variants rendered, by output format.");
    describe_histogram!(RENDER_SECONDS, Unit::Seconds, "Time a render takes on its core.");
    describe_gauge!(RENDER_QUEUE_DEPTH, "Renders waiting for a free core.");
    describe_counter!(
        UPLOADS,
        "Uploads answered, by outcome: created, replaced, rejected, rate_limited, busy, failed."
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by limit.");
    describe_counter!(CDN_PURGE_FAILURES, "Asset changes whose CDN purge failed after every retry.");
    counter!(CDN_PURGE_FAILURES).absolute(0);
    gauge!(RENDER_QUEUE_DEPTH).set(0.0);
    HOT.get_or_init(|| Hot {
        hits: counter!(DELIVERIES, "cache" => "hit"),
        misses: counter!(DELIVERIES, "cache" => "miss"),
        delivered_bytes: counter!(DELIVERED_BYTES),
        routes: RwLock::default(),
    });
}

/// One answered request: counted by route template, method and status, and timed by route.
pub fn request(route: &str, method: &Method, status: StatusCode, elapsed: Duration) {
    let Some(hot) = HOT.get() else { return };
    let method = method_label(method);
    let record = |route: &Route, requests: &Counter| {
        requests.increment(1);
        route.seconds.record(elapsed);
    };
    if let Some(known) = hot.routes.read().expect("not poisoned").get(route) {
        if let Some(requests) = known.requests(method, status) {
            return record(known, requests);
        }
    }
    // A label set's first request: made once, under the write lock.
    let mut routes = hot.routes.write().expect("not poisoned");
    let known = routes.entry(route.into()).or_insert_with(|| Route {
        seconds: histogram!(HTTP_REQUEST_SECONDS, "route" => route.to_owned()),
        requests: Vec::new(),
    });
    if known.requests(method, status).is_none() {
        let requests = counter!(HTTP_REQUESTS, "route" => route.to_owned(), "method" => method, "status" => status.as_str().to_owned());
        known.requests.push((method, status, requests));
    }
    let requests = known.requests(method, status).expect("just made");
    record(known, requests);
}

/// An image delivery; `body_bytes` is what its body carries (none for `HEAD` or a redirect).
pub fn delivery(hit: bool, body_bytes: u64) {
    let Some(hot) = HOT.get() else { return };
    if hit { &hot.hits } else { &hot.misses }.increment(1);
    if body_bytes > 0 {
        hot.delivered_bytes.increment(body_bytes);
    }
}

/// A variant rendered as `format`, in `elapsed` on its core.
pub fn render(format: Format, elapsed: Duration) {
    counter!(RENDERS, "format" => format.name()).increment(1);
    histogram!(RENDER_SECONDS).record(elapsed);
}

/// A render starts (+1) or stops (-1) waiting for a core.
pub fn render_queue(change: f64) {
    gauge!(RENDER_QUEUE_DEPTH).increment(change);
}

/// An upload (`POST /v1/upload`, or a direct upload's completion) answered with `status`.
pub fn upload(status: StatusCode) {
    let outcome = match status {
        StatusCode::CREATED => "created",
        StatusCode::OK => "replaced",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "busy",
        s if s.is_client_error() => "rejected",
        _ => "failed",
    };
    counter!(UPLOADS, "outcome" => outcome).increment(1);
}

/// A request refused by the rate limit named `limit`.
pub fn rate_limited(limit: &'static str) {
    counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// An asset change whose CDN purge kept failing.
pub fn purge_failed() {
    counter!(CDN_PURGE_FAILURES).increment(1);
}

/// Methods outside the API's own are one value, so that a client cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
