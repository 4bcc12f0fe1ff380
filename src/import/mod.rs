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
//! ([`open_text`]); calendar arithmetic is in [`crate::time`]. Importers do no
//! dataflow work; they are pure functions from source files to records, tested against the
//! source's own counts.

pub mod betfair;
pub mod football_data;
pub mod inplay;
pub mod statsbomb;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use oddsflow_dataflows::model::{Body, EventTime, MatchId, Record, TeamId, Version};

use crate::io::feed::FeedWriter;

/// Collects an importer's records: every record gets the next version (so versions are monotone
/// per key whatever the source's order), and [`FeedBuilder::finish`] orders them by event time
/// (stable: records of one instant keep the order they were pushed in).
#[derive(Default)]
pub(crate) struct FeedBuilder {
    records: Vec<Record>,
    version: Version,
}

impl FeedBuilder {
    /// An empty feed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pushes a record whose body is built from the next version.
    pub fn push(&mut self, ts: EventTime, match_id: MatchId, body: impl FnOnce(Version) -> Body) {
        self.version += 1;
        let body = body(self.version);
        self.records.push(Record { ts, match_id, body });
    }

    /// Records so far.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The records in event-time order.
    pub fn finish(mut self) -> Vec<Record> {
        self.records.sort_by_key(|r| r.ts);
        self.records
    }
}

/// Writes records to a feed file (`.jsonl`, `.jsonl.gz`, `.parquet`); returns how many.
pub(crate) fn write_feed(records: &[Record], out: &Path) -> Result<u64> {
    let mut w = FeedWriter::create(out)?;
    for r in records {
        w.write_record(r)?;
    }
    let n = w.items();
    w.finish()?;
    Ok(n)
}

/// What every importer returns: the feed's records, in event-time order with versions numbered
/// by [`FeedBuilder`], and the importer's own report of what it read.
#[derive(Clone, Debug)]
pub struct Imported<R> {
    /// The feed.
    pub records: Vec<Record>,
    /// What was read, and what was refused or skipped with its reason.
    pub report: R,
}

/// What every importer's report tells, in one shape: lines for a person, and each item refused
/// or skipped as a JSON object with its `reason`.
pub trait ImportReport {
    /// Lines summarising the import.
    fn notes(&self) -> Vec<String>;
    /// What could not be mapped, each with its reason.
    fn refused(&self) -> Vec<serde_json::Value>;
}

/// Skipped items given as reason strings, as `{"reason": …}` objects.
pub(crate) fn reasons(skipped: &[String]) -> Vec<serde_json::Value> {
    skipped
        .iter()
        .map(|s| serde_json::json!({ "reason": s }))
        .collect()
}

/// What [`write_import`] wrote.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    /// Records in the feed.
    pub records: u64,
    /// The refused-items file (`STEM.refused.jsonl` beside the feed) and its line count, when
    /// anything was refused.
    pub refused: Option<(PathBuf, usize)>,
}

/// Writes an import: the feed at `out`, and what was refused beside it, `STEM.refused.jsonl`.
pub(crate) fn write_import<R: ImportReport>(imported: &Imported<R>, out: &Path) -> Result<Written> {
    let records = write_feed(&imported.records, out)?;
    let lines = imported.report.refused();
    if lines.is_empty() {
        return Ok(Written {
            records,
            refused: None,
        });
    }
    let name = out
        .file_name()
        .map_or("feed".into(), |n| n.to_string_lossy());
    let stem = name
        .trim_end_matches(".gz")
        .trim_end_matches(".jsonl")
        .trim_end_matches(".parquet")
        .to_owned();
    let path = out.with_file_name(format!("{stem}.refused.jsonl"));
    let mut text = String::new();
    for l in &lines {
        text.push_str(&l.to_string());
        text.push('\n');
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(Written {
        records,
        refused: Some((path, lines.len())),
    })
}

/// FNV-1a over the parts (separated), masked to 52 bits so that ids survive JSON readers that
/// hold numbers as doubles (pandas, DuckDB's JSON reader).
pub(crate) fn stable_id(parts: &[&str]) -> u64 {
    let mut h = oddsflow_operators::Fnv1a::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.bytes(&[0x1f]);
        }
        h.bytes(p.as_bytes());
    }
    h.value() & ((1 << 52) - 1)
}

/// A team's id from its (football-data) name: the same name gives the same id in every importer,
/// so that ratings carry across files and sources.
pub(crate) fn team_id(name: &str) -> TeamId {
    (stable_id(&["team", name.trim()]) & 0x7fff_ffff) as TeamId
}

/// Opens a text file, gunzipping `.gz` and bunzipping `.bz2` by name; a UTF-8 byte-order mark at
/// the start is skipped.
pub(crate) fn open_text(path: &Path) -> Result<Box<dyn BufRead>> {
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
        no_result: false,
    };
    let sels = [Selection::Home, Selection::Draw, Selection::Away];
    sels.iter()
        .zip(['H', 'D', 'A'])
        .filter(|(s, _)| settle(MarketKind::MatchOdds, **s, &sels, &facts) == Ok(Outcome::Won))
        .map(|(_, c)| c)
        .collect()
}

/// The folder `sub` of the shared real data (`$ODDSFLOW_SHARED_DATA`, else `../shared/data`
/// beside the checkout), or `None` where this checkout does not have it. Under CI (`CI=true`) a
/// missing folder fails the test instead: the real-data tests must run there. (For tests and
/// benchmarks: the one place that finds the shared data.)
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ODDSFLOW_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    );
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(
        !ci,
        "{} is missing, and under CI=true the real-data tests must run (set ODDSFLOW_SHARED_DATA to the shared data folder)",
        dir.display()
    );
    eprintln!("{} not present: skipped", dir.display());
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
