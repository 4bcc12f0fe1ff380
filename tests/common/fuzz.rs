//! A mutation fuzzer on stable Rust, shared by `tests/fuzz.rs` (10^4 cases in the suite) and
//! `benches/fuzz.rs` (10^6): each target's seeds — real inputs — are mutated (bytes flipped,
//! set, inserted, deleted, duplicated, spliced from another seed, cut, and JSON/CSV tokens and
//! odd numbers dropped in) and handed to the parser under test inside `catch_unwind`. A panic is
//! a failure, reported with the input that caused it; errors are expected.

#![allow(dead_code)]

use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use oddsflow::import::{betfair, football_data, statsbomb};
use oddsflow_dataflows::ingest::{Payload, parse_and_validate};
use oddsflow_dataflows::reject::ValidationConfig;
use oddsflow_dataflows::wire::{parse_json_line, peek_ts, to_json_line};

/// Tokens that parsers trip on.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"null",
    b"true",
    b"-1",
    b"-0",
    b"0",
    b"1e309",
    b"-1e309",
    b"1e-400",
    b"NaN",
    b"Infinity",
    b"99999999999999999999999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"4294967296",
    b"0x1f",
    b"1.",
    b".5",
    b"\n",
    b"\r\n",
    b"\t",
    b"\0",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\xf0\x9f\x98",
    b"\"\"",
    b",,,",
    b"{\"a\":",
    b"[[[[[[[[",
    b"]]]]]]]]",
];

/// Mutates `input` by 1–8 random operations (`other`: another seed, for splicing).
pub fn mutate(rng: &mut ChaCha8Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..rng.random_range(1..=8) {
        let n = b.len();
        match rng.random_range(0..9) {
            0 if n > 0 => {
                let i = rng.random_range(0..n);
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 if n > 0 => {
                let i = rng.random_range(0..n);
                b[i] = rng.random();
            }
            2 => {
                let i = rng.random_range(0..=n);
                let k = rng.random_range(1..=8);
                let bytes: Vec<u8> = (0..k).map(|_| rng.random()).collect();
                b.splice(i..i, bytes);
            }
            3 if n > 0 => {
                let i = rng.random_range(0..n);
                let j = (i + rng.random_range(1..=64)).min(n);
                b.drain(i..j);
            }
            4 if n > 0 => {
                let i = rng.random_range(0..n);
                let j = (i + rng.random_range(1..=256)).min(n);
                let chunk = b[i..j].to_vec();
                let at = rng.random_range(0..=b.len());
                b.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                let i = rng.random_range(0..other.len());
                let j = (i + rng.random_range(1..=512)).min(other.len());
                let at = rng.random_range(0..=b.len());
                b.splice(at..at, other[i..j].iter().copied());
            }
            6 if n > 0 => b.truncate(rng.random_range(0..n)),
            7 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                let at = rng.random_range(0..=b.len());
                b.splice(at..at, t.iter().copied());
            }
            _ if n > 0 => {
                // Replace a run of digits with an odd number.
                let i = rng.random_range(0..n);
                if let Some(s) = (i..n).find(|k| b[*k].is_ascii_digit()) {
                    let e = (s..n).find(|k| !b[*k].is_ascii_digit()).unwrap_or(n);
                    let t = TOKENS[rng.random_range(12..28)];
                    b.splice(s..e, t.iter().copied());
                }
            }
            _ => {}
        }
    }
    b
}

/// A parser under test: its seeds and how to run it on one input (in a scratch directory).
pub struct Target {
    pub name: &'static str,
    pub seeds: Vec<Vec<u8>>,
    /// Runs the parser; `true` when it accepted the input (an error is `false`, a panic a
    /// failure).
    pub run: fn(&[u8], &Path) -> bool,
    /// Recompute the changelog records' checksums after mutating (so that the decoder behind
    /// the checksum is reached too).
    pub fix_crc: bool,
}

/// What a fuzzing run found.
pub struct Report {
    pub name: &'static str,
    pub cases: u64,
    pub seconds: f64,
    /// Inputs the parser accepted (the seeds, and mutants that still parse: how deep the
    /// mutants reach).
    pub accepted: u64,
    /// Seeds the parser refused (a target whose seeds fail fuzzes only its error path).
    pub seeds_refused: usize,
    /// The inputs that panicked, with the panic message.
    pub panics: Vec<(Vec<u8>, String)>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn gunzip_or_bunzip(path: &Path) -> Vec<u8> {
    oddsflow::import::read_text(path)
        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
        .into_bytes()
}

/// The first `n` lines of `text`.
fn head(text: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for l in text.split(|b| *b == b'\n').take(n) {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

/// Every target: the record decoder, the football-data, Betfair (stream and CSV) and StatsBomb
/// importers, and the changelog reader.
pub fn targets(scratch: &Path) -> Vec<Target> {
    let sim = oddsflow::sim::simulate(&oddsflow::sim::SimConfig {
        matches: 2,
        seed: 9,
        ..oddsflow::sim::SimConfig::default()
    });
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for (i, p) in sim.items.iter().enumerate() {
        if i % 37 == 0 {
            lines.push(match p {
                Payload::Decoded(r) => to_json_line(r).into_bytes(),
                Payload::Line(l) => l.clone().into_bytes(),
            });
        }
    }
    let real = fixtures().join("real");
    let read = |p: &str| std::fs::read(real.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let stream = gunzip_or_bunzip(&real.join("betfair/mzaja_betfair_database__1.145405534.bz2"));
    let mut events = String::new();
    flate2::read::GzDecoder::new(&read("statsbomb/events/3754097.json.gz")[..])
        .read_to_string(&mut events)
        .expect("events");
    let all: Vec<serde_json::Value> = serde_json::from_str(&events).expect("events JSON");
    // A small match: the line-ups, the halves and the events that make incidents.
    let kept: Vec<&serde_json::Value> = all
        .iter()
        .filter(|e| {
            matches!(
                e["type"]["name"].as_str(),
                Some(
                    "Starting XI"
                        | "Half Start"
                        | "Half End"
                        | "Shot"
                        | "Foul Committed"
                        | "Substitution"
                        | "Tactical Shift"
                )
            )
        })
        .collect();
    let few = serde_json::to_vec(&kept).expect("json");
    let changelog = oddsflow::runtime::live::sample_changelog(&scratch.join("sample"))
        .expect("a sample changelog");
    vec![
        Target {
            name: "record decoder",
            seeds: lines,
            run: |b, _| {
                let line = String::from_utf8_lossy(b).into_owned();
                let _ = peek_ts(&line);
                let _ = parse_json_line(&line);
                parse_and_validate((0, Payload::Line(line)), &ValidationConfig::default()).is_ok()
            },
            fix_crc: false,
        },
        Target {
            name: "football-data CSV",
            seeds: vec![
                read("football-data/E0_1516_head.csv"),
                read("football-data/E0_2122_head.csv"),
            ],
            run: |b, dir| {
                let p = dir.join("fd.csv");
                std::fs::write(&p, b).expect("write");
                football_data::import(&[p]).is_ok_and(|i| !i.records.is_empty())
            },
            fix_crc: false,
        },
        Target {
            name: "Betfair stream",
            seeds: vec![head(&stream, 40)],
            run: |b, dir| {
                let p = dir.join("stream.jsonl");
                std::fs::write(&p, b).expect("write");
                betfair::import(&[p]).is_ok_and(|i| !i.records.is_empty())
            },
            fix_crc: false,
        },
        Target {
            name: "Betfair A-League CSV",
            seeds: vec![
                read("betfair/A-League_2020-2021_Match_Odds.excerpt.csv"),
                read("betfair/A-League_2022-2023_Match_Odds.excerpt.csv"),
            ],
            run: |b, dir| {
                let p = dir.join("A-League_Fuzz_Match_Odds.csv");
                std::fs::write(&p, b).expect("write");
                betfair::import(&[p]).is_ok_and(|i| !i.records.is_empty())
            },
            fix_crc: false,
        },
        Target {
            name: "StatsBomb events",
            seeds: vec![few],
            run: |b, dir| {
                let events = dir.join("events");
                std::fs::create_dir_all(&events).expect("dir");
                std::fs::write(events.join("3754097.json"), b).expect("write");
                let real = fixtures().join("real/statsbomb");
                let args = statsbomb::StatsbombArgs {
                    events_dir: events,
                    lineups_dir: real.join("lineups"),
                    matches_file: real.join("matches.json.gz"),
                    odds: vec![],
                    only: vec![3754097],
                };
                statsbomb::import(&args).is_ok_and(|i| !i.records.is_empty())
            },
            fix_crc: false,
        },
        Target {
            name: "changelog reader",
            seeds: vec![changelog],
            run: |b, dir| {
                std::fs::write(dir.join(oddsflow::runtime::live::CHANGELOG_FILE), b)
                    .expect("write");
                // The sample's frames are all read only if the image is whole: closed (None).
                oddsflow::runtime::live::durable_frontier(dir).is_ok_and(|d| d.is_none())
            },
            fix_crc: true,
        },
    ]
}

/// Recomputes the checksum of every whole record of a changelog image: `[len u64][crc u32]`
/// then `len` bytes.
fn fix_crcs(b: &mut [u8]) {
    let mut at = 0;
    while at + 12 <= b.len() {
        let len = u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes")) as usize;
        let Some(end) = (at + 12).checked_add(len).filter(|e| *e <= b.len()) else {
            return;
        };
        let crc = crc32fast::hash(&b[at + 12..end]);
        b[at + 8..at + 12].copy_from_slice(&crc.to_le_bytes());
        at = end;
    }
}

/// Runs `cases` mutated inputs (every seed unmutated first) through `t`.
pub fn fuzz(t: &Target, cases: u64, seed: u64, scratch: &Path) -> Report {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = scratch.join(t.name.replace(' ', "-"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let started = Instant::now();
    let mut panics = Vec::new();
    let (mut accepted, mut seeds_refused) = (0, 0);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for case in 0..cases {
        let input = match t.seeds.get(case as usize) {
            Some(s) => s.clone(),
            None => {
                let a = &t.seeds[rng.random_range(0..t.seeds.len())];
                let b = &t.seeds[rng.random_range(0..t.seeds.len())];
                let mut m = mutate(&mut rng, a, b);
                if t.fix_crc && rng.random_bool(0.7) {
                    fix_crcs(&mut m);
                }
                m
            }
        };
        let is_seed = (case as usize) < t.seeds.len();
        match catch_unwind(AssertUnwindSafe(|| (t.run)(&input, &dir))) {
            Ok(true) => accepted += 1,
            Ok(false) => seeds_refused += is_seed as usize,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panics.push((input, msg));
            }
        }
    }
    std::panic::set_hook(hook);
    Report {
        name: t.name,
        cases,
        seconds: started.elapsed().as_secs_f64(),
        accepted,
        seeds_refused,
        panics,
    }
}
