//! Per-policy reports of a run's betting outputs, and the results table `oddsflow replay` prints.
//!
//! **In:** [`BettingOutputs`] and the prematch-close collection's changes, the starting bankroll
//! and a seed (for the bootstrap). **Out:** one [`PolicyReport`] per policy ([`reports`]), the
//! same for each source of prices ([`reports_by_price_source`]), and the text table of them
//! ([`format_table`]).
//!
//! Counts per policy: requests, accepted, rejected (and by [`BetRejection::as_str`] reason),
//! coupons (accepted bets of two legs or more), open (accepted, no standing settlement at the
//! end). [`Metrics`] are computed over the policy's [`settled_bets`] (the bets whose settlement
//! stands at the end; CLV against the prematch closes). ROI interval: [`bootstrap_roi`] with
//! 2000 resamples at 95 %, seeded.
//!
//! A bet, settlement or decision of a policy index beyond `policies` (which a run never makes) is
//! reported under the name `policy_<index>`, after the named policies.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Change;
use oddsflow_dataflows::availability::SelectionKey;
#[cfg(doc)]
use oddsflow_dataflows::bookmaker::BetRejection;
use oddsflow_dataflows::bookmaker::{BetId, Decision};
use oddsflow_dataflows::model::{F64, Phase};

use crate::betting::ledger::{
    BettingOutputs, policy_ids, policy_name, settled_bets, standing_settlements,
};
use crate::betting::metrics::{Metrics, bootstrap_roi, metrics};

/// Bootstrap resamples for the ROI interval.
const ROI_RESAMPLES: usize = 2000;
/// Level of the ROI interval.
const ROI_LEVEL: f64 = 0.95;

/// One policy's results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyReport {
    /// The policy's name.
    pub policy: String,
    /// Bet requests the policy made.
    pub requests: u64,
    /// Requests the bookmaker accepted.
    pub accepted: u64,
    /// Requests the bookmaker rejected.
    pub rejected: u64,
    /// The rejections by reason ([`BetRejection::as_str`]).
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Accepted bets not settled at the end of the feed.
    pub open: u64,
    /// Accepted bets of two legs or more.
    pub coupons: u64,
    /// The metrics of the bets whose settlement stands at the end.
    pub metrics: Metrics,
    /// 95 % bootstrap interval of ROI over match-days.
    pub roi_interval: Option<(f64, f64)>,
}

// ---------------------------------------------------------------------------------------------
// Reports

/// A report per policy, in policy order.
pub(crate) fn reports(
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

/// The bets split by where their prices came from: singles on market prices (prematch, in play)
/// apart from singles on **modelled** prices (quotes marked `modelled`: the in-play odds an
/// importer derived from a pricing model over a real event stream), and coupons (any legs).
/// Each group's reports are [`reports`] over that group's requests and settlements, with its
/// curve from its own stakes: the cumulative profit of its bets from 0 (a part has no bankroll
/// of its own — starting each at the whole bankroll once showed a part at −139.77 with a 112 %
/// drawdown), so its drawdown is in money ([`format_part_table`]).
pub fn reports_by_price_source(
    b: &BettingOutputs,
    closes: &[Change<(SelectionKey, F64)>],
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
        (name, reports(&part, closes, 0.0, seed))
    })
    .collect()
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
pub fn format_table(reports: &[PolicyReport]) -> String {
    table(reports, false)
}

/// The table of one part of the bets ([`reports_by_price_source`]): as [`format_table`], but
/// the drawdown in money and no bankroll column (a part's curve is its profit from 0).
pub fn format_part_table(reports: &[PolicyReport]) -> String {
    table(reports, true)
}

fn table(reports: &[PolicyReport], part: bool) -> String {
    let mut header = vec![
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
    if part {
        header[11] = "max DD";
        header.pop();
    }
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
            let mut row = vec![
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
                if part {
                    format!("{:.2}", z(m.max_drawdown_money))
                } else {
                    format!("{:.2}", z(100.0 * m.max_drawdown))
                },
                format!("{:+.3}", z(m.sharpe_per_match_day)),
                format!("{:.2}", z(m.final_bankroll)),
            ];
            if part {
                row.pop();
            }
            row
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
