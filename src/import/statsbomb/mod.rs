//! StatsBomb open data (events, lineups, matches) → a live feed of real incidents, with prematch
//! odds joined from football-data and modelled in-play odds.
//!
//! **In**: `events/<match_id>.json(.gz)` (every on-ball and off-ball event with its period, clock
//! within the period and team), `lineups/<match_id>.json(.gz)` (the match-day squads),
//! a matches file (date, kick-off, teams, stadium, referee, score), and optionally football-data
//! CSVs for the prematch odds. StatsBomb must be named as the source of anything shown from it.
//!
//! **Out**, per match (`match_id` = StatsBomb's), in event time:
//!
//! | when | records |
//! |---|---|
//! | kick-off − 48 h | fixture (football-data team names, so that [`super::team_id`] agrees with football-data imports; venue = stadium; referee), status `scheduled` |
//! | kick-off − 24 h / − 5 min | with `--odds`: football-data's prematch markets at opening / closing odds (`football_data::push_prematch_markets`; real prices, `modelled: false`) |
//! | kick-off − 60 min | both lineups from the `Starting XI` events (formation `4231` → `4-2-3-1`, StatsBomb positions as `GK`, `RCB`, `CAM`, `ST`…), the rest of the squad from the lineups file as bench |
//! | kick-off | status `first_half`; Asian handicap closes; 1X2 and over/under 2.5 go in play and over/under 1.5, 3.5 and both teams to score open, all with **modelled** prices ([`super::inplay`]) |
//! | during play | a status every minute of clock; the incidents below; a `Tactical Shift` as a new lineup version (on the pitch = `starter`); a possession share of both sides every 5 minutes of clock; in-play prices re-evaluated every minute and after each goal or sending-off, markets suspended for 60 s at a goal, a sending-off or a penalty awarded (held until the penalty is taken) |
//! | end of period 1 | status `half_time` (clock at the whistle); 15 minutes later `second_half` at 45:00 |
//! | end of period 2 | status `finished`, markets closed; 3 minutes later the result (half-time and full-time score from the goals, corners) |
//!
//! **Time.** The matches file's `match_date` + `kick_off` reads as UK local time + 1 hour, so
//! kick-off (UTC) = [`crate::time::uk_local_to_utc`]`(date, kick_off − 1 h)`. An event's time is the start of
//! its period + its `timestamp` (the clock within the period); period 1 starts at kick-off,
//! period 2 at kick-off + the length of period 1 (its last event) + 15 minutes. An incident's
//! `clock_s` is `minute·60 + second` (45:00 at the start of the second half, running on into
//! stoppage).
//!
//! **Incidents** (ids count from 1 within a match):
//!
//! | StatsBomb | incident |
//! |---|---|
//! | `Shot` | `shot` with the player, xG = `statsbomb_xg`, on target for outcomes `Goal`, `Saved`, `Saved to Post` (not `Saved Off Target`: a save of a shot that was going wide, which the usual on-target definition excludes; nor `Post`, `Off T`, `Wayward`, `Blocked`) |
//! | `Shot` with outcome `Goal` | the shot, then `goal` (player; `penalty` when the shot type is `Penalty`) |
//! | `Own Goal For` | `goal` with `own_goal`, credited to the side that benefits; the player is the one of the paired `Own Goal Against` |
//! | `Pass` of type `Corner` | `corner` |
//! | `Foul Committed` | `foul` of the fouling side; with `card` also a `card`; with `penalty` also `penalty_awarded` for the other side |
//! | `Bad Behaviour` with `card` | `card` |
//! | card names | `Yellow Card` → yellow, `Second Yellow` → second yellow, `Red Card` → red |
//! | `Substitution` | `substitution` (player off, `replacement` on) |
//! | `Pressure` | `attack` of the pressing side (pressure as attacks) |
//!
//! Play events (passes, carries, receipts, duels, recoveries, clearances, blocks, dribbles,
//! keeper actions, `Foul Won` and `Own Goal Against`, which mirror mapped events…) are not
//! incidents and are skipped silently. Events that are incidents by nature but have no kind in
//! the feed model (`Offside`, `Injury Stoppage`, `Referee Ball-Drop`, `Player Off`/`Player On`,
//! a `Bad Behaviour` without a card, any unknown type, events outside periods 1 and 2) are counted
//! per match and type in [`StatsbombReport::skipped`].
//!
//! **Checks.** The full-time score counted from the goals is compared with the matches file's
//! `home_score`/`away_score` (and with football-data's when joined); a difference is reported in
//! `skipped` (the feed keeps the score of its own goals, so that it is consistent). A match
//! without a football-data row gets no markets (reported).
//!
//! **Layout.** This file holds the public surface (arguments, report, name and time helpers) and
//! [`import`], which reads the matches file, joins football-data rows and feeds each match in
//! kick-off order. `source` has the StatsBomb JSON records, `load` reads one match's events and
//! lineups into a timeline-ready shape, `lineups` builds the lineup records, `incidents` maps
//! events to incidents and keeps the in-play book in step, and `timeline` pushes one match's
//! records (fixture, lineups, prematch markets, then the ordered timeline of play).

mod incidents;
mod lineups;
mod load;
mod source;
mod timeline;

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use oddsflow_dataflows::model::*;

use self::load::{event_files, load};
use self::source::{SbMatch, parse_date};
use self::timeline::push_match;
use super::football_data::{self, FdMatch};
use super::{FeedBuilder, ImportReport, Imported, read_text};
use crate::time::uk_local_to_utc;

/// Lineups published this long before kick-off.
pub const LINEUP_LEAD_MS: i64 = 60 * 60_000;
/// Half-time break between the end of period 1 and the start of period 2.
pub const BREAK_MS: i64 = 15 * 60_000;
/// Result published this long after the final whistle.
pub const RESULT_DELAY_MS: i64 = 3 * 60_000;
/// A penalty not taken within this long releases the markets it holds.
pub const PENALTY_HOLD_MS: i64 = 5 * 60_000;
/// Possession shares every this many seconds of clock.
pub const POSSESSION_EVERY_S: i32 = 300;

/// What to import: where the StatsBomb files are, which football-data CSVs give the prematch
/// odds, and which matches.
#[derive(Clone, Debug, Default)]
pub struct StatsbombArgs {
    /// Directory of `<match_id>.json[.gz]` event files.
    pub events_dir: PathBuf,
    /// Directory of `<match_id>.json[.gz]` lineup files.
    pub lineups_dir: PathBuf,
    /// The matches file (fixture list with kick-offs and scores).
    pub matches_file: PathBuf,
    /// football-data CSVs for the prematch odds (none: no markets).
    pub odds: Vec<PathBuf>,
    /// Only these match ids (empty = all in events_dir).
    pub only: Vec<u64>,
}

/// What was imported, and what was skipped with its reason.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsbombReport {
    /// Matches imported.
    pub matches: usize,
    /// Matches joined to a football-data row (with prematch and in-play markets).
    pub with_odds: usize,
    /// StatsBomb events read (of the imported matches).
    pub events: usize,
    /// Incident records written.
    pub incidents: usize,
    /// Modelled (in-play) odds records written.
    pub modelled_odds: usize,
    /// Why an event type, a match or a join was skipped, and score disagreements.
    pub skipped: Vec<String>,
}

impl ImportReport for StatsbombReport {
    fn notes(&self) -> Vec<String> {
        vec![format!(
            "{} matches ({} with football-data odds), {} events → {} incidents, {} modelled in-play prices",
            self.matches, self.with_odds, self.events, self.incidents, self.modelled_odds
        )]
    }

    fn refused(&self) -> Vec<serde_json::Value> {
        super::reasons(&self.skipped)
    }
}

/// The 11 StatsBomb team names that football-data spells differently (identity otherwise).
pub fn football_data_name(statsbomb: &str) -> &str {
    match statsbomb.trim() {
        "AFC Bournemouth" => "Bournemouth",
        "Leicester City" => "Leicester",
        "Manchester City" => "Man City",
        "Manchester United" => "Man United",
        "Newcastle United" => "Newcastle",
        "Norwich City" => "Norwich",
        "Stoke City" => "Stoke",
        "Swansea City" => "Swansea",
        "Tottenham Hotspur" => "Tottenham",
        "West Bromwich Albion" => "West Brom",
        "West Ham United" => "West Ham",
        other => other,
    }
}

/// A StatsBomb formation number as a label: `4231` → `4-2-3-1`.
pub fn formation_label(formation: &str) -> String {
    let digits: Vec<String> = formation
        .trim()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .map(String::from)
        .collect();
    digits.join("-")
}

/// A StatsBomb position name as the usual abbreviation (unknown names unchanged).
pub fn position_label(name: &str) -> String {
    match name.trim() {
        "Goalkeeper" => "GK",
        "Right Back" => "RB",
        "Right Center Back" => "RCB",
        "Center Back" => "CB",
        "Left Center Back" => "LCB",
        "Left Back" => "LB",
        "Right Wing Back" => "RWB",
        "Left Wing Back" => "LWB",
        "Right Defensive Midfield" => "RDM",
        "Center Defensive Midfield" => "CDM",
        "Left Defensive Midfield" => "LDM",
        "Right Midfield" => "RM",
        "Right Center Midfield" => "RCM",
        "Center Midfield" => "CM",
        "Left Center Midfield" => "LCM",
        "Left Midfield" => "LM",
        "Right Wing" => "RW",
        "Left Wing" => "LW",
        "Right Attacking Midfield" => "RAM",
        "Center Attacking Midfield" => "CAM",
        "Left Attacking Midfield" => "LAM",
        "Right Center Forward" => "RCF",
        "Center Forward" | "Striker" => "ST",
        "Left Center Forward" => "LCF",
        "Secondary Striker" => "SS",
        other => other,
    }
    .to_owned()
}

/// Kick-off in UTC ms of the matches file's `match_date` (`2015-08-08`) and `kick_off`
/// (`16:00:00.000`, UK local time + 1 hour).
pub fn kickoff_utc(match_date: &str, kick_off: &str) -> Option<EventTime> {
    let (y, m, d) = parse_date(match_date)?;
    let mut it = kick_off.trim().split(':');
    let hh: u32 = it.next()?.parse().ok()?;
    let mm: u32 = it.next()?.parse().ok()?;
    if hh >= 24 || mm >= 60 {
        return None;
    }
    Some(if hh >= 1 {
        uk_local_to_utc(y, m, d, hh - 1, mm)
    } else {
        uk_local_to_utc(y, m, d, 0, mm) - 3_600_000
    })
}

/// football-data's join key: (date, home, away) in football-data's names.
type JoinKey = ((i64, u32, u32), String, String);

/// Imports the StatsBomb matches of `args` (see the module docs).
pub fn import(args: &StatsbombArgs) -> Result<Imported<StatsbombReport>> {
    let text = read_text(&args.matches_file)?;
    let listed: Vec<SbMatch> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a StatsBomb matches file",
            args.matches_file.display()
        )
    })?;
    let by_id: HashMap<u64, &SbMatch> = listed.iter().map(|m| (m.match_id, m)).collect();
    let mut report = StatsbombReport::default();
    let mut files = event_files(&args.events_dir)?;
    if !args.only.is_empty() {
        for id in &args.only {
            if !files.iter().any(|(f, _)| f == id) {
                report.skipped.push(format!(
                    "{id}: no events file in {}",
                    args.events_dir.display()
                ));
            }
        }
        files.retain(|(id, _)| args.only.contains(id));
    }
    // football-data rows by (date, home, away).
    let mut fd_rows: HashMap<JoinKey, Vec<FdMatch>> = HashMap::new();
    for p in &args.odds {
        let f = football_data::read_csv(p)?;
        if !f.refused.is_empty() {
            report.skipped.push(format!(
                "{}: {} football-data rows refused (first: line {}: {})",
                p.display(),
                f.refused.len(),
                f.refused[0].line,
                f.refused[0].reason
            ));
        }
        for m in f.matches {
            let rows = fd_rows
                .entry((m.date, m.home.clone(), m.away.clone()))
                .or_default();
            if !rows.iter().any(|r| r.match_id() == m.match_id()) {
                rows.push(m);
            }
        }
    }
    let mut loaded = Vec::new();
    for (id, path) in &files {
        let Some(m) = by_id.get(id) else {
            report
                .skipped
                .push(format!("{id}: not in the matches file: skipped"));
            continue;
        };
        match load(m, path, &args.lineups_dir) {
            Ok(l) => loaded.push(l),
            Err(e) => report.skipped.push(format!("{id}: {e}: skipped")),
        }
    }
    loaded.sort_by_key(|l| (l.kickoff, l.m.match_id));
    let mut b = FeedBuilder::new();
    for l in &loaded {
        for n in &l.notes {
            report.skipped.push(format!("{}: {n}", l.label()));
        }
        let fd = if args.odds.is_empty() {
            None
        } else {
            let key = (
                l.date,
                football_data_name(&l.m.home_team.home_team_name).to_owned(),
                football_data_name(&l.m.away_team.away_team_name).to_owned(),
            );
            match fd_rows.get(&key).map(Vec::as_slice) {
                Some([one]) => Some(one),
                Some([first, ..]) => {
                    report.skipped.push(format!(
                        "{}: several football-data rows for ({}, {}, {}): the first used",
                        l.label(),
                        l.m.match_date,
                        key.1,
                        key.2
                    ));
                    Some(first)
                }
                _ => {
                    report.skipped.push(format!(
                        "{}: no football-data row for ({}, {}, {}): no markets",
                        l.label(),
                        l.m.match_date,
                        key.1,
                        key.2
                    ));
                    None
                }
            }
        };
        let (incidents, modelled) = push_match(&mut b, l, fd, &mut report.skipped);
        report.matches += 1;
        report.with_odds += usize::from(fd.is_some());
        report.events += l.read;
        report.incidents += incidents;
        report.modelled_odds += modelled;
    }
    Ok(Imported {
        records: b.finish(),
        report,
    })
}

#[cfg(test)]
mod tests;
