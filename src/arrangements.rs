//! How many updates each arrangement of a worker holds, from differential's own log
//! (`differential/arrange`): a batch adds its length, a completed merge replaces its two inputs by
//! its output, a dropped batch subtracts its length. Operator names come from timely's log
//! (`Operates` events). For benchmarks (`ReplayConfig::track_arrangements`): register before the
//! dataflow is built, read [`ArrangementProbe::report`] at the end.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use serde::{Deserialize, Serialize};
use timely::logging::{TimelyEvent, TimelyEventBuilder};

#[derive(Default)]
struct Sizes {
    names: BTreeMap<usize, String>,
    /// operator → (updates now, most updates at once)
    held: BTreeMap<usize, (i64, i64)>,
    total: i64,
    peak_total: i64,
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

/// One worker's arrangements, as measured so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArrangementReport {
    /// Updates held in every arrangement when the report was taken (a replay: once the last
    /// record's frontier has passed, before the input closes).
    pub updates: i64,
    /// The most updates held at once (over all arrangements together).
    pub peak_updates: i64,
    /// `(operator name, updates at the end, most at once)`, largest peak first.
    pub by_operator: Vec<(String, i64, i64)>,
}

/// Registered on a worker; shares the measurements with the loggers.
#[derive(Clone)]
pub struct ArrangementProbe(Rc<RefCell<Sizes>>);

impl ArrangementProbe {
    /// Registers the two loggers on `worker` (before it builds its dataflows). `None` if the
    /// worker has no log registry.
    pub fn register(worker: &mut timely::worker::Worker) -> Option<ArrangementProbe> {
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
                for (_, event) in data.drain(..) {
                    if let TimelyEvent::Operates(o) = event {
                        s.names.insert(o.id, o.name);
                    }
                }
            },
        );
        Some(ArrangementProbe(sizes))
    }

    pub fn report(&self) -> ArrangementReport {
        let s = self.0.borrow();
        let mut by_operator: Vec<(String, i64, i64)> = s
            .held
            .iter()
            .map(|(op, &(now, peak))| {
                let name = s.names.get(op).cloned().unwrap_or_else(|| "?".into());
                (format!("{name} #{op}"), now, peak)
            })
            .collect();
        by_operator.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        ArrangementReport {
            updates: s.total,
            peak_updates: s.peak_total,
            by_operator,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use differential_dataflow::input::Input;
    use timely::dataflow::operators::Probe;

    #[test]
    fn counts_the_updates_an_arrangement_holds() {
        let report = timely::execute_directly(|worker| {
            let probe = ArrangementProbe::register(worker).expect("a log registry");
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
        assert_eq!(report.by_operator.len(), 1, "{report:?}");
        assert!(report.by_operator[0].0.contains("Arrange"), "{report:?}");
        assert_eq!(report.by_operator[0].2, 1000);
    }
}
