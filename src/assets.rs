//! What the binary carries with it: the shipped demo feed, its truth channel, and the pre-trained
//! `drqn` checkpoint, so that `oddsflow replay` runs anywhere without arguments.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use oddsflow_dataflows::ingest::Payload;

use crate::learner::checkpoint::{META_FILE, PARAMS_FILE};
use crate::policy::Truth;

/// The shipped demo feed (`fixtures/demo.jsonl.gz`).
pub(crate) const DEMO_FEED: &[u8] = include_bytes!("../fixtures/demo.jsonl.gz");
/// The simulator's truth channel for the demo feed (for the oracle policy).
pub(crate) const DEMO_TRUTH: &[u8] = include_bytes!("../fixtures/demo.truth.jsonl.gz");
const DRQN_META: &[u8] = include_bytes!("../fixtures/drqn/checkpoint.json");
const DRQN_PARAMS: &[u8] = include_bytes!("../fixtures/drqn/model.bpk");

fn gunzip(bytes: &[u8], what: &str) -> Result<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .with_context(|| format!("decoding the embedded {what}"))?;
    Ok(text)
}

/// The embedded demo feed's items.
pub(crate) fn demo_items() -> Result<Vec<Payload>> {
    Ok(gunzip(DEMO_FEED, "demo feed")?
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| Payload::Line(l.to_string()))
        .collect())
}

/// The demo feed's truth channel.
pub(crate) fn demo_truth() -> Result<Truth> {
    let rows: Vec<crate::sim::TruthRow> = gunzip(DEMO_TRUTH, "demo truth")?
        .lines()
        .filter(|l| !l.is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("reading the embedded demo truth")?;
    Ok(Truth::from_rows(&rows))
}

/// The shipped pre-trained `drqn` checkpoint (`fixtures/drqn/`, trained by the learning benchmark
/// on a simulated planted world, see the README), written to a directory of the system's
/// temporary folder named by its content hash.
pub fn shipped_checkpoint() -> Result<PathBuf> {
    let h = oddsflow_operators::Fnv1a::new()
        .bytes(DRQN_META)
        .bytes(DRQN_PARAMS)
        .value();
    let dir = std::env::temp_dir().join(format!("oddsflow-drqn-{h:016x}"));
    let complete = |d: &Path| {
        std::fs::read(d.join(META_FILE)).is_ok_and(|m| m == DRQN_META)
            && std::fs::read(d.join(PARAMS_FILE)).is_ok_and(|p| p == DRQN_PARAMS)
    };
    if !complete(&dir) {
        // Written beside and renamed, so a concurrent process never reads half a file.
        let staging = tempfile::Builder::new()
            .prefix(&format!("oddsflow-drqn-{h:016x}."))
            .tempdir_in(std::env::temp_dir())
            .context("creating a staging directory for the shipped checkpoint")?;
        std::fs::write(staging.path().join(META_FILE), DRQN_META)?;
        std::fs::write(staging.path().join(PARAMS_FILE), DRQN_PARAMS)?;
        if std::fs::rename(staging.path(), &dir).is_ok() {
            // Moved into place: nothing is left to clean up.
            let _ = staging.keep();
        } else if !complete(&dir) {
            // Another process got there first, or a stale partial one is in the way (the
            // staging directory is removed when dropped).
            bail!(
                "could not write the shipped checkpoint to {}",
                dir.display()
            );
        }
    }
    Ok(dir)
}
