//! The learning benchmark (issue 5): does the `drqn` learner really learn?
//!
//! ```text
//! cargo bench --bench learning -- [--seeds 5] [--matches 300] [--passes 3] [--updates 1000]
//!                                 [--workers 2] [--out benches/results/learning] [--worlds planted,null]
//!                                 [--reuse-models]
//! ```
//!
//! For each world — **planted** (`lags-after-goals:30`: after a goal the bookmaker reopens its
//! markets priced as if the goal had not happened, for 30 s) and **null** (no inefficiency) — it
//! simulates one training feed per pass (odd seeds) and a test feed (an even seed), `--matches`
//! each at 12 kick-offs a day, trains one learner per training seed (`oddsflow train`'s loop,
//! `commands::train`, each pass acting on the next, unseen training feed), and replays the test feed with the baselines (no-bet, random, favourite,
//! value, and the oracle reading the simulator's true probabilities) and with each trained
//! learner frozen (greedy, no learning). Everything on the test feed is out of sample.
//!
//! Reported per world: bets, turnover, ROI with its 95 % bootstrap interval over match-days,
//! CLV, maximum drawdown, for every baseline, each training seed's learner, and the learners
//! pooled (all seeds' bets, match-days resampled together); the learner's ROI as a share of the
//! oracle's; its rejections by reason and coupons; and the training time and acting speed.
//! Raw results go to `OUT/learning.json`, the table to `OUT/learning.md` and stdout.
//!
//! `--reuse-models` evaluates the models an earlier run left in `OUT` (trained by the same
//! command) instead of training new ones: for a change that affects only acting, such as the
//! greedy thresholds; the training time is then not measured.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use oddsflow::betting::ledger::settled_bets;
use oddsflow::betting::metrics::{SettledBet, bootstrap_roi, metrics};
use oddsflow::betting::reports::PolicyReport;
use oddsflow::commands::train::{TrainOptions, train};
use oddsflow::io::feed::FeedWriter;
use oddsflow::learner::config::DrqnPolicyConfig;
use oddsflow::policy::PolicySpec;
use oddsflow::policy::truth::Truth;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::Outputs;
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::file_feed;
use oddsflow::sim::{Inefficiency, SimConfig, simulate};

struct Args {
    seeds: u64,
    matches: usize,
    passes: usize,
    updates: usize,
    workers: usize,
    /// Training seeds run side by side.
    jobs: usize,
    out: PathBuf,
    worlds: Vec<String>,
    /// Evaluate the models an earlier run left in `out` instead of training new ones (after a
    /// change that affects only acting, e.g. a threshold).
    reuse_models: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        seeds: 5,
        matches: 300,
        passes: 3,
        updates: 1000,
        workers: 1,
        jobs: 2,
        out: PathBuf::from("benches/results/learning"),
        worlds: vec!["planted".into(), "null".into()],
        reuse_models: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seeds" => a.seeds = value()?.parse()?,
            "--matches" => a.matches = value()?.parse()?,
            "--passes" => a.passes = value()?.parse()?,
            "--updates" => a.updates = value()?.parse()?,
            "--workers" => a.workers = value()?.parse()?,
            "--jobs" => a.jobs = value()?.parse()?,
            "--out" => a.out = value()?.into(),
            "--worlds" => a.worlds = value()?.split(',').map(String::from).collect(),
            "--reuse-models" => a.reuse_models = true,
            "--bench" => {} // cargo bench passes it
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

#[derive(Serialize)]
struct Row {
    policy: String,
    bets: usize,
    turnover: f64,
    profit: f64,
    roi: f64,
    roi_interval: Option<(f64, f64)>,
    clv: Option<f64>,
    max_drawdown: f64,
    coupons: u64,
    rejected_by_reason: std::collections::BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct World {
    world: String,
    train_feeds: Vec<String>,
    test_feed: String,
    rows: Vec<Row>,
    /// Learner ROI (pooled) / oracle ROI.
    capture: Option<f64>,
    train_seconds: Vec<f64>,
    decisions_per_s: Vec<f64>,
    updates: Vec<u64>,
}

fn row(r: &PolicyReport, name: &str) -> Row {
    Row {
        policy: name.to_string(),
        bets: r.metrics.bets,
        turnover: r.metrics.turnover,
        profit: r.metrics.profit,
        roi: r.metrics.roi,
        roi_interval: r.roi_interval,
        clv: r.metrics.clv,
        max_drawdown: r.metrics.max_drawdown,
        coupons: r.coupons,
        rejected_by_reason: r.rejected_by_reason.clone(),
    }
}

fn simulate_to(path: &Path, matches: usize, seed: u64, planted: bool) -> Result<Arc<Truth>> {
    let cfg = SimConfig {
        matches,
        seed,
        inefficiency: planted.then_some(Inefficiency::LagsAfterGoals { seconds: 30 }),
        ..SimConfig::default()
    }
    .with_matches_per_day(12);
    let out = simulate(&cfg);
    let mut w = FeedWriter::create(path)?;
    for item in &out.items {
        w.write(item)?;
    }
    w.finish()?;
    Ok(Arc::new(Truth::from_rows(&out.truth)))
}

fn run(
    feed: &Path,
    policies: Vec<PolicySpec>,
    truth: Option<Arc<Truth>>,
    workers: usize,
) -> Result<Outputs> {
    let cfg = RunConfig {
        progress: false,
        keep_outputs: false,
        policies,
        seed: 7,
        ..RunConfig::default()
    };
    let timely = timely::Config::process(workers.max(1));
    let (outputs, _) =
        replay(file_feed(feed), &cfg, truth, timely)?.context("the replay gave no outputs")?;
    Ok(outputs)
}

fn pct(x: f64) -> String {
    format!("{:+.2}", 100.0 * x)
}

fn table(w: &World) -> String {
    let mut s = format!(
        "### {} world (test feed {}, learner trained on {})\n\n| policy | bets | turnover | ROI % [95 % CI] | CLV % | max drawdown % | coupons | rejected |\n|---|---:|---:|---|---:|---:|---:|---|\n",
        w.world,
        w.test_feed,
        w.train_feeds.join(", ")
    );
    for r in &w.rows {
        let ci = r.roi_interval.map_or("—".to_string(), |(lo, hi)| {
            format!("[{}, {}]", pct(lo), pct(hi))
        });
        let rejected: Vec<String> = r
            .rejected_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        s += &format!(
            "| {} | {} | {:.0} | {} {} | {} | {:.1} | {} | {} |\n",
            r.policy,
            r.bets,
            r.turnover,
            pct(r.roi),
            ci,
            r.clv.map_or("—".to_string(), pct),
            100.0 * r.max_drawdown,
            r.coupons,
            if rejected.is_empty() {
                "—".to_string()
            } else {
                rejected.join(", ")
            }
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    if w.train_seconds.iter().all(|t| t.is_nan()) {
        s += &format!(
            "\nLearner ROI / oracle ROI: {}. Models reused from an earlier run of this command ({} updates each): training not timed here.\n",
            w.capture.map_or("—".to_string(), |c| format!("{:.2}", c)),
            w.updates.first().copied().unwrap_or(0),
        );
        return s;
    }
    s += &format!(
        "\nLearner ROI / oracle ROI: {}. Training per seed: {:.0} s mean ({} updates); acting {:.0} decisions/s mean.\n",
        w.capture.map_or("—".to_string(), |c| format!("{:.2}", c)),
        mean(&w.train_seconds),
        w.updates.first().copied().unwrap_or(0),
        mean(&w.decisions_per_s)
    );
    s
}

struct Learner {
    row: Row,
    bets: Vec<SettledBet>,
    train_seconds: f64,
    decisions_per_s: f64,
    updates: u64,
}

/// Trains the learner of one seed on the training feed, then replays the test feed with it frozen.
fn learner(
    a: &Args,
    name: &str,
    seed: u64,
    train_feeds: &[PathBuf],
    test_feed: &Path,
    started: Instant,
) -> Result<Learner> {
    let model = a.out.join(format!("{name}-model-seed{seed}"));
    if a.reuse_models && oddsflow::learner::checkpoint::exists(&model) {
        eprintln!("  {name} seed {seed}: reusing {}", model.display());
        let updates = oddsflow::learner::checkpoint::updates(&model)?;
        return test_learner(
            a,
            name,
            seed,
            model,
            test_feed,
            started,
            f64::NAN,
            f64::NAN,
            updates,
        );
    }
    let _ = std::fs::remove_dir_all(&model);
    let opts = TrainOptions {
        passes: a.passes,
        seed,
        workers: a.workers,
        updates_per_pass: a.updates,
        feed_per_pass: true,
        ..TrainOptions::new(model.clone())
    };
    let t = Instant::now();
    let report = train(train_feeds, &opts, &mut |l| {
        eprintln!("  {name} seed {seed}: {l}")
    })?;
    let train_seconds = t.elapsed().as_secs_f64();
    test_learner(
        a,
        name,
        seed,
        model,
        test_feed,
        started,
        train_seconds,
        report.decisions_per_s,
        report.updates,
    )
}

/// Replays the test feed with the learner in `model`, frozen.
#[allow(clippy::too_many_arguments)]
fn test_learner(
    a: &Args,
    name: &str,
    seed: u64,
    model: PathBuf,
    test_feed: &Path,
    started: Instant,
    train_seconds: f64,
    decisions_per_s: f64,
    updates: u64,
) -> Result<Learner> {
    let drqn = PolicySpec::Drqn(DrqnPolicyConfig {
        seed,
        checkpoint_in: Some(model),
        frozen: true,
        ..DrqnPolicyConfig::default()
    });
    let out = run(test_feed, vec![drqn], None, a.workers)?;
    let r = &out.reports[0];
    eprintln!(
        "[{:.0} s] {name} seed {seed}: test ROI {:.4} on {} bets",
        started.elapsed().as_secs_f64(),
        r.metrics.roi,
        r.metrics.bets
    );
    Ok(Learner {
        row: row(r, &format!("drqn seed {seed}")),
        bets: settled_bets(&out.betting, 0, &out.prematch_close),
        train_seconds,
        decisions_per_s,
        updates,
    })
}

fn main() -> Result<()> {
    let a = args()?;
    std::fs::create_dir_all(&a.out)?;
    let started = Instant::now();
    let mut worlds = Vec::new();
    for (wi, name) in a.worlds.iter().enumerate() {
        let planted = match name.as_str() {
            "planted" => true,
            "null" => false,
            other => anyhow::bail!("unknown world {other} (planted, null)"),
        };
        let base = 5_000 + 100 * wi as u64;
        // One training feed per pass (odd seeds), so that no pass acts on matches it has seen;
        // the test feed from an even seed.
        let mut train_feeds = Vec::new();
        for pass in 0..a.passes.max(1) as u64 {
            let seed = base + 1 + 2 * pass;
            let feed = a.out.join(format!("{name}-train-s{seed}.jsonl.gz"));
            if !(a.reuse_models && feed.exists()) {
                simulate_to(&feed, a.matches, seed, planted)?;
            }
            train_feeds.push(feed);
        }
        let test_feed = a.out.join(format!("{name}-test-s{}.jsonl.gz", base + 2));
        let truth = simulate_to(&test_feed, a.matches, base + 2, planted)?;
        eprintln!(
            "[{:.0} s] {name}: feeds simulated",
            started.elapsed().as_secs_f64()
        );

        let base_out = run(
            &test_feed,
            PolicySpec::baselines(7, true),
            Some(truth),
            a.workers,
        )?;
        eprintln!(
            "[{:.0} s] {name}: baselines replayed",
            started.elapsed().as_secs_f64()
        );

        // Train and test one learner per seed, `--jobs` at a time.
        let queue = std::sync::Mutex::new((1..=a.seeds).rev().collect::<Vec<u64>>());
        let done = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..a.jobs.max(1) {
                scope.spawn(|| {
                    // The queue's lock is released before the work: a `while let` keeps the
                    // scrutinee's temporaries (the guard) alive through its body, which ran the
                    // seeds one at a time.
                    loop {
                        let next = queue.lock().unwrap().pop();
                        let Some(seed) = next else { break };
                        let r = learner(&a, name, seed, &train_feeds, &test_feed, started);
                        done.lock().unwrap().push((seed, r));
                    }
                });
            }
        });
        let mut done = done.into_inner().unwrap();
        done.sort_by_key(|(seed, _)| *seed);
        let mut learner_rows = Vec::new();
        let mut pooled: Vec<SettledBet> = Vec::new();
        let (mut train_seconds, mut dps, mut updates) = (Vec::new(), Vec::new(), Vec::new());
        for (_, r) in done {
            let r = r?;
            learner_rows.push(r.row);
            pooled.extend(r.bets);
            train_seconds.push(r.train_seconds);
            dps.push(r.decisions_per_s);
            updates.push(r.updates);
        }
        let m = metrics(&pooled, 1_000.0 * a.seeds as f64);
        let mut rows = vec![Row {
            policy: format!("drqn, {} seeds pooled", a.seeds),
            bets: m.bets,
            turnover: m.turnover,
            profit: m.profit,
            roi: m.roi,
            roi_interval: bootstrap_roi(&pooled, 2_000, 0.95, 7),
            clv: m.clv,
            max_drawdown: m.max_drawdown,
            coupons: learner_rows.iter().map(|r| r.coupons).sum(),
            rejected_by_reason: learner_rows.iter().fold(Default::default(), |mut acc, r| {
                for (k, v) in &r.rejected_by_reason {
                    *acc.entry(k.clone()).or_insert(0) += v;
                }
                acc
            }),
        }];
        rows.extend(learner_rows);
        let mut oracle_roi = None;
        for name in ["oracle", "value", "favourite", "random", "no-bet"] {
            if let Some(r) = base_out.reports.iter().find(|r| r.policy == name) {
                if name == "oracle" {
                    oracle_roi = Some(r.metrics.roi);
                }
                rows.push(row(r, name));
            }
        }
        let capture = oracle_roi.filter(|o| *o > 0.0).map(|o| m.roi / o);
        let w = World {
            world: name.clone(),
            train_feeds: train_feeds
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
            test_feed: test_feed.display().to_string(),
            rows,
            capture,
            train_seconds,
            decisions_per_s: dps,
            updates,
        };
        println!("{}", table(&w));
        worlds.push(w);
    }
    let md: String = worlds.iter().map(table).collect::<Vec<_>>().join("\n");
    std::fs::write(a.out.join("learning.md"), &md)?;
    std::fs::write(
        a.out.join("learning.json"),
        serde_json::to_string_pretty(&worlds)?,
    )?;
    eprintln!(
        "learning benchmark done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        a.out.join("learning.md").display()
    );
    Ok(())
}
