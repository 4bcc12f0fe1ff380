//! Process a stream one complete timestamp at a time, in increasing time order.
//!
//! `in_time_order` stashes each incoming batch under its timestamp (holding a capability for it)
//! and, once the input frontier has passed a timestamp, hands all of that timestamp's data to the
//! logic at once. Stateful operators built on it (upsert, gate) see their input in event-time
//! order whatever order the records arrived in, which makes them deterministic.

use std::collections::BTreeMap;

use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::ParallelizationContract;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// Hands every stashed timestamp the frontier has passed to `logic`, in order. (Timestamps are
/// totally ordered: every stashed time the frontier no longer reaches is complete, and they come
/// out of the BTreeMap in order.)
macro_rules! drain_complete {
    ($stash:ident, $frontier:ident, $logic:ident, $out:ident, $output:ident) => {
        while let Some(entry) = $stash.first_entry() {
            if $frontier.less_equal(entry.key()) {
                break;
            }
            let (time, (cap, data)) = entry.remove_entry();
            $logic(&time, data, &mut $out);
            if !$out.is_empty() {
                $output.session(&cap).give_iterator($out.drain(..));
            }
        }
    };
}

/// Extension trait: see the module docs.
pub trait InTimeOrder<'scope, T: Timestamp, D> {
    /// Calls `logic(time, data, output)` for each complete timestamp, in increasing order; what it
    /// pushes into `output` is sent at that timestamp.
    fn in_time_order<O, P, L>(self, pact: P, name: &str, logic: L) -> StreamVec<'scope, T, O>
    where
        O: Clone + 'static,
        P: ParallelizationContract<T, Vec<D>>,
        L: FnMut(&T, Vec<D>, &mut Vec<O>) + 'static;

    /// As [`InTimeOrder::in_time_order`], but each datum is processed at `time_of(datum,
    /// message time)`, which must not be earlier than its message's time — e.g. a differential
    /// update's own time, which can be later than the capability its batch travels with. This
    /// saves a re-timing `delay` operator in front.
    fn in_time_order_by<O, P, F, L>(
        self,
        pact: P,
        name: &str,
        time_of: F,
        logic: L,
    ) -> StreamVec<'scope, T, O>
    where
        O: Clone + 'static,
        P: ParallelizationContract<T, Vec<D>>,
        F: Fn(&D, &T) -> T + 'static,
        L: FnMut(&T, Vec<D>, &mut Vec<O>) + 'static;
}

impl<'scope, T, D> InTimeOrder<'scope, T, D> for StreamVec<'scope, T, D>
where
    T: Timestamp + TotalOrder + Ord,
    D: Clone + 'static,
{
    fn in_time_order<O, P, L>(self, pact: P, name: &str, mut logic: L) -> StreamVec<'scope, T, O>
    where
        O: Clone + 'static,
        P: ParallelizationContract<T, Vec<D>>,
        L: FnMut(&T, Vec<D>, &mut Vec<O>) + 'static,
    {
        self.unary_frontier(pact, name, move |_cap, _info| {
            let mut stash: BTreeMap<T, (Capability<T>, Vec<D>)> = BTreeMap::new();
            let mut out = Vec::new();
            move |(input, frontier), output| {
                input.for_each_time(|cap, batches| {
                    let entry = stash
                        .entry(cap.time().clone())
                        .or_insert_with(|| (cap.retain(0), Vec::new()));
                    for batch in batches {
                        entry.1.append(batch);
                    }
                });
                drain_complete!(stash, frontier, logic, out, output);
            }
        })
    }

    fn in_time_order_by<O, P, F, L>(
        self,
        pact: P,
        name: &str,
        time_of: F,
        mut logic: L,
    ) -> StreamVec<'scope, T, O>
    where
        O: Clone + 'static,
        P: ParallelizationContract<T, Vec<D>>,
        F: Fn(&D, &T) -> T + 'static,
        L: FnMut(&T, Vec<D>, &mut Vec<O>) + 'static,
    {
        self.unary_frontier(pact, name, move |_cap, _info| {
            let mut stash: BTreeMap<T, (Capability<T>, Vec<D>)> = BTreeMap::new();
            let mut out = Vec::new();
            move |(input, frontier), output| {
                input.for_each_time(|cap, batches| {
                    // Runs of equal times (the common case) go in with one map lookup.
                    let mut run: Option<(T, Vec<D>)> = None;
                    let mut put = |t: T, mut data: Vec<D>| match stash.get_mut(&t) {
                        Some(entry) => entry.1.append(&mut data),
                        None => {
                            let c = cap.delayed(&t, 0);
                            stash.insert(t, (c, data));
                        }
                    };
                    for batch in batches {
                        for d in batch.drain(..) {
                            let t = time_of(&d, cap.time());
                            match &mut run {
                                Some((rt, v)) if *rt == t => v.push(d),
                                _ => {
                                    if let Some((rt, v)) = run.replace((t, vec![d])) {
                                        put(rt, v);
                                    }
                                }
                            }
                        }
                    }
                    if let Some((rt, v)) = run {
                        put(rt, v);
                    }
                });
                drain_complete!(stash, frontier, logic, out, output);
            }
        })
    }
}
