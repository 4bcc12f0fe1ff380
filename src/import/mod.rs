//! Importers: real football data into oddsflow feeds.
//!
//! Each importer reads a third-party format and emits ordinary feed [`Record`]s, so that the whole
//! pipeline (dataflows, policies, bookmaker, settlement, ledger) runs on real matches unchanged:
//!
//! | module | source | what becomes what |
//! |---|---|---|
//! | [`football_data`] | football-data.co.uk CSVs | fixture, prematch 1X2 / over-under 2.5 / Asian handicap opened at the opening odds and moved to the closing odds, result, match statistics as final counters |
//! | [`statsbomb`] | StatsBomb open-data events, lineups, matches | a live feed of real incidents with lineups and formations; prematch odds joined from football-data; in-play odds from a pricing model, marked `modelled` |
//! | [`betfair`] | Betfair Exchange stream recordings (`op: mcm`), Betfair A-League CSVs | market definitions, best available prices and settlement as markets, odds and results |
//!
//! What is shared lives here: a [`FeedBuilder`] that numbers versions and orders records by event
//! time, stable ids from names ([`stable_id`], [`team_id`]), compressed-text readers
//! ([`open_text`]) and calendar arithmetic ([`utc_ms`], [`uk_local_to_utc`]). Importers do no
//! dataflow work; they are pure functions from source files to records, tested against the
//! source's own counts.

pub mod betfair;
pub mod football_data;
pub mod inplay;
pub mod statsbomb;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use oddsflow_dataflows::model::{Body, EventTime, MatchId, Record, TeamId, Version};

use crate::feed::FeedWriter;

/// Collects an importer's records: every record gets the next version (so versions are monotone
/// per key whatever the source's order), and [`FeedBuilder::finish`] orders them by event time
/// (stable: records of one instant keep the order they were pushed in).
#[derive(Default)]
pub struct FeedBuilder {
    records: Vec<Record>,
    version: Version,
}

impl FeedBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pushes a record whose body is built from the next version.
    pub fn push(&mut self, ts: EventTime, match_id: MatchId, body: impl FnOnce(Version) -> Body) {
        self.version += 1;
        let body = body(self.version);
        self.records.push(Record { ts, match_id, body });
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records in event-time order.
    pub fn finish(mut self) -> Vec<Record> {
        self.records.sort_by_key(|r| r.ts);
        self.records
    }
}

/// Writes records to a feed file (`.jsonl`, `.jsonl.gz`, `.parquet`); returns how many.
pub fn write_feed(records: &[Record], out: &Path) -> Result<u64> {
    let mut w = FeedWriter::create(out)?;
    for r in records {
        w.write_record(r)?;
    }
    let n = w.items();
    w.finish()?;
    Ok(n)
}

/// FNV-1a over the parts (separated), masked to 52 bits so that ids survive JSON readers that
/// hold numbers as doubles (pandas, DuckDB's JSON reader).
pub fn stable_id(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h & ((1 << 52) - 1)
}

/// A team's id from its (football-data) name: the same name gives the same id in every importer,
/// so that ratings carry across files and sources.
pub fn team_id(name: &str) -> TeamId {
    (stable_id(&["team", name.trim()]) & 0x7fff_ffff) as TeamId
}

/// Opens a text file, gunzipping `.gz` and bunzipping `.bz2` by name; a UTF-8 byte-order mark at
/// the start is skipped.
pub fn open_text(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let name = path.to_string_lossy();
    let inner: Box<dyn Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else if name.ends_with(".bz2") {
        Box::new(bzip2::read::MultiBzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut r = BufReader::new(inner);
    let head = r
        .fill_buf()
        .with_context(|| format!("reading {}", path.display()))?;
    if head.starts_with(&[0xef, 0xbb, 0xbf]) {
        r.consume(3);
    }
    Ok(Box::new(r))
}

/// Reads a whole (possibly compressed) text file.
pub fn read_text(path: &Path) -> Result<String> {
    let mut s = String::new();
    open_text(path)?
        .read_to_string(&mut s)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(s)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
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

/// UTC milliseconds of a UTC civil date and time.
pub fn utc_ms(y: i64, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> EventTime {
    ((days_from_civil(y, m, d) * 24 + i64::from(hh)) * 60 + i64::from(mm)) * 60_000
        + i64::from(ss) * 1000
}

/// Weekday of a day number (0 = Sunday).
fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

/// The last Sunday of a month, as a day number.
fn last_sunday(y: i64, m: u32) -> i64 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    let last = next - 1;
    last - weekday(last)
}

/// UK local time (GMT, or BST from 01:00 UTC on the last Sunday of March to 01:00 UTC on the
/// last Sunday of October) to UTC milliseconds.
pub fn uk_local_to_utc(y: i64, m: u32, d: u32, hh: u32, mm: u32) -> EventTime {
    let as_utc = utc_ms(y, m, d, hh, mm, 0);
    let bst_start = last_sunday(y, 3) * 86_400_000 + 3_600_000;
    let bst_end = last_sunday(y, 10) * 86_400_000 + 3_600_000;
    // A local time in BST is an hour ahead of UTC; compare in UTC after the shift.
    let shifted = as_utc - 3_600_000;
    if shifted >= bst_start && shifted < bst_end {
        shifted
    } else {
        as_utc
    }
}

/// A record's event time as RFC 3339, for messages.
pub fn rfc3339(ms: EventTime) -> String {
    crate::cli::format_time(ms.max(0) as u64)
}

/// The 1X2 sides (`H`, `D`, `A`) that the settlement rules pay on a result: the importers' tests
/// check that this is exactly the source's `FTR`.
#[cfg(test)]
pub(crate) fn settled_1x2(r: &oddsflow_dataflows::model::MatchResult) -> Vec<char> {
    use oddsflow_dataflows::model::{MarketKind, Selection};
    use oddsflow_dataflows::settlement::{MatchFacts, Outcome, settle};
    let facts = MatchFacts {
        full_time: r.full_time,
        corners: r.corners,
        goals: vec![],
        abandoned: false,
    };
    let sels = [Selection::Home, Selection::Draw, Selection::Away];
    sels.iter()
        .zip(['H', 'D', 'A'])
        .filter(|(s, _)| settle(MarketKind::MatchOdds, **s, &sels, &facts) == Ok(Outcome::Won))
        .map(|(_, c)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn ids_are_stable_and_json_safe() {
        assert_eq!(team_id("Arsenal"), team_id(" Arsenal "));
        assert_ne!(team_id("Arsenal"), team_id("Chelsea"));
        assert_ne!(stable_id(&["ab", "c"]), stable_id(&["a", "bc"]));
        assert!(stable_id(&["x"]) < (1 << 52));
    }

    #[test]
    fn builder_orders_by_time_and_numbers_versions() {
        use oddsflow_dataflows::model::{Abandonment, Body};
        let mut b = FeedBuilder::new();
        for ts in [30, 10, 20, 10] {
            b.push(ts, 1, |version| {
                Body::Abandonment(Abandonment {
                    version,
                    reason: format!("{ts}"),
                })
            });
        }
        let r = b.finish();
        let got: Vec<(i64, u64)> = r.iter().map(|r| (r.ts, r.version())).collect();
        assert_eq!(got, vec![(10, 2), (10, 4), (20, 3), (30, 1)]);
    }
}
