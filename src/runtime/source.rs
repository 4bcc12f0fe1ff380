//! Where a run reads its feed: one source abstraction for files and memory (Kafka is the live
//! runtime's own consumer).

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use oddsflow_dataflows::ingest::Payload;

/// Where a worker reads the feed from. Every worker opens its own reader over the whole feed.
pub type FeedOpener =
    Arc<dyn Fn() -> Result<Box<dyn Iterator<Item = Result<Payload>>>> + Send + Sync>;

/// A feed file (`.jsonl`, `.jsonl.gz`, `.parquet`).
pub fn file_feed(path: &Path) -> FeedOpener {
    let path = path.to_path_buf();
    Arc::new(move || {
        let reader = crate::io::feed::read_feed(&path)?;
        Ok(Box::new(reader) as Box<dyn Iterator<Item = Result<Payload>>>)
    })
}

/// An in-memory feed (tests, benchmarks).
pub fn memory_feed(items: Vec<Payload>) -> FeedOpener {
    let items = Arc::new(items);
    Arc::new(move || {
        let items = items.clone();
        Ok(
            Box::new((0..items.len()).map(move |i| Ok(items[i].clone())))
                as Box<dyn Iterator<Item = Result<Payload>>>,
        )
    })
}
