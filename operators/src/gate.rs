//! Let through only the records whose parent is already known.
//!
//! A record *registers* a parent key (`registers(&d) == Some(p)`), and every record *belongs* to
//! one (`parent(&d)`). At each complete timestamp, in time order, registrations at that time are
//! applied first; then each record whose parent has been registered at or before its time passes,
//! and the others come out on the orphan stream. Records are routed by their parent key, so all
//! of one parent's records meet on one worker.

use std::collections::HashSet;
use std::hash::Hash;

use timely::ExchangeData;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::OkErr;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::ordered::InTimeOrder;

/// Extension trait: see the module docs.
pub trait RequireParent<'scope, T: Timestamp, D> {
    fn require_parent<P, FP, FR, FH>(
        self,
        name: &str,
        parent: FP,
        registers: FR,
        route: FH,
    ) -> (StreamVec<'scope, T, D>, StreamVec<'scope, T, D>)
    where
        P: Hash + Eq + 'static,
        FP: Fn(&D) -> P + 'static,
        FR: Fn(&D) -> Option<P> + 'static,
        FH: Fn(&P) -> u64 + 'static;
}

impl<'scope, T, D> RequireParent<'scope, T, D> for StreamVec<'scope, T, D>
where
    T: Timestamp + TotalOrder + Ord,
    D: ExchangeData + Clone,
{
    fn require_parent<P, FP, FR, FH>(
        self,
        name: &str,
        parent: FP,
        registers: FR,
        route: FH,
    ) -> (StreamVec<'scope, T, D>, StreamVec<'scope, T, D>)
    where
        P: Hash + Eq + 'static,
        FP: Fn(&D) -> P + 'static,
        FR: Fn(&D) -> Option<P> + 'static,
        FH: Fn(&P) -> u64 + 'static,
    {
        let parent = std::rc::Rc::new(parent);
        let p2 = parent.clone();
        let mut known: HashSet<P> = HashSet::new();
        let results = self.in_time_order(
            Exchange::new(move |d: &D| route(&p2(d))),
            name,
            move |_time, data: Vec<D>, out: &mut Vec<Result<D, D>>| {
                known.extend(data.iter().filter_map(&registers));
                out.extend(data.into_iter().map(|d| {
                    if known.contains(&parent(&d)) {
                        Ok(d)
                    } else {
                        Err(d)
                    }
                }));
            },
        );
        results.ok_err(|r| r)
    }
}
