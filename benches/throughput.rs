//! Throughput from files, beside a parse-only ceiling measured in the same run.
//!
//! For each feed (typical noise, written once as JSON lines and as Parquet): the calendar
//! simulator's `--matches M` (about 40–64 matches in play at once), and the concurrent feed's
//! `--concurrent N` (N matches kicking off within `--ramp-min` (10) minutes, cut `--horizon-min`
//! (30) minutes after the first kick-off, so nearly all of its in-play records come while N
//! matches are in play; `sim/concurrent.rs`):
//! - **parse-only ceiling**: read the file and decode + validate every record on one thread,
//!   doing nothing else;
//! - **features**: `replay` through ingest, aggregates, ratings, dominance, availability and
//!   features (outputs discarded where they are produced), on 1 and 2 workers;
//! - **+ settlement**: the same with the bookmaker, settlement and one baseline policy
//!   (`favourite`).
//!
//! Each configuration runs in a child process of this binary, so that its peak RSS is its own.
//! Reports records/s, records/s per core (worker) and the ratio of the per-core rate to the
//! ceiling.
//!
//! `cargo bench --bench throughput -- [--matches 100,1000] [--concurrent 100,1000,10000]
//!  [--ramp-min 10] [--horizon-min 30] [--workers 1,2] [--formats jsonl,parquet]
//!  [--stages features,settlement] [--csv FILE]`

use std::path::Path;
use std::time::Instant;

use oddsflow::io::feed::read_feed;
use oddsflow::policy::PolicySpec;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::file_feed;
use oddsflow_dataflows::ingest::parse_and_validate;

#[path = "support/mod.rs"]
mod support;
use support::{FeedSpec, numbers, opt, opt_maybe, peak_rss_kb};

/// Child: runs one configuration, prints `records seconds rss_kb`.
fn child(mode: &str, path: &Path, workers: usize) {
    let t = Instant::now();
    let records = match mode {
        "parse" => {
            let mut n = 0u64;
            for (i, item) in read_feed(path).expect("feed").enumerate() {
                let item = item.expect("feed item");
                let _ =
                    std::hint::black_box(parse_and_validate((i as u64, item), &Default::default()));
                n += 1;
            }
            n
        }
        "features" | "settlement" => {
            let policies = if mode == "settlement" {
                vec![PolicySpec::parse("favourite", 1).expect("policy")]
            } else {
                Vec::new()
            };
            let cfg = RunConfig {
                progress: false,
                keep_outputs: false,
                policies,
                ..RunConfig::default()
            };
            let config = match workers {
                1 => timely::Config::thread(),
                n => timely::Config::process(n),
            };
            let (o, _) = replay(file_feed(path), &cfg, None, config)
                .expect("replay")
                .expect("worker 0");
            o.summary.records_in
        }
        other => panic!("unknown mode {other}"),
    };
    println!("{records} {} {}", t.elapsed().as_secs_f64(), peak_rss_kb());
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--child") {
        child(
            &argv[1],
            Path::new(&argv[2]),
            argv[3].parse().expect("workers"),
        );
        return;
    }
    let ramp: i64 = opt(&argv, "--ramp-min", "10").parse().expect("--ramp-min");
    let horizon: i64 = opt(&argv, "--horizon-min", "30")
        .parse()
        .expect("--horizon-min");
    let mut feeds: Vec<FeedSpec> = numbers(&opt(&argv, "--matches", "100,1000"))
        .into_iter()
        .map(FeedSpec::Calendar)
        .collect();
    feeds.extend(
        numbers(&opt(&argv, "--concurrent", ""))
            .into_iter()
            .map(|n| FeedSpec::Concurrent {
                concurrent: n,
                waves: 1,
                ramp_min: Some(ramp),
                horizon_min: Some(horizon),
            }),
    );
    let workers: Vec<usize> = numbers(&opt(&argv, "--workers", "1,2"));
    let formats: Vec<String> = opt(&argv, "--formats", "jsonl,parquet")
        .split(',')
        .map(str::to_string)
        .collect();
    let stages: Vec<String> = opt(&argv, "--stages", "features,settlement")
        .split(',')
        .map(str::to_string)
        .collect();
    let csv_path = opt_maybe(&argv, "--csv");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |mode: &str, path: &Path, w: usize| -> (u64, f64, u64) {
        let f = support::child(&[mode.into(), path.display().to_string(), w.to_string()]);
        (
            f[0].parse().expect("records"),
            f[1].parse().expect("seconds"),
            f[2].parse().expect("rss"),
        )
    };
    let columns = "feed,matches,mean_in_play,format,stage,workers,records,seconds,records_per_s,records_per_s_per_core,ratio_to_parse_only,peak_rss_mb";
    println!("{columns}");
    let mut csv = format!("{columns}\n");
    for spec in &feeds {
        for format in &formats {
            let path = dir.path().join(format!("{}.{format}", spec.label()));
            let info = spec.write(&path);
            let (n, ps, prss) = run("parse", &path, 1);
            let ceiling = n as f64 / ps;
            let mut emit = |stage: &str, workers: usize, records: u64, secs: f64, rss: u64| {
                let rate = records as f64 / secs;
                let per_core = rate / workers as f64;
                let row = format!(
                    "{},{},{:.0},{format},{stage},{workers},{records},{secs:.2},{rate:.0},{per_core:.0},{:.3},{:.0}",
                    spec.label(),
                    info.matches,
                    info.mean_live,
                    per_core / ceiling,
                    rss as f64 / 1024.0
                );
                println!("{row}");
                csv.push_str(&row);
                csv.push('\n');
            };
            emit("parse-only", 1, n, ps, prss);
            for stage in &stages {
                for &w in &workers {
                    let (records, secs, rss) = run(stage, &path, w);
                    emit(stage, w, records, secs, rss);
                }
            }
            let _ = std::fs::remove_file(&path);
        }
    }
    if let Some(p) = csv_path {
        std::fs::write(p, csv).expect("CSV");
    }
}
