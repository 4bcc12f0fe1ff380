//! The learner end to end through the binary: `oddsflow train` writes a checkpoint, `oddsflow
//! eval` replays a feed with it (frozen) beside the baselines, and a checkpoint with another
//! feature schema is refused.

use std::path::Path;
use std::process::{Command, Output};

use oddsflow::io::feed::FeedWriter;
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};

const BIN: &str = env!("CARGO_BIN_EXE_oddsflow");

fn oddsflow(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the oddsflow binary starts")
}

fn ok(out: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{what} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn write_feed(dir: &Path) -> String {
    let sim = simulate(
        &SimConfig {
            matches: 12,
            seed: 7,
            noise: NoiseConfig::typical(),
            ..SimConfig::default()
        }
        .with_matches_per_day(2),
    );
    let feed = dir.join("feed.jsonl.gz");
    oddsflow::io::table::write_json_lines(&dir.join("feed.truth.jsonl.gz"), sim.truth.iter())
        .expect("write truth");
    let mut w = FeedWriter::create(&feed).expect("create feed");
    for item in &sim.items {
        w.write(item).expect("write");
    }
    w.finish().expect("finish");
    feed.to_str().expect("utf-8 path").to_string()
}

#[test]
fn train_then_eval_and_a_foreign_schema_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let feed = write_feed(tmp.path());
    let path = |name: &str| tmp.path().join(name).to_str().expect("utf-8").to_string();
    let (model, out) = (path("model"), path("eval"));

    let stdout = ok(
        oddsflow(&[
            "train",
            &feed,
            "--out",
            &model,
            "--passes",
            "2",
            "--updates",
            "20",
        ]),
        "train",
    );
    eprintln!("{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("pass ") && l.contains(" decisions, "))
            .count(),
        2,
        "one line per pass and feed:\n{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("pass ") && l.contains(" updates over "))
            .count(),
        2,
        "one training line per pass:\n{stdout}"
    );
    assert!(
        stdout.contains("40 updates in all"),
        "two passes of 20 updates:\n{stdout}"
    );
    let meta_path = Path::new(&model).join("checkpoint.json");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).expect("checkpoint.json"))
            .expect("checkpoint.json is JSON");
    let schema = meta["feature_schema"].as_array().expect("a feature schema");
    assert!(!schema.is_empty());
    assert!(meta["policy"]["checkpoint_in"].is_null());
    assert!(meta["policy"]["checkpoint_out"].is_null());

    let stdout = ok(
        oddsflow(&["eval", &feed, "--model", &model, "--out", &out]),
        "eval",
    );
    eprintln!("{stdout}");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(&out).join("summary.json")).expect("summary.json"),
    )
    .expect("summary is JSON");
    let text = summary.to_string();
    assert!(
        text.contains("\"policy\":\"drqn\""),
        "no drqn report: {text}"
    );
    assert!(
        text.contains("\"policy\":\"oracle\""),
        "no oracle report: {text}"
    );

    // Another feature schema: eval refuses the checkpoint.
    let mut tampered = meta.clone();
    let name = tampered["feature_schema"][0]
        .as_str()
        .expect("a name")
        .to_string();
    tampered["feature_schema"][0] = serde_json::Value::String(format!("{name}_renamed"));
    std::fs::write(&meta_path, tampered.to_string()).expect("write checkpoint.json");
    let failed = oddsflow(&["eval", &feed, "--model", &model, "--out", &path("eval2")]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "eval accepted a foreign schema");
    assert!(stderr.contains("feature schema"), "{stderr}");
}
