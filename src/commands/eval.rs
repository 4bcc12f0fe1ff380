//! `oddsflow eval`: a frozen `drqn` checkpoint replayed beside the baselines, or with
//! `--football-data` the walk-forward evaluation on real prices.

use anyhow::{Result, bail};

use oddsflow_dataflows::reject::ValidationConfig;

use crate::cli::{EvalArgs, ReplayArgs};
use crate::policy::PolicySpec;
use crate::runtime::clock::GuardConfig;

/// Runs `oddsflow eval`.
pub(crate) fn run(a: EvalArgs) -> Result<()> {
    use crate::learner::config::DrqnPolicyConfig;
    if !a.football_data.is_empty() {
        let mut cfg = crate::commands::walk_forward::WalkForwardConfig::new(a.football_data, a.out);
        cfg.seed = a.seed;
        cfg.workers = a.workers;
        cfg.head.updates = a.head_updates;
        if let Some(e) = a.min_prob_edge {
            cfg.min_prob_edge = e;
        }
        let w = crate::commands::walk_forward::walk_forward(&cfg)?;
        print!("{}", crate::commands::walk_forward::format_markdown(&w));
        println!(
            "\nwritten: {}/walk_forward.md, walk_forward.json",
            cfg.out.display()
        );
        return Ok(());
    }
    let (Some(feed), Some(model)) = (a.feed, a.model) else {
        bail!("eval needs FEED and --model, or --football-data CSV…");
    };
    let drqn = PolicySpec::Drqn(DrqnPolicyConfig {
        seed: a.seed,
        checkpoint_in: Some(model),
        frozen: true,
        min_advantage: a
            .min_advantage
            .unwrap_or(DrqnPolicyConfig::default().min_advantage),
        min_prob_edge: a
            .min_prob_edge
            .unwrap_or(DrqnPolicyConfig::default().min_prob_edge),
        ..DrqnPolicyConfig::default()
    });
    let args = ReplayArgs {
        feed: Some(feed),
        out: a.out,
        workers: a.workers,
        processes: 1,
        process: 0,
        hostfile: None,
        granularity_ms: 1_000,
        lateness_ms: 30_000,
        no_progress: true,
        discard_outputs: false,
        policies: a.no_baselines.then(|| "none".to_string()),
        model: None,
        seed: a.seed,
        truth: None,
        bankroll: 1_000.0,
        inplay_delay_ms: 5_000,
        price_tolerance: 0.02,
        max_price: ValidationConfig::default().max_price,
        max_ahead_ms: GuardConfig::default().max_ahead_ms,
        max_wall_ahead_ms: GuardConfig::default().max_wall_ahead_ms,
        help: None,
        live: false,
    };
    super::replay::replay_with(args, vec![drqn])
}
