//! The command line: `oddsflow simulate`, `oddsflow replay`, `oddsflow features`, and the
//! learner's `oddsflow train` and `oddsflow eval`.
//!
//! `replay` takes timely's own process arguments (`-w`, `-n`, `-p`, `-h`) so that the same command
//! runs as several processes: `oddsflow replay FEED --out DIR -n 2 -p 0` and `… -p 1` on
//! localhost (ports 2101, 2102 unless `-h HOSTFILE` lists `host:port` lines). Only the process
//! that hosts worker 0 writes the outputs.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{ArgAction, Args, Parser, Subcommand};

use std::sync::Arc;

use crate::feed::FeedWriter;
use crate::policy::{PolicySpec, Truth};
use crate::replay::{ReplayConfig, file_feed, memory_feed, replay, write_outputs};
use crate::sim::{
    ConcurrentConfig, ConcurrentFeed, Inefficiency, NoiseConfig, SimConfig, simulate,
};
use oddsflow_dataflows::bookmaker::BookmakerConfig;
use oddsflow_dataflows::ingest::Payload;

/// The shipped demo feed, embedded so that `oddsflow replay` runs anywhere without arguments.
pub const DEMO_FEED: &[u8] = include_bytes!("../fixtures/demo.jsonl.gz");
/// The simulator's truth channel for the demo feed (for the oracle policy).
pub const DEMO_TRUTH: &[u8] = include_bytes!("../fixtures/demo.truth.jsonl.gz");

#[derive(Parser, Debug)]
#[command(
    name = "oddsflow",
    version,
    about = "Learn football betting strategies from live feeds, in a virtual world"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a simulated feed.
    Simulate(SimulateArgs),
    /// Replay a recorded feed through the dataflows.
    Replay(ReplayArgs),
    /// Print the feature vector a live system would have had for a match at a time.
    Features(FeaturesArgs),
    /// Train the `drqn` policy by replaying feeds, checkpointing its network.
    Train(TrainArgs),
    /// Evaluate a trained `drqn` network (frozen, greedy) against the baselines on a feed.
    Eval(EvalArgs),
    /// Publish a recorded feed to a Kafka topic.
    Produce(ProduceArgs),
    /// Run the whole pipeline live from a Kafka topic (crash-safe, exactly-once results).
    Run(RunArgs),
    /// Import real data (football-data, StatsBomb, Betfair) into a feed.
    Import(ImportArgs),
}

/// `oddsflow import SOURCE … --out FEED`: real data as an ordinary feed (see `src/import/`).
/// What a source cannot map (a refused row, an unreadable message) goes, with its reason, to
/// `FEED_STEM.refused.jsonl` beside the feed, and is counted on the terminal.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

#[derive(Subcommand, Debug)]
pub enum ImportSource {
    /// football-data.co.uk CSVs (plain or .gz): fixtures, prematch markets at the opening then
    /// the closing odds, results, match statistics as final counters.
    FootballData {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The feed to write (`.jsonl`, `.jsonl.gz`, `.parquet`).
        #[arg(long)]
        out: PathBuf,
    },
    /// StatsBomb open-data events as a live feed; prematch odds from football-data, in-play odds
    /// from a pricing model (marked `modelled`).
    Statsbomb {
        /// Directory of `<match_id>.json[.gz]` event files.
        events_dir: PathBuf,
        /// Directory of `<match_id>.json[.gz]` lineup files.
        #[arg(long)]
        lineups: PathBuf,
        /// The matches file (fixture list with kick-offs and scores).
        #[arg(long)]
        matches: PathBuf,
        /// football-data CSVs to join the prematch odds from.
        #[arg(long, num_args = 1..)]
        odds: Vec<PathBuf>,
        /// Only these match ids (default: every match in the events directory).
        #[arg(long = "match", num_args = 1..)]
        only: Vec<u64>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Betfair Exchange stream recordings (`op: mcm`, plain, .gz or .bz2) and Betfair A-League
    /// CSVs: markets, best available prices, settlement.
    Betfair {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

/// `oddsflow train`: each pass replays every feed in order with the single policy `drqn` acting
/// (with exploration) from the checkpoint in `--out`, collects the final episodes into one
/// trainer's buffer, then runs `--updates` training updates and saves the checkpoint the next
/// pass acts with (see `learner::train`). A checkpoint already in `--out` is continued.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The feeds to train on, replayed in order (`.jsonl`, `.jsonl.gz`, `.parquet`).
    #[arg(required = true)]
    pub feeds: Vec<PathBuf>,
    /// The checkpoint directory (continued when it holds one, written after every pass).
    #[arg(long)]
    pub out: PathBuf,
    /// Passes over the feeds (act, then learn).
    #[arg(long, default_value_t = 3)]
    pub passes: usize,
    /// Training updates after each pass (each a batch of whole episodes from the buffer).
    #[arg(long, default_value_t = 300)]
    pub updates: usize,
    /// Seed of the policy; pass `i` uses `seed + i`.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (timely's `-w`).
    #[arg(long, short = 'w', default_value_t = 1)]
    pub workers: usize,
    /// The learner's bankroll while training. Large by default: training is not a money test,
    /// and a learner that goes broke stops getting experience (the bookmaker's per-bet, match
    /// and exposure limits still apply).
    #[arg(long, default_value_t = 1_000_000.0)]
    pub bankroll: f64,
    /// Each pass replays one feed, the next in turn, rather than all of them: with one feed per
    /// pass (say, simulated from different seeds), the learner never acts twice on a match.
    #[arg(long)]
    pub feed_per_pass: bool,
    /// Weight of the market prior: how strongly the probability head is held to the book's
    /// prices where outcomes disagree with them only weakly.
    #[arg(long)]
    pub prior_weight: Option<f64>,
}

/// `oddsflow eval`: replays the feed with the baselines (the oracle when a truth channel is
/// beside the feed) and the `drqn` policy from `--model`, frozen (epsilon 0, no training), writes
/// the outputs like `replay` and prints the results table.
///
/// With `--football-data CSV…` instead: the walk-forward evaluation on real prices
/// (`src/walk_forward.rs`): forecasts scored against the Pinnacle close, every policy's bets with
/// intervals, the learner's head trained only on earlier seasons.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The feed (`.jsonl`, `.jsonl.gz`, `.parquet`).
    #[arg(required_unless_present = "football_data")]
    pub feed: Option<PathBuf>,
    /// The checkpoint directory written by `oddsflow train`.
    #[arg(long, required_unless_present = "football_data")]
    pub model: Option<PathBuf>,
    /// Walk-forward by season over these football-data CSVs (the first season only trains).
    #[arg(long, num_args = 1.., conflicts_with_all = ["feed", "model"])]
    pub football_data: Vec<PathBuf>,
    /// Walk-forward: training updates of the learner's head per test season.
    #[arg(long, default_value_t = 400)]
    pub head_updates: usize,
    /// Output directory.
    #[arg(long, default_value = "out/eval")]
    pub out: PathBuf,
    /// Seed of the random policy and of the bootstrap intervals.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (timely's `-w`).
    #[arg(long, short = 'w', default_value_t = 1)]
    pub workers: usize,
    /// The greedy margin: back a selection only when its Q beats no-bet's by more than this
    /// (reward units: profit per maximum stake).
    #[arg(long)]
    pub min_advantage: Option<f64>,
    /// The probability head's agreement: back a selection only when `p̂ · price − 1` is at
    /// least this (walk-forward default: 0.05).
    #[arg(long)]
    pub min_prob_edge: Option<f64>,
    /// Only the learner, without the baselines.
    #[arg(long)]
    pub no_baselines: bool,
}

#[derive(Args, Debug)]
pub struct FeaturesArgs {
    /// The feed to replay (`.jsonl`, `.jsonl.gz`, `.parquet`); or, with `--store`, omitted.
    pub feed: Option<PathBuf>,
    /// Read a replay's offline store (`DIR/features.parquet`) instead of replaying a feed.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The match id.
    #[arg(long = "match")]
    pub match_id: u64,
    /// Event time: UTC milliseconds, or RFC 3339 (`2026-01-03T14:05:00Z`).
    #[arg(long)]
    pub at: String,
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[arg(long, default_value_t = 100)]
    pub matches: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output feed: `.jsonl`, `.jsonl.gz` or `.parquet`.
    #[arg(long)]
    pub out: PathBuf,
    /// Feed noise: `none` or `typical` (duplicates, reordering, stale versions, corrections, VAR,
    /// malformed lines, abandonments).
    #[arg(long, default_value = "typical")]
    pub noise: String,
    /// A planted inefficiency: `ignores-dominance:SIZE` (0..1) or `lags-after-goals:SECONDS`.
    #[arg(long)]
    pub inefficiency: Option<String>,
    /// Bookmaker margin (overround), e.g. 0.05.
    #[arg(long, default_value_t = 0.05)]
    pub margin: f64,
    /// Where to write the true probabilities (default: `<stem>.truth.jsonl.gz`; `.jsonl` for plain).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Spread the calendar to this many kick-offs per day (default: 320, eight every 15 min for
    /// ten hours). Fewer per day give more match-days: what bootstrap intervals resample.
    #[arg(long)]
    pub matches_per_day: Option<usize>,
    /// Instead of the calendar: a benchmark feed with this many matches in play at once, copies
    /// of a simulated template (`sim/concurrent.rs`), streamed to the file (no truth channel).
    /// `--matches` is then ignored.
    #[arg(long)]
    pub concurrent: Option<usize>,
    /// With `--concurrent`: waves of kick-offs (the feed has concurrent × waves matches).
    #[arg(long, default_value_t = 1, requires = "concurrent")]
    pub waves: usize,
    /// With `--concurrent`: spread a wave's kick-offs over this many minutes (default: one match
    /// length, a steady rate).
    #[arg(long, requires = "concurrent")]
    pub ramp_min: Option<i64>,
    /// With `--concurrent`: cut the feed this many minutes after the first kick-off.
    #[arg(long, requires = "concurrent")]
    pub horizon_min: Option<i64>,
}

/// `oddsflow produce`: publishes a recorded feed to a Kafka topic (one message per item, keyed
/// by match; see `kafka.rs`), creating the topic if needed.
#[derive(Args, Debug)]
pub struct ProduceArgs {
    /// The feed (`.jsonl`, `.jsonl.gz`, `.parquet`); the embedded demo feed when omitted.
    pub feed: Option<PathBuf>,
    /// Bootstrap servers, `host:port[,host:port…]`.
    #[arg(long)]
    pub brokers: String,
    #[arg(long)]
    pub topic: String,
    /// Partitions of the topic, if it has to be created.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Pace by event time × X (2: twice as fast as the feed's own clock).
    #[arg(long, conflicts_with = "max")]
    pub speed: Option<f64>,
    /// As fast as possible (the default).
    #[arg(long)]
    pub max: bool,
}

/// `oddsflow run`: the whole pipeline live from a topic, with its outputs in `--out` (as
/// `replay` writes them, from a crash-safe changelog) and on the output topics.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Bootstrap servers, `host:port[,host:port…]`.
    #[arg(long)]
    pub brokers: String,
    /// The feed topic.
    #[arg(long)]
    pub topic: String,
    /// The consumer group (default `oddsflow-<topic>`).
    #[arg(long)]
    pub group: Option<String>,
    /// How long a partition at its end stays silent before it stops holding the frontier back.
    #[arg(long, default_value_t = 2_000)]
    pub idle_timeout_ms: u64,
    /// Finish once every partition has been at its end and silent this long (default: run until
    /// stopped).
    #[arg(long)]
    pub exit_when_idle_ms: Option<u64>,
    /// Prefix of the output topics (default `<topic>.`).
    #[arg(long)]
    pub output_prefix: Option<String>,
    /// No output topics (the outputs still go to `--out`).
    #[arg(long)]
    pub no_output_topics: bool,
    #[command(flatten)]
    pub pipeline: ReplayArgs,
}

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct ReplayArgs {
    /// The feed (`.jsonl`, `.jsonl.gz`, `.parquet`); the embedded demo feed when omitted.
    pub feed: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "out/replay")]
    pub out: PathBuf,
    /// Worker threads per process (timely's `-w`).
    #[arg(long, short = 'w', default_value_t = 1)]
    pub workers: usize,
    /// Number of processes (timely's `-n`).
    #[arg(short = 'n', long = "processes", default_value_t = 1)]
    pub processes: usize,
    /// This process's index (timely's `-p`).
    #[arg(short = 'p', long = "process", default_value_t = 0)]
    pub process: usize,
    /// File of `host:port` lines, one per process (timely's `-h`).
    #[arg(short = 'h', long = "hostfile")]
    pub hostfile: Option<PathBuf>,
    /// Timestamp granularity in ms.
    #[arg(long, default_value_t = 1_000)]
    pub granularity_ms: u64,
    /// Bounded lateness in ms.
    #[arg(long, default_value_t = 30_000)]
    pub lateness_ms: u64,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Drop the output changes instead of gathering and writing them (measures the dataflow
    /// alone; only the summary and dead letters are written).
    #[arg(long)]
    pub discard_outputs: bool,
    /// Policies that bet, comma-separated: no-bet, random, favourite, value, oracle; `none` for
    /// none. Default: every baseline (the oracle only where there is a truth channel).
    #[arg(long)]
    pub policies: Option<String>,
    /// The checkpoint the `drqn` policy starts from (default: the shipped pre-trained one,
    /// `fixtures/drqn/`, embedded in the binary). It learns on from there as the feed plays.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Seed of the random policy and of the bootstrap intervals.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The simulator's truth channel, for the oracle policy (default: `<stem>.truth.jsonl.gz`
    /// beside the feed, if it exists; the demo's for the demo feed).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Each policy's starting bankroll.
    #[arg(long, default_value_t = 1_000.0)]
    pub bankroll: f64,
    /// How long an in-play bet waits before the bookmaker checks it, in ms.
    #[arg(long, default_value_t = 5_000)]
    pub inplay_delay_ms: u64,
    /// How far (relative) the price may fall below the price seen, e.g. 0.02.
    #[arg(long, default_value_t = 0.02)]
    pub price_tolerance: f64,
    #[arg(long, action = ArgAction::Help, help = "Print help")]
    pub help: Option<bool>,
    /// Set by `run`: the feed is a topic (no demo truth channel).
    #[arg(skip)]
    pub live: bool,
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(a) => simulate_cmd(a),
        Command::Replay(a) => replay_cmd(a),
        Command::Features(a) => features_cmd(a),
        Command::Train(a) => train_cmd(a),
        Command::Eval(a) => eval_cmd(a),
        Command::Produce(a) => produce_cmd(a),
        Command::Run(a) => run_cmd(a),
        Command::Import(a) => import_cmd(a),
    }
}

/// Writes what an importer could not map beside the feed: `STEM.refused.jsonl`.
fn write_refused(out: &Path, lines: &[serde_json::Value]) -> Result<Option<PathBuf>> {
    if lines.is_empty() {
        return Ok(None);
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
    for l in lines {
        text.push_str(&l.to_string());
        text.push('\n');
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(Some(path))
}

/// An importer's skipped or refused items as `{"reason": …}` lines.
fn reasons(skipped: &[String]) -> Vec<serde_json::Value> {
    skipped
        .iter()
        .map(|s| serde_json::json!({ "reason": s }))
        .collect()
}

fn import_cmd(a: ImportArgs) -> Result<()> {
    use crate::import::{betfair, football_data, statsbomb, write_feed};
    let (records, out, refused, notes) = match a.source {
        ImportSource::FootballData { files, out } => {
            let (records, s) = football_data::import(&files)?;
            let refused = s
                .refused
                .iter()
                .map(|r| serde_json::json!({"file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw}))
                .collect();
            let mut notes = vec![format!(
                "{} files, {} matches ({} duplicates, {} empty rows skipped; kick-off assumed 15:00 UK for {} without Time)",
                s.files, s.matches, s.duplicates, s.empty_rows, s.kickoff_assumed
            )];
            notes.extend(s.sources.iter().map(|(k, n)| format!("  {k}: {n} matches")));
            (records, out, refused, notes)
        }
        ImportSource::Betfair { files, out } => {
            let imp = betfair::import(&files)?;
            let r = &imp.report;
            let notes = vec![format!(
                "{} files: {} events, {} markets, {} prices, {} results",
                r.files, r.events, r.markets, r.odds, r.results
            )];
            (imp.records, out, reasons(&r.skipped), notes)
        }
        ImportSource::Statsbomb {
            events_dir,
            lineups,
            matches,
            odds,
            only,
            out,
        } => {
            let imp = statsbomb::import(&statsbomb::StatsbombArgs {
                events_dir,
                lineups_dir: lineups,
                matches_file: matches,
                odds,
                only,
            })?;
            let r = &imp.report;
            let notes = vec![format!(
                "{} matches ({} with football-data odds), {} events → {} incidents, {} modelled in-play prices",
                r.matches, r.with_odds, r.events, r.incidents, r.modelled_odds
            )];
            (imp.records, out, reasons(&r.skipped), notes)
        }
    };
    let n = write_feed(&records, &out)?;
    for l in notes {
        println!("{l}");
    }
    println!("wrote {n} records to {}", out.display());
    let refused: Vec<serde_json::Value> = refused;
    if let Some(p) = write_refused(&out, &refused)? {
        println!(
            "{} refused or skipped, with reasons: {}",
            refused.len(),
            p.display()
        );
    }
    Ok(())
}

fn parse_inefficiency(s: &str) -> Result<Inefficiency> {
    let (name, value) = s.split_once(':').unwrap_or((s, ""));
    match name {
        "ignores-dominance" => Ok(Inefficiency::IgnoresDominance {
            size: value.parse().unwrap_or(0.5),
        }),
        "lags-after-goals" => Ok(Inefficiency::LagsAfterGoals {
            seconds: value.parse().unwrap_or(30),
        }),
        _ => bail!(
            "unknown inefficiency {s:?}: use ignores-dominance:SIZE or lags-after-goals:SECONDS"
        ),
    }
}

fn simulate_cmd(a: SimulateArgs) -> Result<()> {
    let noise = match a.noise.as_str() {
        "none" => NoiseConfig::none(),
        "typical" => NoiseConfig::typical(),
        other => bail!("unknown noise level {other:?}: use none or typical"),
    };
    if let Some(concurrent) = a.concurrent {
        return simulate_concurrent(&a, concurrent, noise);
    }
    let cfg = SimConfig {
        matches: a.matches,
        seed: a.seed,
        noise,
        inefficiency: a
            .inefficiency
            .as_deref()
            .map(parse_inefficiency)
            .transpose()?,
        margin: a.margin,
        ..SimConfig::default()
    };
    let cfg = match a.matches_per_day {
        Some(n) => cfg.with_matches_per_day(n),
        None => cfg,
    };
    let started = std::time::Instant::now();
    let out = simulate(&cfg);
    let mut writer = FeedWriter::create(&a.out)?;
    for item in &out.items {
        writer.write(item)?;
    }
    writer.finish()?;
    let truth = a.truth.unwrap_or_else(|| {
        let name = a
            .out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let stem = name.split('.').next().unwrap_or("feed").to_string();
        a.out.with_file_name(format!("{stem}.truth.jsonl.gz"))
    });
    crate::table::write_json_lines(&truth, out.truth.iter())?;
    eprintln!(
        "simulated {} matches: {} feed items to {}, {} truth rows to {} in {:.1}s",
        a.matches,
        out.items.len(),
        a.out.display(),
        out.truth.len(),
        truth.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn simulate_concurrent(a: &SimulateArgs, concurrent: usize, noise: NoiseConfig) -> Result<()> {
    if a.inefficiency.is_some() || a.matches_per_day.is_some() || a.truth.is_some() {
        bail!("--concurrent takes none of --inefficiency, --matches-per-day, --truth");
    }
    let cfg = ConcurrentConfig {
        concurrent,
        waves: a.waves,
        ramp_ms: a.ramp_min.map(|m| m * 60_000),
        horizon_ms: a.horizon_min.map(|m| m * 60_000),
        seed: a.seed,
        noise,
        ..ConcurrentConfig::default()
    };
    let started = std::time::Instant::now();
    let mut feed = ConcurrentFeed::new(&cfg).map_err(|e| anyhow::anyhow!(e))?;
    let mut writer = FeedWriter::create(&a.out)?;
    for item in feed.by_ref() {
        writer.write(&item)?;
    }
    writer.finish()?;
    let s = feed.stats();
    eprintln!(
        "{} matches, {concurrent} per wave: {} feed items to {} ({:.0} in play on average, {} at most) in {:.1}s",
        cfg.matches(),
        s.items,
        a.out.display(),
        s.mean_live,
        s.peak_live,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn train_cmd(a: TrainArgs) -> Result<()> {
    use crate::learner::checkpoint;
    use crate::learner::train::{TrainOptions, train};
    let mut opts = TrainOptions {
        passes: a.passes,
        seed: a.seed,
        workers: a.workers,
        bankroll: a.bankroll,
        updates_per_pass: a.updates,
        feed_per_pass: a.feed_per_pass,
        ..TrainOptions::new(a.out.clone())
    };
    if let Some(w) = a.prior_weight {
        opts.policy.prior_weight = w;
    }
    let report = train(&a.feeds, &opts, &mut |line| println!("{line}"))?;
    println!(
        "trained: {} updates in {:.1} s, acting {:.1} s ({:.0} decisions/s); checkpoint {} ({} updates in all)",
        report.updates,
        report.update_s,
        report.replay_s,
        report.decisions_per_s,
        a.out.join(checkpoint::META_FILE).display(),
        checkpoint::updates(&a.out)?
    );
    Ok(())
}

fn eval_cmd(a: EvalArgs) -> Result<()> {
    use crate::learner::agent::DrqnPolicyConfig;
    if !a.football_data.is_empty() {
        let mut cfg = crate::walk_forward::WalkForwardConfig::new(a.football_data, a.out);
        cfg.seed = a.seed;
        cfg.workers = a.workers;
        cfg.head.updates = a.head_updates;
        if let Some(e) = a.min_prob_edge {
            cfg.min_prob_edge = e;
        }
        let w = crate::walk_forward::walk_forward(&cfg)?;
        print!("{}", crate::walk_forward::format_markdown(&w));
        println!(
            "\nwritten: {}/walk_forward.md, walk_forward.json",
            cfg.out.display()
        );
        return Ok(());
    }
    let (Some(feed), Some(model)) = (a.feed, a.model) else {
        bail!("eval needs FEED and --model, or --football-data CSV…");
    };
    let drqn = PolicySpec::Drqn(DrqnPolicyConfig {
        seed: a.seed,
        checkpoint_in: Some(model),
        frozen: true,
        min_advantage: a
            .min_advantage
            .unwrap_or(DrqnPolicyConfig::default().min_advantage),
        min_prob_edge: a
            .min_prob_edge
            .unwrap_or(DrqnPolicyConfig::default().min_prob_edge),
        ..DrqnPolicyConfig::default()
    });
    let args = ReplayArgs {
        feed: Some(feed),
        out: a.out,
        workers: a.workers,
        processes: 1,
        process: 0,
        hostfile: None,
        granularity_ms: 1_000,
        lateness_ms: 30_000,
        no_progress: true,
        discard_outputs: false,
        policies: a.no_baselines.then(|| "none".to_string()),
        model: None,
        seed: a.seed,
        truth: None,
        bankroll: 1_000.0,
        inplay_delay_ms: 5_000,
        price_tolerance: 0.02,
        help: None,
        live: false,
    };
    replay_with(args, vec![drqn])
}

/// The shipped pre-trained `drqn` checkpoint (`fixtures/drqn/`, trained by the learning benchmark
/// on a simulated planted world, see the README), embedded in the binary and written to a
/// directory of the system's temporary folder named by its content hash.
pub fn shipped_checkpoint() -> Result<PathBuf> {
    use crate::learner::checkpoint::{META_FILE, PARAMS_FILE};
    const META: &[u8] = include_bytes!("../fixtures/drqn/checkpoint.json");
    const PARAMS: &[u8] = include_bytes!("../fixtures/drqn/model.bpk");
    // FNV-1a over both files.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in META.iter().chain(PARAMS) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let dir = std::env::temp_dir().join(format!("oddsflow-drqn-{h:016x}"));
    let complete = |d: &Path| {
        std::fs::read(d.join(META_FILE)).is_ok_and(|m| m == META)
            && std::fs::read(d.join(PARAMS_FILE)).is_ok_and(|p| p == PARAMS)
    };
    if !complete(&dir) {
        // Written beside and renamed, so a concurrent process never reads half a file.
        let tmp =
            std::env::temp_dir().join(format!("oddsflow-drqn-{h:016x}.{}.tmp", std::process::id()));
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        std::fs::write(tmp.join(META_FILE), META)?;
        std::fs::write(tmp.join(PARAMS_FILE), PARAMS)?;
        if std::fs::rename(&tmp, &dir).is_err() {
            // Another process got there first (or a stale partial one is in the way).
            let _ = std::fs::remove_dir_all(&tmp);
            if !complete(&dir) {
                bail!(
                    "could not write the shipped checkpoint to {}",
                    dir.display()
                );
            }
        }
    }
    Ok(dir)
}

fn replay_cmd(a: ReplayArgs) -> Result<()> {
    replay_with(a, Vec::new())
}

/// `replay`, with `extra` policies after those of `--policies`.
fn replay_with(a: ReplayArgs, extra: Vec<PolicySpec>) -> Result<()> {
    let (timely, cfg, truth) = pipeline_setup(&a, extra)?;
    let feed = match &a.feed {
        Some(path) => file_feed(path),
        None => {
            eprintln!("no feed given: replaying the embedded demo feed (fixtures/demo.jsonl.gz)");
            memory_feed(crate::kafka::demo_items()?)
        }
    };
    if let Some((outputs, stats)) = replay(feed, &cfg, truth, timely)? {
        write_outputs(&a.out, &outputs, &stats)?;
        let s = &outputs.summary;
        println!(
            "replayed {} records ({} ok, {} rejected, {} duplicates, {} stale, {} late) of {} matches on {} workers in {:.2}s: {:.0} records/s",
            s.records_in,
            s.records_ok,
            s.rejected,
            s.duplicates,
            s.stale,
            s.late,
            s.matches,
            stats.workers,
            stats.elapsed_s,
            stats.records_per_s
        );
        print_outputs(&a.out, &outputs, a.seed);
    }
    Ok(())
}

/// The timely configuration, the pipeline's configuration and the truth channel of a `replay`
/// or `run`.
fn pipeline_setup(
    a: &ReplayArgs,
    extra: Vec<PolicySpec>,
) -> Result<(timely::Config, ReplayConfig, Option<Arc<Truth>>)> {
    let mut args = vec![
        "-w".to_string(),
        a.workers.to_string(),
        "-n".into(),
        a.processes.to_string(),
        "-p".into(),
        a.process.to_string(),
    ];
    if let Some(h) = &a.hostfile {
        args.extend(["-h".to_string(), h.display().to_string()]);
    }
    let timely = timely::Config::from_args(args.into_iter())
        .map_err(|e| anyhow::anyhow!("timely arguments: {e}"))?;
    let truth_path = a
        .truth
        .clone()
        .or_else(|| a.feed.as_deref().and_then(Truth::beside));
    // The truth channel is only read when the oracle runs (the default list has it when there is one).
    let wants_oracle = a
        .policies
        .as_deref()
        .is_none_or(|list| list.split(',').any(|n| n.trim() == "oracle"));
    let truth = match (&truth_path, &a.feed) {
        _ if !wants_oracle => None,
        (Some(path), _) => Some(Truth::load(path)?),
        (None, None) if !a.live => Some(demo_truth()?),
        (None, _) => None,
    }
    .map(Arc::new);
    let mut policies = match a.policies.as_deref() {
        None => {
            // The baselines and the learner (`eval` brings its own, frozen).
            let mut v = PolicySpec::baselines(a.seed, truth.is_some());
            if extra.is_empty() {
                v.push(PolicySpec::parse("drqn", a.seed)?);
            }
            v
        }
        Some("none") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|n| PolicySpec::parse(n.trim(), a.seed))
            .collect::<Result<Vec<_>>>()?,
    };
    // The learner starts from `--model` or from the shipped checkpoint.
    for p in &mut policies {
        if let PolicySpec::Drqn(c) = p
            && c.checkpoint_in.is_none()
        {
            c.checkpoint_in = Some(match &a.model {
                Some(dir) => dir.clone(),
                None => shipped_checkpoint()?,
            });
        }
    }
    policies.extend(extra);
    let cfg = ReplayConfig {
        granularity_ms: a.granularity_ms,
        lateness_ms: a.lateness_ms,
        progress: !a.no_progress,
        keep_outputs: !a.discard_outputs,
        policies,
        bookmaker: BookmakerConfig {
            bankroll: a.bankroll,
            inplay_delay_ms: a.inplay_delay_ms,
            price_tolerance: a.price_tolerance,
            ..BookmakerConfig::default()
        },
        seed: a.seed,
        ..ReplayConfig::default()
    };
    Ok((timely, cfg, truth))
}

/// Prints where each output went, and the results table.
fn print_outputs(out: &Path, outputs: &crate::replay::Outputs, seed: u64) {
    for (name, rows) in [
        ("team_match_stats", outputs.team_match.len()),
        ("player_match_stats", outputs.player_match.len()),
        ("player_totals", outputs.player_totals.len()),
        ("team_ratings", outputs.team_ratings.len()),
        ("league_averages", outputs.league_averages.len()),
        ("dominance", outputs.dominance.len()),
        ("availability", outputs.available.len()),
        ("prematch_close", outputs.prematch_close.len()),
        ("features", outputs.features.len()),
    ] {
        println!(
            "  {:<20} {:>9} changes  {}/{name}.parquet",
            name,
            rows,
            out.display()
        );
    }
    println!(
        "  {:<20} {:>9} records  {}/dead_letter.jsonl",
        "dead letters",
        outputs.dead_letters.len(),
        out.display()
    );
    if !outputs.betting.policies.is_empty() {
        for name in crate::replay::BETTING_TABLES {
            println!(
                "  {:<20} {:>9}          {}/{name}.parquet",
                name,
                "",
                out.display()
            );
        }
    }
    println!("  summary              {}/summary.json", out.display());
    if !outputs.reports.is_empty() {
        println!();
        print!("{}", crate::ledger::format_table(&outputs.reports));
        // Apart when bets came from more than one kind: modelled prices never mix with market ones.
        let parts = crate::ledger::reports_by_price_source(
            &outputs.betting,
            &outputs.prematch_close,
            outputs.bankroll,
            seed,
        );
        let with_bets = |r: &[crate::ledger::PolicyReport]| r.iter().any(|p| p.requests > 0);
        if parts.iter().filter(|(_, r)| with_bets(r)).count() > 1 {
            println!(
                "\nApart (modelled prices: the in-play odds an importer derived from its pricing model):"
            );
            for (name, reports) in parts.iter().filter(|(_, r)| with_bets(r)) {
                println!("\n{name}:");
                print!("{}", crate::ledger::format_table(reports));
            }
        }
    }
}

/// `oddsflow produce`: publishes a recorded feed to a topic.
fn produce_cmd(a: ProduceArgs) -> Result<()> {
    use crate::kafka::{Pace, ensure_topics, produce};
    ensure_topics(&a.brokers, &[&a.topic], a.partitions)?;
    let pace = match a.speed {
        Some(x) if !a.max => Pace::Speed(x),
        _ => Pace::Max,
    };
    let items: Box<dyn Iterator<Item = Result<Payload>>> = match &a.feed {
        Some(path) => crate::kafka::read_items(path)?,
        None => Box::new(crate::kafka::demo_items()?.into_iter().map(Ok)),
    };
    let stats = produce(items, &a.brokers, &a.topic, pace)?;
    println!(
        "produced {} records to {} in {:.2}s: {:.0} records/s",
        stats.records,
        a.topic,
        stats.elapsed_s,
        stats.records as f64 / stats.elapsed_s.max(1e-9)
    );
    Ok(())
}

/// `oddsflow run`: the whole pipeline, live from a topic.
fn run_cmd(a: RunArgs) -> Result<()> {
    use crate::live::{LiveConfig, run_live};
    if a.pipeline.feed.is_some() {
        bail!("`run` reads its feed from --topic; to replay a file, use `oddsflow replay`");
    }
    let mut p = a.pipeline;
    p.live = true;
    if p.out == Path::new("out/replay") {
        p.out = PathBuf::from("out/live");
    }
    let (timely, replay_cfg, truth) = pipeline_setup(&p, Vec::new())?;
    let mut cfg = LiveConfig::new(&a.brokers, &a.topic, &p.out);
    cfg.replay = replay_cfg;
    cfg.idle_timeout_ms = a.idle_timeout_ms;
    cfg.exit_when_idle_ms = a.exit_when_idle_ms;
    if let Some(g) = a.group {
        cfg.group = g;
    }
    cfg.sink_prefix = match (a.no_output_topics, a.output_prefix) {
        (true, _) => None,
        (false, Some(prefix)) => Some(prefix),
        (false, None) => cfg.sink_prefix,
    };
    if let Some((outputs, stats)) = run_live(&cfg, truth, timely)? {
        // (A restart of a finished run reads nothing: its stats are zero, `workers` 0.)
        let run = crate::replay::RunStats {
            workers: stats.workers,
            elapsed_s: stats.elapsed_s,
            records_per_s: stats.records_per_s,
            dataflow: None,
        };
        write_outputs(&p.out, &outputs, &run)?;
        std::fs::write(
            p.out.join("live.json"),
            serde_json::to_string_pretty(&stats)? + "\n",
        )?;
        if stats.workers == 0 {
            println!(
                "live: the run in {} was already complete: {} records; its outputs are rewritten from its changelog",
                p.out.display(),
                outputs.summary.records_in
            );
            return Ok(());
        }
        let s = &outputs.summary;
        println!(
            "live: {} records ({} ok, {} rejected, {} late) of {} matches; this run read {} ({} rebuilt, resumed from {}) on {} workers, the last after {:.2}s ({:.0} records/s), finished in {:.2}s; max lag {} records",
            s.records_in,
            s.records_ok,
            s.rejected,
            s.late,
            s.matches,
            stats.records_read,
            stats.records_rebuilt,
            format_time(stats.resumed_from),
            stats.workers,
            stats.last_read_s,
            stats.records_read as f64 / stats.last_read_s.max(1e-9),
            stats.elapsed_s,
            stats.max_lag
        );
        print_outputs(&p.out, &outputs, p.seed);
    }
    Ok(())
}

/// The demo feed's truth channel, from the embedded file.
fn demo_truth() -> Result<Truth> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DEMO_TRUTH)
        .read_to_string(&mut text)
        .context("decoding the embedded demo truth")?;
    let rows: Vec<crate::sim::TruthRow> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("reading the embedded demo truth")?;
    Ok(Truth::from_rows(&rows))
}

/// Formats UTC milliseconds as RFC 3339 (`2026-01-03T14:05:00Z`).
pub fn format_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses an event time: integer UTC milliseconds, or RFC 3339 in UTC (`YYYY-MM-DDTHH:MM:SS[.sss]Z`).
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
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 24 + c[0]) * 60 + c[1]) * 60_000 + c[2] * 1000 + ms_frac)
}

fn features_cmd(a: FeaturesArgs) -> Result<()> {
    let at = parse_time(&a.at)?;
    let cfg = ReplayConfig::default();
    let t = (at.max(0) as u64) / cfg.granularity_ms * cfg.granularity_ms;
    let vector = match (&a.store, &a.feed) {
        (Some(store), _) => crate::replay::features_from_store(store, t)?.remove(&a.match_id),
        (None, Some(feed)) => {
            let cfg = ReplayConfig {
                progress: false,
                until: Some(t),
                ..cfg
            };
            let (outputs, _) = replay(file_feed(feed), &cfg, None, timely::Config::thread())?
                .ok_or_else(|| anyhow::anyhow!("no outputs"))?;
            crate::replay::features_at(&outputs, t)
                .remove(&a.match_id)
                .map(|v| serde_json::to_value(v))
                .transpose()?
        }
        (None, None) => bail!("give a FEED to replay, or --store DIR/features.parquet"),
    };
    match vector {
        Some(v) => {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"match": a.match_id, "at": t, "features": v})
                )?
            );
            Ok(())
        }
        None => bail!(
            "match {} has no feature vector at {t} (it was not live then)",
            a.match_id
        ),
    }
}
