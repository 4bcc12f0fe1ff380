//! oddsflow's domain model and dataflow builders. No I/O: collections in, collections out.
//!
//! ```text
//!  feed items ─► ingest ─► keyed state ─► MatchState (fixtures, lineups, statuses, incidents,
//!  (lines or      │                        markets, odds, results, abandonments)
//!   records)      └─► dead letters, ignored                │
//!                                                          ▼
//!                                                     aggregates: per match & team, per player,
//!                                                     across matches (form, rates, ratings, Elo)
//! ```
//!
//! Timestamps are event time in UTC milliseconds, rounded down to the replay's granularity
//! (see [`Time`]).

pub mod aggregates;
pub mod ingest;
pub mod model;
pub mod ratings;
pub mod reject;
pub mod wire;

/// The dataflow timestamp: event time in UTC milliseconds, rounded down to the runtime's
/// granularity (1 s by default), so that all records of one granule share a timestamp.
pub type Time = u64;
