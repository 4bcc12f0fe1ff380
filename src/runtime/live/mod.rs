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
//! **Exactly once.** When a worker raises its capability, it first sends one [`Reclock`] entry
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

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::producer::BaseRecord;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::vec::{Broadcast, Input};
use timely::dataflow::operators::{Inspect, Probe};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::wire::peek_ts;

use crate::io::kafka;
use crate::policy::Truth;
use crate::runtime::clock::{Reclock, frontier_for, time_for};
use crate::runtime::config::RunConfig;
use crate::runtime::host::{Fed, Frame, Hosted, host};
use crate::runtime::outputs::Outputs;

#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub brokers: String,
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
    pub workers: usize,
    pub elapsed_s: f64,
    /// Records read from the topic in this run by all workers (rebuilt ones included) per second
    /// of the whole run (waiting for the exit included).
    pub records_per_s: f64,
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
    pub frames: u64,
}

/// What a restart needs, read from the changelog by worker 0 and broadcast to every worker.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Recovery {
    /// Every output change before this time is durable.
    durable: Time,
    /// The run finished (its final frame is written).
    closed: bool,
    /// The durable reclock entries.
    entries: Vec<Reclock>,
}

/// A worker's progress, shared with every worker (for idle workers' frontiers and the progress
/// line).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Status {
    worker: usize,
    records: u64,
    /// Seconds from the start to the last record read.
    last_read_s: f64,
    rebuilt: u64,
    lag: i64,
    /// The largest watermark of its partitions.
    watermark: Time,
    capability: Time,
}

/// One line of the changelog.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LogLine {
    /// The run's identity: a restart must be the same run.
    Header { topic: String, identity: String },
    /// Every output change at times in `[previous upto, upto)`; `upto: None` closes the run.
    Frame {
        n: u64,
        upto: Option<Time>,
        changes: Box<Frame>,
    },
    /// Frames up to `n` are on the output topics.
    Published { n: u64 },
}

/// [`LogLine::Frame`] as written: the same encoding, borrowing the frame instead of copying it.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum FrameOut<'a> {
    #[allow(dead_code)] // only its variant index matters: it keeps `Frame` second
    Header,
    Frame {
        n: u64,
        upto: Option<Time>,
        changes: &'a Frame,
    },
}

/// The changelog on worker 0: `DIR/changelog.bin`, one checksummed bincode record per frame,
/// appended and fsynced before anything depending on it is acknowledged.
struct Changelog {
    file: File,
    /// What the changelog held when opened.
    recovery: Recovery,
    /// Every output before this is durable (`recovery.durable`, then each frame's `upto`).
    durable: Time,
    /// The end of each partition's last durable entry: the offsets to commit.
    ends: BTreeMap<i32, i64>,
    frames: u64,
    published: u64,
}

const CHANGELOG: &str = "changelog.bin";

impl Changelog {
    /// Opens (or starts) the changelog in `dir`, dropping a last line cut short by a crash.
    fn open(dir: &Path, topic: &str, identity: &str) -> Result<Changelog> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(CHANGELOG);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // One writer per changelog: a second run on the same directory would count twice.
        file.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "another oddsflow run is writing {} (one run per --out)",
                path.display()
            )
        })?;
        let mut recovery = Recovery::default();
        let (mut frames, mut published, mut header) = (0, 0, false);
        let mut records = Records::new(&file);
        while let Some(parsed) = records.next_record()? {
            match parsed {
                LogLine::Header {
                    topic: t,
                    identity: id,
                } => {
                    if t != topic || id != identity {
                        bail!(
                            "{} belongs to another run (topic {t:?}, {id}); this run is topic \
                             {topic:?}, {identity}: use another --out",
                            path.display()
                        );
                    }
                    header = true;
                }
                LogLine::Frame { n, upto, changes } => {
                    frames = n;
                    recovery
                        .entries
                        .extend(changes.reclock.into_iter().map(|(e, _, _)| e));
                    match upto {
                        Some(u) => recovery.durable = u,
                        None => recovery.closed = true,
                    }
                }
                LogLine::Published { n } => published = n,
            }
        }
        let good_len = records.good_len;
        if file.metadata()?.len() > good_len {
            tracing::warn!(
                "dropping the end of {} cut short by a crash",
                path.display()
            );
            file.set_len(good_len)?;
            file.seek(std::io::SeekFrom::End(0))?;
        }
        let mut log = Changelog {
            file,
            durable: recovery.durable,
            ends: BTreeMap::new(),
            recovery,
            frames,
            published,
        };
        let entries = std::mem::take(&mut log.recovery.entries);
        log.note_entries(&entries);
        log.recovery.entries = entries;
        if !header {
            log.append(&LogLine::Header {
                topic: topic.to_string(),
                identity: identity.to_string(),
            })?;
        }
        Ok(log)
    }

    fn append(&mut self, line: &LogLine) -> Result<()> {
        self.append_encoded(line)
    }

    fn append_encoded(&mut self, line: &impl Serialize) -> Result<()> {
        let body = bincode::serialize(line).context("encoding a changelog record")?;
        let mut record = Vec::with_capacity(body.len() + 12);
        record.extend_from_slice(&(body.len() as u64).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        record.extend_from_slice(&body);
        self.file.write_all(&record)?;
        self.file.sync_data().context("syncing the changelog")?;
        Ok(())
    }

    /// Writes `changes` (every output before `upto`; `None`: all, closing the run) durably.
    fn write_frame(&mut self, upto: Option<Time>, changes: &Frame) -> Result<u64> {
        self.frames += 1;
        let n = self.frames;
        self.append_encoded(&FrameOut::Frame { n, upto, changes })?;
        if let Some(u) = upto {
            self.durable = u;
        }
        let entries: Vec<Reclock> = changes.reclock.iter().map(|(e, _, _)| e.clone()).collect();
        self.note_entries(&entries);
        Ok(n)
    }

    /// Records the partition ends of durable `entries`.
    fn note_entries(&mut self, entries: &[Reclock]) {
        for e in entries {
            let end = self.ends.entry(e.partition).or_insert(0);
            *end = (*end).max(e.end);
        }
    }

    /// Every frame after `after`.
    fn frames_after(dir: &Path, after: u64) -> Result<Vec<(u64, Frame)>> {
        let path = dir.join(CHANGELOG);
        let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mut out = Vec::new();
        let mut records = Records::new(&file);
        while let Some(line) = records.next_record()? {
            if let LogLine::Frame { n, changes, .. } = line
                && n > after
            {
                out.push((n, *changes));
            }
        }
        Ok(out)
    }
}

/// Reads the changelog's records: `[length u64 LE][crc32 u32 LE][bincode]` each. Stops at the
/// first record that is cut short or fails its checksum (the end a crash left).
struct Records<'f> {
    reader: BufReader<&'f File>,
    /// Bytes of whole, good records read so far.
    good_len: u64,
}

impl<'f> Records<'f> {
    fn new(file: &'f File) -> Self {
        Records {
            reader: BufReader::new(file),
            good_len: 0,
        }
    }

    fn next_record(&mut self) -> Result<Option<LogLine>> {
        let mut head = [0u8; 12];
        if !read_full(&mut self.reader, &mut head)? {
            return Ok(None);
        }
        let len = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(head[8..].try_into().unwrap_or_default());
        if len > (1 << 40) {
            return Ok(None);
        }
        let mut body = vec![0u8; len as usize];
        if !read_full(&mut self.reader, &mut body)? || crc32fast::hash(&body) != crc {
            return Ok(None);
        }
        match bincode::deserialize::<LogLine>(&body) {
            Ok(line) => {
                self.good_len += 12 + len;
                Ok(Some(line))
            }
            Err(_) => Ok(None),
        }
    }
}

/// Fills `buf`; `false` if the input ends first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => return Ok(false),
            n => filled += n,
        }
    }
    Ok(true)
}

/// The durable frontier of the changelog in `dir`: every output before it is durable (`None`
/// when the run is closed: all of them are).
pub fn durable_frontier(dir: &Path) -> Result<Option<Time>> {
    let path = dir.join(CHANGELOG);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(0)),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let mut durable = Some(0);
    let mut records = Records::new(&file);
    while let Some(line) = records.next_record()? {
        if let LogLine::Frame { upto, .. } = line {
            durable = upto;
        }
    }
    Ok(durable)
}

/// One assigned partition of a worker.
struct Part {
    id: i32,
    /// Rebuild regions from the changelog: `(end offset, cap)`, by end.
    regions: Vec<(i64, Time)>,
    /// The offset after the last region (0: nothing to rebuild).
    rebuild_end: i64,
    /// The next offset to read.
    next: i64,
    /// The largest event time read.
    clock: Option<i64>,
    /// At the partition's end (since the last message), and since when.
    eof: Option<Instant>,
    /// Read since the last entry, and how many late (live records only).
    records: u64,
    late: u64,
    /// The partition end, as last fetched.
    high: i64,
}

impl Part {
    /// Partition `id`, to be rebuilt through `regions` (from the changelog's entries).
    fn new(id: i32, mut regions: Vec<(i64, Time)>) -> Part {
        regions.sort();
        Part {
            id,
            rebuild_end: regions.last().map_or(0, |(end, _)| *end),
            regions,
            next: 0,
            clock: None,
            eof: None,
            records: 0,
            late: 0,
            high: 0,
        }
    }

    fn rebuilding(&self) -> bool {
        self.next < self.rebuild_end
    }

    /// The cap of the rebuild region holding `offset`.
    fn region_cap(&self, offset: i64) -> Time {
        let i = self.regions.partition_point(|(end, _)| *end <= offset);
        self.regions.get(i).map_or(0, |(_, cap)| *cap)
    }

    fn idle(&self, now: Instant, timeout: Duration) -> bool {
        !self.rebuilding() && self.eof.is_some_and(|since| now - since >= timeout)
    }
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
        live_worker(worker, &cfg, truth.as_ref())
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

/// What must match between runs sharing a changelog: the settings that decide the outputs.
fn identity(cfg: &LiveConfig) -> String {
    let r = &cfg.run;
    format!(
        "granularity {} ms, lateness {} ms, policies {:?}, bankroll {}, seed {}",
        r.granularity_ms,
        r.lateness_ms,
        crate::runtime::config::policy_names(&r.policies),
        r.bookmaker.bankroll,
        r.seed
    )
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

/// The consumer's context: reaching a partition's end is news (it arrives through `poll`), not
/// an error to log.
struct FeedContext;

impl rdkafka::ClientContext for FeedContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let eof = matches!(
            error,
            KafkaError::PartitionEOF(_)
                | KafkaError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        );
        if !eof {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }
}

impl rdkafka::consumer::ConsumerContext for FeedContext {}

type FeedConsumer = BaseConsumer<FeedContext>;

fn consumer(cfg: &LiveConfig) -> Result<FeedConsumer> {
    kafka::client_config(&cfg.brokers)
        .set("group.id", &cfg.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "50")
        .create_with_context(FeedContext)
        .context("creating the Kafka consumer")
}

fn live_worker(
    worker: &mut timely::worker::Worker,
    cfg: &LiveConfig,
    truth: Option<&Arc<Truth>>,
) -> Result<Option<(Outputs, LiveStats)>> {
    let (index, peers) = (worker.index(), worker.peers());
    let started = Instant::now();
    let rc = &cfg.run;
    let granularity = rc.granularity_ms.max(1);

    // Worker 0 owns the changelog; every worker learns what it says.
    let mut log = if index == 0 {
        Some(Changelog::open(&cfg.out, &cfg.topic, &identity(cfg))?)
    } else {
        None
    };
    let recovery = broadcast_recovery(worker, log.as_ref().map(|l| l.recovery.clone()))
        .context("the recovery state did not reach this worker")?;
    let d_start = recovery.durable;

    let sinks = match (&cfg.sink_prefix, index) {
        (Some(prefix), 0) => Some(OutputTopics::new(cfg, prefix)?),
        _ => None,
    };
    // Publish the durable frames that a crash kept off the output topics.
    if let (Some(log), Some(s)) = (&mut log, &sinks) {
        for (n, frame) in Changelog::frames_after(&cfg.out, log.published)? {
            s.publish(&frame)?;
            log.append(&LogLine::Published { n })?;
            log.published = n;
        }
    }
    if recovery.closed {
        // The run is complete: its outputs are all in the changelog.
        if let Some(log) = log {
            drop(log);
            let outputs = assemble(&cfg.out, rc)?;
            return Ok(Some((outputs, LiveStats::default())));
        }
        return Ok(None);
    }

    let Hosted {
        mut feeder,
        gathered,
        probe,
        ..
    } = host(worker, rc, truth)?;
    feeder.downgrade(0);

    // Every worker's status, on every worker.
    let statuses: Rc<RefCell<BTreeMap<usize, Status>>> = Rc::default();
    let (mut status_in, status_probe) = {
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

    let consumer = consumer(cfg)?;
    let partitions =
        kafka::partition_count(consumer.client(), &cfg.topic, Duration::from_secs(30))?;
    let mut by_partition: BTreeMap<i32, Vec<(i64, Time)>> = BTreeMap::new();
    for e in &recovery.entries {
        by_partition
            .entry(e.partition)
            .or_default()
            .push((e.end, e.cap));
    }
    let mut parts: Vec<Part> = (0..partitions)
        .filter(|p| *p as usize % peers == index)
        .map(|id| Part::new(id, by_partition.remove(&id).unwrap_or_default()))
        .collect();
    if let Some(p) = by_partition.keys().next() {
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
            resumed_from = d_start,
            entries = recovery.entries.len(),
            committed = ?committed.map(|c| offsets_of(&c)),
            "live run starts"
        );
    }

    let idle_timeout = Duration::from_millis(cfg.idle_timeout_ms);
    let floor = d_start;
    let mut cap: Time = 0;
    let (mut read, mut rebuilt, mut max_lag) = (0u64, 0u64, 0i64);
    let mut last_read_s = 0.0f64;
    let mut last_downgrade = Instant::now();
    let mut last_status = Instant::now() - Duration::from_secs(1);
    let mut last_watermarks = Instant::now() - Duration::from_secs(1);
    let mut last_frame = Instant::now();
    let mut last_progress = Instant::now();
    let mut frames = 0u64;
    let progress = index == 0 && rc.progress;

    if parts.is_empty() {
        feeder.close();
    }
    // Emits one entry per partition read from under `cap_now` (each at its effective cap).
    let emit = |parts: &mut [Part], feeder: &mut crate::runtime::host::Feeder, cap_now: Time| {
        for p in parts.iter_mut().filter(|p| p.records > 0) {
            let eff = cap_now.max(floor);
            feeder.give(
                eff,
                Fed::Reclock(Reclock {
                    partition: p.id,
                    end: p.next,
                    cap: eff,
                    records: p.records,
                    late: p.late,
                }),
            );
            p.records = 0;
            p.late = 0;
        }
    };

    loop {
        let now = Instant::now();
        // Read what is there (at most a batch), waiting a little when nothing is.
        let mut got = 0;
        if feeder.time().is_some() {
            while got < 4096 {
                let timeout = if got == 0 {
                    Duration::from_millis(5)
                } else {
                    Duration::ZERO
                };
                match consumer.poll(timeout) {
                    None => break,
                    Some(Err(KafkaError::PartitionEOF(p))) => {
                        if let Some(&i) = slot.get(&p) {
                            parts[i].eof.get_or_insert(now);
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!("Kafka consumer: {e}");
                        break;
                    }
                    Some(Ok(m)) => {
                        got += 1;
                        read += 1;
                        last_read_s = started.elapsed().as_secs_f64();
                        let Some(&i) = slot.get(&m.partition()) else {
                            continue;
                        };
                        let part = &mut parts[i];
                        let offset = m.offset();
                        let line = match m.payload() {
                            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                            None => String::new(),
                        };
                        let seq = m
                            .headers()
                            .and_then(|h| {
                                h.iter()
                                    .find(|h| h.key == kafka::SEQ_HEADER)
                                    .and_then(|h| h.value)
                                    .and_then(|v| std::str::from_utf8(v).ok())
                                    .and_then(|v| v.parse::<u64>().ok())
                            })
                            .unwrap_or(((part.id as u64) << 40) | offset.max(0) as u64);
                        let ts = peek_ts(&line).filter(|ts| *ts >= 0);
                        let time = if offset < part.rebuild_end {
                            rebuilt += 1;
                            time_for(ts, part.region_cap(offset), granularity).0
                        } else {
                            let (t, late) = time_for(ts, cap.max(floor), granularity);
                            part.records += 1;
                            part.late += late as u64;
                            t
                        };
                        part.next = offset + 1;
                        part.eof = None;
                        if let Some(ts) = ts {
                            part.clock = Some(part.clock.map_or(ts, |c| c.max(ts)));
                        }
                        feeder.give(time, Fed::Item((seq, Payload::Line(line))));
                    }
                }
            }
        }

        // The frontier this worker's partitions allow.
        let now = Instant::now();
        let others = statuses
            .borrow()
            .values()
            .filter(|s| s.worker != index)
            .map(|s| s.watermark)
            .max()
            .unwrap_or(0);
        let own_watermark = parts
            .iter()
            .filter_map(|p| p.clock)
            .map(|c| frontier_for(c, rc.lateness_ms, granularity))
            .max()
            .unwrap_or(0);
        let bound = parts
            .iter()
            .filter(|p| !p.idle(now, idle_timeout))
            .map(|p| {
                if p.rebuilding() {
                    p.region_cap(p.next)
                } else {
                    p.clock
                        .map_or(0, |c| frontier_for(c, rc.lateness_ms, granularity))
                        .max(floor)
                }
            })
            .min()
            // Every partition idle: follow the furthest worker.
            .unwrap_or_else(|| own_watermark.max(others).max(floor));
        if feeder.time().is_some()
            && bound > cap
            && (now - last_downgrade >= Duration::from_millis(10) || feeder.pending() >= 4096)
        {
            emit(&mut parts, &mut feeder, cap);
            cap = bound;
            feeder.downgrade(cap);
            last_downgrade = now;
        }
        feeder.flush();
        worker.step();
        // Flow control: do not run more than a minute of event time ahead of the outputs.
        let behind = cap.saturating_sub(60_000);
        while probe.less_than(&behind) {
            worker.step();
        }

        // Worker 0: a durable frame of what the output frontier has passed.
        if let Some(log) = &mut log
            && now - last_frame >= Duration::from_millis(cfg.frame_interval_ms)
        {
            last_frame = now;
            frames += write_durable(
                log,
                &gathered,
                &probe,
                &consumer,
                cfg,
                partitions,
                sinks.as_ref(),
            )?;
        }

        if now - last_watermarks >= Duration::from_secs(1) {
            last_watermarks = now;
            for p in &mut parts {
                if let Ok((_, high)) =
                    consumer.fetch_watermarks(&cfg.topic, p.id, Duration::from_millis(500))
                {
                    p.high = high;
                }
            }
        }
        if now - last_status >= Duration::from_millis(100) {
            last_status = now;
            let lag = parts.iter().map(|p| (p.high - p.next).max(0)).sum();
            status_in.send(Status {
                worker: index,
                records: read,
                last_read_s,
                rebuilt,
                lag,
                watermark: own_watermark,
                capability: cap,
            });
            status_in.flush();
            let total_lag: i64 = statuses.borrow().values().map(|s| s.lag).sum();
            max_lag = max_lag.max(total_lag);
            if progress && now - last_progress >= Duration::from_secs(1) {
                last_progress = now;
                let st = statuses.borrow();
                let records: u64 = st.values().map(|s| s.records).sum();
                let frontier = probe.with_frontier(|f| f.iter().min().copied().unwrap_or(0));
                let secs = started.elapsed().as_secs_f64().max(1e-9);
                eprintln!(
                    "live: {records} records read ({:.0}/s), lag {total_lag} records, outputs complete to {}, durable to {}, {frames} frames",
                    records as f64 / secs,
                    crate::time::format_time(frontier),
                    crate::time::format_time(log.as_ref().map_or(0, |l| l.durable)),
                );
            }
        }

        if let Some(ms) = cfg.exit_when_idle_ms
            && feeder.time().is_some()
            && parts.iter().all(|p| p.idle(now, Duration::from_millis(ms)))
        {
            emit(&mut parts, &mut feeder, cap);
            feeder.close();
        }
        if feeder.time().is_none() && probe.done() {
            break;
        }
        if cfg
            .stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Ok(None);
        }
    }
    status_in.send(Status {
        worker: index,
        records: read,
        last_read_s,
        rebuilt,
        lag: 0,
        watermark: 0,
        capability: cap,
    });
    drop(status_in);
    while !status_probe.done() {
        worker.step();
    }
    let read: u64 = statuses.borrow().values().map(|s| s.records).sum();
    let rebuilt: u64 = statuses.borrow().values().map(|s| s.rebuilt).sum();
    let last_read_s = statuses
        .borrow()
        .values()
        .map(|s| s.last_read_s)
        .fold(0.0, f64::max);
    let Some(mut log) = log else {
        return Ok(None);
    };
    // The final frame: everything else.
    let mut rest = gathered.drain(None);
    rest.retain_from(log.durable);
    let n = log.write_frame(None, &rest)?;
    // Waits for the broker: the process may end right after.
    commit(&log, &consumer, cfg, partitions, CommitMode::Sync)?;
    if let Some(s) = &sinks {
        s.publish(&rest)?;
        log.append(&LogLine::Published { n })?;
    }
    drop(log);
    let elapsed = started.elapsed().as_secs_f64();
    let outputs = assemble(&cfg.out, rc)?;
    let stats = LiveStats {
        workers: peers,
        elapsed_s: elapsed,
        records_per_s: read as f64 / elapsed.max(1e-9),
        records_read: read,
        last_read_s,
        records_rebuilt: rebuilt,
        resumed_from: d_start,
        max_lag,
        frames: frames + 1,
    };
    Ok(Some((outputs, stats)))
}

/// Worker 0: writes a frame of every output before the output frontier (if it moved), then
/// commits the offsets the changelog now covers and publishes the frame. Returns the frames
/// written (0 or 1).
fn write_durable(
    log: &mut Changelog,
    gathered: &crate::runtime::host::Gathered,
    probe: &ProbeHandle<Time>,
    consumer: &FeedConsumer,
    cfg: &LiveConfig,
    partitions: i32,
    sinks: Option<&OutputTopics>,
) -> Result<u64> {
    let Some(upto) = probe.with_frontier(|f| f.iter().min().copied()) else {
        return Ok(0); // done: the final frame is written at the end
    };
    if upto <= log.durable {
        return Ok(0);
    }
    // Outputs before the durable frontier this run started from are already in the changelog.
    let mut frame = gathered.drain(Some(upto));
    frame.retain_from(log.durable);
    let n = log.write_frame(Some(upto), &frame)?;
    commit(log, consumer, cfg, partitions, CommitMode::Async)?;
    if let Some(s) = sinks {
        s.publish(&frame)?;
        log.append(&LogLine::Published { n })?;
        log.published = n;
    }
    Ok(1)
}

/// Commits, for every partition, the end of its last durable entry.
fn commit(
    log: &Changelog,
    consumer: &FeedConsumer,
    cfg: &LiveConfig,
    partitions: i32,
    mode: CommitMode,
) -> Result<()> {
    if log.ends.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for (&p, &end) in log.ends.iter().filter(|(p, _)| **p < partitions) {
        tpl.add_partition_offset(&cfg.topic, p, Offset::Offset(end))?;
    }
    if let Err(e) = consumer.commit(&tpl, mode) {
        // The changelog, not the group's offsets, is what a restart trusts: a failed commit only
        // leaves the group behind.
        tracing::warn!("committing offsets: {e}");
    }
    Ok(())
}

fn all_partitions(topic: &str, partitions: i32) -> Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    Ok(tpl)
}

fn offsets_of(tpl: &TopicPartitionList) -> Vec<(i32, i64)> {
    tpl.elements()
        .iter()
        .map(|e| (e.partition(), e.offset().to_raw().unwrap_or(-1)))
        .collect()
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

/// The output topics, written by worker 0 after each durable frame.
struct OutputTopics {
    producer: kafka::FeedProducer,
    features: String,
    bets: String,
    settlements: String,
    dead_letters: String,
}

impl OutputTopics {
    fn new(cfg: &LiveConfig, prefix: &str) -> Result<OutputTopics> {
        let t = OutputTopics {
            producer: kafka::producer(&cfg.brokers)?,
            features: format!("{prefix}features"),
            bets: format!("{prefix}bets"),
            settlements: format!("{prefix}settlements"),
            dead_letters: format!("{prefix}dead-letters"),
        };
        kafka::ensure_topics(
            &cfg.brokers,
            &[&t.features, &t.bets, &t.settlements, &t.dead_letters],
            4,
        )?;
        Ok(t)
    }

    /// Publishes every change of `frame`'s published tables, then waits for the acknowledgements.
    fn publish(&self, frame: &Frame) -> Result<()> {
        fn each<D: Serialize>(
            p: &kafka::FeedProducer,
            topic: &str,
            rows: &[(D, Time, i64)],
            key: impl Fn(&D) -> String,
        ) -> Result<()> {
            let mut ordinal: (Time, u64) = (Time::MAX, 0);
            for (d, t, r) in rows {
                ordinal = if ordinal.0 == *t {
                    (*t, ordinal.1 + 1)
                } else {
                    (*t, 0)
                };
                let value = serde_json::to_string(&serde_json::json!({
                    "time": t, "diff": r, "data": d
                }))?;
                let (k, id, time) = (key(d), format!("{t}:{}", ordinal.1), t.to_string());
                let headers = rdkafka::message::OwnedHeaders::new()
                    .insert(rdkafka::message::Header {
                        key: "oddsflow-time",
                        value: Some(time.as_str()),
                    })
                    .insert(rdkafka::message::Header {
                        key: "oddsflow-id",
                        value: Some(id.as_str()),
                    });
                kafka::send(
                    p,
                    BaseRecord::to(topic)
                        .key(&k)
                        .payload(&value)
                        .headers(headers),
                )?;
            }
            Ok(())
        }
        // Rows sorted by time (ordinals count within a time).
        fn by_time<D: Clone>(rows: &[(D, Time, i64)]) -> Vec<(D, Time, i64)> {
            let mut v = rows.to_vec();
            v.sort_by_key(|(_, t, _)| *t);
            v
        }
        let p = &self.producer;
        each(p, &self.features, &by_time(&frame.features), |(m, _)| {
            m.to_string()
        })?;
        each(p, &self.bets, &by_time(&frame.decisions), |d| {
            format!("{}:{}", d.request.id.policy, d.request.id.seq)
        })?;
        each(
            p,
            &self.settlements,
            &by_time(&frame.settlements),
            |(id, _)| format!("{}:{}", id.policy, id.seq),
        )?;
        each(p, &self.dead_letters, &by_time(&frame.dead_letters), |d| {
            d.seq.to_string()
        })?;
        kafka::flush(p, "a frame's output messages")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(end: i64, cap: Time) -> Frame {
        Frame {
            reclock: vec![(
                Reclock {
                    partition: 0,
                    end,
                    cap,
                    records: end as u64,
                    late: 0,
                },
                cap,
                1,
            )],
            ..Frame::default()
        }
    }

    #[test]
    fn a_frame_cut_short_by_a_crash_is_dropped_and_the_log_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut log = Changelog::open(dir.path(), "t", "id").expect("new log");
            log.write_frame(Some(1_000), &entry(10, 0))
                .expect("frame 1");
            log.write_frame(Some(2_000), &entry(20, 1_000))
                .expect("frame 2");
        }
        let path = dir.path().join(CHANGELOG);
        let good = std::fs::metadata(&path).expect("log").len();
        // A third record, cut short: its header promises 200 bytes, 5 follow.
        let mut f = OpenOptions::new().append(true).open(&path).expect("log");
        f.write_all(&[200, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5])
            .expect("partial record");
        drop(f);
        let log = Changelog::open(dir.path(), "t", "id").expect("reopened");
        assert_eq!(log.frames, 2);
        assert_eq!(log.recovery.durable, 2_000);
        assert!(!log.recovery.closed);
        assert_eq!(log.recovery.entries.len(), 2);
        assert_eq!(std::fs::metadata(&path).expect("log").len(), good);
        let mut log = log;
        log.write_frame(None, &entry(30, 2_000)).expect("frame 3");
        assert_eq!(
            log.ends.get(&0),
            Some(&30),
            "the final frame's entries are committed too"
        );
        drop(log);
        let log = Changelog::open(dir.path(), "t", "id").expect("reopened");
        assert!(log.recovery.closed);
        assert_eq!(
            Changelog::frames_after(dir.path(), 1)
                .expect("frames")
                .len(),
            2
        );
        // Another run's settings are refused.
        drop(log);
        let err = Changelog::open(dir.path(), "t", "other settings")
            .err()
            .expect("refused");
        assert!(format!("{err}").contains("belongs to another run"), "{err}");
    }

    #[test]
    fn rebuild_regions_give_each_offset_its_cap() {
        let p = Part::new(0, vec![(9, 3_000), (5, 0), (12, 7_000)]);
        let caps: Vec<Time> = (0..12).map(|o| p.region_cap(o)).collect();
        assert_eq!(
            caps,
            [
                0, 0, 0, 0, 0, 3_000, 3_000, 3_000, 3_000, 7_000, 7_000, 7_000
            ]
        );
        assert!(p.rebuilding());
    }
}
