use std::collections::{BTreeMap, BTreeSet};

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::reject::{RejectReason, ValidationConfig, validate};
use oddsflow_dataflows::wire::{parse_json_line, to_json_line};

use super::*;

fn cfg(matches: usize, noise: NoiseConfig) -> SimConfig {
    SimConfig {
        matches,
        seed: 7,
        noise,
        ..SimConfig::default()
    }
}

fn kind_name(k: &MarketKind) -> String {
    format!("{k:?}")
        .split([' ', '{'])
        .next()
        .unwrap_or("")
        .to_string()
}

fn lines(out: &SimOutput) -> Vec<String> {
    out.items
        .iter()
        .map(|p| match p {
            Payload::Decoded(r) => to_json_line(r),
            Payload::Line(l) => l.clone(),
        })
        .collect()
}

/// Heavy noise of every kind.
fn noisy() -> NoiseConfig {
    NoiseConfig {
        duplicates: 0.05,
        reorder_ms: 10_000,
        reordered: 0.05,
        stale: 0.05,
        result_corrections: 0.3,
        var_overturns: 0.3,
        malformed: 0.01,
        abandoned: 0.2,
    }
}

#[test]
fn same_seed_same_feed_other_seed_other_feed() {
    let c = cfg(6, NoiseConfig::typical());
    let a = simulate(&c);
    let b = simulate(&c);
    assert!(!a.items.is_empty());
    assert_eq!(lines(&a), lines(&b));
    assert_eq!(a.truth, b.truth);
    assert_eq!(a.matches, b.matches);
    let other = simulate(&SimConfig {
        seed: 8,
        ..c.clone()
    });
    assert_ne!(lines(&a), lines(&other));
}

#[test]
fn a_match_does_not_depend_on_how_many_follow() {
    // Match k's content comes from its own sub-seed; only the schedule of later matches differs.
    let few = simulate(&cfg(3, NoiseConfig::typical()));
    let more = simulate(&cfg(9, NoiseConfig::typical()));
    for m in &few.matches {
        let of = |o: &SimOutput| -> Vec<String> {
            o.records()
                .filter(|r| r.match_id == m.match_id)
                .map(to_json_line)
                .collect()
        };
        assert_eq!(of(&few), of(&more), "match {}", m.match_id);
    }
}

#[test]
fn every_decoded_record_validates() {
    for noise in [NoiseConfig::typical(), noisy()] {
        let out = simulate(&cfg(8, noise));
        for r in out.records() {
            if let Err(e) = validate(r, &ValidationConfig::default()) {
                panic!("{e}: {}", to_json_line(r));
            }
        }
    }
}

#[test]
fn versions_increase_per_key_and_time_never_goes_back_without_noise() {
    let out = simulate(&cfg(20, NoiseConfig::none()));
    let mut last: BTreeMap<RecordKey, Version> = BTreeMap::new();
    let mut fixtures: BTreeMap<MatchId, EventTime> = BTreeMap::new();
    let mut prev_ts = i64::MIN;
    for r in out.records() {
        assert!(r.ts >= prev_ts, "file order is event time order");
        prev_ts = r.ts;
        if let Body::Fixture(_) = r.body {
            fixtures.insert(r.match_id, r.ts);
        }
        assert!(
            fixtures.get(&r.match_id).is_some_and(|f| *f <= r.ts),
            "record before its fixture"
        );
        let v = last.entry(r.key()).or_insert(0);
        assert!(
            r.version() > *v,
            "version did not increase: {}",
            to_json_line(r)
        );
        *v = r.version();
    }
    assert!(out.items.iter().all(|p| matches!(p, Payload::Decoded(_))));
}

#[test]
fn truth_rows_are_distributions() {
    let out = simulate(&cfg(6, NoiseConfig::typical()));
    assert!(!out.truth.is_empty());
    let mut sums: BTreeMap<(i64, MatchId, MarketKind), f64> = BTreeMap::new();
    for t in &out.truth {
        assert!((0.0..=1.0 + 1e-9).contains(&t.prob), "{t:?}");
        *sums.entry((t.ts, t.match_id, t.market)).or_default() += t.prob;
    }
    let mut kinds = BTreeSet::new();
    for ((_, _, market), s) in sums {
        let want = if market == MarketKind::DoubleChance {
            2.0
        } else {
            1.0
        };
        assert!((s - want).abs() < 1e-6, "{market:?} sums to {s}");
        kinds.insert(kind_name(&market));
    }
    assert_eq!(kinds.len(), 8, "every market kind has truth rows");
    let ts: Vec<i64> = out.truth.iter().map(|t| t.ts).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
}

/// The newest version of every key of one match.
fn latest(out: &SimOutput, match_id: MatchId) -> BTreeMap<StateKey, Record> {
    let mut m: BTreeMap<StateKey, Record> = BTreeMap::new();
    for r in out.records().filter(|r| r.match_id == match_id) {
        let k = r.body.state_key();
        if m.get(&k).is_none_or(|o| o.version() < r.version()) {
            m.insert(k, r.clone());
        }
    }
    m
}

#[test]
fn goals_in_incidents_add_up_to_the_result() {
    let out = simulate(&cfg(40, noisy()));
    let (mut checked, mut corrected, mut abandoned, mut overturned) = (0, 0, 0, 0);
    for s in &out.matches {
        let state = latest(&out, s.match_id);
        let mut goals = [0u8; 2];
        for r in state.values() {
            if let Body::Incident(i) = &r.body
                && matches!(i.detail, IncidentDetail::Goal { .. })
                && !i.cancelled
            {
                goals[if i.side == Side::Home { 0 } else { 1 }] += 1;
            }
        }
        assert_eq!(
            Score {
                home: goals[0],
                away: goals[1]
            },
            s.score,
            "match {}",
            s.match_id
        );
        let result = state.get(&StateKey::Result).and_then(|r| match r.body {
            Body::Result(x) => Some(x),
            _ => None,
        });
        assert_eq!(result, s.result);
        if s.abandoned {
            abandoned += 1;
            assert!(result.is_none());
            assert!(state.contains_key(&StateKey::Abandonment));
            assert!(
                state.values().all(
                    |r| !matches!(&r.body, Body::Market(m) if m.status != MarketStatus::Closed)
                )
            );
        } else if s.corrected {
            corrected += 1;
            let r = result.expect("a result");
            assert_eq!(r.version, 2);
            assert_ne!(r.full_time, s.score);
        } else {
            checked += 1;
            let r = result.expect("a result");
            assert_eq!(r.version, 1);
            assert_eq!(r.full_time, s.score, "match {}", s.match_id);
        }
        overturned += s.overturned_goals;
    }
    assert!(
        checked > 10 && corrected > 0 && abandoned > 0 && overturned > 0,
        "{checked} {corrected} {abandoned} {overturned}"
    );
}

#[test]
fn prices_carry_the_margin() {
    let out = simulate(&cfg(10, NoiseConfig::none()));
    // Match-odds prices per (match, ts), after all of that instant's updates.
    let mut current: BTreeMap<MatchId, [Option<f64>; 3]> = BTreeMap::new();
    let mut snapshots: BTreeMap<(MatchId, i64), [Option<f64>; 3]> = BTreeMap::new();
    for r in out.records() {
        let Body::Odds(o) = &r.body else { continue };
        let p = o.price.0;
        assert!((1.02..=1000.0).contains(&p), "{p}");
        assert!(
            (p * 100.0 - (p * 100.0).round()).abs() < 1e-6,
            "two decimals: {p}"
        );
        if o.market != MarketKind::MatchOdds {
            continue;
        }
        let e = current.entry(r.match_id).or_default();
        e[sel_index(o.selection)] = Some(p);
        snapshots.insert((r.match_id, r.ts), *e);
    }
    let (mut n, mut total) = (0usize, 0.0);
    for snap in snapshots.values() {
        if let [Some(h), Some(d), Some(a)] = *snap
            && h.max(d).max(a) <= 15.0
        {
            let s = 1.0 / h + 1.0 / d + 1.0 / a;
            assert!((1.0..=1.10).contains(&s), "overround {s} at {h} {d} {a}");
            n += 1;
            total += s;
        }
    }
    let mean = total / n as f64;
    assert!(n > 100 && (1.04..=1.08).contains(&mean), "{n} {mean}");
}

fn sel_index(s: Selection) -> usize {
    match s {
        Selection::Home => 0,
        Selection::Draw => 1,
        _ => 2,
    }
}

#[test]
fn many_matches_overlap() {
    let out = simulate(&cfg(200, NoiseConfig::none()));
    let mut edges = Vec::new();
    for r in out.records() {
        if let Body::Status(s) = &r.body {
            match s.status {
                MatchStatus::FirstHalf if s.clock_s == 0 => edges.push((r.ts, 1i32)),
                MatchStatus::Finished | MatchStatus::Abandoned => edges.push((r.ts, -1)),
                _ => {}
            }
        }
    }
    edges.sort();
    let (mut live, mut peak) = (0, 0);
    for (_, d) in edges {
        live += d;
        peak = peak.max(live);
    }
    assert!(peak >= 30, "only {peak} matches live at once");
}

#[test]
fn the_calendar_spreads_a_thousand_matches_over_days() {
    let c = SimConfig {
        matches: 1000,
        ..SimConfig::default()
    };
    let w = world::World::build(&c.sanitized());
    assert_eq!(w.matches.len(), 1000);
    let first = w.matches.iter().map(|m| m.kickoff).min().unwrap_or(0);
    let last = w.matches.iter().map(|m| m.kickoff).max().unwrap_or(0);
    assert_eq!(first, DEFAULT_START_MS);
    assert!(
        last - first >= 3 * DAY_MS,
        "span {} h",
        (last - first) / HOUR_MS
    );
    // Concurrency from kick-off + ~112 min.
    let mut edges: Vec<(i64, i32)> = w
        .matches
        .iter()
        .flat_map(|m| [(m.kickoff, 1), (m.kickoff + 112 * MIN_MS, -1)])
        .collect();
    edges.sort();
    let mut live = 0;
    let mut peak = 0;
    for (_, d) in edges {
        live += d;
        peak = peak.max(live);
    }
    assert!(peak >= 30, "peak {peak}");
    // Teams rest between kick-offs, meet again, and ids are unique.
    let mut by_team: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    let mut pairs: BTreeMap<(usize, usize), u32> = BTreeMap::new();
    for m in &w.matches {
        by_team.entry(m.home).or_default().push(m.kickoff);
        by_team.entry(m.away).or_default().push(m.kickoff);
        *pairs
            .entry((m.home.min(m.away), m.home.max(m.away)))
            .or_default() += 1;
        assert_ne!(w.teams[m.home].id, w.teams[m.away].id);
    }
    for kos in by_team.values() {
        assert!(
            kos.windows(2)
                .all(|k| k[1] - k[0] >= c.min_rest_minutes * MIN_MS)
        );
    }
    assert!(
        by_team.values().all(|k| k.len() >= 10),
        "every team plays often"
    );
    let ids: BTreeSet<_> = w.teams.iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), w.teams.len());
    let players: BTreeSet<_> = w
        .teams
        .iter()
        .flat_map(|t| t.squad.iter().map(|p| p.id))
        .collect();
    assert_eq!(players.len(), w.teams.len() * 24);
    let names: BTreeSet<_> = w.teams.iter().map(|t| t.name.clone()).collect();
    assert_eq!(names.len(), w.teams.len());
}

#[test]
fn a_clean_feed_has_no_noise() {
    let out = simulate(&cfg(10, NoiseConfig::none()));
    let l = lines(&out);
    let unique: BTreeSet<&String> = l.iter().collect();
    assert_eq!(unique.len(), l.len(), "no duplicates");
    for r in out.records() {
        match &r.body {
            Body::Incident(i) => {
                assert!(!i.cancelled);
                assert!(!matches!(i.detail, IncidentDetail::Var { .. }));
            }
            Body::Abandonment(_) => panic!("abandoned"),
            Body::Result(x) => assert_eq!(x.version, 1),
            _ => {}
        }
    }
    assert!(
        out.matches
            .iter()
            .all(|m| !m.abandoned && !m.corrected && m.overturned_goals == 0)
    );
}

/// What a feed shows of each kind of noise.
#[derive(Debug, Default)]
struct Seen {
    lines: usize,
    duplicates: usize,
    stale: usize,
    displaced: usize,
    max_displacement: i64,
    corrections: usize,
    overturns: usize,
    abandoned: usize,
    garbage: BTreeSet<&'static str>,
}

fn seen(out: &SimOutput) -> Seen {
    let mut s = Seen::default();
    let known: BTreeSet<MatchId> = out.matches.iter().map(|m| m.match_id).collect();
    let mut copies: BTreeSet<String> = BTreeSet::new();
    let mut newest: BTreeMap<RecordKey, Version> = BTreeMap::new();
    let mut max_ts = i64::MIN;
    for p in &out.items {
        let r = match p {
            Payload::Line(l) => {
                s.lines += 1;
                let what = match parse_json_line(l) {
                    Err(e) if e.reason == RejectReason::UnknownKind => "unknown_kind",
                    Err(_) if l.starts_with('{') => "truncated",
                    Err(_) => "not_json",
                    Ok(r) if !known.contains(&r.match_id) => "unknown_match",
                    Ok(r) => match validate(&r, &ValidationConfig::default()) {
                        Err(e) if e.reason == RejectReason::NegativeClock => "negative_clock",
                        Err(e) if e.reason == RejectReason::InvalidPrice => {
                            if e.detail.contains("NaN") {
                                "nan_price"
                            } else {
                                "low_price"
                            }
                        }
                        _ => "valid?!",
                    },
                };
                s.garbage.insert(what);
                continue;
            }
            Payload::Decoded(r) => r,
        };
        if !copies.insert(to_json_line(r)) {
            s.duplicates += 1;
        }
        let v = newest.entry(r.key()).or_insert(0);
        if r.version() < *v {
            s.stale += 1;
        }
        *v = (*v).max(r.version());
        if r.ts < max_ts {
            s.displaced += 1;
            s.max_displacement = s.max_displacement.max(max_ts - r.ts);
        }
        max_ts = max_ts.max(r.ts);
        match &r.body {
            Body::Result(x) if x.version == 2 => s.corrections += 1,
            Body::Incident(i)
                if matches!(
                    i.detail,
                    IncidentDetail::Var {
                        decision: VarDecision::GoalOverturned,
                        ..
                    }
                ) =>
            {
                s.overturns += 1
            }
            Body::Abandonment(_) => s.abandoned += 1,
            _ => {}
        }
    }
    s
}

#[test]
fn each_noise_option_does_what_it_says_and_nothing_else() {
    let none = seen(&simulate(&cfg(6, NoiseConfig::none())));
    assert_eq!(
        (
            none.lines,
            none.duplicates,
            none.stale,
            none.displaced,
            none.corrections,
            none.overturns,
            none.abandoned
        ),
        (0, 0, 0, 0, 0, 0, 0)
    );
    let only = |f: fn(&mut NoiseConfig)| {
        let mut n = NoiseConfig::none();
        f(&mut n);
        seen(&simulate(&cfg(6, n)))
    };

    let s = only(|n| n.malformed = 0.02);
    assert!(s.lines > 0 && s.duplicates == 0 && s.stale == 0 && s.displaced == 0);
    let want: BTreeSet<&str> = [
        "unknown_kind",
        "truncated",
        "not_json",
        "unknown_match",
        "negative_clock",
        "nan_price",
        "low_price",
    ]
    .into();
    assert_eq!(s.garbage, want);

    let s = only(|n| n.duplicates = 0.05);
    assert!(
        s.duplicates > 0 && s.lines == 0 && s.stale == 0 && s.displaced == 0,
        "{s:?}"
    );

    let s = only(|n| {
        n.reorder_ms = 8_000;
        n.reordered = 0.05;
    });
    assert!(
        s.displaced > 0 && s.max_displacement <= 8_000 && s.duplicates == 0 && s.stale == 0,
        "{s:?}"
    );

    let s = only(|n| n.stale = 0.05);
    assert!(s.stale > 0 && s.duplicates == 0 && s.lines == 0, "{s:?}");

    let s = only(|n| n.result_corrections = 1.0);
    assert_eq!(s.corrections, 6);
    assert!(s.overturns == 0 && s.abandoned == 0);

    let s = only(|n| n.var_overturns = 0.5);
    assert!(
        s.overturns > 0 && s.corrections == 0 && s.abandoned == 0,
        "{s:?}"
    );

    let s = only(|n| n.abandoned = 1.0);
    assert_eq!(s.abandoned, 6);
    assert!(s.corrections == 0 && s.overturns == 0);
}

#[test]
fn reordering_is_bounded_even_with_every_kind_of_noise() {
    let n = noisy();
    let out = simulate(&cfg(8, n.clone()));
    let s = seen(&out);
    assert!(
        s.displaced > 0 && s.max_displacement <= n.reorder_ms,
        "{s:?}"
    );
}

#[test]
fn records_per_match_are_in_range() {
    let out = simulate(&cfg(50, NoiseConfig::typical()));
    let counts: Vec<usize> = out
        .matches
        .iter()
        .filter(|m| !m.abandoned)
        .map(|m| m.records)
        .collect();
    let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
    let (lo, hi) = (
        counts.iter().min().copied().unwrap_or(0),
        counts.iter().max().copied().unwrap_or(0),
    );
    println!(
        "50 matches: {} items, {} truth rows, per match mean {mean:.0} min {lo} max {hi}",
        out.items.len(),
        out.truth.len()
    );
    assert!((3_000.0..=8_000.0).contains(&mean), "mean {mean}");
    assert!(lo >= 2_000 && hi <= 10_000, "{lo}..{hi}");
}

/// Mean absolute gap between the bookmaker's in-play 1X2 implied probabilities and what a fair
/// bookmaker would show (the truth with the margin applied by the power method), sampled at the
/// bookmaker's match-odds reprices.
fn in_play_gap(out: &SimOutput, margin: f64) -> f64 {
    let kickoffs: BTreeMap<MatchId, i64> = out
        .matches
        .iter()
        .map(|m| (m.match_id, m.kickoff))
        .collect();
    let mut prices: BTreeMap<(MatchId, i64), [f64; 3]> = BTreeMap::new();
    let mut current: BTreeMap<MatchId, [f64; 3]> = BTreeMap::new();
    for r in out.records() {
        let Body::Odds(o) = &r.body else { continue };
        if o.market != MarketKind::MatchOdds {
            continue;
        }
        let e = current.entry(r.match_id).or_insert([0.0; 3]);
        e[sel_index(o.selection)] = o.price.0;
        prices.insert((r.match_id, r.ts), *e);
    }
    let mut truth: BTreeMap<(MatchId, i64), [f64; 3]> = BTreeMap::new();
    for t in &out.truth {
        if t.market != MarketKind::MatchOdds || t.ts < kickoffs[&t.match_id] {
            continue;
        }
        truth.entry((t.match_id, t.ts)).or_insert([0.0; 3])[sel_index(t.selection)] = t.prob;
    }
    let (mut n, mut gap) = (0usize, 0.0);
    for (key, p) in &truth {
        let Some(b) = prices
            .range(..=key)
            .next_back()
            .filter(|(k, _)| k.0 == key.0)
            .map(|(_, b)| b)
        else {
            continue;
        };
        if b.iter().any(|x| *x <= 0.0 || *x > 15.0) {
            continue;
        }
        let fair = oddsflow_dataflows::pricing::margin::apply_power(p, margin);
        gap += (0..3).map(|i| (1.0 / b[i] - fair[i]).abs()).sum::<f64>();
        n += 1;
    }
    gap / n.max(1) as f64
}

#[test]
fn planted_inefficiencies_move_the_bookmaker_off_the_truth() {
    let base = cfg(16, NoiseConfig::none());
    let m = base.margin;
    let fair = in_play_gap(&simulate(&base), m);
    let ignores = in_play_gap(
        &simulate(&SimConfig {
            inefficiency: Some(Inefficiency::IgnoresDominance { size: 1.0 }),
            ..base.clone()
        }),
        m,
    );
    let lags = in_play_gap(
        &simulate(&SimConfig {
            inefficiency: Some(Inefficiency::LagsAfterGoals { seconds: 120 }),
            ..base.clone()
        }),
        m,
    );
    println!(
        "in-play 1X2 gap: fair {fair:.4}, ignores dominance {ignores:.4}, lags after goals {lags:.4}"
    );
    assert!(fair < 0.02, "{fair}");
    assert!(ignores > 2.0 * fair, "{ignores} vs {fair}");
    assert!(lags > 1.5 * fair, "{lags} vs {fair}");
}

#[test]
fn the_feed_has_every_kind_the_product_names() {
    let out = simulate(&cfg(12, NoiseConfig::none()));
    let mut kinds = BTreeSet::new();
    let mut details = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut markets = BTreeSet::new();
    let mut phases = BTreeSet::new();
    let mut lineup_changes = 0;
    for r in out.records() {
        kinds.insert(r.body.kind());
        match &r.body {
            Body::Incident(i) => {
                let d = format!("{:?}", i.detail);
                details.insert(d.split([' ', '{', '(']).next().unwrap_or("").to_string());
                if let IncidentDetail::Card { card, .. } = i.detail {
                    details.insert(format!("{card:?}"));
                }
            }
            Body::Status(s) => {
                statuses.insert(format!("{:?}", s.status));
            }
            Body::Market(m) => {
                markets.insert(kind_name(&m.market));
                phases.insert(format!("{:?}/{:?}", m.phase, m.status));
            }
            Body::Lineup(l) => {
                assert_eq!(l.players.iter().filter(|p| p.starter).count(), 11);
                assert_eq!(
                    l.players
                        .iter()
                        .filter(|p| p.position == "GK" && p.starter)
                        .count(),
                    1
                );
                lineup_changes += usize::from(l.version == 2);
            }
            _ => {}
        }
    }
    assert_eq!(kinds.len(), 7, "{kinds:?}"); // all but abandonment
    for d in [
        "Goal",
        "Corner",
        "Card",
        "Shot",
        "Foul",
        "Attack",
        "DangerousAttack",
        "Possession",
        "Substitution",
        "Yellow",
    ] {
        assert!(details.contains(d), "no {d} in {details:?}");
    }
    for s in [
        "Scheduled",
        "FirstHalf",
        "HalfTime",
        "SecondHalf",
        "Finished",
    ] {
        assert!(statuses.contains(s), "{statuses:?}");
    }
    assert_eq!(markets.len(), 8);
    for p in [
        "Prematch/Open",
        "InPlay/Open",
        "InPlay/Suspended",
        "InPlay/Closed",
        "Prematch/Closed",
    ] {
        assert!(phases.contains(p), "{phases:?}");
    }
    assert!(lineup_changes > 0);
}

#[test]
fn the_truth_is_calibrated() {
    // The truth channel's probabilities against what then happened (seeded, so deterministic).
    let out = simulate(&cfg(300, NoiseConfig::none()));
    let res: BTreeMap<MatchId, Score> = out.matches.iter().map(|m| (m.match_id, m.score)).collect();
    type Check = (MarketKind, Selection, fn(Score) -> bool);
    let checks: [Check; 4] = [
        (MarketKind::MatchOdds, Selection::Home, |s| s.home > s.away),
        (MarketKind::MatchOdds, Selection::Draw, |s| s.home == s.away),
        (
            MarketKind::OverUnder { line: Line(10) },
            Selection::Over,
            |s| s.home + s.away > 2,
        ),
        (MarketKind::Btts, Selection::Yes, |s| {
            s.home > 0 && s.away > 0
        }),
    ];
    for (market, sel, hit) in checks {
        let mut bins = [(0.0f64, 0.0f64, 0usize); 10];
        for t in out
            .truth
            .iter()
            .filter(|t| t.market == market && t.selection == sel)
        {
            let b = ((t.prob * 10.0) as usize).min(9);
            bins[b].0 += t.prob;
            bins[b].1 += f64::from(u8::from(hit(res[&t.match_id])));
            bins[b].2 += 1;
        }
        for (p, h, n) in bins {
            if n >= 3000 {
                let (p, h) = (p / n as f64, h / n as f64);
                assert!(
                    (p - h).abs() < 0.07,
                    "{market:?} {sel:?}: predicted {p:.3}, happened {h:.3} ({n} rows)"
                );
            }
        }
    }
    let n = out.matches.len() as f64;
    let goals = out
        .matches
        .iter()
        .map(|m| f64::from(m.score.home) + f64::from(m.score.away))
        .sum::<f64>()
        / n;
    let home = out
        .matches
        .iter()
        .filter(|m| m.score.home > m.score.away)
        .count() as f64
        / n;
    assert!(
        (2.3..3.1).contains(&goals) && (0.38..0.52).contains(&home),
        "{goals} goals, {home} home wins"
    );
}
