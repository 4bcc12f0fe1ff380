//! The replay runtime: a recorded feed through the dataflows on timely workers.
//!
//! ```text
//!  feed file ──(every worker reads it all, sends its share)──► ingest ─► aggregates
//!                                                                 │           │
//!                       worker 0 gathers: dead letters, counters ◄┘  changes ◄┘ ──► DIR/*.parquet,
//!                                                                                  dead_letter.jsonl,
//!                                                                                  summary.json
//! ```
//!
//! **Time.** Dataflow timestamps are event time in UTC ms rounded down to `granularity_ms`
//! (default 1 s). The feed clock is the largest event time read so far; the input frontier is the
//! clock minus `lateness_ms`, rounded down. A record is sent at its own rounded event time, or —
//! if that is already behind the frontier — at the frontier, and counted as *late*: applied at the
//! current time, never lost. A line whose event time cannot be read is sent at the frontier (it
//! will be dead-lettered by the parser).
//!
//! **Determinism.** Every worker reads the whole feed to advance the same clock, so the time each
//! record is given depends only on the feed, not on how many workers or processes there are;
//! worker `i` of `n` sends the records whose position is `i mod n`, and ingest routes them by
//! match. Outputs are gathered on worker 0, consolidated and sorted: the canonical form is
//! byte-identical for 1 worker, 2 workers and 2 processes.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::aggregates::{PlayerMatchStats, PlayerTotals, TeamMatchStats};
use oddsflow_dataflows::availability::{Quote, SelectionKey};
use oddsflow_dataflows::bookmaker::{BookmakerConfig, Decision};
use oddsflow_dataflows::dominance::{Dominance, DominanceConfig};
use oddsflow_dataflows::features::FeatureVector;
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::F64;
use oddsflow_dataflows::model::{MatchId, PlayerId, Side, TeamId};
use oddsflow_dataflows::pipeline::PipelineConfig;
use oddsflow_dataflows::ratings::{LeagueAverages, RatingConfig, TeamRating};
use oddsflow_dataflows::reject::DeadLetter;
use oddsflow_dataflows::wire::peek_ts;
use oddsflow_operators::Ignored;

use crate::host::{Fed, Frame, Hosted, host};
use crate::introspection::{DataflowProbe, DataflowReport};
use crate::ledger::{BettingOutputs, PolicyReport};
use crate::policy::{PolicySpec, Truth};
use crate::table::{ChangeTable, write_json_lines};

/// One change of an output collection: data, time, diff.
pub type Change<D> = (D, Time, i64);

/// Where a worker reads the feed from. Every worker opens its own reader over the whole feed.
pub type FeedOpener =
    Arc<dyn Fn() -> Result<Box<dyn Iterator<Item = Result<Payload>>>> + Send + Sync>;

/// A feed file (`.jsonl`, `.jsonl.gz`, `.parquet`).
pub fn file_feed(path: &Path) -> FeedOpener {
    let path = path.to_path_buf();
    Arc::new(move || {
        let reader = crate::feed::read_feed(&path)?;
        Ok(Box::new(reader) as Box<dyn Iterator<Item = Result<Payload>>>)
    })
}

/// An in-memory feed (tests, benchmarks).
pub fn memory_feed(items: Vec<Payload>) -> FeedOpener {
    let items = Arc::new(items);
    Arc::new(move || {
        let items = items.clone();
        Ok(
            Box::new((0..items.len()).map(move |i| Ok(items[i].clone())))
                as Box<dyn Iterator<Item = Result<Payload>>>,
        )
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplayConfig {
    /// Timestamp granularity in ms: event times are rounded down to it.
    pub granularity_ms: u64,
    /// How far behind the feed clock the input frontier stays, in ms.
    pub lateness_ms: u64,
    pub ratings: RatingConfig,
    pub dominance: DominanceConfig,
    /// How long after a match is settled (result or abandonment) its per-match state is retired,
    /// in ms of event time.
    pub retire_after_ms: u64,
    /// Show a progress bar (only drawn on a terminal, by worker 0).
    pub progress: bool,
    /// Stop reading the feed once the input frontier has passed this time: nothing read later
    /// can change the collections at times up to it (point-in-time queries).
    pub until: Option<Time>,
    /// Gather the output collections on worker 0 (the default). Off, the changes are dropped
    /// where they are produced: for measuring the dataflow alone. (Bets, settlements and
    /// prematch closes are always gathered: the ledger needs them.)
    pub keep_outputs: bool,
    /// The policies that bet, policy `i` with id `i` (none: no bookmaker stage).
    pub policies: Vec<PolicySpec>,
    pub bookmaker: BookmakerConfig,
    /// Seed of the bootstrap intervals in the reports.
    pub seed: u64,
    /// Measure worker 0's arrangement sizes and operator times (`RunStats::dataflow`;
    /// benchmarks).
    #[serde(default, skip_serializing)]
    pub introspect: bool,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            granularity_ms: 1_000,
            lateness_ms: 30_000,
            ratings: RatingConfig::default(),
            dominance: DominanceConfig::default(),
            retire_after_ms: PipelineConfig::default().retire_after_ms,
            progress: true,
            until: None,
            keep_outputs: true,
            policies: Vec::new(),
            bookmaker: BookmakerConfig::default(),
            seed: 0,
            introspect: false,
        }
    }
}

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
    pub rejected_by_reason: BTreeMap<String, u64>,
}

/// Everything a replay produces, in canonical form (consolidated, sorted by data then time).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs {
    pub team_match: Vec<Change<((MatchId, Side), TeamMatchStats)>>,
    pub player_match: Vec<Change<((MatchId, PlayerId), PlayerMatchStats)>>,
    pub player_totals: Vec<Change<(PlayerId, PlayerTotals)>>,
    pub team_ratings: Vec<Change<((String, TeamId), TeamRating)>>,
    pub league_averages: Vec<Change<(String, LeagueAverages)>>,
    /// `((match, window width ms), Dominance)` for live matches.
    pub dominance: Vec<Change<((MatchId, u64), Dominance)>>,
    pub available: Vec<Change<(SelectionKey, Quote)>>,
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
    pub summary: Summary,
}

/// What the run measured, beside the outputs (not part of the canonical outputs).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunStats {
    pub workers: usize,
    pub elapsed_s: f64,
    pub records_per_s: f64,
    /// Worker 0's arrangements and operator times, when the run measured them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataflow: Option<DataflowReport>,
}

fn rounded(ts: i64, granularity: u64) -> Time {
    let t = ts.max(0) as u64;
    t - t % granularity
}

/// The time a source gives a record with event time `ts` (`None`: unreadable) while it may send
/// from `cap`: its own event time rounded down to the granularity, or `cap` if that is earlier
/// (the record is *late*). Returns the time and whether the record was late.
pub fn time_for(ts: Option<i64>, cap: Time, granularity: u64) -> (Time, bool) {
    match ts.filter(|ts| *ts >= 0) {
        Some(ts) if rounded(ts, granularity) >= cap => (rounded(ts, granularity), false),
        Some(_) => (cap, true),
        None => (cap, false),
    }
}

/// The input frontier that a feed clock (the largest event time read) allows: the clock minus
/// the lateness, rounded down to the granularity.
pub fn frontier_for(clock: i64, lateness_ms: u64, granularity: u64) -> Time {
    rounded(clock.saturating_sub(lateness_ms as i64), granularity)
}

/// Replays a feed on the timely configuration `timely`. Returns the outputs on the process that
/// hosts worker 0, `None` on the others.
pub fn replay(
    feed: FeedOpener,
    cfg: &ReplayConfig,
    truth: Option<Arc<Truth>>,
    timely: timely::Config,
) -> Result<Option<(Outputs, RunStats)>> {
    let cfg = checked_config(cfg, truth.as_ref())?;
    let guards = timely::execute(timely, move |worker| {
        run_worker(worker, &feed, &cfg, truth.as_ref())
    })
    .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?;
    let mut result = None;
    for r in guards.join() {
        let r = r.map_err(|e| anyhow::anyhow!("a worker failed: {e}"))??;
        if r.is_some() {
            result = r;
        }
    }
    Ok(result)
}

/// `cfg` with each policy built once, so that a bad configuration (the oracle without a truth
/// channel) is an error before any worker starts.
pub fn checked_config(cfg: &ReplayConfig, truth: Option<&Arc<Truth>>) -> Result<ReplayConfig> {
    let mut cfg = cfg.clone();
    for spec in &mut cfg.policies {
        // The oracle reads the truth published before the end of the timestamp it decides at.
        if let PolicySpec::Oracle(c) = spec {
            c.granularity_ms = cfg.granularity_ms.max(1);
        }
        spec.build(truth)?;
    }
    Ok(cfg)
}

/// A progress spinner on stderr, drawn only on a terminal.
pub fn progress_bar(show: bool) -> Option<indicatif::ProgressBar> {
    (show && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed_precise} {human_pos} records  {rate} records/s  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}", s.per_sec());
                },
            ),
        );
        bar
    })
}

fn run_worker(
    worker: &mut timely::worker::Worker,
    feed: &FeedOpener,
    cfg: &ReplayConfig,
    truth: Option<&Arc<Truth>>,
) -> Result<Option<(Outputs, RunStats)>> {
    let (index, peers) = (worker.index(), worker.peers());
    let started = Instant::now();
    let granularity = cfg.granularity_ms.max(1);
    let introspection = if cfg.introspect && index == 0 {
        DataflowProbe::register(worker)
    } else {
        None
    };
    let Hosted {
        mut feeder,
        gathered,
        probe,
    } = host(worker, cfg, truth)?;
    let bar = progress_bar(index == 0 && cfg.progress);

    let mut clock: Option<i64> = None;
    let mut frontier: Time = 0;
    let (mut records_in, mut late) = (0u64, 0u64);

    if index == 0 {
        tracing::info!(
            workers = peers,
            granularity_ms = cfg.granularity_ms,
            lateness_ms = cfg.lateness_ms,
            "replay starts"
        );
    }
    let items = feed().context("opening the feed")?;
    for (seq, item) in items.enumerate() {
        if cfg.until.is_some_and(|u| frontier > u) {
            break;
        }
        let item = item.with_context(|| format!("reading feed item {seq}"))?;
        records_in += 1;
        let ts = match &item {
            Payload::Line(line) => peek_ts(line),
            Payload::Decoded(r) => Some(r.ts),
        }
        .filter(|ts| *ts >= 0);
        let (time, was_late) = time_for(ts, frontier, granularity);
        late += was_late as u64;
        if seq % peers == index {
            feeder.give(time, Fed::Item((seq as u64, item)));
        }
        if let Some(ts) = ts {
            if clock.is_none_or(|c| ts > c) {
                clock = Some(ts);
                let f = frontier_for(ts, cfg.lateness_ms, granularity);
                if f > frontier {
                    // Send what is pending before giving up the right to send at earlier times.
                    frontier = f;
                    feeder.downgrade(frontier);
                }
            }
        }
        if feeder.pending() >= 1024 || seq % 1024 == 0 {
            feeder.flush();
            worker.step();
            // Flow control: do not run more than a minute of event time ahead of the outputs.
            let behind = frontier.saturating_sub(60_000);
            while probe.less_than(&behind) {
                worker.step();
            }
            if let Some(bar) = &bar {
                bar.set_position(records_in);
            }
        }
    }
    // Arrangements as the last record is in (closing the input drops every trace).
    let dataflow = introspection.map(|a| {
        feeder.flush();
        while probe.less_than(&frontier) {
            worker.step();
        }
        if let Some(mut r) = worker.log_register() {
            r.flush();
        }
        a.report()
    });
    feeder.close();
    while !probe.done() {
        worker.step();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if index != 0 {
        return Ok(None);
    }
    let elapsed = started.elapsed().as_secs_f64();
    tracing::info!(records_in, late, elapsed_s = elapsed, "replay finished");
    let outputs = Outputs::assemble(gathered.drain(None), records_in, late, cfg);
    let stats = RunStats {
        workers: peers,
        elapsed_s: elapsed,
        records_per_s: records_in as f64 / elapsed.max(1e-9),
        dataflow,
    };
    Ok(Some((outputs, stats)))
}

impl Outputs {
    /// The canonical outputs from everything gathered (`frame`, all times) and the source's
    /// counts of records read and records late.
    pub fn assemble(frame: Frame, records_in: u64, late: u64, cfg: &ReplayConfig) -> Outputs {
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
        };
        outputs.reports = crate::ledger::reports(
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

/// Policy names for the reports: each spec's name, suffixed `-2`, `-3`… when repeated.
pub fn policy_names(specs: &[PolicySpec]) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    specs
        .iter()
        .map(|s| {
            let n = seen.entry(s.name()).or_insert(0);
            *n += 1;
            if *n == 1 {
                s.name().to_string()
            } else {
                format!("{}-{n}", s.name())
            }
        })
        .collect()
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
        crate::ledger::write_betting(dir, &outputs.betting, outputs.bankroll)?;
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
    let mut acc: BTreeMap<(MatchId, &FeatureVector), i64> = BTreeMap::new();
    for ((m, v), time, diff) in &outputs.features {
        if *time <= t {
            *acc.entry((*m, v)).or_insert(0) += diff;
        }
    }
    acc.into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|((m, v), _)| (m, v.clone()))
        .collect()
}

/// Reads the offline store (a replay's `features.parquet`) as of time `t`: the rows with
/// `time ≤ t`, accumulated — only what a live system knew at `t`. Each vector is returned as a
/// JSON object of its columns (without `match`, `time`, `diff`).
pub fn features_from_store(path: &Path, t: Time) -> Result<BTreeMap<MatchId, serde_json::Value>> {
    let rows = crate::table::read_table_json(path)?;
    let mut acc: BTreeMap<(MatchId, String), (i64, serde_json::Value)> = BTreeMap::new();
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
        if time <= t {
            let key = (m, row.to_string());
            acc.entry(key).or_insert((0, row)).0 += diff;
        }
    }
    Ok(acc
        .into_iter()
        .filter(|(_, (n, _))| *n > 0)
        .map(|((m, _), (_, v))| (m, v))
        .collect())
}
