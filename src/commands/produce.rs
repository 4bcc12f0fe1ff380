//! `oddsflow produce`: publishes a recorded feed (or the embedded demo) to a Kafka topic.

use anyhow::Result;

use oddsflow_dataflows::ingest::Payload;

use crate::cli::ProduceArgs;

/// `oddsflow produce`: publishes a recorded feed to a topic.
pub(crate) fn run(a: ProduceArgs) -> Result<()> {
    use crate::io::kafka::{Pace, ensure_topics, produce};
    ensure_topics(&a.brokers, &[&a.topic], a.partitions)?;
    let pace = match a.speed {
        Some(x) if !a.max => Pace::Speed(x),
        _ => Pace::Max,
    };
    let items: Box<dyn Iterator<Item = Result<Payload>>> = match &a.feed {
        Some(path) => crate::io::kafka::read_items(path)?,
        None => Box::new(crate::assets::demo_items()?.into_iter().map(Ok)),
    };
    let stats = produce(items, &a.brokers, &a.topic, pace)?;
    println!(
        "produced {} records to {} in {:.2}s: {:.0} records/s",
        stats.records,
        a.topic,
        stats.elapsed_s,
        stats.records as f64 / stats.elapsed_s.max(1e-9)
    );
    Ok(())
}
