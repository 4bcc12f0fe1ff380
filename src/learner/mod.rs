//! The learner: a Burn recurrent Q-network (DRQN) acting as the `drqn` policy. It implements the
//! policy interface of [`oddsflow_dataflows::policy`]; the registry ([`crate::policy`]) builds it,
//! and `oddsflow train` ([`crate::commands::train`]) trains it from the episodes it emits.
//!
//! - [`encode`]: the input of one decision step (a live match's feature delta), the action space
//!   (no-bet, or back one of a few selections at one of a few stake sizes) and its mask.
//! - [`model`]: the network — input projection, GRU over the match's steps, dueling Q head and a
//!   probability head — with the masked choice and target.
//! - [`config`]: the policy's settings, saved with each checkpoint.
//! - [`episodes`]: a match's decision steps, the learner's memory and emitted output.
//! - [`agent`]: the online `drqn` policy — acting with the carried GRU state, the reward plumbing,
//!   the episode buffer and n-step double-Q training.
//! - [`checkpoint`]: saving and loading the network with its configuration and feature schema.
//! - [`prematch`]: the probability head on a prematch step, trained and scored walk-forward on
//!   real prices (`oddsflow eval --football-data`).
pub(crate) mod agent;
pub mod checkpoint;
pub mod config;
pub(crate) mod encode;
pub mod episodes;
pub(crate) mod model;
pub mod prematch;
