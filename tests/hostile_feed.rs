//! A hostile feed (issue 18): copies of a clean simulated feed, made here, each damaged in one
//! way — bytes flipped, lines cut short, every line sent 1–5 times, lines moved, a 5 MB line
//! and a deeply nested one, odd numbers, odd unicode, a byte order mark with CRLF and blank
//! lines — replayed from a file through the whole run (the dataflows, the baselines, the
//! bookmaker, settlement).
//!
//! What must hold for every copy: the replay returns (no panic, no error); every line is counted
//! once (`records_in = records_ok + rejected`); at most 1 % of the records are late (the clean
//! feed has none: no one damaged line may move the clock); and where the damage leaves the
//! information intact (the duplicated copy; BOM, CRLF and blank lines), the outputs — every
//! collection, bet and settlement — are the clean run's.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use oddsflow::policy::PolicySpec;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::Outputs;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::file_feed;
use oddsflow::sim::{SimConfig, simulate};
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::wire::to_json_line;

/// The clean feed's lines.
fn clean_lines() -> Vec<Vec<u8>> {
    simulate(&SimConfig {
        matches: 6,
        seed: 1818,
        ..SimConfig::default()
    })
    .items
    .iter()
    .map(|p| match p {
        Payload::Decoded(r) => to_json_line(r).into_bytes(),
        Payload::Line(l) => l.clone().into_bytes(),
    })
    .collect()
}

fn config() -> RunConfig {
    RunConfig {
        progress: false,
        policies: ["random", "favourite", "value"]
            .iter()
            .map(|p| PolicySpec::parse(p, 7).expect("a baseline"))
            .collect(),
        seed: 7,
        ..RunConfig::default()
    }
}

/// Writes `lines` joined by `eol` (with `prefix` first) and replays the file.
fn replay_bytes(dir: &Path, name: &str, prefix: &[u8], lines: &[Vec<u8>], eol: &[u8]) -> Outputs {
    let path = dir.join(format!("{name}.jsonl"));
    let mut bytes = prefix.to_vec();
    for l in lines {
        bytes.extend_from_slice(l);
        bytes.extend_from_slice(eol);
    }
    std::fs::write(&path, bytes).expect("write the feed");
    let (o, _) = replay(file_feed(&path), &config(), None, timely::Config::thread())
        .unwrap_or_else(|e| panic!("{name}: the replay fails: {e:#}"))
        .expect("worker 0 is here");
    o
}

/// The outputs without the summary (whose counts say how much noise there was).
fn collections(o: &Outputs) -> String {
    let text = o.canonical_text();
    text.split("# summary")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn check_counts(o: &Outputs, name: &str) {
    let s = &o.summary;
    eprintln!(
        "{name}: in {} ok {} rejected {} late {} duplicates {} bets {} {:?}",
        s.records_in,
        s.records_ok,
        s.rejected,
        s.late,
        s.duplicates,
        o.betting.decisions.len(),
        s.rejected_by_reason
    );
    assert_eq!(s.records_in, s.records_ok + s.rejected, "{name}: {s:?}");
    assert!(
        s.late * 100 <= s.records_in,
        "{name}: {} of {} records late",
        s.late,
        s.records_in
    );
    assert!(s.records_ok > 0, "{name}: nothing read");
}

#[test]
fn every_kind_of_damage_is_survived_and_counted_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clean = clean_lines();
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let base = replay_bytes(dir.path(), "clean", b"", &clean, b"\n");
    check_counts(&base, "clean");
    assert_eq!(base.summary.late, 0, "the clean feed has no late record");
    assert!(!base.betting.decisions.is_empty(), "the baselines bet");

    // Bytes flipped: 2 % of the lines get 1–3 random bytes (newlines included).
    let flipped: Vec<Vec<u8>> = clean
        .iter()
        .map(|l| {
            let mut l = l.clone();
            if rng.random_bool(0.02) {
                for _ in 0..rng.random_range(1..=3) {
                    let i = rng.random_range(0..l.len());
                    l[i] = rng.random();
                }
            }
            l
        })
        .collect();
    let o = replay_bytes(dir.path(), "flipped", b"", &flipped, b"\n");
    check_counts(&o, "flipped");
    let bets = |o: &Outputs| o.betting.decisions.len() as f64;
    assert!(
        (bets(&o) - bets(&base)).abs() <= 0.1 * bets(&base),
        "flipped: {} bets against {} clean",
        bets(&o),
        bets(&base)
    );

    // Lines cut short: 1 % end at a random byte.
    let cut: Vec<Vec<u8>> = clean
        .iter()
        .map(|l| {
            if rng.random_bool(0.01) {
                l[..rng.random_range(0..l.len())].to_vec()
            } else {
                l.clone()
            }
        })
        .collect();
    check_counts(&replay_bytes(dir.path(), "cut", b"", &cut, b"\n"), "cut");

    // Every line 1–5 times in a row: the outputs are the clean run's.
    let repeated: Vec<Vec<u8>> = clean
        .iter()
        .flat_map(|l| std::iter::repeat_n(l.clone(), rng.random_range(1..=5)))
        .collect();
    let o = replay_bytes(dir.path(), "repeated", b"", &repeated, b"\n");
    check_counts(&o, "repeated");
    assert_eq!(o.summary.records_in, repeated.len() as u64);
    assert_eq!(
        o.summary.duplicates,
        (repeated.len() - clean.len()) as u64,
        "each copy counted as a duplicate, once"
    );
    assert!(
        collections(&o) == collections(&base),
        "repeated lines change the outputs"
    );

    // Lines moved: 0.5 % moved 1–200 lines later.
    let mut moved = clean.clone();
    for i in (0..moved.len()).rev() {
        if rng.random_bool(0.005) {
            let l = moved.remove(i);
            let to = (i + rng.random_range(1..=200)).min(moved.len());
            moved.insert(to, l);
        }
    }
    check_counts(
        &replay_bytes(dir.path(), "moved", b"", &moved, b"\n"),
        "moved",
    );

    // A 5 MB line and a deeply nested one, beside a fixture-looking prefix.
    let mut huge = clean.clone();
    let big = format!(
        r#"{{"ts":{},"match":1,"kind":"odds","blob":"{}"}}"#,
        1_767_500_000_000_i64,
        "x".repeat(5 << 20)
    );
    huge.insert(huge.len() / 3, big.into_bytes());
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    huge.insert(huge.len() / 2, deep.into_bytes());
    let deep_obj = format!(
        r#"{{"ts":1,"a":{}1{}}}"#,
        r#"{"a":"#.repeat(100_000),
        "}".repeat(100_000)
    );
    huge.insert(2 * huge.len() / 3, deep_obj.into_bytes());
    let o = replay_bytes(dir.path(), "huge", b"", &huge, b"\n");
    check_counts(&o, "huge");
    assert_eq!(o.summary.rejected, base.summary.rejected + 3);

    // Odd numbers in place of a price, a time, a version, a match id.
    let template = String::from_utf8(
        clean
            .iter()
            .find(|l| l.windows(8).any(|w| w == b"\"price\":"))
            .expect("an odds line")
            .clone(),
    )
    .expect("utf-8");
    let mut odd = clean.clone();
    for n in [
        "NaN",
        "1e309",
        "-1e309",
        "99999999999999999999999999999",
        "-0",
        "1e-320",
        "0x10",
        "Infinity",
        "\"12\"",
        "[]",
    ] {
        for field in ["price", "ts", "version", "match"] {
            let i = rng.random_range(0..odd.len());
            odd.insert(i, replace_number(&template, field, n).into_bytes());
        }
    }
    check_counts(
        &replay_bytes(dir.path(), "numbers", b"", &odd, b"\n"),
        "numbers",
    );

    // Odd unicode: lone surrogates escaped, right-to-left marks, NUL, and invalid UTF-8.
    let mut uni = clean.clone();
    for s in [
        r#"\ud800"#,
        r#"\udfff\ud800"#,
        "\u{202e}\u{200d}\u{feff}",
        r#"\u0000"#,
        "😀𝕏",
    ] {
        let i = rng.random_range(0..uni.len());
        uni.insert(
            i,
            template
                .replace(
                    "\"kind\":\"odds\"",
                    &format!("\"kind\":\"odds\",\"note\":\"{s}\""),
                )
                .into_bytes(),
        );
        let i = rng.random_range(0..uni.len());
        uni.insert(
            i,
            template
                .replace("\"odds\"", &format!("\"odds{s}\""))
                .into_bytes(),
        );
    }
    let i = rng.random_range(0..uni.len());
    uni.insert(i, b"{\"ts\":1,\"kind\":\"\xff\xfe\"}".to_vec());
    check_counts(
        &replay_bytes(dir.path(), "unicode", b"", &uni, b"\n"),
        "unicode",
    );

    // A BOM, CRLF line ends and blank lines between: the outputs are the clean run's.
    let mut spaced = Vec::new();
    for (i, l) in clean.iter().enumerate() {
        spaced.push(l.clone());
        if i % 97 == 0 {
            spaced.push(Vec::new());
        }
    }
    let o = replay_bytes(dir.path(), "bom-crlf", b"\xEF\xBB\xBF", &spaced, b"\r\n");
    check_counts(&o, "bom-crlf");
    assert!(
        collections(&o)
            .split("# dead_letters")
            .next()
            .is_some_and(|c| Some(c) == collections(&base).split("# dead_letters").next()),
        "BOM, CRLF and blank lines change the outputs"
    );
}

/// `line` with the value of `"field":` replaced by the literal `n`.
fn replace_number(line: &str, field: &str, n: &str) -> String {
    let key = format!("\"{field}\":");
    let Some(start) = line.find(&key).map(|i| i + key.len()) else {
        return line.to_string();
    };
    let end = line[start..]
        .find([',', '}'])
        .map_or(line.len(), |e| start + e);
    format!("{}{n}{}", &line[..start], &line[end..])
}
