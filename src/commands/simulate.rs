//! `oddsflow simulate`: a seeded simulated feed (and its truth channel), or with `--concurrent N`
//! the benchmarks' feed of N matches in play at once.

use anyhow::{Result, bail};

use crate::cli::SimulateArgs;
use crate::io::feed::FeedWriter;
use crate::sim::{
    ConcurrentConfig, ConcurrentFeed, Inefficiency, NoiseConfig, SimConfig, simulate,
};

fn parse_inefficiency(s: &str) -> Result<Inefficiency> {
    let (name, value) = s.split_once(':').unwrap_or((s, ""));
    match name {
        "ignores-dominance" => Ok(Inefficiency::IgnoresDominance {
            size: value.parse().unwrap_or(0.5),
        }),
        "lags-after-goals" => Ok(Inefficiency::LagsAfterGoals {
            seconds: value.parse().unwrap_or(30),
        }),
        _ => bail!(
            "unknown inefficiency {s:?}: use ignores-dominance:SIZE or lags-after-goals:SECONDS"
        ),
    }
}

/// Runs `oddsflow simulate`.
pub(crate) fn run(a: SimulateArgs) -> Result<()> {
    let noise = match a.noise.as_str() {
        "none" => NoiseConfig::none(),
        "typical" => NoiseConfig::typical(),
        other => bail!("unknown noise level {other:?}: use none or typical"),
    };
    if let Some(concurrent) = a.concurrent {
        return simulate_concurrent(&a, concurrent, noise);
    }
    let cfg = SimConfig {
        matches: a.matches,
        seed: a.seed,
        noise,
        inefficiency: a
            .inefficiency
            .as_deref()
            .map(parse_inefficiency)
            .transpose()?,
        margin: a.margin,
        ..SimConfig::default()
    };
    let cfg = match a.matches_per_day {
        Some(n) => cfg.with_matches_per_day(n),
        None => cfg,
    };
    let started = std::time::Instant::now();
    let out = simulate(&cfg);
    let mut writer = FeedWriter::create(&a.out)?;
    for item in &out.items {
        writer.write(item)?;
    }
    writer.finish()?;
    let truth = a.truth.unwrap_or_else(|| {
        let name = a
            .out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let stem = name.split('.').next().unwrap_or("feed").to_string();
        a.out.with_file_name(format!("{stem}.truth.jsonl.gz"))
    });
    crate::io::table::write_json_lines(&truth, out.truth.iter())?;
    eprintln!(
        "simulated {} matches: {} feed items to {}, {} truth rows to {} in {:.1}s",
        a.matches,
        out.items.len(),
        a.out.display(),
        out.truth.len(),
        truth.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn simulate_concurrent(a: &SimulateArgs, concurrent: usize, noise: NoiseConfig) -> Result<()> {
    if a.inefficiency.is_some() || a.matches_per_day.is_some() || a.truth.is_some() {
        bail!("--concurrent takes none of --inefficiency, --matches-per-day, --truth");
    }
    let cfg = ConcurrentConfig {
        concurrent,
        waves: a.waves,
        ramp_ms: a.ramp_min.map(|m| m * 60_000),
        horizon_ms: a.horizon_min.map(|m| m * 60_000),
        seed: a.seed,
        noise,
        ..ConcurrentConfig::default()
    };
    let started = std::time::Instant::now();
    let mut feed = ConcurrentFeed::new(&cfg).map_err(|e| anyhow::anyhow!(e))?;
    let mut writer = FeedWriter::create(&a.out)?;
    for item in feed.by_ref() {
        writer.write(&item)?;
    }
    writer.finish()?;
    let s = feed.stats();
    eprintln!(
        "{} matches, {concurrent} per wave: {} feed items to {} ({:.0} in play on average, {} at most) in {:.1}s",
        cfg.matches(),
        s.items,
        a.out.display(),
        s.mean_live,
        s.peak_live,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
