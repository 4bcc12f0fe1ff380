//! Betting results: the ledger and per-policy reports built from the bookmaker's decisions and
//! settlements, the Parquet files they are written as, and the betting metrics they use (ROI,
//! CLV, drawdown, Sharpe, bootstrap).
//!
//! [`ledger`]: the ledger rows and the settled bets of a run's
//! [`BettingOutputs`](ledger::BettingOutputs); [`reports`]: one report per policy, and the table
//! printed of them; `files`: `bets.parquet`, `settlements.parquet` and `ledger.parquet`;
//! [`metrics`]: the definitions of the numbers.

pub(crate) mod files;
pub mod ledger;
pub mod metrics;
pub mod reports;
#[cfg(test)]
mod tests;
