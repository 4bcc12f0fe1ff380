//! Point-in-time lookups: each query at time `t` is answered with the values its key has in a
//! collection *as of `t`* (every update with time ≤ `t` applied, none later).
//!
//! ```text
//!  queries (K, Q) at t ──┐
//!                        ├─► in time order, by key ─► (K, Q, values of K as of t) at t
//!  collection (K, V) ────┘   (updates at t applied before the queries at t)
//! ```
//!
//! Unlike a differential join, the answer is a snapshot: a later change of the collection does
//! not revise it. This is what a decision needs ("was the market open when the bet reached the
//! bookmaker?"). Both inputs are routed by `route(key)`; state is the accumulated collection, one
//! map per key, dropped when the key's values all cancel — so it is as large as the collection.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use timely::ExchangeData;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Concat;
use timely::dataflow::operators::vec::Map;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::ordered::InTimeOrder;

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Input<K, Q, V, T> {
    Update(K, V, T, isize),
    Query(K, Q),
}

/// Extension trait: see the module docs.
pub trait LookupAsOf<'scope, T: Timestamp, K, Q> {
    /// Answers each query with the values (sorted, each once per unit of multiplicity) of its key
    /// in `table` as of the query's time.
    fn lookup_as_of<V, F>(
        self,
        table: VecCollection<'scope, T, (K, V)>,
        name: &str,
        route: F,
    ) -> StreamVec<'scope, T, (K, Q, Vec<V>)>
    where
        V: ExchangeData + Ord + Clone,
        F: Fn(&K) -> u64 + 'static;
}

impl<'scope, T, K, Q> LookupAsOf<'scope, T, K, Q> for StreamVec<'scope, T, (K, Q)>
where
    T: Timestamp + TotalOrder + Ord + Clone + ExchangeData,
    K: ExchangeData + Hash + Eq + Clone,
    Q: ExchangeData + Clone,
{
    fn lookup_as_of<V, F>(
        self,
        table: VecCollection<'scope, T, (K, V)>,
        name: &str,
        route: F,
    ) -> StreamVec<'scope, T, (K, Q, Vec<V>)>
    where
        V: ExchangeData + Ord + Clone,
        F: Fn(&K) -> u64 + 'static,
    {
        // A collection's message may carry a capability earlier than its updates' times: each
        // update is processed at its own time.
        let updates = table
            .inner
            .map(|((k, v), t, diff)| Input::Update(k, v, t, diff));
        let queries = self.map(|(k, q)| Input::Query(k, q));
        let mut state: HashMap<K, BTreeMap<V, isize>> = HashMap::new();
        updates.concat(queries).in_time_order_by(
            Exchange::new(move |x: &Input<K, Q, V, T>| match x {
                Input::Update(k, ..) | Input::Query(k, _) => route(k),
            }),
            name,
            |x: &Input<K, Q, V, T>, t: &T| match x {
                Input::Update(_, _, time, _) => time.clone(),
                Input::Query(..) => t.clone(),
            },
            move |_time, data: Vec<Input<K, Q, V, T>>, out: &mut Vec<(K, Q, Vec<V>)>| {
                let mut queries = Vec::new();
                for x in data {
                    match x {
                        Input::Update(k, v, _, diff) => {
                            let values = state.entry(k.clone()).or_default();
                            let n = values.entry(v.clone()).or_insert(0);
                            *n += diff;
                            if *n == 0 {
                                values.remove(&v);
                                if values.is_empty() {
                                    state.remove(&k);
                                }
                            }
                        }
                        Input::Query(k, q) => queries.push((k, q)),
                    }
                }
                for (k, q) in queries {
                    let values = state
                        .get(&k)
                        .map(|vs| {
                            vs.iter()
                                .flat_map(|(v, n)| {
                                    std::iter::repeat_n(v.clone(), (*n).max(0) as usize)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    out.push((k, q, values));
                }
            },
        )
    }
}
