//! Oracle tests for the stateful operators: on random seeded input delivered in shuffled order,
//! with duplicates and stale versions, the incremental output accumulated at every time `t`
//! equals a from-scratch computation over the input with time ≤ `t`, on 1 and 2 workers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use timely::dataflow::operators::Inspect;
use timely::dataflow::operators::core::UnorderedInput;

use oddsflow_operators::{Ignored, RequireParent, UpsertByVersion, route_hash};

type Assertion = (u32, u64, u8); // key, version, value
const T_MAX: u64 = 30;

fn random_assertions(seed: u64, n: usize) -> Vec<(u64, Assertion)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    while out.len() < n {
        let a = (
            rng.random_range(0..12u32),
            rng.random_range(1..8u64),
            rng.random_range(0..3u8),
        );
        let t = rng.random_range(0..T_MAX);
        out.push((t, a));
        // Re-send some assertions: exact duplicates (same or later time) are the common noise.
        if rng.random_bool(0.3) {
            out.push((rng.random_range(t..T_MAX), a));
        }
    }
    out.shuffle(&mut rng);
    out
}

/// Runs `upsert_by_version` on `workers` threads; returns the output changes and ignored counts.
fn run_upsert(
    input: Vec<(u64, Assertion)>,
    workers: usize,
) -> (Vec<((u32, u8), u64, isize)>, Vec<Ignored>) {
    let changes = Arc::new(Mutex::new(Vec::new()));
    let ignored = Arc::new(Mutex::new(Vec::new()));
    let (c2, i2) = (changes.clone(), ignored.clone());
    timely::execute(timely::Config::process(workers), move |worker| {
        let (c3, i3) = (c2.clone(), i2.clone());
        let (mut handle, cap) = worker.dataflow::<u64, _, _>(|scope| {
            let ((handle, cap), stream) = scope
                .new_unordered_input::<timely::container::CapacityContainerBuilder<Vec<Assertion>>>(
                );
            let (current, ign) = stream.upsert_by_version("Upsert", |k: &u32| route_hash(k));
            current.inspect(move |x| c3.lock().unwrap().push(x.clone()));
            ign.inspect(move |x| i3.lock().unwrap().push(x.2));
            (handle, cap)
        });
        // Each worker delivers its share, in the shuffled (not time) order.
        let (index, peers) = (worker.index(), worker.peers());
        for (i, (t, a)) in input.iter().enumerate() {
            if i % peers == index {
                handle.activate().session(&cap.delayed(t)).give(*a);
            }
            if i % 7 == 0 {
                worker.step();
            }
        }
        drop(cap);
        while worker.step() {}
    })
    .unwrap();
    let c = changes.lock().unwrap().clone();
    let i = ignored.lock().unwrap().clone();
    (c, i)
}

fn accumulate_at<D: Ord + Clone>(changes: &[(D, u64, isize)], t: u64) -> BTreeMap<D, isize> {
    let mut acc = BTreeMap::new();
    for (d, time, diff) in changes {
        if *time <= t {
            *acc.entry(d.clone()).or_insert(0) += diff;
        }
    }
    acc.retain(|_, n| *n != 0);
    acc
}

fn upsert_from_scratch(input: &[(u64, Assertion)], t: u64) -> BTreeMap<(u32, u8), isize> {
    let mut best: BTreeMap<u32, (u64, u8)> = BTreeMap::new();
    for (time, (k, v, x)) in input {
        if *time <= t {
            let e = best.entry(*k).or_insert((*v, *x));
            *e = (*e).max((*v, *x));
        }
    }
    best.into_iter().map(|(k, (_, x))| ((k, x), 1)).collect()
}

#[test]
fn upsert_equals_from_scratch_at_every_time_on_1_and_2_workers() {
    for seed in 0..6 {
        let input = random_assertions(seed, 300);
        let mut outputs = Vec::new();
        for workers in [1, 2] {
            let (changes, ignored) = run_upsert(input.clone(), workers);
            for t in 0..T_MAX {
                assert_eq!(
                    accumulate_at(&changes, t),
                    upsert_from_scratch(&input, t),
                    "seed {seed}, {workers} workers, t={t}"
                );
            }
            // Every assertion either changed the state (one insertion) or was ignored.
            let insertions = changes.iter().filter(|c| c.2 > 0).count();
            assert_eq!(
                insertions + ignored.len(),
                input.len(),
                "seed {seed}: nothing lost, nothing counted twice"
            );
            assert!(ignored.contains(&Ignored::Duplicate) && ignored.contains(&Ignored::Stale));
            let mut sorted = changes;
            sorted.sort();
            outputs.push(sorted);
        }
        assert_eq!(
            outputs[0], outputs[1],
            "seed {seed}: 1 and 2 workers differ"
        );
    }
}

#[test]
fn upsert_conflicting_values_at_one_version_resolve_by_value_whatever_the_order() {
    for order in [
        vec![(0, (1, 1, 5)), (0, (1, 1, 9))],
        vec![(3, (1, 1, 9)), (1, (1, 1, 5))],
    ] {
        let (changes, _) = run_upsert(order, 1);
        assert_eq!(
            accumulate_at(&changes, T_MAX),
            BTreeMap::from([((1, 9), 1)])
        );
    }
    // Loser after winner: ignored as stale. Winner after loser: both were applied in turn.
    assert_eq!(
        run_upsert(vec![(0, (1, 1, 9)), (1, (1, 1, 5))], 1).1,
        vec![Ignored::Stale]
    );
    assert_eq!(
        run_upsert(vec![(0, (1, 1, 5)), (1, (1, 1, 9))], 1).1,
        vec![]
    );
}

#[test]
fn require_parent_equals_from_scratch() {
    // Items (parent, is_registration, payload) at random times; an item passes iff its parent
    // was registered at or before the item's time.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let input: Vec<(u64, (u8, bool, u32))> = (0..400)
        .map(|i| {
            (
                rng.random_range(0..T_MAX),
                (rng.random_range(0..10u8), rng.random_bool(0.1), i),
            )
        })
        .collect();
    for workers in [1, 2] {
        let passed = Arc::new(Mutex::new(BTreeSet::new()));
        let orphans = Arc::new(Mutex::new(BTreeSet::new()));
        let (p2, o2, inp) = (passed.clone(), orphans.clone(), input.clone());
        timely::execute(timely::Config::process(workers), move |worker| {
            let (p3, o3) = (p2.clone(), o2.clone());
            let (mut handle, cap) = worker.dataflow::<u64, _, _>(|scope| {
                let ((handle, cap), stream) =
                    scope.new_unordered_input::<timely::container::CapacityContainerBuilder<Vec<(u8, bool, u32)>>>();
                let (ok, err) = stream.require_parent(
                    "Gate",
                    |d: &(u8, bool, u32)| d.0,
                    |d: &(u8, bool, u32)| d.1.then_some(d.0),
                    |p: &u8| route_hash(p),
                );
                ok.inspect(move |d| { p3.lock().unwrap().insert(d.2); });
                err.inspect(move |d| { o3.lock().unwrap().insert(d.2); });
                (handle, cap)
            });
            for (i, (t, d)) in inp.iter().enumerate() {
                if i % worker.peers() == worker.index() {
                    handle.activate().session(&cap.delayed(t)).give(*d);
                }
            }
            drop(cap);
            while worker.step() {}
        })
        .unwrap();
        let first_registration: BTreeMap<u8, u64> =
            input
                .iter()
                .filter(|(_, d)| d.1)
                .fold(BTreeMap::new(), |mut m, (t, d)| {
                    let e = m.entry(d.0).or_insert(*t);
                    *e = (*e).min(*t);
                    m
                });
        let expected: BTreeSet<u32> = input
            .iter()
            .filter(|(t, d)| first_registration.get(&d.0).is_some_and(|r| r <= t))
            .map(|(_, d)| d.2)
            .collect();
        assert_eq!(*passed.lock().unwrap(), expected, "{workers} workers");
        assert_eq!(
            passed.lock().unwrap().len() + orphans.lock().unwrap().len(),
            input.len()
        );
    }
}

#[test]
fn upsert_retiring_equals_from_scratch_on_1_and_2_workers() {
    use oddsflow_operators::{UpsertInput, UpsertRetiring};
    // Keys (group, k): keys with k == 0 are kept through retirement; groups retire at random times.
    type In = UpsertInput<(u8, u8), u8, u8>;
    for seed in 0..4 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut input: Vec<(u64, In)> = (0..300)
            .map(|_| {
                let key = (rng.random_range(0..6u8), rng.random_range(0..4u8));
                (
                    rng.random_range(0..T_MAX),
                    UpsertInput::Assert(key, rng.random_range(1..6u64), rng.random_range(0..3u8)),
                )
            })
            .collect();
        let mut retire_at: BTreeMap<u8, u64> = BTreeMap::new();
        for g in 0..6u8 {
            if rng.random_bool(0.7) {
                retire_at.insert(g, rng.random_range(0..T_MAX));
            }
        }
        input.extend(retire_at.iter().map(|(g, t)| (*t, UpsertInput::Retire(*g))));
        input.shuffle(&mut rng);
        let mut outputs = Vec::new();
        for workers in [1, 2] {
            let changes = Arc::new(Mutex::new(Vec::new()));
            let ignored = Arc::new(Mutex::new(0usize));
            let (c2, i2, inp) = (changes.clone(), ignored.clone(), input.clone());
            timely::execute(timely::Config::process(workers), move |worker| {
                let (c3, i3) = (c2.clone(), i2.clone());
                let (mut handle, cap) = worker.dataflow::<u64, _, _>(|scope| {
                    let ((handle, cap), stream) = scope
                            .new_unordered_input::<timely::container::CapacityContainerBuilder<
                            Vec<In>,
                        >>();
                    let (current, ign) = stream.upsert_retiring(
                        "Retiring",
                        |g: &u8| route_hash(g),
                        |k: &(u8, u8)| k.0,
                        |k: &(u8, u8)| k.1 == 0,
                    );
                    current.inspect(move |x| c3.lock().unwrap().push(x.clone()));
                    ign.inspect(move |_| *i3.lock().unwrap() += 1);
                    (handle, cap)
                });
                for (i, (t, x)) in inp.iter().enumerate() {
                    if i % worker.peers() == worker.index() {
                        handle.activate().session(&cap.delayed(t)).give(x.clone());
                    }
                }
                drop(cap);
                while worker.step() {}
            })
            .unwrap();
            let changes = changes.lock().unwrap().clone();
            for tau in 0..T_MAX {
                let mut best: BTreeMap<(u8, u8), (u64, u8)> = BTreeMap::new();
                for (t, x) in &input {
                    if let UpsertInput::Assert(k, v, x) = x {
                        let retired = retire_at.get(&k.0).is_some_and(|r| *r <= tau);
                        if *t <= tau && (k.1 == 0 || !retired) {
                            let e = best.entry(*k).or_insert((*v, *x));
                            *e = (*e).max((*v, *x));
                        }
                    }
                }
                let want: BTreeMap<((u8, u8), u8), isize> =
                    best.into_iter().map(|(k, (_, x))| ((k, x), 1)).collect();
                assert_eq!(
                    accumulate_at(&changes, tau),
                    want,
                    "seed {seed}, {workers} workers, t={tau}"
                );
            }
            let mut sorted = changes;
            sorted.sort();
            outputs.push(sorted);
        }
        assert_eq!(outputs[0], outputs[1]);
    }
}
