//! Time as the product sees it: unix milliseconds inside, RFC 3339 (UTC, milliseconds) outside.

use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Milliseconds since the unix epoch.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// `2026-11-29T01:34:41.123Z`: fixed width, so that the strings sort like the instants.
pub fn rfc3339(ms: Millis) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let t = t.replace_nanosecond((ms.rem_euclid(1000) as u32) * 1_000_000).unwrap_or(t);
    let mut s = t.format(&Rfc3339).unwrap_or_default();
    // `time` omits a zero fraction and prints nanoseconds otherwise; normalise to milliseconds.
    if let Some(dot) = s.find('.') {
        s.truncate(dot);
    } else {
        s.truncate(s.len() - 1);
    }
    format!("{s}.{:03}Z", ms.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_916_081_123), "2026-11-29T01:34:41.123Z");
        assert_eq!(rfc3339(1_795_916_081_000), "2026-11-29T01:34:41.000Z");
    }
}
