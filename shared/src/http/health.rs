//! `GET /healthz`, liveness: the process answers. `GET /readyz`, readiness: both stores answer a
//! read in time, else 503 `not_ready` naming the store (its error is logged, not sent).

use std::{sync::Arc, time::Duration};

use axum::{extract::State, Json};
use serde_json::{json, Value};

use crate::{
    app::App,
    error::{AppResult, ErrorCode},
    store::StoreResult,
};

const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A blob key nothing writes: looking it up is one round trip to the store (a stat, an S3 HEAD).
const PROBE_KEY: &str = "readiness-probe";

pub async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn ready(State(app): State<Arc<App>>) -> AppResult<Json<Value>> {
    let (meta, blobs) = tokio::join!(
        probe(async { app.meta.has_users().await.map(drop) }),
        probe(async { app.blobs.size(PROBE_KEY).await.map(drop) })
    );
    for (store, outcome) in [("metadata", meta), ("blob", blobs)] {
        if let Err(reason) = outcome {
            tracing::warn!(store, reason, "not ready");
            return Err(ErrorCode::NotReady.with(format!("the {store} store does not answer")));
        }
    }
    Ok(Json(json!({"status": "ready"})))
}

async fn probe(read: impl std::future::Future<Output = StoreResult<()>>) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, read).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}
