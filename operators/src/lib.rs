//! Generic timely / differential operators used by oddsflow's dataflows. Nothing here knows about
//! football.
//!
//! ```text
//!  stream of D ──map_fallible──► (oks, errs)                      fallible.rs
//!  stream of (K, version, V) ──upsert_by_version──► collection of (K, V) + ignored   upsert.rs
//!  stream of D ──require_parent──► (known, orphans)               gate.rs
//!  queries (K, Q) ──lookup_as_of(collection of (K, V))──► (K, Q, values as of t)   lookup.rs
//!  events by time ──sliding_window──► collection with bucketed expiries  window.rs
//!  stream ──in_time_order──► each complete timestamp once, in order       ordered.rs
//! ```
//!
//! Outside a dataflow: [`hash`] holds the one FNV-1a (worker routing and content ids), and
//! [`changes`] the one way to read a gathered `(data, time, diff)` list as of a time.
//!
//! Stateful operators here share one driver ([`ordered::InTimeOrder`]): they stash input by
//! timestamp and process each timestamp once the input frontier has passed it, in increasing
//! order, so their output is a deterministic function of the input collection — independent of
//! arrival order within the bounds of the frontier, and of the number of workers.

pub mod changes;
pub mod fallible;
pub mod gate;
pub mod hash;
pub mod lookup;
pub mod ordered;
pub mod upsert;
pub mod window;

pub use changes::{AsOf, Change, as_of};
pub use fallible::MapFallible;
pub use gate::RequireParent;
pub use hash::{Fnv1a, route_hash};
pub use lookup::LookupAsOf;
pub use ordered::InTimeOrder;
pub use upsert::{Ignored, UpsertByVersion, UpsertInput, UpsertRetiring};
pub use window::SlidingWindow;
