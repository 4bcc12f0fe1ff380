//! The command line: arguments (clap) and what is printed. Each subcommand's body is in
//! [`crate::commands`]; this module parses, dispatches and prints.
//!
//! `replay` takes timely's own process arguments (`-w`, `-n`, `-p`, `-h`) so that the same command
//! runs as several processes: `oddsflow replay FEED --out DIR -n 2 -p 0` and `… -p 1` on
//! localhost (ports 2101, 2102 unless `-h HOSTFILE` lists `host:port` lines). Only the process
//! that hosts worker 0 writes the outputs.

use std::path::PathBuf;

use anyhow::Result;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::commands;

mod print;

pub(crate) use print::print_outputs;

#[derive(Parser, Debug)]
#[command(
    name = "oddsflow",
    version,
    about = "Learn football betting strategies from live feeds, in a virtual world"
)]
/// The parsed command line.
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a simulated feed.
    Simulate(SimulateArgs),
    /// Replay a recorded feed through the dataflows.
    #[command(after_help = EXIT_STATUS_REPLAY)]
    Replay(ReplayArgs),
    /// Print the feature vector a live system would have had for a match at a time.
    #[command(after_help = EXIT_STATUS_FEATURES)]
    Features(FeaturesArgs),
    /// Train the `drqn` policy by replaying feeds, checkpointing its network.
    #[command(after_help = EXIT_STATUS_TRAIN)]
    Train(TrainArgs),
    /// Evaluate a trained `drqn` network (frozen, greedy) against the baselines on a feed.
    #[command(after_help = EXIT_STATUS_REPLAY)]
    Eval(EvalArgs),
    /// Publish a recorded feed to a Kafka topic.
    Produce(ProduceArgs),
    /// Run the whole pipeline live from a Kafka topic (crash-safe, exactly-once results).
    Run(RunArgs),
    /// Import real data (football-data, StatsBomb, Betfair) into a feed.
    Import(ImportArgs),
}

/// `replay --help` (and `eval`'s): the exit statuses (3 is
/// [`commands::EXIT_INPUT_ENDED_EARLY`]).
const EXIT_STATUS_REPLAY: &str = "\
Exit status:
  0  the feed was read to its end and every output written
  3  the feed file could not be read to its end (cut short or corrupt: a gzip stream cut off, a
     Parquet row group or footer that cannot be read): a warning says where and why, every
     output is still written from the items read before, and summary.json's `truncated`
     object holds the item count, line, byte offset or row group, and the error. A plain .jsonl
     whose last line is cut is not this: that line is a malformed record (dead_letter.jsonl)
  1  any other error (nothing written)";

/// `features --help`: the exit statuses.
const EXIT_STATUS_FEATURES: &str = "\
Exit status:
  0  the vector was printed
  3  the feed file could not be read up to --at (cut short or corrupt): the vector printed, if
     any, is that of the items read before, and a warning says where and why reading stopped
  1  any other error, or no vector for the match at that time";

/// `train --help`: the exit statuses.
const EXIT_STATUS_TRAIN: &str = "\
Exit status:
  0  trained on every feed read to its end
  3  a feed file could not be read to its end (cut short or corrupt): its passes acted on the
     items read before, training went on, the checkpoint is written, and a warning says which
  1  any other error";

/// `oddsflow import SOURCE … --out FEED`: real data as an ordinary feed (see `src/import/`).
/// What a source cannot map (a refused row, an unreadable message) goes, with its reason, to
/// `FEED_STEM.refused.jsonl` beside the feed, and is counted on the terminal.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Which source to import.
    #[command(subcommand)]
    pub source: ImportSource,
}

/// The sources `oddsflow import` reads.
#[derive(Subcommand, Debug)]
pub enum ImportSource {
    /// football-data.co.uk CSVs (plain or .gz): fixtures, prematch markets at the opening then
    /// the closing odds, results, match statistics as final counters.
    FootballData {
        /// The season CSVs.
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
        /// The feed to write (`.jsonl`, `.jsonl.gz`, `.parquet`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Betfair Exchange stream recordings (`op: mcm`, plain, .gz or .bz2) and Betfair A-League
    /// CSVs: markets, best available prices, settlement.
    Betfair {
        /// The recordings and CSVs.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The feed to write (`.jsonl`, `.jsonl.gz`, `.parquet`).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `oddsflow train`: each pass replays every feed in order with the single policy `drqn` acting
/// (with exploration) from the checkpoint in `--out`, collects the final episodes into one
/// trainer's buffer, then runs `--updates` training updates and saves the checkpoint the next
/// pass acts with (see `commands::train`). A checkpoint already in `--out` is continued.
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

/// `oddsflow features`: the vector a live system had for a match at a time.
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

/// `oddsflow simulate`: a seeded simulated feed.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Matches to simulate.
    #[arg(long, default_value_t = 100)]
    pub matches: usize,
    /// The seed: the same seed gives the same bytes.
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
    /// The topic to publish to.
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
    /// How often (wall clock) the outputs complete so far become durable and are published: a
    /// crash loses at most this much work, each frame costs an fsync and a transaction.
    #[arg(long, default_value_t = 200)]
    pub frame_interval_ms: u64,
    /// Prefix of the output topics (default `<topic>.`).
    #[arg(long)]
    pub output_prefix: Option<String>,
    /// No output topics (the outputs still go to `--out`).
    #[arg(long)]
    pub no_output_topics: bool,
    /// The pipeline's and policies' options, as for `replay`.
    #[command(flatten)]
    pub pipeline: ReplayArgs,
}

/// `oddsflow replay`: a recorded feed through the dataflows and the policies.
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
    /// The highest decimal price accepted from the feed (above 1, at most 1000000): a price above
    /// it is dead-lettered as `invalid_price`. The default is the top of the Betfair price
    /// ladder.
    #[arg(long, default_value_t = 1_000.0)]
    pub max_price: f64,
    /// A record more than this far (ms) ahead of the feed clock is held until the records after
    /// it confirm its time, and refused as `future_ts` if they do not (README, "Bad input").
    #[arg(long, default_value_t = 60_000)]
    pub max_ahead_ms: u64,
    /// `run` only: a record more than this far (ms) ahead of the wall clock is refused as
    /// `future_ts` when read.
    #[arg(long, default_value_t = 86_400_000)]
    pub max_wall_ahead_ms: u64,
    /// Print help.
    #[arg(long, action = ArgAction::Help, help = "Print help")]
    pub help: Option<bool>,
    /// Set by `run`: the feed is a topic (no demo truth channel).
    #[arg(skip)]
    pub live: bool,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(a) => commands::simulate::run(a),
        Command::Replay(a) => commands::replay::run(a),
        Command::Features(a) => commands::features::run(a),
        Command::Train(a) => commands::train::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Produce(a) => commands::produce::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Import(a) => commands::import::run(a),
    }
}
