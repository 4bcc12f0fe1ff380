//! Availability: what can be bet on right now, at what price, and the prematch closing prices.
//!
//! ```text
//!  markets ──open──► (match, market, selection) → phase ─┐
//!  odds ──────────► (match, market, selection) → price ──┴─join─► available − abandoned matches
//!  markets(prematch, not closed) ⋈ odds ──insertions──► upsert by odds version ─► prematch close
//! ```
//!
//! A selection is **available** while its market's current record says `open`, the selection is
//! listed in it, it has a price, and the match is not abandoned. A suspension or closing (a new
//! market version) retracts the entry; a reopening restores it with the price current then.
//!
//! The **prematch close** of a selection is the last price it had while its market was in the
//! prematch phase and not closed — the price at the moment the market went in play or closed
//! (for CLV later). It is a latch: the prematch quotes are a join whose *insertions* (never its
//! retractions) are upserted by odds version, so the value stays after the market turns in play.

use differential_dataflow::VecCollection;
use oddsflow_operators::{UpsertInput, UpsertRetiring};
use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::operators::Concat;
use timely::dataflow::operators::vec::{Delay, Filter, Map};

use crate::Time;
use crate::ingest::{MatchState, route_match};
use crate::model::*;

/// A bettable selection: (match, market with its line, selection).
pub type SelectionKey = (MatchId, MarketKind, Selection);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quote {
    pub phase: Phase,
    pub price: F64,
    /// The price comes from a pricing model ([`Odds::modelled`]), not a market.
    pub modelled: bool,
}

pub struct Availability<'scope> {
    pub available: VecCollection<'scope, Time, (SelectionKey, Quote)>,
    pub prematch_close: VecCollection<'scope, Time, (SelectionKey, F64)>,
}

/// `retire` carries the matches that retire (see [`crate::pipeline`]): their prematch closes are
/// retracted then.
pub fn availability<'scope>(
    state: &MatchState<'scope>,
    retire: StreamVec<'scope, Time, MatchId>,
) -> Availability<'scope> {
    let prices = state
        .odds
        .clone()
        .map(|(m, o)| ((m, o.market, o.selection), (o.version, o.price, o.modelled)));
    let open = state
        .markets
        .clone()
        .filter(|(_, mk)| mk.status == MarketStatus::Open)
        .flat_map(|(m, mk)| {
            mk.selections
                .into_iter()
                .map(move |s| ((m, mk.market, s), mk.phase))
        });
    let abandoned = state.abandonments.clone().map(|(m, _)| m).distinct();
    let available = open
        .join_map(prices.clone(), |k, phase, (_, price, modelled)| {
            (
                k.0,
                (
                    *k,
                    Quote {
                        phase: *phase,
                        price: *price,
                        modelled: *modelled,
                    },
                ),
            )
        })
        .antijoin(abandoned)
        .map(|(_, row)| row);

    let prematch = state
        .markets
        .clone()
        .filter(|(_, mk)| mk.phase == Phase::Prematch && mk.status != MarketStatus::Closed)
        .flat_map(|(m, mk)| {
            mk.selections
                .into_iter()
                .map(move |s| ((m, mk.market, s), ()))
        });
    let quoted = prematch.join_map(prices, |k, (), (version, price, _)| (*k, *version, *price));
    // Consolidate first: a join's raw output can hold a +1/−1 pair for a row that never existed
    // (a price change at the very time the market turns in play); only net insertions latch.
    // A collection's messages may carry a capability earlier than the times of the updates in
    // them (differential sends a batch at its lower bound): re-time each insertion to its own
    // time before the upsert, which orders by message time.
    let (prematch_close, _ignored) = quoted
        .consolidate()
        .inner
        .filter(|(_, _, diff)| *diff > 0)
        .delay(|(_, t, _), _| *t)
        .map(|((k, v, p), _, _)| UpsertInput::Assert(k, v, p))
        .concat(retire.map(UpsertInput::Retire))
        .upsert_retiring(
            "PrematchClose",
            route_match,
            |k: &SelectionKey| k.0,
            |_| false,
        );
    Availability {
        available,
        prematch_close,
    }
}
