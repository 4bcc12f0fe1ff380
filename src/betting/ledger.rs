//! The ledger and the settled bets of a run's betting outputs.
//!
//! **In:** [`BettingOutputs`] — the policy names, every request's [`Decision`] (accepted with the
//! price taken per leg, or rejected with a reason) and the settlement collection's changes
//! `((bet, Settled), time, diff)`: `+1` a settlement at the time it happened, `−1` a settlement
//! retracted by a result correction (at the correction time, beside the `+1` of the new one) —
//! and, for the settled bets' CLV, the prematch-close collection's changes.
//! **Out:** the [`ledger`] (every movement of each policy's money), the settlement that stands
//! for each bet at the end ([`standing_settlements`]) and each policy's settled bets
//! ([`settled_bets`], what the [reports](super::reports) measure), with the closes they are
//! compared with ([`closing_prices`], [`fair_closes`]).
//!
//! A bet's **price taken** is the product of its legs' accepted prices (a coupon's price; a single
//! has one leg); its **price seen** the product of the prices the policy saw.
//!
//! ## Ledger
//!
//! Per policy (policy index order), one row per money movement:
//!
//! | kind | when | amount |
//! |---|---|---|
//! | `stake` | an accepted bet, at its acceptance time | −stake |
//! | `settle` | a settlement change with diff > 0 | +stake × payout × diff |
//! | `reverse` | a settlement change with diff < 0 (a correction retracts it) | −stake × payout × \|diff\| |
//!
//! Both versions of a corrected settlement stay (the audit trail). `cash` = starting bankroll −
//! stakes + returns, after the row; `bankroll` = cash + open stakes (accepted bets without a
//! standing settlement), after the row. At the end, `bankroll` = starting bankroll + profit of the
//! settled bets, and `cash` = that − the open stakes.
//!
//! **Order** within a policy: by (time, kind, bet seq) with kinds `stake` < `reverse` < `settle`.
//! That is the bookmaker's own order: the settlement changes of time `t` reach the book one tick
//! later, so the stakes accepted at `t` were decided on the cash *before* them, and a row's
//! `cash` after a stake is the cash the book checked the stake against. A correction's old
//! version goes out before its new one comes in.
//!
//! ## Settled bets
//!
//! The bets whose settlement stands at the end (net count of the settlement changes > 0), each a
//! [`SettledBet`]: settled at the time of the standing settlement's (latest) `+1`; match-day =
//! first leg's kick-off (UTC ms) / 86 400 000, or the decision time's day when the kick-off is
//! unknown (0); stake, price taken, payout. **CLV** only for single bets whose accepted leg's
//! phase is prematch: `close` = the selection's prematch close ([`closing_prices`]),
//! `fair_close` = the margin-free close ([`fair_closes`]: 1 / the selection's probability after
//! proportional normalisation over the closes of every selection of the same (match, market);
//! none when fewer than two selections have a close).
//!
//! A bet, settlement or decision of a policy index beyond `policies` (which a run never makes) is
//! listed under the name `policy_<index>`, after the named policies.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use oddsflow_dataflows::{Change, Time};

use crate::time::DAY_MS;
use oddsflow_dataflows::availability::SelectionKey;
use oddsflow_dataflows::bookmaker::{AcceptedLeg, BetId, Decision, PolicyId, Settled};
use oddsflow_dataflows::model::{F64, MarketKind, MatchId, Phase};

use crate::betting::metrics::SettledBet;

/// The betting part of a run's outputs, in canonical order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BettingOutputs {
    /// Policy names, indexed by `PolicyId`.
    pub policies: Vec<String>,
    /// Every request's decision, sorted by (time, bet id).
    pub decisions: Vec<Decision>,
    /// The settlement collection's changes, sorted by (data, time): `+1` a settlement, `−1` a
    /// settlement retracted by a correction.
    pub settlements: Vec<Change<(BetId, Settled)>>,
}

/// One row of the ledger: every movement of a policy's money.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerRow {
    /// The policy's name.
    pub policy: String,
    /// When the money moved (event time, UTC ms).
    pub time: Time,
    /// The bet's seq (its request's seq within the policy).
    pub bet: u32,
    /// `stake` (an accepted bet), `settle` (a settlement), `reverse` (a settlement retracted by a
    /// result correction).
    pub kind: String,
    /// Money in (+) or out (−) of the bankroll's cash.
    pub amount: f64,
    /// Cash after this row.
    pub cash: f64,
    /// Bankroll after this row: cash plus open stakes.
    pub bankroll: f64,
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A policy's name; `policy_<index>` for an index beyond the list.
pub(crate) fn policy_name(b: &BettingOutputs, p: PolicyId) -> String {
    b.policies
        .get(usize::from(p))
        .cloned()
        .unwrap_or_else(|| format!("policy_{p}"))
}

/// Every policy index: the named ones, then any other that a decision or settlement carries.
pub(crate) fn policy_ids(b: &BettingOutputs) -> Vec<PolicyId> {
    let mut ids: BTreeSet<PolicyId> = (0..b.policies.len())
        .filter_map(|i| PolicyId::try_from(i).ok())
        .collect();
    ids.extend(b.decisions.iter().map(|d| d.request.id.policy));
    ids.extend(b.settlements.iter().map(|((id, _), _, _)| id.policy));
    ids.into_iter().collect()
}

/// The price taken: the product of the accepted legs' prices.
pub(crate) fn price_taken(legs: &[AcceptedLeg]) -> f64 {
    legs.iter().map(|l| l.price.0).product()
}

/// Each selection's prematch close from the prematch-close collection's changes: the value the
/// latch holds at the end if it still holds one, else (retracted when the match retired) the
/// value of its latest `+1` change.
pub(crate) fn closing_prices(
    closes: &[Change<(SelectionKey, F64)>],
) -> BTreeMap<SelectionKey, f64> {
    // (key, price) → (net count, time of the latest +1).
    let mut seen: BTreeMap<(SelectionKey, F64), (i64, Option<Time>)> = BTreeMap::new();
    for ((key, price), time, diff) in closes {
        let e = seen.entry((*key, *price)).or_insert((0, None));
        e.0 += diff;
        if *diff > 0 {
            e.1 = Some(e.1.map_or(*time, |t| t.max(*time)));
        }
    }
    let mut best: BTreeMap<SelectionKey, ((bool, Time, F64), f64)> = BTreeMap::new();
    for ((key, price), (net, last)) in seen {
        let Some(last) = last else { continue };
        let rank = (net > 0, last, price);
        match best.get(&key) {
            Some((r, _)) if *r >= rank => {}
            _ => {
                best.insert(key, (rank, price.0));
            }
        }
    }
    best.into_iter().map(|(k, (_, p))| (k, p)).collect()
}

/// Each selection's margin-free close: `1 / p̂` with `p̂ = (1/close) / Σ (1/close)` over the
/// selections of the same (match, market) that have a (positive, finite) close; none for a
/// market with fewer than two such selections.
pub(crate) fn fair_closes(closes: &BTreeMap<SelectionKey, f64>) -> BTreeMap<SelectionKey, f64> {
    let valid = |p: f64| p.is_finite() && p > 0.0;
    let mut books: BTreeMap<(MatchId, MarketKind), (usize, f64)> = BTreeMap::new();
    for ((m, mk, _), p) in closes {
        if valid(*p) {
            let e = books.entry((*m, *mk)).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += 1.0 / p;
        }
    }
    closes
        .iter()
        .filter(|(_, p)| valid(**p))
        .filter_map(|(k, p)| {
            let (n, overround) = books.get(&(k.0, k.1))?;
            (*n >= 2).then_some((*k, p * overround))
        })
        .collect()
}

/// The settlement changes of each bet, netted: `(bet, settled) → (net count, latest +1 time)`.
fn netted(b: &BettingOutputs) -> BTreeMap<BetId, Vec<(Settled, i64, Option<Time>)>> {
    let mut by: BTreeMap<(BetId, &Settled), (i64, Option<Time>)> = BTreeMap::new();
    for ((id, s), time, diff) in &b.settlements {
        let e = by.entry((*id, s)).or_insert((0, None));
        e.0 += diff;
        if *diff > 0 {
            e.1 = Some(e.1.map_or(*time, |t| t.max(*time)));
        }
    }
    let mut out: BTreeMap<BetId, Vec<(Settled, i64, Option<Time>)>> = BTreeMap::new();
    for ((id, s), (net, last)) in by {
        out.entry(id).or_default().push((s.clone(), net, last));
    }
    out
}

/// The standing settlement of each bet at the end (net count > 0; of several, the one added
/// last) and the time it was added.
pub fn standing_settlements(b: &BettingOutputs) -> BTreeMap<BetId, (Settled, Time)> {
    netted(b)
        .into_iter()
        .filter_map(|(id, versions)| {
            versions
                .into_iter()
                .filter(|(_, net, _)| *net > 0)
                .map(|(s, _, last)| (last.unwrap_or(0), s))
                .max()
                .map(|(t, s)| (id, (s, t)))
        })
        .collect()
}

/// The bets of policy `policy` whose settlement stands at the end, as [`SettledBet`]s in
/// (settlement time, bet) order. A settlement without an accepted decision (which a run never
/// makes) is left out: its price is unknown.
pub fn settled_bets(
    b: &BettingOutputs,
    policy: PolicyId,
    closes: &[Change<(SelectionKey, F64)>],
) -> Vec<SettledBet> {
    let close = closing_prices(closes);
    let fair = fair_closes(&close);
    let accepted: BTreeMap<BetId, (&Decision, &Vec<AcceptedLeg>)> = b
        .decisions
        .iter()
        .filter(|d| d.request.id.policy == policy)
        .filter_map(|d| {
            d.verdict
                .as_ref()
                .ok()
                .map(|legs| (d.request.id, (d, legs)))
        })
        .collect();
    let mut bets: Vec<(Time, u32, SettledBet)> = standing_settlements(b)
        .into_iter()
        .filter(|(id, _)| id.policy == policy)
        .filter_map(|(id, (s, at))| {
            let (d, legs) = accepted.get(&id)?;
            let kickoff = legs.first().map_or(0, |l| l.leg.kickoff);
            let day_of = if kickoff != 0 {
                kickoff
            } else {
                i64::try_from(d.at).unwrap_or(i64::MAX)
            };
            let clv_key = match legs.as_slice() {
                [l] if l.phase == Phase::Prematch => {
                    Some((l.leg.match_id, l.leg.market, l.leg.selection))
                }
                _ => None,
            };
            let bet = SettledBet {
                settled_at: i64::try_from(at).unwrap_or(i64::MAX),
                match_day: day_of.div_euclid(DAY_MS),
                stake: s.stake.0,
                price: price_taken(legs),
                payout: s.payout.0,
                close: clv_key.and_then(|k| close.get(&k).copied()),
                fair_close: clv_key.and_then(|k| fair.get(&k).copied()),
            };
            Some((at, id.seq, bet))
        })
        .collect();
    bets.sort_by_key(|(t, seq, _)| (*t, *seq));
    bets.into_iter().map(|(_, _, b)| b).collect()
}

// ---------------------------------------------------------------------------------------------
// Ledger

/// Kinds in their order within one time.
const STAKE: u8 = 0;
const REVERSE: u8 = 1;
const SETTLE: u8 = 2;

/// One money movement before the running totals: (time, kind, seq, amount, diff).
type Movement = (Time, u8, u32, f64, i64);

fn movements(b: &BettingOutputs) -> BTreeMap<PolicyId, Vec<Movement>> {
    let mut by: BTreeMap<PolicyId, Vec<Movement>> = BTreeMap::new();
    for d in &b.decisions {
        if d.verdict.is_ok() {
            let id = d.request.id;
            by.entry(id.policy)
                .or_default()
                .push((d.at, STAKE, id.seq, -d.request.stake.0, 0));
        }
    }
    for ((id, s), time, diff) in &b.settlements {
        if *diff == 0 {
            continue;
        }
        let kind = if *diff > 0 { SETTLE } else { REVERSE };
        by.entry(id.policy).or_default().push((
            *time,
            kind,
            id.seq,
            s.returned() * *diff as f64,
            *diff,
        ));
    }
    for rows in by.values_mut() {
        // Stable: equal keys (a bet settled twice at one time) keep the canonical input order.
        rows.sort_by_key(|(t, kind, seq, _, _)| (*t, *kind, *seq));
    }
    by
}

/// The ledger rows of every policy, in policy order, then by (time, kind, bet) with kinds
/// `stake` < `reverse` < `settle` (see the module docs).
pub fn ledger(b: &BettingOutputs, bankroll: f64) -> Vec<LedgerRow> {
    let stakes: BTreeMap<BetId, f64> = b
        .decisions
        .iter()
        .filter(|d| d.verdict.is_ok())
        .map(|d| (d.request.id, d.request.stake.0))
        .collect();
    let mut by = movements(b);
    let mut out = Vec::new();
    for p in policy_ids(b) {
        let Some(rows) = by.remove(&p) else { continue };
        let name = policy_name(b, p);
        let mut cash = bankroll;
        let mut open = 0.0;
        // Net settlement count per bet (> 0: settled, not open).
        let mut settled: BTreeMap<u32, i64> = BTreeMap::new();
        for (time, kind, seq, amount, diff) in rows {
            cash += amount;
            let n = settled.entry(seq).or_insert(0);
            let stake = stakes.get(&BetId { policy: p, seq }).copied();
            if kind == STAKE {
                if *n <= 0 {
                    open += stake.unwrap_or(0.0);
                }
            } else {
                let was_open = *n <= 0;
                *n += diff;
                match (was_open, *n <= 0) {
                    (true, false) => open -= stake.unwrap_or(0.0),
                    (false, true) => open += stake.unwrap_or(0.0),
                    _ => {}
                }
            }
            let kind = match kind {
                STAKE => "stake",
                REVERSE => "reverse",
                _ => "settle",
            };
            out.push(LedgerRow {
                policy: name.clone(),
                time,
                bet: seq,
                kind: kind.to_owned(),
                amount,
                cash,
                bankroll: cash + open,
            });
        }
    }
    out
}
