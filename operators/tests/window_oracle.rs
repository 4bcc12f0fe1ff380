//! Oracle tests for `sliding_window(s)`: on random seeded input *collections* (insertions and
//! deletions, duplicates, records deleted before and after they expire) delivered out of order,
//! the output accumulated at every time `τ` equals a from-scratch window over the input with
//! time ≤ `τ`, on 1 and 2 workers; and once every record has expired nothing is left.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::AsCollection;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use timely::dataflow::operators::core::UnorderedInput;

use oddsflow_operators::SlidingWindow;
use oddsflow_operators::window::expiry_bucket;

/// A record: `(id, event_time)`. Its event time is at most the time it is inserted.
type Rec = (u32, u64);
type Update = (Rec, u64, isize);
/// Input is delivered at times `0..T_MAX`.
const T_MAX: u64 = 40;
const WINDOWS: [(u64, u64); 3] = [(5, 1), (10, 3), (7, 7)];

/// Random insertions, some re-inserted (duplicates), some deleted at a later random time — before
/// or after they expire, depending on the window.
fn random_updates(seed: u64, n: usize) -> Vec<Update> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for _ in 0..n {
        // Few ids and event times, so that equal records meet (duplicates).
        let rec = (rng.random_range(0..6u32), rng.random_range(0..T_MAX));
        let inserted = rng.random_range(rec.1..T_MAX);
        let copies = if rng.random_bool(0.2) { 2 } else { 1 };
        out.push((rec, inserted, copies));
        if rng.random_bool(0.6) {
            // Deleted at the insertion time or later (possibly long after it expired).
            out.push((rec, rng.random_range(inserted..T_MAX), -copies));
        }
    }
    out
}

enum Windows {
    One(u64, u64),
    Many(Vec<(u64, u64)>),
}

/// Runs the window on `workers` threads. Each worker delivers its share of `updates` in shuffled
/// order, each update up to `lag - 1` rounds early (the input capability trails the data), then
/// advances the input by one and steps; returns the output updates, tagged with the window index.
fn run(
    updates: &[Update],
    windows: Windows,
    workers: usize,
    lag: u64,
    seed: u64,
) -> Vec<((usize, Rec), u64, isize)> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    let windows = Arc::new(windows);
    let updates = updates.to_vec();
    timely::execute(timely::Config::process(workers), move |worker| {
        let (sink, windows) = (sink.clone(), windows.clone());
        let (mut handle, mut cap) = worker.dataflow::<u64, _, _>(|scope| {
            let ((handle, cap), stream) = scope
                .new_unordered_input::<timely::container::CapacityContainerBuilder<Vec<Update>>>();
            let records = stream.as_collection();
            let windowed = match &*windows {
                Windows::One(width, slide) => records
                    .sliding_window("Window", *width, *slide, |r: &Rec| r.1)
                    .map(|r| (0, r)),
                Windows::Many(ws) => records.sliding_windows("Windows", ws, |r: &Rec| r.1),
            };
            windowed.inspect(move |x| sink.lock().unwrap().push(*x));
            (handle, cap)
        });
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ worker.index() as u64);
        let mut mine: Vec<(u64, Update)> = updates
            .iter()
            .enumerate()
            .filter(|(i, _)| i % worker.peers() == worker.index())
            .map(|(_, u)| (u.1.saturating_sub(rng.random_range(0..lag)), *u))
            .collect();
        mine.shuffle(&mut rng);
        for round in 0..T_MAX {
            for (_, u) in mine.iter().filter(|(r, _)| *r == round) {
                handle.activate().session(&cap.delayed(&u.1)).give(*u);
            }
            cap.downgrade(&(round + 1));
            for _ in 0..3 {
                worker.step();
            }
        }
        drop(cap);
        while worker.step() {}
    })
    .unwrap();
    out.lock().unwrap().clone()
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

/// The window from scratch: the input as of `τ`, keeping the records not yet expired at `τ`.
fn window_from_scratch(
    updates: &[Update],
    width: u64,
    slide: u64,
    tau: u64,
) -> BTreeMap<Rec, isize> {
    let mut acc = accumulate_at(updates, tau);
    acc.retain(|rec, _| expiry_bucket(rec.1, width, slide) > tau);
    acc
}

/// Window `index`'s part of the output, untagged.
fn window_part(out: &[((usize, Rec), u64, isize)], index: usize) -> Vec<Update> {
    out.iter()
        .filter(|((i, _), _, _)| *i == index)
        .map(|((_, r), t, d)| (*r, *t, *d))
        .collect()
}

fn assert_matches_oracle(out: &[Update], updates: &[Update], width: u64, slide: u64, what: &str) {
    for tau in 0..T_MAX + width + slide {
        assert_eq!(
            accumulate_at(out, tau),
            window_from_scratch(updates, width, slide, tau),
            "{what}, window ({width}, {slide}), τ={tau}"
        );
    }
    assert!(
        accumulate_at(out, u64::MAX).is_empty(),
        "{what}, window ({width}, {slide}): something left after every record expired"
    );
}

#[test]
fn sliding_window_equals_from_scratch_at_every_time_on_1_and_2_workers() {
    let (mut early, mut late) = (0, 0);
    for seed in 0..8 {
        let updates = random_updates(seed, 150);
        for &(width, slide) in &WINDOWS {
            // Coverage: deletions both before and after the deleted record expired.
            for (rec, t, d) in &updates {
                if *d < 0 {
                    if *t < expiry_bucket(rec.1, width, slide) {
                        early += 1;
                    } else {
                        late += 1;
                    }
                }
            }
            for workers in [1, 2] {
                for lag in [1, 4, T_MAX] {
                    let out = run(&updates, Windows::One(width, slide), workers, lag, seed);
                    let what = format!("seed {seed}, {workers} workers, lag {lag}");
                    assert_matches_oracle(&window_part(&out, 0), &updates, width, slide, &what);
                }
            }
        }
    }
    assert!(
        early > 50 && late > 50,
        "deletions before expiry {early}, after {late}"
    );
}

#[test]
fn sliding_windows_equals_three_separate_oracles() {
    for seed in 100..106 {
        let updates = random_updates(seed, 150);
        for workers in [1, 2] {
            let out = run(&updates, Windows::Many(WINDOWS.to_vec()), workers, 4, seed);
            for (index, &(width, slide)) in WINDOWS.iter().enumerate() {
                let what = format!("seed {seed}, {workers} workers, window #{index}");
                assert_matches_oracle(&window_part(&out, index), &updates, width, slide, &what);
            }
        }
    }
}

/// The output updates summed per `(record, time)`, zeros dropped, in time order. On 2 workers an
/// insertion and its deletion may be windowed on different workers (the window is `Pipeline`),
/// whose scheduled retractions then cancel only in the union.
fn consolidated(out: &[Update]) -> Vec<Update> {
    let mut sums: BTreeMap<(u64, Rec), isize> = BTreeMap::new();
    for (rec, t, d) in out {
        *sums.entry((*t, *rec)).or_insert(0) += d;
    }
    sums.into_iter()
        .filter(|(_, d)| *d != 0)
        .map(|((t, rec), d)| (rec, t, d))
        .collect()
}

#[test]
fn a_record_deleted_before_it_expires_leaves_at_its_deletion_time() {
    // Event time 2, width 10, slide 5: expires at 15; deleted at 6.
    let rec = (1, 2);
    let updates = vec![(rec, 4, 1), (rec, 6, -1)];
    for workers in [1, 2] {
        let out = window_part(&run(&updates, Windows::One(10, 5), workers, 3, 0), 0);
        assert_eq!(
            consolidated(&out),
            vec![(rec, 4, 1), (rec, 6, -1)],
            "{workers} workers"
        );
        if workers == 1 {
            // On one worker the retractions scheduled at 15 cancel inside the bucket.
            assert_eq!(out.len(), 2, "{out:?}");
        }
    }
}

#[test]
fn a_record_deleted_after_it_expires_never_goes_negative() {
    // Event time 2, width 10, slide 5: expires at 15; deleted at 30 (twice inserted, at 4 and 20).
    let rec = (1, 2);
    let updates = vec![(rec, 4, 1), (rec, 20, 1), (rec, 30, -2)];
    for workers in [1, 2] {
        let out = window_part(&run(&updates, Windows::One(10, 5), workers, 3, 0), 0);
        for tau in 0..T_MAX + 20 {
            let acc = accumulate_at(&out, tau);
            assert!(
                acc.values().all(|n| *n > 0),
                "{workers} workers, τ={tau}: {acc:?}"
            );
            let expected = if (4..15).contains(&tau) { 1 } else { 0 };
            assert_eq!(acc.get(&rec).copied().unwrap_or(0), expected, "τ={tau}");
        }
        // The late insertion (already expired) and the deletion emit nothing at all.
        assert_eq!(
            consolidated(&out),
            vec![(rec, 4, 1), (rec, 15, -1)],
            "{workers} workers"
        );
    }
}
