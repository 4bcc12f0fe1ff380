//! A feed file that cannot be read to its end — a `.jsonl.gz` cut short, a Parquet file with a
//! corrupt row group or without its footer — is replayed up to where it breaks: through the real
//! binary, every output is written, `summary.json`'s `truncated` says where and why, the exit
//! status is 3, and the outputs are byte for byte those of a clean file holding the readable
//! prefix. A plain `.jsonl` whose last line is cut is an ordinary feed with a malformed last
//! record. `features` and `train` on a cut feed finish on the prefix and exit 3 too.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oddsflow::io::feed::{FeedWriter, read_feed};
use oddsflow_dataflows::ingest::Payload;

const BIN: &str = env!("CARGO_BIN_EXE_oddsflow");

/// The exit status documented for an input that ended early.
const ENDED_EARLY: i32 = 3;

/// Policies without the learner and the oracle: quick, and no truth channel needed.
const POLICIES: &str = "random,favourite,value";

fn oddsflow(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the oddsflow binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn replay(feed: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "replay",
        s(feed),
        "--out",
        s(out),
        "--no-progress",
        "--policies",
        POLICIES,
    ];
    args.extend_from_slice(extra);
    oddsflow(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn items(matches: usize, seed: u64) -> Vec<Payload> {
    common::noisy_feed(seed, matches)
}

fn write_feed(path: &Path, items: &[Payload]) {
    let mut w = FeedWriter::create(path).expect("create feed");
    for item in items {
        w.write(item).expect("write");
    }
    w.finish().expect("finish");
}

/// Every file a replay with policies writes.
fn output_files() -> Vec<String> {
    oddsflow::runtime::outputs::TABLES
        .iter()
        .chain(oddsflow::runtime::outputs::BETTING_TABLES.iter())
        .map(|t| format!("{t}.parquet"))
        .chain(["dead_letter.jsonl".to_string(), "summary.json".to_string()])
        .collect()
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
        .expect("summary is JSON")
}

/// The run of a truncated feed wrote every output, and they are byte for byte those of the
/// clean replay of its prefix; the summaries differ only in `truncated` (and timings).
fn assert_same_outputs(cut: &Path, clean: &Path) {
    for name in output_files() {
        let a = std::fs::read(cut.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let b = std::fs::read(clean.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name != "summary.json" {
            assert!(a == b, "{name} differs from the clean prefix's");
        }
    }
    let (mut a, mut b) = (summary(cut), summary(clean));
    assert!(a.get("truncated").is_some());
    assert!(
        b.get("truncated").is_none(),
        "a clean file is not truncated"
    );
    for v in [&mut a, &mut b] {
        let o = v.as_object_mut().expect("object");
        o.remove("run");
        o.remove("truncated");
    }
    assert_eq!(a, b, "summary.json, but for `truncated` and `run`");
}

/// What a gzip decoder gets from `bytes` before its error: the text, and how much of it is
/// whole lines.
fn gunzip_until_error(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut text = Vec::new();
    let mut gz = flate2::read::MultiGzDecoder::new(bytes);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match gz.read(&mut buf) {
            Ok(0) => panic!("a cut gzip stream must end in an error"),
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    let whole = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    (text, whole)
}

/// A gzip feed cut at half its size, and the plain feed of its whole lines.
fn cut_gzip(dir: &Path, items: &[Payload]) -> (PathBuf, PathBuf, Vec<u8>, usize) {
    let full = dir.join("full.jsonl.gz");
    write_feed(&full, items);
    let bytes = std::fs::read(&full).expect("read");
    let cut = dir.join("cut.jsonl.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write cut");
    let (text, whole) = gunzip_until_error(&bytes[..bytes.len() / 2]);
    let prefix = dir.join("prefix.jsonl");
    std::fs::write(&prefix, &text[..whole]).expect("write prefix");
    (cut, prefix, text, whole)
}

#[test]
fn a_cut_gzip_feed_is_replayed_up_to_the_cut_and_exits_3() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let items = items(12, 181);
    let (cut, prefix, text, whole) = cut_gzip(tmp.path(), &items);
    let lines = text[..whole].iter().filter(|b| **b == b'\n').count() as u64;
    assert!(lines > 1000 && lines < items.len() as u64);

    let out = tmp.path().join("cut_out");
    let o = replay(&cut, &out, &[]);
    assert_eq!(o.status.code(), Some(ENDED_EARLY), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning:") && err.contains("ended early"),
        "a clear warning: {err}"
    );
    assert!(!err.contains("error:"), "{err}");

    let t = &summary(&out)["truncated"];
    assert_eq!(t["format"], "jsonl.gz");
    assert_eq!(t["items_read"], lines);
    assert_eq!(t["line"], lines + 1);
    assert_eq!(t["byte_offset"], whole as u64);
    assert_eq!(t["partial_line_bytes"], (text.len() - whole) as u64);
    assert!(!t["error"].as_str().expect("error text").is_empty());
    assert_eq!(summary(&out)["records_in"], lines);

    let clean = tmp.path().join("prefix_out");
    let o = replay(&prefix, &clean, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_outputs(&out, &clean);

    // Every worker stops at the same item: 2 workers write the same files.
    let two = tmp.path().join("cut_out_2");
    let o = replay(&cut, &two, &["-w", "2"]);
    assert_eq!(o.status.code(), Some(ENDED_EARLY), "{}", stderr(&o));
    for name in output_files().iter().filter(|n| *n != "summary.json") {
        assert!(
            std::fs::read(out.join(name)).ok() == std::fs::read(two.join(name)).ok(),
            "{name}: 1 and 2 workers"
        );
    }
    assert_eq!(summary(&two)["truncated"], *t);
}

#[test]
fn a_parquet_feed_is_replayed_up_to_its_corrupt_row_group_and_one_without_footer_not_at_all() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let items = items(20, 182);
    let full = tmp.path().join("full.parquet");
    write_feed(&full, &items);
    let meta = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&full).expect("open"),
    )
    .expect("footer")
    .metadata()
    .clone();
    assert!(meta.num_row_groups() >= 2, "the feed spans row groups");
    let first_rows = meta.row_group(0).num_rows() as usize;

    // Garbage over the first page header of the second row group.
    let start = meta.row_group(1).column(0).byte_range().0 as usize;
    let mut bytes = std::fs::read(&full).expect("read");
    bytes[start..start + 64].fill(0xFF);
    let bad = tmp.path().join("bad.parquet");
    std::fs::write(&bad, &bytes).expect("write");

    // The readable prefix as a clean file: the first row group's items.
    let readable: Vec<Payload> = read_feed(&full)
        .expect("read")
        .take(first_rows)
        .collect::<anyhow::Result<_>>()
        .expect("clean items");
    let prefix = tmp.path().join("prefix.parquet");
    write_feed(&prefix, &readable);

    let out = tmp.path().join("bad_out");
    let o = replay(&bad, &out, &[]);
    assert_eq!(o.status.code(), Some(ENDED_EARLY), "{}", stderr(&o));
    assert!(stderr(&o).contains("row group 1"), "{}", stderr(&o));
    let t = &summary(&out)["truncated"];
    assert_eq!(t["format"], "parquet");
    assert_eq!(t["items_read"], first_rows as u64);
    assert_eq!(t["row_group"], 1);
    assert_eq!(t["byte_offset"], start as u64);

    let clean = tmp.path().join("prefix_out");
    let o = replay(&prefix, &clean, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_outputs(&out, &clean);

    // Cut in half: the footer is gone and nothing can be read. Still every (empty) output and
    // the reason, and the same exit status.
    let cut = tmp.path().join("cut.parquet");
    std::fs::write(
        &cut,
        &std::fs::read(&full).expect("read")[..bytes.len() / 2],
    )
    .expect("write");
    let out = tmp.path().join("cut_out");
    let o = replay(&cut, &out, &[]);
    assert_eq!(o.status.code(), Some(ENDED_EARLY), "{}", stderr(&o));
    for name in output_files() {
        assert!(out.join(&name).exists(), "{name} written");
    }
    let sum = summary(&out);
    assert_eq!(sum["records_in"], 0);
    assert_eq!(sum["truncated"]["items_read"], 0);
    assert!(sum["truncated"].get("row_group").is_none());
    let why = sum["truncated"]["error"].as_str().expect("error text");
    assert!(why.contains("footer"), "{why}");
}

#[test]
fn a_plain_jsonl_cut_mid_record_dead_letters_its_last_line_and_exits_0() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let items = items(3, 183);
    let full = tmp.path().join("full.jsonl");
    write_feed(&full, &items);
    let bytes = std::fs::read(&full).expect("read");
    let cut = tmp.path().join("cut.jsonl");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).expect("write");
    let out = tmp.path().join("out");
    let o = replay(&cut, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sum = summary(&out);
    assert!(sum.get("truncated").is_none(), "{sum}");
    assert_eq!(sum["records_in"], items.len() as u64);
    let dead = std::fs::read_to_string(out.join("dead_letter.jsonl")).expect("dead letters");
    let last: serde_json::Value =
        serde_json::from_str(dead.lines().last().expect("a dead letter")).expect("JSON");
    assert_eq!(last["reason"], "malformed", "{last}");
    assert_eq!(last["seq"], items.len() as u64 - 1, "{last}");
}

#[test]
fn features_and_train_on_a_cut_feed_finish_on_the_prefix_and_exit_3() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let items = items(4, 184);
    let (cut, _, _, _) = cut_gzip(tmp.path(), &items);
    let Some(Payload::Decoded(first)) = items.first() else {
        panic!("a simulated feed starts with a record")
    };
    let last_ts = items
        .iter()
        .filter_map(|p| match p {
            Payload::Decoded(r) => Some(r.ts),
            Payload::Line(_) => None,
        })
        .max()
        .expect("records");

    let o = oddsflow(&[
        "features",
        s(&cut),
        "--match",
        &first.match_id.to_string(),
        "--at",
        &last_ts.to_string(),
    ]);
    assert_eq!(o.status.code(), Some(ENDED_EARLY), "{}", stderr(&o));
    assert!(stderr(&o).contains("ended early"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));

    let ckpt = tmp.path().join("ckpt");
    let o = oddsflow(&[
        "train",
        s(&cut),
        "--out",
        s(&ckpt),
        "--passes",
        "1",
        "--updates",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(ENDED_EARLY), "{}", stderr(&o));
    assert!(stderr(&o).contains("ended early"), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("trained:"),
        "training went on: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        std::fs::read_dir(&ckpt).expect("checkpoint dir").count() > 0,
        "the checkpoint is written"
    );
}
