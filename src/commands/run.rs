//! `oddsflow run`: the whole pipeline, live from a Kafka topic, with exactly-once results across
//! restarts.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::replay::pipeline_setup;
use crate::cli::{RunArgs, print_outputs};
use crate::runtime::live::{LiveConfig, run_live};
use crate::runtime::outputs::{RunStats, write_outputs};
use crate::time::format_time;

/// `oddsflow run`: the whole pipeline, live from a topic.
pub(crate) fn run(a: RunArgs) -> Result<()> {
    if a.pipeline.feed.is_some() {
        bail!("`run` reads its feed from --topic; to replay a file, use `oddsflow replay`");
    }
    let mut p = a.pipeline;
    p.live = true;
    if p.out == Path::new("out/replay") {
        p.out = PathBuf::from("out/live");
    }
    let (timely, run_cfg, truth) = pipeline_setup(&p, Vec::new())?;
    let mut cfg = LiveConfig::new(&a.brokers, &a.topic, &p.out);
    cfg.run = run_cfg;
    cfg.idle_timeout_ms = a.idle_timeout_ms;
    cfg.exit_when_idle_ms = a.exit_when_idle_ms;
    cfg.frame_interval_ms = a.frame_interval_ms;
    if let Some(g) = a.group {
        cfg.group = g;
    }
    cfg.sink_prefix = match (a.no_output_topics, a.output_prefix) {
        (true, _) => None,
        (false, Some(prefix)) => Some(prefix),
        (false, None) => cfg.sink_prefix,
    };
    if let Some((outputs, stats)) = run_live(&cfg, truth, timely)? {
        // (A restart of a finished run reads nothing: its stats are zero, `workers` 0.)
        let run = RunStats {
            workers: stats.workers,
            elapsed_s: stats.elapsed_s,
            records_per_s: stats.records_per_s,
            dataflow: None,
        };
        write_outputs(&p.out, &outputs, &run)?;
        std::fs::write(
            p.out.join("live.json"),
            serde_json::to_string_pretty(&stats)? + "\n",
        )?;
        if stats.workers == 0 {
            println!(
                "live: the run in {} was already complete: {} records; its outputs are rewritten from its changelog",
                p.out.display(),
                outputs.summary.records_in
            );
            return Ok(());
        }
        let s = &outputs.summary;
        println!(
            "live: {} records ({} ok, {} rejected, {} late) of {} matches; this run read {} ({} rebuilt, resumed from {}) on {} workers, the last after {:.2}s ({:.0} records/s), finished in {:.2}s; max lag {} records",
            s.records_in,
            s.records_ok,
            s.rejected,
            s.late,
            s.matches,
            stats.records_read,
            stats.records_rebuilt,
            format_time(stats.resumed_from),
            stats.workers,
            stats.last_read_s,
            stats.records_read as f64 / stats.last_read_s.max(1e-9),
            stats.elapsed_s,
            stats.max_lag
        );
        print_outputs(&p.out, &outputs, p.seed);
    }
    Ok(())
}
