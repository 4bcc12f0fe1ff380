//! Bets, settlements, ledger and per-policy reports from a run's betting outputs.
//!
//! **In:** [`BettingOutputs`] — the policy names, every request's [`Decision`] (accepted with the
//! price taken per leg, or rejected with a reason) and the settlement collection's changes
//! `((bet, Settled), time, diff)`: `+1` a settlement at the time it happened, `−1` a settlement
//! retracted by a result correction (at the correction time, beside the `+1` of the new one) —
//! and, for the reports, the prematch-close collection's changes.
//! **Out:** the [`ledger`] (every movement of each policy's money), one [`PolicyReport`] per
//! policy ([`reports`], printed by [`format_table`]) and three Parquet files ([`write_betting`]).
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
//! ## Reports
//!
//! Counts per policy: requests, accepted, rejected (and by [`RejectReason::as_str`] reason),
//! coupons (accepted bets of two legs or more), open (accepted, no standing settlement at the
//! end). [`Metrics`] are computed over the bets whose settlement stands at the end (net count of
//! the settlement changes > 0), each a [`SettledBet`]: settled at the time of the standing
//! settlement's (latest) `+1`; match-day = first leg's kick-off (UTC ms) / 86 400 000, or the
//! decision time's day when the kick-off is unknown (0); stake, price taken, payout. **CLV** only
//! for single bets whose accepted leg's phase is prematch: `close` = the selection's prematch
//! close ([`closing_prices`]), `fair_close` = the margin-free close ([`fair_closes`]: 1 / the
//! selection's probability after proportional normalisation over the closes of every selection of
//! the same (match, market); none when fewer than two selections have a close). ROI interval:
//! [`bootstrap_roi`] with 2000 resamples at 95 %, seeded.
//!
//! A bet, settlement or decision of a policy index beyond `policies` (which a run never makes) is
//! reported under the name `policy_<index>`, after the named policies.
//!
//! ## Files
//!
//! Plain columns (DuckDB, pandas, polars); times are UInt64 UTC ms like the change tables'
//! `time`; `match` and counts Int64; money and prices Float64. Markets and selections are
//! compact strings ([`market_label`], [`selection_label`]): `match_odds`, `over_under 2.5`,
//! `asian_handicap -0.25`, `next_goal 1`, `correct_score`; `home`, `over`, `score 2-1`,
//! `any_other`. Phases are `prematch` / `in_play`.
//!
//! - `bets.parquet`, one row per request, in decision order (decided, bet id): `policy`, `bet`
//!   (the policy's request seq), `decided_at` (when the policy decided), `decided` (when the
//!   bookmaker accepted or rejected it), `status` (`accepted`/`rejected`), `reason` (empty when
//!   accepted), `stake`, `legs` (count), `price_seen`, `price_taken` (null when rejected), then
//!   the first leg's `match`, `market`, `selection`, `phase` (as the policy saw it),
//!   `phase_taken` (the market's phase at acceptance; null when rejected), `kickoff`, and
//!   `legs_json`: every leg (singles too) as a JSON array of objects `{match, market, selection,
//!   phase, kickoff, price_seen, price_taken, phase_taken, modelled}` (`price_taken`/`phase_taken`
//!   null when rejected; `modelled`: the price seen was a modelled one, see `Odds::modelled`). The first-leg columns are null for a request without legs.
//! - `settlements.parquet`, one row per settlement change, in ledger order (policy, time,
//!   `−1` before `+1`, bet): `policy`, `bet`, `time`, `diff`, `stake`, `payout` (multiple of the
//!   stake returned), `returned` (stake × payout), `profit` (stake × (payout − 1), of the
//!   settlement itself: weigh by `diff` to net), `outcomes` (JSON array of the legs' outcomes,
//!   `null` for a leg not settled: `["won",null]`).
//! - `ledger.parquet`: the [`LedgerRow`]s: `policy`, `time`, `bet`, `kind`, `amount`, `cash`,
//!   `bankroll`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::availability::SelectionKey;
#[cfg(doc)]
use oddsflow_dataflows::bookmaker::RejectReason;
use oddsflow_dataflows::bookmaker::{AcceptedLeg, BetId, Decision, PolicyId, Settled};
use oddsflow_dataflows::model::{F64, MarketKind, MatchId, Phase, Selection};

use crate::betting::metrics::{Metrics, SettledBet, bootstrap_roi, metrics};
use crate::io::table::{BATCH_ROWS, create_file, parquet_props};

/// One change of an output collection: data, time, diff.
pub type Change<D> = (D, Time, i64);

/// Milliseconds in a day: kick-off (UTC ms) / this = match-day.
pub const DAY_MS: i64 = 86_400_000;
/// Bootstrap resamples for the ROI interval.
pub const ROI_RESAMPLES: usize = 2000;
/// Level of the ROI interval.
pub const ROI_LEVEL: f64 = 0.95;

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
    pub policy: String,
    pub time: Time,
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

/// One policy's results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyReport {
    pub policy: String,
    pub requests: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Accepted bets not settled at the end of the feed.
    pub open: u64,
    pub coupons: u64,
    pub metrics: Metrics,
    /// 95 % bootstrap interval of ROI over match-days.
    pub roi_interval: Option<(f64, f64)>,
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A policy's name; `policy_<index>` for an index beyond the list.
fn policy_name(b: &BettingOutputs, p: PolicyId) -> String {
    b.policies
        .get(usize::from(p))
        .cloned()
        .unwrap_or_else(|| format!("policy_{p}"))
}

/// Every policy index: the named ones, then any other that a decision or settlement carries.
fn policy_ids(b: &BettingOutputs) -> Vec<PolicyId> {
    let mut ids: BTreeSet<PolicyId> = (0..b.policies.len())
        .filter_map(|i| PolicyId::try_from(i).ok())
        .collect();
    ids.extend(b.decisions.iter().map(|d| d.request.id.policy));
    ids.extend(b.settlements.iter().map(|((id, _), _, _)| id.policy));
    ids.into_iter().collect()
}

/// The price taken: the product of the accepted legs' prices.
pub fn price_taken(legs: &[AcceptedLeg]) -> f64 {
    legs.iter().map(|l| l.price.0).product()
}

/// A market as a compact string: its short name as in the feed codec, then its line or goal
/// number: `match_odds`, `over_under 2.5`, `asian_handicap -0.25`, `next_goal 2`, ….
pub fn market_label(m: MarketKind) -> String {
    match crate::io::feed::market_short(m) {
        (name, Some(line), _) => format!("{name} {line}"),
        (name, None, Some(goal)) => format!("{name} {goal}"),
        (name, None, None) => name.to_owned(),
    }
}

/// A selection as a compact string: the feed codec's short name, a correct score as `score 2-1`.
pub fn selection_label(s: Selection) -> String {
    match s {
        Selection::Score { .. } => format!("score {}", crate::io::feed::selection_short(s)),
        _ => crate::io::feed::selection_short(s),
    }
}

fn phase_label(p: Phase) -> &'static str {
    match p {
        Phase::Prematch => "prematch",
        Phase::InPlay => "in_play",
    }
}

/// Each selection's prematch close from the prematch-close collection's changes: the value the
/// latch holds at the end if it still holds one, else (retracted when the match retired) the
/// value of its latest `+1` change.
pub fn closing_prices(closes: &[Change<(SelectionKey, F64)>]) -> BTreeMap<SelectionKey, f64> {
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
pub fn fair_closes(closes: &BTreeMap<SelectionKey, f64>) -> BTreeMap<SelectionKey, f64> {
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

// ---------------------------------------------------------------------------------------------
// Reports

/// A report per policy, in policy order.
pub fn reports(
    b: &BettingOutputs,
    closes: &[Change<(SelectionKey, F64)>],
    bankroll: f64,
    seed: u64,
) -> Vec<PolicyReport> {
    let standing = standing_settlements(b);
    policy_ids(b)
        .into_iter()
        .map(|p| {
            let mut r = PolicyReport {
                policy: policy_name(b, p),
                ..PolicyReport::default()
            };
            for d in b.decisions.iter().filter(|d| d.request.id.policy == p) {
                r.requests += 1;
                match &d.verdict {
                    Ok(legs) => {
                        r.accepted += 1;
                        r.coupons += u64::from(legs.len() >= 2);
                        r.open += u64::from(!standing.contains_key(&d.request.id));
                    }
                    Err(reason) => {
                        r.rejected += 1;
                        *r.rejected_by_reason
                            .entry(reason.as_str().to_owned())
                            .or_insert(0) += 1;
                    }
                }
            }
            let bets = settled_bets(b, p, closes);
            r.metrics = metrics(&bets, bankroll);
            r.roi_interval = bootstrap_roi(&bets, ROI_RESAMPLES, ROI_LEVEL, seed);
            r
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Files

fn col(name: &str, array: ArrayRef, nullable: bool) -> (Field, ArrayRef) {
    (Field::new(name, array.data_type().clone(), nullable), array)
}

fn strings(v: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}
fn opt_strings(v: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}
fn i64s(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}
fn opt_i64s(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}
fn u64s(v: Vec<u64>) -> ArrayRef {
    Arc::new(UInt64Array::from(v))
}
fn f64s(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}
fn opt_f64s(v: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

/// Writes one flat Parquet file with a fixed schema (also when it has no rows).
fn write_parquet(path: &Path, columns: Vec<(Field, ArrayRef)>) -> Result<()> {
    let ctx = || format!("writing {}", path.display());
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    debug_assert!(fields.iter().all(|f| f.data_type() != &DataType::Null));
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).with_context(ctx)?;
    let out = create_file(path)?;
    let mut writer = ArrowWriter::try_new(out, schema, Some(parquet_props())).with_context(ctx)?;
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = BATCH_ROWS.min(batch.num_rows() - offset);
        writer.write(&batch.slice(offset, len)).with_context(ctx)?;
        offset += len;
    }
    let mut out = writer.into_inner().with_context(ctx)?;
    std::io::Write::flush(&mut out).with_context(ctx)?;
    Ok(())
}

fn match_column(m: MatchId) -> Result<i64> {
    i64::try_from(m).with_context(|| format!("match id {m} does not fit an Int64 column"))
}

/// One leg in `bets.parquet`'s `legs_json`.
#[derive(Serialize)]
struct LegJson {
    #[serde(rename = "match")]
    match_id: MatchId,
    market: String,
    selection: String,
    phase: &'static str,
    kickoff: i64,
    price_seen: f64,
    price_taken: Option<f64>,
    phase_taken: Option<&'static str>,
    /// The price the policy saw was modelled (not a market's).
    modelled: bool,
}

fn write_bets(path: &Path, b: &BettingOutputs) -> Result<()> {
    let n = b.decisions.len();
    let mut policy = Vec::with_capacity(n);
    let mut bet = Vec::with_capacity(n);
    let mut decided_at = Vec::with_capacity(n);
    let mut decided = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut reason = Vec::with_capacity(n);
    let mut stake = Vec::with_capacity(n);
    let mut legs = Vec::with_capacity(n);
    let mut seen = Vec::with_capacity(n);
    let mut taken = Vec::with_capacity(n);
    let mut match_id = Vec::with_capacity(n);
    let mut market = Vec::with_capacity(n);
    let mut selection = Vec::with_capacity(n);
    let mut phase = Vec::with_capacity(n);
    let mut phase_taken = Vec::with_capacity(n);
    let mut kickoff = Vec::with_capacity(n);
    let mut legs_json = Vec::with_capacity(n);
    for d in &b.decisions {
        let r = &d.request;
        let accepted = d.verdict.as_ref().ok();
        policy.push(policy_name(b, r.id.policy));
        bet.push(i64::from(r.id.seq));
        decided_at.push(r.decided_at);
        decided.push(d.at);
        status.push(
            if accepted.is_some() {
                "accepted"
            } else {
                "rejected"
            }
            .to_owned(),
        );
        reason.push(
            d.verdict
                .as_ref()
                .err()
                .map_or("", |e| e.as_str())
                .to_owned(),
        );
        stake.push(r.stake.0);
        legs.push(r.legs.len() as i64);
        seen.push((!r.legs.is_empty()).then(|| r.legs.iter().map(|l| l.price.0).product()));
        taken.push(accepted.map(|a| price_taken(a)));
        let first = r.legs.first();
        match_id.push(first.map(|l| match_column(l.match_id)).transpose()?);
        market.push(first.map(|l| market_label(l.market)));
        selection.push(first.map(|l| selection_label(l.selection)));
        phase.push(first.map(|l| phase_label(l.phase).to_owned()));
        phase_taken.push(
            accepted
                .and_then(|a| a.first())
                .map(|a| phase_label(a.phase).to_owned()),
        );
        kickoff.push(first.map(|l| l.kickoff));
        let detail: Vec<LegJson> = r
            .legs
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let a = accepted.and_then(|a| a.get(i));
                LegJson {
                    match_id: l.match_id,
                    market: market_label(l.market),
                    selection: selection_label(l.selection),
                    phase: phase_label(l.phase),
                    kickoff: l.kickoff,
                    price_seen: l.price.0,
                    price_taken: a.map(|a| a.price.0),
                    phase_taken: a.map(|a| phase_label(a.phase)),
                    modelled: l.modelled,
                }
            })
            .collect();
        legs_json.push(serde_json::to_string(&detail)?);
    }
    write_parquet(
        path,
        vec![
            col("policy", strings(policy), false),
            col("bet", i64s(bet), false),
            col("decided_at", u64s(decided_at), false),
            col("decided", u64s(decided), false),
            col("status", strings(status), false),
            col("reason", strings(reason), false),
            col("stake", f64s(stake), false),
            col("legs", i64s(legs), false),
            col("price_seen", opt_f64s(seen), true),
            col("price_taken", opt_f64s(taken), true),
            col("match", opt_i64s(match_id), true),
            col("market", opt_strings(market), true),
            col("selection", opt_strings(selection), true),
            col("phase", opt_strings(phase), true),
            col("phase_taken", opt_strings(phase_taken), true),
            col("kickoff", opt_i64s(kickoff), true),
            col("legs_json", strings(legs_json), false),
        ],
    )
}

fn write_settlements(path: &Path, b: &BettingOutputs) -> Result<()> {
    let mut rows: Vec<&Change<(BetId, Settled)>> =
        b.settlements.iter().filter(|(_, _, d)| *d != 0).collect();
    // Ledger order: policy, time, reversals before settlements, bet (stable for the rest).
    rows.sort_by_key(|((id, _), time, diff)| (id.policy, *time, *diff > 0, id.seq));
    let n = rows.len();
    let mut policy = Vec::with_capacity(n);
    let mut bet = Vec::with_capacity(n);
    let mut time = Vec::with_capacity(n);
    let mut diff = Vec::with_capacity(n);
    let mut stake = Vec::with_capacity(n);
    let mut payout = Vec::with_capacity(n);
    let mut returned = Vec::with_capacity(n);
    let mut profit = Vec::with_capacity(n);
    let mut outcomes = Vec::with_capacity(n);
    for ((id, s), t, d) in rows {
        policy.push(policy_name(b, id.policy));
        bet.push(i64::from(id.seq));
        time.push(*t);
        diff.push(*d);
        stake.push(s.stake.0);
        payout.push(s.payout.0);
        returned.push(s.returned());
        profit.push(s.profit());
        outcomes.push(serde_json::to_string(&s.outcomes)?);
    }
    write_parquet(
        path,
        vec![
            col("policy", strings(policy), false),
            col("bet", i64s(bet), false),
            col("time", u64s(time), false),
            col("diff", i64s(diff), false),
            col("stake", f64s(stake), false),
            col("payout", f64s(payout), false),
            col("returned", f64s(returned), false),
            col("profit", f64s(profit), false),
            col("outcomes", strings(outcomes), false),
        ],
    )
}

fn write_ledger(path: &Path, rows: &[LedgerRow]) -> Result<()> {
    write_parquet(
        path,
        vec![
            col(
                "policy",
                strings(rows.iter().map(|r| r.policy.clone()).collect()),
                false,
            ),
            col("time", u64s(rows.iter().map(|r| r.time).collect()), false),
            col(
                "bet",
                i64s(rows.iter().map(|r| i64::from(r.bet)).collect()),
                false,
            ),
            col(
                "kind",
                strings(rows.iter().map(|r| r.kind.clone()).collect()),
                false,
            ),
            col(
                "amount",
                f64s(rows.iter().map(|r| r.amount).collect()),
                false,
            ),
            col("cash", f64s(rows.iter().map(|r| r.cash).collect()), false),
            col(
                "bankroll",
                f64s(rows.iter().map(|r| r.bankroll).collect()),
                false,
            ),
        ],
    )
}

/// Writes `bets.parquet`, `settlements.parquet` and `ledger.parquet` into `dir` (columns in the
/// module docs).
pub fn write_betting(dir: &Path, b: &BettingOutputs, bankroll: f64) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_bets(&dir.join("bets.parquet"), b)?;
    write_settlements(&dir.join("settlements.parquet"), b)?;
    write_ledger(&dir.join("ledger.parquet"), &ledger(b, bankroll))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Table

/// `x` with a negative zero made positive (an empty `f64` sum is −0.0), for printing.
fn z(x: f64) -> f64 {
    x + 0.0
}

fn pct(x: f64) -> String {
    format!("{:+.2}", z(100.0 * x))
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), pct)
}

/// The per-policy results table that `oddsflow replay` prints: one row per policy, columns
/// policy, bets (accepted), rejected, open, turnover, profit, ROI % with its 95 % interval, hit %,
/// average price, CLV %, CLV against the fair close %, max drawdown %, Sharpe per match-day and
/// final bankroll (of the settled bets). Money with 2 decimals, percentages with 2 (signed where a
/// sign means something), `-` where there is no value; the policy left-aligned, the rest
/// right-aligned, columns as wide as their widest cell.
/// The bets split by where their prices came from: singles on market prices (prematch, in play)
/// apart from singles on **modelled** prices (quotes marked `modelled`: the in-play odds an
/// importer derived from a pricing model over a real event stream), and coupons (any legs).
/// Each group's reports are [`reports`] over that group's requests and settlements.
pub fn reports_by_price_source(
    b: &BettingOutputs,
    closes: &[Change<(SelectionKey, F64)>],
    bankroll: f64,
    seed: u64,
) -> Vec<(&'static str, Vec<PolicyReport>)> {
    let group = |d: &Decision| match d.request.legs.as_slice() {
        [leg] if leg.modelled => "singles on modelled prices",
        [leg] if leg.phase == Phase::Prematch => "prematch singles on market prices",
        [_] => "in-play singles on market prices",
        _ => "coupons",
    };
    [
        "prematch singles on market prices",
        "in-play singles on market prices",
        "singles on modelled prices",
        "coupons",
    ]
    .into_iter()
    .map(|name| {
        let ids: BTreeSet<BetId> = b
            .decisions
            .iter()
            .filter(|d| group(d) == name)
            .map(|d| d.request.id)
            .collect();
        let part = BettingOutputs {
            policies: b.policies.clone(),
            decisions: b
                .decisions
                .iter()
                .filter(|d| ids.contains(&d.request.id))
                .cloned()
                .collect(),
            settlements: b
                .settlements
                .iter()
                .filter(|((id, _), _, _)| ids.contains(id))
                .cloned()
                .collect(),
        };
        (name, reports(&part, closes, bankroll, seed))
    })
    .collect()
}

pub fn format_table(reports: &[PolicyReport]) -> String {
    let header = [
        "policy",
        "bets",
        "rejected",
        "open",
        "turnover",
        "profit",
        "ROI % [95% interval]",
        "hit %",
        "avg price",
        "CLV %",
        "CLV fair %",
        "max DD %",
        "Sharpe/day",
        "bankroll",
    ];
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let m = &r.metrics;
            let roi = match r.roi_interval {
                Some((lo, hi)) => format!("{} [{}, {}]", pct(m.roi), pct(lo), pct(hi)),
                None if m.bets == 0 => "-".to_owned(),
                None => pct(m.roi),
            };
            let settled = m.bets > 0;
            vec![
                r.policy.clone(),
                r.accepted.to_string(),
                r.rejected.to_string(),
                r.open.to_string(),
                format!("{:.2}", z(m.turnover)),
                format!("{:+.2}", z(m.profit)),
                roi,
                if settled {
                    format!("{:.2}", z(100.0 * m.hit_rate))
                } else {
                    "-".to_owned()
                },
                if settled {
                    format!("{:.3}", z(m.average_price))
                } else {
                    "-".to_owned()
                },
                opt_pct(m.clv),
                opt_pct(m.clv_fair),
                format!("{:.2}", z(100.0 * m.max_drawdown)),
                format!("{:+.3}", z(m.sharpe_per_match_day)),
                format!("{:.2}", z(m.final_bankroll)),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = w.saturating_sub(c.chars().count());
            if i == 0 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        let _ = writeln!(out, "{}", s.trim_end());
    };
    line(&mut out, &header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(
        &mut out,
        &rule.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for r in &rows {
        line(&mut out, &r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oddsflow_dataflows::bookmaker::{BetRequest, Leg, RejectReason};
    use oddsflow_dataflows::model::Line;
    use oddsflow_dataflows::settlement::Outcome;
    use serde_json::Value;

    const KICKOFF: i64 = 19_000 * DAY_MS + 15 * 3_600_000;

    fn leg(m: MatchId, market: MarketKind, selection: Selection, price: f64, phase: Phase) -> Leg {
        Leg {
            match_id: m,
            market,
            selection,
            price: F64(price),
            phase,
            modelled: false,
            kickoff: KICKOFF,
        }
    }

    /// A decision at `at`; `taken`: the accepted prices (one per leg), or the rejection.
    fn decision(
        policy: PolicyId,
        seq: u32,
        at: Time,
        stake: f64,
        legs: Vec<Leg>,
        taken: Result<Vec<f64>, RejectReason>,
    ) -> Decision {
        let verdict = taken.map(|prices| {
            legs.iter()
                .zip(prices)
                .map(|(l, p)| AcceptedLeg {
                    leg: *l,
                    price: F64(p),
                    phase: l.phase,
                    listed: vec![],
                })
                .collect()
        });
        Decision {
            request: BetRequest {
                id: BetId { policy, seq },
                decided_at: at - 1,
                stake: F64(stake),
                legs,
            },
            at,
            verdict,
        }
    }

    fn settled(stake: f64, payout: f64, outcomes: &[Option<Outcome>]) -> Settled {
        Settled {
            stake: F64(stake),
            payout: F64(payout),
            outcomes: outcomes.to_vec(),
        }
    }

    fn id(policy: PolicyId, seq: u32) -> BetId {
        BetId { policy, seq }
    }

    const OU25: MarketKind = MarketKind::OverUnder { line: Line(10) };

    /// Two policies with bets (alpha: a corrected single, a coupon, a rejection, an open in-play
    /// single; beta: a rejection and a lost single) and one without.
    fn outputs() -> BettingOutputs {
        use Selection::*;
        let mo = MarketKind::MatchOdds;
        let mut coupon_legs = vec![
            leg(2, OU25, Over, 1.8, Phase::Prematch),
            leg(3, MarketKind::Btts, Yes, 1.9, Phase::Prematch),
        ];
        coupon_legs[0].kickoff = 0; // unknown: the decision's day
        let mut decisions = vec![
            decision(
                0,
                0,
                1000,
                10.0,
                vec![leg(1, mo, Home, 2.0, Phase::Prematch)],
                Ok(vec![2.1]),
            ),
            decision(0, 1, 1000, 5.0, coupon_legs, Ok(vec![1.8, 1.9])),
            decision(
                0,
                2,
                2000,
                7.0,
                vec![leg(4, mo, Away, 3.0, Phase::Prematch)],
                Err(RejectReason::PriceMoved),
            ),
            decision(
                0,
                3,
                3000,
                20.0,
                vec![leg(5, mo, Draw, 3.2, Phase::InPlay)],
                Ok(vec![3.2]),
            ),
            decision(
                1,
                0,
                1500,
                50.0,
                vec![leg(1, mo, Away, 4.0, Phase::Prematch)],
                Err(RejectReason::Bankroll),
            ),
            decision(
                1,
                1,
                1500,
                4.0,
                vec![leg(1, mo, Draw, 3.5, Phase::Prematch)],
                Ok(vec![3.5]),
            ),
        ];
        decisions.sort_by_key(|d| (d.at, d.request.id));
        let won = settled(10.0, 2.1, &[Some(Outcome::Won)]);
        let lost = settled(10.0, 0.0, &[Some(Outcome::Lost)]);
        let coupon = settled(5.0, 1.8 * 1.9, &[Some(Outcome::Won), Some(Outcome::Won)]);
        let beta = settled(4.0, 0.0, &[Some(Outcome::Lost)]);
        let mut settlements = vec![
            ((id(0, 0), won.clone()), 5000, 1),
            ((id(0, 0), won), 9000, -1),
            ((id(0, 0), lost), 9000, 1),
            ((id(0, 1), coupon), 6000, 1),
            ((id(1, 1), beta), 5000, 1),
        ];
        settlements.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        BettingOutputs {
            policies: vec!["alpha".into(), "beta".into(), "gamma".into()],
            decisions,
            settlements,
        }
    }

    /// Match 1's 1X2 closes: home moved 2.0 → 1.9; all retracted when the match retired.
    fn closes() -> Vec<Change<(SelectionKey, F64)>> {
        use Selection::*;
        let k = |s| (1, MarketKind::MatchOdds, s);
        vec![
            ((k(Home), F64(2.0)), 100, 1),
            ((k(Home), F64(2.0)), 900, -1),
            ((k(Home), F64(1.9)), 900, 1),
            ((k(Home), F64(1.9)), 20_000, -1),
            ((k(Draw), F64(3.4)), 100, 1),
            ((k(Draw), F64(3.4)), 20_000, -1),
            ((k(Away), F64(4.0)), 100, 1),
            ((k(Away), F64(4.0)), 20_000, -1),
            // A market with one close: no fair close.
            (((2, OU25, Over), F64(1.7)), 100, 1),
        ]
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn ledger_keeps_both_versions_and_tracks_cash_and_bankroll() {
        let b = outputs();
        let rows = ledger(&b, 100.0);
        let got: Vec<(&str, Time, u32, &str)> = rows
            .iter()
            .map(|r| (r.policy.as_str(), r.time, r.bet, r.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("alpha", 1000, 0, "stake"),
                ("alpha", 1000, 1, "stake"),
                ("alpha", 3000, 3, "stake"),
                ("alpha", 5000, 0, "settle"),
                ("alpha", 6000, 1, "settle"),
                ("alpha", 9000, 0, "reverse"),
                ("alpha", 9000, 0, "settle"),
                ("beta", 1500, 1, "stake"),
                ("beta", 5000, 1, "settle"),
            ]
        );
        let money: Vec<(f64, f64, f64)> = rows
            .iter()
            .map(|r| (r.amount, r.cash, r.bankroll))
            .collect();
        let expect = [
            (-10.0, 90.0, 100.0),
            (-5.0, 85.0, 100.0),
            (-20.0, 65.0, 100.0),
            (21.0, 86.0, 111.0),
            (17.1, 103.1, 123.1),
            // The correction: the win goes back out (the bet is open again for a moment) …
            (-21.0, 82.1, 112.1),
            // … and the loss settles it.
            (0.0, 82.1, 102.1),
            (-4.0, 96.0, 100.0),
            (0.0, 96.0, 96.0),
        ];
        for (g, e) in money.iter().zip(&expect) {
            assert!(
                close(g.0, e.0) && close(g.1, e.1) && close(g.2, e.2),
                "{g:?} vs {e:?}"
            );
        }
        // Alpha's settled profit: −10 (the corrected single) + 12.1 (the coupon); bet 3 is open.
        let profit = -10.0 + 5.0 * (1.8 * 1.9 - 1.0);
        assert!(close(rows[6].bankroll, 100.0 + profit));
        assert!(close(rows[6].cash, 100.0 + profit - 20.0));
        assert!(
            close(rows[8].cash, 100.0 - 4.0),
            "beta: all settled, cash = bankroll + profit"
        );
        assert!(ledger(&BettingOutputs::default(), 100.0).is_empty());
    }

    #[test]
    fn reports_count_and_measure_the_standing_settlements() {
        let b = outputs();
        let reps = reports(&b, &closes(), 100.0, 7);
        assert_eq!(
            reps.iter().map(|r| r.policy.as_str()).collect::<Vec<_>>(),
            ["alpha", "beta", "gamma"]
        );
        let a = &reps[0];
        assert_eq!(
            (a.requests, a.accepted, a.rejected, a.coupons, a.open),
            (4, 3, 1, 1, 1)
        );
        assert_eq!(
            a.rejected_by_reason,
            BTreeMap::from([("price_moved".to_owned(), 1)])
        );
        let m = &a.metrics;
        let profit = -10.0 + 5.0 * (1.8 * 1.9 - 1.0);
        assert_eq!(m.bets, 2);
        assert!(close(m.turnover, 15.0));
        assert!(close(m.profit, profit));
        assert!(close(m.roi, profit / 15.0));
        assert_eq!(m.hit_rate, 0.5);
        assert!(close(m.average_price, (2.1 + 1.8 * 1.9) / 2.0));
        // The ledger's final bankroll is the metrics' final bankroll.
        let last = ledger(&b, 100.0)
            .into_iter()
            .rfind(|r| r.policy == "alpha")
            .unwrap();
        assert!(close(m.final_bankroll, last.bankroll));
        // CLV: only the prematch single, against the latest close 1.9 (retracted at retirement).
        let overround = 1.0 / 1.9 + 1.0 / 3.4 + 1.0 / 4.0;
        assert!(close(m.clv.unwrap(), 2.1 / 1.9 - 1.0));
        assert!(close(m.clv_fair.unwrap(), 2.1 / (1.9 * overround) - 1.0));
        // Two match-days (the coupon's first leg has no kick-off: the decision's day 0).
        let (lo, hi) = a.roi_interval.unwrap();
        assert!(lo <= m.roi && m.roi <= hi, "{lo} {} {hi}", m.roi);
        assert_eq!(reports(&b, &closes(), 100.0, 7), reps, "seeded");

        let be = &reps[1];
        assert_eq!(
            (be.requests, be.accepted, be.rejected, be.open),
            (2, 1, 1, 0)
        );
        assert_eq!(
            be.rejected_by_reason,
            BTreeMap::from([("bankroll".to_owned(), 1)])
        );
        assert!(close(be.metrics.profit, -4.0));
        assert!(close(be.metrics.clv.unwrap(), 3.5 / 3.4 - 1.0));
        assert_eq!(be.roi_interval, None, "one match-day: no interval");

        let g = &reps[2];
        assert_eq!((g.requests, g.metrics.bets, g.roi_interval), (0, 0, None));

        let table = format_table(&reps);
        assert_eq!(table.lines().count(), 5);
        assert!(table.lines().nth(2).unwrap().starts_with("alpha "));
        assert!(table.contains(" -100.00 "), "{table}");
        assert_eq!(format_table(&reps), table);
        let gamma = table.lines().nth(4).unwrap();
        assert!(
            gamma.starts_with("gamma ") && !gamma.contains("-0.00"),
            "{gamma}"
        );
    }

    #[test]
    fn closes_take_the_latest_value_and_fair_closes_need_a_book() {
        let c = closing_prices(&closes());
        assert_eq!(c[&(1, MarketKind::MatchOdds, Selection::Home)], 1.9);
        assert_eq!(c[&(2, OU25, Selection::Over)], 1.7);
        let fair = fair_closes(&c);
        assert_eq!(
            fair.len(),
            3,
            "match 2's market has one close: no fair close"
        );
        let p: f64 = fair.values().map(|f| 1.0 / f).sum();
        assert!(close(p, 1.0), "margin-free probabilities sum to one");
        // A latch still holding a value wins over a later retracted one.
        let k = (9, MarketKind::Btts, Selection::Yes);
        let c = closing_prices(&[
            ((k, F64(2.0)), 5, 1),
            ((k, F64(2.2)), 3, 1),
            ((k, F64(2.2)), 5, -1),
        ]);
        assert_eq!(c[&k], 2.0);
    }

    #[test]
    fn labels_are_compact() {
        assert_eq!(market_label(OU25), "over_under 2.5");
        assert_eq!(
            market_label(MarketKind::AsianHandicap { line: Line(-1) }),
            "asian_handicap -0.25"
        );
        assert_eq!(
            market_label(MarketKind::NextGoal { goal: 2 }),
            "next_goal 2"
        );
        assert_eq!(
            selection_label(Selection::Score { home: 2, away: 1 }),
            "score 2-1"
        );
        assert_eq!(selection_label(Selection::HomeOrDraw), "home_or_draw");
    }

    #[test]
    fn betting_files_read_back() {
        use crate::io::table::read_table_json;
        let dir = tempfile::tempdir().unwrap();
        let b = outputs();
        write_betting(dir.path(), &b, 100.0).unwrap();

        let bets = read_table_json(&dir.path().join("bets.parquet")).unwrap();
        assert_eq!(bets.len(), 6);
        let keys: Vec<&str> = bets[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 17);
        let coupon = bets
            .iter()
            .find(|r| r["policy"] == "alpha" && r["bet"] == 1)
            .unwrap();
        assert_eq!(coupon["status"], "accepted");
        assert_eq!(coupon["reason"], "");
        assert_eq!(coupon["legs"], 2);
        assert_eq!(coupon["match"], 2);
        assert_eq!(coupon["market"], "over_under 2.5");
        assert_eq!(coupon["selection"], "over");
        assert_eq!(coupon["phase"], "prematch");
        assert!(close(coupon["price_taken"].as_f64().unwrap(), 1.8 * 1.9));
        let legs: Value = serde_json::from_str(coupon["legs_json"].as_str().unwrap()).unwrap();
        assert_eq!(legs[1]["market"], "btts");
        assert_eq!(legs[1]["price_taken"], 1.9);
        let rejected = bets
            .iter()
            .find(|r| r["policy"] == "beta" && r["bet"] == 0)
            .unwrap();
        assert_eq!(rejected["status"], "rejected");
        assert_eq!(rejected["reason"], "bankroll");
        assert_eq!(rejected["price_taken"], Value::Null);
        assert_eq!(rejected["decided"], 1500);
        assert_eq!(rejected["decided_at"], 1499);

        let st = read_table_json(&dir.path().join("settlements.parquet")).unwrap();
        assert_eq!(st.len(), 5);
        let corr: Vec<(i64, f64)> = st
            .iter()
            .filter(|r| r["policy"] == "alpha" && r["bet"] == 0)
            .map(|r| (r["diff"].as_i64().unwrap(), r["payout"].as_f64().unwrap()))
            .collect();
        assert_eq!(corr, [(1, 2.1), (-1, 2.1), (1, 0.0)]);
        assert_eq!(st[0]["outcomes"], r#"["won"]"#);
        let net: f64 = st
            .iter()
            .filter(|r| r["policy"] == "alpha")
            .map(|r| r["profit"].as_f64().unwrap() * r["diff"].as_f64().unwrap())
            .sum();
        assert!(close(net, -10.0 + 5.0 * (1.8 * 1.9 - 1.0)));

        let led = read_table_json(&dir.path().join("ledger.parquet")).unwrap();
        let rows = ledger(&b, 100.0);
        assert_eq!(led.len(), rows.len());
        for (j, r) in led.iter().zip(&rows) {
            assert_eq!(j["policy"], r.policy.as_str());
            assert_eq!(j["time"], r.time);
            assert_eq!(j["bet"], r.bet);
            assert_eq!(j["kind"], r.kind.as_str());
            assert_eq!(j["cash"].as_f64().unwrap(), r.cash);
            assert_eq!(j["bankroll"].as_f64().unwrap(), r.bankroll);
        }

        // No bets: the same columns, no rows.
        let empty = dir.path().join("empty");
        write_betting(&empty, &BettingOutputs::default(), 100.0).unwrap();
        for name in ["bets", "settlements", "ledger"] {
            let path = empty.join(format!("{name}.parquet"));
            assert!(read_table_json(&path).unwrap().is_empty());
            let file = std::fs::File::open(&path).unwrap();
            let builder =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap();
            assert!(builder.schema().fields().len() >= 7, "{name}");
        }
    }
}
