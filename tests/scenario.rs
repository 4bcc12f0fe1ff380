//! A goal at 63:10: the 1X2 market suspends, its selections leave availability, come back with
//! new prices when the feed reopens the market, and the feature vector's score, implied
//! probabilities and drift change at exactly those times.

mod common;

use std::collections::BTreeSet;

use common::{accumulate, feedkit};
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::Outputs;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::memory_feed;
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;

const M: MatchId = 77;
const KICKOFF: i64 = 1_767_441_600_000; // 2026-01-03T12:00Z
const SECOND_HALF: i64 = KICKOFF + 60 * 60_000; // 45 min + 15 min break
const GOAL: i64 = SECOND_HALF + (63 * 60 + 10 - 45 * 60) * 1000; // 63:10 on the clock
const REOPEN: i64 = GOAL + 40_000;

fn market(ts: i64, version: Version, status: MarketStatus, phase: Phase) -> Payload {
    feedkit::market(M, ts, version, status, phase)
}

fn prices(ts: i64, version: Version, p: [f64; 3]) -> Vec<Payload> {
    feedkit::prices(M, ts, version, p)
}

fn status(ts: i64, version: Version, s: MatchStatus, clock_s: i32) -> Payload {
    feedkit::status(M, ts, version, s, clock_s)
}

fn feed() -> Vec<Payload> {
    let mut f = vec![feedkit::fixture(M, KICKOFF - 86_400_000, KICKOFF, 1, 2)];
    f.push(market(
        KICKOFF - 3 * 3_600_000,
        1,
        MarketStatus::Open,
        Phase::Prematch,
    ));
    f.extend(prices(KICKOFF - 3 * 3_600_000, 1, [2.10, 3.40, 3.60]));
    f.extend(prices(KICKOFF - 600_000, 2, [2.00, 3.50, 3.80])); // the prematch close
    f.push(status(KICKOFF, 1, MatchStatus::FirstHalf, 0));
    f.push(market(KICKOFF, 2, MarketStatus::Open, Phase::InPlay));
    f.extend(prices(KICKOFF + 5_000, 3, [2.05, 3.30, 3.90]));
    f.push(status(SECOND_HALF, 2, MatchStatus::SecondHalf, 45 * 60));
    f.push(status(
        GOAL - 60_000,
        3,
        MatchStatus::SecondHalf,
        62 * 60 + 10,
    ));
    // 63:10: the goal, and the market suspends at the same instant.
    f.push(feedkit::goal(M, GOAL, 1, Side::Home, 63 * 60 + 10));
    f.push(market(GOAL, 3, MarketStatus::Suspended, Phase::InPlay));
    // New prices are published while suspended, then the market reopens.
    f.extend(prices(GOAL + 20_000, 4, [1.40, 4.50, 8.00]));
    f.push(market(REOPEN, 4, MarketStatus::Open, Phase::InPlay));
    // Something far later moves the feed clock on, so that every time above is complete.
    f.push(status(
        REOPEN + 600_000,
        4,
        MatchStatus::SecondHalf,
        74 * 60,
    ));
    f
}

fn run() -> Outputs {
    let cfg = RunConfig {
        progress: false,
        ..RunConfig::default()
    };
    replay(memory_feed(feed()), &cfg, None, timely::Config::thread())
        .expect("replay")
        .expect("worker 0")
        .0
}

fn ms(ts: i64) -> u64 {
    ts as u64
}

fn margin_free(h: f64, d: f64, a: f64) -> [f64; 3] {
    let total = 1.0 / h + 1.0 / d + 1.0 / a;
    [1.0 / h / total, 1.0 / d / total, 1.0 / a / total]
}

#[test]
fn a_goal_at_63_10_suspends_1x2_and_features_change_exactly_then() {
    let out = run();
    assert!(out.dead_letters.is_empty(), "{:?}", out.dead_letters);
    let one_x_two = |t: i64| -> Vec<(Selection, F64)> {
        accumulate(&out.available, ms(t))
            .into_iter()
            .filter(|((m, mk, _), _)| *m == M && *mk == MarketKind::MatchOdds)
            .map(|((_, _, s), q)| (s, q.price))
            .collect()
    };
    let before = vec![
        (Selection::Home, F64(2.05)),
        (Selection::Draw, F64(3.30)),
        (Selection::Away, F64(3.90)),
    ];
    assert_eq!(one_x_two(GOAL - 1_000), before, "open just before the goal");
    assert_eq!(one_x_two(GOAL), vec![], "suspended at the goal");
    assert_eq!(
        one_x_two(REOPEN - 1_000),
        vec![],
        "still suspended while new prices arrive"
    );
    let after = vec![
        (Selection::Home, F64(1.40)),
        (Selection::Draw, F64(4.50)),
        (Selection::Away, F64(8.00)),
    ];
    assert_eq!(one_x_two(REOPEN), after, "reopened with the new prices");

    // The prematch close is the last prematch price, kept through the in-play phase.
    let close = accumulate(&out.prematch_close, ms(REOPEN));
    assert_eq!(
        close[&(M, MarketKind::MatchOdds, Selection::Home)],
        F64(2.00)
    );

    // The feature vector changes exactly at the goal and at the reopening in this stretch.
    let change_times: BTreeSet<u64> = out
        .features
        .iter()
        .filter(|((m, _), t, _)| *m == M && *t > ms(GOAL - 30_000) && *t < ms(REOPEN + 300_000))
        .map(|c| c.1)
        .collect();
    assert_eq!(change_times, BTreeSet::from([ms(GOAL), ms(REOPEN)]));
    let features = |t: i64| {
        accumulate(&out.features, ms(t))
            .remove(&M)
            .expect("a live match has a vector")
    };
    let (v0, v1, v2) = (features(GOAL - 1_000), features(GOAL), features(REOPEN));
    assert_eq!((v0.score_diff, v1.score_diff, v2.score_diff), (0, 1, 1));
    assert_eq!(v1.home.goals, 1);
    let close_p = margin_free(2.00, 3.50, 3.80);
    let p0 = margin_free(2.05, 3.30, 3.90);
    assert!((v0.implied.home.expect("1X2 available").0 - p0[0]).abs() < 1e-12);
    assert!((v0.drift.home.expect("a close").0 - (p0[0] - close_p[0])).abs() < 1e-12);
    assert_eq!(
        (v1.implied.home, v1.drift.home),
        (None, None),
        "no price while suspended"
    );
    let p2 = margin_free(1.40, 4.50, 8.00);
    assert!((v2.implied.home.expect("reopened").0 - p2[0]).abs() < 1e-12);
    assert!((v2.drift.away.expect("a close").0 - (p2[2] - close_p[2])).abs() < 1e-12);
    assert_eq!(v2.clock_s, 62 * 60 + 10, "the clock is the last status's");
}
