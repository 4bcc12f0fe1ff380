//! The registry of policies: the one place that knows every strategy a run can have — the
//! baselines ([`baselines`]), the oracle on the simulator's [`truth`], scripted bets, and the
//! learner ([`crate::learner`]) — by name and settings ([`PolicySpec`]), and builds them.
//!
//! The interface they implement, the view they see and the runner that calls them are in
//! [`oddsflow_dataflows::policy`]: the learner depends on that interface, not on this registry.

pub(crate) mod baselines;
pub mod truth;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::bookmaker::PolicyId;
use oddsflow_dataflows::model::{MarketKind, MatchId, Selection};
use oddsflow_dataflows::policy::{Account, Emits, Intent, Policy, View, hosts};

pub use baselines::{FavouriteConfig, OracleConfig, RandomConfig, ValueConfig};
pub use truth::Truth;

use crate::learner::agent::DrqnPolicy;
use crate::learner::config::DrqnPolicyConfig;
use crate::learner::episodes::Episode;

/// What policies emit beside their bets in a run: the learner's finished episodes.
pub type Emitted = Episode;

/// A built policy, as the runner hosts it.
pub(crate) type BoxedPolicy = Box<dyn Emits<Emitted>>;

// The baselines and scripted bets emit nothing.
impl Emits<Emitted> for baselines::NoBet {}
impl Emits<Emitted> for baselines::RandomPolicy {}
impl Emits<Emitted> for baselines::Favourite {}
impl Emits<Emitted> for baselines::Value {}
impl Emits<Emitted> for baselines::Oracle {}
impl Emits<Emitted> for Scripted {}

/// A bet a scripted policy places at a given time (tests, what-if runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptedBet {
    /// Decide at the first timestamp ≥ this (UTC ms).
    pub at: Time,
    /// The legs (one: a single; more: a coupon).
    pub legs: Vec<(MatchId, MarketKind, Selection)>,
    /// The stake.
    pub stake: f64,
}

/// Which policies a run has, with their settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySpec {
    /// Never bets.
    NoBet,
    /// Flat stakes on random available selections ([`baselines::RandomPolicy`]).
    Random(RandomConfig),
    /// The prematch 1X2 favourite shortly before kick-off.
    Favourite(FavouriteConfig),
    /// A Poisson goal model against the margin-free price.
    Value(ValueConfig),
    /// Needs the simulator's truth channel.
    Oracle(OracleConfig),
    /// Bets placed at given times.
    Scripted(Vec<ScriptedBet>),
    /// The online recurrent Q-learner ([`crate::learner::agent`]).
    Drqn(DrqnPolicyConfig),
}

impl PolicySpec {
    /// The policy's name in outputs (`no-bet`, `random`, …).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            PolicySpec::NoBet => "no-bet",
            PolicySpec::Random(_) => "random",
            PolicySpec::Favourite(_) => "favourite",
            PolicySpec::Value(_) => "value",
            PolicySpec::Oracle(_) => "oracle",
            PolicySpec::Scripted(_) => "scripted",
            PolicySpec::Drqn(_) => "drqn",
        }
    }

    /// The baselines, in table order (the oracle only where there is a truth channel).
    pub fn baselines(seed: u64, with_oracle: bool) -> Vec<PolicySpec> {
        let mut v = vec![
            PolicySpec::NoBet,
            PolicySpec::Random(RandomConfig {
                seed,
                ..RandomConfig::default()
            }),
            PolicySpec::Favourite(FavouriteConfig::default()),
            PolicySpec::Value(ValueConfig::default()),
        ];
        if with_oracle {
            v.push(PolicySpec::Oracle(OracleConfig::default()));
        }
        v
    }

    /// Parses a name (`no-bet`, `random`, `favourite`, `value`, `oracle`, `drqn`) with default
    /// settings.
    pub fn parse(name: &str, seed: u64) -> anyhow::Result<PolicySpec> {
        Ok(match name {
            "no-bet" => PolicySpec::NoBet,
            "random" => PolicySpec::Random(RandomConfig {
                seed,
                ..RandomConfig::default()
            }),
            "favourite" => PolicySpec::Favourite(FavouriteConfig::default()),
            "value" => PolicySpec::Value(ValueConfig::default()),
            "oracle" => PolicySpec::Oracle(OracleConfig::default()),
            "drqn" => PolicySpec::Drqn(DrqnPolicyConfig {
                seed,
                ..DrqnPolicyConfig::default()
            }),
            other => anyhow::bail!(
                "unknown policy {other:?} (known: no-bet, random, favourite, value, oracle, drqn)"
            ),
        })
    }

    /// Builds the policy. The oracle without a truth channel is an error.
    pub(crate) fn build(&self, truth: Option<&Arc<Truth>>) -> anyhow::Result<BoxedPolicy> {
        Ok(match self {
            PolicySpec::NoBet => Box::new(baselines::NoBet),
            PolicySpec::Random(c) => Box::new(baselines::RandomPolicy::new(c.clone())),
            PolicySpec::Favourite(c) => Box::new(baselines::Favourite::new(c.clone())),
            PolicySpec::Value(c) => Box::new(baselines::Value::new(c.clone())),
            PolicySpec::Oracle(c) => {
                let truth = truth.ok_or_else(|| {
                    anyhow::anyhow!(
                        "the oracle policy needs the simulator's truth channel (--truth FILE)"
                    )
                })?;
                Box::new(baselines::Oracle::new(c.clone(), truth.clone()))
            }
            PolicySpec::Scripted(bets) => Box::new(Scripted {
                bets: bets.clone(),
                next: 0,
            }),
            PolicySpec::Drqn(c) => Box::new(DrqnPolicy::from_config(c.clone())?),
        })
    }
}

/// Places its script's bets at their times.
struct Scripted {
    bets: Vec<ScriptedBet>,
    next: usize,
}

impl Policy for Scripted {
    fn decide(&mut self, now: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        let mut out = Vec::new();
        while let Some(b) = self.bets.get(self.next).filter(|b| b.at <= now) {
            out.push(Intent {
                legs: b.legs.clone(),
                stake: b.stake,
            });
            self.next += 1;
        }
        out
    }
}

/// Builds the policies of `specs` that worker `index` of `peers` hosts, with their ids (policy
/// `i` has id `i`).
pub(crate) fn build_hosted(
    specs: &[PolicySpec],
    truth: Option<&Arc<Truth>>,
    index: usize,
    peers: usize,
) -> anyhow::Result<Vec<(PolicyId, BoxedPolicy)>> {
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let id = i as PolicyId;
        if hosts(id, index, peers) {
            out.push((id, spec.build(truth)?));
        }
    }
    Ok(out)
}
