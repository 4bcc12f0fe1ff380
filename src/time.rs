//! Every calendar and time conversion of the runtime: UTC milliseconds ↔ civil dates (Howard
//! Hinnant's algorithms), UK local time, and the RFC 3339 form the CLI reads and prints.
//!
//! Source-specific formats (football-data's `dd/mm/yy`, Betfair's zoned timestamps, StatsBomb's
//! match clock) are parsed by their importers into the civil fields these functions take.

use anyhow::Result;
use oddsflow_dataflows::model::EventTime;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Days since 1970-01-01 of a civil date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (y, m) = if m <= 2 {
        (y - 1, i64::from(m) + 9)
    } else {
        (y, i64::from(m) - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month, day of a day number (days since 1970-01-01).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The number of days of a month.
pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    (next - days_from_civil(y, m, 1)) as u32
}

/// UTC milliseconds of a UTC civil date and time.
pub(crate) fn utc_ms(y: i64, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> EventTime {
    ((days_from_civil(y, m, d) * 24 + i64::from(hh)) * 60 + i64::from(mm)) * 60_000
        + i64::from(ss) * 1000
}

/// Weekday of a day number (0 = Sunday).
fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

/// The last Sunday of a month, as a day number.
fn last_sunday(y: i64, m: u32) -> i64 {
    let last = days_from_civil(y, m, days_in_month(y, m));
    last - weekday(last)
}

/// UK local time (GMT, or BST from 01:00 UTC on the last Sunday of March to 01:00 UTC on the
/// last Sunday of October) to UTC milliseconds.
pub(crate) fn uk_local_to_utc(y: i64, m: u32, d: u32, hh: u32, mm: u32) -> EventTime {
    let as_utc = utc_ms(y, m, d, hh, mm, 0);
    let bst_start = last_sunday(y, 3) * DAY_MS + HOUR_MS;
    let bst_end = last_sunday(y, 10) * DAY_MS + HOUR_MS;
    // A local time in BST is an hour ahead of UTC; compare in UTC after the shift.
    let shifted = as_utc - HOUR_MS;
    if shifted >= bst_start && shifted < bst_end {
        shifted
    } else {
        as_utc
    }
}

/// Formats UTC milliseconds as RFC 3339 (`2026-01-03T14:05:00Z`).
pub fn format_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses an event time: integer UTC milliseconds, or RFC 3339 in UTC
/// (`YYYY-MM-DDTHH:MM:SS[.sss]Z`).
pub fn parse_time(text: &str) -> Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        anyhow::anyhow!(
            "cannot read time {text:?}: give UTC milliseconds or YYYY-MM-DDTHH:MM:SS[.sss]Z"
        )
    };
    let t = text.strip_suffix('Z').ok_or_else(bad)?;
    let (date, clock) = t.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let c: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    if d.len() != 3 || c.len() != 3 || !(1..=12).contains(&d[1]) || !(1..=31).contains(&d[2]) {
        return Err(bad());
    }
    let ms_frac: i64 = format!("{frac:0<3}")[..3].parse().map_err(|_| bad())?;
    let days = days_from_civil(d[0], d[1] as u32, d[2] as u32);
    Ok(((days * 24 + c[0]) * 60 + c[1]) * 60_000 + c[2] * 1000 + ms_frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_over_four_centuries() {
        for z in (-150_000..150_000).step_by(7) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
            assert!(d >= 1 && d <= days_in_month(y, m));
        }
    }

    #[test]
    fn formatted_times_parse_back() {
        for ms in [0u64, 1_767_441_600_000, 951_782_400_000, 4_102_444_799_000] {
            assert_eq!(parse_time(&format_time(ms)).ok(), Some(ms as i64));
        }
        assert_eq!(
            parse_time("2026-01-03T14:05:00.5Z").ok(),
            Some(1_767_449_100_500)
        );
        assert!(parse_time("2026-13-03T14:05:00Z").is_err());
    }

    #[test]
    fn british_summer_time_starts_and_ends_on_the_last_sundays() {
        // 2021: BST from 28 March to 31 October.
        assert_eq!(
            uk_local_to_utc(2021, 3, 27, 15, 0),
            utc_ms(2021, 3, 27, 15, 0, 0)
        );
        assert_eq!(
            uk_local_to_utc(2021, 3, 28, 15, 0),
            utc_ms(2021, 3, 28, 14, 0, 0)
        );
        assert_eq!(
            uk_local_to_utc(2021, 10, 30, 15, 0),
            utc_ms(2021, 10, 30, 14, 0, 0)
        );
        assert_eq!(
            uk_local_to_utc(2021, 10, 31, 15, 0),
            utc_ms(2021, 10, 31, 15, 0, 0)
        );
    }

    #[test]
    fn civil_dates_and_uk_summer_time() {
        assert_eq!(utc_ms(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(utc_ms(2015, 8, 8, 11, 45, 0), 1_439_034_300_000);
        // 2015: BST from 29 March to 25 October.
        assert_eq!(last_sunday(2015, 3), days_from_civil(2015, 3, 29));
        assert_eq!(last_sunday(2015, 10), days_from_civil(2015, 10, 25));
        // 15:00 BST = 14:00 UTC in August, 15:00 GMT = 15:00 UTC in December.
        assert_eq!(
            uk_local_to_utc(2015, 8, 8, 15, 0),
            utc_ms(2015, 8, 8, 14, 0, 0)
        );
        assert_eq!(
            uk_local_to_utc(2015, 12, 26, 15, 0),
            utc_ms(2015, 12, 26, 15, 0, 0)
        );
        assert_eq!(
            uk_local_to_utc(2015, 3, 28, 15, 0),
            utc_ms(2015, 3, 28, 15, 0, 0)
        );
        assert_eq!(
            uk_local_to_utc(2015, 3, 29, 15, 0),
            utc_ms(2015, 3, 29, 14, 0, 0)
        );
    }
}
