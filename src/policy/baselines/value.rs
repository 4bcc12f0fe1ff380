//! The value policy and its goal model (see the module docs of [`super`], "Value").
//!
//! **In:** the view's fixtures, team ratings and league averages (prematch rates), live
//! feature vectors (score, clock, red cards) and the available quotes. **Out:** singles where the
//! model's probability beats the margin-free price, staked at a fraction of Kelly; and, for the
//! walk-forward evaluation, the [`GoalModel`] and [`prematch_rates`] themselves.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::features::FeatureVector;
use oddsflow_dataflows::model::{Fixture, MarketKind, MatchId, MatchStatus, Phase, Selection};
use oddsflow_dataflows::policy::{Account, Intent, Policy, View};
use oddsflow_dataflows::pricing::goals::{dixon_coles_tau, goal_profile_cum, poisson_pmf};
use oddsflow_dataflows::pricing::inplay::{EXPECTED_STOPPAGE_MIN, red_factor};
use oddsflow_dataflows::ratings::TeamRating;

use super::{kelly, kelly_stake, margin_free_market};

/// Settings of the value policy (see the module docs of [`super`]).
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
pub(crate) const DEFAULT_LEAGUE_GOALS: [f64; 2] = [1.5, 1.2];
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
pub(crate) fn remaining_share(status: MatchStatus, clock_s: i32) -> Option<f64> {
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
pub(crate) struct GoalModel {
    score: [u32; 2],
    /// `cells[i][j]`: probability of `i` more home goals and `j` more away goals.
    cells: [[f64; GRID + 1]; GRID + 1],
}

impl GoalModel {
    /// `rho` (Dixon–Coles) is applied to the remaining-goal cells 0/1 × 0/1; pass 0 in play.
    pub(crate) fn new(score: [u32; 2], lambda: [f64; 2], rho: f64) -> GoalModel {
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
    pub(crate) fn one_x_two(&self) -> [f64; 3] {
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
    pub(crate) fn over(&self, line: f64) -> f64 {
        let mut over = 0.0;
        self.each_final(|h, a, p| {
            if f64::from(h + a) > line {
                over += p
            }
        });
        over.clamp(0.0, 1.0)
    }

    /// Both teams score.
    pub(crate) fn btts(&self) -> f64 {
        let mut yes = 0.0;
        self.each_final(|h, a, p| {
            if h > 0 && a > 0 {
                yes += p
            }
        });
        yes.clamp(0.0, 1.0)
    }

    /// The model probability of a selection, for the markets the value policy prices.
    pub(crate) fn prob(&self, market: MarketKind, selection: Selection) -> Option<f64> {
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
pub(crate) fn prematch_rates(view: &View, fixture: &Fixture) -> [f64; 2] {
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
pub(crate) fn in_play_model(lambda: [f64; 2], fv: &FeatureVector) -> Option<GoalModel> {
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
pub(crate) struct Value {
    cfg: ValueConfig,
    placed: BTreeSet<(MatchId, MarketKind, Selection, Phase)>,
}

impl Value {
    pub(crate) fn new(cfg: ValueConfig) -> Self {
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
