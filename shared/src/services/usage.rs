//! The usage summary (SPEC §10): what an owner (or everyone) stores, and what their images served
//! in a period, with what the meter holds but has not flushed yet.

use std::collections::BTreeMap;

use crate::{
    app::App,
    error::AppResult,
    store::{Storage, Traffic},
};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    pub storage: Storage,
    pub bandwidth_bytes: u64,
    pub requests: u64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.storage.asset_count += other.storage.asset_count;
        self.storage.original_bytes += other.storage.original_bytes;
        self.storage.derived_bytes += other.storage.derived_bytes;
        self.bandwidth_bytes += other.bandwidth_bytes;
        self.requests += other.requests;
    }
}

pub struct Summary {
    pub total: Totals,
    /// By owner id, for everyone's summary (and the one owner's otherwise).
    pub per_owner: BTreeMap<String, Totals>,
}

/// The summary of `owner` (`None`: everyone) in `period`.
pub async fn summary(app: &App, owner: Option<&str>, period: &str) -> AppResult<Summary> {
    let (storage, traffic) = {
        // A flush between the two reads would count its batch twice or not at all.
        let _consistent = app.usage.consistent.lock().await;
        let storage = app.meta.storage(owner).await?;
        let mut traffic = app.meta.traffic(period, owner).await?;
        traffic.extend(app.usage.pending(period, owner));
        (storage, traffic)
    };
    let mut per_owner: BTreeMap<String, Totals> = BTreeMap::new();
    for s in storage {
        let owner = s.owner_id.clone();
        per_owner.entry(owner).or_default().storage = s;
    }
    for Traffic { owner_id, bandwidth_bytes, requests, .. } in traffic {
        let t = per_owner.entry(owner_id).or_default();
        t.bandwidth_bytes += bandwidth_bytes;
        t.requests += requests;
    }
    let mut total = Totals::default();
    per_owner.values().for_each(|t| total.add(t));
    Ok(Summary { total, per_owner })
}
