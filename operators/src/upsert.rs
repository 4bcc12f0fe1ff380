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
//! **Retirement** ([`UpsertRetiring`]): keys belong to groups (a match), and a `Retire(group)`
//! message at time `t` retracts, at `t`, every key of the group that `keep` does not spare, and
//! forgets them; later assertions to such keys of a retired group change nothing (`Retired`).
//! This keeps the state bounded by the groups still alive. Within a timestamp, assertions are
//! applied before retirements.
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

use std::collections::{HashMap, HashSet};
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
    /// The key's group was retired.
    Retired,
}

/// Input of [`UpsertRetiring`]: an assertion, or the retirement of a group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum UpsertInput<K, V, G> {
    Assert(K, u64, V),
    Retire(G),
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

/// Extension trait: see the module docs ("Retirement").
pub trait UpsertRetiring<'scope, T: Timestamp, K, V, G> {
    /// `route` places a group on a worker (all its keys go there), `group` gives a key's group,
    /// `keep` spares keys from retirement.
    fn upsert_retiring<FR, FG, FK>(
        self,
        name: &str,
        route: FR,
        group: FG,
        keep: FK,
    ) -> (
        VecCollection<'scope, T, (K, V)>,
        StreamVec<'scope, T, (K, u64, Ignored)>,
    )
    where
        FR: Fn(&G) -> u64 + 'static,
        FG: Fn(&K) -> G + 'static,
        FK: Fn(&K) -> bool + 'static;
}

type Change<K, V, T> = Result<((K, V), T, isize), (K, u64, Ignored)>;

/// The per-worker state of an upsert.
struct State<K, V, G> {
    current: HashMap<K, (u64, V)>,
    /// Keys by group, kept only when groups can retire.
    groups: Option<HashMap<G, HashSet<K>>>,
    retired: HashSet<G>,
}

impl<K: Clone + Hash + Eq + Ord, V: Clone + Ord, G: Clone + Hash + Eq> State<K, V, G> {
    /// Applies one timestamp's assertions.
    fn apply<T: Clone>(
        &mut self,
        time: &T,
        mut data: Vec<(K, u64, V)>,
        out: &mut Vec<Change<K, V, T>>,
        group: &dyn Fn(&K) -> G,
        keep: &dyn Fn(&K) -> bool,
    ) {
        // Group by key; within a key the winner (highest version, then value) comes last.
        data.sort_unstable();
        let mut rest = &mut data[..];
        while !rest.is_empty() {
            let n = rest.iter().take_while(|(k, _, _)| *k == rest[0].0).count();
            let (same_key, tail) = rest.split_at_mut(n);
            rest = tail;
            let (key, version, value) = same_key[n - 1].clone();
            if self.groups.is_some() && !keep(&key) && self.retired.contains(&group(&key)) {
                out.extend(
                    same_key
                        .iter()
                        .map(|(k, v, _)| Err((k.clone(), *v, Ignored::Retired))),
                );
                continue;
            }
            for (k, v, x) in &same_key[..n - 1] {
                let why = if *v == version && *x == value {
                    Ignored::Duplicate
                } else {
                    Ignored::Stale
                };
                out.push(Err((k.clone(), *v, why)));
            }
            match self.current.get_mut(&key) {
                Some((cur_v, cur_x)) if (*cur_v, &*cur_x) >= (version, &value) => {
                    let why = if *cur_v == version && *cur_x == value {
                        Ignored::Duplicate
                    } else {
                        Ignored::Stale
                    };
                    out.push(Err((key, version, why)));
                }
                Some((cur_v, cur_x)) => {
                    // A newer version, or a same-version conflict that the new value wins (the
                    // old value was applied, and counted, when it arrived).
                    *cur_v = version;
                    out.push(Ok((
                        (key.clone(), std::mem::replace(cur_x, value.clone())),
                        time.clone(),
                        -1,
                    )));
                    out.push(Ok(((key, value), time.clone(), 1)));
                }
                None => {
                    if let Some(groups) = &mut self.groups {
                        groups.entry(group(&key)).or_default().insert(key.clone());
                    }
                    self.current.insert(key.clone(), (version, value.clone()));
                    out.push(Ok(((key, value), time.clone(), 1)));
                }
            }
        }
    }

    /// Retires a group: retracts and forgets its keys that `keep` does not spare.
    fn retire<T: Clone>(
        &mut self,
        time: &T,
        g: G,
        out: &mut Vec<Change<K, V, T>>,
        keep: &dyn Fn(&K) -> bool,
    ) {
        let Some(groups) = &mut self.groups else {
            return;
        };
        if let Some(keys) = groups.remove(&g) {
            let (spared, gone): (Vec<K>, Vec<K>) = keys.into_iter().partition(|k| keep(k));
            for k in gone {
                if let Some((_, v)) = self.current.remove(&k) {
                    out.push(Ok(((k, v), time.clone(), -1)));
                }
            }
            if !spared.is_empty() {
                groups.insert(g.clone(), spared.into_iter().collect());
            }
        }
        self.retired.insert(g);
    }
}

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
        let mut state: State<K, V, ()> = State {
            current: HashMap::new(),
            groups: None,
            retired: HashSet::new(),
        };
        let changes = self.in_time_order(
            Exchange::new(move |(k, _, _): &(K, u64, V)| route(k)),
            name,
            move |time: &T, data: Vec<(K, u64, V)>, out: &mut Vec<Change<K, V, T>>| {
                state.apply(time, data, out, &|_| (), &|_| true);
            },
        );
        let (current, ignored) = changes.ok_err(|r| r);
        (current.as_collection(), ignored)
    }
}

impl<'scope, T, K, V, G> UpsertRetiring<'scope, T, K, V, G>
    for StreamVec<'scope, T, UpsertInput<K, V, G>>
where
    T: Timestamp + TotalOrder + Ord,
    K: ExchangeData + Clone + Hash + Eq + Ord,
    V: ExchangeData + Clone + Ord,
    G: ExchangeData + Clone + Hash + Eq + Ord,
{
    fn upsert_retiring<FR, FG, FK>(
        self,
        name: &str,
        route: FR,
        group: FG,
        keep: FK,
    ) -> (
        VecCollection<'scope, T, (K, V)>,
        StreamVec<'scope, T, (K, u64, Ignored)>,
    )
    where
        FR: Fn(&G) -> u64 + 'static,
        FG: Fn(&K) -> G + 'static,
        FK: Fn(&K) -> bool + 'static,
    {
        let group = std::rc::Rc::new(group);
        let g2 = group.clone();
        let mut state: State<K, V, G> = State {
            current: HashMap::new(),
            groups: Some(HashMap::new()),
            retired: HashSet::new(),
        };
        let pact = Exchange::new(move |x: &UpsertInput<K, V, G>| match x {
            UpsertInput::Assert(k, _, _) => route(&g2(k)),
            UpsertInput::Retire(g) => route(g),
        });
        let changes = self.in_time_order(
            pact,
            name,
            move |time: &T, data: Vec<UpsertInput<K, V, G>>, out: &mut Vec<Change<K, V, T>>| {
                let mut asserts = Vec::with_capacity(data.len());
                let mut retires = Vec::new();
                for x in data {
                    match x {
                        UpsertInput::Assert(k, v, x) => asserts.push((k, v, x)),
                        UpsertInput::Retire(g) => retires.push(g),
                    }
                }
                state.apply(time, asserts, out, &*group, &keep);
                retires.sort();
                retires.dedup();
                for g in retires {
                    state.retire(time, g, out, &keep);
                }
            },
        );
        let (current, ignored) = changes.ok_err(|r| r);
        (current.as_collection(), ignored)
    }
}
