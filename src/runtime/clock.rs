//! The feed clock and the times records are sent at, shared by replay and live.
//!
//! Dataflow timestamps are event time in UTC ms rounded down to the granularity. The feed clock is
//! the largest event time read so far; the input frontier is the clock minus the lateness, rounded
//! down. A record is sent at its own rounded event time or, if that is already behind the
//! frontier, at the frontier (it is *late*). A live run records where it sent what as
//! [`Reclock`] entries, so that a restart sends the same records at the same times.

use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;

fn rounded(ts: i64, granularity: u64) -> Time {
    let t = ts.max(0) as u64;
    t - t % granularity
}

/// The time a source gives a record with event time `ts` (`None`: unreadable) while it may send
/// from `cap`: its own event time rounded down to the granularity, or `cap` if that is earlier
/// (the record is *late*). Returns the time and whether the record was late.
pub(crate) fn time_for(ts: Option<i64>, cap: Time, granularity: u64) -> (Time, bool) {
    match ts.filter(|ts| *ts >= 0) {
        Some(ts) if rounded(ts, granularity) >= cap => (rounded(ts, granularity), false),
        Some(_) => (cap, true),
        None => (cap, false),
    }
}

/// The input frontier that a feed clock (the largest event time read) allows: the clock minus
/// the lateness, rounded down to the granularity.
pub(crate) fn frontier_for(clock: i64, lateness_ms: u64, granularity: u64) -> Time {
    rounded(clock.saturating_sub(lateness_ms as i64), granularity)
}

/// A boundary in one partition's record sequence: the records of `partition` before offset
/// `end` (and from the previous boundary on) were sent at their own rounded event time, or
/// `cap` if that was earlier.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reclock {
    /// The Kafka partition.
    pub partition: i32,
    /// The offset the region ends before.
    pub end: i64,
    /// The earliest time its records were sent at.
    pub cap: Time,
    /// Records read in the region, and how many of them were late.
    pub records: u64,
    /// How many of them were late.
    pub late: u64,
}
