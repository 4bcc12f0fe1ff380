//! The feed codecs' tests: every body kind, market, incident detail and selection, and some
//! noise, written and read back in each format.

#![allow(clippy::unwrap_used)]
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use ::parquet::arrow::ArrowWriter;
use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use anyhow::Result;
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use serde::Serialize;

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::reject::RejectReason;
use oddsflow_dataflows::wire;

use super::names::{ShortName, market_short, parse_selection, selection_short};
use super::parquet::FEED_COLUMNS;
use super::{
    FeedFormat, FeedReader, FeedWriter, InputCut, convert_feed, decode_if_valid, feed_len_hint,
    read_feed,
};
use crate::io::table::{BATCH_ROWS, ROW_GROUP_ROWS};

const T0: i64 = 1_700_000_000_000;

fn rec(i: usize, match_id: MatchId, body: Body) -> Payload {
    Payload::Decoded(Record {
        ts: T0 + i as i64 * 1000,
        match_id,
        body,
    })
}

/// The fixture and lineups (two full, one empty).
fn fixture_and_lineups() -> Vec<Body> {
    let mut bodies = vec![Body::Fixture(Fixture {
        version: 1,
        league: "EPL".into(),
        season: "2015-16".into(),
        kickoff: T0 + 3_600_000,
        home: TeamRef {
            id: 11,
            name: "Arsenal".into(),
        },
        away: TeamRef {
            id: 12,
            name: "Tottenham \"Spurs\" Hotspur".into(),
        },
        venue: "Emirates, London".into(),
        referee: "M. Oliver".into(),
    })];
    for (side, formation) in [(Side::Home, "4-2-3-1"), (Side::Away, "3-5-2")] {
        bodies.push(Body::Lineup(Lineup {
            version: 2,
            side,
            formation: formation.into(),
            players: vec![
                Player {
                    id: 1,
                    name: "Čech".into(),
                    position: "GK".into(),
                    starter: true,
                },
                Player {
                    id: 9,
                    name: "Giroud".into(),
                    position: "ST".into(),
                    starter: false,
                },
            ],
        }));
    }
    bodies.push(Body::Lineup(Lineup {
        version: 3,
        side: Side::Home,
        formation: "4-4-2".into(),
        players: vec![],
    }));
    bodies
}

/// Every match status.
fn statuses() -> Vec<Body> {
    let mut bodies = Vec::new();
    for (i, status) in [
        MatchStatus::Scheduled,
        MatchStatus::FirstHalf,
        MatchStatus::HalfTime,
        MatchStatus::SecondHalf,
        MatchStatus::Finished,
        MatchStatus::Abandoned,
        MatchStatus::Postponed,
    ]
    .into_iter()
    .enumerate()
    {
        bodies.push(Body::Status(Status {
            version: i as u64 + 1,
            status,
            clock_s: i as i32 * 1000 - 5,
        }));
    }
    bodies
}

/// Every incident detail, with and without players.
fn incidents() -> Vec<Body> {
    let mut bodies = Vec::new();
    let details = [
        IncidentDetail::Goal {
            player: Some(9),
            own_goal: false,
            penalty: true,
        },
        IncidentDetail::Goal {
            player: None,
            own_goal: true,
            penalty: false,
        },
        IncidentDetail::Corner,
        IncidentDetail::Card {
            player: Some(4),
            card: CardKind::Yellow,
        },
        IncidentDetail::Card {
            player: None,
            card: CardKind::SecondYellow,
        },
        IncidentDetail::Card {
            player: Some(5),
            card: CardKind::Red,
        },
        IncidentDetail::Shot {
            player: Some(9),
            on_target: true,
            xg: Some(F64(0.31)),
        },
        IncidentDetail::Shot {
            player: None,
            on_target: false,
            xg: None,
        },
        IncidentDetail::Shot {
            player: Some(7),
            on_target: false,
            xg: Some(F64(f64::NAN)),
        },
        IncidentDetail::Foul { player: Some(3) },
        IncidentDetail::Foul { player: None },
        IncidentDetail::Attack,
        IncidentDetail::DangerousAttack,
        IncidentDetail::Possession { share: 57 },
        IncidentDetail::Substitution {
            player_out: 9,
            player_in: 14,
        },
        IncidentDetail::PenaltyAwarded,
        IncidentDetail::Var {
            decision: VarDecision::GoalConfirmed,
            reviews: 1,
        },
        IncidentDetail::Var {
            decision: VarDecision::GoalOverturned,
            reviews: 1,
        },
        IncidentDetail::Var {
            decision: VarDecision::PenaltyAwarded,
            reviews: 2,
        },
        IncidentDetail::Var {
            decision: VarDecision::PenaltyOverturned,
            reviews: 2,
        },
        IncidentDetail::Var {
            decision: VarDecision::RedCard,
            reviews: 3,
        },
    ];
    for (i, detail) in details.into_iter().enumerate() {
        bodies.push(Body::Incident(Incident {
            id: i as u32 + 1,
            version: 1 + (i as u64 % 3),
            side: if i % 2 == 0 { Side::Home } else { Side::Away },
            clock_s: if i == 3 { -30 } else { 60 * i as i32 },
            detail,
            cancelled: i == 1,
        }));
    }
    bodies
}

/// Every market kind with its odds, an empty market, and odds of odd prices.
fn markets_and_odds() -> Vec<Body> {
    let mut bodies = Vec::new();
    let markets: [(MarketKind, Vec<Selection>); 9] = [
        (
            MarketKind::MatchOdds,
            vec![Selection::Home, Selection::Draw, Selection::Away],
        ),
        (
            MarketKind::OverUnder { line: Line(10) },
            vec![Selection::Over, Selection::Under],
        ),
        (MarketKind::Btts, vec![Selection::Yes, Selection::No]),
        (
            MarketKind::NextGoal { goal: 2 },
            vec![Selection::Home, Selection::NoGoal, Selection::Away],
        ),
        (
            MarketKind::DoubleChance,
            vec![
                Selection::HomeOrDraw,
                Selection::DrawOrAway,
                Selection::HomeOrAway,
            ],
        ),
        (
            MarketKind::CorrectScore,
            vec![
                Selection::Score { home: 0, away: 0 },
                Selection::Score { home: 2, away: 1 },
                Selection::Score {
                    home: 10,
                    away: 255,
                },
                Selection::AnyOther,
            ],
        ),
        (
            MarketKind::AsianHandicap { line: Line(-1) },
            vec![Selection::Home, Selection::Away],
        ),
        (
            MarketKind::AsianHandicap { line: Line(6) },
            vec![Selection::Home, Selection::Away],
        ),
        (
            MarketKind::CornersOverUnder { line: Line(38) },
            vec![Selection::Over, Selection::Under],
        ),
    ];
    let statuses = [
        MarketStatus::Open,
        MarketStatus::Suspended,
        MarketStatus::Closed,
    ];
    for (i, (market, selections)) in markets.iter().enumerate() {
        bodies.push(Body::Market(Market {
            version: i as u64 + 1,
            market: *market,
            status: statuses[i % 3],
            phase: if i % 2 == 0 {
                Phase::Prematch
            } else {
                Phase::InPlay
            },
            selections: selections.clone(),
        }));
        for (j, selection) in selections.iter().enumerate() {
            bodies.push(Body::Odds(Odds {
                version: 7,
                market: *market,
                selection: *selection,
                // Short decimals: serde_json without `float_roundtrip` may misread 17-digit
                // floats by one ULP (see the report), which is not what this test is about.
                price: F64((101 + (i * 10 + j) * 37) as f64 / 100.0),
                modelled: i == 1,
            }));
        }
    }
    bodies.push(Body::Market(Market {
        version: 9,
        market: MarketKind::Btts,
        status: MarketStatus::Open,
        phase: Phase::InPlay,
        selections: vec![],
    }));
    for price in [f64::NAN, f64::INFINITY, 1.0, -2.5] {
        bodies.push(Body::Odds(Odds {
            version: 8,
            market: MarketKind::MatchOdds,
            selection: Selection::Draw,
            price: F64(price),
            modelled: false,
        }));
    }
    bodies
}

/// Results (with and without corners) and an abandonment.
fn results() -> Vec<Body> {
    let mut bodies = Vec::new();
    bodies.push(Body::Result(MatchResult {
        version: 1,
        half_time: Score { home: 1, away: 0 },
        full_time: Score { home: 2, away: 1 },
        corners: Some(Score { home: 7, away: 3 }),
    }));
    bodies.push(Body::Result(MatchResult {
        version: 2,
        half_time: Score { home: 0, away: 0 },
        full_time: Score { home: 2, away: 2 },
        corners: None,
    }));
    bodies.push(Body::Abandonment(Abandonment {
        version: 1,
        reason: "floodlight failure".into(),
    }));

    bodies
}

/// Every body kind, every market kind, incident detail and selection, and some noise.
fn sample_items() -> Vec<Payload> {
    let bodies: Vec<Body> = [
        fixture_and_lineups(),
        statuses(),
        incidents(),
        markets_and_odds(),
        results(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut items: Vec<Payload> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| rec(i, 42 + (i as u64 % 2), b))
        .collect();
    // A negative event time, and a huge match id.
    items.push(Payload::Decoded(Record {
        ts: -5,
        match_id: u64::MAX,
        body: Body::Abandonment(Abandonment {
            version: u64::MAX,
            reason: String::new(),
        }),
    }));
    let garbage = [
        "not json at all",
        r#"{"ts":1,"match":2,"kind":"weather","version":1}"#,
        r#"{"ts":1700000000000,"match":42,"kind":"odds","#,
        "  {\"ts\": 5 }  ",
        "héllo ⚽ \u{0}",
    ];
    for (i, g) in garbage.into_iter().enumerate() {
        items.insert(i * 13 + 1, Payload::Line(g.to_owned()));
    }
    items
}

/// What a JSON reader gives back for written items.
fn as_lines(items: &[Payload]) -> Vec<Payload> {
    items
        .iter()
        .map(|p| match p {
            Payload::Line(l) => Payload::Line(l.clone()),
            Payload::Decoded(r) => Payload::Line(wire::to_json_line(r)),
        })
        .collect()
}

fn write_all(path: &Path, items: &[Payload]) {
    let mut w = FeedWriter::create(path).unwrap();
    for item in items {
        w.write(item).unwrap();
    }
    assert_eq!(w.items(), items.len() as u64);
    w.finish().unwrap();
}

fn read_all(path: &Path) -> Vec<Payload> {
    read_feed(path)
        .unwrap()
        .collect::<Result<Vec<_>>>()
        .unwrap()
}

#[test]
fn short_names_match_serde() {
    fn check<T: ShortName + Serialize>(v: T) {
        assert_eq!(serde_json::to_value(&v).unwrap(), v.short());
        assert!(T::parse_short(v.short()).is_some());
    }
    Side::BOTH.into_iter().for_each(check);
    [
        MatchStatus::Scheduled,
        MatchStatus::FirstHalf,
        MatchStatus::HalfTime,
        MatchStatus::SecondHalf,
    ]
    .into_iter()
    .chain([
        MatchStatus::Finished,
        MatchStatus::Abandoned,
        MatchStatus::Postponed,
    ])
    .for_each(check);
    [CardKind::Yellow, CardKind::SecondYellow, CardKind::Red]
        .into_iter()
        .for_each(check);
    [
        VarDecision::GoalConfirmed,
        VarDecision::GoalOverturned,
        VarDecision::PenaltyAwarded,
        VarDecision::PenaltyOverturned,
        VarDecision::RedCard,
    ]
    .into_iter()
    .for_each(check);
    [
        MarketStatus::Open,
        MarketStatus::Suspended,
        MarketStatus::Closed,
    ]
    .into_iter()
    .for_each(check);
    [Phase::Prematch, Phase::InPlay].into_iter().for_each(check);
    for item in sample_items() {
        if let Payload::Decoded(Record {
            body: Body::Odds(o),
            ..
        }) = item
        {
            let short = selection_short(o.selection);
            assert_eq!(parse_selection(&short), Some(o.selection));
            if !matches!(o.selection, Selection::Score { .. }) {
                assert_eq!(serde_json::to_value(o.selection).unwrap(), short);
            }
            let name = market_short(o.market).0;
            let serde_name = serde_json::to_value(o.market).unwrap();
            let serde_name = match &serde_name {
                serde_json::Value::Object(m) => m.keys().next().unwrap().clone(),
                v => v.as_str().unwrap().to_owned(),
            };
            assert_eq!(name, serde_name);
        }
    }
}

#[test]
fn round_trip_each_format() {
    let items = sample_items();
    let dir = tempfile::tempdir().unwrap();

    for name in ["feed.jsonl", "feed.jsonl.gz"] {
        let path = dir.path().join(name);
        write_all(&path, &items);
        let back = read_all(&path);
        assert_eq!(back, as_lines(&items), "{name}");
        // The lines parse back into the same records.
        for (orig, line) in items.iter().zip(&back) {
            let (Payload::Decoded(r), Payload::Line(l)) = (orig, line) else {
                continue;
            };
            assert_eq!(&wire::parse_json_line(l).unwrap(), r);
        }
        assert_eq!(
            feed_len_hint(&path),
            Some(std::fs::metadata(&path).unwrap().len())
        );
        let mut reader = read_feed(&path).unwrap();
        reader.by_ref().for_each(drop);
        assert_eq!(reader.progress(), feed_len_hint(&path).unwrap());
    }

    let path = dir.path().join("sub/dir/feed.parquet");
    write_all(&path, &items);
    assert_eq!(read_all(&path), items);
    assert_eq!(feed_len_hint(&path), Some(items.len() as u64));
    let mut reader = read_feed(&path).unwrap();
    reader.by_ref().for_each(drop);
    assert_eq!(reader.progress(), items.len() as u64);
}

#[test]
fn parquet_round_trip_spans_batches_and_row_groups() {
    let base = sample_items();
    let n = ROW_GROUP_ROWS + 2 * BATCH_ROWS + 17;
    let items: Vec<Payload> = (0..n)
        .map(|i| match &base[i % base.len()] {
            Payload::Decoded(r) => Payload::Decoded(Record {
                ts: r.ts + i as i64,
                ..r.clone()
            }),
            line => line.clone(),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.parquet");
    write_all(&path, &items);
    assert_eq!(read_all(&path), items);
    let file = File::open(&path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(builder.metadata().num_row_groups(), 2);
}

#[test]
fn cross_format_conversion_keeps_items_and_lines() {
    let items = sample_items();
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("a.jsonl");
    let parquet = dir.path().join("b.parquet");
    let gz = dir.path().join("c.jsonl.gz");
    write_all(&jsonl, &items);
    let original_text = std::fs::read_to_string(&jsonl).unwrap();

    // jsonl → read → (decode what parses) → parquet → read
    let from_jsonl: Vec<Payload> = read_all(&jsonl).into_iter().map(decode_if_valid).collect();
    write_all(&parquet, &from_jsonl);
    let from_parquet = read_all(&parquet);
    assert_eq!(from_parquet, from_jsonl);
    // Every record went into typed columns; only the garbage is raw.
    let raw = from_parquet
        .iter()
        .filter(|p| matches!(p, Payload::Line(_)))
        .count();
    assert_eq!(raw, 5);
    // NaN / inf prices and xG survive the JSON text: the typed items are the original ones.
    assert_eq!(from_parquet, items);

    // parquet → gz → read: the same lines as the original file.
    write_all(&gz, &from_parquet);
    let from_gz = read_all(&gz);
    assert_eq!(from_gz, as_lines(&items));
    let texts: Vec<String> = from_gz
        .into_iter()
        .map(|p| match p {
            Payload::Line(l) => l,
            Payload::Decoded(_) => unreachable!("JSON readers yield lines"),
        })
        .collect();
    assert_eq!(texts.join("\n") + "\n", original_text);

    // convert_feed does the same.
    let parquet2 = dir.path().join("d.parquet");
    assert_eq!(convert_feed(&jsonl, &parquet2).unwrap(), items.len() as u64);
    assert_eq!(
        std::fs::read(&parquet2).unwrap(),
        std::fs::read(&parquet).unwrap()
    );
    let jsonl2 = dir.path().join("e.jsonl");
    convert_feed(&parquet2, &jsonl2).unwrap();
    assert_eq!(std::fs::read_to_string(&jsonl2).unwrap(), original_text);
}

#[test]
fn parquet_has_typed_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.parquet");
    let items = sample_items();
    write_all(&path, &items);
    let file = File::open(&path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, FEED_COLUMNS);
    let expect = [
        ("ts", DataType::Int64),
        ("match", DataType::UInt64),
        ("kind", DataType::Utf8),
        ("version", DataType::UInt64),
        ("side", DataType::Utf8),
        ("clock_s", DataType::Int32),
        ("market", DataType::Utf8),
        ("line", DataType::Float64),
        ("goal", DataType::UInt8),
        ("selection", DataType::Utf8),
        ("price", DataType::Float64),
        ("id", DataType::UInt32),
        ("player", DataType::UInt32),
        ("own_goal", DataType::Boolean),
        ("xg", DataType::Float64),
        ("share", DataType::UInt8),
        ("kickoff", DataType::Int64),
        ("home_id", DataType::UInt32),
        ("ft_home", DataType::UInt8),
        ("corners_away", DataType::UInt8),
        ("players_json", DataType::Utf8),
        ("selections_json", DataType::Utf8),
        ("raw", DataType::Utf8),
    ];
    for (name, t) in expect {
        let field = schema.field_with_name(name).unwrap();
        assert_eq!(field.data_type(), &t, "{name}");
        assert!(field.is_nullable());
    }
    // The on-disk Parquet schema is typed too (not just the embedded Arrow schema).
    let parquet_schema = builder.parquet_schema();
    let col = |name: &str| {
        parquet_schema
            .columns()
            .iter()
            .find(|c| c.name() == name)
            .unwrap()
            .clone()
    };
    assert_eq!(col("ts").physical_type(), ::parquet::basic::Type::INT64);
    assert_eq!(col("price").physical_type(), ::parquet::basic::Type::DOUBLE);
    assert_eq!(
        col("own_goal").physical_type(),
        ::parquet::basic::Type::BOOLEAN
    );
    assert_eq!(
        col("kind").physical_type(),
        ::parquet::basic::Type::BYTE_ARRAY
    );

    // Values as a SQL user sees them.
    let rows = crate::io::table::read_table_json(&path).unwrap();
    assert_eq!(rows.len(), items.len());
    let odds = rows
        .iter()
        .find(|r| r["kind"] == "odds" && r["market"] == "over_under")
        .unwrap();
    assert_eq!(odds["line"], 2.5);
    assert_eq!(odds["selection"], "over");
    assert_eq!(odds["raw"], serde_json::Value::Null);
    let score = rows.iter().find(|r| r["selection"] == "2-1").unwrap();
    assert_eq!(score["market"], "correct_score");
    let raw = rows.iter().find(|r| r["raw"] == "not json at all").unwrap();
    assert_eq!(raw["kind"], serde_json::Value::Null);
    assert_eq!(raw["ts"], serde_json::Value::Null);
    let lineup = rows.iter().find(|r| r["kind"] == "lineup").unwrap();
    assert_eq!(lineup["formation"], "4-2-3-1");
    assert!(
        lineup["players_json"]
            .as_str()
            .unwrap()
            .starts_with(r#"[{"id":1,"name":"Čech""#)
    );
}

#[test]
fn same_items_give_same_bytes() {
    let items = sample_items();
    let dir = tempfile::tempdir().unwrap();
    for ext in ["jsonl", "jsonl.gz", "parquet"] {
        let (a, b) = (
            dir.path().join(format!("a.{ext}")),
            dir.path().join(format!("b.{ext}")),
        );
        write_all(&a, &items);
        write_all(&b, &items);
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ext}"
        );
    }
}

#[test]
fn unknown_extension_is_a_clear_error() {
    for name in ["feed.csv", "feed.json", "feed.gz", "feed"] {
        let err = FeedFormat::from_path(Path::new(name))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(name) && err.contains(".jsonl.gz") && err.contains(".parquet"),
            "{err}"
        );
        assert!(FeedWriter::create(Path::new(name)).is_err());
        assert!(read_feed(Path::new(name)).is_err());
    }
    assert_eq!(
        FeedFormat::from_path(Path::new("/x/Feed.JSONL.GZ")).unwrap(),
        FeedFormat::JsonlGz
    );
    assert_eq!(feed_len_hint(Path::new("missing.jsonl")), None);
}

#[test]
fn json_reader_tolerates_noise() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noisy.jsonl");
    let mut bytes = b"{\"ts\":1}\r\n\n   \n".to_vec();
    bytes.extend_from_slice(b"bad \xff\xfe utf8\n");
    bytes.extend_from_slice(b"last line without newline");
    std::fs::write(&path, &bytes).unwrap();
    let back = read_all(&path);
    assert_eq!(
        back,
        vec![
            Payload::Line("{\"ts\":1}".into()),
            Payload::Line("bad \u{fffd}\u{fffd} utf8".into()),
            Payload::Line("last line without newline".into()),
        ]
    );
    // Embedded line breaks are written as spaces.
    let out = dir.path().join("out.jsonl");
    write_all(&out, &[Payload::Line("a\nb\r\nc".into())]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "a b  c\n");

    // Concatenated gzip members read as one feed.
    let gz = dir.path().join("multi.jsonl.gz");
    let (p1, p2) = (
        dir.path().join("p1.jsonl.gz"),
        dir.path().join("p2.jsonl.gz"),
    );
    write_all(&p1, &[Payload::Line("one".into())]);
    write_all(&p2, &[Payload::Line("two".into())]);
    let mut cat = std::fs::read(&p1).unwrap();
    cat.extend(std::fs::read(&p2).unwrap());
    std::fs::write(&gz, cat).unwrap();
    assert_eq!(
        read_all(&gz),
        vec![Payload::Line("one".into()), Payload::Line("two".into())]
    );
}

#[test]
fn bad_parquet_rows_become_lines_for_the_dead_letter() {
    use arrow_array::{Float64Array, Int64Array, StringArray, UInt64Array};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.parquet");
    // A foreign file: a subset of the columns, with ts as UInt64 and a large-string kind.
    let schema = Arc::new(Schema::new(vec![
        Field::new("ts", DataType::Int64, true),
        Field::new("match", DataType::UInt64, true),
        Field::new("kind", DataType::LargeUtf8, true),
        Field::new("version", DataType::UInt64, true),
        Field::new("market", DataType::Utf8, true),
        Field::new("line", DataType::Float64, true),
        Field::new("selection", DataType::Utf8, true),
        Field::new("price", DataType::Float64, true),
        Field::new("reason", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![
                Some(5),
                Some(6),
                Some(7),
                Some(8),
                None,
            ])),
            Arc::new(UInt64Array::from(vec![
                Some(1),
                Some(1),
                Some(1),
                Some(1),
                Some(1),
            ])),
            Arc::new(arrow_array::LargeStringArray::from(vec![
                Some("weather"),
                Some("odds"),
                Some("odds"),
                Some("abandonment"),
                Some("abandonment"),
            ])),
            Arc::new(UInt64Array::from(vec![Some(1); 5])),
            Arc::new(StringArray::from(vec![
                None,
                Some("over_under"),
                Some("over_under"),
                None,
                None,
            ])),
            Arc::new(Float64Array::from(vec![
                None,
                Some(2.3),
                Some(2.5),
                None,
                None,
            ])),
            Arc::new(StringArray::from(vec![
                None,
                Some("over"),
                Some("over"),
                None,
                None,
            ])),
            Arc::new(Float64Array::from(vec![
                None,
                Some(1.9),
                Some(f64::NAN),
                None,
                None,
            ])),
            Arc::new(StringArray::from(vec![
                None,
                None,
                None,
                Some("storm"),
                Some("storm"),
            ])),
        ],
    )
    .unwrap();
    let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let back = read_all(&path);
    assert_eq!(back.len(), 5);
    let Payload::Line(weather) = &back[0] else {
        panic!("{:?}", back[0])
    };
    assert_eq!(
        weather,
        r#"{"ts":5,"match":1,"kind":"weather","version":1}"#
    );
    assert_eq!(
        wire::parse_json_line(weather).unwrap_err().reason,
        RejectReason::UnknownKind
    );
    assert_eq!(wire::peek_ts(weather), Some(5));
    let Payload::Line(bad_line) = &back[1] else {
        panic!("{:?}", back[1])
    };
    assert_eq!(
        wire::parse_json_line(bad_line).unwrap_err().reason,
        RejectReason::Malformed
    );
    let Payload::Decoded(nan_odds) = &back[2] else {
        panic!("{:?}", back[2])
    };
    let Body::Odds(o) = &nan_odds.body else {
        panic!()
    };
    assert!(o.price.0.is_nan() && o.market == MarketKind::OverUnder { line: Line(10) });
    assert_eq!(
        back[3],
        Payload::Decoded(Record {
            ts: 8,
            match_id: 1,
            body: Body::Abandonment(Abandonment {
                version: 1,
                reason: "storm".into()
            })
        })
    );
    let Payload::Line(no_ts) = &back[4] else {
        panic!("{:?}", back[4])
    };
    assert_eq!(
        wire::parse_json_line(no_ts).unwrap_err().reason,
        RejectReason::Malformed
    );
}

#[test]
fn reader_is_send() {
    fn send<T: Send>() {}
    send::<FeedReader>();
    send::<FeedWriter>();
}

/// `n` items cycling through the samples, each with its own event time.
fn many_items(n: usize) -> Vec<Payload> {
    let base = sample_items();
    (0..n)
        .map(|i| match &base[i % base.len()] {
            Payload::Decoded(r) => Payload::Decoded(Record {
                ts: r.ts + i as i64,
                ..r.clone()
            }),
            line => line.clone(),
        })
        .collect()
}

/// The items read before the reader's error, and the [`InputCut`] it ended with (if any).
fn read_until_cut(path: &Path) -> (Vec<Payload>, Option<InputCut>) {
    let mut items = Vec::new();
    for item in read_feed(path).unwrap() {
        match item {
            Ok(item) => items.push(item),
            Err(e) => {
                let cut = e
                    .downcast::<InputCut>()
                    .expect("a read error is an InputCut");
                return (items, Some(cut));
            }
        }
    }
    (items, None)
}

#[test]
fn a_cut_gzip_feed_yields_its_whole_lines_then_where_it_was_cut() {
    let items = many_items(20_000);
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.jsonl.gz");
    write_all(&full, &items);
    let bytes = std::fs::read(&full).unwrap();
    let cut_path = dir.path().join("cut.jsonl.gz");
    std::fs::write(&cut_path, &bytes[..bytes.len() / 2]).unwrap();

    // What a decompressor gets out of the cut file before its error.
    let mut text = Vec::new();
    let mut gz = flate2::read::MultiGzDecoder::new(&bytes[..bytes.len() / 2]);
    let mut buf = [0u8; 4096];
    loop {
        match std::io::Read::read(&mut gz, &mut buf) {
            Ok(0) => panic!("a cut gzip stream must end in an error"),
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    let whole = text.iter().rposition(|b| *b == b'\n').unwrap() + 1;
    let lines = text[..whole].iter().filter(|b| **b == b'\n').count();

    let (read, cut) = read_until_cut(&cut_path);
    let cut = cut.expect("the cut file ends early");
    assert!(lines > 1000 && lines < items.len(), "{lines} lines");
    assert_eq!(
        read,
        as_lines(&items[..lines]),
        "every whole line, in order"
    );
    assert_eq!(cut.items_read, lines as u64);
    assert_eq!(cut.line, Some(lines as u64 + 1));
    assert_eq!(cut.byte_offset, Some(whole as u64));
    assert_eq!(cut.partial_line_bytes, Some((text.len() - whole) as u64));
    assert_eq!(cut.format, "jsonl.gz");
    assert!(!cut.error.is_empty());
    let shown = cut.to_string();
    assert!(shown.contains("cut.jsonl.gz ended early"), "{shown}");
    assert!(shown.contains(&format!("line {}", lines + 1)), "{shown}");

    // The whole file reads to its end.
    assert_eq!(read_until_cut(&full), (as_lines(&items), None));
}

#[test]
fn a_plain_jsonl_cut_mid_record_is_not_a_cut_its_last_line_is_an_item() {
    let items = many_items(500);
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.jsonl");
    write_all(&full, &items);
    let bytes = std::fs::read(&full).unwrap();
    let end = bytes.len() - 10;
    assert_ne!(bytes[end - 1], b'\n');
    let cut_path = dir.path().join("cut.jsonl");
    std::fs::write(&cut_path, &bytes[..end]).unwrap();
    let (read, cut) = read_until_cut(&cut_path);
    assert_eq!(cut, None, "a plain file has no end to miss");
    assert_eq!(read.len(), items.len());
    let Payload::Line(last) = read.last().unwrap() else {
        panic!("JSON lines are lines")
    };
    assert!(
        wire::parse_json_line(last).is_err(),
        "the cut record is left for the dead letters: {last}"
    );
}

#[test]
fn a_parquet_feed_without_its_footer_opens_and_ends_at_once() {
    let items = many_items(5_000);
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.parquet");
    write_all(&full, &items);
    let bytes = std::fs::read(&full).unwrap();
    let cut_path = dir.path().join("cut.parquet");
    std::fs::write(&cut_path, &bytes[..bytes.len() / 2]).unwrap();
    let (read, cut) = read_until_cut(&cut_path);
    assert!(read.is_empty());
    let cut = cut.expect("unreadable");
    assert_eq!(cut.items_read, 0);
    assert_eq!(
        (cut.row_group, cut.line, cut.byte_offset),
        (None, None, None)
    );
    assert!(cut.error.contains("footer"), "{}", cut.error);
}

#[test]
fn a_parquet_feed_with_a_corrupt_row_group_yields_the_row_groups_before() {
    let items = many_items(ROW_GROUP_ROWS + 2 * BATCH_ROWS + 17);
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.parquet");
    write_all(&full, &items);
    let meta = ParquetRecordBatchReaderBuilder::try_new(File::open(&full).unwrap())
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(meta.num_row_groups(), 2);
    // Garbage over the first page header of the second row group.
    let start = meta.row_group(1).column(0).byte_range().0 as usize;
    let mut bytes = std::fs::read(&full).unwrap();
    bytes[start..start + 64].fill(0xFF);
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, &bytes).unwrap();
    let (read, cut) = read_until_cut(&bad);
    assert_eq!(read, items[..ROW_GROUP_ROWS], "the first row group, whole");
    let cut = cut.expect("the second row group cannot be read");
    assert_eq!(cut.items_read, ROW_GROUP_ROWS as u64);
    assert_eq!(cut.row_group, Some(1));
    assert_eq!(cut.byte_offset, Some(start as u64));
    assert_eq!(cut.format, "parquet");
}
