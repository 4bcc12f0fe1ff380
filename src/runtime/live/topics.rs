//! The Kafka side of a live run: the feed topic's partitions as a worker reads them (its
//! consumer and one [`Part`] per assigned partition, with the regions a restart rebuilds) and the
//! output topics worker 0 publishes each durable frame to.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer};
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;

use super::LiveConfig;
use crate::io::kafka;
use crate::runtime::clock::{Assigned, ClockGuard, GuardConfig, Reclock, Refusal};
use crate::runtime::host::Frame;

/// The consumer's context: reaching a partition's end is news (it arrives through `poll`), not
/// an error to log.
pub(super) struct FeedContext;

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

/// A worker's consumer of the feed topic.
pub(super) type FeedConsumer = BaseConsumer<FeedContext>;

/// The feed consumer, in `cfg`'s group: nothing committed or stored automatically (worker 0
/// commits the durable ends), partition ends reported through `poll`.
pub(super) fn consumer(cfg: &LiveConfig) -> Result<FeedConsumer> {
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

/// One assigned partition of a worker.
pub(super) struct Part {
    /// The partition.
    pub(super) id: i32,
    /// Rebuild regions from the changelog: `(end offset, cap)`, by end.
    regions: Vec<(i64, Time)>,
    /// The offset after the last region (0: nothing to rebuild).
    pub(super) rebuild_end: i64,
    /// The next offset to read.
    pub(super) next: i64,
    /// The largest event time read.
    pub(super) clock: Option<i64>,
    /// At the partition's end (since the last message), and since when.
    pub(super) eof: Option<Instant>,
    /// Read since the last entry, and how many late (live records only).
    pub(super) records: u64,
    /// (See [`Part::records`].)
    pub(super) late: u64,
    /// The partition end, as last fetched.
    pub(super) high: i64,
    /// The clock guard over the partition's live records, in offset order (rebuilt records only
    /// move its clock: their verdicts are in the changelog).
    pub(super) guard: ClockGuard<Pending>,
    /// The records the changelog says were refused as `future_ts`, by offset (a rebuild sends
    /// the same dead letters instead of judging again).
    pub(super) refused: BTreeMap<i64, Refusal>,
    /// The records this run refused since the partition's last reclock entry.
    pub(super) refused_now: Vec<Refusal>,
    /// The offsets the changelog's last entry says were held, undecided: a rebuild holds them
    /// again.
    pub(super) rehold: BTreeSet<i64>,
    /// The guard released records since the last entry without a read (the partition idle):
    /// the next entry must say what it holds now.
    pub(super) dirty: bool,
}

/// A live record a partition's clock guard holds: its feed position, line and offset.
pub(super) type Pending = (u64, String, i64);

impl Part {
    /// Partition `id`, to be rebuilt through `regions` (from the changelog's entries).
    pub(super) fn new(id: i32, mut regions: Vec<(i64, Time)>) -> Part {
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
            guard: ClockGuard::new(&GuardConfig::default()),
            refused: BTreeMap::new(),
            refused_now: Vec::new(),
            rehold: BTreeSet::new(),
            dirty: false,
        }
    }

    /// Whether the next offset is still in a rebuild region.
    pub(super) fn rebuilding(&self) -> bool {
        self.next < self.rebuild_end
    }

    /// The cap of the rebuild region holding `offset`.
    pub(super) fn region_cap(&self, offset: i64) -> Time {
        let i = self.regions.partition_point(|(end, _)| *end <= offset);
        self.regions.get(i).map_or(0, |(_, cap)| *cap)
    }

    /// What the changelog says the record at `offset` was given (`None`: past its last region,
    /// not yet assigned).
    pub(super) fn assigned(&self, offset: i64) -> Option<Assigned> {
        if offset >= self.rebuild_end {
            return None;
        }
        Some(match self.refused.get(&offset) {
            Some(r) => Assigned::Refused(*r),
            None => Assigned::Under(self.region_cap(offset)),
        })
    }

    /// Done rebuilding, and at the partition's end for `timeout` or longer.
    pub(super) fn idle(&self, now: Instant, timeout: Duration) -> bool {
        !self.rebuilding() && self.eof.is_some_and(|since| now - since >= timeout)
    }
}

/// One [`Part`] per partition the changelog's reclock `entries` name: its rebuild regions, the
/// records refused, what its guard held at its latest entry (held again by a rebuild, under the
/// guard settings `guard`).
pub(super) fn parts_from(entries: &[Reclock], guard: &GuardConfig) -> BTreeMap<i32, Part> {
    let mut regions: BTreeMap<i32, Vec<(i64, Time)>> = BTreeMap::new();
    let mut refused: BTreeMap<i32, BTreeMap<i64, Refusal>> = BTreeMap::new();
    // Each partition's latest entry: what its guard held then.
    let mut latest: BTreeMap<i32, (i64, Time, &[i64])> = BTreeMap::new();
    for e in entries {
        let l = latest.entry(e.partition).or_insert((e.end, e.cap, &e.held));
        if (e.end, e.cap) >= (l.0, l.1) {
            *l = (e.end, e.cap, &e.held);
        }
        regions.entry(e.partition).or_default().push((e.end, e.cap));
        refused
            .entry(e.partition)
            .or_default()
            .extend(e.refused.iter().map(|r| (r.offset, *r)));
    }
    regions
        .into_iter()
        .map(|(id, regions)| {
            let mut part = Part::new(id, regions);
            part.refused = refused.remove(&id).unwrap_or_default();
            part.guard = ClockGuard::new(guard);
            if let Some((_, _, held)) = latest.get(&id) {
                part.rehold = held.iter().copied().collect();
            }
            (id, part)
        })
        .collect()
}

/// Every partition of `topic` (which has `partitions`).
pub(super) fn all_partitions(topic: &str, partitions: i32) -> Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    Ok(tpl)
}

/// The `(partition, offset)` pairs of `tpl` (-1: no offset).
pub(super) fn offsets_of(tpl: &TopicPartitionList) -> Vec<(i32, i64)> {
    tpl.elements()
        .iter()
        .map(|e| (e.partition(), e.offset().to_raw().unwrap_or(-1)))
        .collect()
}

/// The output topics, written by worker 0 after each durable frame: one Kafka transaction per
/// frame (its changes and a marker on `<prefix>frames`) where the broker supports them, an
/// idempotent producer where it does not.
pub(super) struct OutputTopics {
    producer: kafka::FeedProducer,
    /// The broker took `init_transactions`: every frame is one transaction.
    transactional: bool,
    brokers: String,
    /// The run's id (from the changelog): the markers' key.
    run: String,
    features: String,
    bets: String,
    settlements: String,
    dead_letters: String,
    frames: String,
}

/// A frame's marker on `<prefix>frames`: frames up to `frame` of the run are on the topics.
#[derive(Serialize, Deserialize)]
struct Marker {
    frame: u64,
}

impl OutputTopics {
    /// A producer to `<prefix>features`, `<prefix>bets`, `<prefix>settlements`,
    /// `<prefix>dead-letters` and `<prefix>frames`, creating those topics if they are missing;
    /// transactional (id `oddsflow-<run>`, which fences a crashed run's producer and aborts its
    /// open transaction) unless the broker refuses.
    pub(super) fn new(cfg: &LiveConfig, prefix: &str, run: &str) -> Result<OutputTopics> {
        let (features, bets, settlements, dead_letters, frames) = (
            format!("{prefix}features"),
            format!("{prefix}bets"),
            format!("{prefix}settlements"),
            format!("{prefix}dead-letters"),
            format!("{prefix}frames"),
        );
        kafka::ensure_topics(
            &cfg.brokers,
            &[&features, &bets, &settlements, &dead_letters],
            4,
        )?;
        kafka::ensure_topics(&cfg.brokers, &[&frames], 1)?;
        let txn = kafka::transactional_producer(&cfg.brokers, &format!("oddsflow-{run}"))?;
        // Some brokers (tansu 0.6) take `init_transactions` but not `EndTxn`: a probe
        // transaction (a frame-0 marker, which says nothing) tells.
        let frames_topic = frames.clone();
        let probe = |p: &kafka::FeedProducer| -> Result<()> {
            p.init_transactions(Duration::from_secs(20))?;
            p.begin_transaction()?;
            let marker = serde_json::to_string(&Marker { frame: 0 })?;
            kafka::send(p, BaseRecord::to(&frames_topic).key(run).payload(&marker))?;
            kafka::commit_or_abort(p, Duration::from_secs(20))
        };
        let (producer, transactional) = match probe(&txn) {
            Ok(()) => (txn, true),
            Err(e) => {
                tracing::warn!(
                    "the broker does not take transactions ({e}): the output topics are written \
                     by an idempotent producer, so a crash may publish a frame twice; consumers \
                     drop the copies by their oddsflow-id header"
                );
                drop(txn);
                (kafka::producer(&cfg.brokers)?, false)
            }
        };
        Ok(OutputTopics {
            producer,
            transactional,
            brokers: cfg.brokers.clone(),
            run: run.to_string(),
            features,
            bets,
            settlements,
            dead_letters,
            frames,
        })
    }

    /// Whether each frame is published in a transaction.
    pub(super) fn transactional(&self) -> bool {
        self.transactional
    }

    /// The last frame of this run whose marker is on `<prefix>frames`, committed (0: none): a
    /// crash after a frame's transaction committed and before the changelog said so must not
    /// publish it again.
    pub(super) fn last_published(&self) -> Result<u64> {
        let consumer: BaseConsumer = kafka::client_config(&self.brokers)
            .set("group.id", format!("oddsflow-{}-markers", self.run))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("isolation.level", "read_committed")
            .create()
            .context("creating the consumer of the frame markers")?;
        let (low, high) = consumer
            .fetch_watermarks(&self.frames, 0, Duration::from_secs(10))
            .with_context(|| format!("reading the offsets of {}", self.frames))?;
        if high <= low {
            return Ok(0);
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.frames, 0, rdkafka::Offset::Beginning)?;
        consumer
            .assign(&tpl)
            .context("assigning the frame markers")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = 0;
        loop {
            if Instant::now() > deadline {
                anyhow::bail!("reading {} did not reach its end in 30 s", self.frames);
            }
            match consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Err(KafkaError::PartitionEOF(_))) => return Ok(last),
                Some(Err(e)) => tracing::warn!("reading the frame markers: {e}"),
                Some(Ok(m)) => {
                    if m.key() == Some(self.run.as_bytes())
                        && let Some(Ok(marker)) = m.payload().map(serde_json::from_slice::<Marker>)
                    {
                        last = last.max(marker.frame);
                    }
                    if m.offset() + 1 >= high {
                        return Ok(last);
                    }
                }
            }
        }
    }

    /// Publishes every change of frame `n`'s published tables and its marker, in one
    /// transaction (or, without transactions, waits for the acknowledgements).
    pub(super) fn publish(&self, n: u64, frame: &Frame) -> Result<()> {
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
        if self.transactional {
            p.begin_transaction()
                .context("beginning an output transaction")?;
        }
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
        let marker = serde_json::to_string(&Marker { frame: n })?;
        kafka::send(
            p,
            BaseRecord::to(&self.frames)
                .key(self.run.as_str())
                .payload(&marker),
        )?;
        super::crash::point("sent");
        if self.transactional {
            kafka::commit_or_abort(p, Duration::from_secs(60))
                .context("committing a frame's output transaction")?;
            kafka::delivered(p, "a frame's output messages")?;
        } else {
            kafka::flush(p, "a frame's output messages")?;
        }
        super::crash::point("published");
        Ok(())
    }
}
