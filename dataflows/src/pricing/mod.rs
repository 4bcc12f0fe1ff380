//! Football pricing math, one home for each piece: margin removal and application
//! ([`margin`]), the price ladder ([`ladder`]), the goal model's Poisson / Dixon–Coles grid and
//! late-goal profile ([`goals`]), and the in-play constants and decided-market rule
//! ([`inplay`]). Pure functions: no dataflow, no I/O. The simulator, the in-play importer, the
//! features, the baselines, the learner and the walk-forward evaluation all call these.

pub mod goals;
pub mod inplay;
pub mod ladder;
pub mod margin;
