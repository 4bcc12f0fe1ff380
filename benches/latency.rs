//! Open-loop latency: records offered on a fixed schedule, latency from each record's
//! *scheduled* time to the moment the outputs it causes (feature deltas and every other
//! collection) are complete: the output frontier has passed its timestamp.
//!
//! A simulated feed (typical noise) is turned into JSON lines whose event times are the
//! schedule: record `i` at `i / rate` seconds after the start, with 1 ms timestamps and no
//! lateness. Each worker offers its share (`i mod workers`) when it falls due, however late the
//! worker is — a slow pipeline shows as latency, not as a lower offered rate (no coordinated
//! omission) — and advances its capability to the current millisecond. Latencies go into an
//! HdrHistogram per (rate, workers): p50, p99, p99.9, max.
//!
//! `cargo bench --bench latency -- [--matches N] [--seconds S] [--rates 10000,100000,500000]
//!  [--workers 1,2] [--csv FILE]`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::host::{Fed, Hosted, host};
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::wire::to_json_line;

struct Args {
    matches: usize,
    seconds: f64,
    rates: Vec<u64>,
    workers: Vec<usize>,
    csv: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        matches: 300,
        seconds: 5.0,
        rates: vec![10_000, 100_000, 500_000],
        workers: vec![1, 2],
        csv: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let list =
        |s: &str| -> Vec<u64> { s.split(',').filter_map(|x| x.trim().parse().ok()).collect() };
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--matches" => a.matches = value.parse().unwrap_or(a.matches),
            "--seconds" => a.seconds = value.parse().unwrap_or(a.seconds),
            "--rates" => a.rates = list(&value),
            "--workers" => a.workers = list(&value).into_iter().map(|w| w as usize).collect(),
            "--csv" => a.csv = Some(value),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// The schedule's clock origin in event time (any fixed UTC ms).
const T0: i64 = 1_767_225_600_000;

/// The feed's records as JSON lines re-timed to the schedule of `rate` records/s, `n` of them
/// (the feed repeats with fresh match ids when it is shorter).
fn scheduled_lines(
    records: &[oddsflow_dataflows::model::Record],
    rate: u64,
    n: usize,
) -> Vec<(u64, String)> {
    (0..n)
        .map(|i| {
            let mut r = records[i % records.len()].clone();
            let lap = (i / records.len()) as u64;
            r.match_id += lap * 10_000_000;
            let due_us = i as u64 * 1_000_000 / rate;
            r.ts = T0 + (due_us / 1000) as i64;
            (due_us, to_json_line(&r))
        })
        .collect()
}

fn run(lines: Arc<Vec<(u64, String)>>, workers: usize) -> Histogram<u64> {
    let cfg = RunConfig {
        granularity_ms: 1,
        lateness_ms: 0,
        progress: false,
        keep_outputs: false,
        ..RunConfig::default()
    };
    let result: Arc<Mutex<Histogram<u64>>> = Arc::new(Mutex::new(
        Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds"),
    ));
    let out = result.clone();
    let config = match workers {
        1 => timely::Config::thread(),
        n => timely::Config::process(n),
    };
    let start = Instant::now() + Duration::from_millis(200);
    timely::execute(config, move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let Hosted {
            mut feeder, probe, ..
        } = host(worker, &cfg, None).expect("pipeline");
        let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("bounds");
        let mut waiting: std::collections::VecDeque<(u64, u64)> = Default::default();
        let mut next = index;
        while Instant::now() < start {
            std::hint::spin_loop();
        }
        loop {
            let now_us = start.elapsed().as_micros() as u64;
            while next < lines.len() && lines[next].0 <= now_us {
                let (due_us, line) = &lines[next];
                let t = (T0 as u64) + due_us / 1000;
                feeder.give(t, Fed::Item((next as u64, Payload::Line(line.clone()))));
                waiting.push_back((t, *due_us));
                next += peers;
            }
            if next >= lines.len() {
                feeder.close();
            } else {
                // Every record still to come is due at this millisecond or later.
                feeder.downgrade(T0 as u64 + now_us / 1000);
            }
            worker.step();
            let now_us = start.elapsed().as_micros() as u64;
            while let Some(&(t, due)) = waiting.front() {
                if probe.less_than(&(t + 1)) {
                    break;
                }
                hist.record(now_us.saturating_sub(due).max(1))
                    .expect("in bounds");
                waiting.pop_front();
            }
            if feeder.time().is_none() && waiting.is_empty() && probe.done() {
                break;
            }
        }
        out.lock()
            .expect("histogram")
            .add(&hist)
            .expect("same bounds");
    })
    .expect("timely")
    .join()
    .into_iter()
    .for_each(|r| r.expect("worker"));
    result.lock().expect("histogram").clone()
}

fn main() {
    let a = args();
    let sim = simulate(&SimConfig {
        matches: a.matches,
        seed: 1,
        noise: NoiseConfig::typical(),
        ..SimConfig::default()
    });
    let records: Vec<_> = sim
        .items
        .into_iter()
        .filter_map(|p| match p {
            Payload::Decoded(r) => Some(r),
            Payload::Line(_) => None,
        })
        .collect();
    println!(
        "open-loop latency: {} matches ({} records, repeated as needed), {} s per rate",
        a.matches,
        records.len(),
        a.seconds
    );
    println!("rate/s,workers,records,p50_us,p99_us,p999_us,max_us");
    let mut csv = String::from("rate,workers,records,p50_us,p99_us,p999_us,max_us\n");
    for &rate in &a.rates {
        let n = (rate as f64 * a.seconds) as usize;
        let lines = Arc::new(scheduled_lines(&records, rate, n));
        for &w in &a.workers {
            let h = run(lines.clone(), w);
            let row = format!(
                "{rate},{w},{},{},{},{},{}",
                h.len(),
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99),
                h.value_at_quantile(0.999),
                h.max()
            );
            println!("{row}");
            csv.push_str(&row);
            csv.push('\n');
        }
    }
    if let Some(path) = a.csv {
        std::fs::write(&path, csv).expect("writing the CSV");
    }
}
