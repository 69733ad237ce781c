//! A closed-loop load generator: `clients` loops, each sending its next request when the last
//! one is answered, for a fixed time.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

pub struct Outcome {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        percentile(&sorted, p).unwrap_or(0) as f64 / 1000.0
    }

    pub fn print(&self, what: &str, bytes_each: Option<usize>) {
        let throughput = bytes_each.map(|b| format!(", {:.1} MB/s", self.rate() * b as f64 / 1e6)).unwrap_or_default();
        println!(
            "{what}: {:.0}/s{throughput} ({} ok, {} failed, p50 {:.2} ms, p99 {:.2} ms)",
            self.rate(),
            self.ok,
            self.failed,
            self.percentile_ms(0.50),
            self.percentile_ms(0.99)
        );
    }
}

/// Runs `request(n)` (n counts up across all clients) from `clients` concurrent loops for `seconds`.
pub async fn run<F, Fut>(clients: usize, seconds: u64, request: F) -> Outcome
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let (failed, counter) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (request, stop, failed, counter) = (request.clone(), stop.clone(), failed.clone(), counter.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    if request(counter.fetch_add(1, Ordering::Relaxed)).await {
                        latencies.push(t.elapsed().as_micros() as u64);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.unwrap());
    }
    Outcome {
        ok: latencies_us.len() as u64,
        failed: failed.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
        latencies_us,
    }
}

/// The value at fraction `p` (0–1) of `sorted`, or `None` when it is empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied()
}
