//! The Kafka side of a live run: the feed topic's partitions as a worker reads them (its
//! consumer and one [`Part`] per assigned partition, with the regions a restart rebuilds) and the
//! output topics worker 0 publishes each durable frame to.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::TopicPartitionList;
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::BaseRecord;
use serde::Serialize;

use oddsflow_dataflows::Time;

use super::LiveConfig;
use crate::io::kafka;
use crate::runtime::clock::{ClockGuard, GuardConfig, Refusal};
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

    /// Done rebuilding, and at the partition's end for `timeout` or longer.
    pub(super) fn idle(&self, now: Instant, timeout: Duration) -> bool {
        !self.rebuilding() && self.eof.is_some_and(|since| now - since >= timeout)
    }
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

/// The output topics, written by worker 0 after each durable frame.
pub(super) struct OutputTopics {
    producer: kafka::FeedProducer,
    features: String,
    bets: String,
    settlements: String,
    dead_letters: String,
}

impl OutputTopics {
    /// A producer to `<prefix>features`, `<prefix>bets`, `<prefix>settlements` and
    /// `<prefix>dead-letters`, creating those topics if they are missing.
    pub(super) fn new(cfg: &LiveConfig, prefix: &str) -> Result<OutputTopics> {
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
    pub(super) fn publish(&self, frame: &Frame) -> Result<()> {
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
