//! The offline feature store is point-in-time correct: `features.parquet` read "as of t" holds
//! exactly the vectors a replay that stopped reading at `t` had — nothing from later records —
//! and `oddsflow features … --match ID --at T` prints that vector, from a feed or from the store.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use oddsflow::io::feed::FeedWriter;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::{features_at, features_from_store, write_outputs};
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::memory_feed;
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::features::FeatureVector;
use oddsflow_dataflows::model::MatchId;

/// The fields compared between the Parquet store (flat columns) and in-memory vectors.
fn summary_of_vector(v: &FeatureVector) -> (i64, i64, i64, Option<f64>, Option<f64>, f64) {
    (
        i64::from(v.clock_s),
        i64::from(v.score_diff),
        i64::from(v.home.goals),
        v.implied.home.map(|p| p.0),
        v.drift.home.map(|p| p.0),
        v.dominance_short.index.0,
    )
}

fn summary_of_row(row: &serde_json::Value) -> (i64, i64, i64, Option<f64>, Option<f64>, f64) {
    let i = |k: &str| row[k].as_i64().unwrap_or_else(|| panic!("{k} in {row}"));
    let f = |k: &str| row[k].as_f64();
    (
        i("clock_s"),
        i("score_diff"),
        i("home.goals"),
        f("implied.home"),
        f("drift.home"),
        f("dominance_short.index").expect("index"),
    )
}

#[test]
fn the_store_read_as_of_t_equals_a_replay_that_stopped_at_t() {
    let items = simulate(&SimConfig {
        matches: 8,
        seed: 81,
        noise: NoiseConfig::typical(),
        ..SimConfig::default()
    })
    .items;
    let cfg = RunConfig {
        progress: false,
        ..RunConfig::default()
    };
    let (full, stats) = replay(
        memory_feed(items.clone()),
        &cfg,
        None,
        timely::Config::thread(),
    )
    .expect("replay")
    .expect("worker 0");
    let dir = tempfile::tempdir().expect("tempdir");
    write_outputs(dir.path(), &full, &stats).expect("write");
    let store = dir.path().join("features.parquet");

    let times: Vec<u64> = full.features.iter().map(|c| c.1).collect();
    let (lo, hi) = (
        *times.iter().min().expect("features"),
        *times.iter().max().expect("features"),
    );
    let mut compared = 0;
    for k in 1..8 {
        let t = (lo + (hi - lo) / 8 * k) / 1000 * 1000;
        let cut = RunConfig {
            until: Some(t),
            ..cfg.clone()
        };
        let (prefix, _) = replay(
            memory_feed(items.clone()),
            &cut,
            None,
            timely::Config::thread(),
        )
        .expect("replay")
        .expect("worker 0");
        let known: BTreeMap<MatchId, _> = features_at(&prefix, t)
            .iter()
            .map(|(m, v)| (*m, summary_of_vector(v)))
            .collect();
        let from_full: BTreeMap<MatchId, _> = features_at(&full, t)
            .iter()
            .map(|(m, v)| (*m, summary_of_vector(v)))
            .collect();
        let from_store: BTreeMap<MatchId, _> = features_from_store(&store, t)
            .expect("read store")
            .iter()
            .map(|(m, row)| (*m, summary_of_row(row)))
            .collect();
        assert_eq!(
            from_full, known,
            "the full replay at t={t} used records a live system did not have yet"
        );
        assert_eq!(from_store, known, "the store as of t={t}");
        compared += known.len();
    }
    assert!(
        compared > 10,
        "the sampled times must see live matches ({compared})"
    );
}

#[test]
fn the_features_command_prints_the_vector_from_a_feed_and_from_the_store() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let feed = tmp.path().join("feed.jsonl");
    let sim = simulate(&SimConfig {
        matches: 4,
        seed: 82,
        noise: NoiseConfig::none(),
        ..SimConfig::default()
    });
    let mut w = FeedWriter::create(&feed).expect("feed");
    for item in &sim.items {
        w.write(item).expect("write");
    }
    w.finish().expect("finish");
    let m = sim.matches[0].match_id;
    let at = sim.matches[0].kickoff + 30 * 60_000; // half an hour into the match
    let bin = env!("CARGO_BIN_EXE_oddsflow");
    let run = |args: &[&str]| {
        let out = Command::new(bin).args(args).output().expect("runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON on stdout")
    };
    let feed_s = feed.to_str().expect("utf-8");
    let (m_s, at_s) = (m.to_string(), at.to_string());
    let from_feed = run(&["features", feed_s, "--match", &m_s, "--at", &at_s]);
    assert_eq!(from_feed["match"], m);
    let v = &from_feed["features"];
    assert!(v["clock_s"].as_i64().expect("clock") > 25 * 60, "{v}");
    assert_eq!(v["status"], "first_half");
    let out_dir = tmp.path().join("out");
    let status = Command::new(bin)
        .args([
            "replay",
            feed_s,
            "--out",
            out_dir.to_str().expect("utf-8"),
            "--no-progress",
        ])
        .status();
    assert!(status.expect("runs").success());
    let store = out_dir.join("features.parquet");
    let from_store = run(&[
        "features",
        "--store",
        store.to_str().expect("utf-8"),
        "--match",
        &m_s,
        "--at",
        &at_s,
    ]);
    let s = &from_store["features"];
    assert_eq!(s["clock_s"], v["clock_s"]);
    assert_eq!(s["home.goals"], v["home"]["goals"]);
    assert_eq!(s["implied.draw"], v["implied"]["draw"]);
    // A match that is not live then is a clear error.
    let early = (sim.matches[0].kickoff - 3_600_000).to_string();
    let out = Command::new(bin)
        .args(["features", feed_s, "--match", &m_s, "--at", &early])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not live"));
    assert!(Path::new(&store).exists());
}

#[test]
fn times_read_as_rfc3339_or_milliseconds() {
    use oddsflow::time::parse_time;
    assert_eq!(parse_time("1767441600000").expect("ms"), 1_767_441_600_000);
    assert_eq!(
        parse_time("2026-01-03T12:00:00Z").expect("rfc3339"),
        1_767_441_600_000
    );
    assert_eq!(
        parse_time("2026-01-03T12:00:00.250Z").expect("fraction"),
        1_767_441_600_250
    );
    assert_eq!(parse_time("1970-01-01T00:00:00Z").expect("epoch"), 0);
    assert!(parse_time("yesterday").is_err());
}
