//! `GET /v1/usage/summary[?all=true]` (SPEC §10): what the caller stores and what their images
//! served this month; `all=true` (admins) sums everyone and adds a per-user breakdown.

use std::sync::Arc;

use axum::{
    extract::{RawQuery, State},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::parse_query;
use crate::{
    app::App,
    auth::AnyAuth,
    clock::now_ms,
    error::{AppResult, ErrorCode},
    services::usage::{self, Summary, Totals},
    usage::period,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryParams {
    all: Option<String>,
}

fn summary(t: &Totals, period: &str) -> Value {
    json!({
        "storage_bytes": t.storage.original_bytes + t.storage.derived_bytes,
        "original_bytes": t.storage.original_bytes,
        "variant_bytes": t.storage.derived_bytes,
        "asset_count": t.storage.asset_count,
        "bandwidth_bytes": t.bandwidth_bytes,
        "requests": t.requests,
        "period": period,
    })
}

pub async fn summary_handler(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Value>> {
    let params: SummaryParams = parse_query(query.as_deref())?;
    let all = match params.all.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ErrorCode::InvalidQuery.with("all must be true or false")),
    };
    if all && !principal.is_admin() {
        return Err(ErrorCode::Forbidden.with("all=true is for admins"));
    }
    let owner = (!all).then_some(principal.user.id.as_str());
    let period = period(now_ms());
    let Summary { total, per_owner } = usage::summary(&app, owner, &period).await?;
    let mut body = summary(&total, &period);
    if all {
        let users = app.meta.users().await?;
        let breakdown: Vec<Value> = per_owner
            .iter()
            .map(|(owner, t)| {
                let mut row = summary(t, &period);
                row["user_id"] = json!(owner);
                row["email"] = json!(users.iter().find(|u| &u.id == owner).map(|u| u.email.clone()));
                row
            })
            .collect();
        body["users"] = json!(breakdown);
    }
    Ok(Json(body))
}
