//! The baselines in two simulated worlds, reported with bootstrap intervals over match-days.
//!
//! * **Planted world** (after a goal the bookmaker reopens its markets priced as if the goal had
//!   not been scored, for 30 s): the oracle policy, betting the
//!   simulator's true probabilities, earns a positive ROI with its interval above zero; the random
//!   policy's ROI agrees with minus the margin it paid — the expected ROI of its own bets under
//!   the true probabilities, which is negative and of the order of the overround.
//! * **Null world** (no inefficiency): no policy but the oracle earns a ROI whose interval lies
//!   above zero.
//!
//! The calendar is spread to 12 kick-offs a day so that there are enough match-days to resample.

mod common;

use std::sync::Arc;

use oddsflow::betting::reports::PolicyReport;
use oddsflow::policy::{PolicySpec, Truth};
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::Outputs;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::memory_feed;
use oddsflow::sim::{Inefficiency, NoiseConfig, SimConfig, SimOutput, simulate};

const MATCHES: usize = 150;

fn world(seed: u64, inefficiency: Option<Inefficiency>) -> SimOutput {
    simulate(
        &SimConfig {
            matches: MATCHES,
            seed,
            noise: NoiseConfig::typical(),
            inefficiency,
            ..SimConfig::default()
        }
        .with_matches_per_day(12),
    )
}

fn run_baselines(sim: &SimOutput) -> (Outputs, Arc<Truth>) {
    let truth = Arc::new(Truth::from_rows(&sim.truth));
    let cfg = RunConfig {
        progress: false,
        keep_outputs: false,
        policies: PolicySpec::baselines(7, true),
        seed: 7,
        ..RunConfig::default()
    };
    let (outputs, _) = replay(
        memory_feed(sim.items.clone()),
        &cfg,
        Some(truth.clone()),
        timely::Config::thread(),
    )
    .expect("replay runs")
    .expect("worker 0 is here");
    (outputs, truth)
}

fn report<'a>(o: &'a Outputs, name: &str) -> &'a PolicyReport {
    o.reports
        .iter()
        .find(|r| r.policy == name)
        .unwrap_or_else(|| panic!("a report for {name}"))
}

fn show(o: &Outputs) -> String {
    oddsflow::betting::reports::format_table(&o.reports)
}

/// The expected ROI of a policy's settled bets under the true probabilities at decision time
/// (a coupon's legs are independent matches: the product).
fn expected_roi(o: &Outputs, truth: &Truth, policy: u16) -> f64 {
    let (mut staked, mut expected_return) = (0.0, 0.0);
    let settled: std::collections::BTreeSet<_> =
        common::accumulate(&o.betting.settlements, u64::MAX)
            .into_keys()
            .collect();
    for d in &o.betting.decisions {
        let Ok(legs) = &d.verdict else { continue };
        if d.request.id.policy != policy || !settled.contains(&d.request.id) {
            continue;
        }
        let before = (d.request.decided_at + 1_000) as i64;
        let mut p = 1.0;
        let mut price = 1.0;
        for l in legs {
            p *= truth
                .prob(l.leg.match_id, l.leg.market, l.leg.selection, before)
                .expect("the truth of a quoted selection");
            price *= l.price.0;
        }
        staked += d.request.stake.0;
        expected_return += d.request.stake.0 * p * price;
    }
    expected_return / staked - 1.0
}

#[test]
fn planted_world_the_oracle_profits_and_random_pays_the_margin() {
    let sim = world(11, Some(Inefficiency::LagsAfterGoals { seconds: 30 }));
    let (o, truth) = run_baselines(&sim);
    let table = show(&o);
    eprintln!("planted world, {MATCHES} matches:\n{table}");

    let random = report(&o, "random");
    let (rlo, rhi) = random.roi_interval.expect("an interval");
    let expected = expected_roi(&o, &truth, 1);
    eprintln!("random: expected ROI under the truth {expected:+.4}");

    let oracle = report(&o, "oracle");
    let (lo, _) = oracle.roi_interval.expect("an interval");
    assert!(oracle.metrics.bets > 100, "{table}");
    assert!(oracle.metrics.roi > 0.0 && lo > 0.0, "{table}");

    assert!(random.metrics.bets > 100, "{table}");
    assert!(
        (-0.30..-0.02).contains(&expected),
        "the margin paid by random bets: {expected}"
    );
    assert!(
        rlo <= expected && expected <= rhi,
        "random's ROI interval [{rlo}, {rhi}] holds minus its margin {expected}\n{table}"
    );
    // Nobody is over-counted: every accepted bet is settled once (the feed has no open matches).
    for r in &o.reports {
        assert_eq!(r.open, 0, "{}", r.policy);
        assert_eq!(r.metrics.bets as u64, r.accepted, "{}", r.policy);
    }
}

#[test]
fn null_world_only_the_oracle_may_profit() {
    let sim = world(12, None);
    let (o, _) = run_baselines(&sim);
    let table = show(&o);
    eprintln!("null world, {MATCHES} matches:\n{table}");
    for r in o.reports.iter().filter(|r| r.policy != "oracle") {
        if let Some((lo, _)) = r.roi_interval {
            assert!(
                lo <= 0.0,
                "{} claims a profit outside its interval\n{table}",
                r.policy
            );
        }
    }
    assert!(report(&o, "random").metrics.bets > 100, "{table}");
    assert!(report(&o, "favourite").metrics.bets > 100, "{table}");
}
