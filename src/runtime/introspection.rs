//! Where a worker's memory and time go, per operator, from the dataflow's own logs (for
//! benchmarks: `RunConfig::introspect`; register before the dataflow is built, read
//! [`DataflowProbe::report`] at the end):
//!
//! * **Arrangement sizes** from differential's `differential/arrange` log: a batch adds its
//!   length, a completed merge replaces its two inputs by its output, a dropped batch subtracts
//!   its length — the updates each trace holds.
//! * **Operator time** from timely's `Schedule` events: the time between an operator's start and
//!   stop, less the time of the operators scheduled inside it (a scope's own time is its progress
//!   tracking). Operator names come from timely's `Operates` events.
//!
//! Logging every schedule costs a little time itself; runs that measure throughput leave it off.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use serde::{Deserialize, Serialize};
use timely::logging::{StartStop, TimelyEvent, TimelyEventBuilder};

#[derive(Default)]
struct Sizes {
    names: BTreeMap<usize, String>,
    /// operator → (updates now, most updates at once)
    held: BTreeMap<usize, (i64, i64)>,
    total: i64,
    peak_total: i64,
    /// operator → time scheduled, less the time of operators inside it
    busy: BTreeMap<usize, Duration>,
    /// Operators being scheduled: (id, started, time of the operators inside it so far).
    stack: Vec<(usize, Duration, Duration)>,
}

impl Sizes {
    fn add(&mut self, operator: usize, delta: i64) {
        let e = self.held.entry(operator).or_default();
        e.0 += delta;
        e.1 = e.1.max(e.0);
        self.total += delta;
        self.peak_total = self.peak_total.max(self.total);
    }
}

/// One worker's arrangements and operator times, as measured so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataflowReport {
    /// Updates held in every arrangement when the report was taken (a replay: once the last
    /// record's frontier has passed, before the input closes).
    pub updates: i64,
    /// The most updates held at once (over all arrangements together).
    pub peak_updates: i64,
    /// `(operator name, updates at the end, most at once)`, largest peak first.
    pub arrangements: Vec<(String, i64, i64)>,
    /// `(operator name, seconds scheduled less the operators inside it)`, longest first.
    pub operators: Vec<(String, f64)>,
}

/// Registered on a worker; shares the measurements with the loggers.
#[derive(Clone)]
pub struct DataflowProbe(Rc<RefCell<Sizes>>);

impl DataflowProbe {
    /// Registers the two loggers on `worker` (before it builds its dataflows). `None` if the
    /// worker has no log registry.
    pub fn register(worker: &mut timely::worker::Worker) -> Option<DataflowProbe> {
        let sizes = Rc::new(RefCell::new(Sizes::default()));
        let mut registry = worker.log_register()?;
        let s = sizes.clone();
        registry.insert::<DifferentialEventBuilder, _>(
            "differential/arrange",
            move |_: &Duration, data: &mut Option<Vec<(Duration, DifferentialEvent)>>| {
                let Some(data) = data else { return };
                let mut s = s.borrow_mut();
                for (_, event) in data.drain(..) {
                    match event {
                        DifferentialEvent::Batch(b) => s.add(b.operator, b.length as i64),
                        DifferentialEvent::Merge(m) => {
                            if let Some(out) = m.complete {
                                s.add(m.operator, out as i64 - (m.length1 + m.length2) as i64);
                            }
                        }
                        DifferentialEvent::Drop(d) => s.add(d.operator, -(d.length as i64)),
                        _ => {}
                    }
                }
            },
        );
        let s = sizes.clone();
        registry.insert::<TimelyEventBuilder, _>(
            "timely",
            move |_: &Duration, data: &mut Option<Vec<(Duration, TimelyEvent)>>| {
                let Some(data) = data else { return };
                let mut s = s.borrow_mut();
                for (at, event) in data.drain(..) {
                    match event {
                        TimelyEvent::Operates(o) => {
                            s.names.insert(o.id, o.name);
                        }
                        TimelyEvent::Schedule(e) => match e.start_stop {
                            StartStop::Start => s.stack.push((e.id, at, Duration::ZERO)),
                            StartStop::Stop => {
                                let Some((id, start, inside)) = s.stack.pop() else {
                                    continue;
                                };
                                let total = at.saturating_sub(start);
                                *s.busy.entry(id).or_default() += total.saturating_sub(inside);
                                if let Some(parent) = s.stack.last_mut() {
                                    parent.2 += total;
                                }
                            }
                        },
                        _ => {}
                    }
                }
            },
        );
        Some(DataflowProbe(sizes))
    }

    /// The sizes and times measured so far.
    pub fn report(&self) -> DataflowReport {
        let s = self.0.borrow();
        let name = |op: &usize| {
            let name = s.names.get(op).map_or("?", String::as_str);
            format!("{name} #{op}")
        };
        let mut arrangements: Vec<(String, i64, i64)> = s
            .held
            .iter()
            .map(|(op, &(now, peak))| (name(op), now, peak))
            .collect();
        arrangements.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let mut operators: Vec<(String, f64)> = s
            .busy
            .iter()
            .map(|(op, d)| (name(op), d.as_secs_f64()))
            .collect();
        operators.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        DataflowReport {
            updates: s.total,
            peak_updates: s.peak_total,
            arrangements,
            operators,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use differential_dataflow::input::Input;
    use timely::dataflow::operators::Probe;

    #[test]
    fn counts_the_updates_an_arrangement_holds_and_operator_time() {
        let report = timely::execute_directly(|worker| {
            let probe = DataflowProbe::register(worker).expect("a log registry");
            // (The trace handle is kept: an arrangement nobody reads keeps no batches.)
            let (mut input, handle, _trace) = worker.dataflow::<u64, _, _>(|scope| {
                let (input, data) = scope.new_collection::<u64, isize>();
                let arranged = data.arrange_by_self();
                (input, arranged.stream.probe().0, arranged.trace)
            });
            for x in 0..1000u64 {
                input.insert(x);
            }
            input.advance_to(1);
            input.flush();
            while handle.less_than(&1) {
                worker.step();
            }
            if let Some(mut r) = worker.log_register() {
                r.flush();
            }
            probe.report()
        });
        assert_eq!(report.updates, 1000, "{report:?}");
        assert_eq!(report.peak_updates, 1000);
        assert_eq!(report.arrangements.len(), 1, "{report:?}");
        assert!(report.arrangements[0].0.contains("Arrange"), "{report:?}");
        assert_eq!(report.arrangements[0].2, 1000);
        // The arrange operator was scheduled, and no operator's own time is counted twice.
        assert!(
            report
                .operators
                .iter()
                .any(|(n, s)| n.contains("Arrange") && *s > 0.0)
        );
    }
}
