//! What the learner remembers of a match: its decision [`Step`]s as one [`Episode`]. Final
//! episodes feed the replay buffer and, when the run asks for them, leave the dataflow as the
//! policy's emitted output (`oddsflow train` gathers them).

use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;

use super::encode::{ACTIONS, SELECTIONS};

/// One decision step of an episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Its event time.
    pub at: Time,
    /// The encoded input ([`encode`]).
    pub x: Vec<f32>,
    /// The price of each of the [`SELECTIONS`] at the step (0: not quoted).
    pub prices: [f32; SELECTIONS.len()],
    /// Counterfactual credit, filled when the episode is final: per selection, the profit per
    /// unit stake of backing it at this step ([`hindsight`]); `None` when it was not quoted or
    /// the outcome is unknown.
    pub hindsight: [Option<f32>; SELECTIONS.len()],
    /// The acting network's GRU state before the step, `[hidden]`: kept every
    /// [`STATE_EVERY`] steps, where a training sequence may start (R2D2's stored state).
    pub state: Option<Vec<f32>>,
    /// The action mask at the step.
    pub mask: [bool; ACTIONS],
    /// The action taken (0 when a bet was skipped).
    pub action: usize,
    /// The (scaled) profit of the step's bet so far.
    pub reward: f64,
}

/// A match's decision steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// Its decision steps, in time order.
    pub steps: Vec<Step>,
    /// Filled when the episode is final and the match has a result (or was abandoned): per
    /// selection, `Some(won)`, or `None` when void (abandoned).
    pub outcomes: Option<[Option<bool>; SELECTIONS.len()]>,
}
