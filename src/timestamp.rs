//! Instants as fixed-width RFC 3339 text in UTC with microseconds
//! (`2026-11-29T17:50:01.123456Z`): the store's timestamps and the log lines'.
//!
//! Written digit by digit: every write stamps two or three of these and every request logs
//! one, and chrono's format-string interpreter took about 4 k instructions each.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Length of the text.
pub const LEN: usize = 27;

/// The text's bytes; `None` for years outside 0–9999 and for leap seconds, which the fixed
/// width cannot hold (callers format those with chrono).
pub fn digits(t: DateTime<Utc>) -> Option<[u8; LEN]> {
    let (year, nanos) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 6, nanos / 1000);
    Some(out)
}

/// The bytes of [`digits`] as text (ASCII digits and separators only).
pub fn as_str(digits: &[u8; LEN]) -> &str {
    std::str::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const CHRONO_FORMAT: &str = crate::store::filter_sql::TIMESTAMP_FORMAT;

    fn text(t: DateTime<Utc>) -> Option<String> {
        digits(t).map(|d| as_str(&d).to_string())
    }

    #[test]
    fn fixed_width_microseconds() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::nanoseconds(6_789_999);
        assert_eq!(text(t).unwrap(), "2026-01-02T03:04:05.006789Z");
        let t = Utc.with_ymd_and_hms(999, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(text(t).unwrap(), "0999-12-31T23:59:59.000000Z");
        let t = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(text(t), None);
    }

    proptest! {
        /// Agrees with chrono's format wherever it answers; the store's format_timestamp
        /// hands the rest to chrono.
        #[test]
        fn matches_chrono(secs in -70_000_000_000i64..300_000_000_000i64, nanos in 0u32..2_000_000_000) {
            if let Some(t) = DateTime::<Utc>::from_timestamp(secs, nanos) {
                let chrono_text = t.format(CHRONO_FORMAT).to_string();
                match text(t) {
                    Some(ours) => prop_assert_eq!(&ours, &chrono_text),
                    None => prop_assert!(!(0..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000),
                }
                prop_assert_eq!(crate::store::filter_sql::format_timestamp(t), chrono_text);
            }
        }
    }
}
