//! One configuration for every run: [`RunConfig`] holds the dataflows' [`PipelineConfig`],
//! the timestamps (granularity, lateness), the policies and the bookmaker. A replay takes it as it
//! is; a live run embeds it in its [`super::live::LiveConfig`] beside the Kafka settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::bookmaker::BookmakerConfig;
use oddsflow_dataflows::pipeline::PipelineConfig;

use super::clock::GuardConfig;
use crate::policy::{PolicySpec, Truth};

/// How a run (a replay, or a live run: see [`super::live::LiveConfig`]) turns a feed into
/// outputs: timestamps, the dataflows, the policies and the bookmaker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunConfig {
    /// Timestamp granularity in ms: event times are rounded down to it.
    pub granularity_ms: u64,
    /// How far behind the feed clock the input frontier stays, in ms.
    pub lateness_ms: u64,
    /// How the feed clock is kept safe from records far ahead of it (`future_ts`).
    #[serde(default)]
    pub clock: GuardConfig,
    /// The dataflows' own settings: ratings, dominance windows, and how long after a match is
    /// settled its per-match state is retired.
    pub pipeline: PipelineConfig,
    /// Show a progress bar (only drawn on a terminal, by worker 0).
    pub progress: bool,
    /// Stop reading the feed once the input frontier has passed this time: nothing read later
    /// can change the collections at times up to it (point-in-time queries).
    pub until: Option<Time>,
    /// Gather the output collections on worker 0 (the default). Off, the changes are dropped
    /// where they are produced: for measuring the dataflow alone. (Bets, settlements and
    /// prematch closes are always gathered: the ledger needs them.)
    pub keep_outputs: bool,
    /// The policies that bet, policy `i` with id `i` (none: no bookmaker stage).
    pub policies: Vec<PolicySpec>,
    /// The virtual bookmaker's rules (delays, tolerance, limits, bankroll).
    pub bookmaker: BookmakerConfig,
    /// Seed of the bootstrap intervals in the reports.
    pub seed: u64,
    /// Measure worker 0's arrangement sizes and operator times (`RunStats::dataflow`;
    /// benchmarks).
    #[serde(default, skip_serializing)]
    pub introspect: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            granularity_ms: 1_000,
            lateness_ms: 30_000,
            clock: GuardConfig::default(),
            pipeline: PipelineConfig::default(),
            progress: true,
            until: None,
            keep_outputs: true,
            policies: Vec::new(),
            bookmaker: BookmakerConfig::default(),
            seed: 0,
            introspect: false,
        }
    }
}

impl RunConfig {
    /// `cfg` with each policy built once, so that a bad configuration (the oracle without a truth
    /// channel) is an error before any worker starts.
    pub fn checked(&self, truth: Option<&Arc<Truth>>) -> Result<RunConfig> {
        let mut cfg = self.clone();
        cfg.clock.check()?;
        for spec in &mut cfg.policies {
            // The oracle reads the truth published before the end of the timestamp it decides at.
            if let PolicySpec::Oracle(c) = spec {
                c.granularity_ms = cfg.granularity_ms.max(1);
            }
            spec.build(truth)?;
        }
        Ok(cfg)
    }
}

/// Policy names for the reports: each spec's name, suffixed `-2`, `-3`… when repeated.
pub(crate) fn policy_names(specs: &[PolicySpec]) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    specs
        .iter()
        .map(|s| {
            let n = seen.entry(s.name()).or_insert(0);
            *n += 1;
            if *n == 1 {
                s.name().to_string()
            } else {
                format!("{}-{n}", s.name())
            }
        })
        .collect()
}
