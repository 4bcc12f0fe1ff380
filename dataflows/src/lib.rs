//! oddsflow's domain model and dataflow builders. No I/O: collections in, collections out.
//!
//! ```text
//!  feed items ─► ingest ─► keyed state ─► MatchState ─┬─► aggregates (per match & team, per player,
//!  (lines or      │                                   │     across matches: form, rates, ratings, Elo)
//!   records)      └─► dead letters, ignored           ├─► dominance (sliding windows of pressure)
//!                                                     ├─► availability (bettable now, prematch close)
//!                                                     ├─► features (one vector per live match, as deltas)
//!                                                     └─► policy runner (view → decisions) ─► bookmaker
//!                                                           (requests → acceptance → settlement, fed
//!                                                           back to the policies as rewards)
//! ```
//!
//! Beside the builders: [`policy`] (the interface every betting strategy implements, the view it
//! sees and the runner that calls it inside the dataflow), [`pricing`] (margin removal, the goal
//! grid, the in-play constants), [`settlement`] (the rules of every market), [`wire`] (the JSON
//! form) and [`reject`] (validation and dead letters).
//!
//! Timestamps are event time in UTC milliseconds, rounded down to the replay's granularity
//! (see [`Time`]).

pub mod aggregates;
pub mod availability;
pub mod bookmaker;
pub mod dominance;
pub mod features;
pub mod ingest;
pub mod model;
pub mod pipeline;
pub mod policy;
pub mod pricing;
pub mod ratings;
pub mod reject;
pub mod settlement;
pub mod wire;

/// The dataflow timestamp: event time in UTC milliseconds, rounded down to the runtime's
/// granularity (1 s by default), so that all records of one granule share a timestamp.
pub type Time = u64;

/// One change of a collection gathered outside the dataflow: data, time, diff.
pub type Change<D> = oddsflow_operators::Change<D, Time>;
