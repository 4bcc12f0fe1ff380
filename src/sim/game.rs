//! One match: its prematch bulletin, the live process (dominance, incidents, clock), the
//! bookmaker's markets and prices, and the truth side channel. Produces the match's clean records
//! in generation order; feed noise is applied afterwards (see `noise.rs`).

use std::collections::BTreeMap;

use oddsflow_dataflows::model::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::names::ABANDON_REASONS;
use oddsflow_dataflows::pricing::goals::goal_profile;
use oddsflow_dataflows::pricing::inplay::red_factor;
use oddsflow_dataflows::pricing::ladder;

use super::pricing::{self, DOM_SD, Outlook, RateModel, THETA, View};
use super::world::{FORMATIONS, Formation, MatchPlan, Role, Team, World};
use super::{Inefficiency, MIN_MS, MatchSummary, SimConfig, TruthRow, sub_seed};

/// Stream numbers of the per-match random streams (see [`sub_seed`]).
const STREAM_GAME: u64 = 2;
const STREAM_GAME_NOISE: u64 = 3;

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
/// Probability of a late lineup change per side.
const LINEUP_CHANGE: f64 = 0.15;
/// Corners over/under line of the corners market (9.5).
const CORNER_LINE: Line = Line(38);
/// Correct-score grid: every score up to this many goals per side, plus "any other".
const CS_MAX: u8 = 3;

/// Standard deviation of the dominance process per √minute (its stationary sd is `DOM_SD`).
fn sigma() -> f64 {
    DOM_SD * (2.0 * THETA).sqrt()
}

const SIDES: [Side; 2] = [Side::Home, Side::Away];

pub(crate) struct MatchOutcome {
    pub records: Vec<Record>,
    pub truth: Vec<TruthRow>,
    pub summary: MatchSummary,
}

/// Reprice cadence of a market in play: the main markets every 10 s, double chance and corners
/// every 30 s, correct score every 60 s.
fn cadence_ms(kind: MarketKind) -> i64 {
    match kind {
        MarketKind::MatchOdds
        | MarketKind::OverUnder { .. }
        | MarketKind::NextGoal { .. }
        | MarketKind::Btts => 10_000,
        MarketKind::CorrectScore => 60_000,
        _ => 30_000,
    }
}

#[derive(Clone, Debug)]
struct Mkt {
    kind: MarketKind,
    version: Version,
    status: MarketStatus,
    phase: Phase,
    selections: Vec<Selection>,
    /// Last published (version, price in hundredths) per selection.
    published: BTreeMap<Selection, (Version, i64)>,
    last_priced: i64,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Reopen,
    LagEnd,
    TakePenalty { side: usize },
    VarDecision { goal: u32 },
}

/// A team sheet: (player, line, position label) of the eleven and of the bench.
#[derive(Clone, Debug)]
struct Sheet {
    formation: &'static str,
    starters: Vec<(PlayerId, Role, &'static str)>,
    bench: Vec<(PlayerId, Role, &'static str)>,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
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

fn pick_sheet(rng: &mut ChaCha8Rng, team: &Team, formation: &Formation) -> Sheet {
    let mut lines: BTreeMap<Role, Vec<(f64, usize)>> = BTreeMap::new();
    for (k, p) in team.squad.iter().enumerate() {
        let form = p.quality + 0.4 * normal(rng);
        lines.entry(p.role).or_default().push((form, k));
    }
    for v in lines.values_mut() {
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        v.reverse(); // pop() takes the best
    }
    let mut starters = Vec::with_capacity(11);
    for &(label, role) in &formation.slots {
        let k = lines.get_mut(&role).and_then(|v| v.pop()).or_else(|| {
            // Not enough players of that line: take anyone left (never with the built-in squads).
            lines
                .values_mut()
                .find(|v| !v.is_empty())
                .and_then(|v| v.pop())
        });
        if let Some((_, k)) = k {
            starters.push((team.squad[k].id, role, label));
        }
    }
    let mut bench = Vec::with_capacity(7);
    for (role, n) in [
        (Role::Gk, 1),
        (Role::Def, 2),
        (Role::Mid, 2),
        (Role::Fwd, 2),
    ] {
        for _ in 0..n {
            if let Some((_, k)) = lines.get_mut(&role).and_then(|v| v.pop()) {
                bench.push((team.squad[k].id, team.squad[k].role, team.squad[k].natural));
            }
        }
    }
    Sheet {
        formation: formation.name,
        starters,
        bench,
    }
}

/// A late change: a bench player of the same line replaces a starter (not the keeper).
fn change_sheet(rng: &mut ChaCha8Rng, team: &Team, sheet: &Sheet) -> Option<Sheet> {
    let outfield: Vec<usize> = (0..sheet.starters.len())
        .filter(|&i| sheet.starters[i].1 != Role::Gk)
        .collect();
    if outfield.is_empty() {
        return None;
    }
    let s = outfield[rng.random_range(0..outfield.len())];
    let role = sheet.starters[s].1;
    let b = sheet.bench.iter().position(|p| p.1 == role)?;
    let mut next = sheet.clone();
    let out = next.starters[s];
    let inn = next.bench[b];
    next.starters[s] = (inn.0, role, out.2);
    let natural = team
        .squad
        .iter()
        .find(|p| p.id == out.0)
        .map_or("SUB", |p| p.natural);
    next.bench[b] = (out.0, role, natural);
    Some(next)
}

fn sheet_record(team: &Team, side: Side, version: Version, sheet: &Sheet) -> Lineup {
    let name = |id: PlayerId| {
        team.squad
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("Player {id}"), |p| p.name.clone())
    };
    let players = sheet
        .starters
        .iter()
        .map(|&(id, _, pos)| (id, pos, true))
        .chain(sheet.bench.iter().map(|&(id, _, pos)| (id, pos, false)))
        .map(|(id, pos, starter)| Player {
            id,
            name: name(id),
            position: pos.to_string(),
            starter,
        })
        .collect();
    Lineup {
        version,
        side,
        formation: sheet.formation.to_string(),
        players,
    }
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
    phase: pricing::Phase,
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
    markets: Vec<Mkt>,
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
            phase: pricing::Phase::Prematch,
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
            markets: Vec::new(),
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

    fn emit_market(&mut self, i: usize, ts: i64) {
        let m = &mut self.markets[i];
        m.version += 1;
        let body = Body::Market(Market {
            version: m.version,
            market: m.kind,
            status: m.status,
            phase: m.phase,
            selections: m.selections.clone(),
        });
        self.emit(ts, body);
    }

    fn schedule(&mut self, due: i64, action: Action) {
        self.pending_seq += 1;
        self.pending.push((due, self.pending_seq, action));
    }

    // ----- pricing ----------------------------------------------------------------------------

    fn views(&self) -> (View, View) {
        let pre = self.phase == pricing::Phase::Prematch;
        let s2 = DOM_SD * DOM_SD;
        let mu = self.rates.mu(self.score, self.reds);
        let (d0, v0) = if pre { (mu, s2) } else { (self.dom, 0.0) };
        let truth = View {
            score: self.score,
            corners: self.corners,
            reds: self.reds,
            mu,
            d0,
            v0,
            mult: [1.0, 1.0],
        };
        let bscore = self.lag.map_or(self.score, |(_, s)| s);
        let bmu = self.rates.mu(bscore, self.reds);
        let bd0 = if pre {
            bmu
        } else {
            match self.cfg.inefficiency {
                Some(Inefficiency::IgnoresDominance { size }) => {
                    bmu + (1.0 - size) * (self.dom - bmu)
                }
                _ => self.dom,
            }
        };
        let mult = if pre {
            [self.prematch_err[0].exp(), self.prematch_err[1].exp()]
        } else {
            [1.0, 1.0]
        };
        let book = View {
            score: bscore,
            corners: self.corners,
            reds: self.reds,
            mu: bmu,
            d0: bd0,
            v0,
            mult,
        };
        (truth, book)
    }

    /// The true and the bookmaker's outlooks now (cached per event time and state revision).
    fn outlooks(&mut self, ts: i64) -> (Outlook, Outlook) {
        if let Some((t, r, a, b)) = self.cache
            && t == ts
            && r == self.rev
        {
            return (a, b);
        }
        let segs = pricing::remaining_segments(self.phase, self.clock, self.stoppage);
        let (tv, bv) = self.views();
        let a = pricing::outlook(&self.rates, &tv, &segs);
        let b = pricing::outlook(&self.rates, &bv, &segs);
        self.cache = Some((ts, self.rev, a, b));
        (a, b)
    }

    /// Reprices market `i`: publishes the selections whose ladder price moved (with a hysteresis
    /// of ¾ tick unless `force`), and the true probabilities when anything was published.
    fn reprice(&mut self, i: usize, ts: i64, force: bool) {
        let (truth, book) = self.outlooks(ts);
        let margin = self.cfg.margin;
        let kind = self.markets[i].kind;
        let sels = self.markets[i].selections.clone();
        let p_true = truth.probs(kind, &sels);
        let implied = pricing::implied(&book, kind, &sels, margin);
        let mut changed = false;
        for (k, &sel) in sels.iter().enumerate() {
            let raw = if implied[k] > 0.0 {
                1.0 / implied[k]
            } else {
                f64::INFINITY
            };
            let cents = ladder::ladder_floor(raw);
            let prev = self.markets[i].published.get(&sel).copied();
            let publish = match prev {
                None => true,
                Some((_, old)) => {
                    cents != old
                        && (force
                            || (raw - old as f64 / 100.0).abs()
                                >= 0.75 * ladder::tick_cents(old) as f64 / 100.0)
                }
            };
            if publish {
                let version = prev.map_or(1, |p| p.0 + 1);
                self.markets[i].published.insert(sel, (version, cents));
                self.emit(
                    ts,
                    Body::Odds(Odds {
                        version,
                        market: kind,
                        selection: sel,
                        price: F64(cents as f64 / 100.0),
                        modelled: false,
                    }),
                );
                changed = true;
            }
        }
        self.markets[i].last_priced = ts;
        if changed || force {
            for (k, &sel) in sels.iter().enumerate() {
                self.truth.push(TruthRow {
                    ts,
                    match_id: self.mid,
                    market: kind,
                    selection: sel,
                    prob: p_true[k],
                });
            }
        }
    }

    fn open_market(&mut self, ts: i64, kind: MarketKind, selections: Vec<Selection>, phase: Phase) {
        self.markets.push(Mkt {
            kind,
            version: 0,
            status: MarketStatus::Open,
            phase,
            selections,
            published: BTreeMap::new(),
            last_priced: ts,
        });
        let i = self.markets.len() - 1;
        self.emit_market(i, ts);
        self.reprice(i, ts, true);
    }

    fn reprice_due(&mut self, ts: i64) {
        for i in 0..self.markets.len() {
            let m = &self.markets[i];
            if m.status == MarketStatus::Open && ts - m.last_priced >= cadence_ms(m.kind) {
                self.reprice(i, ts, false);
            }
        }
    }

    fn suspend(&mut self, ts: i64, until: Option<i64>) {
        for i in 0..self.markets.len() {
            if self.markets[i].status == MarketStatus::Open {
                self.markets[i].status = MarketStatus::Suspended;
                self.emit_market(i, ts);
            }
        }
        if let Some(u) = until {
            self.release(u);
        }
    }

    /// Markets may reopen at `until` (if nothing else holds them).
    fn release(&mut self, until: i64) {
        self.suspended_until = self.suspended_until.max(until);
        self.schedule(until, Action::Reopen);
    }

    fn decided(&self, kind: MarketKind) -> bool {
        let total = i32::from(self.score[0]) + i32::from(self.score[1]);
        match kind {
            MarketKind::OverUnder { line } => f64::from(total) > line.goals(),
            MarketKind::Btts => self.score[0] > 0 && self.score[1] > 0,
            MarketKind::NextGoal { goal } => total >= i32::from(goal),
            MarketKind::CornersOverUnder { line } => {
                f64::from(i32::from(self.corners[0]) + i32::from(self.corners[1])) > line.goals()
            }
            _ => false,
        }
    }

    fn reopen(&mut self, ts: i64) {
        if self.holds > 0 || ts < self.suspended_until {
            return;
        }
        if let Some(before) = self.lag_pending.take()
            && let Some(Inefficiency::LagsAfterGoals { seconds }) = self.cfg.inefficiency
            && seconds > 0
        {
            let until = ts + seconds * 1000;
            self.lag = Some((until, before));
            self.rev += 1;
            self.schedule(until, Action::LagEnd);
        }
        for i in 0..self.markets.len() {
            if self.markets[i].status != MarketStatus::Suspended {
                continue;
            }
            let kind = self.markets[i].kind;
            if kind == MarketKind::CorrectScore {
                let [h, a] = self.score;
                let still: Vec<Selection> = self.markets[i]
                    .selections
                    .iter()
                    .copied()
                    .filter(|s| match s {
                        Selection::Score { home, away } => *home >= h && *away >= a,
                        _ => true,
                    })
                    .collect();
                if still.len() <= 1 {
                    self.markets[i].status = MarketStatus::Closed;
                    self.emit_market(i, ts);
                    continue;
                }
                self.markets[i].selections = still;
            }
            if self.decided(kind) {
                self.markets[i].status = MarketStatus::Closed;
                self.emit_market(i, ts);
            } else {
                self.markets[i].status = MarketStatus::Open;
                self.emit_market(i, ts);
                self.reprice(i, ts, true);
            }
        }
        self.ensure_next_goal(ts);
    }

    /// Opens the next-goal market for the next goal if it is not there yet.
    fn ensure_next_goal(&mut self, ts: i64) {
        let total = u16::from(self.score[0]) + u16::from(self.score[1]);
        if total >= 20 {
            return;
        }
        let kind = MarketKind::NextGoal {
            goal: total as u8 + 1,
        };
        if self.markets.iter().any(|m| m.kind == kind) {
            return;
        }
        self.open_market(
            ts,
            kind,
            vec![Selection::Home, Selection::NoGoal, Selection::Away],
            Phase::InPlay,
        );
    }

    fn close_all(&mut self, ts: i64) {
        for i in 0..self.markets.len() {
            if self.markets[i].status != MarketStatus::Closed {
                self.markets[i].status = MarketStatus::Closed;
                self.emit_market(i, ts);
            }
        }
    }

    fn prematch_markets(&self, outlook: &Outlook) -> Vec<(MarketKind, Vec<Selection>)> {
        use Selection as S;
        let mut v = vec![(MarketKind::MatchOdds, vec![S::Home, S::Draw, S::Away])];
        for q in [2, 6, 10, 14, 18] {
            v.push((
                MarketKind::OverUnder { line: Line(q) },
                vec![S::Over, S::Under],
            ));
        }
        v.push((MarketKind::Btts, vec![S::Yes, S::No]));
        v.push((
            MarketKind::DoubleChance,
            vec![S::HomeOrDraw, S::DrawOrAway, S::HomeOrAway],
        ));
        let mut cs = Vec::new();
        for h in 0..=CS_MAX {
            for a in 0..=CS_MAX {
                cs.push(S::Score { home: h, away: a });
            }
        }
        cs.push(S::AnyOther);
        v.push((MarketKind::CorrectScore, cs));
        // Asian handicap: the two quarter lines around the balancing half-goal line.
        let diff = outlook.lambda[0] - outlook.lambda[1];
        let main = -((2.0 * diff).round() as i32).clamp(-6, 6) * 2; // quarter goals, a multiple of 2
        for q in [main - 1, main + 1] {
            v.push((
                MarketKind::AsianHandicap { line: Line(q) },
                vec![S::Home, S::Away],
            ));
        }
        v.push((
            MarketKind::CornersOverUnder { line: CORNER_LINE },
            vec![S::Over, S::Under],
        ));
        v
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
                    for i in 0..self.markets.len() {
                        if self.markets[i].status == MarketStatus::Open {
                            self.reprice(i, ts, false);
                        }
                    }
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
        self.phase = pricing::Phase::FirstHalf;
        self.clock = 0;
        let mu = self.rates.mu(self.score, self.reds);
        self.dom = (mu + DOM_SD * normal(&mut self.rng)).clamp(-1.0, 1.0);
        self.rev += 1;
        self.status(ts, MatchStatus::FirstHalf, 0);
        for i in 0..self.markets.len() {
            if self.markets[i].status == MarketStatus::Closed {
                continue;
            }
            if matches!(self.markets[i].kind, MarketKind::AsianHandicap { .. }) {
                // Asian handicaps are prematch only: in-play they would settle on the rest of the
                // match, which the settlement does not model.
                self.markets[i].status = MarketStatus::Closed;
                self.emit_market(i, ts);
                continue;
            }
            self.markets[i].phase = Phase::InPlay;
            self.markets[i].status = MarketStatus::Open;
            self.emit_market(i, ts);
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
            self.phase = pricing::Phase::SecondHalf;
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
            self.reprice_due(ts);
        }
        let end_ts = self.ts_at(half, c1);
        self.clock = c1;
        self.flush_pending(end_ts, half == 2);
        if half == 1 {
            self.status(end_ts, MatchStatus::HalfTime, c1);
            self.half_time = self.score;
            self.phase = pricing::Phase::HalfTime;
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
                    for i in 0..self.markets.len() {
                        if self.markets[i].status == MarketStatus::Open {
                            self.reprice(i, ts, true);
                        }
                    }
                }
            }
            Action::TakePenalty { side } => self.take_penalty(ts, side),
            Action::VarDecision { goal } => self.var_overturn(ts, goal),
        }
    }

    fn step_dominance(&mut self) {
        let dt = 1.0 / 60.0;
        let mu = self.rates.mu(self.score, self.reds);
        let z = normal(&mut self.rng);
        self.dom =
            (self.dom + THETA * (mu - self.dom) * dt + sigma() * dt.sqrt() * z).clamp(-1.0, 1.0);
        self.dom_sum += self.dom;
        self.dom_n += 1;
        self.rev += 1;
    }

    fn events(&mut self, ts: i64) {
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

    fn var_overturn(&mut self, ts: i64, goal: u32) {
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

    fn take_penalty(&mut self, ts: i64, side: usize) {
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
        for i in 0..self.markets.len() {
            if self.markets[i].status == MarketStatus::Open && self.decided(self.markets[i].kind) {
                self.markets[i].status = MarketStatus::Closed;
                self.emit_market(i, ts);
            }
        }
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

    fn substitution(&mut self, ts: i64, side: usize) {
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

    fn possession(&mut self, ts: i64) {
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
