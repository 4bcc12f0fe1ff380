//! The policy interface and its runner: strategies that watch the live view of the world and ask
//! the bookmaker for bets. Which policies exist (baselines, the learner) is the runtime's
//! registry; this module knows none of them.
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
//! [`crate::bookmaker`]). An intent naming a selection with no quote in the view is
//! dropped (counted in the run's log).
//!
//! **Determinism.** Each policy lives on one worker ([`hosts`]: `policy id mod workers`), sees the whole
//! view there, and is called once per timestamp with the changed matches in id order; its
//! randomness is seeded. So its requests are the same on any number of workers and processes.

use std::collections::{BTreeMap, BTreeSet};

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::core::OkErr;
use timely::dataflow::operators::vec::{Broadcast, Delay, Map};
use timely::dataflow::operators::{Concat, Exchange};

use oddsflow_operators::InTimeOrder;

use crate::Time;
use crate::availability::{Quote, SelectionKey};
use crate::bookmaker::{BetId, BetRequest, Leg, PolicyId, Settled, SettlementChange};
use crate::features::FeatureVector;
use crate::model::{
    Abandonment, F64, Fixture, MarketKind, MatchId, MatchResult, Selection, TeamId,
};
use crate::ratings::{LeagueAverages, TeamRating};

/// What a policy sees at the timestamp it decides.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// Every fixture seen (the cross-match archive keeps them after a match retires).
    pub fixtures: BTreeMap<MatchId, Fixture>,
    /// The feature vector of each live match.
    pub features: BTreeMap<MatchId, FeatureVector>,
    /// The available quotes of each match: what can be bet on now, at what price.
    pub quotes: BTreeMap<MatchId, BTreeMap<(MarketKind, Selection), Quote>>,
    /// Team ratings by (league, team), from matches finished before now.
    pub ratings: BTreeMap<(String, TeamId), TeamRating>,
    /// League averages by league.
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
    /// The starting bankroll.
    pub start: f64,
    /// The profit of the policy's settled bets so far.
    pub settled_profit: f64,
}

impl Account {
    /// What the policy has now: `start + settled_profit`.
    pub fn bankroll(&self) -> f64 {
        self.start + self.settled_profit
    }
}

/// A bet a policy wants: one leg (a single) or 2–4 legs from different matches (a coupon).
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    /// The legs: (match, market, selection).
    pub legs: Vec<(MatchId, MarketKind, Selection)>,
    /// The stake, in money.
    pub stake: f64,
}

impl Intent {
    /// A single bet.
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

/// A policy as the runner hosts it: one that may also emit records of type `E` beside its bets
/// (a learner's finished episodes, which its trainer gathers as an output of the run). Most
/// policies emit nothing and keep the default.
pub trait Emits<E>: Policy {
    /// What the policy emitted since the last call (called after each `decide`).
    fn emit(&mut self) -> Vec<E> {
        Vec::new()
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
enum ViewChange {
    Fixture(MatchId, Fixture),
    Feature(MatchId, FeatureVector),
    Quote(SelectionKey, Quote),
    Rating((String, TeamId), TeamRating),
    League(String, LeagueAverages),
    Result(MatchId, MatchResult),
    Abandoned(MatchId),
}

/// What the runner produces: a request, or a record a policy emitted.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum RunnerOutput<E> {
    Request(BetRequest),
    Emitted((PolicyId, u64), E),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum RunnerInput {
    /// A view update at its own time.
    View(ViewChange, Time, isize),
    Settled(BetId, Settled, isize),
}

/// Tags a collection's updates (each keeps its own time: the runner processes it then).
fn changes<'scope, D, F>(
    c: VecCollection<'scope, Time, D>,
    tag: F,
) -> StreamVec<'scope, Time, RunnerInput>
where
    D: Clone + 'static,
    F: Fn(D) -> ViewChange + 'static,
{
    c.inner
        .map(move |(d, t, diff)| RunnerInput::View(tag(d), t, diff))
}

fn apply(view: &mut View, change: ViewChange, diff: isize, changed: &mut BTreeSet<MatchId>) {
    fn upd<K: Ord, V>(map: &mut BTreeMap<K, V>, k: K, v: V, diff: isize) {
        if diff > 0 {
            map.insert(k, v);
        } else {
            map.remove(&k);
        }
    }
    match change {
        ViewChange::Fixture(m, f) => upd(&mut view.fixtures, m, f, diff),
        ViewChange::Feature(m, v) => {
            changed.insert(m);
            upd(&mut view.features, m, v, diff);
        }
        ViewChange::Quote((m, mk, s), q) => {
            changed.insert(m);
            let quotes = view.quotes.entry(m).or_default();
            upd(quotes, (mk, s), q, diff);
            if quotes.is_empty() {
                view.quotes.remove(&m);
            }
        }
        ViewChange::Rating(k, r) => upd(&mut view.ratings, k, r, diff),
        ViewChange::League(k, a) => upd(&mut view.leagues, k, a, diff),
        ViewChange::Result(m, r) => upd(&mut view.results, m, r, diff),
        ViewChange::Abandoned(m) => {
            if diff > 0 {
                view.abandoned.insert(m);
            } else {
                view.abandoned.remove(&m);
            }
        }
    }
}

struct HostedPolicy<E> {
    id: PolicyId,
    policy: Box<dyn Emits<E>>,
    account: Account,
    next_seq: u32,
    /// Records emitted so far.
    emitted: u64,
}

/// Whether the policy with id `policy` lives on worker `index` of `peers`: each policy is hosted
/// by exactly one worker, so that it is called once per timestamp wherever the run is.
pub fn hosts(policy: PolicyId, index: usize, peers: usize) -> bool {
    policy as usize % peers.max(1) == index
}

/// What [`run_policies`] produces.
pub struct PolicyStreams<'scope, E> {
    /// The bet requests, each one tick after its decision.
    pub requests: StreamVec<'scope, Time, BetRequest>,
    /// What the policies emitted ([`Emits::emit`]), tagged `(policy, number)`: the number
    /// counts that policy's records, so gathering them in that order is deterministic.
    pub emitted: StreamVec<'scope, Time, ((PolicyId, u64), E)>,
}

/// Runs the policies this worker hosts (`(id, policy)` for each id that [`hosts`] places here)
/// over the view built from `inputs`, with the settlement changes `settled` as their reward
/// stream. Returns the requests, each one `tick_ms` after its decision, and what the policies
/// emitted.
pub fn run_policies<'scope, E: timely::ExchangeData + Clone>(
    inputs: PolicyInputs<'scope>,
    settled: StreamVec<'scope, Time, SettlementChange>,
    policies: Vec<(PolicyId, Box<dyn Emits<E>>)>,
    bankroll: f64,
    tick_ms: u64,
) -> PolicyStreams<'scope, E> {
    let scope = settled.scope();
    let peers = scope.peers();
    let mut hosted: Vec<HostedPolicy<E>> = policies
        .into_iter()
        .map(|(id, policy)| HostedPolicy {
            id,
            policy,
            account: Account {
                start: bankroll,
                settled_profit: 0.0,
            },
            next_seq: 0,
            emitted: 0,
        })
        .collect();
    let view_changes = changes(inputs.fixtures, |(m, f)| ViewChange::Fixture(m, f))
        .concat(changes(inputs.features, |(m, v)| ViewChange::Feature(m, v)))
        .concat(changes(inputs.available, |(k, q)| ViewChange::Quote(k, q)))
        .concat(changes(inputs.ratings, |(k, r)| ViewChange::Rating(k, r)))
        .concat(changes(inputs.leagues, |(k, a)| ViewChange::League(k, a)))
        .concat(changes(inputs.results, |(m, r)| ViewChange::Result(m, r)))
        .concat(changes(inputs.abandonments, |(m, _)| {
            ViewChange::Abandoned(m)
        }));
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
    let out = view_changes.concat(rewards).in_time_order_by(
        Pipeline,
        "Policies",
        |x: &RunnerInput, t: &Time| match x {
            RunnerInput::View(_, time, _) => *time,
            RunnerInput::Settled(..) => *t,
        },
        move |now: &Time, data: Vec<RunnerInput>, out: &mut Vec<RunnerOutput<E>>| {
            if hosted.is_empty() {
                return;
            }
            let mut view_updates: Vec<(ViewChange, isize)> = Vec::new();
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
            let view_changed = !view_updates.is_empty();
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
                // A policy decides when the view changed or its own bets settled: never because
                // another policy's did, so its calls (and what it draws) do not depend on the
                // company it keeps or on which worker hosts it.
                if !view_changed && !settlements.iter().any(|(b, _, _)| b.policy == h.id) {
                    continue;
                }
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
                    out.push(RunnerOutput::Request(BetRequest {
                        id,
                        decided_at: *now,
                        stake: F64(intent.stake),
                        legs,
                    }));
                    h.next_seq += 1;
                }
                if !placed.is_empty() {
                    h.policy.placed(*now, &placed);
                }
                for e in h.policy.emit() {
                    out.push(RunnerOutput::Emitted((h.id, h.emitted), e));
                    h.emitted += 1;
                }
            }
        },
    );
    let (requests, emitted) = out.ok_err(|o| match o {
        RunnerOutput::Request(r) => Ok(r),
        RunnerOutput::Emitted(k, e) => Err((k, e)),
    });
    PolicyStreams {
        requests: requests.delay(move |_, t| *t + tick_ms.max(1)),
        emitted,
    }
}
