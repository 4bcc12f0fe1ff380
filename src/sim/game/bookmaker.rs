//! The simulator's bookmaker: the markets of a match and their prices, over the shared
//! [`MarketMaker`].
//!
//! **In:** the game's state (score, corners, reds, clock, dominance; the planted inefficiency
//! and the prematch opinion error) through the true and the bookmaker's [`Outlook`]s. **Out:**
//! market and odds records (into the game's record list, via [`Tape`]) and the truth rows of the
//! prices published. The policy lives here: reprice cadences, the ¾-tick hysteresis, the lag
//! after goals, holds, correct-score pruning, the next-goal market; the status transitions and
//! the publish-on-change rule are the market maker's.

use oddsflow_dataflows::model::*;
use oddsflow_dataflows::pricing::ladder;

use super::{Action, Game};
use crate::sim::market_maker::{MarketMaker, Publish};
use crate::sim::pricing::{self, Belief, DOM_SD, Outlook};
use crate::sim::{Inefficiency, TruthRow};

/// Corners over/under line of the corners market (9.5).
const CORNER_LINE: Line = Line(38);
/// Correct-score grid: every score up to this many goals per side, plus "any other".
const CS_MAX: u8 = 3;

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

/// The simulator's side of the market maker: its records go to the match's record list, in
/// generation order, with the maker's versions.
pub(super) struct Tape<'a> {
    mid: MatchId,
    out: &'a mut Vec<Record>,
}

impl Publish for Tape<'_> {
    fn market(&mut self, ts: EventTime, market: Market) {
        self.out.push(Record {
            ts,
            match_id: self.mid,
            body: Body::Market(market),
        });
    }

    fn odds(&mut self, ts: EventTime, odds: Odds) {
        self.out.push(Record {
            ts,
            match_id: self.mid,
            body: Body::Odds(odds),
        });
    }
}

impl Game<'_> {
    /// The market maker and the sink its records go to.
    pub(super) fn desk(&mut self) -> (&mut MarketMaker, Tape<'_>) {
        let tape = Tape {
            mid: self.mid,
            out: &mut self.out,
        };
        (&mut self.book, tape)
    }

    fn beliefs(&self) -> (Belief, Belief) {
        let pre = self.phase == pricing::Stage::Prematch;
        let s2 = DOM_SD * DOM_SD;
        let mu = self.rates.mu(self.score, self.reds);
        let (d0, v0) = if pre { (mu, s2) } else { (self.dom, 0.0) };
        let truth = Belief {
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
        let book = Belief {
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
    pub(super) fn outlooks(&mut self, ts: i64) -> (Outlook, Outlook) {
        if let Some((t, r, a, b)) = self.cache
            && t == ts
            && r == self.rev
        {
            return (a, b);
        }
        let segs = pricing::remaining_segments(self.phase, self.clock, self.stoppage);
        let (tv, bv) = self.beliefs();
        let a = pricing::outlook(&self.rates, &tv, &segs);
        let b = pricing::outlook(&self.rates, &bv, &segs);
        self.cache = Some((ts, self.rev, a, b));
        (a, b)
    }

    /// Reprices market `i`: publishes the selections whose ladder price moved (with a hysteresis
    /// of ¾ tick unless `force`), and the true probabilities when anything was published.
    pub(super) fn reprice(&mut self, i: usize, ts: i64, force: bool) {
        let (truth, bookie) = self.outlooks(ts);
        let margin = self.cfg.margin;
        let kind = self.book.kind_at(i);
        let sels = self.book.selections_at(i).to_vec();
        let p_true = truth.probs(kind, &sels);
        let raw: Vec<f64> = pricing::implied(&bookie, kind, &sels, margin)
            .into_iter()
            .map(|p| if p > 0.0 { 1.0 / p } else { f64::INFINITY })
            .collect();
        let cents: Vec<i64> = raw.iter().map(|&r| ladder::ladder_floor(r)).collect();
        let moved = |k: usize, old: i64| {
            force
                || (raw[k] - old as f64 / 100.0).abs()
                    >= 0.75 * ladder::tick_cents(old) as f64 / 100.0
        };
        let (book, mut tape) = self.desk();
        let changed = book.publish(&mut tape, ts, i, &cents, moved) > 0;
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

    pub(super) fn open_market(
        &mut self,
        ts: i64,
        kind: MarketKind,
        selections: Vec<Selection>,
        phase: Phase,
    ) {
        let (book, mut tape) = self.desk();
        let i = book.open(&mut tape, ts, kind, selections, phase);
        self.reprice(i, ts, true);
    }

    /// Reprices the open markets (those whose cadence is due, unless `all`).
    pub(super) fn reprice_open(&mut self, ts: i64, all: bool, force: bool) {
        for i in 0..self.book.len() {
            if self.book.status_at(i) == MarketStatus::Open
                && (all || ts - self.book.priced_at(i) >= cadence_ms(self.book.kind_at(i)))
            {
                self.reprice(i, ts, force);
            }
        }
    }

    pub(super) fn suspend(&mut self, ts: i64, until: Option<i64>) {
        let (book, mut tape) = self.desk();
        book.suspend_open(&mut tape, ts);
        if let Some(u) = until {
            self.release(u);
        }
    }

    /// Markets may reopen at `until` (if nothing else holds them).
    pub(super) fn release(&mut self, until: i64) {
        self.suspended_until = self.suspended_until.max(until);
        self.schedule(until, Action::Reopen);
    }

    pub(super) fn reopen(&mut self, ts: i64) {
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
        for i in 0..self.book.len() {
            if self.book.status_at(i) == MarketStatus::Suspended
                && self.book.kind_at(i) == MarketKind::CorrectScore
                && !self.prune_correct_score(ts, i)
            {
                continue;
            }
            let (score, corners) = (self.score, self.corners);
            let (book, mut tape) = self.desk();
            if book.reopen(&mut tape, ts, i, score, corners) {
                self.reprice(i, ts, true);
            }
        }
        self.ensure_next_goal(ts);
    }

    /// Drops the correct scores the score has passed from market `i`; closes it (false) when at
    /// most one selection is left.
    fn prune_correct_score(&mut self, ts: i64, i: usize) -> bool {
        let [h, a] = self.score;
        let still: Vec<Selection> = self
            .book
            .selections_at(i)
            .iter()
            .copied()
            .filter(|s| match s {
                Selection::Score { home, away } => *home >= h && *away >= a,
                _ => true,
            })
            .collect();
        let (book, mut tape) = self.desk();
        if still.len() <= 1 {
            book.set(&mut tape, ts, i, MarketStatus::Closed, None);
            return false;
        }
        book.set_selections(i, still);
        true
    }

    /// Opens the next-goal market for the next goal if it is not there yet.
    pub(super) fn ensure_next_goal(&mut self, ts: i64) {
        let total = u16::from(self.score[0]) + u16::from(self.score[1]);
        if total >= 20 {
            return;
        }
        let kind = MarketKind::NextGoal {
            goal: total as u8 + 1,
        };
        if self.book.contains(kind) {
            return;
        }
        self.open_market(
            ts,
            kind,
            vec![Selection::Home, Selection::NoGoal, Selection::Away],
            Phase::InPlay,
        );
    }

    pub(super) fn close_all(&mut self, ts: i64) {
        let (book, mut tape) = self.desk();
        book.close_all(&mut tape, ts);
    }

    pub(super) fn prematch_markets(&self, outlook: &Outlook) -> Vec<(MarketKind, Vec<Selection>)> {
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
}
