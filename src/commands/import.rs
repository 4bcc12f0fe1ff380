//! `oddsflow import`: real data into a feed. Every importer returns the same shape
//! ([`crate::import::Imported`]); this writes it and prints its report.

use anyhow::Result;

use crate::cli::{ImportArgs, ImportSource};
use crate::import::{ImportReport, Imported, betfair, football_data, statsbomb, write_import};

/// Runs `oddsflow import`.
pub(crate) fn run(a: ImportArgs) -> Result<()> {
    match a.source {
        ImportSource::FootballData { files, out } => write(&football_data::import(&files)?, &out),
        ImportSource::Betfair { files, out } => write(&betfair::import(&files)?, &out),
        ImportSource::Statsbomb {
            events_dir,
            lineups,
            matches,
            odds,
            only,
            out,
        } => write(
            &statsbomb::import(&statsbomb::StatsbombArgs {
                events_dir,
                lineups_dir: lineups,
                matches_file: matches,
                odds,
                only,
            })?,
            &out,
        ),
    }
}

fn write<R: ImportReport>(imported: &Imported<R>, out: &std::path::Path) -> Result<()> {
    let written = write_import(imported, out)?;
    for l in imported.report.notes() {
        println!("{l}");
    }
    println!("wrote {} records to {}", written.records, out.display());
    if let Some((path, n)) = written.refused {
        println!("{n} refused or skipped, with reasons: {}", path.display());
    }
    Ok(())
}
