//! The betting Parquet tables of a run: `bets.parquet`, `settlements.parquet`, `ledger.parquet`.
//!
//! **In:** [`BettingOutputs`] and the starting bankroll (for the ledger). **Out:** the three
//! files, written by [`write_betting`] into a directory (the same columns also when there are
//! no rows; same outputs ⇒ same bytes).
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

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use serde::Serialize;

use oddsflow_dataflows::bookmaker::{BetId, Settled};
use oddsflow_dataflows::model::{MarketKind, MatchId, Phase, Selection};

use crate::betting::ledger::{BettingOutputs, LedgerRow, ledger, policy_name, price_taken};
use crate::io::table::{BATCH_ROWS, create_file, parquet_props};
use oddsflow_dataflows::Change;

// ---------------------------------------------------------------------------------------------
// Labels

/// A market as a compact string: its short name as in the feed codec, then its line or goal
/// number: `match_odds`, `over_under 2.5`, `asian_handicap -0.25`, `next_goal 2`, ….
pub(crate) fn market_label(m: MarketKind) -> String {
    match crate::io::feed::market_short(m) {
        (name, Some(line), _) => format!("{name} {line}"),
        (name, None, Some(goal)) => format!("{name} {goal}"),
        (name, None, None) => name.to_owned(),
    }
}

/// A selection as a compact string: the feed codec's short name, a correct score as `score 2-1`.
pub(crate) fn selection_label(s: Selection) -> String {
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

// ---------------------------------------------------------------------------------------------
// Columns and files

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
pub(crate) fn write_betting(dir: &Path, b: &BettingOutputs, bankroll: f64) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_bets(&dir.join("bets.parquet"), b)?;
    write_settlements(&dir.join("settlements.parquet"), b)?;
    write_ledger(&dir.join("ledger.parquet"), &ledger(b, bankroll))?;
    Ok(())
}
