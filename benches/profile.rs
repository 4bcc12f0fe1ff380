//! Where the time goes, per operator: one replay through the feature dataflows (1 worker,
//! outputs discarded where they are produced) with timely's schedule log on
//! (`src/introspection.rs`), then every operator's own time (scheduled, less the operators
//! inside it) and its share, grouped by name, and the largest arrangements.
//!
//! `cargo bench --bench profile -- [--concurrent 1000 | --matches 100] [--stage features|settlement]
//!  [--top 30]`

use std::collections::BTreeMap;
use std::time::Instant;

use oddsflow::policy::PolicySpec;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::file_feed;

#[path = "support/mod.rs"]
mod support;
use support::{FeedSpec, opt};

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let spec = match opt(&argv, "--matches", "0")
        .parse::<usize>()
        .expect("--matches")
    {
        0 => FeedSpec::wave(
            opt(&argv, "--concurrent", "1000")
                .parse()
                .expect("--concurrent"),
        ),
        m => FeedSpec::Calendar(m),
    };
    let top: usize = opt(&argv, "--top", "30").parse().expect("--top");
    let policies = match opt(&argv, "--stage", "features").as_str() {
        "settlement" => vec![PolicySpec::parse("favourite", 1).expect("policy")],
        _ => Vec::new(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("feed.jsonl");
    let info = spec.write(&path);
    let cfg = RunConfig {
        progress: false,
        keep_outputs: false,
        introspect: true,
        policies,
        ..RunConfig::default()
    };
    let t = Instant::now();
    let (_, stats) = replay(file_feed(&path), &cfg, None, timely::Config::thread())
        .expect("replay")
        .expect("worker 0");
    let wall = t.elapsed().as_secs_f64();
    let report = stats.dataflow.expect("introspection");
    let busy: f64 = report.operators.iter().map(|o| o.1).sum();
    println!(
        "feed {}: {} items, {:.0} matches in play on average; replay {wall:.2} s wall, {busy:.2} s in operators ({:.0} %), the rest reading and decoding the feed and the worker loop",
        spec.label(),
        info.items,
        info.mean_live,
        100.0 * busy / wall
    );
    // By name (`Arrange: X #12` → `Arrange: X`): many operators share a kind.
    let mut by_name: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (name, s) in &report.operators {
        let base = name.rsplit_once(" #").map_or(name.as_str(), |(b, _)| b);
        let e = by_name.entry(base.to_string()).or_default();
        e.0 += s;
        e.1 += 1;
    }
    let mut grouped: Vec<(String, f64, usize)> =
        by_name.into_iter().map(|(n, (s, c))| (n, s, c)).collect();
    grouped.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!(
        "\noperators by name, own time (of {} operators):",
        report.operators.len()
    );
    println!("{:>9} {:>6} {:>5}  name", "seconds", "share", "count");
    for (name, s, c) in grouped.iter().take(top) {
        println!("{s:>9.3} {:>5.1}% {c:>5}  {name}", 100.0 * s / wall);
    }
    println!("\nsingle operators, own time:");
    for (name, s) in report.operators.iter().take(top) {
        println!("{s:>9.3} {:>5.1}%  {name}", 100.0 * s / wall);
    }
    println!(
        "\narrangements: {} updates at the last record, {} at most; largest by peak:",
        report.updates, report.peak_updates
    );
    for (name, now, peak) in report.arrangements.iter().take(12) {
        println!("{peak:>10} {now:>10}  {name}");
    }
}
