//! The live football of a match, second by second: the dominance process, the incidents it
//! drives (goals, penalties, VAR reviews, shots, corners, fouls and cards, substitutions,
//! possession) and the players involved.
//!
//! **In:** the game's state and its two random streams (the football's and, for VAR-disallowed
//! goals, the noise stream). **Out:** incident records (through [`Game::incident`]) and the
//! bookmaker's reactions: suspensions, holds and releases of its markets.

use oddsflow_dataflows::model::*;
use oddsflow_dataflows::pricing::goals::goal_profile;
use oddsflow_dataflows::pricing::inplay::red_factor;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Action, Game, normal};
use crate::sim::pricing::{self, DOM_SD, THETA};
use crate::sim::world::Role;

/// Share of a side's goal rate that comes from penalties awarded, and their conversion rate.
const PEN_SHARE: f64 = 0.08;
const PEN_CONV: f64 = 0.78;
/// Own goals among open-play goals.
const OWN_GOAL: f64 = 0.03;
/// Pressure events per team and 90 minutes at dominance 0: attacks, dangerous attacks, saved
/// shots, shots off target, fouls.
const ATTACKS_90: f64 = 95.0;
const DANGEROUS_90: f64 = 45.0;
const SAVED_90: f64 = 3.2;
const OFF_TARGET_90: f64 = 7.0;
const FOULS_90: f64 = 11.0;
/// Card probabilities per foul.
const YELLOW_PER_FOUL: f64 = 0.15;
const RED_PER_FOUL: f64 = 0.003;
/// A booked player is careful: his fouls carry a second yellow this much less often.
const BOOKED_CARE: f64 = 0.35;

/// Standard deviation of the dominance process per √minute (its stationary sd is `DOM_SD`).
fn sigma() -> f64 {
    DOM_SD * (2.0 * THETA).sqrt()
}

fn shot_weight(r: Role) -> f64 {
    match r {
        Role::Gk => 0.0,
        Role::Def => 0.5,
        Role::Mid => 1.6,
        Role::Fwd => 4.0,
    }
}

fn foul_weight(r: Role) -> f64 {
    match r {
        Role::Gk => 0.1,
        Role::Def => 1.4,
        Role::Mid => 1.2,
        Role::Fwd => 0.7,
    }
}

fn own_goal_weight(r: Role) -> f64 {
    match r {
        Role::Gk => 0.3,
        Role::Def => 3.0,
        Role::Mid => 1.0,
        Role::Fwd => 0.2,
    }
}

fn sub_off_weight(r: Role) -> f64 {
    match r {
        Role::Gk => 0.0,
        Role::Def => 0.8,
        Role::Mid => 1.3,
        Role::Fwd => 1.5,
    }
}

/// Picks a player by weight of their line; `None` when every weight is zero.
fn pick(
    rng: &mut ChaCha8Rng,
    players: &[(PlayerId, Role)],
    weight: fn(Role) -> f64,
) -> Option<PlayerId> {
    let total: f64 = players.iter().map(|p| weight(p.1)).sum();
    if total <= 0.0 {
        return None;
    }
    let mut u = rng.random::<f64>() * total;
    for p in players {
        u -= weight(p.1);
        if u < 0.0 {
            return Some(p.0);
        }
    }
    players
        .iter()
        .rev()
        .find(|p| weight(p.1) > 0.0)
        .map(|p| p.0)
}

/// An xG value: log-normal around `median`, rounded to hundredths, within [0.01, 0.95].
fn xg(rng: &mut ChaCha8Rng, median: f64, spread: f64) -> F64 {
    let v = (median.ln() + spread * normal(rng)).exp().clamp(0.01, 0.95);
    F64((v * 100.0).round() / 100.0)
}

impl Game<'_> {
    pub(super) fn step_dominance(&mut self) {
        let dt = 1.0 / 60.0;
        let mu = self.rates.mu(self.score, self.reds);
        let z = normal(&mut self.rng);
        self.dom =
            (self.dom + THETA * (mu - self.dom) * dt + sigma() * dt.sqrt() * z).clamp(-1.0, 1.0);
        self.dom_sum += self.dom;
        self.dom_n += 1;
        self.rev += 1;
    }

    pub(super) fn events(&mut self, ts: i64) {
        let minute = f64::from(self.clock) / 60.0;
        let p_var = self.cfg.noise.var_overturns;
        for side in 0..2 {
            let ds = if side == 0 { self.dom } else { -self.dom };
            let own = self.plan.strength[side];
            let opp = self.plan.strength[1 - side];
            let red = red_factor(side, self.reds);
            let press = (0.35 * (own.attack - opp.defence)).exp() * red;
            let goal = self.rates.goal[side]
                * goal_profile(minute)
                * red
                * (pricing::BETA_GOAL * ds).exp();
            let pen = PEN_SHARE * goal;
            let open_goal = goal - PEN_CONV * pen;
            let per_minute = [
                open_goal,
                pen,
                SAVED_90 / 90.0 * ds.exp() * press,
                OFF_TARGET_90 / 90.0 * ds.exp() * press,
                self.rates.corner[side] * red * (pricing::BETA_CORNER * ds).exp(),
                DANGEROUS_90 / 90.0 * (1.2 * ds).exp() * press,
                ATTACKS_90 / 90.0 * ds.exp() * press,
                FOULS_90 / 90.0 * (-0.3 * ds).exp(),
            ];
            // At most one event per side and second: P(event k) = rate_k / 60.
            let u = self.rng.random::<f64>() * 60.0;
            let mut acc = 0.0;
            let mut hit = None;
            for (k, r) in per_minute.iter().enumerate() {
                acc += r;
                if u < acc {
                    hit = Some(k);
                    break;
                }
            }
            match hit {
                Some(0) => self.goal(ts, side, None, false),
                Some(1) => self.penalty_awarded(ts, side),
                Some(2) => self.shot(ts, side, true),
                Some(3) => self.shot(ts, side, false),
                Some(4) => self.corner(ts, side),
                Some(5) => {
                    self.incident(ts, side, IncidentDetail::DangerousAttack);
                }
                Some(6) => {
                    self.incident(ts, side, IncidentDetail::Attack);
                }
                Some(7) => self.foul(ts, side),
                _ => {}
            }
            // Goals that VAR will disallow come on top (noise stream), so that valid goals keep
            // the rate the pricing model assumes.
            if p_var > 0.0 && p_var < 1.0 {
                let u2 = self.nrng.random::<f64>() * 60.0;
                if u2 < open_goal * p_var / (1.0 - p_var) {
                    self.goal(ts, side, None, true);
                }
            }
        }
    }

    /// A goal for `side`. `taker`: the penalty taker for a penalty goal. `overturn`: VAR will
    /// disallow it (drawn from the noise stream, and the goal does not count).
    fn goal(&mut self, ts: i64, side: usize, taker: Option<PlayerId>, overturn: bool) {
        let (scorer, own_goal, shot_xg) = {
            let r = if overturn {
                &mut self.nrng
            } else {
                &mut self.rng
            };
            match taker {
                Some(t) => (Some(t), false, F64(0.76)),
                None => {
                    let own_goal = r.random::<f64>() < OWN_GOAL;
                    let scorer = if own_goal {
                        pick(r, &self.on_pitch[1 - side], own_goal_weight)
                    } else {
                        pick(r, &self.on_pitch[side], shot_weight)
                    };
                    (scorer, own_goal, xg(r, 0.22, 0.7))
                }
            }
        };
        if !own_goal {
            self.incident(
                ts,
                side,
                IncidentDetail::Shot {
                    player: scorer,
                    on_target: true,
                    xg: Some(shot_xg),
                },
            );
        }
        let id = self.incident(
            ts,
            side,
            IncidentDetail::Goal {
                player: scorer,
                own_goal,
                penalty: taker.is_some(),
            },
        );
        self.shown[side] += 1;
        if overturn {
            self.holds += 1;
            self.suspend(ts, None);
            let review = self.nrng.random_range(60..=150) * 1000;
            self.schedule(ts + review, Action::VarDecision { goal: id });
        } else {
            if self.lag_pending.is_none() {
                self.lag_pending = Some(self.score);
            }
            self.score[side] += 1;
            self.rev += 1;
            let pause = self.rng.random_range(20..=60) * 1000;
            self.suspend(ts, Some(ts + pause));
        }
    }

    pub(super) fn var_overturn(&mut self, ts: i64, goal: u32) {
        if let Some(inc) = self.goal_incidents.iter().find(|i| i.id == goal).copied() {
            let side = if inc.side == Side::Home { 0 } else { 1 };
            self.emit(
                ts,
                Body::Incident(Incident {
                    version: inc.version + 1,
                    cancelled: true,
                    ..inc
                }),
            );
            self.incident(
                ts,
                side,
                IncidentDetail::Var {
                    decision: VarDecision::GoalOverturned,
                    reviews: goal,
                },
            );
            self.shown[side] = self.shown[side].saturating_sub(1);
            self.overturned += 1;
        }
        self.holds = self.holds.saturating_sub(1);
        let pause = self.nrng.random_range(5..=15) * 1000;
        self.release(ts + pause);
    }

    fn penalty_awarded(&mut self, ts: i64, side: usize) {
        self.incident(ts, side, IncidentDetail::PenaltyAwarded);
        self.holds += 1;
        self.suspend(ts, None);
        let delay = self.rng.random_range(45..=90) * 1000;
        self.schedule(ts + delay, Action::TakePenalty { side });
    }

    pub(super) fn take_penalty(&mut self, ts: i64, side: usize) {
        let taker = self.on_pitch[side]
            .iter()
            .filter(|p| p.1 != Role::Gk)
            .max_by_key(|p| (p.1, p.0))
            .map(|p| p.0);
        if self.rng.random::<f64>() < PEN_CONV {
            self.goal(ts, side, Some(taker.unwrap_or(0)), false);
        } else {
            let on_target = self.rng.random::<f64>() < 0.55;
            self.incident(
                ts,
                side,
                IncidentDetail::Shot {
                    player: taker,
                    on_target,
                    xg: Some(F64(0.76)),
                },
            );
            let pause = self.rng.random_range(5..=15) * 1000;
            self.release(ts + pause);
        }
        self.holds = self.holds.saturating_sub(1);
    }

    fn shot(&mut self, ts: i64, side: usize, on_target: bool) {
        let player = pick(&mut self.rng, &self.on_pitch[side], shot_weight);
        let x = xg(&mut self.rng, if on_target { 0.09 } else { 0.06 }, 0.6);
        self.incident(
            ts,
            side,
            IncidentDetail::Shot {
                player,
                on_target,
                xg: Some(x),
            },
        );
    }

    fn corner(&mut self, ts: i64, side: usize) {
        self.corners[side] = self.corners[side].saturating_add(1);
        self.rev += 1;
        self.incident(ts, side, IncidentDetail::Corner);
        let (score, corners) = (self.score, self.corners);
        let (book, mut tape) = self.desk();
        book.close_decided(&mut tape, ts, score, corners);
    }

    fn foul(&mut self, ts: i64, side: usize) {
        let player = pick(&mut self.rng, &self.on_pitch[side], foul_weight);
        self.incident(ts, side, IncidentDetail::Foul { player });
        let u = self.rng.random::<f64>();
        let Some(p) = player else { return };
        let can_send_off = self.on_pitch[side].len() > 8;
        let card = if u < RED_PER_FOUL {
            can_send_off.then_some(CardKind::Red)
        } else if u < RED_PER_FOUL + YELLOW_PER_FOUL {
            if !self.booked.contains(&p) {
                Some(CardKind::Yellow)
            } else if u < RED_PER_FOUL + BOOKED_CARE * YELLOW_PER_FOUL {
                can_send_off.then_some(CardKind::SecondYellow)
            } else {
                None
            }
        } else {
            None
        };
        let Some(card) = card else { return };
        self.incident(
            ts,
            side,
            IncidentDetail::Card {
                player: Some(p),
                card,
            },
        );
        if card == CardKind::Yellow {
            self.booked.push(p);
        }
        if card.is_sending_off() {
            self.on_pitch[side].retain(|q| q.0 != p);
            self.reds[side] += 1;
            self.rev += 1;
            let pause = self.rng.random_range(10..=30) * 1000;
            self.suspend(ts, Some(ts + pause));
        }
    }

    pub(super) fn substitution(&mut self, ts: i64, side: usize) {
        let Some(out) = pick(&mut self.rng, &self.on_pitch[side], sub_off_weight) else {
            return;
        };
        let role = self.on_pitch[side]
            .iter()
            .find(|p| p.0 == out)
            .map_or(Role::Mid, |p| p.1);
        let same: Vec<usize> = (0..self.bench[side].len())
            .filter(|&k| self.bench[side][k].1 == role)
            .collect();
        let any: Vec<usize> = (0..self.bench[side].len())
            .filter(|&k| self.bench[side][k].1 != Role::Gk)
            .collect();
        let pool = if same.is_empty() { any } else { same };
        if pool.is_empty() {
            return;
        }
        let k = pool[self.rng.random_range(0..pool.len())];
        let inn = self.bench[side].remove(k);
        if let Some(slot) = self.on_pitch[side].iter_mut().find(|p| p.0 == out) {
            *slot = inn;
        }
        self.incident(
            ts,
            side,
            IncidentDetail::Substitution {
                player_out: out,
                player_in: inn.0,
            },
        );
    }

    pub(super) fn possession(&mut self, ts: i64) {
        let avg = if self.dom_n > 0 {
            self.dom_sum / f64::from(self.dom_n)
        } else {
            self.dom
        };
        self.dom_sum = 0.0;
        self.dom_n = 0;
        let share = (50.0 + 18.0 * avg + 3.0 * normal(&mut self.rng))
            .round()
            .clamp(20.0, 80.0) as u8;
        self.incident(ts, 0, IncidentDetail::Possession { share });
        self.incident(ts, 1, IncidentDetail::Possession { share: 100 - share });
    }
}
