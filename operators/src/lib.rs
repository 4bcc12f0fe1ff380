//! Generic timely / differential operators used by oddsflow's dataflows. Nothing here knows about
//! football.
//!
//! ```text
//!  stream of D ──map_fallible──► (oks, errs)                      fallible.rs
//!  stream of (K, version, V) ──upsert_by_version──► collection of (K, V) + ignored   upsert.rs
//!  stream of D ──require_parent──► (known, orphans)               gate.rs
//!  queries (K, Q) ──lookup_as_of(collection of (K, V))──► (K, Q, values as of t)   lookup.rs
//! ```
//!
//! Stateful operators here share one driver ([`ordered::InTimeOrder`]): they stash input by
//! timestamp and process each timestamp once the input frontier has passed it, in increasing
//! order, so their output is a deterministic function of the input collection — independent of
//! arrival order within the bounds of the frontier, and of the number of workers.

pub mod fallible;
pub mod gate;
pub mod lookup;
pub mod ordered;
pub mod upsert;
pub mod window;

pub use fallible::MapFallible;
pub use gate::RequireParent;
pub use lookup::LookupAsOf;
pub use ordered::InTimeOrder;
pub use upsert::{Ignored, UpsertByVersion, UpsertInput, UpsertRetiring};
pub use window::SlidingWindow;

/// A stable 64-bit hash used to route data to workers (the same on every process and run).
pub fn route_hash<H: std::hash::Hash + ?Sized>(value: &H) -> u64 {
    use std::hash::Hasher;
    // FNV-1a over the `Hash` stream: stable across processes (unlike `RandomState`).
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            // Finalise with a murmur3 mix so that consecutive ids spread over workers.
            let mut h = self.0;
            h ^= h >> 33;
            h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
            h ^= h >> 33;
            h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            h ^ (h >> 33)
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    value.hash(&mut h);
    h.finish()
}
