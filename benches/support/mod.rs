//! Shared by the benchmark binaries: feeds (the calendar simulator or the concurrent feed,
//! written to a file), child processes (one per configuration, so each has its own peak RSS),
//! and command-line helpers.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use oddsflow::io::feed::FeedWriter;
use oddsflow::sim::{ConcurrentConfig, ConcurrentFeed, NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::ingest::Payload;

/// Peak resident set of this process, in KiB (Linux; 0 elsewhere).
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// `--name value` from the arguments, or `default`.
pub fn opt(argv: &[String], name: &str, default: &str) -> String {
    argv.iter()
        .position(|a| a == name)
        .and_then(|i| argv.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// `--name value` from the arguments, if given.
pub fn opt_maybe(argv: &[String], name: &str) -> Option<String> {
    argv.iter()
        .position(|a| a == name)
        .and_then(|i| argv.get(i + 1).cloned())
}

/// A comma-separated list of numbers.
pub fn numbers<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

/// Runs this binary again as `--child ARGS…` and returns the whitespace-separated fields of the
/// last line it printed.
pub fn child(args: &[String]) -> Vec<String> {
    child_line(args)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Runs this binary again as `--child ARGS…` and returns the last line it printed.
pub fn child_line(args: &[String]) -> String {
    let exe = std::env::current_exe().expect("this binary");
    let out = Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .expect("child runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string()
}

/// A benchmark feed: matches from the calendar simulator, or waves of concurrent matches.
#[derive(Clone, Copy, Debug)]
pub enum FeedSpec {
    /// `simulate` with this many matches (about 40–64 in play at once).
    Calendar(usize),
    /// `concurrent` matches in play: kick-offs spread over `ramp_min`, `waves` waves, cut
    /// `horizon_min` after the first kick-off.
    Concurrent {
        concurrent: usize,
        waves: usize,
        ramp_min: Option<i64>,
        horizon_min: Option<i64>,
    },
}

/// What a written feed holds.
#[derive(Clone, Copy, Debug)]
pub struct FeedInfo {
    pub items: u64,
    pub matches: usize,
    /// Matches in play (kick-off to final whistle), averaged over items.
    pub mean_live: f64,
    pub peak_live: usize,
}

impl FeedSpec {
    /// The scaling feeds' shape: `concurrent` matches kicking off within 10 minutes, cut 30
    /// minutes after the first kick-off, so nearly every in-play record comes while all of them
    /// are in play.
    pub fn wave(concurrent: usize) -> FeedSpec {
        FeedSpec::Concurrent {
            concurrent,
            waves: 1,
            ramp_min: Some(10),
            horizon_min: Some(30),
        }
    }

    /// The concurrent feed's configuration (typical noise, seed 1); `None` for a calendar feed.
    pub fn concurrent_config(&self) -> Option<ConcurrentConfig> {
        match *self {
            FeedSpec::Calendar(_) => None,
            FeedSpec::Concurrent {
                concurrent,
                waves,
                ramp_min,
                horizon_min,
            } => Some(ConcurrentConfig {
                concurrent,
                waves,
                ramp_ms: ramp_min.map(|m| m * 60_000),
                horizon_ms: horizon_min.map(|m| m * 60_000),
                ..ConcurrentConfig::default()
            }),
        }
    }

    pub fn label(&self) -> String {
        match self {
            FeedSpec::Calendar(m) => format!("calendar-{m}"),
            FeedSpec::Concurrent {
                concurrent, waves, ..
            } => format!("concurrent-{concurrent}x{waves}"),
        }
    }

    /// Writes the feed (typical noise, seed 1) to `path` (`.jsonl` or `.parquet`), streaming.
    pub fn write(&self, path: &Path) -> FeedInfo {
        let mut w = FeedWriter::create(path).expect("feed file");
        let mut put = |item: &Payload| w.write(item).expect("write");
        let info = match *self {
            FeedSpec::Calendar(matches) => {
                let sim = simulate(&SimConfig {
                    matches,
                    seed: 1,
                    noise: NoiseConfig::typical(),
                    ..SimConfig::default()
                });
                sim.items.iter().for_each(&mut put);
                let (mean_live, peak_live) = in_play(&sim.items);
                FeedInfo {
                    items: sim.items.len() as u64,
                    matches,
                    mean_live,
                    peak_live,
                }
            }
            FeedSpec::Concurrent { .. } => {
                let cfg = self.concurrent_config().expect("a concurrent feed");
                let mut feed = ConcurrentFeed::new(&cfg).expect("concurrent feed");
                feed.by_ref().for_each(|i| put(&i));
                let s = feed.stats();
                FeedInfo {
                    items: s.items,
                    matches: cfg.matches(),
                    mean_live: s.mean_live,
                    peak_live: s.peak_live,
                }
            }
        };
        w.finish().expect("finish");
        info
    }
}

/// Matches in play (between a fixture's kick-off and the match's last finished or abandoned
/// status), averaged over the items in file order, and at most.
pub fn in_play(items: &[Payload]) -> (f64, usize) {
    use oddsflow_dataflows::model::{Body, MatchStatus};
    use std::collections::BTreeMap;
    let mut span: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
    for item in items {
        let Payload::Decoded(r) = item else { continue };
        match &r.body {
            Body::Fixture(f) => {
                span.entry(r.match_id).or_insert((f.kickoff, i64::MAX)).0 = f.kickoff
            }
            Body::Status(st)
                if matches!(st.status, MatchStatus::Finished | MatchStatus::Abandoned) =>
            {
                let e = span.entry(r.match_id).or_insert((i64::MAX, r.ts));
                e.1 = if e.1 == i64::MAX { r.ts } else { e.1.max(r.ts) };
            }
            _ => {}
        }
    }
    let mut starts: Vec<i64> = span.values().map(|s| s.0).collect();
    let mut ends: Vec<i64> = span.values().map(|s| s.1).collect();
    starts.sort_unstable();
    ends.sort_unstable();
    let (mut a, mut b, mut n, mut mean, mut peak, mut clock) = (0, 0, 0u64, 0.0, 0, i64::MIN);
    for item in items {
        if let Payload::Decoded(r) = item {
            clock = clock.max(r.ts);
        }
        while a < starts.len() && starts[a] <= clock {
            a += 1;
        }
        while b < ends.len() && ends[b] < clock {
            b += 1;
        }
        let live = a.saturating_sub(b);
        n += 1;
        mean += (live as f64 - mean) / n as f64;
        peak = peak.max(live);
    }
    (mean, peak)
}
