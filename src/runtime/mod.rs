//! The runtime: how a feed becomes outputs on timely workers, offline or live.
//!
//! ```text
//!  source (file, memory) ──► replay ─┐                       ┌─► outputs (canonical frames,
//!                                    ├─► host: pipeline,     │    Parquet tables, summary)
//!  Kafka topic ──► live (reclock, ───┘   bookmaker, policies ┘
//!                  changelog, topics)        on each worker
//! ```
//!
//! [`host`] builds the pipeline on a worker and gathers its outputs on worker 0; it knows neither
//! of its callers. [`replay`] drives it from a recorded feed, [`live`] from a Kafka topic with
//! exactly-once results across crashes. Both take one [`config::RunConfig`], give records their
//! times by one [`clock`], and produce one [`outputs::Outputs`].

pub mod clock;
pub mod config;
pub mod host;
pub mod introspection;
pub mod live;
pub mod outputs;
pub mod replay;
pub mod source;

pub use config::RunConfig;
pub use outputs::{Change, Outputs, RunStats, Summary, write_outputs};
pub use replay::replay;
pub use source::{FeedOpener, file_feed, memory_feed};
