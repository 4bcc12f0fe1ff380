//! Betting results: the ledger and per-policy reports built from the bookmaker's decisions and
//! settlements, and the betting metrics they use (ROI, CLV, drawdown, Sharpe, bootstrap).

pub mod ledger;
pub mod metrics;
