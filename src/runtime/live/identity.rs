//! A live run's identity: every setting that changes its outputs, one `path = value` line each,
//! written in the changelog's header. A restart whose identity differs is refused, naming the
//! first setting that differs, so that one changelog never mixes two runs.
//!
//! In: the [`LiveConfig`] and the truth channel. Out: the identity text, and the first
//! difference between two of them. The whole [`RunConfig`](crate::runtime::config::RunConfig)
//! is in it (the pipeline, the clock guard, the bookmaker, every policy option, whether outputs
//! are kept), with two substitutions: a policy's checkpoint directory stands by the hash of its
//! files' content (its path may move), and the truth channel by the hash of its rows. Settings
//! that only change how fast or how visibly the run goes (progress, idle timeouts, frame
//! interval, the Kafka group) are not in it.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;

use super::LiveConfig;
use crate::policy::Truth;

/// The identity of a run of `cfg` with `truth`.
pub(super) fn identity(cfg: &LiveConfig, truth: Option<&Arc<Truth>>) -> Result<String> {
    let mut run = serde_json::to_value(&cfg.run).context("writing the run's settings")?;
    if let Value::Object(m) = &mut run {
        m.remove("progress");
    }
    let mut lines = vec![format!("topic = {:?}", cfg.topic)];
    flatten("run", &run, &mut lines)?;
    lines.push(match truth {
        Some(t) => format!("truth = content {:016x}", t.content_hash()),
        None => "truth = none".to_string(),
    });
    Ok(lines.join("\n"))
}

/// One `path = value` line per leaf of `v`; a `checkpoint_in` directory as its content hash.
fn flatten(path: &str, v: &Value, out: &mut Vec<String>) -> Result<()> {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = format!("{path}.{k}");
                match (k.as_str(), v) {
                    ("checkpoint_in", Value::String(dir)) => {
                        out.push(format!("{p} = content {:016x}", dir_hash(Path::new(dir))?))
                    }
                    _ => flatten(&p, v, out)?,
                }
            }
        }
        Value::Array(a) => {
            out.push(format!("{path}.len = {}", a.len()));
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), v, out)?;
            }
        }
        leaf => out.push(format!("{path} = {leaf}")),
    }
    Ok(())
}

/// The FNV-1a of a directory's files (names and bytes, in name order; not recursive).
fn dir_hash(dir: &Path) -> Result<u64> {
    let mut h = oddsflow_operators::hash::Fnv1a::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the checkpoint {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        h.bytes(name.unwrap_or_default().as_bytes());
        h.bytes(&std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?);
    }
    Ok(h.value())
}

/// The first line where `then` (the changelog's) and `now` (this run's) differ, said for a
/// person: `None` when they are the same.
pub(super) fn first_difference(then: &str, now: &str) -> Option<String> {
    if then == now {
        return None;
    }
    let key = |l: &str| l.split(" = ").next().unwrap_or(l).to_string();
    let then_lines: Vec<&str> = then.lines().collect();
    let now_lines: Vec<&str> = now.lines().collect();
    for l in &now_lines {
        let k = key(l);
        match then_lines.iter().find(|t| key(t) == k) {
            Some(t) if t != l => {
                return Some(format!("{k}: {} then, {} now", value(t), value(l)));
            }
            None => return Some(format!("{k}: not set then, {} now", value(l))),
            _ => {}
        }
    }
    match then_lines
        .iter()
        .find(|t| !now_lines.iter().any(|l| key(l) == key(t)))
    {
        Some(t) => Some(format!("{}: {} then, not set now", key(t), value(t))),
        None => Some("the settings' order".to_string()),
    }
}

fn value(line: &str) -> &str {
    line.split_once(" = ").map_or(line, |(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_is_named() {
        let a = "topic = \"t\"\nrun.lateness_ms = 30000\nrun.bookmaker.inplay_delay_ms = 5000";
        let b = "topic = \"t\"\nrun.lateness_ms = 30000\nrun.bookmaker.inplay_delay_ms = 3000";
        assert_eq!(first_difference(a, a), None);
        assert_eq!(
            first_difference(a, b).as_deref(),
            Some("run.bookmaker.inplay_delay_ms: 5000 then, 3000 now")
        );
        assert_eq!(
            first_difference("granularity 1000 ms, lateness 30000 ms", b).as_deref(),
            Some("topic: not set then, \"t\" now")
        );
    }
}
