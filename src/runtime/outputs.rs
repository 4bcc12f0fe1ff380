//! What a run produces, in canonical form: every output collection's changes (consolidated,
//! sorted by data then time), the dead letters, the betting outputs and reports, and the summary
//! counts; how they are assembled from gathered frames, written (Parquet change tables,
//! `dead_letter.jsonl`, `summary.json`) and read as of a time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::aggregates::{PlayerMatchStats, PlayerTotals, TeamMatchStats};
use oddsflow_dataflows::availability::{Quote, SelectionKey};
use oddsflow_dataflows::bookmaker::{Decision, PolicyId};
use oddsflow_dataflows::dominance::Dominance;
use oddsflow_dataflows::features::FeatureVector;
use oddsflow_dataflows::model::F64;
use oddsflow_dataflows::model::{MatchId, PlayerId, Side, TeamId};
use oddsflow_dataflows::ratings::{LeagueAverages, TeamRating};
use oddsflow_dataflows::reject::DeadLetter;
use oddsflow_operators::Ignored;

use super::config::{RunConfig, policy_names};
use super::host::Frame;
use super::introspection::DataflowReport;
use crate::betting::ledger::BettingOutputs;
use crate::betting::reports::PolicyReport;
use crate::io::feed::InputCut;
use crate::io::table::{ChangeTable, write_json_lines};
use crate::policy::Emitted;

pub use oddsflow_dataflows::Change;

/// The counts of a run: every feed item is counted once, `records_in = records_ok + rejected`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Feed items read.
    pub records_in: u64,
    /// Valid records (duplicates and stale versions included: they are valid, they just change
    /// nothing).
    pub records_ok: u64,
    /// Records sent to the dead-letter output.
    pub rejected: u64,
    /// Valid records that repeated a version already applied.
    pub duplicates: u64,
    /// Valid records older than the version already applied.
    pub stale: u64,
    /// Valid records for a match already retired (settled over `retire_after_ms` ago), which
    /// change nothing.
    pub retired: u64,
    /// Records that arrived behind the input frontier and were applied at the frontier.
    pub late: u64,
    /// Distinct matches with a valid fixture.
    pub matches: u64,
    /// Dead letters by reason.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Set when the feed file could not be read to its end (cut short or corrupt): where and
    /// why reading stopped. The counts and outputs are those of the items read before. Absent
    /// (not written) for a feed read to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<InputCut>,
}

/// Everything a replay produces, in canonical form (consolidated, sorted by data then time).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs {
    /// Per match and side: goals, corners, cards, shots, xG, fouls.
    pub team_match: Vec<Change<((MatchId, Side), TeamMatchStats)>>,
    /// Per match and player: goals, shots, minutes.
    pub player_match: Vec<Change<((MatchId, PlayerId), PlayerMatchStats)>>,
    /// Per player, over the matches played.
    pub player_totals: Vec<Change<(PlayerId, PlayerTotals)>>,
    /// Per (league, team): form, attack and defence ratings, Elo.
    pub team_ratings: Vec<Change<((String, TeamId), TeamRating)>>,
    /// Per league: goals per match, home and away.
    pub league_averages: Vec<Change<(String, LeagueAverages)>>,
    /// `((match, window width ms), Dominance)` for live matches.
    pub dominance: Vec<Change<((MatchId, u64), Dominance)>>,
    /// What can be bet on now: per selection, its price and phase.
    pub available: Vec<Change<(SelectionKey, Quote)>>,
    /// Each selection's last prematch price.
    pub prematch_close: Vec<Change<(SelectionKey, F64)>>,
    /// The feature deltas (the offline store's content).
    pub features: Vec<Change<(MatchId, FeatureVector)>>,
    /// Sorted by feed position.
    pub dead_letters: Vec<DeadLetter>,
    /// Bets and settlements of the policies.
    pub betting: BettingOutputs,
    /// One report per policy (metrics from the ledger).
    pub reports: Vec<PolicyReport>,
    /// Each policy's starting bankroll.
    pub bankroll: f64,
    /// The counts.
    pub summary: Summary,
    /// What the policies emitted beside their bets (a learner's finished episodes, when asked
    /// for), by policy in the order each emitted them. Not written to files.
    pub emitted: Vec<(PolicyId, Emitted)>,
}

/// What the run measured, beside the outputs (not part of the canonical outputs).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunStats {
    /// Timely workers.
    pub workers: usize,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Feed items per second.
    pub records_per_s: f64,
    /// Worker 0's arrangements and operator times, when the run measured them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataflow: Option<DataflowReport>,
}

impl Outputs {
    /// The canonical outputs from everything gathered (`frame`, all times) and the source's
    /// counts of records read and records late.
    pub fn assemble(frame: Frame, records_in: u64, late: u64, cfg: &RunConfig) -> Outputs {
        let matches = frame.matches().len() as u64;
        let mut dead_letters: Vec<DeadLetter> = frame
            .dead_letters
            .into_iter()
            .flat_map(|(d, _, r)| std::iter::repeat_n(d, r.max(0) as usize))
            .collect();
        dead_letters.sort();
        let mut rejected_by_reason = BTreeMap::new();
        for d in &dead_letters {
            *rejected_by_reason
                .entry(d.reason.as_str().to_string())
                .or_insert(0) += 1;
        }
        let count = |why: Ignored| {
            frame
                .ignored
                .iter()
                .filter(|(w, _, _)| *w == why)
                .map(|(_, _, r)| *r)
                .sum::<i64>()
                .max(0) as u64
        };
        let summary = Summary {
            records_in,
            records_ok: frame.valid.iter().map(|(_, _, r)| *r).sum::<i64>().max(0) as u64,
            rejected: dead_letters.len() as u64,
            duplicates: count(Ignored::Duplicate),
            stale: count(Ignored::Stale),
            retired: count(Ignored::Retired),
            late,
            matches,
            rejected_by_reason,
            truncated: None,
        };
        let mut decisions: Vec<Decision> = frame
            .decisions
            .into_iter()
            .flat_map(|(d, _, r)| std::iter::repeat_n(d, r.max(0) as usize))
            .collect();
        decisions.sort_by_key(|d| (d.at, d.request.id));
        let mut outputs = Outputs {
            team_match: frame.team_match,
            player_match: frame.player_match,
            player_totals: frame.player_totals,
            team_ratings: frame.team_ratings,
            league_averages: frame.league_averages,
            dominance: frame.dominance,
            available: frame.available,
            prematch_close: frame.prematch_close,
            features: frame.features,
            dead_letters,
            betting: BettingOutputs {
                policies: policy_names(&cfg.policies),
                decisions,
                settlements: frame.settlements,
            },
            reports: Vec::new(),
            bankroll: cfg.bookmaker.bankroll,
            summary,
            emitted: Vec::new(),
        };
        outputs.reports = crate::betting::reports::reports(
            &outputs.betting,
            &outputs.prematch_close,
            cfg.bookmaker.bankroll,
            cfg.seed,
        );
        if !cfg.keep_outputs {
            outputs.prematch_close.clear();
        }
        outputs
    }
}

/// The betting tables, each written as `<name>.parquet` when the run has policies.
pub const BETTING_TABLES: [&str; 3] = ["bets", "settlements", "ledger"];

/// The output tables by name, each written as `<name>.parquet`.
pub const TABLES: [&str; 9] = [
    "team_match_stats",
    "player_match_stats",
    "player_totals",
    "team_ratings",
    "league_averages",
    "dominance",
    "availability",
    "prematch_close",
    "features",
];

fn write_changes<D: Serialize>(
    path: PathBuf,
    names: &[(&str, &str)],
    rows: &[Change<D>],
) -> Result<()> {
    let mut t = ChangeTable::create(&path)?.with_names(names);
    for (d, time, diff) in rows {
        t.push(d, *time, *diff)?;
    }
    t.finish()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Writes the outputs into `dir`: one Parquet change table per collection, `dead_letter.jsonl`
/// and `summary.json` (the canonical summary plus the run's measurements under `run`).
pub fn write_outputs(dir: &Path, outputs: &Outputs, stats: &RunStats) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Key columns get names; value fields keep theirs (`goals`, `elo`, …).
    let names =
        |k0: &'static str, k1: &'static str| [("0.0", k0), ("0.1", k1), ("0", k0), ("1", "")];
    let o = outputs;
    write_changes(
        dir.join("team_match_stats.parquet"),
        &names("match", "side"),
        &o.team_match,
    )?;
    write_changes(
        dir.join("player_match_stats.parquet"),
        &names("match", "player"),
        &o.player_match,
    )?;
    write_changes(
        dir.join("player_totals.parquet"),
        &names("player", ""),
        &o.player_totals,
    )?;
    write_changes(
        dir.join("team_ratings.parquet"),
        &names("league", "team"),
        &o.team_ratings,
    )?;
    write_changes(
        dir.join("league_averages.parquet"),
        &names("league", ""),
        &o.league_averages,
    )?;
    let selection = [("0.0", "match"), ("0.1", "market"), ("0.2", "selection")];
    let quote = [selection[0], selection[1], selection[2], ("1", "")];
    write_changes(dir.join("availability.parquet"), &quote, &o.available)?;
    let close = [selection[0], selection[1], selection[2], ("1", "price")];
    write_changes(
        dir.join("prematch_close.parquet"),
        &close,
        &o.prematch_close,
    )?;
    let windows = names("match", "window_ms");
    write_changes(dir.join("dominance.parquet"), &windows, &o.dominance)?;
    write_changes(
        dir.join("features.parquet"),
        &names("match", ""),
        &o.features,
    )?;
    write_json_lines(&dir.join("dead_letter.jsonl"), outputs.dead_letters.iter())?;
    if !outputs.betting.policies.is_empty() {
        crate::betting::files::write_betting(dir, &outputs.betting, outputs.bankroll)?;
    }
    #[derive(Serialize)]
    struct SummaryFile<'a> {
        #[serde(flatten)]
        summary: &'a Summary,
        policies: &'a [PolicyReport],
        run: &'a RunStats,
    }
    let text = serde_json::to_string_pretty(&SummaryFile {
        summary: &outputs.summary,
        policies: &outputs.reports,
        run: stats,
    })?;
    std::fs::write(dir.join("summary.json"), text + "\n").context("writing summary.json")?;
    Ok(())
}

impl Outputs {
    /// A canonical text form: one JSON line per change, table by table (for golden files and
    /// byte-for-byte comparisons).
    pub fn canonical_text(&self) -> String {
        fn section<D: Serialize>(out: &mut String, name: &str, rows: &[Change<D>]) {
            out.push_str(&format!("# {name} ({} changes)\n", rows.len()));
            for r in rows {
                out.push_str(&serde_json::to_string(r).unwrap_or_default());
                out.push('\n');
            }
        }
        let mut s = String::new();
        section(&mut s, "team_match_stats", &self.team_match);
        section(&mut s, "player_match_stats", &self.player_match);
        section(&mut s, "player_totals", &self.player_totals);
        section(&mut s, "team_ratings", &self.team_ratings);
        section(&mut s, "league_averages", &self.league_averages);
        section(&mut s, "dominance", &self.dominance);
        section(&mut s, "availability", &self.available);
        section(&mut s, "prematch_close", &self.prematch_close);
        section(&mut s, "features", &self.features);
        section(&mut s, "settlements", &self.betting.settlements);
        s.push_str(&format!("# decisions ({})\n", self.betting.decisions.len()));
        for d in &self.betting.decisions {
            s.push_str(&serde_json::to_string(d).unwrap_or_default());
            s.push('\n');
        }
        s.push_str(&format!("# dead_letters ({})\n", self.dead_letters.len()));
        for d in &self.dead_letters {
            s.push_str(&serde_json::to_string(d).unwrap_or_default());
            s.push('\n');
        }
        s.push_str("# summary\n");
        s.push_str(&serde_json::to_string(&self.summary).unwrap_or_default());
        s.push('\n');
        s
    }
}

/// The feature vectors as of time `t`: the feature deltas with time ≤ `t`, accumulated.
pub fn features_at(outputs: &Outputs, t: Time) -> BTreeMap<MatchId, FeatureVector> {
    oddsflow_operators::as_of(&outputs.features, &t)
}

/// Reads the offline store (a replay's `features.parquet`) as of time `t`: the rows with
/// `time ≤ t`, accumulated — only what a live system knew at `t`. Each vector is returned as a
/// JSON object of its columns (without `match`, `time`, `diff`).
pub fn features_from_store(path: &Path, t: Time) -> Result<BTreeMap<MatchId, serde_json::Value>> {
    let rows = crate::io::table::read_table_json(path)?;
    let mut changes: Vec<Change<(MatchId, String)>> = Vec::with_capacity(rows.len());
    for mut row in rows {
        let obj = row
            .as_object_mut()
            .ok_or_else(|| anyhow::anyhow!("{}: a row is not an object", path.display()))?;
        let time = obj
            .remove("time")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| anyhow::anyhow!("{}: a row without time", path.display()))?;
        let diff = obj.remove("diff").and_then(|v| v.as_i64()).unwrap_or(0);
        let m = obj
            .remove("match")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| anyhow::anyhow!("{}: a row without match", path.display()))?;
        changes.push(((m, row.to_string()), time, diff));
    }
    oddsflow_operators::as_of(&changes, &t)
        .into_iter()
        .map(|(m, text)| Ok((m, serde_json::from_str(&text)?)))
        .collect()
}
