//! The virtual bookmaker: bet requests in, acceptance decisions and settlements out.
//!
//! ```text
//!  requests ─(re-time: + in-play delay)─┬─► legs ─lookup_as_of(markets, odds)─► leg checks ─┐
//!  (from the policies)                  └──────────────────────────────────────────────────┤
//!  settlement changes (fed back, + 1 tick) ─────────────────────────────────────────────────┴─► Book
//!                                                                                    (per policy:
//!  results, abandonments, goals ─► facts latch ─► (match, MatchFacts)               limits, bankroll)
//!                                         │                                              │
//!                                         └──────────► join ◄── accepted legs ◄── decisions
//!                                                       │
//!                                           reduce by bet (coupon rule) ─► settlements ─► loop
//! ```
//!
//! **Acceptance.** A request reaches the bookmaker at its request time `r` (the policy decided
//! one tick earlier). A prematch request is decided at `r`; a request with an in-play leg at
//! `r + inplay_delay_ms` (5 s by default). At that time each leg is checked against its market
//! *as of then* ([`check_leg`]): the market must be open, list the selection and price it, the
//! price must not have fallen by more than `price_tolerance` (relative) below the price the policy
//! saw, and a leg timed as prematch must still find its market prematch. The bet is taken at the
//! current price. Then the policy's [`Book`] applies the limits (per bet, per match, per policy
//! exposure) and the bankroll: a stake is accepted only if the cash (bankroll minus open stakes)
//! covers it, so the bankroll never goes below zero at acceptance. Requests of one timestamp are
//! decided in bet-id order, after that timestamp's settlement changes: deterministic on any number
//! of workers.
//!
//! **Settlement.** Facts ([`MatchFacts`]) are latched per match when its result or abandonment
//! changes: the score, corners, abandonment and the sequence of valid goals as known then (goal
//! incidents retired with the match are not forgotten). Accepted legs join the facts; each leg
//! settles by [`crate::settlement::settle`], and a bet settles by the coupon rule (a single is a
//! one-leg coupon) once decided. A corrected result changes the facts, so the join retracts the
//! old settlement and adds the new one at the correction's time: the settlement collection's
//! change history is the audit trail. Settlement changes go round a feedback edge (one tick) to
//! the books (cash, exposure) and to the policies (their reward stream).

use std::collections::{BTreeMap, HashMap};

use differential_dataflow::{AsCollection, VecCollection};
use oddsflow_operators::{InTimeOrder, LookupAsOf};
use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::vec::{Delay, Filter, Map};
use timely::dataflow::operators::{Concat, ConnectLoop, Feedback};

use crate::Time;
use crate::ingest::{MatchState, route_match};
use crate::model::*;
use crate::settlement::{MatchFacts, Outcome, settle, settle_coupon};

/// A policy's index in the run's policy list.
pub type PolicyId = u16;

/// A bet's identity: its policy and the policy's request counter.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct BetId {
    pub policy: PolicyId,
    pub seq: u32,
}

/// One selection of a bet request, as the policy saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Leg {
    pub match_id: MatchId,
    pub market: MarketKind,
    pub selection: Selection,
    /// The price the policy saw.
    pub price: F64,
    /// The phase of the quote the policy saw: an in-play leg waits the in-play delay.
    pub phase: Phase,
    /// The quote the policy saw was a modelled price (see [`Odds::modelled`]): results on such
    /// legs are reported apart from results on real prices.
    pub modelled: bool,
    /// Kick-off of the leg's match (UTC ms; 0 when unknown), for match-day metrics.
    pub kickoff: EventTime,
}

/// A bet (one leg) or coupon (2–4 legs from different matches) a policy asks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BetRequest {
    pub id: BetId,
    /// When the policy decided (the request reaches the bookmaker one tick later).
    pub decided_at: Time,
    pub stake: F64,
    pub legs: Vec<Leg>,
}

impl BetRequest {
    pub fn in_play(&self) -> bool {
        self.legs.iter().any(|l| l.phase == Phase::InPlay)
    }
}

/// Why a request was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BetRejection {
    /// The market was suspended (or the selection had no price) at acceptance time.
    Suspended,
    /// The market was closed, gone, no longer lists the selection, or has left the phase the
    /// request was timed for.
    Closed,
    /// The price fell by more than the tolerance.
    PriceMoved,
    OverBetLimit,
    OverMatchLimit,
    OverExposureLimit,
    /// The cash left does not cover the stake.
    Bankroll,
    /// Not a bet: a stake that is not a positive number, no legs or more than four, or two legs
    /// of one match in a coupon.
    Invalid,
}

impl BetRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            BetRejection::Suspended => "suspended",
            BetRejection::Closed => "closed",
            BetRejection::PriceMoved => "price_moved",
            BetRejection::OverBetLimit => "over_bet_limit",
            BetRejection::OverMatchLimit => "over_match_limit",
            BetRejection::OverExposureLimit => "over_exposure_limit",
            BetRejection::Bankroll => "bankroll",
            BetRejection::Invalid => "invalid",
        }
    }
}

/// A leg as the bookmaker took it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AcceptedLeg {
    pub leg: Leg,
    /// The price taken: the market's price at acceptance.
    pub price: F64,
    /// The phase of the market at acceptance.
    pub phase: Phase,
    /// The market's selections at acceptance, for correct score (its `any_other` settles
    /// against them); empty for other markets.
    pub listed: Vec<Selection>,
}

/// The bookmaker's answer to one request, at the acceptance time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Decision {
    pub request: BetRequest,
    /// When it was decided (the acceptance time).
    pub at: Time,
    pub verdict: Result<Vec<AcceptedLeg>, BetRejection>,
}

/// The settlement of a bet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Settled {
    pub stake: F64,
    /// Multiple of the stake returned.
    pub payout: F64,
    /// Each leg's outcome (`None`: not settled yet — a coupon lost on another leg).
    pub outcomes: Vec<Option<Outcome>>,
}

impl Settled {
    pub fn returned(&self) -> f64 {
        self.stake.0 * self.payout.0
    }
    pub fn profit(&self) -> f64 {
        self.stake.0 * (self.payout.0 - 1.0)
    }
}

/// A change of the settlement collection: `+1` a settlement, `−1` one retracted by a correction.
pub type SettlementChange = (BetId, Settled, isize);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookmakerConfig {
    /// How long an in-play request waits before it is checked, in ms of event time.
    pub inplay_delay_ms: u64,
    /// How far (relative) the price may have fallen below the price seen: 0.02 = 2 %.
    pub price_tolerance: f64,
    /// Each policy's starting bankroll.
    pub bankroll: f64,
    /// Largest stake of one bet.
    pub max_stake: f64,
    /// Largest open stake on one match (a coupon counts against each of its matches).
    pub max_match_exposure: f64,
    /// Largest open stake of one policy.
    pub max_exposure: f64,
    /// A match with neither a result nor an abandonment this long (ms of event time) after its
    /// kick-off can no longer settle: its bets are void as [`Outcome::NoResult`] (a later result
    /// re-settles them, like a correction).
    #[serde(default = "default_settle_deadline")]
    pub settle_deadline_ms: u64,
}

fn default_settle_deadline() -> u64 {
    7 * 86_400_000
}

impl Default for BookmakerConfig {
    fn default() -> Self {
        BookmakerConfig {
            inplay_delay_ms: 5_000,
            price_tolerance: 0.02,
            bankroll: 1_000.0,
            max_stake: 100.0,
            max_match_exposure: 200.0,
            max_exposure: 1_000.0,
            settle_deadline_ms: default_settle_deadline(),
        }
    }
}

/// What the acceptance check reads about one market, keyed by `(match, market)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MarketFact {
    Definition {
        status: MarketStatus,
        phase: Phase,
        selections: Vec<Selection>,
    },
    Price(Selection, F64),
}

/// The markets and prices of every match, keyed by `(match, market)`.
pub fn market_facts<'scope>(
    state: &MatchState<'scope>,
) -> VecCollection<'scope, Time, ((MatchId, MarketKind), MarketFact)> {
    let definitions = state.markets.clone().map(|(m, mk)| {
        (
            (m, mk.market),
            MarketFact::Definition {
                status: mk.status,
                phase: mk.phase,
                selections: mk.selections,
            },
        )
    });
    let prices = state
        .odds
        .clone()
        .map(|(m, o)| ((m, o.market), MarketFact::Price(o.selection, o.price)));
    definitions.concat(prices)
}

/// Checks one leg against its market's facts as of acceptance. `timed_as_prematch`: the request
/// was decided without the in-play delay, so its market must still be prematch.
pub fn check_leg(
    leg: &Leg,
    facts: &[MarketFact],
    price_tolerance: f64,
    timed_as_prematch: bool,
) -> Result<AcceptedLeg, BetRejection> {
    let definition = facts.iter().find_map(|f| match f {
        MarketFact::Definition {
            status,
            phase,
            selections,
        } => Some((*status, *phase, selections)),
        MarketFact::Price(..) => None,
    });
    let Some((status, phase, selections)) = definition else {
        return Err(BetRejection::Closed);
    };
    match status {
        MarketStatus::Closed => return Err(BetRejection::Closed),
        MarketStatus::Suspended => return Err(BetRejection::Suspended),
        MarketStatus::Open => {}
    }
    if !selections.contains(&leg.selection) || (timed_as_prematch && phase == Phase::InPlay) {
        return Err(BetRejection::Closed);
    }
    let price = facts
        .iter()
        .find_map(|f| match f {
            MarketFact::Price(s, p) if *s == leg.selection => Some(*p),
            _ => None,
        })
        .ok_or(BetRejection::Suspended)?;
    if price.0 < leg.price.0 * (1.0 - price_tolerance) {
        return Err(BetRejection::PriceMoved);
    }
    let listed = if leg.market == MarketKind::CorrectScore {
        selections.clone()
    } else {
        Vec::new()
    };
    Ok(AcceptedLeg {
        leg: *leg,
        price,
        phase,
        listed,
    })
}

/// Is this request a bet at all? (See [`BetRejection::Invalid`].)
pub fn is_valid(request: &BetRequest) -> bool {
    let mut matches: Vec<MatchId> = request.legs.iter().map(|l| l.match_id).collect();
    matches.sort_unstable();
    matches.dedup();
    request.stake.0.is_finite()
        && request.stake.0 > 0.0
        && (1..=4).contains(&request.legs.len())
        && matches.len() == request.legs.len()
}

/// One policy's account at the bookmaker: cash, open stakes and exposure, and the limits.
#[derive(Clone, Debug)]
pub struct Book {
    cfg: BookmakerConfig,
    /// Bankroll minus open stakes: starting bankroll − every accepted stake + every return.
    cash: f64,
    /// Every accepted bet: stake and matches.
    bets: HashMap<BetId, (f64, Vec<MatchId>)>,
    /// Net settlement count of each bet (0: open).
    settled: HashMap<BetId, isize>,
    match_exposure: HashMap<MatchId, f64>,
    exposure: f64,
}

impl Book {
    pub fn new(cfg: &BookmakerConfig) -> Self {
        Book {
            cfg: cfg.clone(),
            cash: cfg.bankroll,
            bets: HashMap::new(),
            settled: HashMap::new(),
            match_exposure: HashMap::new(),
            exposure: 0.0,
        }
    }

    pub fn cash(&self) -> f64 {
        self.cash
    }

    pub fn exposure(&self) -> f64 {
        self.exposure
    }

    fn expose(&mut self, bet: BetId, sign: f64) {
        if let Some((stake, matches)) = self.bets.get(&bet) {
            self.exposure += sign * stake;
            for m in matches {
                *self.match_exposure.entry(*m).or_insert(0.0) += sign * stake;
            }
        }
    }

    /// Applies a settlement change: the return comes into (or, retracted, goes out of) the
    /// cash; a bet with a settlement stops counting as exposure.
    pub fn apply_settlement(&mut self, bet: BetId, settled: &Settled, diff: isize) {
        self.cash += settled.returned() * diff as f64;
        let n = self.settled.entry(bet).or_insert(0);
        let was_open = *n <= 0;
        *n += diff;
        let is_open = *n <= 0;
        if *n == 0 {
            self.settled.remove(&bet);
        }
        match (was_open, is_open) {
            (true, false) => self.expose(bet, -1.0),
            (false, true) => self.expose(bet, 1.0),
            _ => {}
        }
    }

    /// Decides a request whose legs passed (or failed) their market checks.
    pub fn decide(
        &mut self,
        request: &BetRequest,
        legs: Result<Vec<AcceptedLeg>, BetRejection>,
    ) -> Result<Vec<AcceptedLeg>, BetRejection> {
        if !is_valid(request) {
            return Err(BetRejection::Invalid);
        }
        let legs = legs?;
        let stake = request.stake.0;
        if stake > self.cfg.max_stake {
            return Err(BetRejection::OverBetLimit);
        }
        let over_match = request.legs.iter().any(|l| {
            self.match_exposure.get(&l.match_id).copied().unwrap_or(0.0) + stake
                > self.cfg.max_match_exposure
        });
        if over_match {
            return Err(BetRejection::OverMatchLimit);
        }
        if self.exposure + stake > self.cfg.max_exposure {
            return Err(BetRejection::OverExposureLimit);
        }
        if stake > self.cash {
            return Err(BetRejection::Bankroll);
        }
        self.cash -= stake;
        self.bets.insert(
            request.id,
            (stake, request.legs.iter().map(|l| l.match_id).collect()),
        );
        if self.settled.get(&request.id).copied().unwrap_or(0) <= 0 {
            self.expose(request.id, 1.0);
        }
        Ok(legs)
    }
}

/// What the book operator reads, routed by policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum BookInput {
    Request(BetRequest),
    Leg(BetId, u8, Result<AcceptedLeg, BetRejection>),
    Settlement(BetId, Settled, isize),
}

impl BookInput {
    fn policy(&self) -> PolicyId {
        match self {
            BookInput::Request(r) => r.id.policy,
            BookInput::Leg(id, _, _) | BookInput::Settlement(id, _, _) => id.policy,
        }
    }
}

/// What the facts latch reads, routed by match.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum FactInput {
    Result(MatchId, MatchResult, isize),
    Abandoned(MatchId, isize),
    /// A fixture's kick-off (`+1` a version in, `−1` out).
    Kickoff(MatchId, EventTime, isize),
    /// The settlement deadline of a kick-off has passed.
    Deadline(MatchId, EventTime),
    /// A goal incident: id, clock, side credited, cancelled.
    Goal(MatchId, u32, i32, Side, bool, isize),
}

impl FactInput {
    fn match_id(&self) -> MatchId {
        match self {
            FactInput::Result(m, ..)
            | FactInput::Abandoned(m, _)
            | FactInput::Goal(m, ..)
            | FactInput::Kickoff(m, ..)
            | FactInput::Deadline(m, _) => *m,
        }
    }
}

#[derive(Default)]
struct FactState {
    results: BTreeMap<MatchResult, isize>,
    abandoned: isize,
    /// Goal incidents by id: (clock, side, cancelled).
    goals: BTreeMap<u32, (i32, Side, bool)>,
    /// The fixtures' kick-offs (by count of versions in), and those whose deadline passed.
    kickoffs: BTreeMap<EventTime, isize>,
    expired: std::collections::BTreeSet<EventTime>,
    latched: Option<MatchFacts>,
}

impl FactState {
    fn facts(&self) -> Option<MatchFacts> {
        let result = self.results.iter().find(|(_, n)| **n > 0).map(|(r, _)| r);
        let abandoned = self.abandoned > 0;
        if result.is_none() && !abandoned {
            // Past the current kick-off's deadline with nothing to settle on: void.
            let kickoff = self
                .kickoffs
                .iter()
                .rev()
                .find(|(_, n)| **n > 0)
                .map(|(k, _)| k);
            return kickoff
                .filter(|k| self.expired.contains(k))
                .map(|_| MatchFacts {
                    no_result: true,
                    ..MatchFacts::default()
                });
        }
        let mut goals: Vec<(i32, u32, Side)> = self
            .goals
            .iter()
            .filter(|(_, (_, _, cancelled))| !cancelled)
            .map(|(id, (clock, side, _))| (*clock, *id, *side))
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
}

/// The settlement facts of each match with a result or an abandonment, latched when either
/// changes (see the module docs).
pub fn match_facts<'scope>(
    state: &MatchState<'scope>,
    deadline_ms: u64,
) -> VecCollection<'scope, Time, (MatchId, MatchFacts)> {
    // Each update is processed at its own time (a collection's batch may travel with an
    // earlier capability).
    let results = state
        .results
        .clone()
        .inner
        .map(|((m, r), t, d)| (t, FactInput::Result(m, r, d)));
    let abandoned = state
        .abandonments
        .clone()
        .inner
        .map(|((m, _), t, d)| (t, FactInput::Abandoned(m, d)));
    let goals = state
        .incidents
        .clone()
        .inner
        .filter(|((_, i), _, _)| matches!(i.detail, IncidentDetail::Goal { .. }))
        .map(|((m, i), t, d)| {
            (
                t,
                FactInput::Goal(m, i.id, i.clock_s, i.side, i.cancelled, d),
            )
        });
    let kickoffs = state
        .fixtures
        .clone()
        .inner
        .map(|((m, f), t, d)| (t, FactInput::Kickoff(m, f.kickoff, d)));
    // Each kick-off's deadline, as an input at that time (or at once, for a fixture that
    // arrives after it).
    let deadlines = state
        .fixtures
        .clone()
        .inner
        .filter(|(_, _, d)| *d > 0)
        .map(move |((m, f), t, _)| {
            let at = (f.kickoff.max(0) as u64).saturating_add(deadline_ms).max(t);
            (at, FactInput::Deadline(m, f.kickoff))
        })
        .delay(|(at, _), _| *at);
    let mut matches: HashMap<MatchId, FactState> = HashMap::new();
    results
        .concat(abandoned)
        .concat(goals)
        .concat(kickoffs)
        .concat(deadlines)
        .in_time_order_by(
            Exchange::new(|(_, x): &(Time, FactInput)| route_match(&x.match_id())),
            "MatchFacts",
            |(t, _): &(Time, FactInput), _| *t,
            move |time: &Time,
                  data: Vec<(Time, FactInput)>,
                  out: &mut Vec<((MatchId, MatchFacts), Time, isize)>| {
                let mut data: Vec<FactInput> = data.into_iter().map(|(_, x)| x).collect();
                data.sort_by_key(|x| x.match_id());
                let mut touched: Vec<MatchId> = Vec::new();
                // Goals: a pure retraction (no new version at this time) is the match retiring,
                // not a correction: keep what was known.
                let mut goal_updates: BTreeMap<(MatchId, u32), Option<(i32, Side, bool)>> =
                    BTreeMap::new();
                for x in data {
                    let m = x.match_id();
                    let st = matches.entry(m).or_default();
                    match x {
                        FactInput::Result(_, r, d) => {
                            *st.results.entry(r).or_insert(0) += d;
                            st.results.retain(|_, n| *n != 0);
                            touched.push(m);
                        }
                        FactInput::Abandoned(_, d) => {
                            st.abandoned += d;
                            touched.push(m);
                        }
                        FactInput::Kickoff(_, k, d) => {
                            *st.kickoffs.entry(k).or_insert(0) += d;
                            st.kickoffs.retain(|_, n| *n != 0);
                            touched.push(m);
                        }
                        FactInput::Deadline(_, k) => {
                            st.expired.insert(k);
                            touched.push(m);
                        }
                        FactInput::Goal(_, id, clock, side, cancelled, d) => {
                            let slot = goal_updates.entry((m, id)).or_insert(None);
                            if d > 0 {
                                *slot = Some((clock, side, cancelled));
                            }
                        }
                    }
                }
                for ((m, id), update) in goal_updates {
                    if let (Some(g), Some(st)) = (update, matches.get_mut(&m)) {
                        st.goals.insert(id, g);
                    }
                }
                touched.dedup();
                for m in touched {
                    let Some(st) = matches.get_mut(&m) else {
                        continue;
                    };
                    let now = st.facts();
                    if now != st.latched {
                        if let Some(old) = st.latched.take() {
                            out.push(((m, old), *time, -1));
                        }
                        if let Some(new) = &now {
                            out.push(((m, new.clone()), *time, 1));
                        }
                        st.latched = now;
                    }
                }
            },
        )
        .as_collection()
}

/// One accepted leg, as the settlement join reads it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LegRow {
    pub bet: BetId,
    pub index: u8,
    pub legs: u8,
    pub stake: F64,
    pub price: F64,
    pub market: MarketKind,
    pub selection: Selection,
    pub listed: Vec<Selection>,
}

/// The legs of the accepted decisions, keyed by match.
pub fn accepted_legs(decision: &Decision) -> Vec<(MatchId, LegRow)> {
    let Ok(legs) = &decision.verdict else {
        return Vec::new();
    };
    legs.iter()
        .enumerate()
        .map(|(i, a)| {
            (
                a.leg.match_id,
                LegRow {
                    bet: decision.request.id,
                    index: i as u8,
                    legs: legs.len() as u8,
                    stake: decision.request.stake,
                    price: a.price,
                    market: a.leg.market,
                    selection: a.leg.selection,
                    listed: a.listed.clone(),
                },
            )
        })
        .collect()
}

/// Settles one leg against its match's facts. A selection its market does not list (which
/// acceptance never takes) settles void: the stake back.
pub fn settle_leg(row: &LegRow, facts: &MatchFacts) -> Outcome {
    settle(row.market, row.selection, &row.listed, facts).unwrap_or(Outcome::Void)
}

/// Settles a bet from its legs' outcomes, once decided (the coupon rule).
pub fn settle_bet(
    stake: F64,
    legs: usize,
    outcomes: impl IntoIterator<Item = (u8, F64, Outcome)>,
) -> Option<Settled> {
    let mut table: Vec<(f64, Option<Outcome>)> = vec![(1.0, None); legs];
    for (i, price, o) in outcomes {
        if let Some(slot) = table.get_mut(usize::from(i)) {
            *slot = (price.0, Some(o));
        }
    }
    let payout = settle_coupon(&table)?;
    Some(Settled {
        stake,
        payout: F64(payout),
        outcomes: table.into_iter().map(|(_, o)| o).collect(),
    })
}

/// The settlement dataflow: accepted legs ⋈ facts, reduced by bet.
pub fn settlements<'scope>(
    legs: VecCollection<'scope, Time, (MatchId, LegRow)>,
    facts: VecCollection<'scope, Time, (MatchId, MatchFacts)>,
) -> VecCollection<'scope, Time, (BetId, Settled)> {
    legs.join_map(facts, |_, row, facts| {
        (
            row.bet,
            (
                row.index,
                row.legs,
                row.stake,
                row.price,
                settle_leg(row, facts),
            ),
        )
    })
    .reduce_named("Settle", |_bet, input, output| {
        let Some(((_, legs, stake, _, _), _)) = input.first() else {
            return;
        };
        let outcomes = input
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|((i, _, _, price, o), _)| (*i, *price, *o));
        if let Some(s) = settle_bet(*stake, usize::from(*legs), outcomes) {
            output.push((s, 1));
        }
    })
}

/// The bookmaker's outputs.
pub struct Betting<'scope> {
    /// Requests at the time they reach the bookmaker.
    pub requests: StreamVec<'scope, Time, BetRequest>,
    /// Every request's decision, at its acceptance time.
    pub decisions: StreamVec<'scope, Time, Decision>,
    pub facts: VecCollection<'scope, Time, (MatchId, MatchFacts)>,
    pub settlements: VecCollection<'scope, Time, (BetId, Settled)>,
}

/// Builds the bookmaker around `policies`, which is given the settlement changes (one tick after
/// they happen: its reward stream) and returns the bet requests, each at the time it reaches the
/// bookmaker (after the decision, so at least one tick after the inputs it was decided on).
pub fn betting<'scope, P>(
    state: &MatchState<'scope>,
    cfg: &BookmakerConfig,
    tick_ms: u64,
    policies: P,
) -> Betting<'scope>
where
    P: FnOnce(StreamVec<'scope, Time, SettlementChange>) -> StreamVec<'scope, Time, BetRequest>,
{
    let scope = state.results.inner.scope();
    let (loop_handle, fed_back) = scope.feedback::<Vec<SettlementChange>>(tick_ms.max(1));
    let requests = policies(fed_back.clone());
    let delay = cfg.inplay_delay_ms;
    let timed =
        requests.delay(move |r: &BetRequest, t: &Time| if r.in_play() { *t + delay } else { *t });
    let tolerance = cfg.price_tolerance;
    let leg_checks = timed
        .clone()
        .flat_map(|r| {
            let prematch = !r.in_play();
            r.legs
                .iter()
                .enumerate()
                .map(|(i, l)| ((l.match_id, l.market), (r.id, i as u8, *l, prematch)))
                .collect::<Vec<_>>()
        })
        .lookup_as_of(market_facts(state), "MarketAsOf", |k| route_match(&k.0))
        .map(move |(_, (id, i, leg, prematch), facts)| {
            BookInput::Leg(id, i, check_leg(&leg, &facts, tolerance, prematch))
        });
    let book_cfg = cfg.clone();
    let mut books: BTreeMap<PolicyId, Book> = BTreeMap::new();
    let decisions = timed
        .clone()
        .map(BookInput::Request)
        .concat(leg_checks)
        .concat(fed_back.map(|(b, s, d)| BookInput::Settlement(b, s, d)))
        .in_time_order(
            Exchange::new(|x: &BookInput| u64::from(x.policy())),
            "Book",
            move |time: &Time, data: Vec<BookInput>, out: &mut Vec<Decision>| {
                let mut requests = Vec::new();
                let mut checks: BTreeMap<BetId, BTreeMap<u8, Result<AcceptedLeg, BetRejection>>> =
                    BTreeMap::new();
                let mut settled = Vec::new();
                for x in data {
                    match x {
                        BookInput::Request(r) => requests.push(r),
                        BookInput::Leg(id, i, c) => {
                            checks.entry(id).or_default().insert(i, c);
                        }
                        BookInput::Settlement(b, s, d) => settled.push((b, s, d)),
                    }
                }
                settled.sort();
                for (b, s, d) in settled {
                    books
                        .entry(b.policy)
                        .or_insert_with(|| Book::new(&book_cfg))
                        .apply_settlement(b, &s, d);
                }
                requests.sort();
                for r in requests {
                    let mut legs = checks.remove(&r.id).unwrap_or_default();
                    let checked: Result<Vec<AcceptedLeg>, BetRejection> = (0..r.legs.len())
                        .map(|i| legs.remove(&(i as u8)).unwrap_or(Err(BetRejection::Closed)))
                        .collect();
                    let book = books
                        .entry(r.id.policy)
                        .or_insert_with(|| Book::new(&book_cfg));
                    let verdict = book.decide(&r, checked);
                    out.push(Decision {
                        request: r,
                        at: *time,
                        verdict,
                    });
                }
            },
        );
    let legs = decisions
        .clone()
        .flat_map(|d| {
            let at = d.at;
            accepted_legs(&d)
                .into_iter()
                .map(move |row| (row, at, 1isize))
        })
        .as_collection();
    let facts = match_facts(state, cfg.settle_deadline_ms);
    let settled = settlements(legs, facts.clone());
    settled
        .clone()
        .consolidate()
        .inner
        .delay(|(_, t, _), _| *t)
        .map(|((b, s), _, d)| (b, s, d))
        .connect_loop(loop_handle);
    Betting {
        requests: timed,
        decisions,
        facts,
        settlements: settled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(price: f64, phase: Phase) -> Leg {
        Leg {
            match_id: 1,
            market: MarketKind::MatchOdds,
            selection: Selection::Home,
            price: F64(price),
            phase,
            modelled: false,
            kickoff: 0,
        }
    }

    fn market(status: MarketStatus, phase: Phase) -> Vec<MarketFact> {
        vec![
            MarketFact::Definition {
                status,
                phase,
                selections: vec![Selection::Home, Selection::Draw, Selection::Away],
            },
            MarketFact::Price(Selection::Home, F64(2.0)),
        ]
    }

    #[test]
    fn leg_checks_give_the_reason() {
        let open = market(MarketStatus::Open, Phase::Prematch);
        let ok = check_leg(&leg(2.0, Phase::Prematch), &open, 0.02, true).expect("accepted");
        assert_eq!(ok.price, F64(2.0));
        // The price fell from 2.1 to 2.0: more than 2 %.
        assert_eq!(
            check_leg(&leg(2.1, Phase::Prematch), &open, 0.02, true),
            Err(BetRejection::PriceMoved)
        );
        // Within the tolerance, taken at the current price.
        assert_eq!(
            check_leg(&leg(2.04, Phase::Prematch), &open, 0.02, true).map(|a| a.price),
            Ok(F64(2.0))
        );
        let suspended = market(MarketStatus::Suspended, Phase::InPlay);
        assert_eq!(
            check_leg(&leg(2.0, Phase::InPlay), &suspended, 0.02, false),
            Err(BetRejection::Suspended)
        );
        let closed = market(MarketStatus::Closed, Phase::InPlay);
        assert_eq!(
            check_leg(&leg(2.0, Phase::InPlay), &closed, 0.02, false),
            Err(BetRejection::Closed)
        );
        assert_eq!(
            check_leg(&leg(2.0, Phase::InPlay), &[], 0.02, false),
            Err(BetRejection::Closed),
            "no market"
        );
        // A prematch request that finds its market in play: the prematch market has closed.
        let inplay = market(MarketStatus::Open, Phase::InPlay);
        assert_eq!(
            check_leg(&leg(2.0, Phase::Prematch), &inplay, 0.02, true),
            Err(BetRejection::Closed)
        );
    }

    fn request(seq: u32, stake: f64, matches: &[MatchId]) -> BetRequest {
        BetRequest {
            id: BetId { policy: 0, seq },
            decided_at: 0,
            stake: F64(stake),
            legs: matches
                .iter()
                .map(|m| Leg {
                    match_id: *m,
                    ..leg(2.0, Phase::Prematch)
                })
                .collect(),
        }
    }

    fn ok_legs(r: &BetRequest) -> Result<Vec<AcceptedLeg>, BetRejection> {
        Ok(r.legs
            .iter()
            .map(|l| AcceptedLeg {
                leg: *l,
                price: l.price,
                phase: l.phase,
                listed: vec![],
            })
            .collect())
    }

    #[test]
    fn the_book_applies_limits_and_never_lets_the_bankroll_go_negative() {
        let cfg = BookmakerConfig {
            bankroll: 250.0,
            max_stake: 100.0,
            max_match_exposure: 150.0,
            max_exposure: 1_000.0,
            ..BookmakerConfig::default()
        };
        let mut book = Book::new(&cfg);
        let decide = |book: &mut Book, r: &BetRequest| book.decide(r, ok_legs(r)).map(|_| ());
        assert_eq!(
            decide(&mut book, &request(0, 101.0, &[1])),
            Err(BetRejection::OverBetLimit)
        );
        assert_eq!(decide(&mut book, &request(1, 100.0, &[1])), Ok(()));
        assert_eq!(
            decide(&mut book, &request(2, 60.0, &[1])),
            Err(BetRejection::OverMatchLimit)
        );
        assert_eq!(decide(&mut book, &request(3, 100.0, &[2])), Ok(()));
        // 50 left in cash.
        assert_eq!(
            decide(&mut book, &request(4, 60.0, &[3])),
            Err(BetRejection::Bankroll)
        );
        assert_eq!(
            decide(&mut book, &request(5, 10.0, &[3, 3])),
            Err(BetRejection::Invalid),
            "two legs of one match"
        );
        assert_eq!(
            decide(&mut book, &request(6, 0.0, &[3])),
            Err(BetRejection::Invalid)
        );
        // Bet 1 wins at 2.0: 200 back, match 1 exposure released.
        let won = Settled {
            stake: F64(100.0),
            payout: F64(2.0),
            outcomes: vec![Some(Outcome::Won)],
        };
        book.apply_settlement(BetId { policy: 0, seq: 1 }, &won, 1);
        assert_eq!(book.cash(), 250.0);
        assert_eq!(book.exposure(), 100.0);
        assert_eq!(decide(&mut book, &request(7, 100.0, &[1])), Ok(()));
        // A correction: bet 1 lost after all. The return goes back out; it stays settled.
        let lost = Settled {
            payout: F64(0.0),
            outcomes: vec![Some(Outcome::Lost)],
            ..won.clone()
        };
        book.apply_settlement(BetId { policy: 0, seq: 1 }, &won, -1);
        book.apply_settlement(BetId { policy: 0, seq: 1 }, &lost, 1);
        // The winnings it funded were staked already: a late correction is the one way below zero.
        assert_eq!(book.cash(), -50.0);
        assert_eq!(book.exposure(), 200.0);
        assert_eq!(
            decide(&mut book, &request(8, 1.0, &[4])),
            Err(BetRejection::Bankroll),
            "nothing is accepted while the cash is below zero"
        );
    }

    #[test]
    fn coupons_settle_once_decided() {
        let s = settle_bet(F64(10.0), 3, [(1, F64(1.5), Outcome::Lost)]).expect("decided");
        assert_eq!(s.payout, F64(0.0));
        assert_eq!(s.outcomes, vec![None, Some(Outcome::Lost), None]);
        assert_eq!(
            settle_bet(F64(10.0), 2, [(0, F64(2.0), Outcome::Won)]),
            None
        );
        let s = settle_bet(
            F64(10.0),
            2,
            [(0, F64(2.0), Outcome::Won), (1, F64(3.0), Outcome::Void)],
        )
        .expect("decided");
        assert_eq!(s.returned(), 20.0);
        assert_eq!(s.profit(), 10.0);
    }
}
