//! Golden outputs for the shipped demo feed (`fixtures/demo.jsonl.gz`).
//!
//! The golden file holds the summary, every dead letter, the final state of every output
//! collection, and a digest of the full change log (every change at every time), in a stable
//! text form. On a difference the test prints the first differing lines. To accept a deliberate
//! change, regenerate it: `REWRITE_GOLDEN=1 cargo test --release --test golden`.

mod common;

use std::path::Path;

use common::accumulate;
use oddsflow::learner::config::DrqnPolicyConfig;
use oddsflow::policy::{PolicySpec, Truth};
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::{Change, Outputs};
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::file_feed;
use serde::Serialize;

const GOLDEN: &str = "fixtures/golden/demo.txt";

fn final_state<K: Ord + Clone + Serialize, V: Ord + Clone + Serialize>(
    out: &mut String,
    name: &str,
    changes: &[Change<(K, V)>],
) {
    let state = accumulate(changes, u64::MAX);
    out.push_str(&format!(
        "## {name}: {} rows at the end, {} changes\n",
        state.len(),
        changes.len()
    ));
    for row in state {
        out.push_str(&serde_json::to_string(&row).unwrap_or_default());
        out.push('\n');
    }
}

/// FNV-1a, 64 bits: a stable digest of the full change log.
fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn golden_text(o: &Outputs) -> String {
    let mut s = String::from(
        "# oddsflow replay of fixtures/demo.jsonl.gz (1 worker, default config, the baselines with seed 1)\n",
    );
    s.push_str(&format!(
        "## change log digest (FNV-1a of Outputs::canonical_text): {}\n",
        digest(&o.canonical_text())
    ));
    s.push_str("## summary\n");
    s.push_str(&serde_json::to_string_pretty(&o.summary).unwrap_or_default());
    s.push('\n');
    s.push_str(&format!("## dead letters: {}\n", o.dead_letters.len()));
    for d in &o.dead_letters {
        s.push_str(&serde_json::to_string(d).unwrap_or_default());
        s.push('\n');
    }
    final_state(&mut s, "team_match_stats", &o.team_match);
    final_state(&mut s, "player_match_stats", &o.player_match);
    final_state(&mut s, "player_totals", &o.player_totals);
    final_state(&mut s, "team_ratings", &o.team_ratings);
    final_state(&mut s, "league_averages", &o.league_averages);
    final_state(&mut s, "prematch_close", &o.prematch_close);
    final_state(&mut s, "settlements", &o.betting.settlements);
    s.push_str(&format!("## decisions: {}\n", o.betting.decisions.len()));
    for d in &o.betting.decisions {
        s.push_str(&serde_json::to_string(d).unwrap_or_default());
        s.push('\n');
    }
    s.push_str("## policies\n");
    s.push_str(&oddsflow::betting::reports::format_table(&o.reports));
    // The live collections are empty once every match has finished: snapshot them at the times
    // of the feature changes 3 % (inside the demo's real 2015 matches), a sixth, a half and five
    // sixths of the way through (the real matches come years before the simulated ones, so
    // points of the time range would fall between them).
    let mut times: Vec<u64> = o.features.iter().map(|c| c.1).collect();
    times.sort_unstable();
    for per_mille in [30, 167, 500, 833] {
        let t = times
            .get(times.len() * per_mille / 1000)
            .copied()
            .unwrap_or(0);
        s.push_str(&format!("## snapshot at t={t}\n"));
        snapshot(&mut s, "dominance", &o.dominance, t);
        snapshot(&mut s, "availability", &o.available, t);
        snapshot(&mut s, "features", &o.features, t);
    }
    s
}

fn snapshot<K: Ord + Clone + Serialize, V: Ord + Clone + Serialize>(
    out: &mut String,
    name: &str,
    changes: &[Change<(K, V)>],
    t: u64,
) {
    let state = accumulate(changes, t);
    out.push_str(&format!("### {name}: {} rows\n", state.len()));
    for row in state {
        out.push_str(&serde_json::to_string(&row).unwrap_or_default());
        out.push('\n');
    }
}

#[test]
fn demo_feed_matches_its_golden_outputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // What `oddsflow replay` runs with no arguments: the baselines, the oracle on the demo's truth,
    // and the learner from the shipped checkpoint, learning as it plays.
    let mut policies = PolicySpec::baselines(1, true);
    policies.push(PolicySpec::Drqn(DrqnPolicyConfig {
        seed: 1,
        checkpoint_in: Some(root.join("fixtures/drqn")),
        ..DrqnPolicyConfig::default()
    }));
    let cfg = RunConfig {
        progress: false,
        policies,
        seed: 1,
        ..RunConfig::default()
    };
    let truth = Truth::load(&root.join("fixtures/demo.truth.jsonl.gz")).expect("the demo truth");
    let (outputs, _) = replay(
        file_feed(&root.join("fixtures/demo.jsonl.gz")),
        &cfg,
        Some(std::sync::Arc::new(truth)),
        timely::Config::thread(),
    )
    .expect("replay runs")
    .expect("worker 0 is here");
    let got = golden_text(&outputs);
    let path = root.join(GOLDEN);
    if std::env::var_os("REWRITE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, &got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{GOLDEN}: {e} (REWRITE_GOLDEN=1 creates it)"));
    if got != want {
        let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
        let first = g
            .iter()
            .zip(&w)
            .position(|(a, b)| a != b)
            .unwrap_or(g.len().min(w.len()));
        let show = |lines: &[&str]| {
            lines
                .iter()
                .skip(first)
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "outputs differ from {GOLDEN} at line {} ({} lines now, {} golden)\n--- golden\n{}\n+++ now\n{}\n(REWRITE_GOLDEN=1 to accept)",
            first + 1,
            g.len(),
            w.len(),
            show(&w),
            show(&g)
        );
    }
}
