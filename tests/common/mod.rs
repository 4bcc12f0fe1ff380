//! Shared helpers for the end-to-end tests: a from-scratch model of the whole replay, written
//! independently of the dataflows (it shares only the pure, unit-tested functions: the record
//! parser/validator, the per-match player rules and the league rating function).
#![allow(dead_code)]

pub mod feedkit;
pub mod fuzz;

use std::collections::{BTreeMap, BTreeSet};

use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::{Change, Outputs};
use oddsflow_dataflows::aggregates::{
    PlayerInput, PlayerMatchStats, PlayerTotals, TeamMatchStats, player_match_stats_of,
};
use oddsflow_dataflows::ingest::{Payload, parse_and_validate};
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::ratings::{FinishedMatch, LeagueAverages, TeamRating, rate_league};
use oddsflow_dataflows::wire::peek_ts;

/// The timestamp the replay source gives each item (the rule of `replay`'s module docs), or
/// `u64::MAX` for one the clock guard refuses as `future_ts` (it never reaches the state).
///
/// Written from the rule, not from the runtime's code: a held record's agreement is counted
/// afresh over the reads since it, and the released records are replayed in read order.
pub fn assign_times(items: &[Payload], cfg: &RunConfig) -> Vec<u64> {
    let g = cfg.granularity_ms;
    let round = |ts: i64| (ts as u64) / g * g;
    let guard = &cfg.clock;
    let (ahead, tail) = (guard.max_ahead_ms as i64, guard.max_tail_ms as i64);
    let ts: Vec<Option<i64>> = items
        .iter()
        .map(|item| {
            match item {
                Payload::Line(l) => peek_ts(l),
                Payload::Decoded(r) => Some(r.ts),
            }
            .filter(|t| *t >= 0)
        })
        .collect();
    let mut times = vec![u64::MAX; items.len()];
    let mut clock: Option<i64> = None;
    let mut frontier = 0u64;
    let mut pass = |i: usize, clock: &mut Option<i64>| {
        times[i] = ts[i].map_or(frontier, |t| round(t).max(frontier));
        if let Some(t) = ts[i]
            && clock.is_none_or(|c| t > c)
        {
            *clock = Some(t);
            frontier = frontier.max(round((t - cfg.lateness_ms as i64).max(0)));
        }
    };
    // Held records: (position, event time).
    let mut held: Vec<(usize, i64)> = Vec::new();
    for i in 0..items.len() {
        let Some(t) = ts[i] else {
            pass(i, &mut clock);
            continue;
        };
        if clock.is_some_and(|c| t <= c + ahead) {
            pass(i, &mut clock);
        } else {
            held.push((i, t));
        }
        loop {
            let agree = |(h, th): (usize, i64)| {
                (h..=i)
                    .filter(|j| ts[*j].is_some_and(|tj| tj >= th - ahead))
                    .count() as u64
            };
            let confirmed = held
                .iter()
                .filter(|h| agree(**h) >= u64::from(guard.quorum))
                .map(|(_, th)| *th)
                .min();
            let reach = match (confirmed, clock) {
                (None, None) => break,
                (Some(a), Some(b)) => a.max(b),
                (Some(a), None) | (None, Some(a)) => a,
            } + ahead;
            let go: Vec<(usize, i64)> = held
                .iter()
                .copied()
                .filter(|(_, th)| *th <= reach)
                .collect();
            if go.is_empty() {
                break;
            }
            held.retain(|h| !go.contains(h));
            for (h, _) in go {
                pass(h, &mut clock);
            }
        }
        // Held for `patience` reads: refused.
        held.retain(|(h, _)| i - h < guard.patience as usize);
    }
    for (h, th) in held {
        if clock.is_none_or(|c| th <= c + tail) {
            pass(h, &mut clock);
        }
    }
    times
}

/// Valid records with their times, in feed order, that pass the fixture gate (a fixture of
/// their match seen at or before their time).
fn gated(items: &[Payload], times: &[u64], cfg: &RunConfig) -> Vec<(u64, Record)> {
    let valid: Vec<(u64, Record)> = items
        .iter()
        .zip(times)
        .enumerate()
        .filter(|(_, (_, time))| **time != u64::MAX)
        .filter_map(|(seq, (item, time))| {
            parse_and_validate((seq as u64, item.clone()), &cfg.pipeline.validation)
                .ok()
                .map(|r| (*time, r))
        })
        .collect();
    let mut fixture_seen: BTreeMap<MatchId, u64> = BTreeMap::new();
    for (time, r) in &valid {
        if matches!(r.body, Body::Fixture(_)) {
            let e = fixture_seen.entry(r.match_id).or_insert(*time);
            *e = (*e).min(*time);
        }
    }
    valid
        .into_iter()
        .filter(|(time, r)| fixture_seen.get(&r.match_id).is_some_and(|f| f <= time))
        .collect()
}

/// When each match retires: the first time it has a result or an abandonment, plus the grace.
pub fn retire_times(items: &[Payload], times: &[u64], cfg: &RunConfig) -> BTreeMap<MatchId, u64> {
    let mut out: BTreeMap<MatchId, u64> = BTreeMap::new();
    for (time, r) in gated(items, times, cfg) {
        if matches!(r.body, Body::Result(_) | Body::Abandonment(_)) {
            let e = out.entry(r.match_id).or_insert(time);
            *e = (*e).min(time);
        }
    }
    out.values_mut()
        .for_each(|t| *t += cfg.pipeline.retire_after_ms);
    out
}

fn kept(key: &StateKey) -> bool {
    matches!(
        key,
        StateKey::Fixture | StateKey::Result | StateKey::Abandonment
    )
}

/// The keyed state at time `t`, from scratch: parse, validate, require a fixture seen at or
/// before the record's time, keep the highest (version, body) per key; a retired match keeps
/// only its fixture, result and abandonment.
pub fn state_at(
    items: &[Payload],
    times: &[u64],
    t: u64,
    cfg: &RunConfig,
) -> BTreeMap<RecordKey, Body> {
    timed_state_at(items, times, t, cfg)
        .into_iter()
        .map(|(k, (b, _))| (k, b))
        .collect()
}

/// As [`state_at`], with the event time of the record that set each key.
pub fn timed_state_at(
    items: &[Payload],
    times: &[u64],
    t: u64,
    cfg: &RunConfig,
) -> BTreeMap<RecordKey, (Body, EventTime)> {
    let retire = retire_times(items, times, cfg);
    let mut best: BTreeMap<RecordKey, (Version, (Body, EventTime))> = BTreeMap::new();
    for (time, r) in gated(items, times, cfg) {
        let retired = retire.get(&r.match_id).is_some_and(|at| *at <= t);
        if time <= t && (kept(&r.key().1) || !retired) {
            let cand = (r.version(), (r.body.clone(), r.ts));
            let e = best.entry(r.key()).or_insert_with(|| cand.clone());
            if cand > *e {
                *e = cand;
            }
        }
    }
    best.into_iter().map(|(k, (_, b))| (k, b)).collect()
}

/// Player rows of one match from a state.
pub fn player_rows(
    state: &BTreeMap<RecordKey, Body>,
    m: MatchId,
) -> Vec<(PlayerId, PlayerMatchStats)> {
    let inputs: Vec<PlayerInput> = state
        .range((m, StateKey::Fixture)..=(m, StateKey::Abandonment))
        .filter_map(|(_, b)| match b {
            Body::Lineup(l) => Some(PlayerInput::Lineup(l.clone())),
            Body::Status(s) => Some(PlayerInput::Status(*s)),
            Body::Incident(i) => Some(PlayerInput::Incident(*i)),
            _ => None,
        })
        .collect();
    let refs: Vec<&PlayerInput> = inputs.iter().collect();
    if refs.is_empty() {
        Vec::new()
    } else {
        player_match_stats_of(&refs)
    }
}

/// The final player rows of the matches retired by time `t` (their rows just before retiring).
pub fn finals_at(
    items: &[Payload],
    times: &[u64],
    t: u64,
    cfg: &RunConfig,
) -> BTreeMap<MatchId, Vec<(PlayerId, PlayerMatchStats)>> {
    retire_times(items, times, cfg)
        .into_iter()
        .filter(|(_, at)| *at <= t)
        .map(|(m, at)| (m, player_rows(&state_at(items, times, at - 1, cfg), m)))
        .collect()
}

/// Everything expected at time `t`, from scratch.
pub fn expected_at(items: &[Payload], times: &[u64], t: u64, cfg: &RunConfig) -> Expected {
    expected_from_state(
        &state_at(items, times, t, cfg),
        &finals_at(items, times, t, cfg),
        &cfg.pipeline.ratings,
    )
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

/// `finals`: the last player rows of retired matches (player totals keep them).
pub fn expected_from_state(
    state: &BTreeMap<RecordKey, Body>,
    finals: &BTreeMap<MatchId, Vec<(PlayerId, PlayerMatchStats)>>,
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
            Body::Status(s) => {
                per_match
                    .entry(*m)
                    .or_default()
                    .push(PlayerInput::Status(*s));
                // Every match with a status has a row per side, zeros included.
                for side in Side::BOTH {
                    e.team_match.entry((*m, side)).or_default();
                }
            }
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
    let mut rows: Vec<(MatchId, PlayerId, PlayerMatchStats, bool)> = Vec::new();
    for (m, inputs) in &per_match {
        let refs: Vec<&PlayerInput> = inputs.iter().collect();
        rows.extend(
            player_match_stats_of(&refs)
                .into_iter()
                .map(|(p, s)| (*m, p, s, true)),
        );
    }
    for (m, final_rows) in finals {
        rows.extend(final_rows.iter().map(|(p, s)| (*m, *p, *s, false)));
    }
    for (m, p, s, live) in rows {
        {
            if live {
                e.player_match.insert((m, p), s);
            }
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

/// Compares table by table, so that a failure names the table and shows only differing keys.
pub fn assert_same(got: &Expected, want: &Expected, context: &str) {
    assert_maps_eq(
        &got.team_match,
        &want.team_match,
        &format!("team_match_stats differ {context}"),
    );
    assert_maps_eq(
        &got.player_match,
        &want.player_match,
        &format!("player_match_stats differ {context}"),
    );
    assert_maps_eq(
        &got.player_totals,
        &want.player_totals,
        &format!("player_totals differ {context}"),
    );
    assert_maps_eq(
        &got.league_averages,
        &want.league_averages,
        &format!("league_averages differ {context}"),
    );
    assert_maps_eq(
        &got.team_ratings,
        &want.team_ratings,
        &format!("team_ratings differ {context}"),
    );
}

use oddsflow_dataflows::availability::{Quote, SelectionKey};
use oddsflow_dataflows::dominance::{Dominance, DominanceConfig, dominance_of};
use oddsflow_dataflows::features::{
    FeatureInput, FeatureVector, feature_vector, is_feature_market,
};

/// A from-scratch, sequential model of the replay: items applied in timestamp order (fixtures of a
/// timestamp before the rest), the keyed state kept as the highest (version, value) per key, and
/// the prematch-close latch updated after every timestamp. `at(τ)` snapshots after τ.
pub struct Timeline {
    groups: Vec<(u64, Vec<Record>)>,
    retire: Vec<(u64, MatchId)>,
    next_retire: usize,
    retired: BTreeSet<MatchId>,
    finals: BTreeMap<MatchId, Vec<(PlayerId, PlayerMatchStats)>>,
    next: usize,
    fixture_seen: BTreeMap<MatchId, u64>,
    best: BTreeMap<RecordKey, (Version, (Body, EventTime))>,
    latch: BTreeMap<SelectionKey, (Version, F64)>,
}

impl Timeline {
    pub fn new(items: &[Payload], times: &[u64], cfg: &RunConfig) -> Self {
        let mut retire: Vec<(u64, MatchId)> = retire_times(items, times, cfg)
            .into_iter()
            .map(|(m, t)| (t, m))
            .collect();
        retire.sort();
        let mut by_time: BTreeMap<u64, Vec<Record>> = BTreeMap::new();
        for (seq, (item, time)) in items.iter().zip(times).enumerate() {
            if *time == u64::MAX {
                continue; // refused by the clock guard
            }
            if let Ok(r) = parse_and_validate((seq as u64, item.clone()), &cfg.pipeline.validation)
            {
                by_time.entry(*time).or_default().push(r);
            }
        }
        Timeline {
            groups: by_time.into_iter().collect(),
            retire,
            next_retire: 0,
            retired: BTreeSet::new(),
            finals: BTreeMap::new(),
            next: 0,
            fixture_seen: BTreeMap::new(),
            best: BTreeMap::new(),
            latch: BTreeMap::new(),
        }
    }

    /// Applies every timestamp ≤ τ not applied yet (call with increasing τ).
    pub fn advance_to(&mut self, tau: u64) {
        loop {
            // The next event: a group of records, or a retirement (records first at equal times).
            let group_at = self
                .groups
                .get(self.next)
                .map(|g| g.0)
                .filter(|t| *t <= tau);
            let retire_at = self
                .retire
                .get(self.next_retire)
                .map(|r| r.0)
                .filter(|t| *t <= tau);
            match (group_at, retire_at) {
                (None, None) => break,
                (Some(g), Some(r)) if r < g => self.retire_next(),
                (None, Some(_)) => self.retire_next(),
                _ => self.apply_next_group(),
            }
        }
    }

    fn retire_next(&mut self) {
        let (_, m) = self.retire[self.next_retire];
        self.next_retire += 1;
        let plain: BTreeMap<RecordKey, Body> =
            self.state().into_iter().map(|(k, (b, _))| (k, b)).collect();
        self.finals.insert(m, player_rows(&plain, m));
        self.best.retain(|(km, key), _| *km != m || kept(key));
        self.latch.retain(|(km, _, _), _| *km != m);
        self.retired.insert(m);
    }

    pub fn finals(&self) -> &BTreeMap<MatchId, Vec<(PlayerId, PlayerMatchStats)>> {
        &self.finals
    }

    fn apply_next_group(&mut self) {
        {
            let (time, records) = &self.groups[self.next];
            for r in records
                .iter()
                .filter(|r| matches!(r.body, Body::Fixture(_)))
            {
                self.fixture_seen.entry(r.match_id).or_insert(*time);
            }
            let mut touched: BTreeSet<(MatchId, MarketKind)> = BTreeSet::new();
            for r in records {
                if !self.fixture_seen.contains_key(&r.match_id)
                    || (self.retired.contains(&r.match_id) && !kept(&r.key().1))
                {
                    continue;
                }
                let cand = (r.version(), (r.body.clone(), r.ts));
                let e = self.best.entry(r.key()).or_insert_with(|| cand.clone());
                if cand > *e {
                    *e = cand;
                }
                match &r.body {
                    Body::Market(mk) => drop(touched.insert((r.match_id, mk.market))),
                    Body::Odds(o) => drop(touched.insert((r.match_id, o.market))),
                    _ => {}
                }
            }
            for (m, kind) in touched {
                let Some((_, (Body::Market(mk), _))) = self.best.get(&(m, StateKey::Market(kind)))
                else {
                    continue;
                };
                if mk.phase != Phase::Prematch || mk.status == MarketStatus::Closed {
                    continue;
                }
                for s in &mk.selections {
                    if let Some((_, (Body::Odds(o), _))) =
                        self.best.get(&(m, StateKey::Odds(kind, *s)))
                    {
                        let e = self
                            .latch
                            .entry((m, kind, *s))
                            .or_insert((o.version, o.price));
                        *e = (*e).max((o.version, o.price));
                    }
                }
            }
            self.next += 1;
        }
    }

    pub fn state(&self) -> BTreeMap<RecordKey, (Body, EventTime)> {
        self.best
            .iter()
            .map(|(k, (_, v))| (*k, v.clone()))
            .collect()
    }

    pub fn prematch_close(&self) -> BTreeMap<SelectionKey, F64> {
        self.latch.iter().map(|(k, (_, p))| (*k, *p)).collect()
    }
}

fn live(state: &BTreeMap<RecordKey, (Body, EventTime)>) -> BTreeMap<MatchId, Status> {
    state
        .iter()
        .filter_map(|((m, _), (b, _))| match b {
            Body::Status(s) if s.status.is_live() => Some((*m, *s)),
            _ => None,
        })
        .collect()
}

/// Expected dominance at τ: incidents in the state whose rounded-up expiry is after τ.
pub fn expected_dominance(
    state: &BTreeMap<RecordKey, (Body, EventTime)>,
    tau: u64,
    cfg: &DominanceConfig,
) -> BTreeMap<(MatchId, u64), Dominance> {
    let round_up = |x: u64, s: u64| x.div_ceil(s) * s;
    let mut out = BTreeMap::new();
    for m in live(state).keys() {
        for w in &cfg.windows_ms {
            let incidents = state
                .range((*m, StateKey::Fixture)..=(*m, StateKey::Abandonment))
                .filter_map(|(_, (b, ts))| match b {
                    Body::Incident(i)
                        if !i.cancelled
                            && round_up((*ts).max(0) as u64 + w, cfg.slide_ms) > tau =>
                    {
                        Some(i)
                    }
                    _ => None,
                });
            let relevant = incidents.filter(|i| {
                matches!(i.detail, IncidentDetail::Possession { .. })
                    || oddsflow_dataflows::dominance::pressure_points(&i.detail, &cfg.weights)
                        .is_some()
            });
            out.insert((*m, *w), dominance_of(relevant, cfg));
        }
    }
    out
}

/// Expected availability at τ.
pub fn expected_available(
    state: &BTreeMap<RecordKey, (Body, EventTime)>,
) -> BTreeMap<SelectionKey, Quote> {
    let abandoned: BTreeSet<MatchId> = state
        .iter()
        .filter(|(_, (b, _))| matches!(b, Body::Abandonment(_)))
        .map(|((m, _), _)| *m)
        .collect();
    let mut out = BTreeMap::new();
    for ((m, _), (b, _)) in state {
        let Body::Market(mk) = b else { continue };
        if mk.status != MarketStatus::Open || abandoned.contains(m) {
            continue;
        }
        for s in &mk.selections {
            if let Some((Body::Odds(o), _)) = state.get(&(*m, StateKey::Odds(mk.market, *s))) {
                out.insert(
                    (*m, mk.market, *s),
                    Quote {
                        phase: mk.phase,
                        price: o.price,
                        modelled: o.modelled,
                    },
                );
            }
        }
    }
    out
}

/// Expected features at τ, from the other expected collections.
pub fn expected_features(
    state: &BTreeMap<RecordKey, (Body, EventTime)>,
    aggregates: &Expected,
    dominance: &BTreeMap<(MatchId, u64), Dominance>,
    available: &BTreeMap<SelectionKey, Quote>,
    close: &BTreeMap<SelectionKey, F64>,
    dcfg: &DominanceConfig,
    rcfg: &oddsflow_dataflows::ratings::RatingConfig,
) -> BTreeMap<MatchId, FeatureVector> {
    let mut out = BTreeMap::new();
    for (m, status) in live(state) {
        let mut inputs = vec![FeatureInput::Status(status)];
        for ((_, key), (b, _)) in state.range((m, StateKey::Fixture)..=(m, StateKey::Abandonment)) {
            match (key, b) {
                (StateKey::Lineup(side), Body::Lineup(l)) => {
                    inputs.push(FeatureInput::Formation(*side, l.formation.clone()))
                }
                (StateKey::Fixture, Body::Fixture(f)) => {
                    for (side, team) in [(Side::Home, f.home.id), (Side::Away, f.away.id)] {
                        if let Some(r) = aggregates.team_ratings.get(&(f.league.clone(), team)) {
                            inputs.push(FeatureInput::Rating(side, r.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
        for side in Side::BOTH {
            if let Some(s) = aggregates.team_match.get(&(m, side)) {
                inputs.push(FeatureInput::Team(side, *s));
            }
        }
        for ((dm, w), d) in dominance {
            if *dm == m {
                inputs.push(FeatureInput::Dominance(*w, *d));
            }
        }
        for ((am, mk, s), q) in available {
            if *am == m && is_feature_market(mk) {
                inputs.push(FeatureInput::Quote(*mk, *s, q.price));
            }
        }
        for ((cm, mk, s), p) in close {
            if *cm == m && is_feature_market(mk) {
                inputs.push(FeatureInput::Close(*mk, *s, *p));
            }
        }
        if let Some(v) = feature_vector(inputs.iter(), dcfg, rcfg) {
            out.insert(m, v);
        }
    }
    out
}

/// Asserts two maps are equal, showing only the first few differing keys.
pub fn assert_maps_eq<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    got: &BTreeMap<K, V>,
    want: &BTreeMap<K, V>,
    what: &str,
) {
    if got == want {
        return;
    }
    let mut lines = Vec::new();
    for (k, v) in got {
        match want.get(k) {
            Some(w) if w == v => {}
            Some(w) => lines.push(format!("  {k:?}: got {v:?}, want {w:?}")),
            None => lines.push(format!("  {k:?}: got {v:?}, want nothing")),
        }
    }
    for (k, w) in want {
        if !got.contains_key(k) {
            lines.push(format!("  {k:?}: got nothing, want {w:?}"));
        }
    }
    let n = lines.len();
    lines.truncate(6);
    panic!("{what}: {n} keys differ\n{}", lines.join("\n"));
}

/// Replays an in-memory feed on 1 worker (a thread) or `workers` threads; returns the outputs.
pub fn run(
    items: &[Payload],
    cfg: &RunConfig,
    workers: usize,
) -> oddsflow::runtime::outputs::Outputs {
    let config = if workers == 1 {
        timely::Config::thread()
    } else {
        timely::Config::process(workers)
    };
    oddsflow::runtime::replay::replay(
        oddsflow::runtime::source::memory_feed(items.to_vec()),
        cfg,
        None,
        config,
    )
    .expect("replay runs")
    .expect("worker 0 is here")
    .0
}

/// A noisy simulated feed of a few matches (malformed lines, duplicates, reordering,
/// corrections…).
pub fn noisy_feed(seed: u64, matches: usize) -> Vec<Payload> {
    use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
    simulate(&SimConfig {
        matches,
        seed,
        noise: NoiseConfig::typical(),
        ..SimConfig::default()
    })
    .items
}

/// Every live collection at `tau`, from scratch: what the dataflows should hold then.
pub struct LiveExpected {
    pub aggregates: Expected,
    pub dominance: BTreeMap<(MatchId, u64), oddsflow_dataflows::dominance::Dominance>,
    pub available: BTreeMap<
        oddsflow_dataflows::availability::SelectionKey,
        oddsflow_dataflows::availability::Quote,
    >,
    pub close: BTreeMap<oddsflow_dataflows::availability::SelectionKey, F64>,
    pub features: BTreeMap<MatchId, oddsflow_dataflows::features::FeatureVector>,
}

/// Computes [`LiveExpected`] from the timeline's state (already advanced to `tau`).
pub fn expected_live(timeline: &Timeline, tau: u64, cfg: &RunConfig) -> LiveExpected {
    let state = timeline.state();
    let plain: BTreeMap<_, _> = state.iter().map(|(k, (b, _))| (*k, b.clone())).collect();
    let aggregates = expected_from_state(&plain, timeline.finals(), &cfg.pipeline.ratings);
    let dominance = expected_dominance(&state, tau, &cfg.pipeline.dominance);
    let available = expected_available(&state);
    let close = timeline.prematch_close();
    let features = expected_features(
        &state,
        &aggregates,
        &dominance,
        &available,
        &close,
        &cfg.pipeline.dominance,
        &cfg.pipeline.ratings,
    );
    LiveExpected {
        aggregates,
        dominance,
        available,
        close,
        features,
    }
}
