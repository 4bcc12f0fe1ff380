//! The change tables' and JSON-lines helpers' tests.

#![allow(clippy::unwrap_used)]
use super::*;
use oddsflow_dataflows::model::{F64, Line, MarketKind, Side};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Stats {
    goals: u32,
    xg: f64,
    last_scorer: Option<String>,
}

#[derive(Serialize)]
struct Key {
    #[serde(rename = "match")]
    match_id: u64,
    side: Side,
}

#[derive(Serialize)]
struct Row {
    stats: Stats,
    market: MarketKind,
    price: F64,
    pair: (u8, i32),
    tags: Vec<String>,
    extra: Option<Stats>,
    big: u64,
    mixed: serde_json::Value,
    counts: BTreeMap<String, u32>,
    time: u64,
}

fn rows() -> Vec<((Key, Row), u64, i64)> {
    let mk = |m: u64,
              side,
              goals,
              xg: f64,
              scorer: Option<&str>,
              market,
              extra: Option<Stats>,
              big,
              mixed| {
        (
            (
                Key { match_id: m, side },
                Row {
                    stats: Stats {
                        goals,
                        xg,
                        last_scorer: scorer.map(str::to_owned),
                    },
                    market,
                    price: F64(if m == 2 { f64::NAN } else { 1.5 + m as f64 }),
                    pair: (m as u8, -(m as i32)),
                    tags: vec![format!("t{m}")],
                    extra,
                    big,
                    mixed,
                    counts: BTreeMap::from([("b".to_owned(), m as u32), ("a".to_owned(), 1)]),
                    time: 99,
                },
            ),
            1000 + m,
            if m.is_multiple_of(2) { -1 } else { 1 },
        )
    };
    vec![
        mk(
            1,
            Side::Home,
            2,
            1.25,
            Some("Kane"),
            MarketKind::MatchOdds,
            None,
            5,
            serde_json::json!(1),
        ),
        mk(
            2,
            Side::Away,
            0,
            0.5,
            None,
            MarketKind::OverUnder { line: Line(10) },
            Some(Stats {
                goals: 1,
                xg: 0.1,
                last_scorer: None,
            }),
            u64::MAX,
            serde_json::json!("x"),
        ),
        mk(
            3,
            Side::Home,
            1,
            2.0,
            Some("Son"),
            MarketKind::Btts,
            None,
            7,
            serde_json::json!(true),
        ),
    ]
}

fn write(path: &Path) -> u64 {
    let mut t = ChangeTable::create(path).unwrap();
    for (d, time, diff) in rows() {
        t.push(&d, time, diff).unwrap();
    }
    t.finish().unwrap()
}

#[test]
fn change_table_round_trips_with_flattened_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/table.parquet");
    assert_eq!(write(&path), 3);

    let file = File::open(&path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    let cols: Vec<(String, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let expect = [
        ("0.match", DataType::Int64),
        ("0.side", DataType::Utf8),
        ("1.stats.goals", DataType::Int64),
        ("1.stats.xg", DataType::Float64),
        ("1.stats.last_scorer", DataType::Utf8),
        ("1.market", DataType::Utf8),
        ("1.price", DataType::Float64),
        ("1.pair.0", DataType::Int64),
        ("1.pair.1", DataType::Int64),
        ("1.tags", DataType::Utf8),
        ("1.extra.goals", DataType::Int64),
        ("1.extra.xg", DataType::Float64),
        ("1.extra.last_scorer", DataType::Utf8),
        ("1.big", DataType::UInt64),
        ("1.mixed", DataType::Utf8),
        ("1.counts.a", DataType::Int64),
        ("1.counts.b", DataType::Int64),
        ("1.time", DataType::Int64),
        ("time", DataType::UInt64),
        ("diff", DataType::Int64),
    ];
    let expect: Vec<(String, DataType)> = expect
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    assert_eq!(cols, expect);

    let back = read_table_json(&path).unwrap();
    assert_eq!(back.len(), 3);
    let r0 = &back[0];
    assert_eq!(r0["0.match"], 1);
    assert_eq!(r0["0.side"], "home");
    assert_eq!(r0["1.stats.goals"], 2);
    assert_eq!(r0["1.stats.xg"], 1.25);
    assert_eq!(r0["1.stats.last_scorer"], "Kane");
    assert_eq!(r0["1.market"], "match_odds");
    assert_eq!(r0["1.pair.1"], -1);
    assert_eq!(r0["1.tags"], r#"["t1"]"#);
    assert_eq!(r0["1.extra.goals"], Value::Null);
    assert_eq!(r0["1.mixed"], "1");
    assert_eq!(r0["1.counts.b"], 1);
    assert_eq!(r0["time"], 1001);
    assert_eq!(r0["diff"], 1);
    let r1 = &back[1];
    assert_eq!(r1["1.stats.last_scorer"], Value::Null);
    assert_eq!(r1["1.market"], r#"{"over_under":{"line":2.5}}"#);
    assert_eq!(r1["1.price"], "NaN");
    assert_eq!(r1["1.big"], u64::MAX);
    assert_eq!(r1["1.extra.goals"], 1);
    assert_eq!(r1["1.mixed"], "x");
    assert_eq!(r1["diff"], -1);
    assert_eq!(back[2]["1.mixed"], "true");
}

#[test]
fn scalar_and_clashing_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let mut t = ChangeTable::<(u64, String)>::create(&path).unwrap();
    t.push(&(7, "a".into()), 1, 1).unwrap();
    t.finish().unwrap();
    let back = read_table_json(&path).unwrap();
    assert_eq!(
        back,
        vec![serde_json::json!({"0": 7, "1": "a", "time": 1, "diff": 1})]
    );

    let path = dir.path().join("x.parquet");
    let mut t = ChangeTable::<i64>::create(&path).unwrap();
    t.push(&-3, 4, 2).unwrap();
    t.finish().unwrap();
    assert_eq!(
        read_table_json(&path).unwrap(),
        vec![serde_json::json!({"data": -3, "time": 4, "diff": 2})]
    );

    #[derive(Serialize)]
    struct Clash {
        time: u32,
        diff: Option<u32>,
    }
    let path = dir.path().join("c.parquet");
    let mut t = ChangeTable::<Clash>::create(&path).unwrap();
    t.push(
        &Clash {
            time: 5,
            diff: None,
        },
        6,
        1,
    )
    .unwrap();
    t.finish().unwrap();
    assert_eq!(
        read_table_json(&path).unwrap(),
        vec![serde_json::json!({"data.time": 5, "data.diff": null, "time": 6, "diff": 1})]
    );
}

#[test]
fn empty_table_is_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.parquet");
    let t = ChangeTable::<(u64, Side)>::create(&path).unwrap();
    assert_eq!(t.finish().unwrap(), 0);
    let file = File::open(&path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let names: Vec<&str> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["time", "diff"]);
    assert!(read_table_json(&path).unwrap().is_empty());
}

#[test]
fn same_rows_give_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    write(&a);
    write(&b);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn many_rows_span_batches_and_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.parquet");
    let mut t = ChangeTable::<(u64, Option<f64>)>::create(&path).unwrap();
    let n = ROW_GROUP_ROWS as u64 + 3 * BATCH_ROWS as u64 + 5;
    for i in 0..n {
        t.push(&(i, (i % 3 == 0).then_some(i as f64 / 2.0)), i, 1)
            .unwrap();
    }
    assert_eq!(t.finish().unwrap(), n);
    let back = read_table_json(&path).unwrap();
    assert_eq!(back.len() as u64, n);
    assert_eq!(back[9]["1"], 4.5);
    assert_eq!(back[10]["1"], Value::Null);
    assert_eq!(back[(n - 1) as usize]["time"], n - 1);
}

#[test]
fn json_lines_helper_writes_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["rows.jsonl", "rows.jsonl.gz"] {
        let path = dir.path().join(name);
        write_json_lines(
            &path,
            [serde_json::json!({"a": 1}), serde_json::json!({"a": 2})],
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = if name.ends_with(".gz") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
                .unwrap();
            s
        } else {
            String::from_utf8(bytes).unwrap()
        };
        assert_eq!(text, "{\"a\":1}\n{\"a\":2}\n");
    }
}

#[test]
fn key_columns_can_be_named_and_value_prefixes_stripped() {
    #[derive(Serialize)]
    struct Stats {
        goals: u32,
        xg: f64,
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("named.parquet");
    let mut t = ChangeTable::create(&path).unwrap().with_names(&[
        ("0.0", "match"),
        ("0.1", "side"),
        ("1", ""),
    ]);
    t.push(&((7u64, "home"), Stats { goals: 2, xg: 1.5 }), 10, 1)
        .unwrap();
    t.finish().unwrap();
    let rows = read_table_json(&path).unwrap();
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6);
    for k in ["match", "side", "goals", "xg", "time", "diff"] {
        assert!(rows[0].get(k).is_some(), "{k} in {keys:?}");
    }
    assert_eq!(rows[0]["match"], 7);
}
