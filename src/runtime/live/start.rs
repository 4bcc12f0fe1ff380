//! How a worker starts a live run, before its loop: worker 0 opens the changelog (and the output
//! topics) and every worker learns what it says; the status dataflow; the worker's partitions,
//! assigned from their beginnings with the regions a restart rebuilds.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::vec::{Broadcast, Input};
use timely::dataflow::operators::{Inspect, Probe};

use oddsflow_dataflows::Time;

use super::LiveConfig;
use super::changelog::{Changelog, LogLine, Recovery};
use super::identity::identity;
use super::topics::{FeedConsumer, OutputTopics, Part, all_partitions, offsets_of, parts_from};
use crate::io::kafka;
use crate::policy::Truth;
use crate::runtime::clock::ClockGuard;

/// A worker's progress, shared with every worker (for idle workers' frontiers and the progress
/// line).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Status {
    pub(super) worker: usize,
    pub(super) records: u64,
    /// Seconds from the start to the last record read.
    pub(super) last_read_s: f64,
    pub(super) rebuilt: u64,
    pub(super) lag: i64,
    /// The largest watermark of its partitions.
    pub(super) watermark: Time,
    pub(super) capability: Time,
}

/// What a worker starts from: worker 0's changelog and output topics, and what the changelog
/// says (on every worker).
pub(super) struct Restored {
    pub(super) log: Option<Changelog>,
    pub(super) recovery: Recovery,
    pub(super) sinks: Option<OutputTopics>,
}

/// Worker 0 opens the changelog and the output topics, and publishes the durable frames that a
/// crash kept off them; every worker learns the recovery state.
pub(super) fn restore(
    worker: &mut timely::worker::Worker,
    cfg: &LiveConfig,
    truth: Option<&Arc<Truth>>,
) -> Result<Restored> {
    let index = worker.index();
    // Worker 0 owns the changelog; every worker learns what it says.
    let mut log = if index == 0 {
        Some(Changelog::open(
            &cfg.out,
            &cfg.topic,
            &identity(cfg, truth)?,
        )?)
    } else {
        None
    };
    let recovery = broadcast_recovery(worker, log.as_ref().map(|l| l.recovery.clone()))
        .context("the recovery state did not reach this worker")?;

    let sinks = match (&cfg.sink_prefix, &log) {
        (Some(prefix), Some(log)) => Some(OutputTopics::new(cfg, prefix, &log.run_id)?),
        _ => None,
    };
    // Publish the durable frames that a crash kept off the output topics: those after the last
    // the changelog says are published and the last whose transaction committed (a crash can
    // fall between the two).
    if let (Some(log), Some(s)) = (&mut log, &sinks) {
        let on_topics = if s.transactional() {
            s.last_published()?
        } else {
            0
        };
        if on_topics > log.published {
            log.append(&LogLine::Published { n: on_topics })?;
            log.published = on_topics;
        }
        for (n, frame) in Changelog::frames_after(&cfg.out, log.published)? {
            s.publish(n, &frame)?;
            log.append(&LogLine::Published { n })?;
            log.published = n;
        }
    }
    Ok(Restored {
        log,
        recovery,
        sinks,
    })
}

/// Sends `mine` (worker 0's) to every worker.
fn broadcast_recovery(
    worker: &mut timely::worker::Worker,
    mine: Option<Recovery>,
) -> Option<Recovery> {
    let got: Rc<RefCell<Option<Recovery>>> = Rc::new(RefCell::new(None));
    let sink = got.clone();
    let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (input, stream) = scope.new_input::<Recovery>();
        let probe = stream
            .broadcast()
            .inspect(move |r| *sink.borrow_mut() = Some(r.clone()))
            .probe()
            .0;
        (input, probe)
    });
    if let Some(r) = mine {
        input.send(r);
    }
    input.close();
    while !probe.done() {
        worker.step();
    }
    got.take()
}

/// Every worker's status, on every worker: the table, its input and its probe.
pub(super) type Statuses = (
    Rc<RefCell<BTreeMap<usize, Status>>>,
    InputHandleVec<u64, Status>,
    ProbeHandle<u64>,
);

/// Builds the dataflow that shares every worker's [`Status`] with every worker.
pub(super) fn status_dataflow(worker: &mut timely::worker::Worker) -> Statuses {
    let statuses: Rc<RefCell<BTreeMap<usize, Status>>> = Rc::default();
    let (status_in, status_probe) = {
        let table = statuses.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            let (input, stream) = scope.new_input::<Status>();
            let probe = stream
                .broadcast()
                .inspect(move |s: &Status| {
                    table.borrow_mut().insert(s.worker, s.clone());
                })
                .probe()
                .0;
            (input, probe)
        })
    };
    (statuses, status_in, status_probe)
}

/// This worker's partitions of the topic: the partition count, one [`Part`] per partition
/// (`p mod workers == index`, with its rebuild regions), assigned to `consumer` from the
/// beginning, and where each sits in the list.
pub(super) fn assign_partitions(
    cfg: &LiveConfig,
    consumer: &FeedConsumer,
    recovery: &Recovery,
    (index, peers): (usize, usize),
) -> Result<(i32, Vec<Part>, BTreeMap<i32, usize>)> {
    let partitions =
        kafka::partition_count(consumer.client(), &cfg.topic, Duration::from_secs(30))?;
    let mut known = parts_from(&recovery.entries, &cfg.run.clock);
    let parts: Vec<Part> = (0..partitions)
        .filter(|p| *p as usize % peers == index)
        .map(|id| {
            known.remove(&id).unwrap_or_else(|| {
                let mut part = Part::new(id, Vec::new());
                part.guard = ClockGuard::new(&cfg.run.clock);
                part
            })
        })
        .collect();
    if let Some(p) = known.keys().find(|p| **p >= partitions) {
        bail!(
            "the changelog has entries for partition {p}, but topic {} has {partitions} partitions",
            cfg.topic
        );
    }
    let mut tpl = TopicPartitionList::new();
    for p in &parts {
        let (low, _) = consumer
            .fetch_watermarks(&cfg.topic, p.id, Duration::from_secs(10))
            .with_context(|| format!("reading the offsets of partition {}", p.id))?;
        if low > 0 && p.rebuild_end > 0 {
            bail!(
                "partition {} starts at offset {low}: records the changelog's results depend on \
                 were deleted (retention), so the state cannot be rebuilt",
                p.id
            );
        }
        tpl.add_partition_offset(&cfg.topic, p.id, Offset::Beginning)?;
    }
    consumer
        .assign(&tpl)
        .context("assigning the feed partitions")?;
    let slot: BTreeMap<i32, usize> = parts.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    if index == 0 {
        let committed = consumer
            .committed_offsets(
                all_partitions(&cfg.topic, partitions)?,
                Duration::from_secs(10),
            )
            .ok();
        tracing::info!(
            workers = peers,
            partitions,
            resumed_from = recovery.durable,
            entries = recovery.entries.len(),
            committed = ?committed.map(|c| offsets_of(&c)),
            "live run starts"
        );
    }
    Ok((partitions, parts, slot))
}
