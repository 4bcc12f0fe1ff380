//! Hosting the pipeline on a timely worker, shared by the replay runtime ([`super::replay`]) and
//! the live Kafka runtime ([`super::live`]); it knows neither of them.
//!
//! ```text
//!  Feeder ──(Fed: feed items + reclock entries)──► pipeline, bookmaker, policies
//!                                                        │ every output collection, exchanged
//!                                                        ▼ to worker 0 with its times
//!                                            Gathered ──drain(upto)──► Frame
//! ```
//!
//! **In:** a [`Feeder`] gives each item a time (≥ its capability, which only moves forward).
//! **Out:** on worker 0, a [`Gathered`] holds every output change with its time; [`Gathered::drain`]
//! takes out those before a time as a [`Frame`], consolidated. A replay drains once at the end;
//! the live runtime drains one frame whenever the output frontier advances, and writes it to its
//! changelog before anything depending on it is acknowledged.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

use anyhow::Result;
use differential_dataflow::VecCollection;
use differential_dataflow::consolidation::consolidate_updates;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::operators::core::unordered_input::UnorderedHandle;
use timely::dataflow::operators::core::{OkErr, UnorderedInput};
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{ActivateCapability, Concat, Exchange, Inspect, Probe};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::aggregates::{PlayerMatchStats, PlayerTotals, TeamMatchStats};
use oddsflow_dataflows::availability::{Quote, SelectionKey};
use oddsflow_dataflows::bookmaker::{BetId, Decision, Settled, betting};
use oddsflow_dataflows::dominance::Dominance;
use oddsflow_dataflows::features::FeatureVector;
use oddsflow_dataflows::ingest::Sequenced;
use oddsflow_dataflows::model::F64;
use oddsflow_dataflows::model::{Body, MatchId, PlayerId, Side, TeamId};
use oddsflow_dataflows::pipeline::pipeline;
use oddsflow_dataflows::ratings::{LeagueAverages, TeamRating};
use oddsflow_dataflows::reject::DeadLetter;
use oddsflow_operators::Ignored;

/// One change of a gathered collection: data, time, diff.
type Change<D> = oddsflow_operators::Change<D, Time>;

use super::clock::Reclock;
use super::config::RunConfig;
use crate::policy::{Emitted, Truth, build_hosted};
use oddsflow_dataflows::bookmaker::PolicyId;
use oddsflow_dataflows::policy::{PolicyInputs, run_policies};

/// What a source feeds the dataflow: a feed item, or (live runtime) a reclock entry, which says
/// at which times a partition's records were sent, so that a restart can send them again alike.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Fed {
    /// A feed item with its position in the feed.
    Item(Sequenced),
    /// A reclock entry (live runtime).
    Reclock(Reclock),
    /// A feed item the runtime refused before the dataflow (the clock guard's `future_ts`).
    Refused(DeadLetter),
}

/// A buffer of `(data, time, diff)` on worker 0, consolidated in place as it grows (the
/// one-change-per-record streams, such as the count of valid records, shrink to one change per
/// time and value).
pub struct Gathering<D> {
    buf: Rc<RefCell<SinkBuf<D>>>,
}

/// The changes, and their number after the last consolidation.
type SinkBuf<D> = (Vec<(D, Time, isize)>, usize);

impl<D> Clone for Gathering<D> {
    fn clone(&self) -> Self {
        Gathering {
            buf: self.buf.clone(),
        }
    }
}

impl<D> Default for Gathering<D> {
    fn default() -> Self {
        Gathering {
            buf: Rc::new(RefCell::new((Vec::new(), 0))),
        }
    }
}

impl<D: Ord> Gathering<D> {
    fn push(&self, d: D, t: Time, r: isize) {
        let mut b = self.buf.borrow_mut();
        b.0.push((d, t, r));
        if b.0.len() >= 4096 && b.0.len() >= 2 * b.1 {
            consolidate_updates(&mut b.0);
            b.1 = b.0.len();
        }
    }

    /// Takes out the changes at times before `upto` (all of them for `None`), consolidated.
    fn drain(&self, upto: Option<Time>) -> Vec<Change<D>> {
        let mut b = self.buf.borrow_mut();
        let all = std::mem::take(&mut b.0);
        let (out, keep): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|(_, t, _)| upto.is_none_or(|u| *t < u));
        b.1 = keep.len();
        b.0 = keep;
        let mut out: Vec<Change<D>> = out.into_iter().map(|(d, t, r)| (d, t, r as i64)).collect();
        consolidate_updates(&mut out);
        out
    }
}

/// Declares the gathered tables once: the [`Gathered`] sinks on worker 0 and the [`Frame`] they
/// drain into.
macro_rules! tables {
    ($($(#[$doc:meta])* $name:ident: $ty:ty,)*) => {
        /// The sinks of every output on worker 0 (empty on the other workers).
        #[derive(Clone, Default)]
        pub struct Gathered { $($(#[$doc])* pub $name: Gathering<$ty>,)* }

        /// Every output's changes over a range of times, consolidated: what a replay gathers,
        /// and one entry of the live runtime's changelog.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct Frame { $($(#[$doc])* pub $name: Vec<Change<$ty>>,)* }

        impl Gathered {
            /// Takes out the changes at times before `upto` (all of them for `None`).
            pub fn drain(&self, upto: Option<Time>) -> Frame {
                Frame { $($name: self.$name.drain(upto),)* }
            }
        }

        impl Frame {
            /// Adds `other`'s changes (call [`Frame::consolidate`] after the last).
            pub fn append(&mut self, other: Frame) {
                $(self.$name.extend(other.$name);)*
            }

            /// Puts every table in canonical form.
            pub fn consolidate(&mut self) {
                $(consolidate_updates(&mut self.$name);)*
            }

            /// Keeps only the changes at times `t` or later.
            pub fn retain_from(&mut self, t: Time) {
                $(self.$name.retain(|c| c.1 >= t);)*
            }

            /// Takes out the changes at times before `t`.
            pub fn split_before(&mut self, t: Time) -> Frame {
                let mut before = Frame::default();
                $(
                    let (b, keep): (Vec<_>, Vec<_>) =
                        std::mem::take(&mut self.$name).into_iter().partition(|c| c.1 < t);
                    before.$name = b;
                    self.$name = keep;
                )*
                before
            }

            /// The first table in which `self` and `other` (both consolidated) differ, with
            /// their change counts; `None` when equal.
            pub fn first_difference(&self, other: &Frame) -> Option<String> {
                $(
                    if self.$name != other.$name {
                        return Some(format!(
                            "{} ({} changes against {})",
                            stringify!($name),
                            self.$name.len(),
                            other.$name.len()
                        ));
                    }
                )*
                None
            }

            /// Changes in all tables.
            pub fn len(&self) -> usize {
                0 $(+ self.$name.len())*
            }

            /// No change in any table?
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }
    };
}

tables! {
    /// Team match statistics.
    team_match: ((MatchId, Side), TeamMatchStats),
    /// Player match statistics.
    player_match: ((MatchId, PlayerId), PlayerMatchStats),
    /// Player totals.
    player_totals: (PlayerId, PlayerTotals),
    /// Team ratings.
    team_ratings: ((String, TeamId), TeamRating),
    /// League averages.
    league_averages: (String, LeagueAverages),
    /// Dominance per (match, window width).
    dominance: ((MatchId, u64), Dominance),
    /// Available selections with their quotes.
    available: (SelectionKey, Quote),
    /// Prematch closing prices.
    prematch_close: (SelectionKey, F64),
    /// Feature vectors.
    features: (MatchId, FeatureVector),
    /// The bookmaker's decisions, at their acceptance times.
    decisions: Decision,
    /// Settlements of the bets.
    settlements: (BetId, Settled),
    /// Dead letters.
    dead_letters: DeadLetter,
    /// One change per valid record: the match id of a fixture, else none.
    valid: Option<MatchId>,
    /// Valid records that changed nothing, by why.
    ignored: Ignored,
    /// The live runtime's reclock entries (none in a replay).
    reclock: Reclock,
}

impl Frame {
    /// Distinct matches with a valid fixture.
    pub fn matches(&self) -> BTreeSet<MatchId> {
        self.valid
            .iter()
            .filter(|(m, _, r)| m.is_some() && *r > 0)
            .filter_map(|(m, _, _)| *m)
            .collect()
    }
}

/// Sends a collection's changes to worker 0 and appends them to `sink` there.
fn gather<'s, D>(
    c: VecCollection<'s, Time, D>,
    sink: &Gathering<D>,
    probe: &ProbeHandle<Time>,
    keep: bool,
) where
    D: timely::ExchangeData + Ord + Clone,
{
    if !keep {
        c.inner.probe_with(probe);
        return;
    }
    let sink = sink.clone();
    c.inner
        .exchange(|_| 0)
        .inspect(move |(d, t, r)| sink.push(d.clone(), *t, *r))
        .probe_with(probe);
}

/// Sends a stream's records to worker 0 and appends them to `sink` there, each with diff 1.
fn gather_stream<'s, D>(s: StreamVec<'s, Time, D>, sink: &Gathering<D>, probe: &ProbeHandle<Time>)
where
    D: timely::ExchangeData + Ord + Clone,
{
    let sink = sink.clone();
    s.exchange(|_| 0)
        .inspect_time(move |t, d| sink.push(d.clone(), *t, 1))
        .probe_with(probe);
}

/// The input side of a hosted dataflow: items waiting to be sent, and the capability that says
/// which times may still be sent.
pub struct Feeder {
    handle: UnorderedHandle<Time, CapacityContainerBuilder<Vec<Fed>>>,
    cap: Option<ActivateCapability<Time>>,
    pending: Vec<(Time, Fed)>,
}

impl Feeder {
    /// The earliest time an item may still be given (`None` once closed).
    pub fn time(&self) -> Option<Time> {
        self.cap.as_ref().map(|c| *c.time())
    }

    /// Queues `item` at `time` (≥ [`Feeder::time`]).
    pub fn give(&mut self, time: Time, item: Fed) {
        debug_assert!(self.time().is_some_and(|c| c <= time));
        self.pending.push((time, item));
    }

    /// Items queued and not sent yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sends what is queued.
    pub fn flush(&mut self) {
        let Some(cap) = &self.cap else { return };
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_by_key(|(t, _)| *t);
        let mut session_handle = self.handle.activate();
        let mut it = self.pending.drain(..).peekable();
        while let Some((t, item)) = it.next() {
            let c = cap.delayed(&t);
            let mut session = session_handle.session(&c);
            session.give(item);
            while let Some((_, item)) = it.next_if(|(t2, _)| *t2 == t) {
                session.give(item);
            }
        }
    }

    /// Sends what is queued, then gives up the right to send before `t`.
    pub fn downgrade(&mut self, t: Time) {
        self.flush();
        if let Some(cap) = &mut self.cap
            && *cap.time() < t
        {
            cap.downgrade(&t);
        }
    }

    /// Sends what is queued and closes the input.
    pub fn close(&mut self) {
        self.flush();
        self.cap = None;
    }
}

/// Where worker 0 collects what the policies emitted: `((policy, number), record)`.
pub(crate) type EmittedSink = Rc<RefCell<Vec<((PolicyId, u64), Emitted)>>>;

/// The pipeline as hosted on one worker.
pub struct Hosted {
    /// The input side.
    pub feeder: Feeder,
    /// Worker 0's sinks (empty elsewhere).
    pub gathered: Gathered,
    /// What the policies emitted (worker 0; empty elsewhere), tagged `(policy, number)`.
    pub(crate) emitted: EmittedSink,
    /// Passes a time once every output before it has reached the sinks.
    pub probe: ProbeHandle<Time>,
}

/// Builds the pipeline, the bookmaker and the policies of `cfg` on `worker`, with every output
/// gathered on worker 0 (the collection changes only when `cfg.keep_outputs`; bets,
/// settlements, prematch closes when there are policies, dead letters and counters always).
pub fn host(
    worker: &mut timely::worker::Worker,
    cfg: &RunConfig,
    truth: Option<&Arc<Truth>>,
) -> Result<Hosted> {
    let g = Gathered::default();
    let emitted: EmittedSink = Rc::default();
    let probe = ProbeHandle::new();
    let keep = cfg.keep_outputs;
    let granularity = cfg.granularity_ms.max(1);
    let mut build_error = None;
    let (handle, cap) = worker.dataflow::<Time, _, _>(|scope| {
        let ((handle, cap), fed) =
            scope.new_unordered_input::<CapacityContainerBuilder<Vec<Fed>>>();
        type Rest = std::result::Result<Reclock, DeadLetter>;
        let (items, rest): (StreamVec<'_, Time, Sequenced>, StreamVec<'_, Time, Rest>) = fed
            .ok_err(|f| -> std::result::Result<Sequenced, Rest> {
                match f {
                    Fed::Item(s) => Ok(s),
                    Fed::Reclock(r) => Err(Ok(r)),
                    Fed::Refused(d) => Err(Err(d)),
                }
            });
        let (reclock, refused): (
            StreamVec<'_, Time, Reclock>,
            StreamVec<'_, Time, DeadLetter>,
        ) = rest.ok_err(|r: Rest| r);
        gather_stream(reclock, &g.reclock, &probe);
        let p = pipeline(items, &cfg.pipeline);
        if !cfg.policies.is_empty() {
            let inputs = PolicyInputs {
                fixtures: p.state.fixtures.clone(),
                features: p.features.clone(),
                available: p.availability.available.clone(),
                ratings: p.aggregates.team_ratings.clone(),
                leagues: p.aggregates.league_averages.clone(),
                results: p.state.results.clone(),
                abandonments: p.state.abandonments.clone(),
            };
            let bookmaker = &cfg.bookmaker;
            let hosted = build_hosted(&cfg.policies, truth, scope.index(), scope.peers())
                .unwrap_or_else(|e| {
                    build_error = Some(e);
                    Vec::new()
                });
            let b = betting(&p.state, bookmaker, granularity, |rewards| {
                let streams =
                    run_policies(inputs, rewards, hosted, bookmaker.bankroll, granularity);
                let emitted = emitted.clone();
                streams
                    .emitted
                    .exchange(|_| 0)
                    .inspect(move |x| emitted.borrow_mut().push(x.clone()))
                    .probe_with(&probe);
                streams.requests
            });
            gather_stream(b.decisions, &g.decisions, &probe);
            gather(b.settlements, &g.settlements, &probe, true);
        }
        let (ingested, agg, dom, avail, feats) = (
            p.ingested,
            p.aggregates,
            p.dominance,
            p.availability,
            p.features,
        );
        gather(agg.team_match, &g.team_match, &probe, keep);
        gather(agg.player_match, &g.player_match, &probe, keep);
        gather(agg.player_totals, &g.player_totals, &probe, keep);
        gather(agg.team_ratings, &g.team_ratings, &probe, keep);
        gather(agg.league_averages, &g.league_averages, &probe, keep);
        gather(dom, &g.dominance, &probe, keep);
        gather(avail.available, &g.available, &probe, keep);
        gather(
            avail.prematch_close,
            &g.prematch_close,
            &probe,
            keep || !cfg.policies.is_empty(),
        );
        gather(feats, &g.features, &probe, keep);
        gather_stream(
            ingested.dead_letters.concat(refused),
            &g.dead_letters,
            &probe,
        );
        let valid = ingested
            .valid
            .map(|r| matches!(r.body, Body::Fixture(_)).then_some(r.match_id));
        gather_stream(valid, &g.valid, &probe);
        gather_stream(ingested.ignored.map(|(_, _, why)| why), &g.ignored, &probe);
        (handle, cap)
    });
    if let Some(e) = build_error {
        return Err(e);
    }
    Ok(Hosted {
        feeder: Feeder {
            handle,
            cap: Some(cap),
            pending: Vec::new(),
        },
        gathered: g,
        emitted,
        probe,
    })
}
