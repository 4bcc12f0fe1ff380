//! Cost per time step of a sliding window against the number of pending expiries, with two naive
//! windows measured in the same run as baselines.
//!
//! Each run builds one dataflow on one worker: input collection → window → `arrange_by_self`
//! (a consumer that holds the windowed collection, as any join or reduce downstream would) →
//! probe. It preloads N records at time T0 whose expiries are spread uniformly over ~10^6 future
//! buckets (slide 1000 ms, width 10^9 ms), so N expiries are pending and none falls due during the
//! measurement. Then it times each of up to 2000 ticks: insert 10 new records (which expire 5
//! ticks later: a steady trickle of 10 expiries per tick from the 6th tick on), advance the input
//! by one slide, and step until the probe has passed the tick. The preload is not timed. Ticks
//! per run are capped by a wall-clock budget (10 s), so the slowest runs measure fewer ticks.
//!
//! - `ours`: `SlidingWindow::sliding_window` — bucketed expiries, one capability.
//! - `emit-now`: `records.concat(records.negate()` with each time moved to its expiry`)`: every
//!   retraction is sent at once, at its future time, and the arrangement's batcher re-reads all
//!   pending ones each time it seals.
//! - `delay`: the same, but the retractions are held back by timely's `Delay::delay` (the shape
//!   of differential's `Collection::delay`, with a per-record time): one notification and one
//!   capability per pending expiry time.
//!
//! Reports µs per tick (mean, p50, p99, max) per N, and each variant's cost(10^6)/cost(10^3), of
//! the mean and of the p50.
//!
//! Measured on 2 shared cores (AMD EPYC), 1 worker, 2000 ticks, three runs: `ours` 8.5–11 µs/tick
//! at the p50 for every N, cost(10^6)/cost(10^3) 0.73–1.03 (noise); `emit-now` ×616–643 (18 µs →
//! 11 ms); `delay` ×813–900 (52 µs → 45 ms).
//!
//! `CARGO_TARGET_DIR=/root/.cache/oddsflow-target cargo bench --bench window -- [TICKS]`

use std::time::{Duration, Instant};

use differential_dataflow::AsCollection;
use differential_dataflow::input::Input;
use differential_dataflow::trace::TraceReader;
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::vec::{Delay, Map};
use timely::progress::frontier::AntichainRef;

use oddsflow_operators::SlidingWindow;
use oddsflow_operators::window::expiry_bucket;

/// `(id, event time in ms)`.
type Rec = (u64, u64);

const SLIDE: u64 = 1_000;
const WIDTH: u64 = 1_000_000_000;
/// Preload time: late enough that every event time below fits before it.
const T0: u64 = WIDTH;
const PER_TICK: u64 = 10;
/// Trickle records expire this many ticks after they are inserted.
const TRICKLE_TICKS: u64 = 5;
const BUDGET: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Ours,
    EmitNow,
    Delay,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Ours => "ours",
            Variant::EmitNow => "emit-now",
            Variant::Delay => "delay",
        }
    }
}

struct Run {
    ticks: u64,
    /// Nanoseconds per tick.
    hist: Histogram<u64>,
    preload: Duration,
}

fn expiry(rec: &Rec) -> u64 {
    expiry_bucket(rec.1, WIDTH, SLIDE)
}

fn run(variant: Variant, pending: u64, max_ticks: u64) -> Run {
    timely::execute_directly(move |worker| {
        let probe = ProbeHandle::new();
        let (mut input, mut trace) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, records) = scope.new_collection::<Rec, isize>();
            let windowed = match variant {
                Variant::Ours => records.sliding_window("Window", WIDTH, SLIDE, |r: &Rec| r.1),
                Variant::EmitNow => {
                    let retractions = records
                        .clone()
                        .negate()
                        .inner
                        .map_in_place(|(r, t, _)| *t = (*t).max(expiry(r)))
                        .as_collection();
                    records.concat(retractions)
                }
                Variant::Delay => {
                    let retractions = records
                        .clone()
                        .negate()
                        .inner
                        .delay(|(r, t, _), _| (*t).max(expiry(r)))
                        .map_in_place(|(r, t, _)| *t = (*t).max(expiry(r)))
                        .as_collection();
                    records.concat(retractions)
                }
            };
            let arranged = windowed.arrange_by_self_named("Arrange: windowed");
            arranged.stream.probe_with(&probe);
            (input, arranged.trace)
        });

        // Preload: expiries uniform over (T0 + max_ticks·SLIDE, T0 + WIDTH), i.e. ~10^6 buckets,
        // all after the measurement.
        let mut rng = ChaCha8Rng::seed_from_u64(pending);
        let started = Instant::now();
        input.advance_to(T0);
        let first_event = (max_ticks + TRICKLE_TICKS + 2) * SLIDE;
        for id in 0..pending {
            input.insert((id, rng.random_range(first_event..T0)));
        }
        input.advance_to(T0 + SLIDE);
        input.flush();
        while probe.less_than(&(T0 + SLIDE)) {
            worker.step();
        }
        let preload = started.elapsed();

        let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)
            .expect("histogram bounds are valid");
        let mut id = pending;
        let mut ticks = 0;
        let budget = Instant::now();
        while ticks < max_ticks && budget.elapsed() < BUDGET {
            ticks += 1;
            let now = T0 + ticks * SLIDE;
            let tick = Instant::now();
            for _ in 0..PER_TICK {
                input.insert((id, now - WIDTH + TRICKLE_TICKS * SLIDE));
                id += 1;
            }
            input.advance_to(now + SLIDE);
            input.flush();
            while probe.less_than(&(now + SLIDE)) {
                worker.step();
            }
            // The consumer has read up to `now`: let the trace compact behind it.
            trace.set_logical_compaction(AntichainRef::new(&[now]));
            trace.set_physical_compaction(AntichainRef::new(&[now]));
            let nanos = u64::try_from(tick.elapsed().as_nanos()).unwrap_or(u64::MAX);
            hist.saturating_record(nanos.max(1));
        }
        Run {
            ticks,
            hist,
            preload,
        }
    })
}

fn micros(nanos: f64) -> f64 {
    nanos / 1_000.0
}

fn main() {
    let max_ticks: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    let sizes = [1_000u64, 10_000, 100_000, 1_000_000];
    let variants = [Variant::Ours, Variant::EmitNow, Variant::Delay];
    println!(
        "sliding window, 1 worker: width {WIDTH} ms, slide {SLIDE} ms, {PER_TICK} inserts/tick, \
         up to {max_ticks} ticks or {}s per run; µs per tick",
        BUDGET.as_secs()
    );
    println!(
        "{:>9} | {:>9} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "N", "variant", "ticks", "mean", "p50", "p99", "max", "preload s"
    );
    let mut means = vec![Vec::new(); variants.len()];
    let mut medians = vec![Vec::new(); variants.len()];
    for &n in &sizes {
        for (v, &variant) in variants.iter().enumerate() {
            let r = run(variant, n, max_ticks);
            println!(
                "{:>9} | {:>9} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10.2}",
                n,
                variant.name(),
                r.ticks,
                micros(r.hist.mean()),
                micros(r.hist.value_at_quantile(0.5) as f64),
                micros(r.hist.value_at_quantile(0.99) as f64),
                micros(r.hist.max() as f64),
                r.preload.as_secs_f64()
            );
            means[v].push(r.hist.mean());
            medians[v].push(r.hist.value_at_quantile(0.5) as f64);
        }
    }
    println!();
    println!(
        "{:>9} | {:>12} {:>12} {:>12} | {:>14} {:>14}",
        "N", "ours", "emit-now", "delay", "emit-now/ours", "delay/ours"
    );
    for (i, &n) in sizes.iter().enumerate() {
        let (o, e, d) = (means[0][i], means[1][i], means[2][i]);
        println!(
            "{:>9} | {:>12.1} {:>12.1} {:>12.1} | {:>14.1} {:>14.1}",
            n,
            micros(o),
            micros(e),
            micros(d),
            e / o,
            d / o
        );
    }
    let last = sizes.len() - 1;
    for (v, &variant) in variants.iter().enumerate() {
        println!(
            "{:>9}: cost(10^6)/cost(10^3) = {:.2} (mean), {:.2} (p50)",
            variant.name(),
            means[v][last] / means[v][0],
            medians[v][last] / medians[v][0]
        );
    }
}
