//! The simulator's truth channel, indexed for the oracle policy.
//!
//! In: [`TruthRow`]s (`<stem>.truth.jsonl.gz` beside a simulated feed). Out: the true probability
//! of a selection as last published at or before a time — never later (no look-ahead).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};

use oddsflow_dataflows::model::{EventTime, MarketKind, MatchId, Selection};

use crate::sim::TruthRow;

/// The truth channel indexed per selection (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Truth {
    /// Per selection, `(ts, probability)` in increasing `ts`.
    rows: HashMap<(MatchId, MarketKind, Selection), Vec<(EventTime, f64)>>,
}

impl Truth {
    /// Indexes truth rows (in any order).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a TruthRow>) -> Truth {
        let mut t = Truth::default();
        for r in rows {
            t.rows
                .entry((r.match_id, r.market, r.selection))
                .or_default()
                .push((r.ts, r.prob));
        }
        for v in t.rows.values_mut() {
            // Stable: rows of one ts keep their order, the last one published wins.
            v.sort_by_key(|(ts, _)| *ts);
        }
        t
    }

    /// A hash of the content (every row, in a canonical order): what a live run's identity
    /// records, so that a restart with another truth file is refused.
    pub fn content_hash(&self) -> u64 {
        let mut keys: Vec<_> = self.rows.keys().collect();
        keys.sort();
        let mut h = oddsflow_operators::hash::Fnv1a::new();
        for k in keys {
            h.bytes(format!("{k:?}").as_bytes());
            for (ts, p) in &self.rows[k] {
                h.bytes(&ts.to_le_bytes()).bytes(&p.to_bits().to_le_bytes());
            }
        }
        h.value()
    }

    /// Reads a truth file (JSON lines, optionally gzipped).
    pub fn load(path: &Path) -> Result<Truth> {
        let rows: Vec<TruthRow> = crate::io::table::read_json_lines(path)
            .with_context(|| format!("reading the truth channel {}", path.display()))?;
        Ok(Truth::from_rows(&rows))
    }

    /// The truth file beside a feed: `<stem>.truth.jsonl.gz` for `<stem>.jsonl[.gz]` or
    /// `<stem>.parquet`, if it exists.
    pub(crate) fn beside(feed: &Path) -> Option<std::path::PathBuf> {
        let name = feed.file_name()?.to_str()?;
        let stem = name
            .strip_suffix(".jsonl.gz")
            .or_else(|| name.strip_suffix(".jsonl"))
            .or_else(|| name.strip_suffix(".parquet"))?;
        let path = feed.with_file_name(format!("{stem}.truth.jsonl.gz"));
        path.exists().then_some(path)
    }

    /// The true probability of a selection as last published at a time `< before`.
    pub fn prob(
        &self,
        m: MatchId,
        market: MarketKind,
        selection: Selection,
        before: EventTime,
    ) -> Option<f64> {
        let v = self.rows.get(&(m, market, selection))?;
        let i = v.partition_point(|(ts, _)| *ts < before);
        i.checked_sub(1).map(|i| v[i].1)
    }
}
