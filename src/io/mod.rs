//! Bytes in and out: feed codecs (JSON lines, gzip, bzip2, Parquet), the Parquet change tables
//! and JSON-lines tables the outputs are written as, and the Kafka plumbing (`produce`, topics).

pub mod feed;
pub mod kafka;
pub mod table;
