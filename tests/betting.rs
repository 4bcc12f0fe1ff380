//! The bookmaker end to end: acceptance (the in-play delay, suspension, limits), settlement
//! with a result correction and a coupon lost early, the ledger's audit trail — and an oracle
//! test: on a noisy simulated feed (corrections, duplicates, abandonments, VAR), the incremental
//! settlements equal a from-scratch settlement of the same accepted bets at every time.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::feedkit::{self, bet, goal, market, prices, result, status};
use oddsflow::betting::ledger::{BettingOutputs, ledger};
use oddsflow::policy::{PolicySpec, ScriptedBet};
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::Outputs;
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::bookmaker::{BetId, BetRejection, Decision, Settled};
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::settlement::{MatchFacts, settle, settle_coupon};

const A: MatchId = 77;
const B: MatchId = 78;
const KICKOFF: i64 = 1_767_441_600_000; // 2026-01-03T12:00Z
const SECOND_HALF: i64 = KICKOFF + 60 * 60_000;
const GOAL: i64 = SECOND_HALF + (63 * 60 + 10 - 45 * 60) * 1000; // 63:10
const END: i64 = SECOND_HALF + 50 * 60_000;

/// Match A: 1X2 prematch and in play, a home goal at 63:10 (the market suspends at once),
/// result 1-0, corrected to 1-1 ten minutes later. Match B: prematch only, result 0-1 before A's.
fn feed() -> Vec<Payload> {
    let mut f = vec![
        feedkit::fixture(A, KICKOFF - 86_400_000, KICKOFF, 1, 2),
        feedkit::fixture(B, KICKOFF - 86_400_000, KICKOFF, 3, 4),
        market(
            A,
            KICKOFF - 3 * 3_600_000,
            1,
            MarketStatus::Open,
            Phase::Prematch,
        ),
        market(
            B,
            KICKOFF - 3 * 3_600_000,
            1,
            MarketStatus::Open,
            Phase::Prematch,
        ),
    ];
    f.extend(prices(A, KICKOFF - 3 * 3_600_000, 1, [2.10, 3.40, 3.60]));
    f.extend(prices(B, KICKOFF - 3 * 3_600_000, 1, [1.80, 3.60, 4.50]));
    f.extend(prices(A, KICKOFF - 600_000, 2, [2.00, 3.50, 3.80]));
    f.push(status(A, KICKOFF, 1, MatchStatus::FirstHalf, 0));
    f.push(status(B, KICKOFF, 1, MatchStatus::FirstHalf, 0));
    f.push(market(B, KICKOFF, 2, MarketStatus::Closed, Phase::Prematch));
    f.push(market(A, KICKOFF, 2, MarketStatus::Open, Phase::InPlay));
    f.extend(prices(A, KICKOFF + 5_000, 3, [2.05, 3.30, 3.90]));
    f.push(status(A, SECOND_HALF, 2, MatchStatus::SecondHalf, 45 * 60));
    f.push(status(
        A,
        GOAL - 60_000,
        3,
        MatchStatus::SecondHalf,
        62 * 60 + 10,
    ));
    f.extend(prices(A, GOAL - 3_000, 4, [2.06, 3.30, 3.85]));
    f.push(goal(A, GOAL, 1, Side::Home, 63 * 60 + 10));
    f.push(market(A, GOAL, 3, MarketStatus::Suspended, Phase::InPlay));
    f.extend(prices(A, GOAL + 20_000, 5, [1.40, 4.50, 8.00]));
    f.push(market(
        A,
        GOAL + 40_000,
        4,
        MarketStatus::Open,
        Phase::InPlay,
    ));
    f.push(status(
        B,
        KICKOFF + 95 * 60_000,
        3,
        MatchStatus::Finished,
        90 * 60,
    ));
    f.push(result(B, KICKOFF + 98 * 60_000, 1, 0, 1));
    f.push(status(A, END, 4, MatchStatus::Finished, 90 * 60));
    f.push(market(A, END, 5, MarketStatus::Closed, Phase::InPlay));
    f.push(result(A, END + 120_000, 1, 1, 0));
    f.push(result(A, END + 720_000, 2, 1, 1));
    // A later fixture moves the feed clock on, so that every time above is complete.
    f.push(feedkit::fixture(
        99,
        END + 3 * 3_600_000,
        END + 6 * 3_600_000,
        5,
        6,
    ));
    f
}

fn scripted(bets: Vec<ScriptedBet>) -> RunConfig {
    RunConfig {
        progress: false,
        policies: vec![PolicySpec::Scripted(bets)],
        ..RunConfig::default()
    }
}

fn decision(o: &Outputs, seq: u32) -> &Decision {
    o.betting
        .decisions
        .iter()
        .find(|d| d.request.id.seq == seq)
        .unwrap_or_else(|| panic!("bet {seq} was decided"))
}

/// The settlements of a bet as `(time, diff, payout)`, in order.
fn settlement_history(o: &Outputs, seq: u32) -> Vec<(u64, i64, f64)> {
    let mut h: Vec<(u64, i64, f64)> = o
        .betting
        .settlements
        .iter()
        .filter(|((b, _), _, _)| b.seq == seq)
        .map(|((_, s), t, d)| (*t, *d, s.payout.0))
        .collect();
    h.sort_by_key(|c| (c.0, c.1));
    h
}

#[test]
fn acceptance_settlement_corrections_and_the_ledger() {
    let cfg = scripted(vec![
        // 0: a coupon of A draw and B home, as soon as the markets open.
        bet(
            KICKOFF - 3 * 3_600_000,
            &[(A, Selection::Draw), (B, Selection::Home)],
            5.0,
        ),
        // 1: prematch single on A home; 2: over the per-bet limit.
        bet(KICKOFF - 600_000, &[(A, Selection::Home)], 10.0),
        bet(KICKOFF - 600_000, &[(A, Selection::Away)], 150.0),
        // 3: in play, a minute before the goal; 4: decided 3 s before the goal, so that the
        // request reaches the bookmaker 2 s before it.
        bet(GOAL - 60_000, &[(A, Selection::Home)], 10.0),
        bet(GOAL - 3_000, &[(A, Selection::Home)], 10.0),
    ]);
    let o = common::run(&feed(), &cfg, 1);
    assert_eq!(o.betting.decisions.len(), 5, "{:#?}", o.betting.decisions);

    // The in-play request 2 s before the goal waits 5 s, finds the market suspended.
    let late = decision(&o, 4);
    assert_eq!(late.request.decided_at, (GOAL - 3_000) as u64);
    assert_eq!(
        late.at,
        (GOAL - 2_000 + 5_000) as u64,
        "request + in-play delay"
    );
    assert_eq!(late.verdict, Err(BetRejection::Suspended));
    // A minute earlier the same bet is taken, at the price current at acceptance.
    let early = decision(&o, 3);
    assert_eq!(early.at, (GOAL - 59_000 + 5_000) as u64);
    let taken = early.verdict.as_ref().expect("accepted");
    assert_eq!(taken[0].price, F64(2.05));
    assert_eq!(taken[0].phase, Phase::InPlay);
    // Prematch: no delay.
    let pre = decision(&o, 1);
    assert_eq!(pre.at, (KICKOFF - 600_000 + 1_000) as u64);
    assert_eq!(pre.verdict.as_ref().expect("accepted")[0].price, F64(2.00));
    assert_eq!(decision(&o, 2).verdict, Err(BetRejection::OverBetLimit));

    // The coupon is lost when B's result comes, with A still pending.
    let b_result = (KICKOFF + 98 * 60_000) as u64;
    let coupon = settlement_history(&o, 0);
    assert_eq!(coupon.first(), Some(&(b_result, 1, 0.0)), "{coupon:?}");
    assert!(coupon.iter().all(|(_, _, p)| *p == 0.0), "{coupon:?}");

    // The singles on A home win on 1-0, then the correction to 1-1 retracts that and loses them.
    let (v1, v2) = ((END + 120_000) as u64, (END + 720_000) as u64);
    assert_eq!(
        settlement_history(&o, 1),
        vec![(v1, 1, 2.0), (v2, -1, 2.0), (v2, 1, 0.0)]
    );
    assert_eq!(
        settlement_history(&o, 3),
        vec![(v1, 1, 2.05), (v2, -1, 2.05), (v2, 1, 0.0)]
    );
    assert!(settlement_history(&o, 2).is_empty() && settlement_history(&o, 4).is_empty());

    // The ledger keeps both versions, and its cash adds up: 1000 − 5 − 10 − 10, and nothing back.
    let rows = ledger(&o.betting, 1_000.0);
    let kinds: Vec<(&str, u32)> = rows
        .iter()
        .filter(|r| r.bet == 1)
        .map(|r| (r.kind.as_str(), r.bet))
        .collect();
    assert_eq!(
        kinds,
        vec![("stake", 1), ("settle", 1), ("reverse", 1), ("settle", 1)]
    );
    let last = rows.last().expect("ledger rows");
    assert!((last.cash - 975.0).abs() < 1e-9, "{last:?}");
    assert!(
        (last.bankroll - 975.0).abs() < 1e-9,
        "nothing is open at the end"
    );
    // At the first settlement (before the correction) the cash held the winnings.
    let after_v1 = rows.iter().rfind(|r| r.time == v1).expect("rows at v1");
    assert!(
        (after_v1.cash - (975.0 + 20.0 + 20.5)).abs() < 1e-9,
        "{after_v1:?}"
    );

    let reports = &o.reports;
    assert_eq!(reports.len(), 1);
    assert_eq!(
        (
            reports[0].requests,
            reports[0].accepted,
            reports[0].rejected
        ),
        (5, 3, 2)
    );
    assert_eq!(reports[0].metrics.profit, -25.0);
}

/// The facts a match has at `t`, from scratch: its result and abandonment as of `t`, and the
/// valid goals as of the last time before `t` at which the result or abandonment changed.
fn facts_at(
    items: &[Payload],
    times: &[u64],
    cfg: &RunConfig,
    m: MatchId,
    t: u64,
) -> Option<MatchFacts> {
    let settled_state = |at: u64| {
        let s = common::state_at(items, times, at, cfg);
        let result = match s.get(&(m, StateKey::Result)) {
            Some(Body::Result(r)) => Some(*r),
            _ => None,
        };
        (result, s.contains_key(&(m, StateKey::Abandonment)), s)
    };
    // Neither a result nor an abandonment, and the fixture's kick-off is more than the
    // settlement deadline before `t`: void, with no result.
    let now = settled_state(t);
    if now.0.is_none() && !now.1 {
        let kickoff = match now.2.get(&(m, StateKey::Fixture)) {
            Some(Body::Fixture(f)) => Some(f.kickoff),
            _ => None,
        };
        return kickoff
            .filter(|k| {
                (k.max(&0).unsigned_abs()).saturating_add(cfg.bookmaker.settle_deadline_ms) <= t
            })
            .map(|_| MatchFacts {
                no_result: true,
                ..MatchFacts::default()
            });
    }
    // The last time ≤ t at which the result or abandonment changed.
    let mut change = None;
    let mut prev = (None, false);
    let mut candidates: BTreeSet<u64> = BTreeSet::new();
    for (item, time) in items.iter().zip(times) {
        if let Payload::Decoded(r) = item {
            if r.match_id == m
                && *time <= t
                && matches!(r.body, Body::Result(_) | Body::Abandonment(_))
            {
                candidates.insert(*time);
            }
        }
    }
    for c in candidates {
        let (r, a, _) = settled_state(c);
        if (r, a) != prev {
            change = Some(c);
            prev = (r, a);
        }
    }
    let c = change?;
    let (result, abandoned, state) = settled_state(c);
    if result.is_none() && !abandoned {
        return None;
    }
    let mut goals: Vec<(i32, u32, Side)> = state
        .iter()
        .filter_map(|((mm, _), b)| match b {
            Body::Incident(i)
                if *mm == m && !i.cancelled && matches!(i.detail, IncidentDetail::Goal { .. }) =>
            {
                Some((i.clock_s, i.id, i.side))
            }
            _ => None,
        })
        .collect();
    goals.sort();
    Some(MatchFacts {
        full_time: result.map(|r| r.full_time).unwrap_or_default(),
        corners: result.and_then(|r| r.corners),
        goals: goals.into_iter().map(|(_, _, s)| s).collect(),
        abandoned,
        no_result: false,
    })
}

/// Every accepted bet's settlement at `t`, from scratch.
fn expected_settlements(
    decisions: &[Decision],
    facts: &dyn Fn(MatchId) -> Option<MatchFacts>,
    t: u64,
) -> BTreeMap<BetId, Settled> {
    let mut out = BTreeMap::new();
    for d in decisions.iter().filter(|d| d.at <= t) {
        let Ok(legs) = &d.verdict else { continue };
        let table: Vec<(f64, Option<_>)> = legs
            .iter()
            .map(|l| {
                let outcome = facts(l.leg.match_id).map(|f| {
                    settle(l.leg.market, l.leg.selection, &l.listed, &f)
                        .unwrap_or(oddsflow_dataflows::settlement::Outcome::Void)
                });
                (l.price.0, outcome)
            })
            .collect();
        if let Some(payout) = settle_coupon(&table) {
            out.insert(
                d.request.id,
                Settled {
                    stake: d.request.stake,
                    payout: F64(payout),
                    outcomes: table.into_iter().map(|(_, o)| o).collect(),
                },
            );
        }
    }
    out
}

/// Scripted bets on every market of every match, prematch and in play, and coupons across
/// neighbouring matches — read off the feed itself.
fn script_for(items: &[Payload], sim: &[oddsflow::sim::MatchSummary]) -> Vec<ScriptedBet> {
    let mut prematch: BTreeMap<MatchId, BTreeSet<(MarketKind, Selection)>> = BTreeMap::new();
    let mut inplay: BTreeMap<MatchId, BTreeSet<(MarketKind, Selection)>> = BTreeMap::new();
    for item in items {
        if let Payload::Decoded(r) = item {
            if let Body::Market(mk) = &r.body {
                let target = match mk.phase {
                    Phase::Prematch => &mut prematch,
                    Phase::InPlay => &mut inplay,
                };
                let set = target.entry(r.match_id).or_default();
                set.extend(mk.selections.iter().map(|s| (mk.market, *s)));
            }
        }
    }
    let mut bets = Vec::new();
    for (i, m) in sim.iter().enumerate() {
        for (when, sels) in [
            (m.kickoff - 20 * 60_000, prematch.get(&m.match_id)),
            (m.kickoff + 30 * 60_000, inplay.get(&m.match_id)),
            (m.kickoff + 80 * 60_000, inplay.get(&m.match_id)),
        ] {
            for (mk, s) in sels.into_iter().flatten() {
                bets.push(ScriptedBet {
                    at: when as u64,
                    legs: vec![(m.match_id, *mk, *s)],
                    stake: 1.0,
                });
            }
        }
        if let Some(next) = sim.get(i + 1) {
            bets.push(ScriptedBet {
                at: (m.kickoff - 30 * 60_000).max(next.kickoff - 30 * 60_000) as u64,
                legs: vec![
                    (m.match_id, MarketKind::MatchOdds, Selection::Home),
                    (next.match_id, MarketKind::Btts, Selection::Yes),
                ],
                stake: 2.0,
            });
        }
    }
    bets.sort_by_key(|b| b.at);
    bets
}

#[test]
fn incremental_settlement_equals_a_from_scratch_settlement() {
    let sim = simulate(&SimConfig {
        matches: 10,
        seed: 44,
        noise: NoiseConfig {
            result_corrections: 0.5,
            abandoned: 0.15,
            var_overturns: 0.3,
            ..NoiseConfig::typical()
        },
        ..SimConfig::default()
    });
    let (corrected, abandoned) = (
        sim.matches.iter().filter(|m| m.corrected).count(),
        sim.matches.iter().filter(|m| m.abandoned).count(),
    );
    assert!(
        corrected >= 2 && abandoned >= 1,
        "{corrected} corrected, {abandoned} abandoned"
    );
    let mut cfg = scripted(script_for(&sim.items, &sim.matches));
    cfg.bookmaker.max_match_exposure = 1e9;
    cfg.bookmaker.max_exposure = 1e9;
    cfg.bookmaker.bankroll = 1e9;
    let o = common::run(&sim.items, &cfg, 2);
    let accepted: Vec<&Decision> = o
        .betting
        .decisions
        .iter()
        .filter(|d| d.verdict.is_ok())
        .collect();
    assert!(accepted.len() > 200, "{} accepted", accepted.len());
    assert!(o.summary.duplicates > 0, "the feed has duplicates");

    let times = common::assign_times(&sim.items, &cfg);
    let mut checkpoints: BTreeSet<u64> = o.betting.settlements.iter().map(|(_, t, _)| *t).collect();
    checkpoints.extend(o.betting.decisions.iter().map(|d| d.at));
    for (item, time) in sim.items.iter().zip(&times) {
        if let Payload::Decoded(r) = item {
            if matches!(r.body, Body::Result(_) | Body::Abandonment(_)) {
                checkpoints.insert(*time);
            }
        }
    }
    let matches: BTreeSet<MatchId> = sim.matches.iter().map(|m| m.match_id).collect();
    let mut previous: BTreeMap<BetId, Settled> = BTreeMap::new();
    let mut scratch_changes = Vec::new();
    for t in checkpoints {
        let facts: BTreeMap<MatchId, MatchFacts> = matches
            .iter()
            .filter_map(|m| facts_at(&sim.items, &times, &cfg, *m, t).map(|f| (*m, f)))
            .collect();
        let want = expected_settlements(&o.betting.decisions, &|m| facts.get(&m).cloned(), t);
        let got = common::accumulate(&o.betting.settlements, t);
        common::assert_maps_eq(&got, &want, &format!("settlements at {t}"));
        for (b, s) in &previous {
            if want.get(b) != Some(s) {
                scratch_changes.push(((*b, s.clone()), t, -1));
            }
        }
        for (b, s) in &want {
            if previous.get(b) != Some(s) {
                scratch_changes.push(((*b, s.clone()), t, 1));
            }
        }
        previous = want;
    }
    // Some bets were re-settled by corrections, and none counts twice.
    let retracted = o.betting.settlements.iter().filter(|c| c.2 < 0).count();
    assert!(retracted > 0, "corrections re-settle bets");
    scratch_changes.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(o.betting.settlements, scratch_changes, "the change history");
    let scratch = BettingOutputs {
        settlements: scratch_changes,
        ..o.betting.clone()
    };
    assert_eq!(
        ledger(&o.betting, 1e9),
        ledger(&scratch, 1e9),
        "the ledger from scratch"
    );
}

/// The learner's coupons (2–4 legs from its probability head) are settled like any coupon: on a
/// noisy feed with result corrections and abandonments, every `drqn` bet's final settlement equals
/// a from-scratch settlement from the final results; and the learner never bets into a closed
/// market.
#[test]
fn the_learners_coupons_settle_like_any_coupon() {
    use oddsflow::learner::config::{CouponConfig, DrqnPolicyConfig};
    let sim = simulate(&SimConfig {
        matches: 12,
        seed: 45,
        noise: NoiseConfig {
            result_corrections: 0.5,
            abandoned: 0.15,
            ..NoiseConfig::typical()
        },
        ..SimConfig::default()
    });
    let cfg = RunConfig {
        progress: false,
        // Coupons at every chance: any leg is good enough. From the shipped (trained) checkpoint:
        // an untrained learner's probability head says what the book says, so no coupon of its
        // would have a positive Kelly stake.
        policies: vec![PolicySpec::Drqn(DrqnPolicyConfig {
            seed: 3,
            checkpoint_in: Some(
                oddsflow::assets::shipped_checkpoint().expect("shipped checkpoint"),
            ),
            coupons: CouponConfig {
                min_edge: -1.0,
                max_price: 1_000.0,
                ..CouponConfig::default()
            },
            ..DrqnPolicyConfig::default()
        })],
        ..RunConfig::default()
    };
    let o = common::run(&sim.items, &cfg, 2);
    let coupons = o
        .betting
        .decisions
        .iter()
        .filter(|d| d.request.legs.len() >= 2 && d.verdict.is_ok())
        .count();
    assert!(coupons >= 3, "{coupons} coupons accepted");
    assert!(
        o.betting
            .decisions
            .iter()
            .all(|d| d.verdict != Err(BetRejection::Closed)),
        "a bet into a closed market"
    );
    let times = common::assign_times(&sim.items, &cfg);
    let end = *times
        .iter()
        .filter(|t| **t != u64::MAX)
        .max()
        .expect("a feed");
    let facts: BTreeMap<MatchId, MatchFacts> = sim
        .matches
        .iter()
        .filter_map(|m| {
            facts_at(&sim.items, &times, &cfg, m.match_id, end).map(|f| (m.match_id, f))
        })
        .collect();
    let want = expected_settlements(&o.betting.decisions, &|m| facts.get(&m).cloned(), end);
    let got = common::accumulate(&o.betting.settlements, end);
    assert!(
        got.keys()
            .filter(|b| o
                .betting
                .decisions
                .iter()
                .any(|d| d.request.id == **b && d.request.legs.len() >= 2))
            .count()
            >= 1,
        "a coupon settled"
    );
    common::assert_maps_eq(&got, &want, "the learner's settlements");
}

/// A match that never produces a result (a provider's marks without a usable score): its bet is
/// voided as `no_result` at the settlement deadline (kick-off + 7 days), the stake back to the
/// policy's cash; a result that still comes later re-settles it, like a correction.
#[test]
fn a_bet_on_a_match_without_a_result_is_voided_at_the_deadline() {
    let deadline = KICKOFF + 7 * 86_400_000;
    let mut f = vec![
        feedkit::fixture(A, KICKOFF - 86_400_000, KICKOFF, 1, 2),
        market(
            A,
            KICKOFF - 3 * 3_600_000,
            1,
            MarketStatus::Open,
            Phase::Prematch,
        ),
    ];
    f.extend(prices(A, KICKOFF - 3 * 3_600_000, 1, [2.10, 3.40, 3.60]));
    f.push(market(A, KICKOFF, 2, MarketStatus::Closed, Phase::Prematch));
    f.push(status(A, KICKOFF, 1, MatchStatus::FirstHalf, 0));
    // Other matches move the clock on for days; A's result comes only on day 9.
    for day in 1..=10 {
        let m = 1_000 + day;
        let at = KICKOFF + day as i64 * 86_400_000;
        f.push(feedkit::fixture(
            m,
            at,
            at + 3_600_000,
            10 + day as u32,
            30 + day as u32,
        ));
    }
    f.push(result(A, KICKOFF + 9 * 86_400_000, 1, 2, 0));
    f.sort_by_key(|p| match p {
        Payload::Decoded(r) => r.ts,
        Payload::Line(_) => 0,
    });
    let cfg = scripted(vec![bet(
        KICKOFF - 3 * 3_600_000,
        &[(A, Selection::Home)],
        10.0,
    )]);
    let o = common::run(&f, &cfg, 1);
    assert!(decision(&o, 0).verdict.is_ok(), "the bet is taken");
    let history = settlement_history(&o, 0);
    let t = |ms: i64| ms as u64;
    assert_eq!(
        history,
        vec![
            (t(deadline), 1, 1.0),
            (t(KICKOFF + 9 * 86_400_000), -1, 1.0),
            (t(KICKOFF + 9 * 86_400_000), 1, 2.10),
        ],
        "void at the deadline, re-settled by the late result"
    );
    let voided = o
        .betting
        .settlements
        .iter()
        .find(|(_, time, d)| *time == t(deadline) && *d > 0)
        .expect("the void");
    assert_eq!(
        voided.0.1.outcomes,
        vec![Some(oddsflow_dataflows::settlement::Outcome::NoResult)],
        "voided with its reason"
    );
}
