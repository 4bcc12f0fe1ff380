//! Kafka plumbing over rdkafka (librdkafka): client settings, topic creation, publishing a
//! recorded feed (`oddsflow produce`) and the output topics of the live runtime.
//!
//! **Feed topic.** One message per feed item: key = the match id (decimal text; items without a
//! readable match id have no key), value = the JSON line of the wire form (Parquet records are
//! written as JSON lines), header `oddsflow-seq` = the item's position in the recorded file. The
//! key puts every record of a match on one partition, in feed order.
//!
//! **Output topics** (`<prefix>features`, `<prefix>bets`, `<prefix>settlements`,
//! `<prefix>dead-letters`): one message per change, keyed by match (bets and settlements by bet
//! id), value `{"time": T, "diff": D, "data": …}`, so that a consumer can rebuild each
//! collection by summing diffs. Headers `oddsflow-time` and `oddsflow-id` (`time:ordinal`, unique
//! and the same in every run) identify each change. Each durable frame is published in one Kafka
//! transaction, with a marker `{"frame": n}` on `<prefix>frames` (keyed by the run), so that a
//! consumer reading `read_committed` sees every change exactly once, and a restart knows which
//! frames are out. A broker without transactions gets the same messages from an idempotent
//! producer (a warning says so): a crash may then publish a frame twice, and consumers drop the
//! copies by `oddsflow-id`.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde::Deserialize;

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::wire::{peek_ts, to_json_line};

/// The header carrying a feed item's position in the recorded file.
pub(crate) const SEQ_HEADER: &str = "oddsflow-seq";

/// Settings shared by every client: the bootstrap servers, and nothing that a real broker and
/// librdkafka's mock cluster would answer differently.
pub fn client_config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("socket.timeout.ms", "10000")
        .set("log_level", "4");
    c
}

/// A producer's context: counts the messages the broker did not take, so that a flush can
/// tell success from silent loss.
#[derive(Default)]
pub(crate) struct Deliveries {
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl rdkafka::ClientContext for Deliveries {}

impl rdkafka::producer::ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.first_error.lock() {
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// A producer that counts undelivered messages ([`Deliveries`]).
pub(crate) type FeedProducer = BaseProducer<Deliveries>;

/// A producer for the feed or the output topics: idempotent (no duplicates from its own
/// retries), acknowledged by all in-sync replicas.
pub(crate) fn producer(brokers: &str) -> Result<FeedProducer> {
    producer_config(brokers)
        .create_with_context(Deliveries::default())
        .context("creating a Kafka producer")
}

/// The settings of every producer: idempotent, acknowledged by all in-sync replicas.
fn producer_config(brokers: &str) -> ClientConfig {
    let mut c = client_config(brokers);
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "60000");
    c
}

/// A transactional producer (`transactional.id` = `id`, which fences any earlier producer of
/// the same id once its transactions are initialised); otherwise as [`producer`].
pub(crate) fn transactional_producer(brokers: &str, id: &str) -> Result<FeedProducer> {
    producer_config(brokers)
        .set("transactional.id", id)
        .set("transaction.timeout.ms", "60000")
        .create_with_context(Deliveries::default())
        .context("creating a transactional Kafka producer")
}

/// Commits `producer`'s open transaction, or aborts it if the commit fails.
pub(crate) fn commit_or_abort(producer: &FeedProducer, timeout: Duration) -> Result<()> {
    if let Err(e) = producer.commit_transaction(timeout) {
        let _ = producer.abort_transaction(timeout);
        return Err(e).context("committing a Kafka transaction");
    }
    Ok(())
}

/// Waits until every message sent so far is acknowledged; an error if any was not.
pub(crate) fn flush(producer: &FeedProducer, what: &str) -> Result<()> {
    producer
        .flush(Duration::from_secs(60))
        .with_context(|| format!("waiting for the broker to acknowledge {what}"))?;
    delivered(producer, what)
}

/// An error if the broker refused any message `producer` sent (once they are all answered).
pub(crate) fn delivered(producer: &FeedProducer, what: &str) -> Result<()> {
    let c = producer.context();
    let failed = c.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let first = c.first_error.lock().ok().and_then(|f| f.clone());
        bail!(
            "{failed} messages of {what} were not delivered (first error: {})",
            first.unwrap_or_default()
        );
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a tokio runtime")
}

/// Creates `topics` with `partitions` partitions each where they do not exist yet.
pub fn ensure_topics(brokers: &str, topics: &[&str], partitions: i32) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(brokers)
        .create()
        .context("creating a Kafka admin client")?;
    let md = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .context("reading the cluster's metadata")?;
    let exists = |t: &str| {
        md.topics()
            .iter()
            .any(|m| m.name() == t && m.error().is_none() && !m.partitions().is_empty())
    };
    let new: Vec<NewTopic> = topics
        .iter()
        .filter(|t| !exists(t))
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = runtime()?
        .block_on(admin.create_topics(new.iter(), &opts))
        .context("creating topics")?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => bail!("creating topic {topic}: {code}"),
        }
    }
    Ok(())
}

/// The number of partitions of `topic`, waiting up to `timeout` for it to exist.
pub(crate) fn partition_count(
    client: &rdkafka::client::Client<impl rdkafka::ClientContext>,
    topic: &str,
    timeout: Duration,
) -> Result<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        let md = client
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .with_context(|| format!("reading the metadata of topic {topic}"))?;
        if let Some(t) = md.topics().iter().find(|t| t.name() == topic)
            && t.error().is_none()
            && !t.partitions().is_empty()
        {
            return Ok(t.partitions().len() as i32);
        }
        if Instant::now() >= deadline {
            bail!("topic {topic} does not exist (create it, or run `oddsflow produce` first)");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How `produce` paces the feed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as the broker takes it.
    Max,
    /// Event time × `speed`: an item `d` ms of event time after the first is sent `d / speed` ms
    /// after the start.
    Speed(f64),
}

/// What [`produce`] published.
#[derive(Clone, Debug, Default)]
pub struct ProduceStats {
    /// Feed items sent (and acknowledged).
    pub records: u64,
    /// Seconds from the start to the last acknowledgement.
    pub elapsed_s: f64,
}

/// Publishes the feed items of `items` to `topic` (see the module docs for the message form),
/// then waits until the broker has acknowledged every one.
pub fn produce(
    items: impl Iterator<Item = Result<Payload>>,
    brokers: &str,
    topic: &str,
    pace: Pace,
) -> Result<ProduceStats> {
    #[derive(Deserialize)]
    struct MatchOnly {
        #[serde(rename = "match")]
        m: Option<serde_json::Value>,
    }
    let producer = producer(brokers)?;
    let started = Instant::now();
    let mut first_ts: Option<i64> = None;
    let mut records = 0u64;
    for (seq, item) in items.enumerate() {
        let item = item.with_context(|| format!("reading feed item {seq}"))?;
        let line = match item {
            Payload::Line(l) => l,
            Payload::Decoded(r) => to_json_line(&r),
        };
        if let Pace::Speed(speed) = pace
            && let Some(ts) = peek_ts(&line)
        {
            let t0 = *first_ts.get_or_insert(ts);
            let due = Duration::from_secs_f64(((ts - t0).max(0) as f64 / speed.max(1e-9)) / 1e3);
            let now = started.elapsed();
            if due > now {
                flush(&producer, "the feed")?;
                std::thread::sleep(due - now);
            }
        }
        let key = serde_json::from_str::<MatchOnly>(&line)
            .ok()
            .and_then(|m| m.m)
            .map(|v| v.to_string());
        let seq_text = seq.to_string();
        let headers = OwnedHeaders::new().insert(Header {
            key: SEQ_HEADER,
            value: Some(seq_text.as_str()),
        });
        let mut record = BaseRecord::<String, String>::to(topic)
            .payload(&line)
            .headers(headers);
        if let Some(k) = &key {
            record = record.key(k);
        }
        send(&producer, record)?;
        records += 1;
    }
    flush(&producer, "the feed")?;
    Ok(ProduceStats {
        records,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

/// Sends `record`, waiting (polling for delivery reports) while the local queue is full.
pub(crate) fn send<K, P>(producer: &FeedProducer, mut record: BaseRecord<'_, K, P>) -> Result<()>
where
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
{
    loop {
        match producer.send(record) {
            Ok(()) => {
                producer.poll(Duration::ZERO);
                return Ok(());
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                producer.poll(Duration::from_millis(10));
            }
            Err((e, _)) => return Err(anyhow!("producing to Kafka: {e}")),
        }
    }
}

/// Reads a feed file's items (for `produce`).
pub(crate) fn read_items(path: &Path) -> Result<Box<dyn Iterator<Item = Result<Payload>>>> {
    Ok(Box::new(crate::io::feed::read_feed(path)?))
}
