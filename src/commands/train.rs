//! Offline training of the `drqn` policy from recorded feeds (`oddsflow train`).
//!
//! ```text
//!  checkpoint ──► replay feed (drqn acts, explores, collects final episodes) ──► episodes
//!      ▲                                                                           │
//!      └──────── save ◄── `updates_per_pass` updates ◄── trainer's episode buffer ◄─┘
//! ```
//!
//! One **trainer** ([`DrqnPolicy`], never inside a dataflow) holds the network, the target
//! network, the optimizer state and an episode buffer for the whole run. Each pass replays every
//! feed through the whole pipeline with the `drqn` policy built from the trainer's latest
//! checkpoint, acting with exploration but not learning online (`learn_online: false`); the
//! final episodes (with their counterfactual credit, see [`crate::learner::agent`]) come back as
//! the run's emitted output ([`crate::runtime::outputs::Outputs::emitted`]). Then the trainer runs `updates_per_pass` updates over
//! its buffer and saves the checkpoint the next replay starts from. Acting and training
//! alternate, as in a distributed actor/learner, but in lock-step, so a run is deterministic for
//! a seed.
//!
//! **Fresh matches.** With `feed_per_pass`, pass `i` replays only `feeds[i % feeds.len()]`;
//! given one feed per pass (the learning benchmark simulates them from different seeds), the
//! learner never acts twice on the same match, and the buffer grows with new matches rather
//! than with new episodes of the old ones. Measured on the planted world (one training seed,
//! test feed seed 5002): six fresh feeds, 500 updates after each, +19.5 % test ROI; one feed
//! replayed three times with 1000 updates after each, −7.0 %.
//!
//! In: feed paths and [`TrainOptions`]. Out: a checkpoint in `out` and a [`TrainReport`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;

use oddsflow_dataflows::bookmaker::BookmakerConfig;

use crate::learner::agent::DrqnPolicy;
use crate::learner::checkpoint;
use crate::learner::config::DrqnPolicyConfig;
use crate::learner::episodes::Episode;
use crate::policy::PolicySpec;
use crate::runtime::config::RunConfig;
use crate::runtime::replay::replay;
use crate::runtime::source::file_feed;

/// Settings of a training run.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// The checkpoint directory: continued from when it holds one, written after every pass.
    pub out: PathBuf,
    /// Training passes (replays, each followed by `updates_per_pass` updates).
    pub passes: usize,
    /// Seed of the trainer (initial weights, batch sampling); pass `i` acts with `seed + i`.
    pub seed: u64,
    /// Timely worker threads of each replay.
    pub workers: usize,
    /// The learner's bankroll in the replays (large: training is not a money test).
    pub bankroll: f64,
    /// Updates after each pass.
    pub updates_per_pass: usize,
    /// Each pass replays one feed, the next in turn (`feeds[pass % feeds.len()]`), instead of
    /// all of them: with as many feeds as passes, every pass acts on matches it has never seen.
    pub feed_per_pass: bool,
    /// The policy's settings (seed, checkpoints, sink and `learn_online` are set here).
    pub policy: DrqnPolicyConfig,
}

impl TrainOptions {
    /// The defaults, writing the checkpoint to `out`.
    pub fn new(out: PathBuf) -> Self {
        TrainOptions {
            out,
            passes: 3,
            seed: 1,
            workers: 1,
            bankroll: 1_000_000.0,
            updates_per_pass: 300,
            feed_per_pass: false,
            policy: DrqnPolicyConfig {
                buffer_episodes: 3_000,
                batch_episodes: 16,
                ..DrqnPolicyConfig::default()
            },
        }
    }
}

/// One replay of a training pass.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    /// The pass (1-based).
    pub pass: usize,
    /// The feed replayed.
    pub feed: String,
    /// Final episodes it produced.
    pub episodes: usize,
    /// Decision steps taken.
    pub decisions: usize,
    /// Bets requested.
    pub requests: u64,
    /// Bets the bookmaker accepted.
    pub accepted: u64,
    /// Settled profit.
    pub profit: f64,
    /// Profit over turnover.
    pub roi: f64,
    /// Seconds the replay took.
    pub seconds: f64,
    /// Set when the feed could not be read to its end (cut short or corrupt): where and why
    /// (the pass acted on the items read before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
}

/// What a training run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrainReport {
    /// Every replay, in order.
    pub replays: Vec<ReplayReport>,
    /// Training updates made.
    pub updates: u64,
    /// Mean loss of each pass's updates.
    pub losses: Vec<f32>,
    /// Seconds acting (replays) and learning (updates).
    pub replay_s: f64,
    /// Seconds learning (updates).
    pub update_s: f64,
    /// Decision steps taken in the replays, per second of replay.
    pub decisions_per_s: f64,
}

/// Trains (see the module docs). `log` gets one line per replay and per pass.
pub fn train(
    feeds: &[PathBuf],
    opts: &TrainOptions,
    log: &mut dyn FnMut(&str),
) -> Result<TrainReport> {
    if feeds.is_empty() {
        bail!("no feed to train on");
    }
    let dir = &opts.out;
    let continuing = checkpoint::exists(dir);
    let mut trainer = DrqnPolicy::from_config(DrqnPolicyConfig {
        seed: opts.seed,
        checkpoint_in: continuing.then(|| dir.clone()),
        checkpoint_out: None,
        learn_online: false,
        ..opts.policy.clone()
    })?;
    if !continuing {
        trainer.save_checkpoint(dir)?;
    }
    let mut report = TrainReport::default();
    let mut decisions = 0usize;
    for pass in 0..opts.passes {
        let this_pass = if opts.feed_per_pass {
            std::slice::from_ref(&feeds[pass % feeds.len()])
        } else {
            feeds
        };
        for feed in this_pass {
            let r = replay_once(feed, pass, opts)?;
            decisions += r.1;
            for e in r.2 {
                trainer.remember(e);
            }
            report.replay_s += r.0.seconds;
            if let Some(cut) = &r.0.truncated {
                log(&format!(
                    "warning: pass {}: {cut}; acting on the items read before",
                    pass + 1
                ));
            }
            log(&format!(
                "pass {} {}: {} episodes, {} decisions, {} requests, {} accepted, profit {:.2}, ROI {:.4} ({:.1} s)",
                pass + 1,
                r.0.feed,
                r.0.episodes,
                r.0.decisions,
                r.0.requests,
                r.0.accepted,
                r.0.profit,
                r.0.roi,
                r.0.seconds
            ));
            report.replays.push(r.0);
        }
        let start = Instant::now();
        let mut sum = 0.0f64;
        let mut n = 0usize;
        for _ in 0..opts.updates_per_pass {
            if let Some(loss) = trainer.train() {
                sum += f64::from(loss);
                n += 1;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        report.update_s += secs;
        report.updates += n as u64;
        let mean = if n > 0 {
            (sum / n as f64) as f32
        } else {
            f32::NAN
        };
        report.losses.push(mean);
        trainer.save_checkpoint(dir)?;
        log(&format!(
            "pass {}: {n} updates over {} buffered episodes, mean loss {mean:.4} ({secs:.1} s)",
            pass + 1,
            trainer.buffer().len()
        ));
    }
    report.decisions_per_s = decisions as f64 / report.replay_s.max(1e-9);
    Ok(report)
}

/// One replay of `feed` with the policy from the checkpoint: its report, decisions and episodes.
fn replay_once(
    feed: &Path,
    pass: usize,
    opts: &TrainOptions,
) -> Result<(ReplayReport, usize, Vec<Episode>)> {
    let drqn = DrqnPolicyConfig {
        seed: opts.seed.wrapping_add(pass as u64),
        checkpoint_in: Some(opts.out.clone()),
        checkpoint_out: None,
        learn_online: false,
        frozen: false,
        emit_episodes: true,
        ..opts.policy.clone()
    };
    let cfg = RunConfig {
        progress: false,
        keep_outputs: false,
        policies: vec![PolicySpec::Drqn(drqn)],
        seed: opts.seed,
        bookmaker: BookmakerConfig {
            bankroll: opts.bankroll,
            ..BookmakerConfig::default()
        },
        ..RunConfig::default()
    };
    let timely =
        timely::Config::from_args(["-w".to_string(), opts.workers.max(1).to_string()].into_iter())
            .map_err(|e| anyhow::anyhow!("timely arguments: {e}"))?;
    let Some((outputs, stats)) = replay(file_feed(feed), &cfg, None, timely)? else {
        bail!("replaying {} gave no outputs", feed.display());
    };
    let r = outputs
        .reports
        .iter()
        .find(|r| r.policy == "drqn")
        .ok_or_else(|| anyhow::anyhow!("no drqn report for {}", feed.display()))?;
    let episodes: Vec<Episode> = outputs.emitted.into_iter().map(|(_, e)| e).collect();
    let decisions = episodes.iter().map(|e| e.steps.len()).sum();
    Ok((
        ReplayReport {
            pass: pass + 1,
            feed: feed.display().to_string(),
            episodes: episodes.len(),
            decisions,
            requests: r.requests,
            accepted: r.accepted,
            profit: r.metrics.profit,
            roi: r.metrics.roi,
            seconds: stats.elapsed_s,
            truncated: outputs.summary.truncated.as_ref().map(|c| c.to_string()),
        },
        decisions,
        episodes,
    ))
}

/// Runs `oddsflow train`.
pub(crate) fn run(a: crate::cli::TrainArgs) -> Result<()> {
    let mut opts = TrainOptions {
        passes: a.passes,
        seed: a.seed,
        workers: a.workers,
        bankroll: a.bankroll,
        updates_per_pass: a.updates,
        feed_per_pass: a.feed_per_pass,
        ..TrainOptions::new(a.out.clone())
    };
    if let Some(w) = a.prior_weight {
        opts.policy.prior_weight = w;
    }
    let report = train(&a.feeds, &opts, &mut |line| println!("{line}"))?;
    println!(
        "trained: {} updates in {:.1} s, acting {:.1} s ({:.0} decisions/s); checkpoint {} ({} updates in all)",
        report.updates,
        report.update_s,
        report.replay_s,
        report.decisions_per_s,
        a.out.join(checkpoint::META_FILE).display(),
        checkpoint::updates(&a.out)?
    );
    let cut: Vec<&str> = report
        .replays
        .iter()
        .filter_map(|r| r.truncated.as_deref())
        .collect();
    if let Some(first) = cut.first() {
        return Err(super::InputEndedEarly(format!(
            "{} of {} replays read a feed that ended early (trained on the items read before): {first}",
            cut.len(),
            report.replays.len()
        ))
        .into());
    }
    Ok(())
}
