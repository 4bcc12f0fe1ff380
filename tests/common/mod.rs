//! Shared helpers for the end-to-end tests: a from-scratch model of the whole replay, written
//! independently of the dataflows (it shares only the pure, unit-tested functions: the record
//! parser/validator, the per-match player rules and the league rating function).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use oddsflow::replay::{Change, Outputs, ReplayConfig};
use oddsflow_dataflows::aggregates::{
    PlayerInput, PlayerMatchStats, PlayerTotals, TeamMatchStats, player_match_stats_of,
};
use oddsflow_dataflows::ingest::{Payload, parse_and_validate};
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::ratings::{FinishedMatch, LeagueAverages, TeamRating, rate_league};
use oddsflow_dataflows::wire::peek_ts;

/// The timestamp the replay source gives each item (the rule of `replay`'s module docs).
pub fn assign_times(items: &[Payload], cfg: &ReplayConfig) -> Vec<u64> {
    let g = cfg.granularity_ms;
    let round = |ts: i64| (ts as u64) / g * g;
    let mut clock: Option<i64> = None;
    let mut frontier = 0u64;
    items
        .iter()
        .map(|item| {
            let ts = match item {
                Payload::Line(l) => peek_ts(l),
                Payload::Decoded(r) => Some(r.ts),
            }
            .filter(|t| *t >= 0);
            let time = ts.map_or(frontier, |ts| round(ts).max(frontier));
            if let Some(ts) = ts {
                if clock.is_none_or(|c| ts > c) {
                    clock = Some(ts);
                    frontier = frontier.max(round((ts - cfg.lateness_ms as i64).max(0)));
                }
            }
            time
        })
        .collect()
}

/// The keyed state at time `t`, from scratch: parse, validate, require a fixture seen at or
/// before the record's time, keep the highest (version, body) per key.
pub fn state_at(items: &[Payload], times: &[u64], t: u64) -> BTreeMap<RecordKey, Body> {
    let mut valid: Vec<(u64, Record)> = Vec::new();
    for (seq, (item, time)) in items.iter().zip(times).enumerate() {
        if *time <= t {
            if let Ok(r) = parse_and_validate((seq as u64, item.clone())) {
                valid.push((*time, r));
            }
        }
    }
    let mut fixture_seen: BTreeMap<MatchId, u64> = BTreeMap::new();
    for (time, r) in &valid {
        if matches!(r.body, Body::Fixture(_)) {
            let e = fixture_seen.entry(r.match_id).or_insert(*time);
            *e = (*e).min(*time);
        }
    }
    let mut best: BTreeMap<RecordKey, (Version, Body)> = BTreeMap::new();
    for (time, r) in valid {
        if fixture_seen.get(&r.match_id).is_some_and(|f| *f <= time) {
            let cand = (r.version(), r.body.clone());
            let e = best.entry(r.key()).or_insert_with(|| cand.clone());
            if cand > *e {
                *e = cand;
            }
        }
    }
    best.into_iter().map(|(k, (_, b))| (k, b)).collect()
}

/// The expected outputs at one time, from scratch.
#[derive(Debug, Default, PartialEq)]
pub struct Expected {
    pub team_match: BTreeMap<(MatchId, Side), TeamMatchStats>,
    pub player_match: BTreeMap<(MatchId, PlayerId), PlayerMatchStats>,
    pub player_totals: BTreeMap<PlayerId, PlayerTotals>,
    pub team_ratings: BTreeMap<(String, TeamId), TeamRating>,
    pub league_averages: BTreeMap<String, LeagueAverages>,
}

pub fn expected_from_state(
    state: &BTreeMap<RecordKey, Body>,
    ratings: &oddsflow_dataflows::ratings::RatingConfig,
) -> Expected {
    let mut e = Expected::default();
    let mut fixtures: BTreeMap<MatchId, &Fixture> = BTreeMap::new();
    let mut results: BTreeMap<MatchId, &MatchResult> = BTreeMap::new();
    let mut abandoned: BTreeSet<MatchId> = BTreeSet::new();
    let mut per_match: BTreeMap<MatchId, Vec<PlayerInput>> = BTreeMap::new();
    for ((m, _), body) in state {
        match body {
            Body::Fixture(f) => {
                fixtures.insert(*m, f);
                for side in Side::BOTH {
                    e.team_match.entry((*m, side)).or_default();
                }
            }
            Body::Result(r) => {
                results.insert(*m, r);
            }
            Body::Abandonment(_) => {
                abandoned.insert(*m);
            }
            Body::Lineup(l) => per_match
                .entry(*m)
                .or_default()
                .push(PlayerInput::Lineup(l.clone())),
            Body::Status(s) => per_match
                .entry(*m)
                .or_default()
                .push(PlayerInput::Status(*s)),
            Body::Incident(i) => {
                per_match
                    .entry(*m)
                    .or_default()
                    .push(PlayerInput::Incident(*i));
                if i.cancelled {
                    continue;
                }
                let s = e.team_match.entry((*m, i.side)).or_default();
                // Counted independently of TeamMatchStats::add.
                match i.detail {
                    IncidentDetail::Goal { .. } => s.goals += 1,
                    IncidentDetail::Corner => s.corners += 1,
                    IncidentDetail::Card {
                        card: CardKind::Yellow,
                        ..
                    } => s.yellow += 1,
                    IncidentDetail::Card {
                        card: CardKind::SecondYellow,
                        ..
                    } => {
                        s.yellow += 1;
                        s.red += 1
                    }
                    IncidentDetail::Card {
                        card: CardKind::Red,
                        ..
                    } => s.red += 1,
                    IncidentDetail::Shot { on_target, xg, .. } => {
                        s.shots += 1;
                        if on_target {
                            s.shots_on_target += 1;
                        }
                        s.xg_milli += xg.map_or(0, |x| (x.0 * 1000.0).round() as u32);
                    }
                    IncidentDetail::Foul { .. } => s.fouls += 1,
                    _ => {}
                }
            }
            Body::Market(_) | Body::Odds(_) => {}
        }
    }
    for (m, inputs) in &per_match {
        let refs: Vec<&PlayerInput> = inputs.iter().collect();
        for (p, s) in player_match_stats_of(&refs) {
            e.player_match.insert((*m, p), s);
            let t = e.player_totals.entry(p).or_default();
            t.matches += 1;
            t.goals += s.goals;
            t.shots += s.shots;
            t.yellow += s.yellow;
            t.red += s.red;
            t.minutes += s.minutes;
        }
    }
    let mut leagues: BTreeMap<String, Vec<FinishedMatch>> = BTreeMap::new();
    for (m, r) in &results {
        if let (Some(f), false) = (fixtures.get(m), abandoned.contains(m)) {
            leagues
                .entry(f.league.clone())
                .or_default()
                .push(FinishedMatch {
                    kickoff: f.kickoff,
                    match_id: *m,
                    home: f.home.id,
                    away: f.away.id,
                    full_time: r.full_time,
                });
        }
    }
    for (league, matches) in leagues {
        let (avg, teams) = rate_league(&matches, ratings);
        e.league_averages.insert(league.clone(), avg);
        for (team, r) in teams {
            e.team_ratings.insert((league.clone(), team), r);
        }
    }
    e
}

/// A collection's changes accumulated at time `t`.
pub fn accumulate<K: Ord + Clone, V: Ord + Clone>(
    changes: &[Change<(K, V)>],
    t: u64,
) -> BTreeMap<K, V> {
    let mut acc: BTreeMap<(K, V), i64> = BTreeMap::new();
    for ((k, v), time, diff) in changes {
        if *time <= t {
            *acc.entry((k.clone(), v.clone())).or_insert(0) += diff;
        }
    }
    let mut out = BTreeMap::new();
    for ((k, v), n) in acc {
        assert!(n == 0 || n == 1, "multiplicity {n} in an output collection");
        if n == 1 {
            assert!(out.insert(k, v).is_none(), "two values for one key");
        }
    }
    out
}

pub fn incremental_at(o: &Outputs, t: u64) -> Expected {
    Expected {
        team_match: accumulate(&o.team_match, t),
        player_match: accumulate(&o.player_match, t),
        player_totals: accumulate(&o.player_totals, t),
        team_ratings: accumulate(&o.team_ratings, t),
        league_averages: accumulate(&o.league_averages, t),
    }
}

/// Compares table by table so that a failure names the table.
pub fn assert_same(got: &Expected, want: &Expected, context: &str) {
    assert_eq!(
        got.team_match, want.team_match,
        "team_match_stats differ {context}"
    );
    assert_eq!(
        got.player_match, want.player_match,
        "player_match_stats differ {context}"
    );
    assert_eq!(
        got.player_totals, want.player_totals,
        "player_totals differ {context}"
    );
    assert_eq!(
        got.league_averages, want.league_averages,
        "league_averages differ {context}"
    );
    assert_eq!(
        got.team_ratings, want.team_ratings,
        "team_ratings differ {context}"
    );
}
