//! The same feed gives byte-identical canonical outputs — features, bets, settlements, ledger and
//! the policies' reports — on 1 worker, 2 workers, and 2 processes
//! (`-n 2 -p 0` / `-p 1` on localhost), through the real binary.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use oddsflow::io::feed::FeedWriter;
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};

const BIN: &str = env!("CARGO_BIN_EXE_oddsflow");

fn oddsflow(args: &[&str]) -> std::process::Child {
    Command::new(BIN)
        .args(args)
        .spawn()
        .expect("the oddsflow binary starts")
}

fn wait_ok(mut child: std::process::Child, what: &str) {
    let status = child.wait().expect("wait");
    assert!(status.success(), "{what} failed: {status}");
}

/// Two free localhost ports for a hostfile (bound, then released).
fn free_ports() -> [u16; 2] {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    [
        a.local_addr().expect("addr").port(),
        b.local_addr().expect("addr").port(),
    ]
}

/// The files that must be identical: every output table, the dead letters and the summary's
/// canonical part (its `run` block holds timings).
fn canonical_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in oddsflow::runtime::outputs::TABLES
        .iter()
        .chain(oddsflow::runtime::outputs::BETTING_TABLES.iter())
        .map(|t| format!("{t}.parquet"))
        .chain(["dead_letter.jsonl".to_string()])
    {
        out.push((
            name.clone(),
            std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}")),
        ));
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
            .expect("summary is JSON");
    let mut canonical = summary.as_object().expect("an object").clone();
    canonical.remove("run");
    out.push((
        "summary.json".into(),
        serde_json::to_vec(&canonical).expect("json"),
    ));
    out
}

#[test]
fn one_worker_two_workers_and_two_processes_write_identical_outputs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let feed = tmp.path().join("feed.jsonl.gz");
    let sim = simulate(&SimConfig {
        matches: 12,
        seed: 5,
        noise: NoiseConfig::typical(),
        ..SimConfig::default()
    });
    let items = sim.items;
    // The truth channel beside the feed: the oracle policy runs too.
    oddsflow::io::table::write_json_lines(
        &tmp.path().join("feed.truth.jsonl.gz"),
        sim.truth.iter(),
    )
    .expect("write truth");
    let mut w = FeedWriter::create(&feed).expect("create feed");
    for item in &items {
        w.write(item).expect("write");
    }
    w.finish().expect("finish");
    let feed = feed.to_str().expect("utf-8 path");
    let dir = |name: &str| tmp.path().join(name).to_str().expect("utf-8").to_string();

    wait_ok(
        oddsflow(&["replay", feed, "--out", &dir("one"), "--no-progress"]),
        "1 worker",
    );
    wait_ok(
        oddsflow(&[
            "replay",
            feed,
            "--out",
            &dir("two"),
            "-w",
            "2",
            "--no-progress",
        ]),
        "2 workers",
    );
    let hostfile = tmp.path().join("hosts.txt");
    let [p0, p1] = free_ports();
    std::fs::write(&hostfile, format!("127.0.0.1:{p0}\n127.0.0.1:{p1}\n")).expect("hostfile");
    let hosts = hostfile.to_str().expect("utf-8");
    let procs = dir("procs");
    let children: Vec<_> = ["0", "1"]
        .into_iter()
        .map(|p| {
            oddsflow(&[
                "replay",
                feed,
                "--out",
                &procs,
                "-n",
                "2",
                "-p",
                p,
                "-h",
                hosts,
                "--no-progress",
            ])
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        wait_ok(child, &format!("process {i} of 2"));
    }

    let one = canonical_files(Path::new(&dir("one")));
    assert!(
        one.iter()
            .any(|(n, bytes)| n == "team_match_stats.parquet" && bytes.len() > 1000),
        "outputs are not empty"
    );
    // Every baseline and the learner ran, and bets were taken and settled.
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(&dir("one")).join("summary.json")).expect("summary"),
    )
    .expect("json");
    let policies: Vec<&str> = summary["policies"]
        .as_array()
        .expect("policy reports")
        .iter()
        .map(|p| p["policy"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        policies,
        ["no-bet", "random", "favourite", "value", "oracle", "drqn"]
    );
    assert!(
        one.iter()
            .any(|(n, bytes)| n == "settlements.parquet" && bytes.len() > 1000),
        "bets were settled"
    );
    for other in ["two", "procs"] {
        let got = canonical_files(Path::new(&dir(other)));
        for ((name, a), (_, b)) in one.iter().zip(&got) {
            assert!(a == b, "{name} differs between 1 worker and {other}");
        }
    }
}

/// The learner acts and learns as the feed plays: its bets and ledger are the same on 1 and 2
/// workers (its network, exploration and training are seeded and run on one worker).
#[test]
fn the_online_learner_bets_the_same_on_one_and_two_workers() {
    let sim = simulate(&SimConfig {
        matches: 10,
        seed: 9,
        noise: NoiseConfig::typical(),
        ..SimConfig::default()
    });
    let cfg = oddsflow::runtime::config::RunConfig {
        progress: false,
        keep_outputs: false,
        policies: vec![oddsflow::policy::PolicySpec::parse("drqn", 3).expect("drqn")],
        ..oddsflow::runtime::config::RunConfig::default()
    };
    let one = common::run(&sim.items, &cfg, 1);
    let two = common::run(&sim.items, &cfg, 2);
    assert!(
        one.betting.decisions.len() >= 20,
        "the learner bets: {} requests",
        one.betting.decisions.len()
    );
    assert_eq!(one.betting, two.betting);
    assert_eq!(
        oddsflow::betting::ledger::ledger(&one.betting, one.bankroll),
        oddsflow::betting::ledger::ledger(&two.betting, two.bankroll)
    );
    assert_eq!(one.reports, two.reports);
}
