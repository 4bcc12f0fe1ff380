//! End-to-end tests of ingest + aggregates through the replay runtime.
//!
//! - oracle: on random seeded simulated feeds with noise, and on permuted copies with extra
//!   duplicates and stale versions, the incremental outputs accumulated at many times `t` equal a
//!   from-scratch computation over the records with (assigned) time ≤ `t`, on 1 and 2 workers;
//! - the final state does not depend on the permutation, duplicates or stale re-sends;
//! - bad input is dead-lettered with reasons and counted once.

mod common;

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use common::*;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::Outputs;
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::reject::RejectReason;
use oddsflow_dataflows::wire::to_json_line;

fn quiet() -> RunConfig {
    RunConfig {
        progress: false,
        ..RunConfig::default()
    }
}

use common::noisy_feed as feed;

/// The same records, perturbed: extra duplicates, stale re-sends of earlier versions, and a
/// bounded local shuffle (some records may become late; none is lost).
fn perturb(items: &[Payload], seed: u64) -> Vec<Payload> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<Payload> = Vec::with_capacity(items.len() * 11 / 10);
    for (i, item) in items.iter().enumerate() {
        out.push(item.clone());
        if rng.random_bool(0.05) {
            out.push(item.clone());
        }
        // A stale re-send: some earlier record again, later in the feed.
        if i > 50 && rng.random_bool(0.03) {
            let earlier = items[i - rng.random_range(1..50)].clone();
            out.push(earlier);
        }
    }
    for chunk in out.chunks_mut(16) {
        chunk.shuffle(&mut rng);
    }
    out
}

/// Times at which to compare: spread over the feed, plus the last.
fn sample_times(times: &[u64], n: usize) -> Vec<u64> {
    let distinct: BTreeSet<u64> = times.iter().copied().collect();
    let distinct: Vec<u64> = distinct.into_iter().collect();
    let step = (distinct.len() / n).max(1);
    let mut out: Vec<u64> = distinct.iter().step_by(step).copied().collect();
    out.extend(distinct.last());
    out
}

fn check_oracle(items: &[Payload], cfg: &RunConfig, workers: usize, label: &str) -> Outputs {
    let outputs = run(items, cfg, workers);
    let times = assign_times(items, cfg);
    for t in sample_times(&times, 40) {
        let want = expected_at(items, &times, t, cfg);
        assert_same(
            &incremental_at(&outputs, t),
            &want,
            &format!("{label}, {workers} worker(s), at t={t}"),
        );
    }
    outputs
}

#[test]
fn aggregates_equal_from_scratch_at_many_times_on_noisy_feeds() {
    let cfg = quiet();
    for seed in [11, 12] {
        let items = feed(seed, 10);
        let one = check_oracle(&items, &cfg, 1, &format!("seed {seed}"));
        let two = check_oracle(&items, &cfg, 2, &format!("seed {seed}"));
        assert_eq!(one, two, "seed {seed}: 1 and 2 workers differ");
        let s = &one.summary;
        assert!(
            s.duplicates > 0 && s.stale > 0 && s.rejected > 0,
            "the noisy feed exercises the noise: {s:?}"
        );
        assert_eq!(s.records_in, s.records_ok + s.rejected);
    }
}

#[test]
fn permutations_duplicates_and_stale_versions_change_nothing_in_the_end() {
    let cfg = quiet();
    let items = feed(21, 8);
    let base = run(&items, &cfg, 1);
    let end = u64::MAX;
    for p in 0..2 {
        let perturbed = perturb(&items, 100 + p);
        let outputs = check_oracle(&perturbed, &cfg, 2, &format!("permutation {p}"));
        assert_same(
            &incremental_at(&outputs, end),
            &incremental_at(&base, end),
            &format!("final state, permutation {p}"),
        );
        assert!(outputs.summary.duplicates > base.summary.duplicates);
        assert_eq!(
            outputs.summary.records_in,
            outputs.summary.records_ok + outputs.summary.rejected
        );
    }
}

/// A result correction and a VAR overturn of one match, at `at`, inserted where the feed reaches
/// that time (so they are not late).
fn with_corrections(items: &[Payload], m: MatchId, at: i64) -> (Vec<Payload>, Side) {
    let decoded = items.iter().filter_map(|i| match i {
        Payload::Decoded(r) if r.match_id == m => Some(r.clone()),
        _ => None,
    });
    let mut result = None;
    let mut goal = None;
    for r in decoded {
        match &r.body {
            Body::Result(_) if result.is_none() => result = Some(r),
            Body::Incident(Incident {
                detail: IncidentDetail::Goal { .. },
                cancelled: false,
                ..
            }) if goal.is_none() => goal = Some(r),
            _ => {}
        }
    }
    let (mut corrected, mut overturned) = (result.expect("a result"), goal.expect("a goal"));
    if let Body::Result(r) = &mut corrected.body {
        r.version += 10;
        r.full_time.home += 3;
    }
    let Body::Incident(i) = &mut overturned.body else {
        unreachable!()
    };
    i.version += 10;
    i.cancelled = true;
    let side = i.side;
    (corrected.ts, overturned.ts) = (at, at);
    let pos = items
        .iter()
        .position(|i| matches!(i, Payload::Decoded(r) if r.ts > at))
        .unwrap_or(items.len());
    let mut out = items.to_vec();
    out.insert(pos, Payload::Line(to_json_line(&corrected)));
    out.insert(pos, Payload::Decoded(overturned));
    (out, side)
}

/// The first match with a result and a goal, and its result's time.
fn finished_with_goal(items: &[Payload]) -> (MatchId, i64) {
    let mut goals = BTreeSet::new();
    for i in items {
        if let Payload::Decoded(r) = i {
            match &r.body {
                Body::Incident(Incident {
                    detail: IncidentDetail::Goal { .. },
                    ..
                }) => drop(goals.insert(r.match_id)),
                Body::Result(_) if goals.contains(&r.match_id) => return (r.match_id, r.ts),
                _ => {}
            }
        }
    }
    panic!("no finished match with a goal")
}

#[test]
fn a_corrected_result_and_an_overturned_goal_are_retracted_downstream() {
    let cfg = quiet();
    let items = feed(31, 6);
    let before = run(&items, &cfg, 1);
    let (m, result_ts) = finished_with_goal(&items);
    // Ten minutes after the result: within the grace period, the match is not retired yet.
    let at = result_ts + 600_000;
    let (more, side) = with_corrections(&items, m, at);
    let after = check_oracle(&more, &cfg, 2, "with correction and overturn");
    let t = at as u64;
    let (b, a) = (incremental_at(&before, t), incremental_at(&after, t));
    assert_eq!(
        a.team_match[&(m, side)].goals + 1,
        b.team_match[&(m, side)].goals,
        "the overturned goal is retracted"
    );
    assert_ne!(
        a.league_averages, b.league_averages,
        "the corrected result re-derives league averages"
    );
    assert_eq!(after.summary.retired, before.summary.retired);
}

#[test]
fn after_retirement_a_result_correction_still_counts_and_an_incident_correction_is_retired() {
    let cfg = quiet();
    let items = feed(32, 6);
    let before = run(&items, &cfg, 1);
    let (m, result_ts) = finished_with_goal(&items);
    let at = result_ts + cfg.pipeline.retire_after_ms as i64 + 600_000;
    let (more, _) = with_corrections(&items, m, at);
    let after = check_oracle(&more, &cfg, 2, "corrections after retirement");
    let (b, a) = (
        incremental_at(&before, u64::MAX),
        incremental_at(&after, u64::MAX),
    );
    assert!(
        a.team_match.keys().all(|(mm, _)| *mm != m),
        "a retired match has no per-match rows"
    );
    assert_ne!(
        a.league_averages, b.league_averages,
        "the result is cross-match archive: its correction applies"
    );
    assert_eq!(
        after.summary.retired,
        before.summary.retired + 1,
        "the overturn arrived after retirement"
    );
    assert_eq!(
        a.player_totals, b.player_totals,
        "player totals keep the retired match's final rows"
    );
}

#[test]
fn bad_input_is_dead_lettered_with_reasons_and_counted_once() {
    let cfg = quiet();
    let mut items = feed(41, 3);
    let fixture = items
        .iter()
        .find_map(|i| match i {
            Payload::Decoded(r) if matches!(r.body, Body::Fixture(_)) => Some(r.clone()),
            _ => None,
        })
        .expect("a fixture");
    let ts = fixture.ts + 3_600_000;
    let odds = |price: f64, m: MatchId| {
        to_json_line(&Record {
            ts,
            match_id: m,
            body: Body::Odds(Odds {
                version: 99,
                market: MarketKind::MatchOdds,
                selection: Selection::Home,
                price: F64(price),
                modelled: false,
            }),
        })
    };
    let status = |clock_s: i32| {
        to_json_line(&Record {
            ts,
            match_id: fixture.match_id,
            body: Body::Status(Status {
                version: 99,
                status: MatchStatus::FirstHalf,
                clock_s,
            }),
        })
    };
    let bad = vec![
        (
            r#"{"ts":1,"match":2,"kind":"odds","#.to_string(),
            RejectReason::Malformed,
        ),
        ("this is not json".to_string(), RejectReason::Malformed),
        (
            format!(
                r#"{{"ts":{ts},"match":{},"kind":"weather","version":1}}"#,
                fixture.match_id
            ),
            RejectReason::UnknownKind,
        ),
        (odds(f64::NAN, fixture.match_id), RejectReason::InvalidPrice),
        (odds(1.0, fixture.match_id), RejectReason::InvalidPrice),
        (odds(0.5, fixture.match_id), RejectReason::InvalidPrice),
        (odds(2.0, 987_654_321), RejectReason::UnknownMatch),
        (status(-60), RejectReason::NegativeClock),
    ];
    // Spread the bad lines through the feed.
    let n = items.len();
    for (k, (line, _)) in bad.iter().enumerate() {
        items.insert(n / 2 + k * 7, Payload::Line(line.clone()));
    }
    // And a duplicate and a stale record.
    let dup = items[n / 3].clone();
    items.push(dup);
    let outputs = run(&items, &cfg, 2);
    let s = &outputs.summary;
    assert_eq!(s.records_in, items.len() as u64);
    assert_eq!(s.records_in, s.records_ok + s.rejected, "{s:?}");
    for (line, reason) in &bad {
        let found: Vec<_> = outputs
            .dead_letters
            .iter()
            .filter(|d| &d.record == line)
            .collect();
        assert_eq!(found.len(), 1, "{line} is dead-lettered exactly once");
        assert_eq!(found[0].reason, *reason, "{line}: {}", found[0].detail);
        assert!(!found[0].detail.is_empty());
    }
    assert!(s.duplicates >= 1);
    assert_eq!(s.rejected, outputs.dead_letters.len() as u64);
    assert_eq!(s.rejected_by_reason.values().sum::<u64>(), s.rejected);
}

#[test]
fn a_record_behind_the_frontier_is_applied_late_not_lost() {
    let cfg = quiet();
    let items = simulate(&SimConfig {
        matches: 4,
        seed: 51,
        noise: NoiseConfig::none(),
        ..SimConfig::default()
    })
    .items;
    let base = run(&items, &cfg, 1);
    assert_eq!(base.summary.late, 0);
    // Move the first goal ten minutes of feed later: it is then far behind the frontier.
    let goal_at = items
        .iter()
        .position(|i| {
            matches!(
                i,
                Payload::Decoded(Record {
                    body: Body::Incident(Incident {
                        detail: IncidentDetail::Goal { .. },
                        ..
                    }),
                    ..
                })
            )
        })
        .expect("a goal");
    let Payload::Decoded(goal) = &items[goal_at] else {
        unreachable!()
    };
    let target = items
        .iter()
        .position(|i| matches!(i, Payload::Decoded(r) if r.ts > goal.ts + 600_000))
        .expect("ten minutes later");
    let mut moved = items.clone();
    let g = moved.remove(goal_at);
    moved.insert(target, g);
    let outputs = check_oracle(&moved, &cfg, 2, "late goal");
    assert_eq!(outputs.summary.late, 1);
    assert_eq!(
        outputs.summary.records_ok, base.summary.records_ok,
        "the late record is applied, not lost"
    );
    assert_same(
        &incremental_at(&outputs, u64::MAX),
        &incremental_at(&base, u64::MAX),
        "final state with a late goal",
    );
    // While it is late, the goal is missing; from the time it is applied on, it counts.
    let Body::Incident(inc) = &goal.body else {
        unreachable!()
    };
    let key = (goal.match_id, inc.side);
    let at_goal = goal.ts as u64 / 1000 * 1000;
    assert!(
        incremental_at(&outputs, at_goal).team_match[&key].goals
            < incremental_at(&base, at_goal).team_match[&key].goals
    );
}
