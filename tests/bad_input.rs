//! Bad input end to end (issue 18): a JSON-lines feed file that starts with a UTF-8 byte order
//! mark and carries absurd and non-finite prices, replayed from disk (plain and gzip) through the
//! whole run: the dataflows, the baselines, a scripted bettor taking the extreme valid prices, the
//! bookmaker, settlement, the ledger and the reports.
//!
//! What must hold: the first line (behind the BOM) is read like any other; every bad price is
//! dead-lettered as `invalid_price` and nothing else is; every line is counted once
//! (`records_in = records_ok + rejected`); bets at 1.0000001, 999.99 and 1000 are taken at those
//! prices; and no number in the bets, settlements, ledger, reports, summary or written files is
//! NaN or infinite.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::feedkit::{self, bet, market, prices, result, status};
use oddsflow::betting::ledger::ledger;
use oddsflow::io::feed::FeedWriter;
use oddsflow::policy::PolicySpec;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::{Outputs, RunStats, write_outputs};
use oddsflow::runtime::source::file_feed;
use oddsflow::sim::{SimConfig, simulate};
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::reject::RejectReason;
use oddsflow_dataflows::wire::to_json_line;

const A: MatchId = 9_000_001;
const B: MatchId = 9_000_002;

/// The bad price literals, each written in place of a valid price (all `invalid_price`).
const BAD_PRICES: [&str; 12] = [
    "1e300",
    "1e-300",
    "1000.01",
    "1.7976931348623157e308",
    "\"NaN\"",
    "\"inf\"",
    "\"-inf\"",
    "\"Infinity\"",
    "1e309",
    "-1e309",
    "0.9",
    "1",
];

fn line(p: &Payload) -> String {
    match p {
        Payload::Decoded(r) => to_json_line(r),
        Payload::Line(l) => l.clone(),
    }
}

/// The feed as lines, and the line numbers of the bad prices. A few simulated matches (no
/// noise: a clean feed), then two hand-made matches priced at the ends of the ladder.
fn feed(kickoff: &mut i64) -> (Vec<String>, BTreeSet<u64>) {
    let sim = simulate(&SimConfig {
        matches: 4,
        seed: 18,
        ..SimConfig::default()
    });
    let mut lines: Vec<String> = sim.items.iter().map(line).collect();
    let last = sim
        .records()
        .map(|r| r.ts)
        .max()
        .expect("the simulator wrote records");
    // A byte order mark before the first line, as an editor on Windows writes one.
    lines[0].insert(0, '\u{feff}');

    let k = (last / 3_600_000 + 48) * 3_600_000;
    *kickoff = k;
    let open = k - 3 * 3_600_000;
    let mut hand = vec![
        feedkit::fixture(A, k - 86_400_000, k, 901, 902),
        feedkit::fixture(B, k - 86_400_000, k, 903, 904),
        market(A, open, 1, MarketStatus::Open, Phase::Prematch),
        market(B, open, 1, MarketStatus::Open, Phase::Prematch),
    ];
    hand.extend(prices(A, open, 1, [1.0000001, 999.99, 1000.0]));
    hand.extend(prices(B, open, 1, [1.0000001, 500.0, 1000.0]));
    lines.extend(hand.iter().map(line));

    // Each bad price replaces A's home price at a newer version: were one accepted, it would
    // become the price the scripted bet takes.
    let template = line(&prices(A, k - 2 * 3_600_000, 2, [2.0, 3.0, 4.0])[0]);
    assert!(template.contains(r#""price":2.0"#), "{template}");
    let mut bad = BTreeSet::new();
    for (i, p) in BAD_PRICES.iter().enumerate() {
        bad.insert(lines.len() as u64);
        lines.push(
            template
                .replace(r#""price":2.0"#, &format!(r#""price":{p}"#))
                .replace(r#""version":2"#, &format!(r#""version":{}"#, 2 + i)),
        );
    }

    let end = k + 110 * 60_000;
    let mut after = vec![
        // Another match's fixture an hour before kick-off: the policies decide at that time.
        feedkit::fixture(9_000_098, k - 3_600_000, end + 3_600_000, 907, 908),
        status(A, k, 1, MatchStatus::FirstHalf, 0),
        status(B, k, 1, MatchStatus::FirstHalf, 0),
        market(A, k, 2, MarketStatus::Closed, Phase::Prematch),
        market(B, k, 2, MarketStatus::Closed, Phase::Prematch),
        status(A, end, 2, MatchStatus::Finished, 90 * 60),
        status(B, end, 2, MatchStatus::Finished, 90 * 60),
        result(A, end + 60_000, 1, 1, 1),
        result(B, end + 60_000, 1, 0, 1),
    ];
    // A later fixture moves the feed clock on, so that every time above is complete.
    after.push(feedkit::fixture(
        9_000_099,
        end + 3 * 3_600_000,
        end + 6 * 3_600_000,
        905,
        906,
    ));
    lines.extend(after.iter().map(line));
    (lines, bad)
}

/// Tokens of `text` that spell a non-finite number (`NaN`, `inf`, `Infinity`, signed or not).
fn non_finite(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')))
        .filter(|t| {
            matches!(
                t.trim_start_matches(['-', '+'])
                    .to_ascii_lowercase()
                    .as_str(),
                "nan" | "inf" | "infinity"
            )
        })
        .map(str::to_string)
        .collect()
}

fn write_feed(path: &Path, lines: &[String]) {
    let mut w = FeedWriter::create(path).expect("create the feed");
    for l in lines {
        w.write_line(l).expect("write a line");
    }
    w.finish().expect("finish the feed");
}

fn replay(path: &Path, cfg: &RunConfig) -> (Outputs, RunStats) {
    oddsflow::runtime::replay::replay(file_feed(path), cfg, None, timely::Config::thread())
        .expect("replay runs")
        .expect("worker 0 is here")
}

#[test]
fn bom_and_absurd_prices_are_handled_and_nothing_turns_non_finite() {
    let mut k = 0;
    let (lines, bad) = feed(&mut k);
    let bets = vec![
        bet(k - 3_600_000, &[(A, Selection::Home)], 10.0), // 1.0000001
        bet(k - 3_600_000, &[(A, Selection::Draw)], 10.0), // 999.99, wins
        bet(k - 3_600_000, &[(A, Selection::Away)], 10.0), // 1000
        bet(k - 3_600_000, &[(B, Selection::Home)], 10.0), // 1.0000001
        bet(
            k - 3_600_000,
            &[(A, Selection::Draw), (B, Selection::Away)],
            1.0,
        ), // ≈ 1e6, wins
        bet(
            k - 3_600_000,
            &[(A, Selection::Home), (B, Selection::Home)],
            10.0,
        ), // ≈ 1.0000002
    ];
    let mut cfg = RunConfig {
        progress: false,
        policies: vec![PolicySpec::Scripted(bets.clone())],
        ..RunConfig::default()
    };
    for name in ["favourite", "random", "value"] {
        cfg.policies
            .push(PolicySpec::parse(name, 3).expect("a baseline"));
    }
    cfg.bookmaker.bankroll = 1e9;
    cfg.bookmaker.max_match_exposure = 1e12;
    cfg.bookmaker.max_exposure = 1e12;

    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("feed.jsonl");
    let gz = dir.path().join("feed.jsonl.gz");
    write_feed(&plain, &lines);
    write_feed(&gz, &lines);
    assert_eq!(
        &std::fs::read(&plain).expect("read the feed")[..3],
        b"\xEF\xBB\xBF",
        "the file starts with a BOM"
    );
    let (o, stats) = replay(&plain, &cfg);
    let (o_gz, _) = replay(&gz, &cfg);
    assert_eq!(
        o.canonical_text(),
        o_gz.canonical_text(),
        "gzip reads like plain"
    );
    assert_eq!(o.summary, o_gz.summary);

    // Counted once; the BOM'd first line is read; the bad prices, and only they, are refused.
    let s = &o.summary;
    assert_eq!(s.records_in, lines.len() as u64);
    assert_eq!(s.records_in, s.records_ok + s.rejected, "{s:?}");
    let refused: BTreeSet<u64> = o.dead_letters.iter().map(|d| d.seq).collect();
    assert!(
        !refused.contains(&0),
        "the first line is read: {:?}",
        o.dead_letters.first()
    );
    assert_eq!(refused, bad, "{:#?}", o.dead_letters);
    for d in &o.dead_letters {
        assert_eq!(d.reason, RejectReason::InvalidPrice, "{d:?}");
    }
    assert_eq!(
        s.rejected_by_reason.get("invalid_price").copied(),
        Some(BAD_PRICES.len() as u64)
    );

    // The scripted bets are all taken, at the extreme valid prices (not at a refused one).
    let scripted: Vec<_> = o
        .betting
        .decisions
        .iter()
        .filter(|d| d.request.id.policy == 0)
        .collect();
    assert_eq!(scripted.len(), bets.len(), "{scripted:#?}");
    let taken = |seq: u32| -> Vec<f64> {
        let d = scripted
            .iter()
            .find(|d| d.request.id.seq == seq)
            .unwrap_or_else(|| panic!("bet {seq} decided"));
        d.verdict
            .as_ref()
            .unwrap_or_else(|e| panic!("bet {seq} refused: {e:?}"))
            .iter()
            .map(|l| l.price.0)
            .collect()
    };
    let by_seq: BTreeSet<u32> = scripted.iter().map(|d| d.request.id.seq).collect();
    let seqs: Vec<u32> = by_seq.into_iter().collect();
    assert_eq!(taken(seqs[0]), [1.0000001]);
    assert_eq!(taken(seqs[1]), [999.99]);
    assert_eq!(taken(seqs[2]), [1000.0]);
    assert_eq!(taken(seqs[4]), [999.99, 1000.0]);
    let standing = oddsflow::betting::ledger::standing_settlements(&o.betting);
    let payout = |seq: u32| {
        standing
            .iter()
            .find(|(id, _)| id.policy == 0 && id.seq == seq)
            .map(|(_, (s, _))| s.returned())
            .unwrap_or_else(|| panic!("bet {seq} settled"))
    };
    assert!((payout(seqs[1]) - 9_999.9).abs() < 1e-6);
    assert!((payout(seqs[4]) - 999_990.0).abs() < 1e-3);
    assert_eq!(payout(seqs[0]), 0.0);

    // No NaN or infinity anywhere in what the run reports.
    let rows = ledger(&o.betting, o.bankroll);
    assert!(!rows.is_empty());
    for (what, text) in [
        ("decisions", format!("{:?}", o.betting.decisions)),
        ("settlements", format!("{:?}", o.betting.settlements)),
        ("ledger", format!("{rows:?}")),
        ("reports", format!("{:?}", o.reports)),
        ("summary", format!("{:?}", o.summary)),
        ("closes", format!("{:?}", o.prematch_close)),
        ("features", format!("{:?}", o.features)),
    ] {
        assert_eq!(non_finite(&text), Vec::<String>::new(), "{what}");
    }
    for r in &o.reports {
        let m = &r.metrics;
        for x in [
            m.turnover,
            m.profit,
            m.roi,
            m.final_bankroll,
            m.max_drawdown,
        ] {
            assert!(x.is_finite(), "{}: {m:?}", r.policy);
        }
    }
    // And in the files written (serde_json writes a NaN as `null`: none where a number goes).
    let out = dir.path().join("out");
    write_outputs(&out, &o, &stats).expect("write the outputs");
    for entry in std::fs::read_dir(&out).expect("the outputs") {
        let path = entry.expect("an output").path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name == "dead_letter.jsonl" || name.ends_with(".parquet") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a text output");
        assert_eq!(non_finite(&text), Vec::<String>::new(), "{name}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("summary is JSON");
    for p in summary["policies"].as_array().expect("policies") {
        for key in [
            "turnover",
            "profit",
            "roi",
            "final_bankroll",
            "max_drawdown",
        ] {
            assert!(
                p["metrics"][key].as_f64().is_some_and(f64::is_finite),
                "{key} in {p}"
            );
        }
    }
}
