//! The betting tests: a small run's outputs (a corrected single, a coupon, rejections, an open
//! bet) through the ledger, the reports, the closes, the labels and the files.

#![allow(clippy::unwrap_used)]
use std::collections::BTreeMap;

use oddsflow_dataflows::Time;
use oddsflow_dataflows::availability::SelectionKey;
use oddsflow_dataflows::bookmaker::{
    AcceptedLeg, BetId, BetRejection, BetRequest, Decision, Leg, PolicyId, Settled,
};
use oddsflow_dataflows::model::{F64, Line, MarketKind, MatchId, Phase, Selection};
use oddsflow_dataflows::settlement::Outcome;
use serde_json::Value;

use super::files::{market_label, selection_label, write_betting};
use super::ledger::{BettingOutputs, closing_prices, fair_closes, ledger};
use super::reports::{format_table, reports};
use crate::time::DAY_MS;
use oddsflow_dataflows::Change;

const KICKOFF: i64 = 19_000 * DAY_MS + 15 * 3_600_000;

fn leg(m: MatchId, market: MarketKind, selection: Selection, price: f64, phase: Phase) -> Leg {
    Leg {
        match_id: m,
        market,
        selection,
        price: F64(price),
        phase,
        modelled: false,
        kickoff: KICKOFF,
    }
}

/// A decision at `at`; `taken`: the accepted prices (one per leg), or the rejection.
fn decision(
    policy: PolicyId,
    seq: u32,
    at: Time,
    stake: f64,
    legs: Vec<Leg>,
    taken: Result<Vec<f64>, BetRejection>,
) -> Decision {
    let verdict = taken.map(|prices| {
        legs.iter()
            .zip(prices)
            .map(|(l, p)| AcceptedLeg {
                leg: *l,
                price: F64(p),
                phase: l.phase,
                listed: vec![],
            })
            .collect()
    });
    Decision {
        request: BetRequest {
            id: BetId { policy, seq },
            decided_at: at - 1,
            stake: F64(stake),
            legs,
        },
        at,
        verdict,
    }
}

fn settled(stake: f64, payout: f64, outcomes: &[Option<Outcome>]) -> Settled {
    Settled {
        stake: F64(stake),
        payout: F64(payout),
        outcomes: outcomes.to_vec(),
    }
}

fn id(policy: PolicyId, seq: u32) -> BetId {
    BetId { policy, seq }
}

const OU25: MarketKind = MarketKind::OverUnder { line: Line(10) };

/// Two policies with bets (alpha: a corrected single, a coupon, a rejection, an open in-play
/// single; beta: a rejection and a lost single) and one without.
fn outputs() -> BettingOutputs {
    use Selection::*;
    let mo = MarketKind::MatchOdds;
    let mut coupon_legs = vec![
        leg(2, OU25, Over, 1.8, Phase::Prematch),
        leg(3, MarketKind::Btts, Yes, 1.9, Phase::Prematch),
    ];
    coupon_legs[0].kickoff = 0; // unknown: the decision's day
    let mut decisions = vec![
        decision(
            0,
            0,
            1000,
            10.0,
            vec![leg(1, mo, Home, 2.0, Phase::Prematch)],
            Ok(vec![2.1]),
        ),
        decision(0, 1, 1000, 5.0, coupon_legs, Ok(vec![1.8, 1.9])),
        decision(
            0,
            2,
            2000,
            7.0,
            vec![leg(4, mo, Away, 3.0, Phase::Prematch)],
            Err(BetRejection::PriceMoved),
        ),
        decision(
            0,
            3,
            3000,
            20.0,
            vec![leg(5, mo, Draw, 3.2, Phase::InPlay)],
            Ok(vec![3.2]),
        ),
        decision(
            1,
            0,
            1500,
            50.0,
            vec![leg(1, mo, Away, 4.0, Phase::Prematch)],
            Err(BetRejection::Bankroll),
        ),
        decision(
            1,
            1,
            1500,
            4.0,
            vec![leg(1, mo, Draw, 3.5, Phase::Prematch)],
            Ok(vec![3.5]),
        ),
    ];
    decisions.sort_by_key(|d| (d.at, d.request.id));
    let won = settled(10.0, 2.1, &[Some(Outcome::Won)]);
    let lost = settled(10.0, 0.0, &[Some(Outcome::Lost)]);
    let coupon = settled(5.0, 1.8 * 1.9, &[Some(Outcome::Won), Some(Outcome::Won)]);
    let beta = settled(4.0, 0.0, &[Some(Outcome::Lost)]);
    let mut settlements = vec![
        ((id(0, 0), won.clone()), 5000, 1),
        ((id(0, 0), won), 9000, -1),
        ((id(0, 0), lost), 9000, 1),
        ((id(0, 1), coupon), 6000, 1),
        ((id(1, 1), beta), 5000, 1),
    ];
    settlements.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    BettingOutputs {
        policies: vec!["alpha".into(), "beta".into(), "gamma".into()],
        decisions,
        settlements,
    }
}

/// Match 1's 1X2 closes: home moved 2.0 → 1.9; all retracted when the match retired.
fn closes() -> Vec<Change<(SelectionKey, F64)>> {
    use Selection::*;
    let k = |s| (1, MarketKind::MatchOdds, s);
    vec![
        ((k(Home), F64(2.0)), 100, 1),
        ((k(Home), F64(2.0)), 900, -1),
        ((k(Home), F64(1.9)), 900, 1),
        ((k(Home), F64(1.9)), 20_000, -1),
        ((k(Draw), F64(3.4)), 100, 1),
        ((k(Draw), F64(3.4)), 20_000, -1),
        ((k(Away), F64(4.0)), 100, 1),
        ((k(Away), F64(4.0)), 20_000, -1),
        // A market with one close: no fair close.
        (((2, OU25, Over), F64(1.7)), 100, 1),
    ]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn ledger_keeps_both_versions_and_tracks_cash_and_bankroll() {
    let b = outputs();
    let rows = ledger(&b, 100.0);
    let got: Vec<(&str, Time, u32, &str)> = rows
        .iter()
        .map(|r| (r.policy.as_str(), r.time, r.bet, r.kind.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("alpha", 1000, 0, "stake"),
            ("alpha", 1000, 1, "stake"),
            ("alpha", 3000, 3, "stake"),
            ("alpha", 5000, 0, "settle"),
            ("alpha", 6000, 1, "settle"),
            ("alpha", 9000, 0, "reverse"),
            ("alpha", 9000, 0, "settle"),
            ("beta", 1500, 1, "stake"),
            ("beta", 5000, 1, "settle"),
        ]
    );
    let money: Vec<(f64, f64, f64)> = rows
        .iter()
        .map(|r| (r.amount, r.cash, r.bankroll))
        .collect();
    let expect = [
        (-10.0, 90.0, 100.0),
        (-5.0, 85.0, 100.0),
        (-20.0, 65.0, 100.0),
        (21.0, 86.0, 111.0),
        (17.1, 103.1, 123.1),
        // The correction: the win goes back out (the bet is open again for a moment) …
        (-21.0, 82.1, 112.1),
        // … and the loss settles it.
        (0.0, 82.1, 102.1),
        (-4.0, 96.0, 100.0),
        (0.0, 96.0, 96.0),
    ];
    for (g, e) in money.iter().zip(&expect) {
        assert!(
            close(g.0, e.0) && close(g.1, e.1) && close(g.2, e.2),
            "{g:?} vs {e:?}"
        );
    }
    // Alpha's settled profit: −10 (the corrected single) + 12.1 (the coupon); bet 3 is open.
    let profit = -10.0 + 5.0 * (1.8 * 1.9 - 1.0);
    assert!(close(rows[6].bankroll, 100.0 + profit));
    assert!(close(rows[6].cash, 100.0 + profit - 20.0));
    assert!(
        close(rows[8].cash, 100.0 - 4.0),
        "beta: all settled, cash = bankroll + profit"
    );
    assert!(ledger(&BettingOutputs::default(), 100.0).is_empty());
}

#[test]
fn reports_count_and_measure_the_standing_settlements() {
    let b = outputs();
    let reps = reports(&b, &closes(), 100.0, 7);
    assert_eq!(
        reps.iter().map(|r| r.policy.as_str()).collect::<Vec<_>>(),
        ["alpha", "beta", "gamma"]
    );
    let a = &reps[0];
    assert_eq!(
        (a.requests, a.accepted, a.rejected, a.coupons, a.open),
        (4, 3, 1, 1, 1)
    );
    assert_eq!(
        a.rejected_by_reason,
        BTreeMap::from([("price_moved".to_owned(), 1)])
    );
    let m = &a.metrics;
    let profit = -10.0 + 5.0 * (1.8 * 1.9 - 1.0);
    assert_eq!(m.bets, 2);
    assert!(close(m.turnover, 15.0));
    assert!(close(m.profit, profit));
    assert!(close(m.roi, profit / 15.0));
    assert_eq!(m.hit_rate, 0.5);
    assert!(close(m.average_price, (2.1 + 1.8 * 1.9) / 2.0));
    // The ledger's final bankroll is the metrics' final bankroll.
    let last = ledger(&b, 100.0)
        .into_iter()
        .rfind(|r| r.policy == "alpha")
        .unwrap();
    assert!(close(m.final_bankroll, last.bankroll));
    // CLV: only the prematch single, against the latest close 1.9 (retracted at retirement).
    let overround = 1.0 / 1.9 + 1.0 / 3.4 + 1.0 / 4.0;
    assert!(close(m.clv.unwrap(), 2.1 / 1.9 - 1.0));
    assert!(close(m.clv_fair.unwrap(), 2.1 / (1.9 * overround) - 1.0));
    // Two match-days, but a handful of bets: no interval (under the minimum sample).
    assert_eq!(a.roi_interval, None, "{} bets", m.bets);
    assert_eq!(reports(&b, &closes(), 100.0, 7), reps, "seeded");

    let be = &reps[1];
    assert_eq!(
        (be.requests, be.accepted, be.rejected, be.open),
        (2, 1, 1, 0)
    );
    assert_eq!(
        be.rejected_by_reason,
        BTreeMap::from([("bankroll".to_owned(), 1)])
    );
    assert!(close(be.metrics.profit, -4.0));
    assert!(close(be.metrics.clv.unwrap(), 3.5 / 3.4 - 1.0));
    assert_eq!(be.roi_interval, None, "one match-day: no interval");

    let g = &reps[2];
    assert_eq!((g.requests, g.metrics.bets, g.roi_interval), (0, 0, None));

    let table = format_table(&reps);
    assert_eq!(table.lines().count(), 5);
    assert!(table.lines().nth(2).unwrap().starts_with("alpha "));
    assert!(table.contains(" -100.00 "), "{table}");
    assert_eq!(format_table(&reps), table);
    let gamma = table.lines().nth(4).unwrap();
    assert!(
        gamma.starts_with("gamma ") && !gamma.contains("-0.00"),
        "{gamma}"
    );
}

#[test]
fn closes_take_the_latest_value_and_fair_closes_need_a_book() {
    let c = closing_prices(&closes());
    assert_eq!(c[&(1, MarketKind::MatchOdds, Selection::Home)], 1.9);
    assert_eq!(c[&(2, OU25, Selection::Over)], 1.7);
    let fair = fair_closes(&c);
    assert_eq!(
        fair.len(),
        3,
        "match 2's market has one close: no fair close"
    );
    let p: f64 = fair.values().map(|f| 1.0 / f).sum();
    assert!(close(p, 1.0), "margin-free probabilities sum to one");
    // A latch still holding a value wins over a later retracted one.
    let k = (9, MarketKind::Btts, Selection::Yes);
    let c = closing_prices(&[
        ((k, F64(2.0)), 5, 1),
        ((k, F64(2.2)), 3, 1),
        ((k, F64(2.2)), 5, -1),
    ]);
    assert_eq!(c[&k], 2.0);
}

#[test]
fn labels_are_compact() {
    assert_eq!(market_label(OU25), "over_under 2.5");
    assert_eq!(
        market_label(MarketKind::AsianHandicap { line: Line(-1) }),
        "asian_handicap -0.25"
    );
    assert_eq!(
        market_label(MarketKind::NextGoal { goal: 2 }),
        "next_goal 2"
    );
    assert_eq!(
        selection_label(Selection::Score { home: 2, away: 1 }),
        "score 2-1"
    );
    assert_eq!(selection_label(Selection::HomeOrDraw), "home_or_draw");
}

#[test]
fn betting_files_read_back() {
    use crate::io::table::read_table_json;
    let dir = tempfile::tempdir().unwrap();
    let b = outputs();
    write_betting(dir.path(), &b, 100.0).unwrap();

    let bets = read_table_json(&dir.path().join("bets.parquet")).unwrap();
    assert_eq!(bets.len(), 6);
    let keys: Vec<&str> = bets[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 17);
    let coupon = bets
        .iter()
        .find(|r| r["policy"] == "alpha" && r["bet"] == 1)
        .unwrap();
    assert_eq!(coupon["status"], "accepted");
    assert_eq!(coupon["reason"], "");
    assert_eq!(coupon["legs"], 2);
    assert_eq!(coupon["match"], 2);
    assert_eq!(coupon["market"], "over_under 2.5");
    assert_eq!(coupon["selection"], "over");
    assert_eq!(coupon["phase"], "prematch");
    assert!(close(coupon["price_taken"].as_f64().unwrap(), 1.8 * 1.9));
    let legs: Value = serde_json::from_str(coupon["legs_json"].as_str().unwrap()).unwrap();
    assert_eq!(legs[1]["market"], "btts");
    assert_eq!(legs[1]["price_taken"], 1.9);
    let rejected = bets
        .iter()
        .find(|r| r["policy"] == "beta" && r["bet"] == 0)
        .unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "bankroll");
    assert_eq!(rejected["price_taken"], Value::Null);
    assert_eq!(rejected["decided"], 1500);
    assert_eq!(rejected["decided_at"], 1499);

    let st = read_table_json(&dir.path().join("settlements.parquet")).unwrap();
    assert_eq!(st.len(), 5);
    let corr: Vec<(i64, f64)> = st
        .iter()
        .filter(|r| r["policy"] == "alpha" && r["bet"] == 0)
        .map(|r| (r["diff"].as_i64().unwrap(), r["payout"].as_f64().unwrap()))
        .collect();
    assert_eq!(corr, [(1, 2.1), (-1, 2.1), (1, 0.0)]);
    assert_eq!(st[0]["outcomes"], r#"["won"]"#);
    let net: f64 = st
        .iter()
        .filter(|r| r["policy"] == "alpha")
        .map(|r| r["profit"].as_f64().unwrap() * r["diff"].as_f64().unwrap())
        .sum();
    assert!(close(net, -10.0 + 5.0 * (1.8 * 1.9 - 1.0)));

    let led = read_table_json(&dir.path().join("ledger.parquet")).unwrap();
    let rows = ledger(&b, 100.0);
    assert_eq!(led.len(), rows.len());
    for (j, r) in led.iter().zip(&rows) {
        assert_eq!(j["policy"], r.policy.as_str());
        assert_eq!(j["time"], r.time);
        assert_eq!(j["bet"], r.bet);
        assert_eq!(j["kind"], r.kind.as_str());
        assert_eq!(j["cash"].as_f64().unwrap(), r.cash);
        assert_eq!(j["bankroll"].as_f64().unwrap(), r.bankroll);
    }

    // No bets: the same columns, no rows.
    let empty = dir.path().join("empty");
    write_betting(&empty, &BettingOutputs::default(), 100.0).unwrap();
    for name in ["bets", "settlements", "ledger"] {
        let path = empty.join(format!("{name}.parquet"));
        assert!(read_table_json(&path).unwrap().is_empty());
        let file = std::fs::File::open(&path).unwrap();
        let builder =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert!(builder.schema().fields().len() >= 7, "{name}");
    }
}

#[test]
fn an_roi_interval_needs_the_minimum_sample() {
    use super::metrics::{MIN_INTERVAL_SAMPLE, SettledBet, bootstrap_roi};
    // Bets on ten match-days, alternately won at 2.0 and lost: ROI 0.
    let bet = |i: usize| SettledBet {
        settled_at: i as i64,
        match_day: (i % 10) as i64,
        stake: 10.0,
        price: 2.0,
        payout: if i % 2 == 0 { 2.0 } else { 0.0 },
        close: None,
        fair_close: None,
    };
    let few: Vec<SettledBet> = (0..MIN_INTERVAL_SAMPLE - 1).map(bet).collect();
    assert_eq!(bootstrap_roi(&few, 200, 0.95, 1), None, "under the minimum");
    let enough: Vec<SettledBet> = (0..MIN_INTERVAL_SAMPLE).map(bet).collect();
    let (lo, hi) = bootstrap_roi(&enough, 200, 0.95, 1).expect("an interval");
    assert!(lo <= 0.0 && 0.0 <= hi && lo < hi, "[{lo}, {hi}]");
}

#[test]
fn a_drawdown_in_money_is_the_largest_fall_from_a_running_peak() {
    use super::metrics::max_drawdown_money;
    // From 0: up to 10, down to -5 (a fall of 15), up to 3.
    let curve = [(1, 10.0), (2, -5.0), (3, 3.0)];
    assert_eq!(max_drawdown_money(&curve, 0.0), 15.0);
    // Never above the start: the fall from the start.
    assert_eq!(max_drawdown_money(&[(1, -4.0), (2, -9.0)], 0.0), 9.0);
    assert_eq!(max_drawdown_money(&[], 0.0), 0.0);
}
