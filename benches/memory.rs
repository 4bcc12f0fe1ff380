//! Memory against concurrent matches and against feed length: peak RSS and arrangement sizes
//! of the feature dataflows (ingest, aggregates, ratings, dominance, availability, features; one
//! worker, outputs discarded where they are produced), each feed in a child process of its own.
//!
//! - **Concurrency**: `--concurrent 100,1000,10000` matches in play (one wave kicking off within
//!   10 minutes, cut 30 minutes after the first kick-off; `sim/concurrent.rs`).
//! - **Length**: `--live 100` matches kicking off at a steady rate (so about that many in play
//!   at once) for `--waves 1,4,16` match lengths, every match played to its end.
//!
//! Arrangement sizes are the updates held in every trace, counted from differential's own log
//! (`src/introspection.rs`): at the end of the run and the most at once, plus the three largest
//! arrangements by their peak.
//!
//! `cargo bench --bench memory -- [--concurrent 100,1000,10000] [--live 100] [--waves 1,4,16]
//!  [--csv FILE]`

use std::path::Path;
use std::time::Instant;

use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::file_feed;

#[path = "support/mod.rs"]
mod support;
use support::{FeedSpec, numbers, opt, opt_maybe, peak_rss_kb};

/// Child: replays `path` through the feature dataflows, prints one JSON line.
fn child(path: &Path) {
    let t = Instant::now();
    let cfg = RunConfig {
        progress: false,
        keep_outputs: false,
        introspect: true,
        ..RunConfig::default()
    };
    let (o, stats) = replay(file_feed(path), &cfg, None, timely::Config::thread())
        .expect("replay")
        .expect("worker 0");
    let a = stats.dataflow.unwrap_or_default();
    let top: Vec<String> = a
        .arrangements
        .iter()
        .take(3)
        .map(|(name, _, peak)| format!("{name}: {peak}"))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "records": o.summary.records_in,
            "seconds": t.elapsed().as_secs_f64(),
            "rss_kb": peak_rss_kb(),
            "updates_end": a.updates,
            "updates_peak": a.peak_updates,
            "top": top.join("; "),
        })
    );
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--child") {
        child(Path::new(&argv[1]));
        return;
    }
    let mut feeds: Vec<(&str, FeedSpec)> = numbers(&opt(&argv, "--concurrent", "100,1000"))
        .into_iter()
        .map(|n| ("concurrency", FeedSpec::wave(n)))
        .collect();
    let live: usize = opt(&argv, "--live", "100").parse().expect("--live");
    feeds.extend(
        numbers(&opt(&argv, "--waves", "1,4,16"))
            .into_iter()
            .map(|w| {
                (
                    "length",
                    FeedSpec::Concurrent {
                        concurrent: live,
                        waves: w,
                        ramp_min: None,
                        horizon_min: None,
                    },
                )
            }),
    );
    let csv_path = opt_maybe(&argv, "--csv");
    let dir = tempfile::tempdir().expect("tempdir");
    let columns = "series,feed,matches,mean_in_play,peak_in_play,records,seconds,peak_rss_mb,arranged_updates_end,arranged_updates_peak,largest_arrangements";
    println!("{columns}");
    let mut csv = format!("{columns}\n");
    for (series, spec) in &feeds {
        let path = dir.path().join(format!("{}.jsonl", spec.label()));
        let info = spec.write(&path);
        let line = support::child_line(&[path.display().to_string()]);
        let v: serde_json::Value = serde_json::from_str(&line).expect("child's JSON line");
        let row = format!(
            "{series},{},{},{:.0},{},{},{:.2},{:.0},{},{},\"{}\"",
            spec.label(),
            info.matches,
            info.mean_live,
            info.peak_live,
            v["records"],
            v["seconds"].as_f64().unwrap_or(0.0),
            v["rss_kb"].as_f64().unwrap_or(0.0) / 1024.0,
            v["updates_end"],
            v["updates_peak"],
            v["top"].as_str().unwrap_or(""),
        );
        println!("{row}");
        csv.push_str(&row);
        csv.push('\n');
        let _ = std::fs::remove_file(&path);
    }
    if let Some(p) = csv_path {
        std::fs::write(p, csv).expect("CSV");
    }
}
