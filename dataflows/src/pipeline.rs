//! The whole dataflow, with match retirement.
//!
//! ```text
//!  items ─► ingest ─► MatchState ─┬─► aggregates ─┐
//!            ▲                    ├─► dominance ──┼─► features
//!            │                    ├─► availability┘
//!            │                    └─► settled matches ──(feedback: + retire_after_ms)──┐
//!            └──────────────── retire ◄─────────────────────────────────────────────────┘
//! ```
//!
//! **Bounded state.** A match is *settled* once it has a result or an abandonment. At settle time
//! + `retire_after_ms` (1 h of event time by default, room for result corrections) a timely
//! feedback edge delivers its id back to ingest, which retracts all of its per-match state (lineups,
//! statuses, incidents, markets, odds) and forgets it; the prematch-close latch does the same.
//! Everything per match downstream (team and player match stats, dominance, availability,
//! features) is derived from that state and empties with it. What remains is the cross-match
//! archive: each match's fixture, result and abandonment (for ratings), and each player's final
//! match row (for player totals). The retirement time is a function of the feed alone, so
//! results stay identical on any number of workers.

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::operators::vec::{Delay, Filter, Map};
use timely::dataflow::operators::{ConnectLoop, Feedback};

use crate::Time;
use crate::aggregates::{Aggregates, aggregates};
use crate::availability::{Availability, availability};
use crate::dominance::{Dominance, DominanceConfig, dominance};
use crate::features::{FeatureVector, features};
use crate::ingest::{Ingested, MatchState, Sequenced, ingest};
use crate::model::MatchId;
use crate::ratings::RatingConfig;
use crate::reject::ValidationConfig;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    pub ratings: RatingConfig,
    pub dominance: DominanceConfig,
    /// How long after a match is settled its per-match state is retired, in ms of event time.
    pub retire_after_ms: u64,
    /// The bounds of validation that are settings (the highest price accepted).
    #[serde(default)]
    pub validation: ValidationConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            ratings: RatingConfig::default(),
            dominance: DominanceConfig::default(),
            retire_after_ms: 3_600_000,
            validation: ValidationConfig::default(),
        }
    }
}

pub struct Pipeline<'scope> {
    pub ingested: Ingested<'scope>,
    /// The current keyed state, by kind (for the bookmaker).
    pub state: MatchState<'scope>,
    pub aggregates: Aggregates<'scope>,
    pub dominance: VecCollection<'scope, Time, ((MatchId, u64), Dominance)>,
    pub availability: Availability<'scope>,
    pub features: VecCollection<'scope, Time, (MatchId, FeatureVector)>,
}

/// Matches with a result or an abandonment.
pub fn settled_matches<'scope>(state: &MatchState<'scope>) -> VecCollection<'scope, Time, MatchId> {
    state
        .results
        .clone()
        .map(|(m, _)| m)
        .concat(state.abandonments.clone().map(|(m, _)| m))
        .distinct()
}

pub fn pipeline<'scope>(
    items: StreamVec<'scope, Time, Sequenced>,
    cfg: &PipelineConfig,
) -> Pipeline<'scope> {
    let (retire_handle, retire) = items
        .scope()
        .feedback::<Vec<MatchId>>(cfg.retire_after_ms.max(1));
    let ingested = ingest(items, retire.clone(), &cfg.validation);
    let state = MatchState::split(&ingested.state);
    // Newly settled matches go round the loop, arriving `retire_after_ms` later. (Re-time each
    // update to its own time first: a collection's message may carry an earlier capability.)
    settled_matches(&state)
        .consolidate()
        .inner
        .filter(|(_, _, diff)| *diff > 0)
        .delay(|(_, t, _), _| *t)
        .map(|(m, _, _)| m)
        .connect_loop(retire_handle);
    let aggregates = aggregates(&state, &cfg.ratings);
    let dominance = dominance(&state, &cfg.dominance);
    let availability = availability(&state, retire);
    let features = features(
        &state,
        &aggregates,
        &dominance,
        &availability,
        &cfg.dominance,
        &cfg.ratings,
    );
    Pipeline {
        ingested,
        state,
        aggregates,
        dominance,
        availability,
        features,
    }
}
