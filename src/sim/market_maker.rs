//! The market-making state machine shared by the simulator's bookmaker (`game.rs`) and the
//! in-play importer's [`Book`](crate::import::inplay::Book).
//!
//! **In:** the caller's decisions, in event-time order: open a market, publish ladder prices
//! (hundredths) for it, suspend the open markets, reopen a suspended one given the score and
//! corners, close one, close the decided ones, close them all. **Out:** the `market` and `odds`
//! records those decisions produce, written to a [`Publish`] sink (the simulator's record list,
//! the importer's `FeedBuilder`).
//!
//! What is shared: the markets a book runs, their status transitions (open → suspended → open
//! again, or closed when [`decided`] by the score; closed at the end), the versions of the
//! records (a market's version counts its market records, a selection's its odds records) and
//! the rule that a selection's price is published only when its ladder price changed. What is
//! not: *when* to do any of it and *what* the prices are — the simulator's cadences, lags,
//! holds, inefficiencies and correct-score pruning, the importer's penalty hold, and both
//! pricing models stay with their callers.

use std::collections::BTreeMap;

use oddsflow_dataflows::model::{
    EventTime, F64, Market, MarketKind, MarketStatus, Odds, Phase, Selection, Version,
};
use oddsflow_dataflows::pricing::inplay::decided;

/// Where a market maker's records go. The versions it passes are its own (per market, per
/// selection); a sink may replace them with its own numbering.
pub(crate) trait Publish {
    /// A market record (the market's status, phase and selections).
    fn market(&mut self, ts: EventTime, market: Market);
    /// An odds record (a selection's new price).
    fn odds(&mut self, ts: EventTime, odds: Odds);
}

/// One market of the book.
#[derive(Clone, Debug)]
struct Quoted {
    kind: MarketKind,
    /// Market records published so far (the last one's version).
    version: Version,
    status: MarketStatus,
    phase: Phase,
    selections: Vec<Selection>,
    /// Last published (version, price in hundredths) per selection.
    published: BTreeMap<Selection, (Version, i64)>,
    /// When the caller last published (or tried to publish) prices for it.
    priced_at: EventTime,
}

/// The markets one match's book runs, addressed by index in opening order.
#[derive(Clone, Debug)]
pub(crate) struct MarketMaker {
    markets: Vec<Quoted>,
    /// The `modelled` mark of every odds record published.
    modelled: bool,
}

impl MarketMaker {
    /// An empty book whose odds records carry `modelled`.
    pub(crate) fn new(modelled: bool) -> MarketMaker {
        MarketMaker {
            markets: Vec::new(),
            modelled,
        }
    }

    /// Markets opened so far.
    pub(crate) fn len(&self) -> usize {
        self.markets.len()
    }

    /// Has a market of this kind been opened?
    pub(crate) fn contains(&self, kind: MarketKind) -> bool {
        self.markets.iter().any(|m| m.kind == kind)
    }

    #[cfg(test)]
    /// The status of the market of this kind.
    pub(crate) fn status(&self, kind: MarketKind) -> Option<MarketStatus> {
        self.markets
            .iter()
            .find(|m| m.kind == kind)
            .map(|m| m.status)
    }

    /// Is any market suspended?
    pub(crate) fn any_suspended(&self) -> bool {
        self.markets
            .iter()
            .any(|m| m.status == MarketStatus::Suspended)
    }

    /// Market `i`'s kind.
    pub(crate) fn kind_at(&self, i: usize) -> MarketKind {
        self.markets[i].kind
    }

    /// Market `i`'s status.
    pub(crate) fn status_at(&self, i: usize) -> MarketStatus {
        self.markets[i].status
    }

    /// Market `i`'s selections.
    pub(crate) fn selections_at(&self, i: usize) -> &[Selection] {
        &self.markets[i].selections
    }

    /// When prices of market `i` were last published (or its opening).
    pub(crate) fn priced_at(&self, i: usize) -> EventTime {
        self.markets[i].priced_at
    }

    /// Replaces market `i`'s selections (published with its next market record).
    pub(crate) fn set_selections(&mut self, i: usize, selections: Vec<Selection>) {
        self.markets[i].selections = selections;
    }

    fn emit_market(&mut self, out: &mut impl Publish, ts: EventTime, i: usize) {
        let m = &mut self.markets[i];
        m.version += 1;
        let market = Market {
            version: m.version,
            market: m.kind,
            status: m.status,
            phase: m.phase,
            selections: m.selections.clone(),
        };
        out.market(ts, market);
    }

    /// Opens a market at `ts` (its market record; no prices yet) and returns its index.
    pub(crate) fn open(
        &mut self,
        out: &mut impl Publish,
        ts: EventTime,
        kind: MarketKind,
        selections: Vec<Selection>,
        phase: Phase,
    ) -> usize {
        self.markets.push(Quoted {
            kind,
            version: 0,
            status: MarketStatus::Open,
            phase,
            selections,
            published: BTreeMap::new(),
            priced_at: ts,
        });
        let i = self.markets.len() - 1;
        self.emit_market(out, ts, i);
        i
    }

    /// Moves market `i` to `status` (and `phase`, when given) and publishes its market record.
    pub(crate) fn set(
        &mut self,
        out: &mut impl Publish,
        ts: EventTime,
        i: usize,
        status: MarketStatus,
        phase: Option<Phase>,
    ) {
        let m = &mut self.markets[i];
        m.status = status;
        if let Some(p) = phase {
            m.phase = p;
        }
        self.emit_market(out, ts, i);
    }

    /// Publishes the prices (hundredths, in selection order) of market `i` whose ladder value
    /// changed: a selection never priced always, one priced before when its price differs and
    /// `accept(k, old_cents)` agrees (the caller's hysteresis; `|_, _| true` for none). Returns
    /// how many odds records it published.
    pub(crate) fn publish(
        &mut self,
        out: &mut impl Publish,
        ts: EventTime,
        i: usize,
        cents: &[i64],
        mut accept: impl FnMut(usize, i64) -> bool,
    ) -> usize {
        let m = &mut self.markets[i];
        let mut n = 0;
        for (k, (&sel, &c)) in m.selections.iter().zip(cents).enumerate() {
            let prev = m.published.get(&sel).copied();
            let publish = match prev {
                None => true,
                Some((_, old)) => c != old && accept(k, old),
            };
            if !publish {
                continue;
            }
            let version = prev.map_or(1, |p| p.0 + 1);
            m.published.insert(sel, (version, c));
            out.odds(
                ts,
                Odds {
                    version,
                    market: m.kind,
                    selection: sel,
                    price: F64(c as f64 / 100.0),
                    modelled: self.modelled,
                },
            );
            n += 1;
        }
        m.priced_at = ts;
        n
    }

    /// Suspends every open market at `ts`; returns how many it suspended.
    pub(crate) fn suspend_open(&mut self, out: &mut impl Publish, ts: EventTime) -> usize {
        let mut n = 0;
        for i in 0..self.markets.len() {
            if self.markets[i].status == MarketStatus::Open {
                self.set(out, ts, i, MarketStatus::Suspended, None);
                n += 1;
            }
        }
        n
    }

    /// Reopens market `i` if it is suspended, or closes it instead when the score (and the
    /// corners) decided it. True when it reopened: the caller publishes its prices next.
    pub(crate) fn reopen(
        &mut self,
        out: &mut impl Publish,
        ts: EventTime,
        i: usize,
        score: [u8; 2],
        corners: [u8; 2],
    ) -> bool {
        if self.markets[i].status != MarketStatus::Suspended {
            return false;
        }
        let open = !decided(self.markets[i].kind, score, corners);
        let status = if open {
            MarketStatus::Open
        } else {
            MarketStatus::Closed
        };
        self.set(out, ts, i, status, None);
        open
    }

    /// Closes every open market that the score and corners decided.
    pub(crate) fn close_decided(
        &mut self,
        out: &mut impl Publish,
        ts: EventTime,
        score: [u8; 2],
        corners: [u8; 2],
    ) {
        for i in 0..self.markets.len() {
            let m = &self.markets[i];
            if m.status == MarketStatus::Open && decided(m.kind, score, corners) {
                self.set(out, ts, i, MarketStatus::Closed, None);
            }
        }
    }

    /// Closes every market that is not closed.
    pub(crate) fn close_all(&mut self, out: &mut impl Publish, ts: EventTime) {
        for i in 0..self.markets.len() {
            if self.markets[i].status != MarketStatus::Closed {
                self.set(out, ts, i, MarketStatus::Closed, None);
            }
        }
    }
}
