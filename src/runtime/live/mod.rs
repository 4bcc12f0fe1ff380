//! The live runtime: a feed topic on Kafka through the same dataflows as a replay, with results
//! that survive crashes exactly once.
//!
//! ```text
//!  topic partitions ──(partition p to worker p mod workers, over all processes)──► Feeder
//!        │ rebuild: from the beginning, at the times the changelog recorded               │
//!        ▼ live: at their event times (late ones at the capability)                      ▼
//!                                                        pipeline, bookmaker, policies, reclock
//!                                                                          │ gathered on worker 0
//!     DIR/changelog.bin ◄── frame: every change at times < the output frontier, fsynced
//!          │ then: offsets committed to the consumer group, frame published to the output topics
//!          ▼ at the end: DIR/*.parquet, bets, settlements, ledger, summary (as `replay` writes)
//! ```
//!
//! **Time.** A record is sent at its event time rounded down to the granularity, or — if that is
//! already behind its worker's capability — at the capability, and counted late. A worker's
//! capability follows the smallest watermark of its partitions (a partition's largest event time
//! minus the lateness); a partition that has reached its end and stayed silent for the idle
//! timeout no longer holds it back, and a worker whose partitions are all idle follows the
//! largest watermark of the other workers. For a feed with no record later than the lateness
//! (`late = 0` in a replay), every record is sent at its own event time, exactly as a replay
//! sends it, on any number of workers and processes: the outputs are the replay's.
//!
//! **Exactly once.** When a worker raises its capability, it first sends one [`Reclock`](crate::runtime::clock::Reclock) entry
//! per partition it read from: "the records of partition p up to offset o were sent at their
//! event time or `cap`". Entries are outputs like any other, at time `cap`. Worker 0 writes a
//! frame of the changelog whenever the output frontier advances: every output change at times
//! before it (entries included), then fsyncs. Only then does it commit the consumer group's
//! offsets (the ends of the durable entries) and publish the frame to the output topics. After
//! a crash, a restart reads the changelog: the durable frontier D and the entries. It reads each
//! partition from its beginning to rebuild the dataflow's state, sending every record covered by
//! an entry at exactly the time it had; records past the last entry are sent at times ≥ D. All
//! outputs before D are therefore what they were, and are not written again; everything from D
//! on is new. Nothing is lost, nothing counted twice. (A changelog frame cut short by the crash
//! is ignored: its outputs are computed again.)
//!
//! **In and out.** In: a [`LiveConfig`] (the brokers, the feed topic and its consumer group, the
//! output directory, the [`RunConfig`] of the dataflows) and the feed topic's records, as
//! `oddsflow produce` writes them. Out, as the run goes: `DIR/changelog.bin`, the group's
//! committed offsets and the output topics; at the end, [`run_live`] returns the [`Outputs`] and
//! the [`LiveStats`] on the process hosting worker 0. [`assemble`] and [`durable_frontier`] read
//! a run's changelog from outside it (a finished run, or one in progress); [`TimeAssignment`] reads the time
//! it gave each record, for [`crate::runtime::replay::replay_assigned`] to replay offline.
//!
//! **Pieces.** [`run_live`] starts the timely workers; each runs `worker`: `start` (worker 0
//! reads the changelog and every worker learns what it says; the status dataflow; the worker's
//! partitions assigned), then the read-and-step loop and the final frame. `changelog` is the file
//! format and what a restart recovers from it, knowing neither Kafka nor timely; `topics` the
//! Kafka side: the feed consumer, one `Part` per assigned partition (its read position and
//! rebuild regions) and the output topics. The dataflows themselves are
//! [`crate::runtime::host`]'s, shared with the replay.

mod changelog;
mod crash;
mod identity;
mod start;
mod topics;
mod worker;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;

use crate::policy::Truth;
use crate::runtime::config::RunConfig;
use crate::runtime::host::Frame;
use crate::runtime::outputs::Outputs;
use changelog::Changelog;

/// What a live run reads, where its results go, and how it paces itself.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// The Kafka bootstrap servers (`host:port[,host:port…]`).
    pub brokers: String,
    /// The feed topic (as `oddsflow produce` writes it).
    pub topic: String,
    /// The consumer group whose offsets mark the durable results.
    pub group: String,
    /// Where the changelog and the outputs go.
    pub out: PathBuf,
    /// The dataflows, policies and bookmaker (as for a replay; `until` is ignored).
    pub run: RunConfig,
    /// How long a partition at its end stays silent before it stops holding the frontier back.
    pub idle_timeout_ms: u64,
    /// Finish (close the input, write the final outputs) once every partition has been at its end
    /// and silent this long. `None`: run until killed.
    pub exit_when_idle_ms: Option<u64>,
    /// Publish the outputs to `<prefix>features`, `<prefix>bets`, `<prefix>settlements`,
    /// `<prefix>dead-letters`. `None`: no output topics.
    pub sink_prefix: Option<String>,
    /// How often worker 0 writes a changelog frame, at most, in ms.
    pub frame_interval_ms: u64,
    /// Set to stop the run where it is, as a crash would but politely: nothing more is read or
    /// written, the run is not closed, and a later run resumes it (for embedding and tests).
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl LiveConfig {
    /// Reads `topic` on `brokers` into `out` with the defaults: group `oddsflow-<topic>`, output
    /// topics `<topic>.features` and so on, idle after 2 s, a frame at most every 200 ms, the
    /// default [`RunConfig`], run until killed.
    pub fn new(brokers: &str, topic: &str, out: &Path) -> LiveConfig {
        LiveConfig {
            brokers: brokers.to_string(),
            topic: topic.to_string(),
            group: format!("oddsflow-{topic}"),
            out: out.to_path_buf(),
            run: RunConfig::default(),
            idle_timeout_ms: 2_000,
            exit_when_idle_ms: None,
            sink_prefix: Some(format!("{topic}.")),
            frame_interval_ms: 200,
            stop: None,
        }
    }
}

/// What the live run measured (beside the canonical outputs).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LiveStats {
    /// Timely workers over all processes (0: the run was already complete, nothing was read).
    pub workers: usize,
    /// Seconds from worker 0's start to its final frame.
    pub elapsed_s: f64,
    /// Records read from the topic in this run by all workers (rebuilt ones included) per second
    /// of the whole run (waiting for the exit included).
    pub records_per_s: f64,
    /// Records read from the topic in this run by all workers (rebuilt ones included).
    pub records_read: u64,
    /// Seconds from the start to the last record read. The outputs are kept within a minute of
    /// event time of the input, so `records_read / last_read_s` is the rate from topic to
    /// feature deltas while there is a backlog.
    pub last_read_s: f64,
    /// Records rebuilt from the changelog's entries (0 on a first run).
    pub records_rebuilt: u64,
    /// The durable frontier this run started from (0: a first run).
    pub resumed_from: Time,
    /// The largest consumer lag seen (records between the read position and the partition end).
    pub max_lag: i64,
    /// Changelog frames written by this run, the final one included.
    pub frames: u64,
}

/// Runs the live pipeline. Returns the outputs (as of the end of the run) on the process hosting
/// worker 0, `None` elsewhere.
pub fn run_live(
    cfg: &LiveConfig,
    truth: Option<Arc<Truth>>,
    timely: timely::Config,
) -> Result<Option<(Outputs, LiveStats)>> {
    let mut cfg = cfg.clone();
    cfg.run = cfg.run.checked(truth.as_ref())?;
    cfg.run.until = None;
    let guards = timely::execute(timely, move |worker| {
        worker::live_worker(worker, &cfg, truth.as_ref())
    })
    .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?;
    let mut result = None;
    let mut first_error = None;
    for r in guards.join() {
        match r.map_err(|e| anyhow::anyhow!("a worker failed: {e}")) {
            Ok(Ok(Some(x))) => result = Some(x),
            Ok(Ok(None)) => {}
            Ok(Err(e)) | Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

/// The outputs of a live run so far: every frame of its changelog, merged.
pub fn assemble(dir: &Path, cfg: &RunConfig) -> Result<Outputs> {
    let mut all = Frame::default();
    for (_, f) in Changelog::frames_after(dir, 0)? {
        all.append(f);
    }
    all.consolidate();
    let records: i64 = all
        .reclock
        .iter()
        .map(|(e, _, r)| e.records as i64 * r)
        .sum();
    let late: i64 = all.reclock.iter().map(|(e, _, r)| e.late as i64 * r).sum();
    Ok(Outputs::assemble(
        all,
        records.max(0) as u64,
        late.max(0) as u64,
        cfg,
    ))
}

/// The time a live run's changelog gave each record it read: the reclock entries of every frame,
/// per partition (rebuild regions and refusals). [`crate::runtime::replay::replay_assigned`]
/// replays a feed at these times offline: for a closed run, its outputs are the run's, so a
/// crash that changed what a record was given shows as a difference.
pub struct TimeAssignment {
    parts: std::collections::BTreeMap<i32, topics::Part>,
}

impl TimeAssignment {
    /// Reads the assignment from the changelog in `dir` (`guard`: the run's clock guard).
    pub fn read(dir: &Path, guard: &crate::runtime::clock::GuardConfig) -> Result<TimeAssignment> {
        let entries: Vec<crate::runtime::clock::Reclock> = Changelog::frames_after(dir, 0)?
            .into_iter()
            .flat_map(|(_, f)| f.reclock.into_iter().map(|(e, _, _)| e))
            .collect();
        Ok(TimeAssignment {
            parts: topics::parts_from(&entries, guard),
        })
    }

    /// What the record at `offset` of `partition` was given (`None`: the changelog does not
    /// cover it).
    pub fn assigned(&self, partition: i32, offset: i64) -> Option<crate::runtime::clock::Assigned> {
        self.parts.get(&partition)?.assigned(offset)
    }

    /// The offset after the last record of `partition` the changelog covers (0: none).
    pub fn end(&self, partition: i32) -> i64 {
        self.parts.get(&partition).map_or(0, |p| p.rebuild_end)
    }
}

/// The durable frontier of the changelog in `dir`: every output before it is durable (`None`
/// when the run is closed: all of them are; `Some(0)` when there is no changelog yet).
pub fn durable_frontier(dir: &Path) -> Result<Option<Time>> {
    Changelog::durable_frontier(dir)
}

/// The changelog file's name in a live run's `--out` directory.
pub const CHANGELOG_FILE: &str = changelog::CHANGELOG;

/// Writes a small valid changelog into `dir` (a header, a durable frame and a closing frame,
/// with reclock entries, a refusal, held offsets and a dead letter) and returns its bytes: the
/// seed the fuzz harness mutates (`tests/fuzz.rs`, `benches/fuzz.rs`).
pub fn sample_changelog(dir: &Path) -> Result<Vec<u8>> {
    use crate::runtime::clock::{Reclock, Refusal};
    use oddsflow_dataflows::reject::{DeadLetter, RejectReason};
    let mut log = Changelog::open(dir, "sample", "topic = \"sample\"\nrun.seed = 1")?;
    let entry = |end: i64, cap: Time| Reclock {
        partition: 0,
        end,
        cap,
        records: end as u64,
        late: 1,
        refused: vec![Refusal {
            offset: end - 1,
            at: cap,
            wall: false,
        }],
        held: vec![end - 2],
    };
    let frame = |end: i64, cap: Time| Frame {
        reclock: vec![(entry(end, cap), cap, 1)],
        dead_letters: vec![(
            DeadLetter {
                seq: end as u64,
                reason: RejectReason::FutureTs,
                detail: "sample".into(),
                record: "{\"ts\":1}".into(),
            },
            cap,
            1,
        )],
        valid: vec![(Some(7), cap, 1), (None, cap, 3)],
        ..Frame::default()
    };
    log.write_frame(Some(2_000), &frame(10, 1_000))?;
    log.write_frame(None, &frame(20, 2_000))?;
    drop(log);
    Ok(std::fs::read(dir.join(changelog::CHANGELOG))?)
}
