//! What the commands print after a run: where each output went, and the results tables.

use std::path::Path;

use crate::betting::reports::{
    PolicyReport, format_part_table, format_table, reports_by_price_source,
};
use crate::runtime::outputs::{BETTING_TABLES, Outputs};

/// Prints where each output went, and the results table.
pub(crate) fn print_outputs(out: &Path, outputs: &Outputs, seed: u64) {
    for (name, rows) in [
        ("team_match_stats", outputs.team_match.len()),
        ("player_match_stats", outputs.player_match.len()),
        ("player_totals", outputs.player_totals.len()),
        ("team_ratings", outputs.team_ratings.len()),
        ("league_averages", outputs.league_averages.len()),
        ("dominance", outputs.dominance.len()),
        ("availability", outputs.available.len()),
        ("prematch_close", outputs.prematch_close.len()),
        ("features", outputs.features.len()),
    ] {
        println!(
            "  {:<20} {:>9} changes  {}/{name}.parquet",
            name,
            rows,
            out.display()
        );
    }
    println!(
        "  {:<20} {:>9} records  {}/dead_letter.jsonl",
        "dead letters",
        outputs.dead_letters.len(),
        out.display()
    );
    if !outputs.betting.policies.is_empty() {
        for name in BETTING_TABLES {
            println!(
                "  {:<20} {:>9}          {}/{name}.parquet",
                name,
                "",
                out.display()
            );
        }
    }
    println!("  summary              {}/summary.json", out.display());
    if !outputs.reports.is_empty() {
        println!();
        print!("{}", format_table(&outputs.reports));
        // Apart when bets came from more than one kind: modelled prices never mix with market ones.
        let parts = reports_by_price_source(&outputs.betting, &outputs.prematch_close, seed);
        let with_bets = |r: &[PolicyReport]| r.iter().any(|p| p.requests > 0);
        if parts.iter().filter(|(_, r)| with_bets(r)).count() > 1 {
            println!(
                "\nApart (modelled prices: the in-play odds an importer derived from its pricing model):"
            );
            for (name, reports) in parts.iter().filter(|(_, r)| with_bets(r)) {
                println!("\n{name}:");
                print!("{}", format_part_table(reports));
            }
        }
    }
}
