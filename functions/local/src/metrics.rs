//! Prometheus's `GET /metrics` on `IMGCLOUD_METRICS_ADDR` (SPEC §15), on a listener of its own so
//! that the public one never serves it: the core's figures (`telemetry::metrics`) and the
//! process's own (`process_resident_memory_bytes`, CPU seconds, open file descriptors).

use std::sync::OnceLock;

use axum::{http::header, response::IntoResponse, routing::get, Router};
use imgcloud_core::telemetry::metrics::{self as figures, SECONDS_BUCKETS};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::{net::TcpListener, task::JoinHandle};

struct Exporter {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

/// A process has one recorder: installed by the first server that serves metrics, shared by any
/// later one (the tests start several).
static EXPORTER: OnceLock<Exporter> = OnceLock::new();

fn exporter() -> &'static Exporter {
    EXPORTER.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets(SECONDS_BUCKETS)
            .expect("the buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        figures::describe();
        let process = metrics_process::Collector::default();
        process.describe();
        Exporter { handle, process }
    })
}

/// Installs the recorder, then serves `GET /metrics` on `listener` until aborted.
pub fn serve(listener: TcpListener) -> JoinHandle<()> {
    exporter();
    let router = Router::new().route("/metrics", get(scrape));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    })
}

async fn scrape() -> impl IntoResponse {
    let exporter = exporter();
    exporter.process.collect();
    // Drains the histograms' samples into their buckets before rendering.
    exporter.handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], exporter.handle.render())
}
