//! Bets, settlements, ledger and per-policy reports from a run's betting outputs.
//!
//! STUB: the API is fixed; the bodies are being written.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::availability::SelectionKey;
use oddsflow_dataflows::bookmaker::{BetId, Decision, Settled};
use oddsflow_dataflows::model::F64;

use crate::metrics::Metrics;

/// One change of an output collection: data, time, diff.
pub type Change<D> = (D, Time, i64);

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

/// The ledger rows of every policy, in (policy, time, bet, kind) order.
pub fn ledger(_b: &BettingOutputs, _bankroll: f64) -> Vec<LedgerRow> {
    Vec::new()
}

/// A report per policy, in policy order.
pub fn reports(
    _b: &BettingOutputs,
    _closes: &[Change<(SelectionKey, F64)>],
    _bankroll: f64,
    _seed: u64,
) -> Vec<PolicyReport> {
    Vec::new()
}

/// Writes `bets.parquet`, `settlements.parquet` and `ledger.parquet` into `dir`.
pub fn write_betting(_dir: &Path, _b: &BettingOutputs, _bankroll: f64) -> Result<()> {
    Ok(())
}

/// The per-policy results table that `oddsflow replay` prints.
pub fn format_table(_reports: &[PolicyReport]) -> String {
    String::new()
}
