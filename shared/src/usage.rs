//! Usage accounting (SPEC §10): image bytes served and image responses, per owner and calendar
//! month (UTC). Deliveries add to an in-memory tally; [`UsageMeter::flush`] moves it to the store in
//! one batch of atomic additions, so the hot path never writes per request. Reads add the tally
//! that is not flushed yet, so a summary is exact at once.

use std::{collections::HashMap, sync::Mutex};

use time::OffsetDateTime;

use crate::store::{MetaStore, StoreResult, Traffic};

/// `2026-11`: the calendar month (UTC) of `ms`.
pub fn period(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

#[derive(Default)]
pub struct UsageMeter {
    tally: Mutex<HashMap<(String, String), (u64, u64)>>,
    /// Held while a flush is between the tally and the store, and while a summary reads both.
    pub consistent: tokio::sync::Mutex<()>,
}

impl UsageMeter {
    /// One image response of `bytes` for an asset of `owner_id`.
    pub fn record(&self, owner_id: &str, period: String, bytes: u64) {
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        let entry = tally.entry((owner_id.to_owned(), period)).or_default();
        entry.0 += bytes;
        entry.1 += 1;
    }

    /// The tally of `period` not yet in the store, for one owner or all.
    pub fn pending(&self, period: &str, owner_id: Option<&str>) -> Vec<Traffic> {
        let tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        tally
            .iter()
            .filter(|((owner, p), _)| p == period && owner_id.is_none_or(|o| o == owner))
            .map(|((owner, p), (bytes, requests))| Traffic {
                owner_id: owner.clone(),
                period: p.clone(),
                bandwidth_bytes: *bytes,
                requests: *requests,
            })
            .collect()
    }

    /// Moves the tally to the store; on failure it stays for the next flush.
    pub async fn flush(&self, meta: &dyn MetaStore) -> StoreResult<()> {
        let _consistent = self.consistent.lock().await;
        let taken = std::mem::take(&mut *self.tally.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return Ok(());
        }
        let batch: Vec<Traffic> = taken
            .iter()
            .map(|((owner, period), (bytes, requests))| Traffic {
                owner_id: owner.clone(),
                period: period.clone(),
                bandwidth_bytes: *bytes,
                requests: *requests,
            })
            .collect();
        let result = meta.add_traffic(&batch).await;
        if result.is_err() {
            let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
            for (key, (bytes, requests)) in taken {
                let entry = tally.entry(key).or_default();
                entry.0 += bytes;
                entry.1 += requests;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_calendar_months() {
        assert_eq!(period(1_795_916_081_000), "2026-11");
        assert_eq!(period(0), "1970-01");
    }

    #[test]
    fn the_tally_adds_up_per_owner_and_period() {
        let meter = UsageMeter::default();
        meter.record("a", "2026-11".into(), 10);
        meter.record("a", "2026-11".into(), 5);
        meter.record("b", "2026-11".into(), 1);
        let a = meter.pending("2026-11", Some("a"));
        assert_eq!((a[0].bandwidth_bytes, a[0].requests), (15, 2));
        assert_eq!(meter.pending("2026-11", None).len(), 2);
        assert!(meter.pending("2026-10", None).is_empty());
    }
}
