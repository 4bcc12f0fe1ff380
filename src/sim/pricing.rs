//! The goal model shared by the simulated match (which draws from it) and the bookmaker (which
//! prices from it), the market probabilities, the margin and the price ladder.
//!
//! Goals of each side form a Poisson process whose intensity (per minute of play) is
//!
//! ```text
//! λ_side(t) = goal_side · profile(minute) · reds_side · exp(±β · D(t))
//! ```
//!
//! with `D(t)` the latent dominance (an Ornstein–Uhlenbeck process, `+` for home, `−` for away).
//! Remaining goals are priced by integrating the *expected* intensity along the OU mean path
//! (with the log-normal correction `β²·Var/2`), minute by minute, over the remaining play time.

use oddsflow_dataflows::model::{MarketKind, Selection};
use oddsflow_dataflows::pricing::goals::{goal_profile, poisson_pmf};
use oddsflow_dataflows::pricing::inplay::{EXPECTED_STOPPAGE_MIN, red_factor};
use oddsflow_dataflows::pricing::margin::apply_power;

/// Remaining goals per side that the score grid tracks (the tail is folded into the last cell).
pub(crate) const MAX_GOALS: usize = 12;
/// Sensitivity of goal rates to dominance.
pub(crate) const BETA_GOAL: f64 = 0.8;
/// Sensitivity of corner rates to dominance.
pub(crate) const BETA_CORNER: f64 = 0.9;
/// Mean reversion of dominance, per minute of play.
pub(crate) const THETA: f64 = 0.12;
/// Stationary standard deviation of dominance around its mean.
pub(crate) const DOM_SD: f64 = 0.28;
/// Pull of the score state on the dominance mean, per goal of deficit (at most two).
pub(crate) const SCORE_PUSH: f64 = 0.12;
/// Shift of the dominance mean per red card.
pub(crate) const RED_SHIFT: f64 = 0.25;

/// The per-match constants of the true process.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateModel {
    /// Per-minute goal rate of home, away at dominance 0, profile 1, no red cards.
    pub goal: [f64; 2],
    /// Per-minute corner rate of home, away at dominance 0, no red cards.
    pub corner: [f64; 2],
    /// Dominance mean at a level score with no red cards (strength difference, home advantage).
    pub mu0: f64,
}

impl RateModel {
    /// Mean of dominance given the score and red cards: a trailing side pushes, a side down a
    /// player is pushed back.
    pub(crate) fn mu(&self, score: [u8; 2], reds: [u8; 2]) -> f64 {
        let lead = (f64::from(score[0]) - f64::from(score[1])).clamp(-2.0, 2.0);
        let red = f64::from(reds[0]) - f64::from(reds[1]);
        (self.mu0 - SCORE_PUSH * lead - RED_SHIFT * red).clamp(-0.75, 0.75)
    }
}

/// Where the match is, for the remaining-time integral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    Prematch,
    FirstHalf,
    HalfTime,
    SecondHalf,
}

/// Remaining play as segments of match minutes. A half's stoppage is known once its 45th/90th
/// minute is reached (the board); before that its expectation is used.
pub(crate) fn remaining_segments(
    stage: Stage,
    clock_s: i32,
    stoppage_s: [i32; 2],
) -> Vec<(f64, f64)> {
    let m = f64::from(clock_s) / 60.0;
    let end1 = if clock_s >= 2700 {
        45.0 + f64::from(stoppage_s[0]) / 60.0
    } else {
        45.0 + EXPECTED_STOPPAGE_MIN[0]
    };
    let end2 = if clock_s >= 5400 {
        90.0 + f64::from(stoppage_s[1]) / 60.0
    } else {
        90.0 + EXPECTED_STOPPAGE_MIN[1]
    };
    match stage {
        Stage::Prematch => vec![
            (0.0, 45.0 + EXPECTED_STOPPAGE_MIN[0]),
            (45.0, 90.0 + EXPECTED_STOPPAGE_MIN[1]),
        ],
        Stage::FirstHalf => vec![(m, end1.max(m)), (45.0, 90.0 + EXPECTED_STOPPAGE_MIN[1])],
        Stage::HalfTime => vec![(45.0, 90.0 + EXPECTED_STOPPAGE_MIN[1])],
        Stage::SecondHalf => vec![(m, end2.max(m))],
    }
}

/// What a pricer believes about the match now.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Belief {
    pub score: [u8; 2],
    pub corners: [u8; 2],
    pub reds: [u8; 2],
    /// Mean the dominance reverts to.
    pub mu: f64,
    /// Mean and variance of the current dominance (variance 0 when observed).
    pub d0: f64,
    pub v0: f64,
    /// Multipliers on the goal rates (the bookmaker's prematch opinion error; 1 otherwise).
    pub mult: [f64; 2],
}

/// The distribution of the rest of the match under one [`Belief`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outlook {
    pub score: [u8; 2],
    pub corners: [u8; 2],
    /// Probability of `i` more goals for home / away (independent Poisson).
    pub ph: [f64; MAX_GOALS + 1],
    pub pa: [f64; MAX_GOALS + 1],
    /// Next goal: home, none, away.
    pub next: [f64; 3],
    /// Expected remaining goals, home and away.
    pub lambda: [f64; 2],
    /// Expected remaining corners, both sides together.
    pub corners_lambda: f64,
}

/// Integrates the expected intensities over `segments` (minutes of play).
pub(crate) fn outlook(model: &RateModel, view: &Belief, segments: &[(f64, f64)]) -> Outlook {
    let s2 = DOM_SD * DOM_SD;
    let red = [red_factor(0, view.reds), red_factor(1, view.reds)];
    let mut tau = 0.0;
    let mut lam = [0.0f64; 2];
    let mut corners = 0.0;
    let mut cum = 0.0f64;
    let mut next_home = 0.0;
    let mut next_away = 0.0;
    for &(a, b) in segments {
        let mut m = a;
        while m < b - 1e-9 {
            let dt = (b - m).min(1.0);
            let mid_tau = tau + dt / 2.0;
            let e = (-THETA * mid_tau).exp();
            let mean = view.mu + (view.d0 - view.mu) * e;
            let var = view.v0 * e * e + s2 * (1.0 - e * e);
            let prof = goal_profile(m + dt / 2.0);
            let gh = model.goal[0]
                * view.mult[0]
                * prof
                * red[0]
                * (BETA_GOAL * mean + BETA_GOAL * BETA_GOAL * var / 2.0).exp()
                * dt;
            let ga = model.goal[1]
                * view.mult[1]
                * prof
                * red[1]
                * (-BETA_GOAL * mean + BETA_GOAL * BETA_GOAL * var / 2.0).exp()
                * dt;
            let bc = BETA_CORNER * BETA_CORNER * var / 2.0;
            corners += (model.corner[0] * red[0] * (BETA_CORNER * mean + bc).exp()
                + model.corner[1] * red[1] * (-BETA_CORNER * mean + bc).exp())
                * dt;
            let total = gh + ga;
            if total > 0.0 {
                let first_here = (-cum).exp() * (1.0 - (-total).exp());
                next_home += first_here * gh / total;
                next_away += first_here * ga / total;
            }
            cum += total;
            lam[0] += gh;
            lam[1] += ga;
            m += dt;
            tau += dt;
        }
    }
    let none = (-cum).exp();
    Outlook {
        score: view.score,
        corners: view.corners,
        ph: poisson_pmf::<{ MAX_GOALS + 1 }>(lam[0]),
        pa: poisson_pmf::<{ MAX_GOALS + 1 }>(lam[1]),
        next: [next_home, none, next_away],
        lambda: lam,
        corners_lambda: corners,
    }
}

/// P(X > k) for X ~ Poisson(lambda), k may be negative.
fn poisson_sf(lambda: f64, k: i64) -> f64 {
    if k < 0 {
        return 1.0;
    }
    let mut p = (-lambda).exp();
    let mut cdf = p;
    for i in 1..=k {
        p *= lambda / i as f64;
        cdf += p;
    }
    (1.0 - cdf).clamp(0.0, 1.0)
}

impl Outlook {
    /// Calls `f(final_home, final_away, probability)` for every cell of the score grid.
    fn each_final(&self, mut f: impl FnMut(i32, i32, f64)) {
        let (h0, a0) = (i32::from(self.score[0]), i32::from(self.score[1]));
        for (i, &p) in self.ph.iter().enumerate() {
            if p == 0.0 {
                continue;
            }
            for (j, &q) in self.pa.iter().enumerate() {
                f(h0 + i as i32, a0 + j as i32, p * q);
            }
        }
    }

    /// Home win, draw, away win.
    pub(crate) fn one_x_two(&self) -> [f64; 3] {
        let mut r = [0.0; 3];
        self.each_final(|h, a, p| {
            r[if h > a {
                0
            } else if h == a {
                1
            } else {
                2
            }] += p
        });
        r
    }

    /// The true probability of each selection of a market. For double chance the three
    /// probabilities sum to 2; for Asian handicap they are the push-adjusted win probabilities
    /// `q = P(win) / (P(win) + P(lose))` (summed over the two halves of a quarter line), so that
    /// the fair price is `1/q` and the two sides sum to 1.
    pub(crate) fn probs(&self, kind: MarketKind, selections: &[Selection]) -> Vec<f64> {
        use Selection as S;
        match kind {
            MarketKind::MatchOdds | MarketKind::DoubleChance => {
                let [h, d, a] = self.one_x_two();
                selections
                    .iter()
                    .map(|s| match s {
                        S::Home => h,
                        S::Draw => d,
                        S::Away => a,
                        S::HomeOrDraw => h + d,
                        S::DrawOrAway => d + a,
                        S::HomeOrAway => h + a,
                        _ => 0.0,
                    })
                    .collect()
            }
            MarketKind::OverUnder { line } => {
                let need = line.goals() - f64::from(self.score[0]) - f64::from(self.score[1]);
                let mut over = 0.0;
                for (i, &p) in self.ph.iter().enumerate() {
                    for (j, &q) in self.pa.iter().enumerate() {
                        if (i + j) as f64 > need {
                            over += p * q;
                        }
                    }
                }
                two_way(selections, S::Over, over.clamp(0.0, 1.0), S::Under)
            }
            MarketKind::Btts => {
                let home_scores = if self.score[0] > 0 {
                    1.0
                } else {
                    1.0 - self.ph[0]
                };
                let away_scores = if self.score[1] > 0 {
                    1.0
                } else {
                    1.0 - self.pa[0]
                };
                two_way(selections, S::Yes, home_scores * away_scores, S::No)
            }
            MarketKind::NextGoal { .. } => selections
                .iter()
                .map(|s| match s {
                    S::Home => self.next[0],
                    S::NoGoal => self.next[1],
                    S::Away => self.next[2],
                    _ => 0.0,
                })
                .collect(),
            MarketKind::CorrectScore => {
                let mut listed: Vec<f64> = vec![0.0; selections.len()];
                let mut any_other = 0.0;
                self.each_final(|h, a, p| {
                    let at = selections.iter().position(|s| matches!(s, S::Score { home, away } if i32::from(*home) == h && i32::from(*away) == a));
                    match at {
                        Some(k) => listed[k] += p,
                        None => any_other += p,
                    }
                });
                for (k, s) in selections.iter().enumerate() {
                    if *s == S::AnyOther {
                        listed[k] = any_other;
                    }
                }
                listed
            }
            MarketKind::AsianHandicap { line } => {
                // Quarter lines split the stake over the two neighbouring half/whole lines.
                let subs: Vec<f64> = if line.0 % 2 != 0 {
                    vec![line.goals() - 0.25, line.goals() + 0.25]
                } else {
                    vec![line.goals()]
                };
                let (mut win, mut lose) = (0.0, 0.0);
                self.each_final(|h, a, p| {
                    for &x in &subs {
                        let m = f64::from(h - a) + x;
                        if m > 1e-9 {
                            win += p;
                        } else if m < -1e-9 {
                            lose += p;
                        }
                    }
                });
                let q = if win + lose > 0.0 {
                    win / (win + lose)
                } else {
                    0.5
                };
                two_way(selections, S::Home, q, S::Away)
            }
            MarketKind::CornersOverUnder { line } => {
                let have = i64::from(self.corners[0]) + i64::from(self.corners[1]);
                // Over wins when the total exceeds the line: remaining > line - have.
                let k = (line.goals() - have as f64).floor() as i64;
                two_way(
                    selections,
                    S::Over,
                    poisson_sf(self.corners_lambda, k),
                    S::Under,
                )
            }
        }
    }
}

fn two_way(selections: &[Selection], yes: Selection, p: f64, no: Selection) -> Vec<f64> {
    selections
        .iter()
        .map(|s| {
            if *s == yes {
                p
            } else if *s == no {
                1.0 - p
            } else {
                0.0
            }
        })
        .collect()
}

/// The bookmaker's implied probabilities (with margin) of a market's selections, from its own
/// outlook. Double chance is derived from the margined 1X2 (pairs of implied 1X2 probabilities).
pub(crate) fn implied(
    outlook: &Outlook,
    kind: MarketKind,
    selections: &[Selection],
    margin: f64,
) -> Vec<f64> {
    if kind == MarketKind::DoubleChance {
        let [h, d, a] = {
            let v = apply_power(&outlook.one_x_two(), margin);
            [v[0], v[1], v[2]]
        };
        return selections
            .iter()
            .map(|s| match s {
                Selection::HomeOrDraw => h + d,
                Selection::DrawOrAway => d + a,
                Selection::HomeOrAway => h + a,
                _ => 0.0,
            })
            .collect();
    }
    apply_power(&outlook.probs(kind, selections), margin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsflow_dataflows::model::Line;

    fn model() -> RateModel {
        RateModel {
            goal: [1.5 / 90.0, 1.1 / 90.0],
            corner: [5.5 / 90.0, 4.5 / 90.0],
            mu0: 0.1,
        }
    }

    fn pre_view(m: &RateModel) -> Belief {
        Belief {
            score: [0, 0],
            corners: [0, 0],
            reds: [0, 0],
            mu: m.mu0,
            d0: m.mu0,
            v0: DOM_SD * DOM_SD,
            mult: [1.0, 1.0],
        }
    }

    #[test]
    fn outlook_is_a_distribution() {
        let m = model();
        let o = outlook(
            &m,
            &pre_view(&m),
            &remaining_segments(Stage::Prematch, 0, [0, 0]),
        );
        assert!((o.ph.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(
            (o.next.iter().sum::<f64>() - 1.0).abs() < 1e-9,
            "{:?}",
            o.next
        );
        let x = o.one_x_two();
        assert!((x.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(x[0] > x[2], "home is stronger");
        assert!(
            o.lambda[0] + o.lambda[1] > 2.0 && o.lambda[0] + o.lambda[1] < 3.5,
            "{:?}",
            o.lambda
        );
        let cs = o.probs(
            MarketKind::CorrectScore,
            &[
                Selection::Score { home: 0, away: 0 },
                Selection::Score { home: 1, away: 0 },
                Selection::AnyOther,
            ],
        );
        assert!((cs.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        for line in [Line(-1), Line(-3), Line(0), Line(2)] {
            let ah = o.probs(
                MarketKind::AsianHandicap { line },
                &[Selection::Home, Selection::Away],
            );
            assert!((ah[0] + ah[1] - 1.0).abs() < 1e-9);
        }
    }
}
