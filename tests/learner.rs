//! The learner end to end through the binary: `oddsflow train` writes a checkpoint, `oddsflow
//! eval` replays a feed with it (frozen) beside the baselines, and a checkpoint with another
//! feature schema is refused; and training is deterministic (the same checkpoint bytes from
//! the same feed and seed, on 1 and 2 workers).

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
    write_feed_of(dir, 12)
}

fn write_feed_of(dir: &Path, matches: usize) -> String {
    let sim = simulate(
        &SimConfig {
            matches,
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

/// The same feed, seed and settings give byte-identical `model.bpk` and `checkpoint.json`:
/// twice on 1 worker (two processes, so burn's per-process random parameter ids and the hash
/// seeds differ) and once on 2 workers. Two passes, so the second replay acts with the weights
/// the first pass's updates trained.
#[test]
fn training_is_deterministic_across_runs_and_workers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let feed = write_feed_of(tmp.path(), 6);
    let train = |name: &str, workers: &str| {
        let dir = tmp.path().join(name);
        let dir_s = dir.to_str().expect("utf-8").to_string();
        let stdout = ok(
            oddsflow(&[
                "train",
                &feed,
                "--out",
                &dir_s,
                "--passes",
                "2",
                "--updates",
                "5",
                "-w",
                workers,
            ]),
            "train",
        );
        assert!(
            stdout.contains("10 updates in all"),
            "two passes of 5 updates:\n{stdout}"
        );
        let read = |file: &str| {
            std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{name}/{file}: {e}"))
        };
        (read("model.bpk"), read("checkpoint.json"))
    };
    let (model_a, meta_a) = train("a", "1");
    let (model_b, meta_b) = train("b", "1");
    let (model_w2, meta_w2) = train("w2", "2");
    let first_difference = |x: &[u8], y: &[u8]| {
        x.iter()
            .zip(y)
            .position(|(p, q)| p != q)
            .unwrap_or(x.len().min(y.len()))
    };
    for (what, model, meta) in [
        ("a second run", &model_b, &meta_b),
        ("2 workers", &model_w2, &meta_w2),
    ] {
        assert!(
            model_a == *model,
            "model.bpk differs with {what}: {} and {} bytes, first difference at byte {}",
            model_a.len(),
            model.len(),
            first_difference(&model_a, model)
        );
        assert!(
            meta_a == *meta,
            "checkpoint.json differs with {what}:\n{}\n{}",
            String::from_utf8_lossy(&meta_a),
            String::from_utf8_lossy(meta)
        );
    }
}
