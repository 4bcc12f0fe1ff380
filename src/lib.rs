//! oddsflow's runtime: feeds in and out (files), the simulator, the replay runtime and the CLI.
pub mod cli;
pub mod feed;
pub mod host;
pub mod import;
pub mod introspection;
pub mod kafka;
pub mod learner;
pub mod ledger;
pub mod live;
pub mod metrics;
pub mod policy;
pub mod replay;
pub mod sim;
pub mod table;
pub mod walk_forward;
