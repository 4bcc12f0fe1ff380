//! The replay runtime: a recorded feed through the dataflows on timely workers.
//!
//! ```text
//!  feed file ──(every worker reads it all, sends its share)──► ingest ─► aggregates
//!                                                                 │           │
//!                       worker 0 gathers: dead letters, counters ◄┘  changes ◄┘ ──► DIR/*.parquet,
//!                                                                                  dead_letter.jsonl,
//!                                                                                  summary.json
//! ```
//!
//! **Time.** Dataflow timestamps are event time in UTC ms rounded down to `granularity_ms`
//! (default 1 s). The feed clock is the largest event time read so far; the input frontier is the
//! clock minus `lateness_ms`, rounded down. A record is sent at its own rounded event time, or —
//! if that is already behind the frontier — at the frontier, and counted as *late*: applied at the
//! current time, never lost. A line whose event time cannot be read is sent at the frontier (it
//! will be dead-lettered by the parser).
//!
//! **Determinism.** Every worker reads the whole feed to advance the same clock, so the time each
//! record is given depends only on the feed, not on how many workers or processes there are;
//! worker `i` of `n` sends the records whose position is `i mod n`, and ingest routes them by
//! match. Outputs are gathered on worker 0, consolidated and sorted: the canonical form is
//! byte-identical for 1 worker, 2 workers and 2 processes.
//!
//! **A feed that ends early.** When the feed file cannot be read to its end (cut short, corrupt:
//! its reader's last item is an [`InputCut`]), every worker stops at the same item, the run
//! finishes on the items read before, and the summary's `truncated` says where and why.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::ingest::{Payload, Sequenced};
use oddsflow_dataflows::wire::peek_ts;

use timely::dataflow::operators::probe::Handle as ProbeHandle;

use super::clock::{
    Assigned, ClockGuard, GuardConfig, Verdict, frontier_for, future_ts, refusal_letter, time_for,
};
use super::config::RunConfig;
use super::host::{EmittedSink, Fed, Feeder, Gathered, Hosted, host};
use super::introspection::DataflowProbe;
use super::outputs::{Outputs, RunStats};
use super::source::FeedOpener;
use crate::io::feed::InputCut;
use crate::policy::Truth;

/// Replays a feed on the timely configuration `timely`. Returns the outputs on the process that
/// hosts worker 0, `None` on the others.
pub fn replay(
    feed: FeedOpener,
    cfg: &RunConfig,
    truth: Option<Arc<Truth>>,
    timely: timely::Config,
) -> Result<Option<(Outputs, RunStats)>> {
    let cfg = cfg.checked(truth.as_ref())?;
    let guards = timely::execute(timely, move |worker| {
        run_worker(worker, &feed, &cfg, truth.as_ref())
    })
    .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?;
    let mut result = None;
    for r in guards.join() {
        let r = r.map_err(|e| anyhow::anyhow!("a worker failed: {e}"))??;
        if r.is_some() {
            result = r;
        }
    }
    Ok(result)
}

/// A progress spinner on stderr, drawn only on a terminal.
pub(crate) fn progress_bar(show: bool) -> Option<indicatif::ProgressBar> {
    (show && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed_precise} {human_pos} records  {rate} records/s  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}", s.per_sec());
                },
            ),
        );
        bar
    })
}

fn run_worker(
    worker: &mut timely::worker::Worker,
    feed: &FeedOpener,
    cfg: &RunConfig,
    truth: Option<&Arc<Truth>>,
) -> Result<Option<(Outputs, RunStats)>> {
    let (index, peers) = (worker.index(), worker.peers());
    let started = Instant::now();
    let introspection = if cfg.introspect && index == 0 {
        DataflowProbe::register(worker)
    } else {
        None
    };
    let Hosted {
        mut feeder,
        gathered,
        emitted,
        probe,
    } = host(worker, cfg, truth)?;
    let sinks = (gathered, emitted, probe.clone());
    let bar = progress_bar(index == 0 && cfg.progress);

    let mut clocked = Clocked::new(cfg, index, peers);
    let mut records_in = 0u64;

    if index == 0 {
        tracing::info!(
            workers = peers,
            granularity_ms = cfg.granularity_ms,
            lateness_ms = cfg.lateness_ms,
            "replay starts"
        );
    }
    let items = feed().context("opening the feed")?;
    let mut truncated: Option<InputCut> = None;
    for (seq, item) in items.enumerate() {
        if cfg.until.is_some_and(|u| clocked.frontier > u) {
            break;
        }
        let item = match item {
            Ok(item) => item,
            // The file ends early: the run goes on with what was read, and says so.
            Err(e) => match e.downcast::<InputCut>() {
                Ok(cut) => {
                    if index == 0 {
                        tracing::warn!(%cut, "the feed ended early");
                    }
                    truncated = Some(cut);
                    break;
                }
                Err(e) => return Err(e.context(format!("reading feed item {seq}"))),
            },
        };
        records_in += 1;
        let ts = match &item {
            Payload::Line(line) => peek_ts(line),
            Payload::Decoded(r) => Some(r.ts),
        }
        .filter(|ts| *ts >= 0);
        clocked.guard.push(ts, (seq as u64, item));
        clocked.send(&mut feeder);
        if feeder.pending() >= 1024 || seq % 1024 == 0 {
            feeder.flush();
            worker.step();
            // Flow control: do not run more than a minute of event time ahead of the outputs.
            let behind = clocked.frontier.saturating_sub(60_000);
            while probe.less_than(&behind) {
                worker.step();
            }
            if let Some(bar) = &bar {
                bar.set_position(records_in);
            }
        }
    }
    // The records still held by the clock guard: accepted, or refused as `future_ts`.
    clocked.guard.finish();
    clocked.send(&mut feeder);
    let (frontier, late) = (clocked.frontier, clocked.late);
    // Arrangements as the last record is in (closing the input drops every trace).
    let dataflow = introspection.map(|a| {
        feeder.flush();
        while probe.less_than(&frontier) {
            worker.step();
        }
        if let Some(mut r) = worker.log_register() {
            r.flush();
        }
        a.report()
    });
    let outputs = finish(worker, feeder, &sinks, records_in, late, cfg);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let Some(mut outputs) = outputs else {
        return Ok(None);
    };
    let elapsed = started.elapsed().as_secs_f64();
    tracing::info!(records_in, late, elapsed_s = elapsed, "replay finished");
    outputs.summary.truncated = truncated;
    let stats = RunStats {
        workers: peers,
        elapsed_s: elapsed,
        records_per_s: records_in as f64 / elapsed.max(1e-9),
        dataflow,
    };
    Ok(Some((outputs, stats)))
}

/// What a worker keeps of [`Hosted`] once the input is its own: worker 0's sinks and the probe.
type Sinks = (Gathered, EmittedSink, ProbeHandle<Time>);

/// Closes the input, runs the dataflows to their end and, on worker 0, assembles the outputs
/// (`records_in` read, `late` of them late).
fn finish(
    worker: &mut timely::worker::Worker,
    mut feeder: Feeder,
    (gathered, emitted, probe): &Sinks,
    records_in: u64,
    late: u64,
    cfg: &RunConfig,
) -> Option<Outputs> {
    feeder.close();
    while !probe.done() {
        worker.step();
    }
    if worker.index() != 0 {
        return None;
    }
    let mut outputs = Outputs::assemble(gathered.drain(None), records_in, late, cfg);
    let mut emitted = emitted.take();
    emitted.sort_by_key(|(k, _)| *k);
    outputs.emitted = emitted.into_iter().map(|((p, _), e)| (p, e)).collect();
    Some(outputs)
}

/// One record of a live run's feed and the time its changelog gave it: the record's feed
/// position (its `oddsflow-seq` header), the record, the assignment.
pub type AssignedItem = (u64, Payload, Assigned);

/// Replays `items` at the times a live run's changelog assigned them (see
/// [`crate::runtime::live::TimeAssignment`]) instead of judging their times again: a record
/// under cap `c` at its rounded event time, or at `c` if that is earlier (late); a refused one
/// as its `future_ts` dead letter at the refusal's time. For a closed live run, the outputs
/// equal [`crate::runtime::live::assemble`]'s, whatever crashes and restarts it went through.
/// Returns the outputs on the process hosting worker 0.
pub fn replay_assigned(
    items: Arc<Vec<AssignedItem>>,
    cfg: &RunConfig,
    truth: Option<Arc<Truth>>,
    timely: timely::Config,
) -> Result<Option<Outputs>> {
    let cfg = cfg.checked(truth.as_ref())?;
    let guards = timely::execute(timely, move |worker| {
        assigned_worker(worker, &items, &cfg, truth.as_ref())
    })
    .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?;
    let mut result = None;
    for r in guards.join() {
        let r = r.map_err(|e| anyhow::anyhow!("a worker failed: {e}"))??;
        if r.is_some() {
            result = r;
        }
    }
    Ok(result)
}

fn assigned_worker(
    worker: &mut timely::worker::Worker,
    items: &[AssignedItem],
    cfg: &RunConfig,
    truth: Option<&Arc<Truth>>,
) -> Result<Option<Outputs>> {
    let (index, peers) = (worker.index(), worker.peers());
    let Hosted {
        mut feeder,
        gathered,
        emitted,
        probe,
    } = host(worker, cfg, truth)?;
    let granularity = cfg.granularity_ms.max(1);
    let ts_of = |item: &Payload| {
        match item {
            Payload::Line(line) => peek_ts(line),
            Payload::Decoded(r) => Some(r.ts),
        }
        .filter(|ts| *ts >= 0)
    };
    // Each record's time, and whether it was late.
    let timed: Vec<(Time, bool)> = items
        .iter()
        .map(|(_, item, assigned)| match assigned {
            Assigned::Under(cap) => time_for(ts_of(item), *cap, granularity),
            Assigned::Refused(r) => (r.at, false),
        })
        .collect();
    // The input may give up a time once no later record is sent before it.
    let mut floor = vec![Time::MAX; timed.len() + 1];
    for i in (0..timed.len()).rev() {
        floor[i] = floor[i + 1].min(timed[i].0);
    }
    let late = timed.iter().filter(|(_, late)| *late).count() as u64;
    for (i, ((seq, item, assigned), (time, _))) in items.iter().zip(&timed).enumerate() {
        if i % 1024 == 0 {
            feeder.downgrade(floor[i]);
            worker.step();
            let behind = floor[i].saturating_sub(60_000);
            while probe.less_than(&behind) {
                worker.step();
            }
        }
        if i % peers != index {
            continue;
        }
        let fed = match assigned {
            Assigned::Under(_) => Fed::Item((*seq, item.clone())),
            Assigned::Refused(r) => {
                let ts = ts_of(item);
                Fed::Refused(refusal_letter(r, *seq, item.clone(), ts, &cfg.clock))
            }
        };
        feeder.give(*time, fed);
    }
    let sinks = (gathered, emitted, probe);
    Ok(finish(
        worker,
        feeder,
        &sinks,
        items.len() as u64,
        late,
        cfg,
    ))
}

/// A replay worker's feed clock: the guard that decides what passes, the input frontier the
/// passed records allow, and the late count.
struct Clocked {
    guard: ClockGuard<Sequenced>,
    guard_cfg: GuardConfig,
    clock: Option<i64>,
    frontier: Time,
    late: u64,
    lateness_ms: u64,
    granularity: u64,
    index: usize,
    peers: usize,
}

impl Clocked {
    fn new(cfg: &RunConfig, index: usize, peers: usize) -> Self {
        Clocked {
            guard: ClockGuard::new(&cfg.clock),
            guard_cfg: cfg.clock.clone(),
            clock: None,
            frontier: 0,
            late: 0,
            lateness_ms: cfg.lateness_ms,
            granularity: cfg.granularity_ms.max(1),
            index,
            peers,
        }
    }

    /// Gives this worker's share of the guard's verdicts to `feeder`, in order: a passed record
    /// at its time (or the frontier, late), which then moves the clock; a refused one as a dead
    /// letter at the frontier.
    fn send(&mut self, feeder: &mut Feeder) {
        let mine = |seq: u64| seq % self.peers as u64 == self.index as u64;
        for verdict in self.guard.drain() {
            match verdict {
                Verdict::Pass(ts, (seq, item)) => {
                    let (time, was_late) = time_for(ts, self.frontier, self.granularity);
                    self.late += was_late as u64;
                    if mine(seq) {
                        feeder.give(time, Fed::Item((seq, item)));
                    }
                    let Some(ts) = ts else { continue };
                    if self.clock.is_none_or(|c| ts > c) {
                        self.clock = Some(ts);
                        let f = frontier_for(ts, self.lateness_ms, self.granularity);
                        if f > self.frontier {
                            // Send what is pending before giving up earlier times.
                            self.frontier = f;
                            feeder.downgrade(f);
                        }
                    }
                }
                Verdict::Future((seq, item), ts) => {
                    if mine(seq) {
                        let letter = future_ts(seq, item, ts, &self.guard_cfg);
                        feeder.give(self.frontier, Fed::Refused(letter));
                    }
                }
            }
        }
    }
}
