//! Fuzzing in the suite (issue 18): 10^4 mutated inputs, spread over the record decoder, the
//! football-data, Betfair (stream and A-League CSV) and StatsBomb importers and the changelog
//! reader (`tests/common/fuzz.rs`); none may panic. `cargo bench --bench fuzz` runs 10^6.
//! Each panic found becomes a named regression test below.

mod common;

use common::fuzz::{fuzz, targets};

/// Cases per target: the fast decoder gets most of them.
fn cases(name: &str) -> u64 {
    match name {
        "record decoder" => 5_000,
        "changelog reader" => 1_500,
        "StatsBomb events" => 500,
        _ => 1_000,
    }
}

#[test]
fn ten_thousand_mutated_inputs_and_no_panic() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let ts = targets(scratch.path());
    let mut total = 0;
    let mut failures = Vec::new();
    for (i, t) in ts.iter().enumerate() {
        let r = fuzz(t, cases(t.name), 1_000 + i as u64, scratch.path());
        eprintln!(
            "{}: {} cases in {:.1}s, {} accepted, {} panics",
            r.name,
            r.cases,
            r.seconds,
            r.accepted,
            r.panics.len()
        );
        total += r.cases;
        assert_eq!(r.seeds_refused, 0, "{}: every seed parses", r.name);
        assert!(
            r.accepted > t.seeds.len() as u64,
            "{}: some mutants still parse (the fuzzer reaches past the first byte)",
            r.name
        );
        for (input, msg) in r.panics.iter().take(3) {
            failures.push(format!(
                "{}: {msg}\n  input: {:?}",
                r.name,
                String::from_utf8_lossy(&input[..input.len().min(400)])
            ));
        }
    }
    assert_eq!(total, 10_000);
    assert!(failures.is_empty(), "panics:\n{}", failures.join("\n"));
}

/// Found by the fuzzer: a changelog record whose length field claimed 126 GB made the reader
/// allocate that much before reading (the process aborted). A length beyond the file is now a
/// record cut short, read as the end of the log.
#[test]
fn a_changelog_record_longer_than_its_file_is_a_cut_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sample =
        oddsflow::runtime::live::sample_changelog(&dir.path().join("s")).expect("a changelog");
    sample[..8].copy_from_slice(&126_255_657_009u64.to_le_bytes());
    std::fs::write(
        dir.path().join(oddsflow::runtime::live::CHANGELOG_FILE),
        &sample,
    )
    .expect("write");
    assert_eq!(
        oddsflow::runtime::live::durable_frontier(dir.path()).expect("readable"),
        Some(0),
        "nothing durable: the first record is cut"
    );
}

/// Found by the fuzzer: a StatsBomb event time of days into a half made the importer push a
/// clock tick for every minute of it (5 GB before the process was killed). A half longer than
/// 90 minutes by its events' times is now refused with its reason, and a timestamp out of range
/// (`99999:00:00`) is unreadable.
#[test]
fn a_statsbomb_half_lasting_days_is_refused_not_ticked_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real/statsbomb");
    let text = oddsflow::import::read_text(&real.join("events/3754097.json.gz")).expect("events");
    let mut events: Vec<serde_json::Value> = serde_json::from_str(&text).expect("json");
    let last = events
        .iter()
        .rposition(|e| e["period"] == 1)
        .expect("a first-half event");
    for (i, stamp) in [(last, "23:59:00.000"), (0, "99999:00:00.000")] {
        events[i]["timestamp"] = serde_json::Value::from(stamp);
    }
    let ev = dir.path().join("events");
    std::fs::create_dir_all(&ev).expect("dir");
    std::fs::write(
        ev.join("3754097.json"),
        serde_json::to_vec(&events).expect("json"),
    )
    .expect("write");
    let imp = oddsflow::import::statsbomb::import(&oddsflow::import::statsbomb::StatsbombArgs {
        events_dir: ev,
        lineups_dir: real.join("lineups"),
        matches_file: real.join("matches.json.gz"),
        odds: vec![],
        only: vec![3754097],
    })
    .expect("the import runs");
    assert!(imp.records.is_empty(), "the match is refused");
    let why = format!("{:?}", imp.report.skipped);
    assert!(
        why.contains("period 1 lasts") && why.contains("implausible"),
        "{why}"
    );
}
