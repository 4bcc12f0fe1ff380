//! Baseline policies: no-bet, random, favourite, value, oracle.
//!
//! STUB: the decision logic is being written; every baseline bets nothing yet.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::model::MatchId;

use super::{Account, Intent, Policy, Truth, View};

/// Never bets.
pub struct NoBet;

impl Policy for NoBet {
    fn decide(&mut self, _: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        Vec::new()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomConfig {
    pub seed: u64,
    /// Probability, per changed match and timestamp, of a single on a uniformly random available
    /// selection of that match.
    pub rate: f64,
    /// Flat stake.
    pub stake: f64,
    /// At most this many singles per match.
    pub max_bets_per_match: u32,
    /// Probability, per timestamp, of a coupon of 2–3 random available selections from
    /// different matches (0 turns coupons off).
    pub coupon_rate: f64,
}

impl Default for RandomConfig {
    fn default() -> Self {
        RandomConfig {
            seed: 0,
            rate: 0.01,
            stake: 10.0,
            max_bets_per_match: 3,
            coupon_rate: 0.002,
        }
    }
}

pub struct RandomPolicy {
    cfg: RandomConfig,
}

impl RandomPolicy {
    pub fn new(cfg: RandomConfig) -> Self {
        RandomPolicy { cfg }
    }
}

impl Policy for RandomPolicy {
    fn decide(&mut self, _: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        let _ = &self.cfg;
        Vec::new()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FavouriteConfig {
    pub stake: f64,
    /// Bet at the first decision within this many minutes before kick-off.
    pub minutes_before: u64,
}

impl Default for FavouriteConfig {
    fn default() -> Self {
        FavouriteConfig {
            stake: 10.0,
            minutes_before: 15,
        }
    }
}

pub struct Favourite {
    cfg: FavouriteConfig,
}

impl Favourite {
    pub fn new(cfg: FavouriteConfig) -> Self {
        Favourite { cfg }
    }
}

impl Policy for Favourite {
    fn decide(&mut self, _: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        let _ = &self.cfg;
        Vec::new()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValueConfig {
    /// Bet when the model probability exceeds the margin-free probability by this much.
    pub threshold: f64,
    /// Fraction of the Kelly stake.
    pub kelly_fraction: f64,
    /// Largest stake.
    pub max_stake: f64,
}

impl Default for ValueConfig {
    fn default() -> Self {
        ValueConfig {
            threshold: 0.03,
            kelly_fraction: 0.25,
            max_stake: 50.0,
        }
    }
}

pub struct Value {
    cfg: ValueConfig,
}

impl Value {
    pub fn new(cfg: ValueConfig) -> Self {
        Value { cfg }
    }
}

impl Policy for Value {
    fn decide(&mut self, _: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        let _ = &self.cfg;
        Vec::new()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OracleConfig {
    /// Bet when `p · price − 1` exceeds this.
    pub min_edge: f64,
    pub kelly_fraction: f64,
    pub max_stake: f64,
}

impl Default for OracleConfig {
    fn default() -> Self {
        OracleConfig {
            min_edge: 0.03,
            kelly_fraction: 0.25,
            max_stake: 50.0,
        }
    }
}

pub struct Oracle {
    cfg: OracleConfig,
    truth: Arc<Truth>,
}

impl Oracle {
    pub fn new(cfg: OracleConfig, truth: Arc<Truth>) -> Self {
        Oracle { cfg, truth }
    }
}

impl Policy for Oracle {
    fn decide(&mut self, _: Time, _: &View, _: &[MatchId], _: &Account) -> Vec<Intent> {
        let _ = (&self.cfg, &self.truth);
        Vec::new()
    }
}
