//! Throughput from files, beside a parse-only ceiling measured in the same run.
//!
//! For each feed size (simulated, typical noise, written once as JSON lines and as Parquet):
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
//! `cargo bench --bench throughput -- [--matches 100,1000] [--workers 1,2]
//!  [--formats jsonl,parquet] [--csv FILE]`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use oddsflow::feed::{FeedWriter, read_feed};
use oddsflow::policy::PolicySpec;
use oddsflow::replay::{ReplayConfig, file_feed, replay};
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::ingest::parse_and_validate;

/// Peak resident set of this process, in KiB (Linux; 0 elsewhere).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Child: runs one configuration, prints `records seconds rss_kb`.
fn child(mode: &str, path: &Path, workers: usize) {
    let t = Instant::now();
    let records = match mode {
        "parse" => {
            let mut n = 0u64;
            for (i, item) in read_feed(path).expect("feed").enumerate() {
                let item = item.expect("feed item");
                let _ = std::hint::black_box(parse_and_validate((i as u64, item)));
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
            let cfg = ReplayConfig {
                progress: false,
                keep_outputs: false,
                policies,
                ..ReplayConfig::default()
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

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
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
    let opt = |name: &str, default: &str| -> String {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_string())
    };
    let sizes: Vec<usize> = list(&opt("--matches", "100,1000"))
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let workers: Vec<usize> = list(&opt("--workers", "1,2"))
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let formats = list(&opt("--formats", "jsonl,parquet"));
    let csv_path = argv
        .iter()
        .position(|a| a == "--csv")
        .and_then(|i| argv.get(i + 1).cloned());
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("this binary");
    let run = |mode: &str, path: &Path, w: usize| -> (u64, f64, u64) {
        let out = Command::new(&exe)
            .args(["--child", mode, &path.display().to_string(), &w.to_string()])
            .output()
            .expect("child runs");
        assert!(
            out.status.success(),
            "{mode} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = text.split_whitespace().collect();
        (
            f[0].parse().expect("records"),
            f[1].parse().expect("seconds"),
            f[2].parse().expect("rss"),
        )
    };
    println!(
        "matches,format,stage,workers,records,seconds,records_per_s,records_per_s_per_core,ratio_to_parse_only,peak_rss_mb"
    );
    let mut csv = String::from(
        "matches,format,stage,workers,records,seconds,records_per_s,records_per_s_per_core,ratio_to_parse_only,peak_rss_mb\n",
    );
    for &matches in &sizes {
        let sim = simulate(&SimConfig {
            matches,
            seed: 1,
            noise: NoiseConfig::typical(),
            ..SimConfig::default()
        });
        for format in &formats {
            let path: PathBuf = dir.path().join(format!("feed-{matches}.{format}"));
            let mut w = FeedWriter::create(&path).expect("feed file");
            for item in &sim.items {
                w.write(item).expect("write");
            }
            w.finish().expect("finish");
            let (n, ps, prss) = run("parse", &path, 1);
            let ceiling = n as f64 / ps;
            let mut emit = |stage: &str, workers: usize, records: u64, secs: f64, rss: u64| {
                let rate = records as f64 / secs;
                let per_core = rate / workers as f64;
                let row = format!(
                    "{matches},{format},{stage},{workers},{records},{secs:.2},{rate:.0},{per_core:.0},{:.3},{:.0}",
                    per_core / ceiling,
                    rss as f64 / 1024.0
                );
                println!("{row}");
                csv.push_str(&row);
                csv.push('\n');
            };
            emit("parse-only", 1, n, ps, prss);
            for stage in ["features", "settlement"] {
                for &w in &workers {
                    let (records, secs, rss) = run(stage, &path, w);
                    emit(stage, w, records, secs, rss);
                }
            }
        }
    }
    if let Some(p) = csv_path {
        std::fs::write(p, csv).expect("CSV");
    }
}
