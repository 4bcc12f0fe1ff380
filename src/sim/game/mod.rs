//! One match: its prematch bulletin, the live process (dominance, incidents, clock), the
//! bookmaker's markets and prices, and the truth side channel. Produces the match's clean records
//! in generation order; feed noise is applied afterwards (see `noise.rs`).
//!
//! The bookmaker is in `bookmaker.rs`, the live football (dominance and incidents) in `live.rs`,
//! team sheets in `sheets.rs`; this file holds the match's state, its schedule and timeline.

mod bookmaker;
mod live;
mod sheets;

use oddsflow_dataflows::model::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::market_maker::MarketMaker;
use super::names::ABANDON_REASONS;
use super::pricing::{self, DOM_SD, Outlook, RateModel};
use super::world::{FORMATIONS, MatchPlan, Role, Team, World};
use super::{MIN_MS, MatchSummary, SimConfig, TruthRow, sub_seed};
use sheets::{Sheet, change_sheet, pick_sheet, sheet_record};

/// Stream numbers of the per-match random streams (see [`sub_seed`]).
const STREAM_GAME: u64 = 2;
const STREAM_GAME_NOISE: u64 = 3;

/// Probability of a late lineup change per side.
const LINEUP_CHANGE: f64 = 0.15;

const SIDES: [Side; 2] = [Side::Home, Side::Away];

pub(crate) struct MatchOutcome {
    pub records: Vec<Record>,
    pub truth: Vec<TruthRow>,
    pub summary: MatchSummary,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Reopen,
    LagEnd,
    TakePenalty { side: usize },
    VarDecision { goal: u32 },
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
}

/// Rounds down to the minute.
fn floor_min(ts: i64) -> i64 {
    ts.div_euclid(MIN_MS) * MIN_MS
}

struct Game<'a> {
    cfg: &'a SimConfig,
    plan: &'a MatchPlan,
    teams: [&'a Team; 2],
    league_code: String,
    mid: MatchId,
    /// The football (and the bookmaker's timing).
    rng: ChaCha8Rng,
    /// In-game noise: abandonment, result correction, VAR-overturned goals.
    nrng: ChaCha8Rng,
    out: Vec<Record>,
    truth: Vec<TruthRow>,
    rates: RateModel,

    // Schedule.
    kickoff: i64,
    stoppage: [i32; 2],
    second_half_start: i64,
    abandon_at: Option<(i32, &'static str)>,
    correction: Option<(i64, usize, bool)>,
    subs: Vec<(i32, usize)>,
    next_sub: usize,
    sheets: [Vec<(i64, Sheet)>; 2],

    // Live state.
    phase: pricing::Stage,
    clock: i32,
    status_version: Version,
    next_incident: u32,
    on_pitch: [Vec<(PlayerId, Role)>; 2],
    bench: [Vec<(PlayerId, Role)>; 2],
    booked: Vec<PlayerId>,
    /// Valid goals (what the result will say), goals shown (including ones under VAR review).
    score: [u8; 2],
    shown: [u8; 2],
    half_time: [u8; 2],
    corners: [u8; 2],
    reds: [u8; 2],
    dom: f64,
    dom_sum: f64,
    dom_n: u32,
    goal_incidents: Vec<Incident>,
    overturned: u32,
    abandoned: bool,

    // Bookmaker.
    book: MarketMaker,
    suspended_until: i64,
    /// Open reasons that keep markets suspended until resolved (a VAR review, a penalty to take).
    holds: u32,
    prematch_err: [f64; 2],
    lag_pending: Option<[u8; 2]>,
    lag: Option<(i64, [u8; 2])>,
    pending: Vec<(i64, u64, Action)>,
    pending_seq: u64,
    /// Bumped on every change of what the pricers see; keys the outlook cache.
    rev: u64,
    cache: Option<(i64, u64, Outlook, Outlook)>,
}

pub(crate) fn play(cfg: &SimConfig, world: &World, plan: &MatchPlan) -> MatchOutcome {
    let mut g = Game::new(cfg, world, plan);
    g.run();
    g.finish(world)
}

impl<'a> Game<'a> {
    fn new(cfg: &'a SimConfig, world: &'a World, plan: &'a MatchPlan) -> Game<'a> {
        let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(cfg.seed, STREAM_GAME, plan.index as u64));
        let mut nrng =
            ChaCha8Rng::seed_from_u64(sub_seed(cfg.seed, STREAM_GAME_NOISE, plan.index as u64));
        let league = &world.leagues[plan.league];
        let teams = [&world.teams[plan.home], &world.teams[plan.away]];
        let [sh, sa] = plan.strength;
        let ha = league.home_adv;
        let goal90 = [
            (league.base_goals + ha / 2.0 + sh.attack - sa.defence).exp(),
            (league.base_goals - ha / 2.0 + sa.attack - sh.defence).exp(),
        ];
        let corner90 = [
            4.6 * (0.3 * (sh.attack - sa.defence) + 0.08).exp(),
            4.6 * (0.3 * (sa.attack - sh.defence) - 0.08).exp(),
        ];
        let rates = RateModel {
            goal: [goal90[0] / 90.0, goal90[1] / 90.0],
            corner: [corner90[0] / 90.0, corner90[1] / 90.0],
            mu0: 0.8 * ((sh.attack + sh.defence) - (sa.attack + sa.defence)) + 0.5 * ha,
        };

        // In-game noise decisions, always drawn in this order.
        let ab_u = nrng.random::<f64>();
        let ab_clock = nrng.random_range(600..5100);
        let ab_reason = ABANDON_REASONS[nrng.random_range(0..ABANDON_REASONS.len())];
        let corr_u = nrng.random::<f64>();
        let corr_delay = nrng.random_range(5 * 60..=15 * 60) * 1000;
        let corr_side = nrng.random_range(0..2usize);
        let corr_up = nrng.random::<f64>() < 0.5;
        let abandon_at = (ab_u < cfg.noise.abandoned).then_some((ab_clock, ab_reason));
        let correction =
            (corr_u < cfg.noise.result_corrections).then_some((corr_delay, corr_side, corr_up));

        // The match's schedule.
        let kickoff = plan.kickoff;
        let boards1 = [1, 1, 2, 2, 2, 3, 3, 4];
        let boards2 = [2, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 7, 8];
        let st1 = boards1[rng.random_range(0..boards1.len())] * 60 + rng.random_range(0..=45);
        let st2 = boards2[rng.random_range(0..boards2.len())] * 60 + rng.random_range(0..=60);
        let break_ms = 15 * MIN_MS + rng.random_range(0..=60) * 1000;
        let second_half_start = kickoff + i64::from(2700 + st1) * 1000 + break_ms;
        let mut subs = Vec::new();
        for side in 0..2 {
            let u = rng.random::<f64>();
            let n = if u < 0.25 {
                3
            } else if u < 0.6 {
                4
            } else {
                5
            };
            for _ in 0..n {
                let at = if rng.random::<f64>() < 0.12 {
                    2700
                } else {
                    rng.random_range(55 * 60..88 * 60)
                };
                subs.push((at, side));
            }
        }
        subs.sort();

        // Team sheets: version 1 about an hour before kick-off, sometimes a late change.
        let mut sheets: [Vec<(i64, Sheet)>; 2] = [Vec::new(), Vec::new()];
        let lineup_ts = kickoff - rng.random_range(60..=75) * MIN_MS;
        for side in 0..2 {
            let team = teams[side];
            let f = if rng.random::<f64>() < 0.12 {
                rng.random_range(0..FORMATIONS.len())
            } else {
                team.formation
            };
            let sheet = pick_sheet(&mut rng, team, &FORMATIONS[f]);
            let change = rng.random::<f64>() < LINEUP_CHANGE;
            let change_ts = kickoff - rng.random_range(10..=40) * MIN_MS;
            let later = if change {
                change_sheet(&mut rng, team, &sheet)
            } else {
                None
            };
            sheets[side].push((lineup_ts, sheet));
            if let Some(s) = later {
                sheets[side].push((change_ts, s));
            }
        }

        Game {
            cfg,
            plan,
            teams,
            league_code: league.code.clone(),
            mid: plan.match_id,
            rng,
            nrng,
            out: Vec::with_capacity(4096),
            truth: Vec::with_capacity(4096),
            rates,
            kickoff,
            stoppage: [st1, st2],
            second_half_start,
            abandon_at,
            correction,
            subs,
            next_sub: 0,
            sheets,
            phase: pricing::Stage::Prematch,
            clock: 0,
            status_version: 0,
            next_incident: 1,
            on_pitch: [Vec::new(), Vec::new()],
            bench: [Vec::new(), Vec::new()],
            booked: Vec::new(),
            score: [0; 2],
            shown: [0; 2],
            half_time: [0; 2],
            corners: [0; 2],
            reds: [0; 2],
            dom: rates.mu0,
            dom_sum: 0.0,
            dom_n: 0,
            goal_incidents: Vec::new(),
            overturned: 0,
            abandoned: false,
            book: MarketMaker::new(false),
            suspended_until: i64::MIN,
            holds: 0,
            prematch_err: [0.0; 2],
            lag_pending: None,
            lag: None,
            pending: Vec::new(),
            pending_seq: 0,
            rev: 0,
            cache: None,
        }
    }

    // ----- emission helpers -------------------------------------------------------------------

    fn emit(&mut self, ts: i64, body: Body) {
        self.out.push(Record {
            ts,
            match_id: self.mid,
            body,
        });
    }

    fn status(&mut self, ts: i64, status: MatchStatus, clock_s: i32) {
        self.status_version += 1;
        self.emit(
            ts,
            Body::Status(Status {
                version: self.status_version,
                status,
                clock_s,
            }),
        );
    }

    fn incident(&mut self, ts: i64, side: usize, detail: IncidentDetail) -> u32 {
        let id = self.next_incident;
        self.next_incident += 1;
        let inc = Incident {
            id,
            version: 1,
            side: SIDES[side],
            clock_s: self.clock,
            detail,
            cancelled: false,
        };
        if matches!(detail, IncidentDetail::Goal { .. }) {
            self.goal_incidents.push(inc);
        }
        self.emit(ts, Body::Incident(inc));
        id
    }

    fn schedule(&mut self, due: i64, action: Action) {
        self.pending_seq += 1;
        self.pending.push((due, self.pending_seq, action));
    }

    // ----- the timeline -----------------------------------------------------------------------

    fn run(&mut self) {
        self.prematch();
        self.kick_off();
        if !self.play_half(1) {
            return;
        }
        if !self.play_half(2) {
            return;
        }
        self.full_time();
    }

    fn prematch(&mut self) {
        let k = self.kickoff;
        let fixture_ts = floor_min(k - self.rng.random_range(24 * 60..=48 * 60) * MIN_MS);
        let open_ts = floor_min(k - self.rng.random_range(120..=360) * MIN_MS);
        // (ts, order, what): 0 fixture, 1 lineup (side, sheet index), 2 markets open, 3 drift.
        let mut timeline: Vec<(i64, u8, usize, usize)> =
            vec![(fixture_ts, 0, 0, 0), (open_ts, 2, 0, 0)];
        for side in 0..2 {
            for (j, (ts, _)) in self.sheets[side].iter().enumerate() {
                timeline.push((*ts, 1, side, j));
            }
        }
        let mut t = open_ts + self.rng.random_range(8..=20) * MIN_MS;
        while t < k {
            timeline.push((t, 3, 0, 0));
            t += self.rng.random_range(8..=20) * MIN_MS;
        }
        timeline.sort();
        let drift = self.cfg.prematch_drift;
        for (ts, what, side, j) in timeline {
            match what {
                0 => {
                    let league = self.league_code.clone();
                    let fixture = Fixture {
                        version: 1,
                        league,
                        season: self.plan.season.clone(),
                        kickoff: k,
                        home: TeamRef {
                            id: self.teams[0].id,
                            name: self.teams[0].name.clone(),
                        },
                        away: TeamRef {
                            id: self.teams[1].id,
                            name: self.teams[1].name.clone(),
                        },
                        venue: self.teams[0].venue.clone(),
                        referee: self.plan.referee.clone(),
                    };
                    self.emit(ts, Body::Fixture(fixture));
                    self.status(ts, MatchStatus::Scheduled, 0);
                }
                1 => {
                    let lineup = sheet_record(
                        self.teams[side],
                        SIDES[side],
                        j as u64 + 1,
                        &self.sheets[side][j].1,
                    );
                    self.emit(ts, Body::Lineup(lineup));
                }
                2 => {
                    self.prematch_err =
                        [drift * normal(&mut self.rng), drift * normal(&mut self.rng)];
                    self.rev += 1;
                    let (truth, _) = self.outlooks(ts);
                    for (kind, sels) in self.prematch_markets(&truth) {
                        self.open_market(ts, kind, sels, Phase::Prematch);
                    }
                }
                _ => {
                    // The bookmaker's opinion drifts and converges towards the truth by kick-off.
                    for e in 0..2 {
                        self.prematch_err[e] =
                            0.8 * self.prematch_err[e] + 0.3 * drift * normal(&mut self.rng);
                    }
                    self.rev += 1;
                    self.reprice_open(ts, true, false);
                }
            }
        }
    }

    fn kick_off(&mut self) {
        let ts = self.kickoff;
        for side in 0..2 {
            if let Some((_, sheet)) = self.sheets[side].last() {
                self.on_pitch[side] = sheet.starters.iter().map(|p| (p.0, p.1)).collect();
                self.bench[side] = sheet.bench.iter().map(|p| (p.0, p.1)).collect();
            }
        }
        self.phase = pricing::Stage::FirstHalf;
        self.clock = 0;
        let mu = self.rates.mu(self.score, self.reds);
        self.dom = (mu + DOM_SD * normal(&mut self.rng)).clamp(-1.0, 1.0);
        self.rev += 1;
        self.status(ts, MatchStatus::FirstHalf, 0);
        for i in 0..self.book.len() {
            if self.book.status_at(i) == MarketStatus::Closed {
                continue;
            }
            let (book, mut tape) = self.desk();
            if matches!(book.kind_at(i), MarketKind::AsianHandicap { .. }) {
                // Asian handicaps are prematch only: in-play they would settle on the rest of the
                // match, which the settlement does not model.
                book.set(&mut tape, ts, i, MarketStatus::Closed, None);
                continue;
            }
            book.set(&mut tape, ts, i, MarketStatus::Open, Some(Phase::InPlay));
            self.reprice(i, ts, true);
        }
        self.ensure_next_goal(ts);
    }

    fn ts_at(&self, half: u8, clock: i32) -> i64 {
        if half == 1 {
            self.kickoff + i64::from(clock) * 1000
        } else {
            self.second_half_start + i64::from(clock - 2700) * 1000
        }
    }

    /// Plays one half second by second; false when the match was abandoned.
    fn play_half(&mut self, half: u8) -> bool {
        let (c0, c1) = if half == 1 {
            (0, 2700 + self.stoppage[0])
        } else {
            (2700, 5400 + self.stoppage[1])
        };
        let live = if half == 1 {
            MatchStatus::FirstHalf
        } else {
            MatchStatus::SecondHalf
        };
        if half == 2 {
            self.phase = pricing::Stage::SecondHalf;
            self.clock = 2700;
            self.rev += 1;
            self.status(self.second_half_start, MatchStatus::SecondHalf, 2700);
        }
        for clock in c0..c1 {
            let ts = self.ts_at(half, clock);
            self.clock = clock;
            self.run_pending(ts);
            if let Some((at, reason)) = self.abandon_at
                && at == clock
            {
                self.abandon(ts, reason);
                return false;
            }
            if clock > c0 && clock % 60 == 0 {
                self.status(ts, live, clock);
            }
            if clock > c0 && clock % 300 == 0 {
                self.possession(ts);
            }
            while self.next_sub < self.subs.len() && self.subs[self.next_sub].0 <= clock {
                let side = self.subs[self.next_sub].1;
                self.next_sub += 1;
                self.substitution(ts, side);
            }
            self.step_dominance();
            self.events(ts);
            self.reprice_open(ts, false, false);
        }
        let end_ts = self.ts_at(half, c1);
        self.clock = c1;
        self.flush_pending(end_ts, half == 2);
        if half == 1 {
            self.status(end_ts, MatchStatus::HalfTime, c1);
            self.half_time = self.score;
            self.phase = pricing::Stage::HalfTime;
            self.rev += 1;
        }
        true
    }

    fn run_pending(&mut self, ts: i64) {
        while let Some(k) = self.next_pending(ts) {
            let (_, _, action) = self.pending.swap_remove(k);
            self.act(ts, action);
        }
    }

    /// The earliest pending action due at or before `ts`.
    fn next_pending(&self, ts: i64) -> Option<usize> {
        self.pending
            .iter()
            .enumerate()
            .filter(|(_, p)| p.0 <= ts)
            .min_by_key(|(_, p)| (p.0, p.1))
            .map(|(k, _)| k)
    }

    /// At the end of a half: a penalty still to take or a VAR review still open is resolved at
    /// the whistle; reopening (in the break) is kept, except at full time where markets close.
    fn flush_pending(&mut self, end_ts: i64, final_whistle: bool) {
        while let Some(k) = self.next_pending(i64::MAX) {
            let (due, _, action) = self.pending.swap_remove(k);
            match action {
                Action::Reopen | Action::LagEnd if final_whistle => {}
                Action::Reopen | Action::LagEnd => self.act(due.max(end_ts), action),
                _ => self.act(end_ts, action),
            }
        }
    }

    fn act(&mut self, ts: i64, action: Action) {
        match action {
            Action::Reopen => self.reopen(ts),
            Action::LagEnd => {
                if let Some((until, _)) = self.lag
                    && ts >= until
                {
                    self.lag = None;
                    self.rev += 1;
                    self.reprice_open(ts, true, true);
                }
            }
            Action::TakePenalty { side } => self.take_penalty(ts, side),
            Action::VarDecision { goal } => self.var_overturn(ts, goal),
        }
    }

    fn abandon(&mut self, ts: i64, reason: &str) {
        self.abandoned = true;
        self.pending.clear();
        self.status(ts, MatchStatus::Abandoned, self.clock);
        self.emit(
            ts,
            Body::Abandonment(Abandonment {
                version: 1,
                reason: reason.to_string(),
            }),
        );
        self.close_all(ts);
    }

    fn full_time(&mut self) {
        let clock = 5400 + self.stoppage[1];
        let ts = self.ts_at(2, clock);
        self.status(ts, MatchStatus::Finished, clock);
        self.close_all(ts);
        let half_time = Score {
            home: self.half_time[0],
            away: self.half_time[1],
        };
        let full_time = Score {
            home: self.score[0],
            away: self.score[1],
        };
        let corners = Some(Score {
            home: self.corners[0],
            away: self.corners[1],
        });
        let delay = self.rng.random_range(60..=180) * 1000;
        self.emit(
            ts + delay,
            Body::Result(MatchResult {
                version: 1,
                half_time,
                full_time,
                corners,
            }),
        );
        if let Some((after, side, up)) = self.correction {
            let mut ft = [full_time.home, full_time.away];
            if up || ft[side] == 0 {
                ft[side] += 1;
            } else {
                ft[side] -= 1;
            }
            let full_time = Score {
                home: ft[0],
                away: ft[1],
            };
            self.emit(
                ts + after,
                Body::Result(MatchResult {
                    version: 2,
                    half_time,
                    full_time,
                    corners,
                }),
            );
        }
    }

    fn finish(self, world: &World) -> MatchOutcome {
        let plan = self.plan;
        let result = self.out.iter().rev().find_map(|r| match &r.body {
            Body::Result(x) => Some(*x),
            _ => None,
        });
        let summary = MatchSummary {
            match_id: self.mid,
            index: plan.index,
            league: world.leagues[plan.league].code.clone(),
            season: plan.season.clone(),
            kickoff: plan.kickoff,
            home: self.teams[0].id,
            away: self.teams[1].id,
            strength: [
                [plan.strength[0].attack, plan.strength[0].defence],
                [plan.strength[1].attack, plan.strength[1].defence],
            ],
            score: Score {
                home: self.score[0],
                away: self.score[1],
            },
            result,
            corrected: self.correction.is_some() && !self.abandoned,
            abandoned: self.abandoned,
            overturned_goals: self.overturned,
            records: 0,
        };
        MatchOutcome {
            records: self.out,
            truth: self.truth,
            summary,
        }
    }
}
