//! `oddsflow replay`: a recorded feed (or the embedded demo) through the dataflows and the
//! policies into an output directory; and the setup `replay` and `run` share.

use std::sync::Arc;

use anyhow::{Result, anyhow};

use oddsflow_dataflows::bookmaker::BookmakerConfig;
use oddsflow_dataflows::pipeline::PipelineConfig;
use oddsflow_dataflows::reject::ValidationConfig;

use super::InputEndedEarly;
use crate::cli::{ReplayArgs, print_outputs};
use crate::policy::{PolicySpec, Truth};
use crate::runtime::clock::GuardConfig;
use crate::runtime::config::RunConfig;
use crate::runtime::outputs::write_outputs;
use crate::runtime::replay::replay;
use crate::runtime::source::{file_feed, memory_feed};

/// Runs `oddsflow replay`.
pub(crate) fn run(a: ReplayArgs) -> Result<()> {
    replay_with(a, Vec::new())
}

/// `replay`, with `extra` policies after those of `--policies`.
pub(crate) fn replay_with(a: ReplayArgs, extra: Vec<PolicySpec>) -> Result<()> {
    let (timely, cfg, truth) = pipeline_setup(&a, extra)?;
    let feed = match &a.feed {
        Some(path) => file_feed(path),
        None => {
            eprintln!("no feed given: replaying the embedded demo feed (fixtures/demo.jsonl.gz)");
            memory_feed(crate::assets::demo_items()?)
        }
    };
    if let Some((outputs, stats)) = replay(feed, &cfg, truth, timely)? {
        write_outputs(&a.out, &outputs, &stats)?;
        let s = &outputs.summary;
        println!(
            "replayed {} records ({} ok, {} rejected, {} duplicates, {} stale, {} late) of {} matches on {} workers in {:.2}s: {:.0} records/s",
            s.records_in,
            s.records_ok,
            s.rejected,
            s.duplicates,
            s.stale,
            s.late,
            s.matches,
            stats.workers,
            stats.elapsed_s,
            stats.records_per_s
        );
        print_outputs(&a.out, &outputs, a.seed);
        if let Some(cut) = &outputs.summary.truncated {
            return Err(InputEndedEarly(format!(
                "{cut}; the outputs in {} are those of the {} items read before (summary.json: `truncated`)",
                a.out.display(),
                cut.items_read
            ))
            .into());
        }
    }
    Ok(())
}

/// The timely configuration, the pipeline's configuration and the truth channel of a `replay`
/// or `run`.
pub(crate) fn pipeline_setup(
    a: &ReplayArgs,
    extra: Vec<PolicySpec>,
) -> Result<(timely::Config, RunConfig, Option<Arc<Truth>>)> {
    let mut args = vec![
        "-w".to_string(),
        a.workers.to_string(),
        "-n".into(),
        a.processes.to_string(),
        "-p".into(),
        a.process.to_string(),
    ];
    if let Some(h) = &a.hostfile {
        args.extend(["-h".to_string(), h.display().to_string()]);
    }
    let timely = timely::Config::from_args(args.into_iter())
        .map_err(|e| anyhow!("timely arguments: {e}"))?;
    let truth_path = a
        .truth
        .clone()
        .or_else(|| a.feed.as_deref().and_then(Truth::beside));
    // The truth channel is only read when the oracle runs (the default list has it when there is one).
    let wants_oracle = a
        .policies
        .as_deref()
        .is_none_or(|list| list.split(',').any(|n| n.trim() == "oracle"));
    let truth = match (&truth_path, &a.feed) {
        _ if !wants_oracle => None,
        (Some(path), _) => Some(Truth::load(path)?),
        (None, None) if !a.live => Some(crate::assets::demo_truth()?),
        (None, _) => None,
    }
    .map(Arc::new);
    let mut policies = match a.policies.as_deref() {
        None => {
            // The baselines and the learner (`eval` brings its own, frozen).
            let mut v = PolicySpec::baselines(a.seed, truth.is_some());
            if extra.is_empty() {
                v.push(PolicySpec::parse("drqn", a.seed)?);
            }
            v
        }
        Some("none") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|n| PolicySpec::parse(n.trim(), a.seed))
            .collect::<Result<Vec<_>>>()?,
    };
    // The learner starts from `--model` or from the shipped checkpoint.
    for p in &mut policies {
        if let PolicySpec::Drqn(c) = p
            && c.checkpoint_in.is_none()
        {
            c.checkpoint_in = Some(match &a.model {
                Some(dir) => dir.clone(),
                None => crate::assets::shipped_checkpoint()?,
            });
        }
    }
    policies.extend(extra);
    let validation = ValidationConfig {
        max_price: a.max_price,
    };
    validation
        .check()
        .map_err(|e| anyhow!("--max-price: {e}"))?;
    let cfg = RunConfig {
        granularity_ms: a.granularity_ms,
        lateness_ms: a.lateness_ms,
        clock: GuardConfig {
            max_ahead_ms: a.max_ahead_ms,
            max_wall_ahead_ms: a.max_wall_ahead_ms,
            ..GuardConfig::default()
        },
        pipeline: PipelineConfig {
            validation,
            ..PipelineConfig::default()
        },
        progress: !a.no_progress,
        keep_outputs: !a.discard_outputs,
        policies,
        bookmaker: BookmakerConfig {
            bankroll: a.bankroll,
            inplay_delay_ms: a.inplay_delay_ms,
            price_tolerance: a.price_tolerance,
            ..BookmakerConfig::default()
        },
        seed: a.seed,
        ..RunConfig::default()
    };
    Ok((timely, cfg, truth))
}
