//! The learner's probability head on a **prematch** step, for the walk-forward evaluation on real
//! prices (`oddsflow eval --football-data`, see [`crate::commands::walk_forward`]).
//!
//! The `drqn` policy acts in play; football-data has no in-play prices. What can be scored on real
//! prematch prices is its probability head: the same network ([`super::agent::fresh_network`]),
//! input encoding ([`encode`]) and loss ([`td_loss`] with the Q weights at zero: the head's binary
//! cross-entropy plus the market prior), on one step per match taken at the prematch close:
//!
//! - **in**: a [`FeatureVector`] of a match that has not kicked off (status `scheduled`, clock 0,
//!   no counters, the teams' ratings as the ratings dataflow had them at the decision time, the
//!   margin-free 1X2 and over/under 2.5 of the quotes, drift 0) and its quotes;
//! - **target**: per quoted selection, whether it won.
//!
//! [`train_head`] fits a fresh network on earlier seasons' samples only; [`HeadModel::predict`]
//! gives each of the nine selections' `p̂` (`None` where unquoted).

use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::agent::fresh_network;
use super::config::DrqnPolicyConfig;
use super::encode::{ACTIONS, Context, SELECTIONS, encode, first_action_of};
use super::model::{AdamConfig, Batch, Drqn, td_step};
use oddsflow_dataflows::availability::Quote;
use oddsflow_dataflows::features::{FeatureVector, MarketProbs, TeamFeatures};
use oddsflow_dataflows::model::{F64, MarketKind, MatchStatus, Selection};
use oddsflow_dataflows::ratings::TeamRating;

/// One prematch step: the encoded input, and per selection of [`SELECTIONS`] whether it won
/// (`None`: not quoted, or no outcome).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub(crate) x: Vec<f32>,
    pub(crate) won: [Option<bool>; SELECTIONS.len()],
}

/// The team features of a rating (the features dataflow's defaults without one).
fn team(r: Option<&TeamRating>) -> TeamFeatures {
    let mut t = TeamFeatures {
        elo: F64(1500.0),
        attack: F64(1.0),
        defence: F64(1.0),
        ..TeamFeatures::default()
    };
    if let Some(r) = r {
        (t.elo, t.attack, t.defence, t.form_points, t.form_matches) =
            (r.elo, r.attack, r.defence, r.form_points, r.form_matches);
    }
    t
}

/// Margin-free probabilities of the quoted selections of one market (proportional
/// normalisation), or `None` unless every one of `sels` is quoted at a valid price.
fn margin_free(
    quotes: &std::collections::BTreeMap<(MarketKind, Selection), Quote>,
    market: MarketKind,
    sels: &[Selection],
) -> Option<Vec<f64>> {
    let prices: Vec<f64> = sels
        .iter()
        .map(|s| quotes.get(&(market, *s)).map(|q| q.price.0))
        .collect::<Option<_>>()?;
    oddsflow_dataflows::pricing::margin::proportional(&prices)
}

/// The prematch feature vector of a match: ratings as given, margin-free 1X2 and over/under 2.5
/// of the quotes, no drift (the quotes are the close).
pub(crate) fn prematch_vector(
    home: Option<&TeamRating>,
    away: Option<&TeamRating>,
    quotes: &std::collections::BTreeMap<(MarketKind, Selection), Quote>,
) -> FeatureVector {
    use Selection::*;
    let mut implied = MarketProbs::default();
    let mut drift = MarketProbs::default();
    if let Some(p) = margin_free(quotes, MarketKind::MatchOdds, &[Home, Draw, Away]) {
        implied.home = Some(F64(p[0]));
        implied.draw = Some(F64(p[1]));
        implied.away = Some(F64(p[2]));
        (drift.home, drift.draw, drift.away) = (Some(F64(0.0)), Some(F64(0.0)), Some(F64(0.0)));
    }
    let ou = MarketKind::OverUnder {
        line: oddsflow_dataflows::model::Line(10),
    };
    if let Some(p) = margin_free(quotes, ou, &[Over, Under]) {
        implied.over_2_5 = Some(F64(p[0]));
        drift.over_2_5 = Some(F64(0.0));
    }
    FeatureVector {
        clock_s: 0,
        status: MatchStatus::Scheduled,
        score_diff: 0,
        home: team(home),
        away: team(away),
        dominance_short: Default::default(),
        dominance_long: Default::default(),
        implied,
        drift,
    }
}

/// The encoded input of a prematch step.
pub(crate) fn encode_prematch(
    fv: &FeatureVector,
    quotes: &std::collections::BTreeMap<(MarketKind, Selection), Quote>,
) -> Vec<f32> {
    encode(fv, Some(quotes), &Context::default())
}

/// A trained head (autodiff-free).
pub(crate) struct HeadModel {
    net: Drqn,
    device: Device,
}

/// Settings of [`train_head`].
#[derive(Clone, Debug)]
pub struct HeadTraining {
    /// The learner's settings (network width, learning rate, probability-loss and prior weights).
    pub policy: DrqnPolicyConfig,
    /// Training updates (each a batch drawn with replacement from the samples).
    pub updates: usize,
    /// Samples per batch.
    pub batch: usize,
    /// Seed of the initial weights and the batches.
    pub seed: u64,
}

impl Default for HeadTraining {
    fn default() -> Self {
        HeadTraining {
            policy: DrqnPolicyConfig::default(),
            updates: 400,
            batch: 256,
            seed: 1,
        }
    }
}

/// Trains a fresh network's probability head (and the layers below it) on `samples`.
#[allow(deprecated)] // NdArray is deprecated in burn 0.22 but is the CPU backend enabled here
pub(crate) fn train_head(samples: &[Sample], t: &HeadTraining) -> HeadModel {
    let device = Device::ndarray().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(t.seed);
    let mut net = fresh_network(&t.policy, &device, &mut rng);
    let mut adam = AdamConfig::new().init();
    let n_in = samples.first().map_or(0, |s| s.x.len());
    if !samples.is_empty() {
        for _ in 0..t.updates {
            let b = t.batch.max(1);
            let mut x = Vec::with_capacity(b * n_in);
            let mut y = vec![0f32; b * ACTIONS];
            let mut w = vec![0f32; b * ACTIONS];
            for row in 0..b {
                let s = &samples[rng.random_range(0..samples.len())];
                x.extend_from_slice(&s.x);
                for (k, won) in s.won.iter().enumerate() {
                    if let Some(won) = won {
                        // The selection's first stake size carries its target (all sizes share
                        // one probability).
                        let a = first_action_of(k);
                        y[row * ACTIONS + a] = f32::from(u8::from(*won));
                        w[row * ACTIONS + a] = 1.0;
                    }
                }
            }
            let t3 = |v: Vec<f32>, n: usize| {
                Tensor::<3>::from_data(TensorData::new(v, [b, 1, n]), &device)
            };
            let batch = Batch {
                x: t3(x, n_in),
                state: None,
                q_target: t3(vec![0.0; b * ACTIONS], ACTIONS),
                q_weight: t3(vec![0.0; b * ACTIONS], ACTIONS),
                p_target: t3(y, ACTIONS),
                p_weight: t3(w, ACTIONS),
                prior: t.policy.prior_weight as f32,
            };
            let (next, _) = td_step(
                net,
                &mut adam,
                &batch,
                t.policy.prob_weight as f32,
                t.policy.lr,
            );
            net = next;
        }
    }
    HeadModel {
        net: net.valid(),
        device: Device::ndarray(),
    }
}

impl HeadModel {
    /// `p̂` of each of [`SELECTIONS`] for each input (`None` where the selection is unquoted:
    /// the head is anchored on the price).
    pub(crate) fn predict(&self, xs: &[Vec<f32>]) -> Vec<[Option<f64>; SELECTIONS.len()]> {
        let Some(n_in) = xs.first().map(Vec::len) else {
            return Vec::new();
        };
        let anchors = super::encode::anchor_columns();
        let flat: Vec<f32> = xs.iter().flatten().copied().collect();
        let x = Tensor::<3>::from_data(TensorData::new(flat, [xs.len(), 1, n_in]), &self.device);
        let prob: Vec<f32> = self
            .net
            .forward(x, None)
            .prob
            .try_into_vec_as::<f32>()
            .expect("f32 tensor data");
        xs.iter()
            .enumerate()
            .map(|(i, x)| {
                std::array::from_fn(|k| {
                    let a = first_action_of(k);
                    let quoted = anchors.get(a).is_some_and(|&c| x[c] > 0.0);
                    quoted.then(|| f64::from(prob[i * ACTIONS + a]))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsflow_dataflows::model::Phase;
    use std::collections::BTreeMap;

    fn quotes(prices: [f64; 3]) -> BTreeMap<(MarketKind, Selection), Quote> {
        [Selection::Home, Selection::Draw, Selection::Away]
            .into_iter()
            .zip(prices)
            .map(|(s, p)| {
                (
                    (MarketKind::MatchOdds, s),
                    Quote {
                        phase: Phase::Prematch,
                        price: F64(p),
                        modelled: false,
                    },
                )
            })
            .collect()
    }

    /// An untrained head repeats the book; trained on a world where the home side wins far
    /// more often than its price says, it moves the home probability up (and only where quoted).
    #[test]
    fn untrained_head_is_the_book_and_training_follows_the_outcomes() {
        let q = quotes([2.5, 3.4, 3.0]);
        let x = encode_prematch(&prematch_vector(None, None, &q), &q);
        let untrained = train_head(
            &[],
            &HeadTraining {
                updates: 0,
                ..HeadTraining::default()
            },
        );
        let p0 = untrained.predict(std::slice::from_ref(&x))[0];
        assert!(
            (p0[0].expect("home quoted") - 1.0 / 2.5).abs() < 1e-4,
            "{p0:?}"
        );
        assert!(p0[3].is_none(), "over/under 1.5 is not quoted");
        let samples: Vec<Sample> = (0..200)
            .map(|i| Sample {
                x: x.clone(),
                won: std::array::from_fn(|k| match k {
                    0 => Some(i % 10 < 7),
                    1 => Some(i % 10 == 7),
                    2 => Some(i % 10 > 7),
                    _ => None,
                }),
            })
            .collect();
        let trained = train_head(
            &samples,
            &HeadTraining {
                updates: 150,
                batch: 64,
                ..HeadTraining::default()
            },
        );
        let p = trained.predict(&[x])[0];
        assert!(p[0].expect("home") > 0.5, "{p:?}");
        assert!(p[2].expect("away") < 1.0 / 3.0, "{p:?}");
    }
}
