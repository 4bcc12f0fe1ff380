//! What each timely worker of a live run does, in order:
//!
//! 1. [`restore`] (in `start`): worker 0 opens the changelog and publishes the durable frames a
//!    crash kept off the output topics; every worker learns the recovery state (a closed run
//!    ends here);
//! 2. [`Live::start`]: the hosted pipeline and the status dataflow are built, and the worker's
//!    partitions (`p mod workers`) assigned from their beginnings, with their rebuild regions;
//! 3. [`Live::round`], until the input is closed and the outputs complete: read a batch
//!    ([`Live::read_batch`]), raise the capability ([`Live::raise_capability`]), step the
//!    dataflows, and on worker 0 write a durable frame ([`write_durable`]); the partition ends
//!    and the shared [`Status`] are refreshed now and then ([`Live::report`]);
//! 4. [`Live::finish`]: the last statuses are exchanged, and worker 0 writes the final frame,
//!    commits, publishes, and assembles the outputs.
//!
//! Every worker builds the same dataflows in the same order (timely requires it); only worker 0
//! touches the changelog and the output topics.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::probe::Handle as ProbeHandle;

use oddsflow_dataflows::Time;
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::wire::peek_ts;

use super::changelog::{Changelog, LogLine, Recovery};
use super::start::{Restored, Status, assign_partitions, restore, status_dataflow};
use super::topics::{FeedConsumer, OutputTopics, Part, consumer};
use super::{LiveConfig, LiveStats, assemble};
use crate::io::kafka;
use crate::policy::Truth;
use crate::runtime::clock::{
    Assigned, GuardConfig, Reclock, Refusal, Verdict, frontier_for, future_ts, future_wall_ts,
    refusal_letter, time_for,
};
use crate::runtime::host::{Fed, Feeder, Frame, Gathered, Hosted, host};
use crate::runtime::outputs::Outputs;

/// Runs one worker of [`super::run_live`]: the outputs and the stats on worker 0 (once the run
/// is complete), `None` elsewhere and when stopped.
pub(super) fn live_worker(
    worker: &mut timely::worker::Worker,
    cfg: &LiveConfig,
    truth: Option<&Arc<Truth>>,
) -> Result<Option<(Outputs, LiveStats)>> {
    let started = Instant::now();
    let Restored {
        log,
        recovery,
        sinks,
    } = restore(worker, cfg, truth)?;
    if recovery.closed {
        // The run is complete: its outputs are all in the changelog.
        if let Some(log) = log {
            drop(log);
            let outputs = assemble(&cfg.out, &cfg.run)?;
            return Ok(Some((outputs, LiveStats::default())));
        }
        return Ok(None);
    }
    let mut live = Live::start(worker, cfg, truth, started, &recovery, log, sinks)?;
    loop {
        match live.round(worker)? {
            Round::More => {}
            Round::Done => break,
            Round::Stopped => return Ok(None),
        }
    }
    live.finish(worker)
}

/// What one round of the loop leaves to do.
enum Round {
    /// Go on.
    More,
    /// The input is closed and every output is out: finish.
    Done,
    /// [`LiveConfig::stop`] was set: end where it is.
    Stopped,
}

/// One worker's live run once started: its dataflows, consumer and partitions, and the loop's
/// state. (The resources drop in the order of the fields, as the locals of the single function
/// this was did.)
struct Live<'a> {
    cfg: &'a LiveConfig,
    index: usize,
    peers: usize,
    started: Instant,
    granularity: Time,
    /// The durable frontier this run started from: no live record is sent before it.
    floor: Time,
    idle_timeout: Duration,
    /// Worker 0 prints a progress line (`rc.progress`).
    progress: bool,

    /// This worker's partitions, and where each partition id sits in `parts`.
    slot: BTreeMap<i32, usize>,
    parts: Vec<Part>,
    partitions: i32,
    consumer: FeedConsumer,
    status_probe: ProbeHandle<u64>,
    status_in: InputHandleVec<u64, Status>,
    statuses: Rc<RefCell<BTreeMap<usize, Status>>>,
    probe: ProbeHandle<Time>,
    gathered: Gathered,
    feeder: Feeder,
    /// Worker 0's output topics (if any) and changelog.
    sinks: Option<OutputTopics>,
    log: Option<Changelog>,

    /// This worker's capability, as last downgraded (live records go at `cap.max(floor)` or later).
    cap: Time,
    /// Records read by this worker, and how many of them were rebuilt.
    read: u64,
    rebuilt: u64,
    /// The largest total lag (over all workers) seen.
    max_lag: i64,
    /// Seconds from the start to this worker's last record.
    last_read_s: f64,
    /// When the capability, the status, the partition ends, the changelog and the progress line
    /// were last brought up to date.
    last_downgrade: Instant,
    last_status: Instant,
    last_watermarks: Instant,
    last_frame: Instant,
    last_progress: Instant,
    /// Durable frames this run wrote (worker 0), the final one not included.
    frames: u64,
    /// Worker 0 of a restart: what the changelog holds (every output before the durable point
    /// this run started from, reclock entries aside), which the rebuilt outputs must equal.
    expected: Option<Frame>,
}

impl<'a> Live<'a> {
    /// Builds the hosted pipeline and the status dataflow on `worker`, then assigns its
    /// partitions (from the beginning, to rebuild what `recovery` covers).
    fn start(
        worker: &mut timely::worker::Worker,
        cfg: &'a LiveConfig,
        truth: Option<&Arc<Truth>>,
        started: Instant,
        recovery: &Recovery,
        log: Option<Changelog>,
        sinks: Option<OutputTopics>,
    ) -> Result<Live<'a>> {
        let (index, peers) = (worker.index(), worker.peers());
        let rc = &cfg.run;
        let d_start = recovery.durable;

        let Hosted {
            mut feeder,
            gathered,
            probe,
            ..
        } = host(worker, rc, truth)?;
        feeder.downgrade(0);
        let (statuses, status_in, status_probe) = status_dataflow(worker);

        let consumer = consumer(cfg)?;
        let (partitions, parts, slot) =
            assign_partitions(cfg, &consumer, recovery, (index, peers))?;

        // A restart's rebuilt outputs are checked against the changelog (worker 0).
        let expected = match (&log, d_start) {
            (Some(_), d) if d > 0 => Some(changelog_content(&cfg.out)?),
            _ => None,
        };
        let mut live = Live {
            cfg,
            index,
            peers,
            started,
            granularity: rc.granularity_ms.max(1),
            floor: d_start,
            idle_timeout: Duration::from_millis(cfg.idle_timeout_ms),
            progress: index == 0 && rc.progress,
            slot,
            parts,
            partitions,
            consumer,
            status_probe,
            status_in,
            statuses,
            probe,
            gathered,
            feeder,
            sinks,
            log,
            cap: 0,
            read: 0,
            rebuilt: 0,
            max_lag: 0,
            last_read_s: 0.0,
            last_downgrade: Instant::now(),
            last_status: Instant::now() - Duration::from_secs(1),
            last_watermarks: Instant::now() - Duration::from_secs(1),
            last_frame: Instant::now(),
            last_progress: Instant::now(),
            frames: 0,
            expected,
        };
        if live.parts.is_empty() {
            live.feeder.close();
        }
        Ok(live)
    }

    /// One round of the loop: read, raise the capability, step, write a durable frame (worker
    /// 0), refresh the partition ends and the statuses, close the input once all is idle.
    fn round(&mut self, worker: &mut timely::worker::Worker) -> Result<Round> {
        let now = Instant::now();
        // Read what is there (at most a batch), waiting a little when nothing is.
        if self.feeder.time().is_some() {
            self.read_batch(now);
            self.release_held(Some((now, self.idle_timeout)));
        }

        // The frontier this worker's partitions allow.
        let now = Instant::now();
        let own_watermark = self.raise_capability(now);
        self.feeder.flush();
        worker.step();
        // Flow control: do not run more than a minute of event time ahead of the outputs.
        let behind = self.cap.saturating_sub(60_000);
        while self.probe.less_than(&behind) {
            worker.step();
        }

        // Worker 0: a durable frame of what the output frontier has passed.
        if let Some(log) = &mut self.log
            && now - self.last_frame >= Duration::from_millis(self.cfg.frame_interval_ms)
        {
            self.last_frame = now;
            self.frames += write_durable(
                log,
                &self.gathered,
                &self.probe,
                &self.consumer,
                self.cfg,
                self.partitions,
                self.sinks.as_ref(),
                &mut self.expected,
            )?;
        }

        if now - self.last_watermarks >= Duration::from_secs(1) {
            self.last_watermarks = now;
            for p in &mut self.parts {
                if let Ok((_, high)) = self.consumer.fetch_watermarks(
                    &self.cfg.topic,
                    p.id,
                    Duration::from_millis(500),
                ) {
                    p.high = high;
                }
            }
        }
        self.report(now, own_watermark);

        if let Some(ms) = self.cfg.exit_when_idle_ms
            && self.feeder.time().is_some()
            && self
                .parts
                .iter()
                .all(|p| p.idle(now, Duration::from_millis(ms)))
        {
            self.release_held(None);
            self.emit(self.cap);
            self.feeder.close();
        }
        if self.feeder.time().is_none() && self.probe.done() {
            return Ok(Round::Done);
        }
        if self
            .cfg
            .stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Ok(Round::Stopped);
        }
        Ok(Round::More)
    }

    /// Polls up to a batch of records (waiting a little for the first) and gives each to the
    /// feeder: a rebuilt one at the time its region had, a live one at its event time or the
    /// capability.
    fn read_batch(&mut self, now: Instant) {
        let (cap, floor, granularity) = (self.cap, self.floor, self.granularity);
        let wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let max_wall_ahead = self
            .cfg
            .run
            .clock
            .max_wall_ahead_ms
            .min(i64::MAX as u64 / 4) as i64;
        let mut got = 0;
        while got < 4096 {
            let timeout = if got == 0 {
                Duration::from_millis(5)
            } else {
                Duration::ZERO
            };
            match self.consumer.poll(timeout) {
                None => break,
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    if let Some(&i) = self.slot.get(&p) {
                        self.parts[i].eof.get_or_insert(now);
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!("Kafka consumer: {e}");
                    break;
                }
                Some(Ok(m)) => {
                    got += 1;
                    self.read += 1;
                    self.last_read_s = self.started.elapsed().as_secs_f64();
                    let Some(&i) = self.slot.get(&m.partition()) else {
                        continue;
                    };
                    let part = &mut self.parts[i];
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
                    part.next = offset + 1;
                    part.eof = None;
                    if let Some(assigned) = part.assigned(offset) {
                        // Rebuilt: the first run's verdict, at the time it had.
                        self.rebuilt += 1;
                        let cap = match assigned {
                            Assigned::Refused(r) => {
                                let item = Payload::Line(line);
                                let cfg = &self.cfg.run.clock;
                                let letter = refusal_letter(&r, seq, item, ts, cfg);
                                self.feeder.give(r.at, Fed::Refused(letter));
                                continue;
                            }
                            Assigned::Under(cap) => cap,
                        };
                        if part.rehold.contains(&offset) {
                            // Undecided when the run stopped: judged again from here.
                            part.guard.push(ts, (seq, line, offset));
                            let cfg = &self.cfg.run.clock;
                            send_verdicts(part, &mut self.feeder, cap, granularity, cfg);
                            continue;
                        }
                        let time = time_for(ts, cap, granularity).0;
                        if let Some(ts) = ts {
                            part.clock = Some(part.clock.map_or(ts, |c| c.max(ts)));
                            part.guard.observe(ts);
                        }
                        self.feeder
                            .give(time, Fed::Item((seq, Payload::Line(line))));
                        continue;
                    }
                    part.records += 1;
                    let under = cap.max(floor);
                    // Far ahead of the wall clock: refused when read.
                    if let Some(ts) = ts.filter(|t| t.saturating_sub(wall_ms) > max_wall_ahead) {
                        part.refused_now.push(Refusal {
                            offset,
                            at: under,
                            wall: true,
                        });
                        let letter = future_wall_ts(seq, line, ts, &self.cfg.run.clock);
                        self.feeder.give(under, Fed::Refused(letter));
                        continue;
                    }
                    part.guard.push(ts, (seq, line, offset));
                    send_verdicts(
                        part,
                        &mut self.feeder,
                        under,
                        self.granularity,
                        &self.cfg.run.clock,
                    );
                }
            }
        }
    }

    /// Sends what the clock guards of `parts` (all when `None`) hold: at the end of the input,
    /// or once a partition is idle (so that a partition's last records never wait for records
    /// that may not come, and never hold back the capability).
    fn release_held(&mut self, idle_since: Option<(Instant, Duration)>) {
        let under = self.cap.max(self.floor);
        for part in &mut self.parts {
            if part.guard.earliest_held().is_none()
                || idle_since.is_some_and(|(now, t)| !part.idle(now, t))
            {
                continue;
            }
            part.guard.finish();
            part.dirty = true;
            send_verdicts(
                part,
                &mut self.feeder,
                under,
                self.granularity,
                &self.cfg.run.clock,
            );
        }
    }

    /// Raises the capability to what this worker's partitions allow (the smallest watermark of
    /// those not idle; with all idle, the largest of any worker's), at most every 10 ms unless
    /// 4096 items wait, sending the reclock entries first. Returns this worker's own (largest)
    /// watermark.
    fn raise_capability(&mut self, now: Instant) -> Time {
        let (rc, granularity, floor) = (&self.cfg.run, self.granularity, self.floor);
        let (index, idle_timeout, cap) = (self.index, self.idle_timeout, self.cap);
        let others = self
            .statuses
            .borrow()
            .values()
            .filter(|s| s.worker != index)
            .map(|s| s.watermark)
            .max()
            .unwrap_or(0);
        let own_watermark = self
            .parts
            .iter()
            .filter_map(|p| p.clock)
            .map(|c| frontier_for(c, rc.lateness_ms, granularity))
            .max()
            .unwrap_or(0);
        let bound = self
            .parts
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
        // Never past a held record: released, it goes at its own time.
        let bound = match self
            .parts
            .iter()
            .filter_map(|p| p.guard.earliest_held())
            .min()
        {
            Some(t) => bound.min(frontier_for(t, 0, granularity).max(floor)),
            None => bound,
        };
        if self.feeder.time().is_some()
            && bound > cap
            && (now - self.last_downgrade >= Duration::from_millis(10)
                || self.feeder.pending() >= 4096)
        {
            self.emit(cap);
            self.cap = bound;
            self.feeder.downgrade(self.cap);
            self.last_downgrade = now;
        }
        own_watermark
    }

    /// Emits one entry per partition read from under `cap_now` (each at its effective cap).
    fn emit(&mut self, cap_now: Time) {
        for p in self
            .parts
            .iter_mut()
            .filter(|p| p.records > 0 || !p.refused_now.is_empty() || p.dirty)
        {
            p.dirty = false;
            let eff = cap_now.max(self.floor);
            self.feeder.give(
                eff,
                Fed::Reclock(Reclock {
                    partition: p.id,
                    end: p.next,
                    cap: eff,
                    records: p.records,
                    late: p.late,
                    refused: std::mem::take(&mut p.refused_now),
                    held: p.guard.held_items().map(|(_, _, offset)| *offset).collect(),
                }),
            );
            p.records = 0;
            p.late = 0;
        }
    }

    /// Every 100 ms: sends this worker's [`Status`], notes the total lag, and (worker 0, with
    /// `progress`, every second) prints the progress line.
    fn report(&mut self, now: Instant, own_watermark: Time) {
        if now - self.last_status >= Duration::from_millis(100) {
            self.last_status = now;
            let lag = self.parts.iter().map(|p| (p.high - p.next).max(0)).sum();
            self.status_in.send(Status {
                worker: self.index,
                records: self.read,
                last_read_s: self.last_read_s,
                rebuilt: self.rebuilt,
                lag,
                watermark: own_watermark,
                capability: self.cap,
            });
            self.status_in.flush();
            let total_lag: i64 = self.statuses.borrow().values().map(|s| s.lag).sum();
            self.max_lag = self.max_lag.max(total_lag);
            if self.progress && now - self.last_progress >= Duration::from_secs(1) {
                self.last_progress = now;
                let st = self.statuses.borrow();
                let records: u64 = st.values().map(|s| s.records).sum();
                let frontier = self
                    .probe
                    .with_frontier(|f| f.iter().min().copied().unwrap_or(0));
                let secs = self.started.elapsed().as_secs_f64().max(1e-9);
                let frames = self.frames;
                eprintln!(
                    "live: {records} records read ({:.0}/s), lag {total_lag} records, outputs complete to {}, durable to {}, {frames} frames",
                    records as f64 / secs,
                    crate::time::format_time(frontier),
                    crate::time::format_time(self.log.as_ref().map_or(0, |l| l.durable)),
                );
            }
        }
    }

    /// The end: exchanges the last statuses, then worker 0 writes the final frame (everything
    /// else), commits, publishes it, and assembles the outputs and the stats.
    fn finish(
        mut self,
        worker: &mut timely::worker::Worker,
    ) -> Result<Option<(Outputs, LiveStats)>> {
        self.status_in.send(Status {
            worker: self.index,
            records: self.read,
            last_read_s: self.last_read_s,
            rebuilt: self.rebuilt,
            lag: 0,
            watermark: 0,
            capability: self.cap,
        });
        drop(self.status_in);
        while !self.status_probe.done() {
            worker.step();
        }
        let read: u64 = self.statuses.borrow().values().map(|s| s.records).sum();
        let rebuilt: u64 = self.statuses.borrow().values().map(|s| s.rebuilt).sum();
        let last_read_s = self
            .statuses
            .borrow()
            .values()
            .map(|s| s.last_read_s)
            .fold(0.0, f64::max);
        let Some(mut log) = self.log else {
            return Ok(None);
        };
        // The final frame: everything else.
        let mut rest = self.gathered.drain(None);
        check_rebuilt(&mut rest, log.durable, &mut self.expected)?;
        rest.retain_from(log.durable);
        let n = log.write_frame(None, &rest)?;
        // Waits for the broker: the process may end right after.
        let sinks = self.sinks.as_ref();
        let (cfg, partitions) = (self.cfg, self.partitions);
        after_frame(
            &mut log,
            n,
            &rest,
            &self.consumer,
            cfg,
            partitions,
            sinks,
            CommitMode::Sync,
        )?;
        drop(log);
        let elapsed = self.started.elapsed().as_secs_f64();
        let outputs = assemble(&self.cfg.out, &self.cfg.run)?;
        let stats = LiveStats {
            workers: self.peers,
            elapsed_s: elapsed,
            records_per_s: read as f64 / elapsed.max(1e-9),
            records_read: read,
            last_read_s,
            records_rebuilt: rebuilt,
            resumed_from: self.floor,
            max_lag: self.max_lag,
            frames: self.frames + 1,
        };
        Ok(Some((outputs, stats)))
    }
}

/// Worker 0: writes a frame of every output before the output frontier (if it moved), then
/// commits the offsets the changelog now covers and publishes the frame. Returns the frames
/// written (0 or 1).
#[allow(clippy::too_many_arguments)]
fn write_durable(
    log: &mut Changelog,
    gathered: &Gathered,
    probe: &ProbeHandle<Time>,
    consumer: &FeedConsumer,
    cfg: &LiveConfig,
    partitions: i32,
    sinks: Option<&OutputTopics>,
    expected: &mut Option<Frame>,
) -> Result<u64> {
    let Some(upto) = probe.with_frontier(|f| f.iter().min().copied()) else {
        return Ok(0); // done: the final frame is written at the end
    };
    if upto <= log.durable {
        return Ok(0);
    }
    // Outputs before the durable frontier this run started from are already in the changelog:
    // rebuilt, they must be what it holds (checked once, as the outputs pass that point).
    let mut frame = gathered.drain(Some(upto));
    check_rebuilt(&mut frame, log.durable, expected)?;
    frame.retain_from(log.durable);
    let n = log.write_frame(Some(upto), &frame)?;
    after_frame(
        log,
        n,
        &frame,
        consumer,
        cfg,
        partitions,
        sinks,
        CommitMode::Async,
    )?;
    Ok(1)
}

/// What follows frame `n`'s fsync, in this order: the offsets it covers committed, the frame
/// published, the changelog told so. A crash between any two steps is recovered by the restart
/// ([`super::crash`] names the points).
#[allow(clippy::too_many_arguments)]
fn after_frame(
    log: &mut Changelog,
    n: u64,
    frame: &Frame,
    consumer: &FeedConsumer,
    cfg: &LiveConfig,
    partitions: i32,
    sinks: Option<&OutputTopics>,
    mode: CommitMode,
) -> Result<()> {
    super::crash::point("durable");
    commit(log, consumer, cfg, partitions, mode)?;
    super::crash::point("committed");
    if let Some(s) = sinks {
        s.publish(n, frame)?;
        log.append(&LogLine::Published { n })?;
        log.published = n;
    }
    super::crash::point("frame");
    Ok(())
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

/// Gives the verdicts `part`'s clock guard has reached to `feeder` under the cap `under`: a
/// passed record at its event time or `under` (late), which then moves the partition's clock; a
/// refused one as a `future_ts` dead letter at `under`, noted for the partition's next entry.
fn send_verdicts(
    part: &mut Part,
    feeder: &mut Feeder,
    under: Time,
    granularity: Time,
    cfg: &GuardConfig,
) {
    for v in part.guard.drain() {
        match v {
            Verdict::Pass(ts, (seq, line, _)) => {
                let (t, late) = time_for(ts, under, granularity);
                part.late += late as u64;
                if let Some(ts) = ts {
                    part.clock = Some(part.clock.map_or(ts, |c| c.max(ts)));
                }
                feeder.give(t, Fed::Item((seq, Payload::Line(line))));
            }
            Verdict::Future((seq, line, offset), ts) => {
                part.refused_now.push(Refusal {
                    offset,
                    at: under,
                    wall: false,
                });
                feeder.give(
                    under,
                    Fed::Refused(future_ts(seq, Payload::Line(line), ts, cfg)),
                );
            }
        }
    }
}

/// Every output change the changelog in `dir` holds, consolidated, reclock entries aside (a
/// rebuild does not send them again).
fn changelog_content(dir: &std::path::Path) -> Result<Frame> {
    let mut all = Frame::default();
    for (_, f) in Changelog::frames_after(dir, 0)? {
        all.append(f);
    }
    all.reclock.clear();
    all.consolidate();
    Ok(all)
}

/// A restart's first frame past the durable point it started from: the rebuilt outputs before
/// that point (taken out of `frame`) must equal the changelog's, or the run stops with an error
/// naming the table — a restart that does not reproduce what was made durable is a bug, never
/// silently dropped.
pub(super) fn check_rebuilt(
    frame: &mut Frame,
    durable: Time,
    expected: &mut Option<Frame>,
) -> Result<()> {
    let Some(want) = expected.take() else {
        return Ok(());
    };
    let mut rebuilt = frame.split_before(durable);
    rebuilt.reclock.clear();
    rebuilt.consolidate();
    if let Some(d) = rebuilt.first_difference(&want) {
        anyhow::bail!(
            "the restart rebuilt other outputs than the changelog holds before its durable point \
             {}: {d}",
            crate::time::format_time(durable)
        );
    }
    Ok(())
}
