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

/// The exit status of a command that read a feed file it could not read to its end (cut short
/// or corrupt) and finished on the items read before: `replay` and `eval` (outputs written,
/// `summary.json`'s `truncated` says where and why), `features` (the vector from those items)
/// and `train` (trained on them).
pub const EXIT_INPUT_ENDED_EARLY: u8 = 3;

/// The error a command returns after finishing on a feed that ended early (its outputs are
/// written): `main` prints it as a warning and exits with [`EXIT_INPUT_ENDED_EARLY`].
#[derive(Debug)]
pub struct InputEndedEarly(pub String);

impl std::fmt::Display for InputEndedEarly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputEndedEarly {}

/// The exit status for a command's error: [`EXIT_INPUT_ENDED_EARLY`] for [`InputEndedEarly`],
/// else 1.
pub fn exit_status(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<InputEndedEarly>().is_some() {
        EXIT_INPUT_ENDED_EARLY
    } else {
        1
    }
}
