//! Sliding event-time windows as a temporal filter: pass updates through now, retract them later.
//!
//! `sliding_window(name, width, slide, event_time)` passes every input update `(d, t, r)` through at
//! `t` and retracts it (`-r`) at its *expiry*
//!
//! ```text
//!     expiry(d, t) = max(t, round_up(event_time(d) + width, slide))
//! ```
//!
//! where `round_up(x, s)` is the smallest multiple of `s` that is `≥ x`. So at every time `τ` the
//! output holds exactly the input records (as of `τ`) with `round_up(event_time + width, slide) > τ`.
//! `slide` is the expiry granularity: records leave the window in buckets, at multiples of `slide`
//! (a `slide` of 0 is taken as 1). An update that has already expired when it arrives
//! (`expiry == t`) would enter and leave at the same time, so nothing is emitted for it.
//!
//! ## Why this is right for collections that change
//!
//! A deletion is an update like any other, so it is retracted too — and the retraction of a
//! retraction is an insertion. Say `d` is inserted (`+r`) at `t1` and deleted (`-r`) at `t2 > t1`,
//! and let `e = round_up(event_time(d) + width, slide)`:
//!
//! - **deleted before it expires** (`t2 < e`): the output gets `+r@t1, -r@t2` now, and the
//!   scheduled `-r@e` (from the insertion) and `+r@e` (from the deletion) cancel. The record leaves
//!   the window at `t2`, and nothing is left behind.
//! - **deleted after it expires** (`t2 ≥ e`): the output gets `+r@t1, -r@e` from the insertion; the
//!   deletion would be `-r@t2` and its retraction `+r@max(t2, e) = +r@t2`, which cancel, so nothing
//!   is emitted for it and no multiplicity ever goes negative.
//!
//! ## Cost: bucketed expiries, one capability
//!
//! A window built from future retractions can cost work per *pending* retraction at every time
//! step: emitting `-r@expiry` immediately makes every downstream batcher re-scan all pending future
//! updates at each frontier advance, and one capability per pending time makes progress tracking
//! grow with them. Here instead the operator
//!
//! - windows each worker's data where it is (`Pipeline`, no exchange);
//! - keeps scheduled retractions in buckets `BTreeMap<expiry, Vec<(D, R)>>`, and emits a bucket,
//!   consolidated (updates that cancel vanish), only once the input frontier has reached its expiry
//!   (no input at a time `< expiry`, the only input that could add to the bucket, can still come);
//! - holds **one** capability, at the earliest pending expiry, downgraded as buckets drain.
//!
//! So a time step costs O(updates passed through + updates expiring now + log(buckets)), whatever
//! the number of pending expiries. `sliding_windows` does the same for several `(width, slide)`
//! pairs in one operator, tagging its output with the window's index.
//!
//! ```
//! use differential_dataflow::input::Input;
//! use timely::dataflow::operators::Capture;
//! use timely::dataflow::operators::capture::Extract;
//! use oddsflow_operators::SlidingWindow;
//!
//! let captured = timely::example(|scope| {
//!     // Records are their own event times (ms); width 10, expiries at multiples of 5.
//!     let (mut input, events) = scope.new_collection::<u64, isize>();
//!     input.advance_to(3);
//!     input.insert(3); // in at 3, out at round_up(3 + 10, 5) = 15
//!     input.advance_to(7);
//!     input.insert(7); // in at 7, out at round_up(7 + 10, 5) = 20
//!     input.advance_to(9);
//!     input.remove(7); // deleted before it expires: out at 9, nothing left at 20
//!     events.sliding_window("Window", 10, 5, |ms: &u64| *ms).inner.capture()
//! });
//! let mut updates: Vec<_> = captured.extract().into_iter().flat_map(|(_, u)| u).collect();
//! updates.sort_by_key(|&(d, t, _)| (t, d));
//! assert_eq!(updates, vec![(3, 3, 1), (7, 7, 1), (7, 9, -1), (3, 15, -1)]);
//! //! ```

use std::collections::BTreeMap;

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::difference::Abelian;
use differential_dataflow::{AsCollection, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;

/// Extension trait: see the module docs.
pub trait SlidingWindow<'scope, D, R> {
    /// The windowed view of a collection: each input update `(d, t, r)` is passed through at `t`
    /// and retracted at `max(t, round_up(event_time(&d) + width, slide))`. At time `τ` the output
    /// holds exactly the input records (as of `τ`) whose `round_up(event_time + width, slide) > τ`.
    fn sliding_window<F>(
        self,
        name: &str,
        width: u64,
        slide: u64,
        event_time: F,
    ) -> VecCollection<'scope, u64, D, R>
    where
        F: Fn(&D) -> u64 + 'static;

    /// Several windows at once, in one operator: the output is tagged with the window's index into
    /// `windows` (each `(width, slide)`), and window `i`'s records are those of
    /// `sliding_window(name, windows[i].0, windows[i].1, event_time)`.
    fn sliding_windows<F>(
        self,
        name: &str,
        windows: &[(u64, u64)],
        event_time: F,
    ) -> VecCollection<'scope, u64, (usize, D), R>
    where
        F: Fn(&D) -> u64 + 'static;
}

impl<'scope, D, R> SlidingWindow<'scope, D, R> for VecCollection<'scope, u64, D, R>
where
    D: Clone + Ord + 'static,
    R: Abelian + 'static,
{
    fn sliding_window<F>(
        self,
        name: &str,
        width: u64,
        slide: u64,
        event_time: F,
    ) -> VecCollection<'scope, u64, D, R>
    where
        F: Fn(&D) -> u64 + 'static,
    {
        windowed(self, name, vec![(width, slide)], event_time, |_, d: &D| {
            d.clone()
        })
    }

    fn sliding_windows<F>(
        self,
        name: &str,
        windows: &[(u64, u64)],
        event_time: F,
    ) -> VecCollection<'scope, u64, (usize, D), R>
    where
        F: Fn(&D) -> u64 + 'static,
    {
        windowed(self, name, windows.to_vec(), event_time, |i, d: &D| {
            (i, d.clone())
        })
    }
}

/// The smallest multiple of `slide` that is `≥ event_time + width` (saturating: an expiry past
/// `u64::MAX` is `u64::MAX`, i.e. never in practice). A `slide` of 0 is taken as 1.
pub fn expiry_bucket(event_time: u64, width: u64, slide: u64) -> u64 {
    let slide = slide.max(1);
    let end = event_time.saturating_add(width);
    match end % slide {
        0 => end,
        rem => end.saturating_add(slide - rem),
    }
}

/// The shared operator: `tag(i, &d)` is what window `i` outputs for record `d`.
fn windowed<'scope, D, R, O, F, G>(
    collection: VecCollection<'scope, u64, D, R>,
    name: &str,
    windows: Vec<(u64, u64)>,
    event_time: F,
    tag: G,
) -> VecCollection<'scope, u64, O, R>
where
    D: 'static,
    R: Abelian + 'static,
    O: Clone + Ord + 'static,
    F: Fn(&D) -> u64 + 'static,
    G: Fn(usize, &D) -> O + 'static,
{
    collection
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<(O, u64, R)>>, _, _, _>(
            Pipeline,
            name,
            move |_initial, _info| {
                // Scheduled retractions by expiry time; `held` is at the first key, if any.
                let mut buckets: BTreeMap<u64, Vec<(O, R)>> = BTreeMap::new();
                let mut held: Option<Capability<u64>> = None;
                move |(input, frontier), output| {
                    input.for_each_time(|cap, batches| {
                        let mut earliest: Option<u64> = None;
                        let mut session = output.session(&cap);
                        for batch in batches {
                            for (d, t, r) in batch.drain(..) {
                                let at = event_time(&d);
                                for (i, &(width, slide)) in windows.iter().enumerate() {
                                    let expiry = expiry_bucket(at, width, slide);
                                    // In and out at the same time: nothing to say.
                                    if expiry <= t {
                                        continue;
                                    }
                                    let out = tag(i, &d);
                                    let mut undo = r.clone();
                                    undo.negate();
                                    buckets.entry(expiry).or_default().push((out.clone(), undo));
                                    session.give((out, t, r.clone()));
                                    earliest = Some(earliest.map_or(expiry, |e| e.min(expiry)));
                                }
                            }
                        }
                        // `earliest > t ≥ cap.time()`, so the input capability can be delayed to
                        // it. Only an expiry earlier than every pending one moves the capability.
                        if let Some(earliest) = earliest
                            && held.as_ref().is_none_or(|h| earliest < *h.time())
                        {
                            held = Some(cap.delayed(&earliest, 0));
                        }
                    });

                    // Bucket `e` can only grow from input at times `< e`; once the frontier has
                    // reached `e` (or closed) it is complete. Buckets come out in time order, and
                    // `held` is always at the first one.
                    while let Some(entry) = buckets.first_entry() {
                        let expiry = *entry.key();
                        if frontier.less_than(&expiry) {
                            break;
                        }
                        let mut updates = entry.remove();
                        consolidate(&mut updates);
                        if let Some(cap) = held.as_mut() {
                            cap.downgrade(&expiry);
                            output
                                .session(&cap)
                                .give_iterator(updates.into_iter().map(|(o, r)| (o, expiry, r)));
                        }
                    }
                    match (buckets.keys().next(), held.as_mut()) {
                        (Some(next), Some(cap)) if cap.time() != next => cap.downgrade(next),
                        (Some(_), Some(_)) => {}
                        _ => held = None,
                    }
                }
            },
        )
        .as_collection()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use differential_dataflow::input::Input;

    use super::*;

    #[test]
    fn expiry_bucket_rounds_up_to_the_slide() {
        assert_eq!(expiry_bucket(3, 10, 5), 15);
        assert_eq!(expiry_bucket(5, 10, 5), 15);
        assert_eq!(expiry_bucket(6, 10, 5), 20);
        assert_eq!(expiry_bucket(6, 10, 1), 16);
        assert_eq!(expiry_bucket(6, 10, 0), 16);
        assert_eq!(expiry_bucket(u64::MAX - 1, 10, 7), u64::MAX);
    }

    /// Runs `sliding_window` over `(record, time, diff)` updates; returns the output updates.
    fn run(updates: Vec<(u64, u64, isize)>, width: u64, slide: u64) -> Vec<(u64, u64, isize)> {
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        timely::execute_directly(move |worker| {
            let mut input = worker.dataflow::<u64, _, _>(|scope| {
                let (input, records) = scope.new_collection::<u64, isize>();
                records
                    .sliding_window("Window", width, slide, |ms: &u64| *ms)
                    .inspect(move |x| sink.lock().unwrap().push(*x));
                input
            });
            let mut updates = updates;
            updates.sort_by_key(|u| u.1);
            for (d, t, r) in updates {
                input.advance_to(t);
                input.update(d, r);
            }
        });
        let mut out = out.lock().unwrap().clone();
        out.sort_by_key(|u| (u.1, u.0));
        out
    }

    #[test]
    fn a_bucket_of_cancelling_retractions_emits_nothing() {
        // Inserted at 2, deleted at 4, expiry 15: only the pass-through, nothing at 15.
        assert_eq!(
            run(vec![(2, 2, 1), (2, 4, -1)], 10, 5),
            vec![(2, 2, 1), (2, 4, -1)]
        );
    }

    #[test]
    fn an_expiry_saturated_at_u64_max_is_still_retracted_at_the_end() {
        assert_eq!(
            run(vec![(5, 0, 1)], u64::MAX, 1),
            vec![(5, 0, 1), (5, u64::MAX, -1)]
        );
    }

    #[test]
    fn an_update_expired_on_arrival_is_not_emitted() {
        // Event time 0 arriving at 20 (expiry 10): nothing; its deletion at 30: nothing.
        assert_eq!(run(vec![(0, 20, 1), (0, 30, -1)], 10, 5), vec![]);
    }
}
