//! Baseline: the non-incremental design. The same features recomputed from scratch after each
//! batch (each timestamp at which the feed changes anything), against the incremental replay,
//! in the same run.
//!
//! The from-scratch side is the tests' independent model (`tests/common`): it keeps the latest
//! record per key (cheap), then after each batch recomputes aggregates, ratings, dominance,
//! availability, prematch closes and features from that whole state. Recomputing after every
//! one of the feed's batches would take hours, so it times the recomputation at `--samples`
//! batches spread evenly over the feed and multiplies the mean by the number of batches; the
//! state's own upkeep is timed over the whole feed. The incremental side is `replay` with
//! outputs discarded, on 1 worker.
//!
//! The feed is the calendar simulator's `--matches M` (about 40 matches in play at once), or with
//! `--concurrent N` the concurrent feed (`sim/concurrent.rs`): N matches kicking off within 10
//! minutes, cut 30 minutes after the first kick-off.
//!
//! `cargo bench --bench from_scratch -- [--matches 100 | --concurrent 1000] [--samples 200]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Timeline, assign_times, expected_live};
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::memory_feed;
use oddsflow::sim::{ConcurrentFeed, NoiseConfig, SimConfig, simulate};

#[path = "support/mod.rs"]
mod support;
use support::FeedSpec;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str, default: usize| -> usize {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (matches, samples) = (opt("--matches", 100), opt("--samples", 200));
    let (label, items) = match opt("--concurrent", 0) {
        0 => (
            format!("{matches} matches"),
            simulate(&SimConfig {
                matches,
                seed: 1,
                noise: NoiseConfig::typical(),
                ..SimConfig::default()
            })
            .items,
        ),
        n => (
            format!("{n} concurrent matches (10 min ramp, 30 min horizon)"),
            ConcurrentFeed::new(&FeedSpec::wave(n).concurrent_config().expect("concurrent"))
                .expect("concurrent feed")
                .collect(),
        ),
    };
    let n = items.len() as f64;
    let cfg = RunConfig {
        progress: false,
        keep_outputs: false,
        ..RunConfig::default()
    };

    let t = Instant::now();
    replay(
        memory_feed(items.clone()),
        &cfg,
        None,
        timely::Config::thread(),
    )
    .expect("replay")
    .expect("worker 0");
    let incremental_s = t.elapsed().as_secs_f64();

    let times = assign_times(&items, &cfg);
    let batches: Vec<u64> = times
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let step = (batches.len() / samples.max(1)).max(1);
    let sampled: BTreeSet<u64> = batches.iter().step_by(step).copied().collect();
    let mut timeline = Timeline::new(&items, &times, &cfg);
    let (mut upkeep, mut recompute, mut done) = (Duration::ZERO, Duration::ZERO, 0usize);
    let mut features = 0usize;
    for &tau in &batches {
        let t = Instant::now();
        timeline.advance_to(tau);
        upkeep += t.elapsed();
        if !sampled.contains(&tau) {
            continue;
        }
        let t = Instant::now();
        let expected = expected_live(&timeline, tau, &cfg);
        recompute += t.elapsed();
        features += expected.features.len();
        done += 1;
    }
    let per_batch = recompute.as_secs_f64() / done.max(1) as f64;
    let scratch_s = upkeep.as_secs_f64() + per_batch * batches.len() as f64;
    println!(
        "feed: {label}, {} records, {} batches (distinct timestamps)",
        items.len(),
        batches.len()
    );
    println!(
        "incremental replay, 1 worker     {:>10.2} s  {:>10.0} records/s",
        incremental_s,
        n / incremental_s
    );
    println!(
        "from scratch after each batch    {:>10.2} s  {:>10.0} records/s  (upkeep {:.2} s + {} batches × {:.3} ms, timed at {done} of them, {:.1} live matches on average)",
        scratch_s,
        n / scratch_s,
        upkeep.as_secs_f64(),
        batches.len(),
        per_batch * 1e3,
        features as f64 / done.max(1) as f64
    );
    println!(
        "ratio: incremental is {:.1}x the from-scratch design",
        scratch_s / incremental_s
    );
}
