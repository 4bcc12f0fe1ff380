//! Replay throughput against a parse-only baseline measured in the same run.
//!
//! Simulates a feed in memory (default 100 matches, typical noise), then times
//! (a) parse-only: `parse_and_validate` of every item, on one thread — the cost of reading the
//!     input and nothing else;
//! (b) the replay (ingest + aggregates) on 1 worker and on 2 workers.
//! Reports records/s and each replay's ratio to the parse-only ceiling.
//!
//! `cargo bench --bench replay -- [MATCHES]`

use std::time::Instant;

use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::memory_feed;
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::ingest::{Payload, parse_and_validate};
use oddsflow_dataflows::wire::to_json_line;

fn main() {
    let matches: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let sim = simulate(&SimConfig {
        matches,
        seed: 1,
        noise: NoiseConfig::typical(),
        ..SimConfig::default()
    });
    // As read from a JSON-lines file: every item a line, parsed inside the dataflow.
    let items: Vec<Payload> = sim
        .items
        .iter()
        .map(|p| match p {
            Payload::Decoded(r) => Payload::Line(to_json_line(r)),
            line => line.clone(),
        })
        .collect();
    let n = items.len() as f64;
    println!(
        "feed: {matches} matches, {} items (JSON lines)",
        items.len()
    );

    let t = Instant::now();
    let ok = items
        .iter()
        .enumerate()
        .filter(|(i, p)| parse_and_validate((*i as u64, (*p).clone()), &Default::default()).is_ok())
        .count();
    let parse = n / t.elapsed().as_secs_f64();
    println!("parse-only ceiling     {parse:>12.0} records/s  ({ok} valid)");

    let cfg = RunConfig {
        progress: false,
        ..RunConfig::default()
    };
    for workers in [1, 2] {
        let config = if workers == 1 {
            timely::Config::thread()
        } else {
            timely::Config::process(workers)
        };
        let t = Instant::now();
        let (outputs, _) = replay(memory_feed(items.clone()), &cfg, None, config)
            .expect("replay")
            .expect("worker 0");
        let rate = n / t.elapsed().as_secs_f64();
        println!(
            "replay, {workers} worker(s)     {rate:>12.0} records/s  = {:.3} of parse-only  ({} team-match changes)",
            rate / parse,
            outputs.team_match.len()
        );
    }
}
