//! Upsert by version: the newest version of each key wins.
//!
//! Input: a stream of `(key, version, value)` *assertions* (no retractions). Output: the
//! differential collection of `(key, value)` holding, at every time `t`, the value with the highest
//! version among the assertions with time ≤ `t`; when a newer version arrives the old value is
//! retracted and the new one added at that time. Re-sent versions (duplicates) and versions older
//! than the current one (stale) change nothing; they come out on a second stream, for counting.
//!
//! Two different values asserted with the same version are a conflict: the larger value (by
//! `Ord`) wins, so that the result does not depend on arrival order or worker count. A loser that
//! arrives after the winner counts as stale; a winner that arrives after the loser replaces it.
//!
//! State is one `(version, value)` per key, kept on the worker that the caller's `route` picks.
//!
//! ```
//! use timely::dataflow::operators::ToStream;
//! use oddsflow_operators::UpsertByVersion;
//!
//! timely::example(|scope| {
//!     // Key 7 asserted at versions 1 and 2, then version 1 again (stale).
//!     let (current, _ignored) = vec![(7u32, 1u64, 10u32), (7, 2, 20), (7, 1, 10)]
//!         .to_stream(scope)
//!         .upsert_by_version("Upsert", |k: &u32| u64::from(*k));
//!     current.inspect(|x| assert_eq!(x.0, (7, 20)));
//! });
//! ```

use std::collections::HashMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, VecCollection};
use serde::{Deserialize, Serialize};
use timely::ExchangeData;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::OkErr;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::ordered::InTimeOrder;

/// Why an assertion changed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ignored {
    /// The same version with the same value was already asserted.
    Duplicate,
    /// A newer version was already asserted (or a same-version conflict lost).
    Stale,
}

/// Extension trait: see the module docs.
pub trait UpsertByVersion<'scope, T: Timestamp, K, V> {
    /// Returns the current-value collection and the stream of ignored `(key, version, why)`.
    fn upsert_by_version<F>(
        self,
        name: &str,
        route: F,
    ) -> (
        VecCollection<'scope, T, (K, V)>,
        StreamVec<'scope, T, (K, u64, Ignored)>,
    )
    where
        F: Fn(&K) -> u64 + 'static;
}

type Change<K, V, T> = Result<((K, V), T, isize), (K, u64, Ignored)>;

impl<'scope, T, K, V> UpsertByVersion<'scope, T, K, V> for StreamVec<'scope, T, (K, u64, V)>
where
    T: Timestamp + TotalOrder + Ord,
    K: ExchangeData + Clone + Hash + Eq + Ord,
    V: ExchangeData + Clone + Ord,
{
    fn upsert_by_version<F>(
        self,
        name: &str,
        route: F,
    ) -> (
        VecCollection<'scope, T, (K, V)>,
        StreamVec<'scope, T, (K, u64, Ignored)>,
    )
    where
        F: Fn(&K) -> u64 + 'static,
    {
        let mut state: HashMap<K, (u64, V)> = HashMap::new();
        let changes = self.in_time_order(
            Exchange::new(move |(k, _, _): &(K, u64, V)| route(k)),
            name,
            move |time: &T, mut data: Vec<(K, u64, V)>, out: &mut Vec<Change<K, V, T>>| {
                // Group by key; within a key the winner (highest version, then value) comes last.
                data.sort_unstable();
                let mut rest = &mut data[..];
                while !rest.is_empty() {
                    let n = rest.iter().take_while(|(k, _, _)| *k == rest[0].0).count();
                    let (group, tail) = rest.split_at_mut(n);
                    rest = tail;
                    let (key, version, value) = group[n - 1].clone();
                    for (k, v, x) in &group[..n - 1] {
                        let why = if *v == version && *x == value {
                            Ignored::Duplicate
                        } else {
                            Ignored::Stale
                        };
                        out.push(Err((k.clone(), *v, why)));
                    }
                    match state.get_mut(&key) {
                        Some((cur_v, cur_x)) if (*cur_v, &*cur_x) >= (version, &value) => {
                            let why = if *cur_v == version && *cur_x == value {
                                Ignored::Duplicate
                            } else {
                                Ignored::Stale
                            };
                            out.push(Err((key, version, why)));
                        }
                        Some((cur_v, cur_x)) if *cur_v == version => {
                            // A same-version conflict that the new value wins: the old value,
                            // which was applied (and counted) when it arrived, is replaced.
                            out.push(Ok((
                                (key.clone(), std::mem::replace(cur_x, value.clone())),
                                time.clone(),
                                -1,
                            )));
                            out.push(Ok(((key, value), time.clone(), 1)));
                        }
                        Some((cur_v, cur_x)) => {
                            *cur_v = version;
                            out.push(Ok((
                                (key.clone(), std::mem::replace(cur_x, value.clone())),
                                time.clone(),
                                -1,
                            )));
                            out.push(Ok(((key, value), time.clone(), 1)));
                        }
                        None => {
                            state.insert(key.clone(), (version, value.clone()));
                            out.push(Ok(((key, value), time.clone(), 1)));
                        }
                    }
                }
            },
        );
        let (current, ignored) = changes.ok_err(|r| r);
        (current.as_collection(), ignored)
    }
}
