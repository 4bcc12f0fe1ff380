//! The seeded feed simulator: a virtual football world, its live matches, a bookmaker that prices
//! them, feed noise, an optional planted inefficiency, and the *true* probabilities beside the
//! feed so that learning can be checked against an oracle (PRODUCT.md, "Data").
//!
//! [`simulate`] returns the feed in file order as [`Payload`]s (`Decoded` records, and `Line`s for
//! malformed lines) plus the truth side channel ([`TruthRow`]) and one [`MatchSummary`] per match.
//! The same [`SimConfig`] (seed included) gives the same output, item for item: every random
//! stream is a `ChaCha8Rng` seeded from the seed, a stream number and the match's index
//! (`sub_seed`), so a match's content does not depend on the order matches are simulated in
//! (they are simulated in parallel) and no hash map is ever iterated.
//!
//! # The world
//!
//! * `leagues` leagues (default 8) coded `SIM1`, `SIM2`…, each with `teams_per_league` teams
//!   (default 16; ids `100·league + n`, unique across leagues), a venue per team, ten referees, a
//!   league goal level and a home advantage. Seasons are named `2025-26`, `2026-27`…
//! * Each team has latent log-rate strengths `attack` and `defence` (sd 0.17) that drift slowly from
//!   match to match (`strength_drift`, reverting to the team's long-run level), a usual formation
//!   (4-4-2, 4-3-3, 4-2-3-1, 3-5-2, 4-1-4-1, 3-4-3, 5-3-2) and a squad of 24 (2 GK, 8 DF, 8 MF,
//!   6 FW) with stable player ids (`100·team + n`) and a latent quality.
//! * The calendar is a double round robin per league (a season), the leagues interleaved round by
//!   round, so teams meet again and cross-match form, ratings and Elo mean something. Fixtures are
//!   placed greedily on kick-off slots every `slot_minutes` (15), at most `kickoffs_per_slot` (8)
//!   per slot, `slots_per_day` (40: 12:00–21:45 UTC from `start_ms`) per day, and no team kicks off
//!   within `min_rest_minutes` (150) of its previous kick-off. With the defaults about 25 matches
//!   kick off per hour of the daily window: ~40–50 matches are live at once at the peak and 1000
//!   matches span about four days (their prematch bulletins start up to 48 h earlier).
//!
//! # One match
//!
//! * **Prematch.** A fixture (version 1) 24–48 h before kick-off with a `scheduled` status;
//!   lineups of both sides 60–75 min before (formation, 11 starters with slot positions, 7 on the
//!   bench with natural positions; players picked by quality with rotation), and with probability
//!   0.15 per side a late change (version 2: a bench player of the same line replaces a starter)
//!   10–40 min before.
//! * **Dominance.** A latent `D(t) ∈ [-1, 1]` (home minus away control) follows an
//!   Ornstein–Uhlenbeck process, stepped every second of play: reversion 0.12/min, stationary sd
//!   0.28, mean `μ = 0.8·(strength difference) + 0.5·home advantage − 0.12·(home lead, ±2 at most)
//!   − 0.25·(home reds − away reds)`, clamped to ±0.75 — a trailing side pushes, a side down a man
//!   is pushed back.
//! * **Incidents.** Each second, each side has at most one event, with per-minute rates:
//!   goals `goal_side · profile(minute) · red · exp(±0.8·D)` (profile 0.8→1.2 over the match; a
//!   red card multiplies the own rate by 0.72 and the opponent's by 1.22), of which 8 % come as
//!   *penalties awarded* (taken 45–90 s later, scored 78 %, else a shot), 3 % of open-play goals
//!   are own goals; saved shots and shots off target (with log-normal xG), corners
//!   (`exp(±0.9·D)`), dangerous attacks, attacks (all rising with `D` and attack strength), and
//!   fouls (rising as `D` falls), each foul carrying a yellow (15 %; a booked player's foul is a
//!   `second_yellow` at a third of that rate) or a straight red (0.3 %). Goals carry the scorer (weighted towards
//!   forwards) and come with their shot; 3–5 substitutions per side (some at half time, most
//!   55'–88'); a possession share for both sides every 5 minutes (from the mean dominance of the
//!   window). Incident ids count from 1 within the match; version 1 unless corrected.
//! * **Clock.** `first_half` at kick-off, a status every minute of play (the clock runs into
//!   stoppage: 1–4 min + s in the first half, 2–8 min + s in the second), `half_time` (with the
//!   clock at the whistle), a 15–16 min break, `second_half` at 45:00, `finished` with the clock
//!   at the final whistle; the status version counts every status record.
//! * **Result** (version 1) 1–3 min after full time with half-time and full-time score and
//!   corners.
//!
//! # The bookmaker and the truth
//!
//! Both price from the same Poisson model of the *remaining* goals: each side's intensity is
//! integrated minute by minute over the remaining play time (stoppage at its expectation until
//! the board is shown), with the dominance expected to revert along its OU mean path (and the
//! log-normal correction `β²·Var/2`), given the score, the clock and the red cards; corners
//! likewise. Markets follow from the grid of final scores. The **truth** is this model with the
//! actual current dominance — a first-order approximation of the expectation over future
//! dominance paths (it ignores that future goals and cards move the dominance mean). Prematch,
//! the truth takes dominance at its stationary distribution.
//!
//! * Markets: `match_odds`, `over_under` 0.5–4.5, `btts`, `double_chance`, `correct_score` (every
//!   score up to 3–3 plus `any_other`), two `asian_handicap` quarter lines around the balancing
//!   line (e.g. −0.75/−0.25), `corners_over_under` 9.5; opened 2–6 h before kick-off (phase
//!   prematch). Prematch prices drift: the bookmaker's goal rates carry an opinion error
//!   (`prematch_drift`, log sd) that shrinks towards the truth at each reprice every 8–20 min,
//!   so opening prices are noisier than closing prices.
//! * At kick-off every market is re-sent in play (Asian handicaps close: they are prematch only),
//!   every price is re-sent, and `next_goal{goal: 1}` opens.
//! * In play, markets are repriced at most every 10 s (match odds, over/under, btts, next goal)
//!   30 s (double chance, corners) or 60 s (correct score) of event time. A price is sent only when its
//!   ladder price changes by a full tick (a ¾-tick hysteresis keeps prices from flickering).
//! * Goals suspend every open market for 20–60 s, red cards for 10–30 s, a penalty awarded until
//!   it is taken; on reopening, decided markets close (an over/under line passed, btts once both
//!   scored, next goal n once scored, correct score once only `any_other` is left — impossible
//!   scores are dropped from its selections), the others reopen with new prices, and
//!   `next_goal{goal: n+1}` opens. Everything closes at full time.
//! * **Margin: the power method.** Implied probabilities `π_i = p_i^k` with `k < 1` solving
//!   `Σπ_i = 1 + margin` (a favourite–longshot bias). Double chance is priced from the margined
//!   1X2 (`π_H + π_D`…). Prices `1/π` are floored onto a Betfair-style ladder (0.01 steps up to 2,
//!   0.02 to 3, 0.05 to 4, 0.1 to 6, 0.2 to 10, 0.5 to 20, 1 to 30, 2 to 50, 5 to 100, 10 to 1000),
//!   so they have two decimals, are at least 1.02 and at most 1000.
//! * **Truth rows**: whenever a market is (re)priced and a price is published (and at every
//!   open/reopen), one [`TruthRow`] per selection with the true probability. Per market they sum to
//!   1, except double chance (2); Asian handicap rows are push-adjusted win probabilities
//!   `q = P(win)/(P(win)+P(lose))` (fair price `1/q`).
//!
//! # Inefficiencies ([`Inefficiency`])
//!
//! Without one, the bookmaker prices in play with the true model (plus margin).
//! `IgnoresDominance { size }`: the bookmaker sees only `1 − size` of the current deviation of
//! dominance from its expected level (`size = 1`: it assumes dominance sits at its mean), so its
//! goal rates miss the pressure that truly drives goals — a strategy reading pressure features
//! beats it. `LagsAfterGoals { seconds }`: after a goal, markets reopen on time but priced as if
//! the goal had not been scored, for `seconds`, before catching up.
//!
//! # Noise ([`NoiseConfig`])
//!
//! * In the match: `abandoned` (status `abandoned` between 10' and 85' with an `abandonment`
//!   record and a reason, markets closed, no result), `result_corrections` (a result version 2,
//!   5–15 min after version 1, with one side's score moved by one), `var_overturns` (extra goals,
//!   at `p/(1−p)` of the open-play rate so valid goals keep their rate: the goal and its shot are
//!   sent, markets suspend, 60–150 s later the goal is re-sent as version 2 with `cancelled: true`
//!   plus a `var` incident `goal_overturned` reviewing it, and markets reopen 5–15 s later).
//! * On the feed: `reordered` records appear up to `reorder_ms` (≤ 30 s) later in the file (their
//!   `ts` unchanged); `duplicates` are sent again up to 5 s (and ≤ `reorder_ms`) later;
//!   `stale` re-sends the previous version of an odds, market or status key 1–20 s after a newer
//!   one (stamped with the time it is re-sent); `malformed` adds a garbage line beside a record:
//!   truncated JSON, an unknown kind (`"weather"`), odds priced 0.9 or `"NaN"`, a status with a
//!   negative clock, a market for a match id with no fixture (≥ 9 000 000 000), or not JSON at
//!   all. The feed is sorted by file time, then match id, then the match's own order. Every item's
//!   `ts` is within `reorder_ms` of the largest `ts` before it, and no record comes before its
//!   match's fixture.
//!
//! # Size
//!
//! With [`NoiseConfig::typical`] a match yields about 4,200 feed items (≈ 300 prematch odds, ≈ 100
//! statuses, ≈ 450 incidents, ≈ 95 market records, ≈ 3,250 in-play odds — over/under, next goal
//! and correct score the most) and about 6,100 truth rows. 1000 matches: ≈ 4.2 million items
//! (≈ 570 MB as JSON lines) and ≈ 6.1 million truth rows, spanning 5.4 days, simulated in about
//! 10 s on two cores (matches run in parallel).
//!

mod concurrent;
mod game;
pub(crate) mod market_maker;
mod names;
mod noise;
pub(crate) mod pricing;
mod world;

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::{
    EventTime, MarketKind, MatchId, MatchResult, Record, Score, Selection, TeamId,
};
use serde::{Deserialize, Serialize};

pub use concurrent::{ConcurrentConfig, ConcurrentFeed};
pub(crate) use noise::UNKNOWN_MATCH_BASE;

pub(crate) const MIN_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 60 * MIN_MS;
pub(crate) const DAY_MS: i64 = 24 * HOUR_MS;

/// 2026-01-03T12:00:00Z.
pub(crate) const DEFAULT_START_MS: i64 = 1_767_441_600_000;

/// Everything that shapes a simulated feed. Same config ⇒ same output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Number of matches.
    pub matches: usize,
    /// Seed of every random stream (world, matches, noise).
    pub seed: u64,
    /// First kick-off slot, UTC ms (default 2026-01-03T12:00Z); slots repeat daily from its time
    /// of day.
    pub start_ms: i64,
    /// Feed noise (duplicates, reordering, stale and malformed lines, corrections…).
    pub noise: NoiseConfig,
    /// A planted, known bookmaker inefficiency.
    pub inefficiency: Option<Inefficiency>,
    /// Bookmaker overround (0.05 = 105 %), applied by the power method.
    pub margin: f64,
    /// Number of leagues.
    pub leagues: usize,
    /// Teams in each league.
    pub teams_per_league: usize,
    /// Minutes between kick-off slots.
    pub slot_minutes: i64,
    /// At most this many kick-offs per slot.
    pub kickoffs_per_slot: usize,
    /// Kick-off slots per day (from `start_ms`'s time of day).
    pub slots_per_day: usize,
    /// Minimum minutes between two kick-offs of one team.
    pub min_rest_minutes: i64,
    /// Match id of the first match; the others follow.
    pub first_match_id: MatchId,
    /// Log sd of the bookmaker's prematch opinion error on goal rates (0: prematch prices are the
    /// true model plus margin).
    pub prematch_drift: f64,
    /// Sd of the per-match random walk of team strengths.
    pub strength_drift: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            matches: 100,
            seed: 1,
            start_ms: DEFAULT_START_MS,
            noise: NoiseConfig::none(),
            inefficiency: None,
            margin: 0.05,
            leagues: 8,
            teams_per_league: 16,
            slot_minutes: 15,
            kickoffs_per_slot: 8,
            slots_per_day: 40,
            min_rest_minutes: 150,
            first_match_id: 1_000_001,
            prematch_drift: 0.05,
            strength_drift: 0.02,
        }
    }
}

impl SimConfig {
    /// Spreads the calendar to `n` kick-offs per day: up to eight per slot, as many slots as it
    /// takes (at least one).
    pub fn with_matches_per_day(self, n: usize) -> Self {
        let per_slot = n.clamp(1, 8);
        SimConfig {
            kickoffs_per_slot: per_slot,
            slots_per_day: n.max(1).div_ceil(per_slot),
            ..self
        }
    }
}

/// Feed noise; all probabilities are in [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NoiseConfig {
    /// Probability a record is sent twice (the copy up to 5 s later in the file).
    pub duplicates: f64,
    /// Maximum displacement of a reordered record, in event-time ms (≤ 30 000).
    pub reorder_ms: i64,
    /// Probability a record is displaced (by 1..=`reorder_ms` ms of file time; its `ts` stays).
    pub reordered: f64,
    /// Probability that, after a newer version of an odds/market/status key, the previous version
    /// is re-sent 1–20 s later.
    pub stale: f64,
    /// Probability a match's result is corrected by a version 2.
    pub result_corrections: f64,
    /// Probability a goal is overturned by VAR.
    pub var_overturns: f64,
    /// Probability per record of an extra garbage line.
    pub malformed: f64,
    /// Probability a match is abandoned mid-game.
    pub abandoned: f64,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig::none()
    }
}

impl NoiseConfig {
    /// A clean feed.
    pub fn none() -> Self {
        NoiseConfig {
            duplicates: 0.0,
            reorder_ms: 0,
            reordered: 0.0,
            stale: 0.0,
            result_corrections: 0.0,
            var_overturns: 0.0,
            malformed: 0.0,
            abandoned: 0.0,
        }
    }

    /// Small, realistic rates.
    pub fn typical() -> Self {
        NoiseConfig {
            duplicates: 0.01,
            reorder_ms: 2_000,
            reordered: 0.02,
            stale: 0.005,
            result_corrections: 0.02,
            var_overturns: 0.04,
            malformed: 0.001,
            abandoned: 0.005,
        }
    }

    fn sanitized(&self) -> Self {
        let p = |x: f64| {
            if x.is_finite() {
                x.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        NoiseConfig {
            duplicates: p(self.duplicates),
            reorder_ms: self.reorder_ms.clamp(0, 30_000),
            reordered: p(self.reordered),
            stale: p(self.stale),
            result_corrections: p(self.result_corrections),
            // At 1 every goal would be overturned and no valid goal rate is left.
            var_overturns: p(self.var_overturns).min(0.9),
            malformed: p(self.malformed),
            abandoned: p(self.abandoned),
        }
    }
}

/// A planted, known bookmaker inefficiency (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inefficiency {
    /// In play, the bookmaker's goal rates ignore a fraction `size` ∈ [0, 1] of the current
    /// deviation of dominance from its expected level (1: it assumes dominance is at its mean).
    IgnoresDominance {
        /// The fraction of the dominance deviation ignored, in [0, 1].
        size: f64,
    },
    /// After a goal the bookmaker reopens its markets on time but keeps pricing as before the goal
    /// for `seconds`, then catches up.
    LagsAfterGoals {
        /// How long the stale pricing lasts after reopening.
        seconds: i64,
    },
}

impl SimConfig {
    /// Checks the config; [`simulate`] clamps what this rejects.
    pub fn validate(&self) -> Result<(), String> {
        let n = &self.noise;
        for (name, v) in [
            ("duplicates", n.duplicates),
            ("reordered", n.reordered),
            ("stale", n.stale),
            ("result_corrections", n.result_corrections),
            ("var_overturns", n.var_overturns),
            ("malformed", n.malformed),
            ("abandoned", n.abandoned),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("noise.{name} = {v} is not a probability"));
            }
        }
        if !(0..=30_000).contains(&n.reorder_ms) {
            return Err(format!(
                "noise.reorder_ms = {} is outside 0..=30000",
                n.reorder_ms
            ));
        }
        if !(0.0..=0.5).contains(&self.margin) {
            return Err(format!("margin = {} is outside [0, 0.5]", self.margin));
        }
        match self.inefficiency {
            Some(Inefficiency::IgnoresDominance { size }) if !(0.0..=1.0).contains(&size) => {
                return Err(format!("IgnoresDominance size = {size} is outside [0, 1]"));
            }
            Some(Inefficiency::LagsAfterGoals { seconds }) if !(0..=3600).contains(&seconds) => {
                return Err(format!(
                    "LagsAfterGoals seconds = {seconds} is outside 0..=3600"
                ));
            }
            _ => {}
        }
        if self.leagues == 0 || self.teams_per_league < 2 {
            return Err("need at least one league of two teams".into());
        }
        if self.slot_minutes <= 0 || self.kickoffs_per_slot == 0 || self.slots_per_day == 0 {
            return Err(
                "slot_minutes, kickoffs_per_slot and slots_per_day must be positive".into(),
            );
        }
        if self.slot_minutes * self.slots_per_day as i64 > 24 * 60 {
            return Err("the daily kick-off window is longer than a day".into());
        }
        if self.start_ms < 3 * DAY_MS {
            return Err(
                "start_ms must leave room for prematch records (48 h) after the epoch".into(),
            );
        }
        Ok(())
    }

    fn sanitized(&self) -> SimConfig {
        let mut c = self.clone();
        c.noise = self.noise.sanitized();
        c.margin = if self.margin.is_finite() {
            self.margin.clamp(0.0, 0.5)
        } else {
            0.05
        };
        c.inefficiency = match self.inefficiency {
            Some(Inefficiency::IgnoresDominance { size }) => Some(Inefficiency::IgnoresDominance {
                size: if size.is_finite() {
                    size.clamp(0.0, 1.0)
                } else {
                    0.0
                },
            }),
            Some(Inefficiency::LagsAfterGoals { seconds }) => Some(Inefficiency::LagsAfterGoals {
                seconds: seconds.clamp(0, 3600),
            }),
            None => None,
        };
        c.leagues = self.leagues.clamp(1, 99);
        c.teams_per_league = self.teams_per_league.clamp(2, 99);
        c.slot_minutes = self.slot_minutes.clamp(1, 24 * 60);
        c.kickoffs_per_slot = self.kickoffs_per_slot.max(1);
        c.slots_per_day = self
            .slots_per_day
            .clamp(1, (24 * 60 / c.slot_minutes) as usize);
        c.min_rest_minutes = self.min_rest_minutes.max(0);
        c.start_ms = self.start_ms.max(3 * DAY_MS);
        let finite = |x: f64, d: f64| if x.is_finite() { x.max(0.0) } else { d };
        c.prematch_drift = finite(self.prematch_drift, 0.05).min(1.0);
        c.strength_drift = finite(self.strength_drift, 0.02).min(1.0);
        c
    }
}

/// The true probability of one selection at `ts`, from the simulator's true model (dominance
/// included), whatever the bookmaker believes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthRow {
    /// When the probability holds from (the time of the reprice that published it).
    pub ts: EventTime,
    /// The match.
    pub match_id: MatchId,
    /// The market of the selection.
    pub market: MarketKind,
    /// The selection.
    pub selection: Selection,
    /// Its true probability of winning.
    pub prob: f64,
}

/// What the simulator knows about one match (for tests, oracles and reports).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchSummary {
    /// The match's id in the feed.
    pub match_id: MatchId,
    /// Position in the calendar (the per-match sub-seed).
    pub index: usize,
    /// League code (`SIM1`, `SIM2`…).
    pub league: String,
    /// Season label (`2025-26`…).
    pub season: String,
    /// Kick-off, UTC ms.
    pub kickoff: EventTime,
    /// Home team.
    pub home: TeamId,
    /// Away team.
    pub away: TeamId,
    /// Latent `[attack, defence]` of home and away at kick-off.
    pub strength: [[f64; 2]; 2],
    /// Valid goals (VAR-overturned ones excluded) at full time, or when abandoned.
    pub score: Score,
    /// The last result version sent (`None` when abandoned).
    pub result: Option<MatchResult>,
    /// The result was corrected (its last version differs from the goals).
    pub corrected: bool,
    /// The match was abandoned mid-game.
    pub abandoned: bool,
    /// Goals shown and then disallowed by VAR.
    pub overturned_goals: u32,
    /// Feed items of this match, noise included.
    pub records: usize,
}

/// A simulated feed.
#[derive(Clone, Debug, Default)]
pub struct SimOutput {
    /// The feed in file order: `Decoded` records and `Line`s (malformed lines).
    pub items: Vec<Payload>,
    /// True probabilities, ordered by `ts`, then match id.
    pub truth: Vec<TruthRow>,
    /// One per match, in calendar order.
    pub matches: Vec<MatchSummary>,
}

impl SimOutput {
    /// The decoded records of the feed, in file order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.items.iter().filter_map(|p| match p {
            Payload::Decoded(r) => Some(r),
            Payload::Line(_) => None,
        })
    }
}

/// A 64-bit mixer (splitmix64's finaliser).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of random stream `stream` for item `index` (a match) of the run seeded `seed`.
pub(crate) fn sub_seed(seed: u64, stream: u64, index: u64) -> u64 {
    mix(mix(mix(seed) ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93)) ^ index)
}

struct Simulated {
    items: Vec<noise::Item>,
    truth: Vec<TruthRow>,
    summary: MatchSummary,
}

fn simulate_one(cfg: &SimConfig, w: &world::World, plan: &world::MatchPlan) -> Simulated {
    let out = game::play(cfg, w, plan);
    let items = noise::apply(&cfg.noise, cfg.seed, plan.index, out.records);
    let mut truth = out.truth;
    truth.sort_by_key(|t| t.ts); // stable: keeps the generation order within a ts
    let mut summary = out.summary;
    summary.records = items.len();
    Simulated {
        items,
        truth,
        summary,
    }
}

/// Simulates the world, its matches and the feed. See the module docs.
pub fn simulate(cfg: &SimConfig) -> SimOutput {
    merge(simulate_each(cfg))
}

/// Each match of the calendar simulated on its own (in parallel), in calendar order.
fn simulate_each(cfg: &SimConfig) -> Vec<Simulated> {
    let cfg = cfg.sanitized();
    let w = world::World::build(&cfg);
    let n = w.matches.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 16)
        .min(n.max(1));
    let mut done: Vec<Option<Simulated>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (cfg, w) = (&cfg, &w);
                scope.spawn(move || {
                    (t..n)
                        .step_by(threads)
                        .map(|i| (i, simulate_one(cfg, w, &w.matches[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(v) => {
                    for (i, s) in v {
                        done[i] = Some(s);
                    }
                }
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    });
    done.into_iter().flatten().collect()
}

/// The feed and truth of every match, merged into file order.
fn merge(sims: Vec<Simulated>) -> SimOutput {
    // k-way merges: items by (file time, match id, seq), truth by (ts, match id, generation order).
    let total_items: usize = sims.iter().map(|s| s.items.len()).sum();
    let total_truth: usize = sims.iter().map(|s| s.truth.len()).sum();
    let mut matches = Vec::with_capacity(sims.len());
    let mut item_iters = Vec::with_capacity(sims.len());
    let mut truth_iters = Vec::with_capacity(sims.len());
    for s in sims {
        matches.push(s.summary);
        item_iters.push(s.items.into_iter().peekable());
        truth_iters.push(s.truth.into_iter().enumerate().peekable());
    }
    let mut items = Vec::with_capacity(total_items);
    let mut heap = BinaryHeap::new();
    for (k, it) in item_iters.iter_mut().enumerate() {
        if let Some(x) = it.peek() {
            heap.push(Reverse((x.eff, matches[k].match_id, x.seq, k)));
        }
    }
    while let Some(Reverse((_, _, _, k))) = heap.pop() {
        if let Some(x) = item_iters[k].next() {
            items.push(x.payload);
        }
        match item_iters[k].peek() {
            Some(x) => heap.push(Reverse((x.eff, matches[k].match_id, x.seq, k))),
            // Free the match's buffer as soon as it is drained.
            None => item_iters[k] = Vec::new().into_iter().peekable(),
        }
    }
    let mut truth = Vec::with_capacity(total_truth);
    for (k, it) in truth_iters.iter_mut().enumerate() {
        if let Some((j, t)) = it.peek() {
            heap.push(Reverse((t.ts, t.match_id, *j as u64, k)));
        }
    }
    while let Some(Reverse((_, _, _, k))) = heap.pop() {
        if let Some((_, t)) = truth_iters[k].next() {
            truth.push(t);
        }
        match truth_iters[k].peek() {
            Some((j, t)) => heap.push(Reverse((t.ts, t.match_id, *j as u64, k))),
            None => truth_iters[k] = Vec::new().into_iter().enumerate().peekable(),
        }
    }
    SimOutput {
        items,
        truth,
        matches,
    }
}
