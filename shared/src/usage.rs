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

/// Bytes and requests, by owner, by period: looked up by `&str` without allocating, since every
/// delivery adds to it.
type Tally = HashMap<String, HashMap<String, (u64, u64)>>;

#[derive(Default)]
pub struct UsageMeter {
    tally: Mutex<Tally>,
    /// Held while a flush is between the tally and the store, and while a summary reads both.
    pub consistent: tokio::sync::Mutex<()>,
}

impl UsageMeter {
    /// One image response of `bytes` for an asset of `owner_id`.
    pub fn record(&self, owner_id: &str, period: &str, bytes: u64) {
        add(&mut self.tally.lock().unwrap_or_else(|p| p.into_inner()), period, owner_id, (bytes, 1));
    }

    /// The tally of `period` not yet in the store, for one owner or all.
    pub fn pending(&self, period: &str, owner_id: Option<&str>) -> Vec<Traffic> {
        let tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        let Some(owners) = tally.get(period) else { return Vec::new() };
        owners
            .iter()
            .filter(|(owner, _)| owner_id.is_none_or(|o| o == owner.as_str()))
            .map(|(owner, &counts)| traffic(period, owner, counts))
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
            .flat_map(|(period, owners)| owners.iter().map(|(owner, &counts)| traffic(period, owner, counts)))
            .collect();
        let result = meta.add_traffic(&batch).await;
        if result.is_err() {
            let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
            for t in batch {
                add(&mut tally, &t.period, &t.owner_id, (t.bandwidth_bytes, t.requests));
            }
        }
        result
    }
}

fn add(tally: &mut Tally, period: &str, owner_id: &str, (bytes, requests): (u64, u64)) {
    if !tally.contains_key(period) {
        tally.insert(period.to_owned(), HashMap::new());
    }
    let owners = tally.get_mut(period).expect("just made");
    if !owners.contains_key(owner_id) {
        owners.insert(owner_id.to_owned(), (0, 0));
    }
    let counts = owners.get_mut(owner_id).expect("just made");
    counts.0 += bytes;
    counts.1 += requests;
}

fn traffic(period: &str, owner_id: &str, (bandwidth_bytes, requests): (u64, u64)) -> Traffic {
    Traffic { owner_id: owner_id.to_owned(), period: period.to_owned(), bandwidth_bytes, requests }
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
        meter.record("a", "2026-11", 10);
        meter.record("a", "2026-11", 5);
        meter.record("b", "2026-11", 1);
        let a = meter.pending("2026-11", Some("a"));
        assert_eq!((a[0].bandwidth_bytes, a[0].requests), (15, 2));
        assert_eq!(meter.pending("2026-11", None).len(), 2);
        assert!(meter.pending("2026-10", None).is_empty());
    }
}
