//! Baseline policies: no-bet, random, favourite, value, oracle.
//!
//! Every baseline is deterministic: maps are `BTreeMap`s iterated in key order, the changed
//! matches come in id order, and the random policy draws from a seeded `ChaCha8Rng` in a fixed
//! order. Stakes computed from a fraction of Kelly are floored to whole cents; a stake under 1.0
//! is not placed. "At most one bet per (match, market, selection, phase)" means the policy
//! remembers what it bet and skips that key for the rest of the run (a prematch bet does not stop
//! an in-play bet on the same selection).
//!
//! # [`NoBet`]
//! Never bets (the zero line of the tables).
//!
//! # [`RandomPolicy`] ([`RandomConfig`])
//! * **Reads** the changed matches and the available quotes (`view.quotes`).
//! * **Singles.** For each changed match that has quotes and fewer than `max_bets_per_match`
//!   singles so far, in id order: draw `u ~ U[0, 1)`; if `u < rate`, draw an index uniformly over
//!   the match's available quotes (in `(market, selection)` order) and back that selection at the
//!   flat `stake`. Only quotes priced at most `max_price` (10) are drawn: uniform over every
//!   correct score, the policy would bet mostly long shots whose variance drowns its ROI.
//! * **Coupons.** Then, once per call and only if `coupon_rate > 0`: draw `u`; if
//!   `u < coupon_rate` and at least two matches have quotes, draw the leg count `k` uniformly in
//!   {2, 3} (capped by the number of matches), pick `k` distinct matches uniformly among the
//!   matches with quotes (partial Fisher–Yates over their ids in id order) and, for each, a
//!   uniformly random available selection; stake the flat `stake`. Coupons do not count against
//!   `max_bets_per_match`.
//! * The draws happen in exactly this order, so the same seed and the same sequence of views give
//!   the same bets. The rates are per *call* (a call happens at every timestamp where anything
//!   changed), not per unit of time.
//!
//! # [`Favourite`] ([`FavouriteConfig`])
//! * **Reads** fixtures (league, kick-off), the 1X2 quotes.
//! * **When.** On the match's own clock: at the first change of *its own* view (a reprice, a
//!   status, a lineup) at a time `now` with `kickoff − minutes_before·60 s ≤ now < kickoff` at
//!   which all three `MatchOdds` selections (home, draw, away) are available in phase prematch.
//!   Once per match. Records of other matches never trigger it, so the price it takes does not
//!   depend on what else is in the feed (it used to bet at the first call of any match inside the
//!   window, which on the football-data walk-forward often meant the opening price). The
//!   default window, 25 min, is longer than the simulator's longest prematch reprice gap (20
//!   min), and holds the 5-min close of the football-data import; a match with no change of its
//!   own inside the window is not bet on.
//! * **What.** A single on the lowest price of the three (ties: home, then draw, then away) at the
//!   flat `stake`.
//! * **Which matches.** A match is *tracked* (by its fixture's kick-off) from the first call
//!   where it appears in `changed` with a fixture known; it is dropped once its kick-off has
//!   passed, and a new fixture version with another kick-off re-tracks it.
//!
//! # [`Value`] ([`ValueConfig`])
//! A Poisson goal model fitted incrementally from the aggregates the view carries (the team
//! ratings and league averages update as matches finish), compared with the bookmaker's
//! margin-free probabilities.
//! * **Prematch rates.** `λ_home = H · att_home · def_away`, `λ_away = A · att_away · def_home`,
//!   with `H`, `A` the league's home and away goals per match (`view.leagues`; 1.5 and 1.2 when
//!   the league is unknown or has no finished match) and `att`, `def` the teams' multiplicative
//!   strengths (`view.ratings`; 1.0 for a team without a rating). Goals are independent Poisson;
//!   an optional Dixon–Coles low-score correction (`dixon_coles_rho`, default 0 = off, because the
//!   simulator's goals are independent) multiplies the final-score cells 0-0, 1-0, 0-1, 1-1 by
//!   `1 − λₕλₐρ`, `1 + λₐρ`, `1 + λₕρ`, `1 − ρ` (prematch only) and renormalises.
//! * **In play** (when the match has a feature vector): the remaining goals of each side are
//!   Poisson with mean `λ_side · r · 0.72^(own reds) · 1.22^(opponent reds)` (the simulator's
//!   red-card factors), added to the current score. `r` is the share of the match's goal
//!   intensity still to come: play runs on the match clock over `[0, 47.5]` (45 + 2.5 stoppage)
//!   and `[45, 95]` (45 + 5 stoppage) — 97.5 minutes — with the intensity weighted by the
//!   simulator's late-goal profile `w(m) = 0.8 + 0.4·min(m, 90)/90` (mean 1 over 90 minutes):
//!   `r = W(remaining) / W(whole match)`, `W` the integral of `w`. Remaining play: first half at
//!   minute `m`: `[m, max(47.5, m + 1)] ∪ [45, 95]`; half time: `[45, 95]`; second half:
//!   `[m, max(95, m + 1)]` (a running half always has at least one more minute). The score state
//!   (a trailing side pushing) is not modelled.
//! * **Markets**: `MatchOdds`, `OverUnder` on half-goal lines (x.5; whole and quarter lines are
//!   skipped) and `Btts`, each only while every selection of the market is available. The model
//!   probabilities come from a grid of remaining goals (0–12 per side, the tail folded into 12).
//! * **Fair price.** The margin-free probability of a selection is its proportional
//!   normalisation over the market's available selections ([`margin_free_market`]).
//! * **Bet** a single on a selection when `p_model − p_fair > threshold` and the Kelly fraction
//!   `f = (p_model·price − 1)/(price − 1) > 0`; stake `min(kelly_fraction · f · bankroll,
//!   max_stake)` (bankroll = [`Account::bankroll`]: start plus settled profit), skipped under 1.0.
//!   In-play quotes are only bet with a feature vector (the live state) at hand.
//! * **Trust.** A match is only priced once both teams have played `min_played` (3) rated
//!   matches — before that the ratings are mostly their prior — and at most `max_bets_per_match`
//!   (2) bets are placed per match.
//! * Only the changed matches are evaluated (a prematch price moves every 8–20 min, a live match's
//!   features every few seconds); a change of the ratings alone does not trigger a decision.
//!
//! # [`Oracle`] ([`OracleConfig`], simulated feeds only)
//! * **Reads** the available quotes of the changed matches and the simulator's truth channel.
//! * For each available quote (every market), `p` = the truth last published strictly before
//!   `now + granularity_ms` ([`Truth::prob`]): the decision at the rounded time `now` sees every
//!   record with event time `< now + granularity`, and never a truth row with `ts ≥ now +
//!   granularity_ms`. Edge `= p·price − 1`; if `edge > min_edge`, a single with stake
//!   `min(kelly_fraction · edge/(price − 1) · bankroll, max_stake)`, skipped under 1.0.
//! * Every market is used. Double chance truth rows are plain win probabilities (they sum to 2
//!   over the market, but each is the probability that selection wins). Asian handicap rows are
//!   the push-adjusted `q = P(win)/(P(win) + P(lose))`: for a whole or half line the Kelly fraction
//!   with a push is exactly `(q·price − 1)/(price − 1)`; for a quarter line (the simulator's lines)
//!   `q` sums the two half-stakes' outcomes, so edge and Kelly are approximate (a half-win or
//!   half-loss counts as a full one); good enough for an upper-bound baseline.

mod value;

#[cfg(test)]
mod tests;

pub use value::ValueConfig;
pub(crate) use value::{GoalModel, Value, prematch_rates};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::availability::Quote;
use oddsflow_dataflows::model::{EventTime, MarketKind, MatchId, Phase, Selection};

use oddsflow_dataflows::policy::{Account, Intent, Policy, View};
use oddsflow_dataflows::pricing::margin::proportional;

use super::Truth;

/// The quotes of one match.
pub(crate) type MatchQuotes = BTreeMap<(MarketKind, Selection), Quote>;

/// The available selections of one market of a match, with their quotes, in selection order.
pub(crate) fn market_quotes(
    quotes: &MatchQuotes,
    market: MarketKind,
) -> impl Iterator<Item = (Selection, Quote)> + '_ {
    // `Home` is the first selection variant, so `(market, Home)` is the market's smallest key.
    quotes
        .range((market, Selection::Home)..)
        .take_while(move |((mk, _), _)| *mk == market)
        .map(|((_, s), q)| (*s, *q))
}

/// Margin-free probabilities of one market's *available* selections by proportional
/// normalisation: `pᵢ = (1/oᵢ) / Σⱼ 1/oⱼ`. Empty when the market has no quote or a price is not a
/// finite number above 1. The caller decides whether the selections present make the whole
/// market (a double chance market normalises to 1 here, though its probabilities sum to 2).
pub(crate) fn margin_free_market(
    quotes: &MatchQuotes,
    market: MarketKind,
) -> Vec<(Selection, f64)> {
    let (sels, prices): (Vec<Selection>, Vec<f64>) = market_quotes(quotes, market)
        .map(|(s, q)| (s, q.price.0))
        .unzip();
    proportional(&prices).map_or_else(Vec::new, |p| sels.into_iter().zip(p).collect())
}

/// Full Kelly fraction of a bet at decimal `price` that wins with probability `p`.
pub(crate) fn kelly(p: f64, price: f64) -> f64 {
    if price.is_nan() || price <= 1.0 {
        return 0.0;
    }
    (p * price - 1.0) / (price - 1.0)
}

/// `min(fraction · f · bankroll, max_stake)` floored to cents; `None` under 1.0.
fn kelly_stake(f: f64, fraction: f64, bankroll: f64, max_stake: f64) -> Option<f64> {
    let raw = (fraction * f * bankroll).min(max_stake);
    let stake = ((raw * 100.0) + 1e-9).floor() / 100.0;
    (stake.is_finite() && stake >= 1.0).then_some(stake)
}

/// Never bets.
pub(crate) struct NoBet;

impl Policy for NoBet {
    fn decide(&mut self, _: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        Vec::new()
    }
}

/// Settings of the random policy (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomConfig {
    /// Seed of its draws.
    pub seed: u64,
    /// Probability, per changed match and timestamp, of a single on a uniformly random available
    /// selection of that match.
    pub rate: f64,
    /// Flat stake.
    pub stake: f64,
    /// At most this many singles per match.
    pub max_bets_per_match: u32,
    /// Probability, per timestamp, of a coupon of 2–3 random available selections from
    /// different matches (0 turns coupons off).
    pub coupon_rate: f64,
    /// Only selections priced at most this are drawn (a uniform draw over every correct score
    /// would bet mostly long shots, whose variance drowns any ROI figure).
    pub max_price: f64,
}

impl Default for RandomConfig {
    fn default() -> Self {
        RandomConfig {
            seed: 0,
            rate: 0.005,
            stake: 5.0,
            max_bets_per_match: 3,
            coupon_rate: 0.002,
            max_price: 10.0,
        }
    }
}

/// Flat stakes on uniformly random available selections (see the module docs).
pub(crate) struct RandomPolicy {
    cfg: RandomConfig,
    rng: ChaCha8Rng,
    /// Singles placed per match.
    singles: BTreeMap<MatchId, u32>,
}

impl RandomPolicy {
    /// The policy with its generator seeded from `cfg.seed`.
    pub(crate) fn new(cfg: RandomConfig) -> Self {
        RandomPolicy {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            cfg,
            singles: BTreeMap::new(),
        }
    }

    /// A uniformly random available selection of a match priced at most `max_price`.
    fn pick(
        rng: &mut ChaCha8Rng,
        quotes: &MatchQuotes,
        max_price: f64,
    ) -> Option<(MarketKind, Selection)> {
        let eligible: Vec<(MarketKind, Selection)> = quotes
            .iter()
            .filter(|(_, q)| q.price.0 <= max_price)
            .map(|(k, _)| *k)
            .collect();
        if eligible.is_empty() {
            return None;
        }
        let i = rng.random_range(0..eligible.len());
        Some(eligible[i])
    }
}

impl Policy for RandomPolicy {
    fn decide(&mut self, _: Time, view: &View, changed: &[MatchId], _: &Account) -> Vec<Intent> {
        let mut out = Vec::new();
        for &m in changed {
            let Some(quotes) = view.quotes.get(&m).filter(|q| !q.is_empty()) else {
                continue;
            };
            let placed = self.singles.entry(m).or_insert(0);
            if *placed >= self.cfg.max_bets_per_match {
                continue;
            }
            if self.rng.random::<f64>() >= self.cfg.rate {
                continue;
            }
            if let Some((mk, s)) = Self::pick(&mut self.rng, quotes, self.cfg.max_price) {
                out.push(Intent::single(m, mk, s, self.cfg.stake));
                *placed += 1;
            }
        }
        if self.cfg.coupon_rate > 0.0 && self.rng.random::<f64>() < self.cfg.coupon_rate {
            let mut ids: Vec<MatchId> = view
                .quotes
                .iter()
                .filter(|(_, q)| !q.is_empty())
                .map(|(m, _)| *m)
                .collect();
            if ids.len() >= 2 {
                let k = self.rng.random_range(2..=3usize).min(ids.len());
                for i in 0..k {
                    let j = self.rng.random_range(i..ids.len());
                    ids.swap(i, j);
                }
                let mut legs = Vec::with_capacity(k);
                for m in &ids[..k] {
                    if let Some((mk, s)) = view
                        .quotes
                        .get(m)
                        .and_then(|q| Self::pick(&mut self.rng, q, self.cfg.max_price))
                    {
                        legs.push((*m, mk, s));
                    }
                }
                if legs.len() == k {
                    out.push(Intent {
                        legs,
                        stake: self.cfg.stake,
                    });
                }
            }
        }
        out
    }
}

/// Settings of the favourite policy (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FavouriteConfig {
    /// Flat stake.
    pub stake: f64,
    /// Bet at the first decision within this many minutes before kick-off.
    pub minutes_before: u64,
}

impl Default for FavouriteConfig {
    fn default() -> Self {
        FavouriteConfig {
            stake: 10.0,
            minutes_before: 25,
        }
    }
}

/// Backs the prematch 1X2 favourite shortly before kick-off (see the module docs).
pub(crate) struct Favourite {
    cfg: FavouriteConfig,
    /// The kick-off each seen match was tracked with.
    kickoff: BTreeMap<MatchId, EventTime>,
    /// Matches not bet yet whose kick-off was in the future when last seen: (kick-off, match).
    pending: BTreeSet<(EventTime, MatchId)>,
    done: BTreeSet<MatchId>,
}

impl Favourite {
    /// The policy, tracking no match yet.
    pub(crate) fn new(cfg: FavouriteConfig) -> Self {
        Favourite {
            cfg,
            kickoff: BTreeMap::new(),
            pending: BTreeSet::new(),
            done: BTreeSet::new(),
        }
    }

    /// The lowest-priced 1X2 selection if all three are available prematch.
    fn favourite(quotes: &MatchQuotes) -> Option<Selection> {
        let mut best: Option<(Selection, f64)> = None;
        for s in [Selection::Home, Selection::Draw, Selection::Away] {
            let q = quotes.get(&(MarketKind::MatchOdds, s))?;
            if q.phase != Phase::Prematch {
                return None;
            }
            if best.is_none_or(|(_, p)| q.price.0 < p) {
                best = Some((s, q.price.0));
            }
        }
        best.map(|(s, _)| s)
    }
}

impl Policy for Favourite {
    fn decide(&mut self, now: Time, view: &View, changed: &[MatchId], _: &Account) -> Vec<Intent> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        for &m in changed {
            if self.done.contains(&m) {
                continue;
            }
            let Some(k) = view.fixtures.get(&m).map(|f| f.kickoff) else {
                continue;
            };
            if let Some(old) = self.kickoff.insert(m, k) {
                if old == k {
                    continue;
                }
                self.pending.remove(&(old, m));
            }
            if k > now {
                self.pending.insert((k, m));
            }
        }
        // Kick-off passed: too late.
        while self.pending.first().is_some_and(|(k, _)| *k <= now) {
            self.pending.pop_first();
        }
        let window = i64::try_from(self.cfg.minutes_before.saturating_mul(60_000)).unwrap_or(0);
        if window <= 0 {
            return Vec::new();
        }
        let due: Vec<(EventTime, MatchId)> = self
            .pending
            .range((now.saturating_add(1), 0)..=(now.saturating_add(window), MatchId::MAX))
            .copied()
            .collect();
        let mut out = Vec::new();
        for (k, m) in due {
            // On the match's own clock: at a change of its own view inside the window, never
            // because records of another match arrived.
            if changed.binary_search(&m).is_err() {
                continue;
            }
            let Some(s) = view.quotes.get(&m).and_then(Self::favourite) else {
                continue;
            };
            out.push(Intent::single(m, MarketKind::MatchOdds, s, self.cfg.stake));
            self.pending.remove(&(k, m));
            self.done.insert(m);
        }
        out
    }
}

/// Settings of the oracle policy (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OracleConfig {
    /// Bet when `p · price − 1` exceeds this.
    pub min_edge: f64,
    /// Fraction of the Kelly stake.
    pub kelly_fraction: f64,
    /// Largest stake.
    pub max_stake: f64,
    /// The runtime's time granularity (ms): a decision at the rounded time `now` reads truth rows
    /// with `ts < now + granularity_ms`.
    pub granularity_ms: u64,
    /// Only selections priced at most this (long shots add variance, not information).
    pub max_price: f64,
}

impl Default for OracleConfig {
    fn default() -> Self {
        OracleConfig {
            min_edge: 0.03,
            kelly_fraction: 0.25,
            max_stake: 50.0,
            granularity_ms: 1000,
            max_price: 20.0,
        }
    }
}

/// Bets the true edge from the simulator's truth channel (see the module docs).
pub(crate) struct Oracle {
    cfg: OracleConfig,
    truth: Arc<Truth>,
    placed: BTreeSet<(MatchId, MarketKind, Selection, Phase)>,
}

impl Oracle {
    /// The policy over a truth channel.
    pub(crate) fn new(cfg: OracleConfig, truth: Arc<Truth>) -> Self {
        Oracle {
            cfg,
            truth,
            placed: BTreeSet::new(),
        }
    }
}

impl Policy for Oracle {
    fn decide(
        &mut self,
        now: Time,
        view: &View,
        changed: &[MatchId],
        account: &Account,
    ) -> Vec<Intent> {
        let before =
            i64::try_from(now.saturating_add(self.cfg.granularity_ms.max(1))).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for &m in changed {
            let Some(quotes) = view.quotes.get(&m) else {
                continue;
            };
            for (&(market, s), q) in quotes {
                let key = (m, market, s, q.phase);
                if self.placed.contains(&key) {
                    continue;
                }
                let Some(p) = self.truth.prob(m, market, s, before) else {
                    continue;
                };
                let price = q.price.0;
                if price > self.cfg.max_price {
                    continue;
                }
                let edge = p * price - 1.0;
                if edge.is_nan() || edge <= self.cfg.min_edge {
                    continue;
                }
                let Some(stake) = kelly_stake(
                    kelly(p, price),
                    self.cfg.kelly_fraction,
                    account.bankroll(),
                    self.cfg.max_stake,
                ) else {
                    continue;
                };
                self.placed.insert(key);
                out.push(Intent::single(m, market, s, stake));
            }
        }
        out
    }
}
