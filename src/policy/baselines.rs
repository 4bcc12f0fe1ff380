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
//! * **When.** At the first decision time `now` with `kickoff − minutes_before·60 s ≤ now <
//!   kickoff` at which all three `MatchOdds` selections (home, draw, away) are available in phase
//!   prematch. Once per match.
//! * **What.** A single on the lowest price of the three (ties: home, then draw, then away) at the
//!   flat `stake`.
//! * **Which matches.** Not only the changed ones: a match is *tracked* (by its fixture's
//!   kick-off) from the first call where it appears in `changed` with a fixture known, and every
//!   call scans the tracked matches whose kick-off lies in `(now, now + window]`, so a match whose
//!   prices do not move inside the window (prematch reprices come every 8–20 min, the default
//!   window is 15 min) is still bet on. A match is dropped once its kick-off has passed; a new
//!   fixture version with another kick-off re-tracks it.
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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::availability::Quote;
use oddsflow_dataflows::features::FeatureVector;
use oddsflow_dataflows::model::{
    EventTime, Fixture, MarketKind, MatchId, MatchStatus, Phase, Selection,
};
use oddsflow_dataflows::ratings::TeamRating;

use oddsflow_dataflows::policy::{Account, Intent, Policy, View};
use oddsflow_dataflows::pricing::goals::{dixon_coles_tau, goal_profile_cum, poisson_pmf};
use oddsflow_dataflows::pricing::inplay::{EXPECTED_STOPPAGE_MIN, red_factor};
use oddsflow_dataflows::pricing::margin::proportional;

use super::Truth;

/// The quotes of one match.
pub type MatchQuotes = BTreeMap<(MarketKind, Selection), Quote>;

/// The available selections of one market of a match, with their quotes, in selection order.
pub fn market_quotes(
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
pub fn margin_free_market(quotes: &MatchQuotes, market: MarketKind) -> Vec<(Selection, f64)> {
    let (sels, prices): (Vec<Selection>, Vec<f64>) = market_quotes(quotes, market)
        .map(|(s, q)| (s, q.price.0))
        .unzip();
    proportional(&prices).map_or_else(Vec::new, |p| sels.into_iter().zip(p).collect())
}

/// Full Kelly fraction of a bet at decimal `price` that wins with probability `p`.
pub fn kelly(p: f64, price: f64) -> f64 {
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
pub struct NoBet;

impl Policy for NoBet {
    fn decide(&mut self, _: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        Vec::new()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomConfig {
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
pub struct RandomPolicy {
    cfg: RandomConfig,
    rng: ChaCha8Rng,
    /// Singles placed per match.
    singles: BTreeMap<MatchId, u32>,
}

impl RandomPolicy {
    pub fn new(cfg: RandomConfig) -> Self {
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FavouriteConfig {
    pub stake: f64,
    /// Bet at the first decision within this many minutes before kick-off.
    pub minutes_before: u64,
}

impl Default for FavouriteConfig {
    fn default() -> Self {
        FavouriteConfig {
            stake: 10.0,
            minutes_before: 15,
        }
    }
}

/// Backs the prematch 1X2 favourite shortly before kick-off (see the module docs).
pub struct Favourite {
    cfg: FavouriteConfig,
    /// The kick-off each seen match was tracked with.
    kickoff: BTreeMap<MatchId, EventTime>,
    /// Matches not bet yet whose kick-off was in the future when last seen: (kick-off, match).
    pending: BTreeSet<(EventTime, MatchId)>,
    done: BTreeSet<MatchId>,
}

impl Favourite {
    pub fn new(cfg: FavouriteConfig) -> Self {
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueConfig {
    /// Bet when the model probability exceeds the margin-free probability by this much.
    pub threshold: f64,
    /// Fraction of the Kelly stake.
    pub kelly_fraction: f64,
    /// Largest stake.
    pub max_stake: f64,
    /// Dixon–Coles low-score dependence `ρ` of the prematch model (0: independent Poisson).
    pub dixon_coles_rho: f64,
    /// Bet a match only once both teams have played this many rated matches (early ratings are
    /// mostly the prior).
    pub min_played: u32,
    /// At most this many bets per match.
    pub max_bets_per_match: u32,
}

impl Default for ValueConfig {
    fn default() -> Self {
        ValueConfig {
            threshold: 0.03,
            kelly_fraction: 0.25,
            max_stake: 50.0,
            dixon_coles_rho: 0.0,
            min_played: 3,
            max_bets_per_match: 2,
        }
    }
}

/// League goals per match (home, away) when the league has no finished match.
pub const DEFAULT_LEAGUE_GOALS: [f64; 2] = [1.5, 1.2];
/// Remaining goals per side the score grid tracks (the tail is folded into the last cell).
const GRID: usize = 12;

fn profile_between(a: f64, b: f64) -> f64 {
    if b > a {
        goal_profile_cum(b) - goal_profile_cum(a)
    } else {
        0.0
    }
}

/// The share of a match's goal intensity still to come, or `None` for a status that is not live.
pub fn remaining_share(status: MatchStatus, clock_s: i32) -> Option<f64> {
    let [s1, s2] = EXPECTED_STOPPAGE_MIN;
    let (end1, end2) = (45.0 + s1, 90.0 + s2);
    let m = f64::from(clock_s.max(0)) / 60.0;
    let whole = profile_between(0.0, end1) + profile_between(45.0, end2);
    let rest = match status {
        MatchStatus::FirstHalf => {
            profile_between(m, end1.max(m + 1.0)) + profile_between(45.0, end2)
        }
        MatchStatus::HalfTime => profile_between(45.0, end2),
        MatchStatus::SecondHalf => {
            let m = m.max(45.0);
            profile_between(m, end2.max(m + 1.0))
        }
        _ => return None,
    };
    Some(rest / whole)
}

/// The distribution of the final score: the current score plus independent Poisson remaining
/// goals (optionally Dixon–Coles corrected).
#[derive(Clone, Debug)]
pub struct GoalModel {
    score: [u32; 2],
    /// `cells[i][j]`: probability of `i` more home goals and `j` more away goals.
    cells: [[f64; GRID + 1]; GRID + 1],
}

impl GoalModel {
    /// `rho` (Dixon–Coles) is applied to the remaining-goal cells 0/1 × 0/1; pass 0 in play.
    pub fn new(score: [u32; 2], lambda: [f64; 2], rho: f64) -> GoalModel {
        let (ph, pa) = (
            poisson_pmf::<{ GRID + 1 }>(lambda[0]),
            poisson_pmf::<{ GRID + 1 }>(lambda[1]),
        );
        let mut cells = [[0.0; GRID + 1]; GRID + 1];
        for (i, row) in cells.iter_mut().enumerate() {
            for (j, c) in row.iter_mut().enumerate() {
                *c = ph[i] * pa[j];
            }
        }
        if rho != 0.0 {
            let (lh, la) = (lambda[0].max(0.0), lambda[1].max(0.0));
            for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                cells[i][j] *= dixon_coles_tau(i, j, lh, la, rho).max(0.0);
            }
            let total: f64 = cells.iter().flatten().sum();
            if total > 0.0 {
                cells.iter_mut().flatten().for_each(|c| *c /= total);
            }
        }
        GoalModel { score, cells }
    }

    fn each_final(&self, mut f: impl FnMut(u32, u32, f64)) {
        for (i, row) in self.cells.iter().enumerate() {
            for (j, &p) in row.iter().enumerate() {
                f(self.score[0] + i as u32, self.score[1] + j as u32, p);
            }
        }
    }

    /// Home win, draw, away win.
    pub fn one_x_two(&self) -> [f64; 3] {
        let mut r = [0.0; 3];
        self.each_final(|h, a, p| {
            r[match h.cmp(&a) {
                std::cmp::Ordering::Greater => 0,
                std::cmp::Ordering::Equal => 1,
                std::cmp::Ordering::Less => 2,
            }] += p
        });
        r
    }

    /// Probability that the total goals exceed `line`.
    pub fn over(&self, line: f64) -> f64 {
        let mut over = 0.0;
        self.each_final(|h, a, p| {
            if f64::from(h + a) > line {
                over += p
            }
        });
        over.clamp(0.0, 1.0)
    }

    /// Both teams score.
    pub fn btts(&self) -> f64 {
        let mut yes = 0.0;
        self.each_final(|h, a, p| {
            if h > 0 && a > 0 {
                yes += p
            }
        });
        yes.clamp(0.0, 1.0)
    }

    /// The model probability of a selection, for the markets the value policy prices.
    pub fn prob(&self, market: MarketKind, selection: Selection) -> Option<f64> {
        match (market, selection) {
            (MarketKind::MatchOdds, s) => {
                let [h, d, a] = self.one_x_two();
                match s {
                    Selection::Home => Some(h),
                    Selection::Draw => Some(d),
                    Selection::Away => Some(a),
                    _ => None,
                }
            }
            (MarketKind::OverUnder { line }, s) if line.0.rem_euclid(4) == 2 => match s {
                Selection::Over => Some(self.over(line.goals())),
                Selection::Under => Some(1.0 - self.over(line.goals())),
                _ => None,
            },
            (MarketKind::Btts, Selection::Yes) => Some(self.btts()),
            (MarketKind::Btts, Selection::No) => Some(1.0 - self.btts()),
            _ => None,
        }
    }
}

/// The selections that make a whole market the value policy prices, or `None` for another
/// market (or an over/under line that is not a half-goal line).
fn priced_market(market: MarketKind) -> Option<&'static [Selection]> {
    match market {
        MarketKind::MatchOdds => Some(&[Selection::Home, Selection::Draw, Selection::Away]),
        MarketKind::OverUnder { line } if line.0.rem_euclid(4) == 2 => {
            Some(&[Selection::Over, Selection::Under])
        }
        MarketKind::Btts => Some(&[Selection::Yes, Selection::No]),
        _ => None,
    }
}

/// Prematch expected goals (home, away) of a fixture from the view's ratings and league averages.
pub fn prematch_rates(view: &View, fixture: &Fixture) -> [f64; 2] {
    let [h, a] = view
        .leagues
        .get(&fixture.league)
        .filter(|l| l.matches > 0)
        .map_or(DEFAULT_LEAGUE_GOALS, |l| [l.home_goals.0, l.away_goals.0]);
    let strength = |team| {
        view.ratings
            .get(&(fixture.league.clone(), team))
            .map_or((1.0, 1.0), |r| (r.attack.0, r.defence.0))
    };
    let (att_h, def_h) = strength(fixture.home.id);
    let (att_a, def_a) = strength(fixture.away.id);
    [h * att_h * def_a, a * att_a * def_h]
}

/// The final-score model of a live match from its prematch rates and its feature vector, or
/// `None` when its status is not live.
pub fn in_play_model(lambda: [f64; 2], fv: &FeatureVector) -> Option<GoalModel> {
    let share = remaining_share(fv.status, fv.clock_s)?;
    let reds = [fv.home.red, fv.away.red].map(|r| r.min(11) as u8);
    let red = |side: usize| red_factor(side, reds);
    Some(GoalModel::new(
        [fv.home.goals, fv.away.goals],
        [lambda[0] * share * red(0), lambda[1] * share * red(1)],
        0.0,
    ))
}

/// Bets where a Poisson model beats the margin-free price (see the module docs).
pub struct Value {
    cfg: ValueConfig,
    placed: BTreeSet<(MatchId, MarketKind, Selection, Phase)>,
}

impl Value {
    pub fn new(cfg: ValueConfig) -> Self {
        Value {
            cfg,
            placed: BTreeSet::new(),
        }
    }

    /// The model of a match now: in play with a feature vector, prematch without one.
    fn model(&self, view: &View, m: MatchId) -> Option<(GoalModel, bool)> {
        let fixture = view.fixtures.get(&m)?;
        let played = |team| {
            view.ratings
                .get(&(fixture.league.clone(), team))
                .map_or(0, |r: &TeamRating| r.played)
        };
        if played(fixture.home.id).min(played(fixture.away.id)) < self.cfg.min_played {
            return None;
        }
        let lambda = prematch_rates(view, fixture);
        match view.features.get(&m) {
            Some(fv) => Some((in_play_model(lambda, fv)?, true)),
            None => Some((
                GoalModel::new([0, 0], lambda, self.cfg.dixon_coles_rho),
                false,
            )),
        }
    }
}

impl Policy for Value {
    fn decide(
        &mut self,
        _: Time,
        view: &View,
        changed: &[MatchId],
        account: &Account,
    ) -> Vec<Intent> {
        let mut out = Vec::new();
        for &m in changed {
            let Some(quotes) = view.quotes.get(&m) else {
                continue;
            };
            let markets: BTreeSet<MarketKind> = quotes
                .keys()
                .map(|(mk, _)| *mk)
                .filter(|mk| priced_market(*mk).is_some())
                .collect();
            if markets.is_empty() {
                continue;
            }
            let Some((model, live)) = self.model(view, m) else {
                continue;
            };
            for market in markets {
                let fair = margin_free_market(quotes, market);
                let whole = priced_market(market).unwrap_or(&[]);
                if !fair.iter().map(|(s, _)| s).eq(whole.iter()) {
                    continue;
                }
                for (s, fair_p) in fair {
                    let Some(q) = quotes.get(&(market, s)) else {
                        continue;
                    };
                    if q.phase == Phase::InPlay && !live {
                        continue;
                    }
                    let key = (m, market, s, q.phase);
                    let bets_here = self
                        .placed
                        .range((m, MarketKind::MatchOdds, Selection::Home, Phase::Prematch)..)
                        .take_while(|k| k.0 == m)
                        .count();
                    if self.placed.contains(&key)
                        || bets_here >= self.cfg.max_bets_per_match as usize
                    {
                        continue;
                    }
                    let Some(p) = model.prob(market, s) else {
                        continue;
                    };
                    let f = kelly(p, q.price.0);
                    if p - fair_p <= self.cfg.threshold || f <= 0.0 {
                        continue;
                    }
                    let Some(stake) = kelly_stake(
                        f,
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
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OracleConfig {
    /// Bet when `p · price − 1` exceeds this.
    pub min_edge: f64,
    pub kelly_fraction: f64,
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
pub struct Oracle {
    cfg: OracleConfig,
    truth: Arc<Truth>,
    placed: BTreeSet<(MatchId, MarketKind, Selection, Phase)>,
}

impl Oracle {
    pub fn new(cfg: OracleConfig, truth: Arc<Truth>) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::TruthRow;
    use oddsflow_dataflows::dominance::Dominance;
    use oddsflow_dataflows::features::{MarketProbs, TeamFeatures};
    use oddsflow_dataflows::model::{F64, Line, TeamRef};
    use oddsflow_dataflows::ratings::LeagueAverages;

    const T0: i64 = 1_767_441_600_000;

    fn fixture(kickoff: EventTime) -> Fixture {
        Fixture {
            version: 1,
            league: "SIM1".into(),
            season: "2025-26".into(),
            kickoff,
            home: TeamRef {
                id: 101,
                name: "Home".into(),
            },
            away: TeamRef {
                id: 102,
                name: "Away".into(),
            },
            venue: String::new(),
            referee: String::new(),
        }
    }

    fn quote(phase: Phase, price: f64) -> Quote {
        Quote {
            phase,
            price: F64(price),
            modelled: false,
        }
    }

    fn x12(view: &mut View, m: MatchId, phase: Phase, prices: [f64; 3]) {
        let q = view.quotes.entry(m).or_default();
        for (s, p) in [Selection::Home, Selection::Draw, Selection::Away]
            .into_iter()
            .zip(prices)
        {
            q.insert((MarketKind::MatchOdds, s), quote(phase, p));
        }
    }

    fn account() -> Account {
        Account {
            start: 1000.0,
            settled_profit: 0.0,
        }
    }

    fn features(
        status: MatchStatus,
        minute: i32,
        goals: [u32; 2],
        reds: [u32; 2],
    ) -> FeatureVector {
        let team = |g, r| TeamFeatures {
            goals: g,
            red: r,
            attack: F64(1.0),
            defence: F64(1.0),
            ..TeamFeatures::default()
        };
        FeatureVector {
            clock_s: minute * 60,
            status,
            score_diff: goals[0] as i32 - goals[1] as i32,
            home: team(goals[0], reds[0]),
            away: team(goals[1], reds[1]),
            dominance_short: Dominance::default(),
            dominance_long: Dominance::default(),
            implied: MarketProbs::default(),
            drift: MarketProbs::default(),
        }
    }

    /// Three matches, each with 1X2, over/under 2.5 and BTTS quotes.
    fn busy_view() -> View {
        let mut v = View::default();
        for m in 1..=3u64 {
            v.fixtures.insert(m, fixture(T0 + 3_600_000));
            x12(&mut v, m, Phase::Prematch, [2.0, 3.4, 4.0]);
            let q = v.quotes.entry(m).or_default();
            let ou = MarketKind::OverUnder { line: Line(10) };
            q.insert((ou, Selection::Over), quote(Phase::Prematch, 1.9));
            q.insert((ou, Selection::Under), quote(Phase::Prematch, 1.9));
            q.insert(
                (MarketKind::Btts, Selection::Yes),
                quote(Phase::Prematch, 1.8),
            );
            q.insert(
                (MarketKind::Btts, Selection::No),
                quote(Phase::Prematch, 2.0),
            );
        }
        v
    }

    fn run_random(cfg: &RandomConfig, view: &View, calls: usize) -> Vec<Intent> {
        let mut p = RandomPolicy::new(cfg.clone());
        let changed: Vec<MatchId> = view.quotes.keys().copied().collect();
        (0..calls)
            .flat_map(|i| p.decide(i as Time * 1000, view, &changed, &account()))
            .collect()
    }

    /// The value policy trusting every rating (the test views have no history).
    fn trusting() -> ValueConfig {
        ValueConfig {
            min_played: 0,
            max_bets_per_match: 99,
            ..ValueConfig::default()
        }
    }

    #[test]
    fn value_waits_for_rated_teams_and_caps_its_bets_per_match() {
        let v = value_view([1.5, 4.0, 7.0]);
        let mut p = Value::new(ValueConfig::default());
        assert!(
            p.decide(T0 as Time, &v, &[1], &account()).is_empty(),
            "teams without {} rated matches are not priced",
            ValueConfig::default().min_played
        );
        let mut p = Value::new(ValueConfig {
            max_bets_per_match: 1,
            ..trusting()
        });
        assert!(p.decide(T0 as Time, &v, &[1], &account()).len() <= 1);
    }

    #[test]
    fn random_is_deterministic_for_a_seed_and_respects_the_cap() {
        let view = busy_view();
        let cfg = RandomConfig {
            seed: 7,
            rate: 0.3,
            coupon_rate: 0.2,
            max_bets_per_match: 2,
            stake: 10.0,
            max_price: f64::INFINITY,
            ..RandomConfig::default()
        };
        let a = run_random(&cfg, &view, 200);
        assert_eq!(a, run_random(&cfg, &view, 200), "same seed, same bets");
        let other = RandomConfig {
            seed: 8,
            ..cfg.clone()
        };
        assert_ne!(
            a,
            run_random(&other, &view, 200),
            "another seed, other bets"
        );
        let singles: Vec<&Intent> = a.iter().filter(|i| i.legs.len() == 1).collect();
        for m in 1..=3u64 {
            let n = singles.iter().filter(|i| i.legs[0].0 == m).count();
            assert_eq!(
                n, 2,
                "match {m}: at most max_bets_per_match singles (and 200 chances)"
            );
        }
        let coupons: Vec<&Intent> = a.iter().filter(|i| i.legs.len() > 1).collect();
        assert!(!coupons.is_empty());
        for c in &coupons {
            assert!((2..=3).contains(&c.legs.len()));
            let ms: BTreeSet<MatchId> = c.legs.iter().map(|l| l.0).collect();
            assert_eq!(ms.len(), c.legs.len(), "coupon legs from distinct matches");
        }
        for i in &a {
            assert_eq!(i.stake, 10.0);
            for (m, mk, s) in &i.legs {
                assert!(
                    view.quotes[m].contains_key(&(*mk, *s)),
                    "an available selection"
                );
            }
        }
        // Rate 0 and no coupons: nothing.
        let none = RandomConfig {
            rate: 0.0,
            coupon_rate: 0.0,
            ..cfg
        };
        assert!(run_random(&none, &view, 50).is_empty());
    }

    #[test]
    fn favourite_backs_the_lowest_price_once_inside_the_window() {
        let kickoff = T0 + 3_600_000;
        let mut view = View::default();
        view.fixtures.insert(1, fixture(kickoff));
        view.fixtures.insert(2, fixture(kickoff));
        x12(&mut view, 1, Phase::Prematch, [3.1, 3.3, 2.4]);
        x12(&mut view, 2, Phase::Prematch, [2.2, 3.3, 2.2]);
        let mut p = Favourite::new(FavouriteConfig::default());
        let at = |min_before: i64| (kickoff - min_before * 60_000) as Time;
        // Seen (changed) 20 min before: outside the window.
        assert!(p.decide(at(20), &view, &[1, 2], &account()).is_empty());
        // 14 min before, only an unrelated match changed: both are tracked and bet on.
        let bets = p.decide(at(14), &view, &[9], &account());
        assert_eq!(
            bets,
            vec![
                Intent::single(1, MarketKind::MatchOdds, Selection::Away, 10.0),
                Intent::single(2, MarketKind::MatchOdds, Selection::Home, 10.0),
            ],
            "the lowest price; a tie goes to home"
        );
        // Once per match.
        assert!(p.decide(at(10), &view, &[1, 2], &account()).is_empty());

        // A match first seen after kick-off, or only inside the window with in-play quotes: none.
        let mut p = Favourite::new(FavouriteConfig::default());
        let mut late = View::default();
        late.fixtures.insert(3, fixture(kickoff));
        x12(&mut late, 3, Phase::InPlay, [2.0, 3.0, 4.0]);
        assert!(p.decide(at(5), &late, &[3], &account()).is_empty());
        assert!(p.decide(at(0), &late, &[3], &account()).is_empty());
        x12(&mut late, 3, Phase::Prematch, [2.0, 3.0, 4.0]);
        assert!(
            p.decide(at(-1), &late, &[3], &account()).is_empty(),
            "kick-off passed"
        );
        // The window's edges: exactly `minutes_before` before is in, kick-off itself is out.
        let mut p = Favourite::new(FavouriteConfig::default());
        assert_eq!(p.decide(at(15), &late, &[3], &account()).len(), 1);
        // A missing 1X2 selection (suspended) waits for the next decision inside the window.
        let mut p = Favourite::new(FavouriteConfig::default());
        let mut partial = late.clone();
        if let Some(q) = partial.quotes.get_mut(&3) {
            q.remove(&(MarketKind::MatchOdds, Selection::Draw));
        }
        assert!(p.decide(at(12), &partial, &[3], &account()).is_empty());
        assert_eq!(
            p.decide(at(11), &late, &[], &account()),
            vec![Intent::single(
                3,
                MarketKind::MatchOdds,
                Selection::Home,
                10.0
            )]
        );
    }

    fn value_view(prices: [f64; 3]) -> View {
        let mut v = View::default();
        v.fixtures.insert(1, fixture(T0));
        v.leagues.insert(
            "SIM1".into(),
            LeagueAverages {
                matches: 40,
                home_goals: F64(1.5),
                away_goals: F64(1.2),
            },
        );
        x12(&mut v, 1, Phase::Prematch, prices);
        v
    }

    #[test]
    fn value_bets_a_mispriced_selection_and_not_a_fair_one() {
        let [h, d, a] = GoalModel::new([0, 0], [1.5, 1.2], 0.0).one_x_two();
        assert!((h + d + a - 1.0).abs() < 1e-9);
        assert!(h > a && h > 0.4 && h < 0.5, "{h}");
        // Fair prices with a 5 % margin: the model agrees with the book, no bet.
        let fair = [h, d, a].map(|p| 1.0 / (p * 1.05));
        let mut p = Value::new(trusting());
        assert!(
            p.decide(T0 as Time, &value_view(fair), &[1], &account())
                .is_empty()
        );
        // Home at 3.0 (fair ≈ 0.33 against the model's ≈ 0.45): bet home only.
        let view = value_view([3.0, 3.4, 3.0]);
        let bets = p.decide(T0 as Time, &view, &[1], &account());
        assert_eq!(bets.len(), 1, "{bets:?}");
        assert_eq!(
            bets[0].legs,
            vec![(1, MarketKind::MatchOdds, Selection::Home)]
        );
        let f = (h * 3.0 - 1.0) / 2.0;
        let expect = ((0.25 * f * 1000.0f64).min(50.0) * 100.0).floor() / 100.0;
        assert!(
            (bets[0].stake - expect).abs() < 1e-9,
            "{} vs {expect}",
            bets[0].stake
        );
        // Once per (match, market, selection, phase).
        assert!(
            p.decide(T0 as Time + 1000, &view, &[1], &account())
                .is_empty()
        );
        // A match that did not change is not evaluated.
        let mut p = Value::new(trusting());
        assert!(p.decide(T0 as Time, &view, &[2], &account()).is_empty());
        // Stronger home attack in the ratings moves the model: now home at 2.15 is value.
        let mut rated = value_view([2.15, 3.6, 3.1]);
        let mut p = Value::new(trusting());
        assert!(p.decide(T0 as Time, &rated, &[1], &account()).is_empty());
        rated.ratings.insert(
            ("SIM1".into(), 101),
            oddsflow_dataflows::ratings::TeamRating {
                attack: F64(1.5),
                defence: F64(0.8),
                ..Default::default()
            },
        );
        let bets = p.decide(T0 as Time, &rated, &[1], &account());
        assert_eq!(bets.len(), 1);
        assert_eq!(bets[0].legs[0].2, Selection::Home);
    }

    #[test]
    fn value_prices_over_under_and_btts_only_on_whole_markets() {
        let mut v = value_view([2.15, 3.6, 3.1]);
        let q = v.quotes.entry(1).or_default();
        let ou = MarketKind::OverUnder { line: Line(10) };
        // Model P(over 2.5) with λ = 2.7 ≈ 0.51; priced as if 0.35.
        q.insert((ou, Selection::Over), quote(Phase::Prematch, 2.7));
        q.insert((ou, Selection::Under), quote(Phase::Prematch, 1.45));
        // BTTS with "No" missing (suspended): not priced.
        q.insert(
            (MarketKind::Btts, Selection::Yes),
            quote(Phase::Prematch, 4.0),
        );
        let mut p = Value::new(trusting());
        let bets = p.decide(T0 as Time, &v, &[1], &account());
        let legs: Vec<_> = bets.iter().map(|b| b.legs[0]).collect();
        assert_eq!(legs, vec![(1, ou, Selection::Over)]);
        let model = GoalModel::new([0, 0], [1.5, 1.2], 0.0);
        assert!(
            (model.over(2.5) - 0.5064).abs() < 1e-3,
            "{}",
            model.over(2.5)
        );
    }

    #[test]
    fn value_in_play_model_follows_the_score_clock_and_cards() {
        let lambda = [1.5, 1.2];
        let prematch = GoalModel::new([0, 0], lambda, 0.0).one_x_two();
        let at = |status, minute, goals, reds| {
            in_play_model(lambda, &features(status, minute, goals, reds))
                .map(|m| m.one_x_two())
                .unwrap_or_default()
        };
        // Kick-off: the prematch model.
        let start = at(MatchStatus::FirstHalf, 0, [0, 0], [0, 0]);
        for k in 0..3 {
            assert!((start[k] - prematch[k]).abs() < 1e-9);
        }
        // A home lead at 80' makes a home win very likely, more so than at 30'.
        let lead80 = at(MatchStatus::SecondHalf, 80, [1, 0], [0, 0]);
        let lead30 = at(MatchStatus::FirstHalf, 30, [1, 0], [0, 0]);
        assert!(lead80[0] > 0.8, "{lead80:?}");
        assert!(lead80[0] > lead30[0] && lead30[0] > prematch[0]);
        // Level at 80': a draw is the most likely result.
        let level80 = at(MatchStatus::SecondHalf, 80, [1, 1], [0, 0]);
        assert!(level80[1] > 0.5 && level80[1] > prematch[1], "{level80:?}");
        // A home red card helps the away side.
        let red = at(MatchStatus::FirstHalf, 30, [0, 0], [1, 0]);
        let no_red = at(MatchStatus::FirstHalf, 30, [0, 0], [0, 0]);
        assert!(red[2] > no_red[2] && red[0] < no_red[0]);
        // Remaining share: full at kick-off, about 56 % at half time (later goals weigh more),
        // small but positive deep in stoppage.
        let share = |s, m| remaining_share(s, m * 60).unwrap_or(f64::NAN);
        assert!((share(MatchStatus::FirstHalf, 0) - 1.0).abs() < 1e-12);
        let ht = share(MatchStatus::HalfTime, 47);
        assert!(ht > 0.5 && ht < 0.6, "{ht}");
        assert!(share(MatchStatus::SecondHalf, 99) > 0.0);
        assert!(share(MatchStatus::SecondHalf, 99) < share(MatchStatus::SecondHalf, 85));
        assert_eq!(remaining_share(MatchStatus::Finished, 5400), None);

        // Through the policy: with 1-0 at 80' the book still offering home at 1.5 is value;
        // in-play quotes are not bet without a feature vector.
        let mut v = value_view([1.5, 4.0, 7.0]);
        x12(&mut v, 1, Phase::InPlay, [1.5, 4.0, 7.0]);
        let mut p = Value::new(trusting());
        assert!(p.decide(T0 as Time, &v, &[1], &account()).is_empty());
        v.features
            .insert(1, features(MatchStatus::SecondHalf, 80, [1, 0], [0, 0]));
        let bets = p.decide(T0 as Time, &v, &[1], &account());
        assert_eq!(bets.len(), 1);
        assert_eq!(
            bets[0].legs,
            vec![(1, MarketKind::MatchOdds, Selection::Home)]
        );
        assert_eq!(bets[0].stake, 50.0, "capped at max_stake");
    }

    #[test]
    fn dixon_coles_moves_mass_to_low_draws() {
        let plain = GoalModel::new([0, 0], [1.4, 1.1], 0.0).one_x_two();
        let dc = GoalModel::new([0, 0], [1.4, 1.1], -0.1).one_x_two();
        assert!((dc.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(dc[1] > plain[1]);
    }

    #[test]
    fn margin_free_normalises_one_market() {
        let view = busy_view();
        let p = margin_free_market(&view.quotes[&1], MarketKind::MatchOdds);
        let total = 0.5 + 1.0 / 3.4 + 0.25;
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].0, Selection::Home);
        assert!((p[0].1 - 0.5 / total).abs() < 1e-12);
        let ou = margin_free_market(&view.quotes[&1], MarketKind::OverUnder { line: Line(10) });
        assert!((ou[0].1 - 0.5).abs() < 1e-12 && ou[0].0 == Selection::Over);
        assert!(margin_free_market(&view.quotes[&1], MarketKind::CorrectScore).is_empty());
    }

    fn truth_row(ts: i64, selection: Selection, prob: f64) -> TruthRow {
        TruthRow {
            ts,
            match_id: 1,
            market: MarketKind::MatchOdds,
            selection,
            prob,
        }
    }

    #[test]
    fn oracle_bets_the_true_edge_and_never_reads_ahead() {
        let now = T0 + 7_000; // a rounded decision time
        let truth = Arc::new(Truth::from_rows(&[
            // Home: 0.6 at now + 999 (edge 0.08 at 1.8), then 0.9 from now + 1000.
            truth_row(now - 5_000, Selection::Home, 0.4),
            truth_row(now + 999, Selection::Home, 0.6),
            truth_row(now + 1_000, Selection::Home, 0.9),
            // Away: edge only from a row at now + granularity (look-ahead), must not bet.
            truth_row(now - 5_000, Selection::Away, 0.2),
            truth_row(now + 1_000, Selection::Away, 0.9),
            // Draw: a small edge (0.3 · 3.4 − 1 = 0.02), under min_edge.
            truth_row(now, Selection::Draw, 0.3),
        ]));
        let mut view = View::default();
        view.fixtures.insert(1, fixture(T0 + 3_600_000));
        x12(&mut view, 1, Phase::Prematch, [1.8, 3.4, 4.0]);
        let cfg = OracleConfig {
            min_edge: 0.05,
            ..OracleConfig::default()
        };
        let mut p = Oracle::new(cfg.clone(), truth.clone());
        let bets = p.decide(now as Time, &view, &[1], &account());
        // Kelly (0.6·1.8 − 1)/0.8 = 0.1; a quarter of it on 1000: 25.
        assert_eq!(
            bets,
            vec![Intent::single(
                1,
                MarketKind::MatchOdds,
                Selection::Home,
                25.0
            )]
        );
        // Once per (match, market, selection, phase).
        assert!(p.decide(now as Time, &view, &[1], &account()).is_empty());
        // The next tick reads the rows at now + 1000: away has an edge now; home is not re-bet.
        let next = p.decide(now as Time + 1000, &view, &[1], &account());
        let sels: Vec<Selection> = next.iter().map(|b| b.legs[0].2).collect();
        assert_eq!(sels, vec![Selection::Away], "{next:?}");
        // The same selections in play are new keys.
        x12(&mut view, 1, Phase::InPlay, [1.8, 3.4, 4.0]);
        let later = p.decide(now as Time + 2000, &view, &[1], &account());
        let sels: Vec<Selection> = later.iter().map(|b| b.legs[0].2).collect();
        assert_eq!(sels, vec![Selection::Home, Selection::Away], "{later:?}");
        // A decision one tick earlier reads rows with ts < now only: no edge anywhere.
        let mut p = Oracle::new(cfg, truth);
        x12(&mut view, 1, Phase::Prematch, [1.8, 3.4, 4.0]);
        assert!(
            p.decide(now as Time - 1000, &view, &[1], &account())
                .is_empty()
        );
        // Unchanged matches are not looked at.
        assert!(p.decide(now as Time, &view, &[], &account()).is_empty());
    }
}
