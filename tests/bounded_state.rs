//! State is bounded: once every match of a feed has finished, been settled and retired, each
//! arrangement holds exactly what it holds for the cross-match archive alone — a run on only
//! the feed's fixtures, results and abandonments. Only the player-totals arrangements, a
//! cross-match aggregate over each player's final match rows, may hold more.
//!
//! Arrangement sizes come from differential's own logging (batches built, merged, dropped), per
//! operator, while the dataflow is still running (input open, all matches retired, merges given
//! idle time to finish).

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::core::UnorderedInput;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::logging::{TimelyEvent, TimelyEventBuilder};

use common::assign_times;
use oddsflow::runtime::config::RunConfig;
use oddsflow::sim::{NoiseConfig, SimConfig, simulate};
use oddsflow_dataflows::ingest::{Payload, Sequenced};
use oddsflow_dataflows::model::Body;
use oddsflow_dataflows::pipeline::{PipelineConfig, pipeline};

/// Runs the pipeline over `items` (at the replay's times), then holds the input open at a time
/// when every match has retired, idles, and returns the arrangement sizes by operator name.
fn arrangement_sizes(items: &[Payload], cfg: &RunConfig) -> BTreeMap<String, i64> {
    let times = assign_times(items, cfg);
    let last = times
        .iter()
        .copied()
        .filter(|t| *t != u64::MAX)
        .max()
        .unwrap_or(0);
    let items = items.to_vec();
    let pcfg = PipelineConfig {
        ratings: cfg.pipeline.ratings.clone(),
        dominance: cfg.pipeline.dominance.clone(),
        retire_after_ms: cfg.pipeline.retire_after_ms,
        validation: cfg.pipeline.validation.clone(),
    };
    let settle = last + cfg.pipeline.retire_after_ms + 7_200_000;
    // Make every spine keep merging (even a lone batch, against empty ones) while idle, so that
    // what is measured is each arrangement's content, not retractions still physically beside
    // their insertions. (Never idle: fine here, where the test decides how long to step.)
    let mut config = timely::Config::thread();
    let exert: differential_dataflow::trace::ExertionLogic =
        std::sync::Arc::new(|batches: &[(usize, usize, usize)]| {
            batches
                .iter()
                .any(|(_, _, len)| *len > 0)
                .then_some(1 << 20)
        });
    config
        .worker
        .set("differential/default_exert_logic".to_string(), exert);
    let result = timely::execute(config, move |worker| {
        let sizes: Rc<RefCell<BTreeMap<usize, i64>>> = Rc::default();
        let names: Rc<RefCell<BTreeMap<usize, String>>> = Rc::default();
        if let Some(mut register) = worker.log_register() {
            let s = sizes.clone();
            register.insert::<DifferentialEventBuilder, _>(
                "differential/arrange",
                move |_t: &Duration, data: &mut Option<Vec<(Duration, DifferentialEvent)>>| {
                    for (_, event) in data.iter().flatten() {
                        let mut s = s.borrow_mut();
                        match event {
                            DifferentialEvent::Batch(b) => {
                                *s.entry(b.operator).or_default() += b.length as i64
                            }
                            DifferentialEvent::Merge(m) => {
                                if let Some(complete) = m.complete {
                                    *s.entry(m.operator).or_default() +=
                                        complete as i64 - (m.length1 + m.length2) as i64;
                                }
                            }
                            DifferentialEvent::Drop(d) => {
                                *s.entry(d.operator).or_default() -= d.length as i64
                            }
                            _ => {}
                        }
                    }
                },
            );
            let n = names.clone();
            register.insert::<TimelyEventBuilder, _>(
                "timely",
                move |_t: &Duration, data: &mut Option<Vec<(Duration, TimelyEvent)>>| {
                    for (_, event) in data.iter().flatten() {
                        if let TimelyEvent::Operates(op) = event {
                            n.borrow_mut().insert(op.id, op.name.clone());
                        }
                    }
                },
            );
        }
        let probe = ProbeHandle::new();
        let (mut handle, mut cap) = worker.dataflow::<u64, _, _>(|scope| {
            let ((handle, cap), input) =
                scope.new_unordered_input::<CapacityContainerBuilder<Vec<Sequenced>>>();
            let p = pipeline(input, &pcfg);
            p.features.probe_with(&probe);
            p.aggregates.player_totals.probe_with(&probe);
            p.aggregates.team_ratings.probe_with(&probe);
            p.availability.prematch_close.probe_with(&probe);
            (handle, cap)
        });
        for (seq, (item, time)) in items.iter().zip(&times).enumerate() {
            handle
                .activate()
                .session(&cap.delayed(time))
                .give((seq as u64, item.clone()));
            if seq % 512 == 0 {
                worker.step();
            }
        }
        // Every match retires before `settle`; then idle ticks let the spines finish merging.
        for t in (0..400u64).map(|k| settle + k * 1_000) {
            cap.downgrade(&t);
            while probe.less_than(&t) {
                worker.step();
            }
            worker.step();
        }
        worker.log_register().map(|mut r| {
            r.remove("differential/arrange");
            r.remove("timely");
        });
        let names = names.borrow();
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for (op, size) in sizes.borrow().iter() {
            let name = names.get(op).cloned().unwrap_or_else(|| "?".into());
            *out.entry(format!("{name} #{op}")).or_default() += size;
        }
        drop(cap);
        out
    })
    .expect("timely runs");
    result
        .join()
        .into_iter()
        .next()
        .expect("one worker")
        .expect("worker ok")
}

#[test]
fn arrangements_return_to_the_cross_match_baseline_after_every_match_has_finished() {
    let cfg = RunConfig {
        progress: false,
        ..RunConfig::default()
    };
    let items = simulate(&SimConfig {
        matches: 10,
        seed: 91,
        noise: NoiseConfig::typical(),
        ..SimConfig::default()
    })
    .items;
    let archive: Vec<Payload> = items
        .iter()
        .filter(|i| matches!(i, Payload::Decoded(r) if matches!(r.body, Body::Fixture(_) | Body::Result(_) | Body::Abandonment(_))))
        .cloned()
        .collect();
    let full = arrangement_sizes(&items, &cfg);
    let base = arrangement_sizes(&archive, &cfg);
    let total = |m: &BTreeMap<String, i64>| m.values().sum::<i64>();
    println!(
        "arrangement updates after retirement: full feed {}, archive-only feed {}",
        total(&full),
        total(&base)
    );
    let mut differ = Vec::new();
    for (name, size) in &full {
        let allowed = name.contains("PlayerTotals");
        let b = base.get(name).copied().unwrap_or(0);
        if *size != b && !allowed {
            differ.push(format!("{name}: {size} (baseline {b})"));
        }
    }
    assert!(
        differ.is_empty(),
        "per-match state left behind:\n{}",
        differ.join("\n")
    );
    assert!(
        full.values().any(|s| *s > 0),
        "the measurement sees arrangements"
    );
}
