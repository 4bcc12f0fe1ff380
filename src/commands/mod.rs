//! The body of each subcommand: it takes the parsed arguments ([`crate::cli`]), runs the job
//! through the runtime, the importers or the simulator, and prints what a person needs.
//! [`train`] and [`walk_forward`] also hold the jobs' own logic (the trainer's loop, the
//! walk-forward evaluation), which the benchmarks call directly.

pub(crate) mod eval;
pub(crate) mod features;
pub(crate) mod import;
pub(crate) mod produce;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod simulate;
pub mod train;
pub mod walk_forward;
