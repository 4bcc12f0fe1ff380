//! Policies: strategies that watch the live view of the world and ask the bookmaker for bets.
//!
//! ```text
//!  fixtures, team ratings, league averages, ──(broadcast)──┐
//!  feature deltas, available quotes                        ├─► runner (in event-time order) ─► bet requests
//!  settlement changes of the policy's bets ──(its worker)──┘   per policy: decide(now, view)     (+ 1 tick)
//! ```
//!
//! **In.** A [`View`]: every fixture, the current feature vector of each live match, the
//! available quotes (price and phase) of every match, the team ratings and league averages —
//! all as of the timestamp being decided, built from the dataflow's collections. Changes are
//! applied one complete timestamp at a time, in increasing event time, so a decision at `t` sees
//! exactly the records with (rounded) event time ≤ `t`: no look-ahead. The settlement changes of
//! the policy's own bets arrive one tick after they happen ([`Policy::settled`], the reward
//! stream), and its [`Account`] follows them.
//!
//! **Out.** [`Intent`]s (one leg: a single; 2–4 legs from different matches: a coupon) become
//! [`BetRequest`]s carrying the prices and phases the policy saw, stamped one tick after the
//! decision: they re-enter the dataflow at the bookmaker (see
//! [`oddsflow_dataflows::bookmaker`]). An intent naming a selection with no quote in the view is
//! dropped (counted in the run's log).
//!
//! **Determinism.** Each policy lives on one worker (`policy id mod workers`), sees the whole
//! view there, and is called once per timestamp with the changed matches in id order; its
//! randomness is seeded. So its requests are the same on any number of workers and processes.

pub mod baselines;
pub mod truth;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::vec::{Broadcast, Delay, Map};
use timely::dataflow::operators::{Concat, Exchange};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::availability::{Quote, SelectionKey};
use oddsflow_dataflows::bookmaker::{BetId, BetRequest, Leg, PolicyId, Settled, SettlementChange};
use oddsflow_dataflows::features::FeatureVector;
use oddsflow_dataflows::model::{
    Abandonment, F64, Fixture, MarketKind, MatchId, MatchResult, Selection, TeamId,
};
use oddsflow_dataflows::ratings::{LeagueAverages, TeamRating};
use oddsflow_operators::InTimeOrder;

pub use baselines::{FavouriteConfig, OracleConfig, RandomConfig, ValueConfig};
pub use truth::Truth;

use crate::learner::agent::{DrqnPolicy, DrqnPolicyConfig};

/// What a policy sees at the timestamp it decides.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub fixtures: BTreeMap<MatchId, Fixture>,
    /// The feature vector of each live match.
    pub features: BTreeMap<MatchId, FeatureVector>,
    /// The available quotes of each match: what can be bet on now, at what price.
    pub quotes: BTreeMap<MatchId, BTreeMap<(MarketKind, Selection), Quote>>,
    pub ratings: BTreeMap<(String, TeamId), TeamRating>,
    pub leagues: BTreeMap<String, LeagueAverages>,
    /// The result of each match that has one (a correction replaces it). Results are the
    /// cross-match archive: they stay after the match's other state is retired.
    pub results: BTreeMap<MatchId, MatchResult>,
    /// Abandoned matches.
    pub abandoned: BTreeSet<MatchId>,
}

/// A policy's money as it knows it: the starting bankroll plus the profit of its settled bets.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Account {
    pub start: f64,
    pub settled_profit: f64,
}

impl Account {
    pub fn bankroll(&self) -> f64 {
        self.start + self.settled_profit
    }
}

/// A bet a policy wants: one leg (a single) or 2–4 legs from different matches (a coupon).
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    pub legs: Vec<(MatchId, MarketKind, Selection)>,
    pub stake: f64,
}

impl Intent {
    pub fn single(m: MatchId, market: MarketKind, selection: Selection, stake: f64) -> Self {
        Intent {
            legs: vec![(m, market, selection)],
            stake,
        }
    }
}

/// A betting strategy. See the module docs for what it sees and when.
pub trait Policy {
    /// Called once per timestamp at which anything in the view (or the policy's settlements)
    /// changed, after the view is updated; `changed`: the matches whose features or quotes
    /// changed at `now`, in id order.
    fn decide(
        &mut self,
        now: Time,
        view: &View,
        changed: &[MatchId],
        account: &Account,
    ) -> Vec<Intent>;

    /// A settlement change of one of this policy's bets: `+1` a settlement, `−1` one retracted by
    /// a result correction (the reward stream).
    fn settled(&mut self, _now: Time, _bet: BetId, _settled: &Settled, _diff: isize) {}

    /// Called after each `decide` with the bet id given to each intent that became a request:
    /// `(index in the returned vector, id)` (an intent without a quote gets none).
    fn placed(&mut self, _now: Time, _bets: &[(usize, BetId)]) {}
}

/// A bet a scripted policy places at a given time (tests, what-if runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptedBet {
    /// Decide at the first timestamp ≥ this (UTC ms).
    pub at: Time,
    pub legs: Vec<(MatchId, MarketKind, Selection)>,
    pub stake: f64,
}

/// Which policies a run has, with their settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySpec {
    NoBet,
    Random(RandomConfig),
    Favourite(FavouriteConfig),
    Value(ValueConfig),
    /// Needs the simulator's truth channel.
    Oracle(OracleConfig),
    Scripted(Vec<ScriptedBet>),
    /// The online recurrent Q-learner ([`crate::learner::agent`]).
    Drqn(DrqnPolicyConfig),
}

impl PolicySpec {
    pub fn name(&self) -> &'static str {
        match self {
            PolicySpec::NoBet => "no-bet",
            PolicySpec::Random(_) => "random",
            PolicySpec::Favourite(_) => "favourite",
            PolicySpec::Value(_) => "value",
            PolicySpec::Oracle(_) => "oracle",
            PolicySpec::Scripted(_) => "scripted",
            PolicySpec::Drqn(_) => "drqn",
        }
    }

    /// The baselines, in table order (the oracle only where there is a truth channel).
    pub fn baselines(seed: u64, with_oracle: bool) -> Vec<PolicySpec> {
        let mut v = vec![
            PolicySpec::NoBet,
            PolicySpec::Random(RandomConfig {
                seed,
                ..RandomConfig::default()
            }),
            PolicySpec::Favourite(FavouriteConfig::default()),
            PolicySpec::Value(ValueConfig::default()),
        ];
        if with_oracle {
            v.push(PolicySpec::Oracle(OracleConfig::default()));
        }
        v
    }

    /// Parses a name (`no-bet`, `random`, `favourite`, `value`, `oracle`, `drqn`) with default
    /// settings.
    pub fn parse(name: &str, seed: u64) -> anyhow::Result<PolicySpec> {
        Ok(match name {
            "no-bet" => PolicySpec::NoBet,
            "random" => PolicySpec::Random(RandomConfig {
                seed,
                ..RandomConfig::default()
            }),
            "favourite" => PolicySpec::Favourite(FavouriteConfig::default()),
            "value" => PolicySpec::Value(ValueConfig::default()),
            "oracle" => PolicySpec::Oracle(OracleConfig::default()),
            "drqn" => PolicySpec::Drqn(DrqnPolicyConfig {
                seed,
                ..DrqnPolicyConfig::default()
            }),
            other => anyhow::bail!(
                "unknown policy {other:?} (known: no-bet, random, favourite, value, oracle, drqn)"
            ),
        })
    }

    /// Builds the policy. The oracle without a truth channel is an error.
    pub fn build(&self, truth: Option<&Arc<Truth>>) -> anyhow::Result<Box<dyn Policy>> {
        Ok(match self {
            PolicySpec::NoBet => Box::new(baselines::NoBet),
            PolicySpec::Random(c) => Box::new(baselines::RandomPolicy::new(c.clone())),
            PolicySpec::Favourite(c) => Box::new(baselines::Favourite::new(c.clone())),
            PolicySpec::Value(c) => Box::new(baselines::Value::new(c.clone())),
            PolicySpec::Oracle(c) => {
                let truth = truth.ok_or_else(|| {
                    anyhow::anyhow!(
                        "the oracle policy needs the simulator's truth channel (--truth FILE)"
                    )
                })?;
                Box::new(baselines::Oracle::new(c.clone(), truth.clone()))
            }
            PolicySpec::Scripted(bets) => Box::new(Scripted {
                bets: bets.clone(),
                next: 0,
            }),
            PolicySpec::Drqn(c) => Box::new(DrqnPolicy::from_config(c.clone())?),
        })
    }
}

/// Places its script's bets at their times.
struct Scripted {
    bets: Vec<ScriptedBet>,
    next: usize,
}

impl Policy for Scripted {
    fn decide(&mut self, now: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        let mut out = Vec::new();
        while let Some(b) = self.bets.get(self.next).filter(|b| b.at <= now) {
            out.push(Intent {
                legs: b.legs.clone(),
                stake: b.stake,
            });
            self.next += 1;
        }
        out
    }
}

/// The collections a policy's view is built from.
pub struct PolicyInputs<'scope> {
    pub fixtures: VecCollection<'scope, Time, (MatchId, Fixture)>,
    pub features: VecCollection<'scope, Time, (MatchId, FeatureVector)>,
    pub available: VecCollection<'scope, Time, (SelectionKey, Quote)>,
    pub ratings: VecCollection<'scope, Time, ((String, TeamId), TeamRating)>,
    pub leagues: VecCollection<'scope, Time, (String, LeagueAverages)>,
    pub results: VecCollection<'scope, Time, (MatchId, MatchResult)>,
    pub abandonments: VecCollection<'scope, Time, (MatchId, Abandonment)>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Change {
    Fixture(MatchId, Fixture),
    Feature(MatchId, FeatureVector),
    Quote(SelectionKey, Quote),
    Rating((String, TeamId), TeamRating),
    League(String, LeagueAverages),
    Result(MatchId, MatchResult),
    Abandoned(MatchId),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum RunnerInput {
    /// A view update at its own time.
    View(Change, Time, isize),
    Settled(BetId, Settled, isize),
}

/// Tags a collection's updates (each keeps its own time: the runner processes it then).
fn changes<'scope, D, F>(
    c: VecCollection<'scope, Time, D>,
    tag: F,
) -> StreamVec<'scope, Time, RunnerInput>
where
    D: Clone + 'static,
    F: Fn(D) -> Change + 'static,
{
    c.inner
        .map(move |(d, t, diff)| RunnerInput::View(tag(d), t, diff))
}

fn apply(view: &mut View, change: Change, diff: isize, changed: &mut BTreeSet<MatchId>) {
    fn upd<K: Ord, V>(map: &mut BTreeMap<K, V>, k: K, v: V, diff: isize) {
        if diff > 0 {
            map.insert(k, v);
        } else {
            map.remove(&k);
        }
    }
    match change {
        Change::Fixture(m, f) => upd(&mut view.fixtures, m, f, diff),
        Change::Feature(m, v) => {
            changed.insert(m);
            upd(&mut view.features, m, v, diff);
        }
        Change::Quote((m, mk, s), q) => {
            changed.insert(m);
            let quotes = view.quotes.entry(m).or_default();
            upd(quotes, (mk, s), q, diff);
            if quotes.is_empty() {
                view.quotes.remove(&m);
            }
        }
        Change::Rating(k, r) => upd(&mut view.ratings, k, r, diff),
        Change::League(k, a) => upd(&mut view.leagues, k, a, diff),
        Change::Result(m, r) => upd(&mut view.results, m, r, diff),
        Change::Abandoned(m) => {
            if diff > 0 {
                view.abandoned.insert(m);
            } else {
                view.abandoned.remove(&m);
            }
        }
    }
}

struct Hosted {
    id: PolicyId,
    policy: Box<dyn Policy>,
    account: Account,
    next_seq: u32,
}

/// Runs `policies` (policy `i` has id `i`) over the view built from `inputs`, with the settlement
/// changes `settled` as their reward stream. Returns the requests, each one `tick_ms` after its
/// decision. Building a policy can fail (the oracle without truth): the error comes back here.
pub fn run_policies<'scope>(
    inputs: PolicyInputs<'scope>,
    settled: StreamVec<'scope, Time, SettlementChange>,
    policies: &[PolicySpec],
    truth: Option<&Arc<Truth>>,
    bankroll: f64,
    tick_ms: u64,
) -> anyhow::Result<StreamVec<'scope, Time, BetRequest>> {
    let scope = settled.scope();
    let (index, peers) = (scope.index(), scope.peers());
    let mut hosted = Vec::new();
    for (i, spec) in policies.iter().enumerate() {
        if i % peers == index {
            hosted.push(Hosted {
                id: i as PolicyId,
                policy: spec.build(truth)?,
                account: Account {
                    start: bankroll,
                    settled_profit: 0.0,
                },
                next_seq: 0,
            });
        }
    }
    let view_changes = changes(inputs.fixtures, |(m, f)| Change::Fixture(m, f))
        .concat(changes(inputs.features, |(m, v)| Change::Feature(m, v)))
        .concat(changes(inputs.available, |(k, q)| Change::Quote(k, q)))
        .concat(changes(inputs.ratings, |(k, r)| Change::Rating(k, r)))
        .concat(changes(inputs.leagues, |(k, a)| Change::League(k, a)))
        .concat(changes(inputs.results, |(m, r)| Change::Result(m, r)))
        .concat(changes(inputs.abandonments, |(m, _)| Change::Abandoned(m)));
    // Every worker that hosts a policy needs the whole view.
    let view_changes = if peers > 1 {
        view_changes.broadcast()
    } else {
        view_changes
    };
    let n = peers as u64;
    let rewards = settled
        .map(|(b, s, d)| (b, s, d))
        .exchange(move |(b, _, _)| u64::from(b.policy) % n)
        .map(|(b, s, d)| RunnerInput::Settled(b, s, d));
    let mut view = View::default();
    let mut dropped = 0u64;
    let requests = view_changes.concat(rewards).in_time_order_by(
        Pipeline,
        "Policies",
        |x: &RunnerInput, t: &Time| match x {
            RunnerInput::View(_, time, _) => *time,
            RunnerInput::Settled(..) => *t,
        },
        move |now: &Time, data: Vec<RunnerInput>, out: &mut Vec<BetRequest>| {
            if hosted.is_empty() {
                return;
            }
            let mut view_updates: Vec<(Change, isize)> = Vec::new();
            let mut settlements = Vec::new();
            for x in data {
                match x {
                    RunnerInput::View(c, _, d) => view_updates.push((c, d)),
                    RunnerInput::Settled(b, s, d) => settlements.push((b, s, d)),
                }
            }
            // Net the updates first (in place, by sorting): a collection's batch can hold a +1/−1
            // pair for a row that never existed (a join's transient). Then retractions before
            // insertions: each key holds one value at a time.
            differential_dataflow::consolidation::consolidate(&mut view_updates);
            view_updates.sort_by_key(|(_, d)| *d);
            let mut changed = BTreeSet::new();
            for (c, d) in view_updates {
                apply(&mut view, c, d, &mut changed);
            }
            settlements.sort();
            for h in hosted.iter_mut() {
                for (b, s, d) in settlements.iter().filter(|(b, _, _)| b.policy == h.id) {
                    h.account.settled_profit += s.profit() * *d as f64;
                    h.policy.settled(*now, *b, s, *d);
                }
            }
            let changed: Vec<MatchId> = changed.into_iter().collect();
            for h in hosted.iter_mut() {
                let mut placed = Vec::new();
                for (i, intent) in h
                    .policy
                    .decide(*now, &view, &changed, &h.account)
                    .into_iter()
                    .enumerate()
                {
                    let legs: Option<Vec<Leg>> = intent
                        .legs
                        .iter()
                        .map(|(m, mk, s)| {
                            let q = view.quotes.get(m)?.get(&(*mk, *s))?;
                            Some(Leg {
                                match_id: *m,
                                market: *mk,
                                selection: *s,
                                price: q.price,
                                phase: q.phase,
                                modelled: q.modelled,
                                kickoff: view.fixtures.get(m).map(|f| f.kickoff).unwrap_or(0),
                            })
                        })
                        .collect();
                    let Some(legs) = legs else {
                        dropped += 1;
                        tracing::debug!(policy = h.id, dropped, "an intent without a quote");
                        continue;
                    };
                    let id = BetId {
                        policy: h.id,
                        seq: h.next_seq,
                    };
                    placed.push((i, id));
                    out.push(BetRequest {
                        id,
                        decided_at: *now,
                        stake: F64(intent.stake),
                        legs,
                    });
                    h.next_seq += 1;
                }
                if !placed.is_empty() {
                    h.policy.placed(*now, &placed);
                }
            }
        },
    );
    Ok(requests.delay(move |_, t| *t + tick_ms.max(1)))
}
