//! oddsflow's runtime: everything that touches the outside world around the pure dataflows of
//! [`oddsflow_dataflows`].
//!
//! ```text
//!  cli ─► commands ─┬─► runtime (replay | live) ─► host: pipeline + policy runner + bookmaker
//!                   │      ▲ source / Kafka            │ outputs (frames, tables, summary)
//!                   │      io (feed codecs, tables, kafka)  └─► betting (ledger, reports, metrics)
//!                   ├─► import (football-data, StatsBomb, Betfair) ─► feeds
//!                   ├─► sim (seeded feeds, truth channel)
//!                   └─► policy registry ─► baselines, learner (Burn DRQN)
//! ```
//!
//! Layers, from the bottom: [`time`], [`io`], [`assets`]; [`sim`] and [`import`] (feeds);
//! [`learner`] (on the policy interface in [`oddsflow_dataflows::policy`]) and [`policy`] (the
//! registry that knows every policy); [`betting`]; [`runtime`] (the hosted pipeline, replay and
//! live); [`commands`] and [`cli`] on top. A module imports only from layers below it.
#![warn(missing_docs)]

pub mod assets;
pub mod betting;
pub mod cli;
pub mod commands;
pub mod import;
pub mod io;
pub mod learner;
pub mod policy;
pub mod runtime;
pub mod sim;
pub mod time;
