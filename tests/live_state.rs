//! Oracle tests for dominance, availability (with the prematch close) and features: on random
//! seeded noisy feeds (and perturbed copies), the incremental outputs accumulated at many times
//! `t` equal a sequential from-scratch model over the records with time ≤ `t`, on 1 and 2 workers.

mod common;

use std::collections::BTreeSet;

use common::*;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::Outputs;
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::ingest::Payload;

fn check(items: &[Payload], workers: usize, label: &str) -> Outputs {
    let cfg = RunConfig {
        progress: false,
        ..RunConfig::default()
    };
    let outputs = run(items, &cfg, workers);
    let times = assign_times(items, &cfg);
    let distinct: Vec<u64> = times
        .iter()
        .copied()
        .filter(|t| *t != u64::MAX)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // ~60 sample times, plus a tail after the feed so that windows drain.
    let mut taus: Vec<u64> = distinct
        .iter()
        .step_by((distinct.len() / 60).max(1))
        .copied()
        .collect();
    let last = *distinct.last().expect("a non-empty feed");
    taus.extend([last, last + 300_000, last + 3_600_000]);
    let mut timeline = Timeline::new(items, &times, &cfg);
    let (mut live_seen, mut features_seen) = (0, 0);
    for tau in taus {
        timeline.advance_to(tau);
        let LiveExpected {
            dominance,
            available,
            close,
            features,
            ..
        } = expected_live(&timeline, tau, &cfg);
        let ctx = format!("{label}, {workers} worker(s), t={tau}");
        assert_maps_eq(
            &accumulate(&outputs.dominance, tau),
            &dominance,
            &format!("dominance, {ctx}"),
        );
        assert_maps_eq(
            &accumulate(&outputs.available, tau),
            &available,
            &format!("availability, {ctx}"),
        );
        assert_maps_eq(
            &accumulate(&outputs.prematch_close, tau),
            &close,
            &format!("prematch close, {ctx}"),
        );
        assert_maps_eq(
            &accumulate(&outputs.features, tau),
            &features,
            &format!("features, {ctx}"),
        );
        live_seen += usize::from(!dominance.is_empty());
        features_seen += features.len();
    }
    assert!(
        live_seen > 5 && features_seen > 20,
        "{label}: the samples must see live matches"
    );
    outputs
}

#[test]
fn dominance_availability_and_features_equal_from_scratch_on_noisy_feeds() {
    for seed in [61, 62] {
        let items = simulate(&SimConfig {
            matches: 8,
            seed,
            noise: NoiseConfig::typical(),
            ..SimConfig::default()
        })
        .items;
        let one = check(&items, 1, &format!("seed {seed}"));
        let two = check(&items, 2, &format!("seed {seed}"));
        assert!(
            one.dominance == two.dominance
                && one.features == two.features
                && one.available == two.available
        );
        assert!(!one.prematch_close.is_empty());
    }
}

#[test]
fn live_state_ignores_permutations_duplicates_and_stale_versions_in_the_end() {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let items = simulate(&SimConfig {
        matches: 6,
        seed: 71,
        noise: NoiseConfig::typical(),
        ..SimConfig::default()
    })
    .items;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut noisy = Vec::new();
    for (i, item) in items.iter().enumerate() {
        noisy.push(item.clone());
        if rng.random_bool(0.05) {
            noisy.push(item.clone());
        }
        if i > 40 && rng.random_bool(0.02) {
            noisy.push(items[i - rng.random_range(1..40)].clone());
        }
    }
    for chunk in noisy.chunks_mut(8) {
        chunk.shuffle(&mut rng);
    }
    check(&noisy, 2, "perturbed");
}
