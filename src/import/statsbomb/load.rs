//! One match loaded: the matches-file row, the events of periods 1 and 2 in play order with their
//! time within the period, the squads from the lineups file, and when each period starts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use oddsflow_dataflows::model::{EventTime, Side};

use super::source::{SbEvent, SbMatch, SbTeamSheet, parse_date, parse_timestamp};
use super::{BREAK_MS, kickoff_utc};
use crate::import::read_text;
use crate::time::uk_local_to_utc;

/// One match read: its row of the matches file, its events of periods 1 and 2 in play order, its
/// squads, and notes on what was odd about it.
/// The longest a half may last by its events' times (45 min and any stoppage time fit easily).
const MAX_PERIOD_MS: i64 = 90 * 60_000;

pub(super) struct Loaded {
    pub(super) m: SbMatch,
    pub(super) date: (i64, u32, u32),
    pub(super) kickoff: EventTime,
    /// Events of periods 1 and 2, in (period, timestamp, index) order, with their time within
    /// the period (ms).
    pub(super) events: Vec<(i64, SbEvent)>,
    /// All events read (including other periods).
    pub(super) read: usize,
    pub(super) squads: Vec<SbTeamSheet>,
    /// Length of periods 1 and 2 (ms): their last event's timestamp.
    pub(super) period_ms: [i64; 2],
    pub(super) notes: Vec<String>,
}

impl Loaded {
    pub(super) fn label(&self) -> String {
        format!(
            "{} {} v {}",
            self.m.match_id, self.m.home_team.home_team_name, self.m.away_team.away_team_name
        )
    }
    pub(super) fn side(&self, team: Option<u64>) -> Option<Side> {
        let t = team?;
        if t == self.m.home_team.home_team_id {
            Some(Side::Home)
        } else if t == self.m.away_team.away_team_id {
            Some(Side::Away)
        } else {
            None
        }
    }
    pub(super) fn team_id_of(&self, side: Side) -> u64 {
        match side {
            Side::Home => self.m.home_team.home_team_id,
            Side::Away => self.m.away_team.away_team_id,
        }
    }
    pub(super) fn period_start(&self, period: u8) -> EventTime {
        if period <= 1 {
            self.kickoff
        } else {
            self.kickoff + self.period_ms[0] + BREAK_MS
        }
    }
    pub(super) fn ts(&self, period: u8, within: i64) -> EventTime {
        self.period_start(period) + within
    }
}

/// Reads one match's events (and its lineups file, when there is one) and works out kick-off and
/// the length of each period; an error is the reason the match is skipped.
pub(super) fn load(m: &SbMatch, events_path: &Path, lineups_dir: &Path) -> Result<Loaded, String> {
    let date =
        parse_date(&m.match_date).ok_or_else(|| format!("bad match_date {:?}", m.match_date))?;
    let mut notes = Vec::new();
    let kickoff = match m
        .kick_off
        .as_deref()
        .and_then(|k| kickoff_utc(&m.match_date, k))
    {
        Some(k) => k,
        None => {
            notes.push(format!(
                "kick_off {:?} unreadable: 15:00 UK local assumed",
                m.kick_off
            ));
            let (y, mo, d) = date;
            uk_local_to_utc(y, mo, d, 15, 0)
        }
    };
    let text = read_text(events_path).map_err(|e| format!("{e:#}"))?;
    let all: Vec<SbEvent> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not StatsBomb events: {e}", events_path.display()))?;
    let read = all.len();
    let mut events = Vec::with_capacity(all.len());
    let mut other_periods = 0usize;
    for e in all {
        let Some(within) = parse_timestamp(&e.timestamp) else {
            notes.push(format!(
                "event {} has an unreadable timestamp {:?}: skipped",
                e.index, e.timestamp
            ));
            continue;
        };
        if e.period == 1 || e.period == 2 {
            events.push((within, e));
        } else {
            other_periods += 1;
        }
    }
    if other_periods > 0 {
        notes.push(format!(
            "{other_periods} events outside periods 1 and 2 not imported"
        ));
    }
    events.sort_by_key(|(w, e)| (e.period, *w, e.index));
    let mut period_ms = [0i64; 2];
    for (w, e) in &events {
        let p = usize::from(e.period - 1);
        period_ms[p] = period_ms[p].max(*w);
    }
    if period_ms[0] == 0 || period_ms[1] == 0 {
        return Err("no events in period 1 or 2".into());
    }
    // A half with stoppage time lasts under an hour; an event time far beyond is corrupt, not
    // a reason to make a clock tick for every minute of it (the fuzzer found one of 10^8 min).
    if let Some((p, ms)) = period_ms
        .iter()
        .enumerate()
        .find(|(_, ms)| **ms > MAX_PERIOD_MS)
    {
        return Err(format!(
            "period {} lasts {} min by its events' times (at most {}): implausible",
            p + 1,
            ms / 60_000,
            MAX_PERIOD_MS / 60_000
        ));
    }
    let squads = match find_file(lineups_dir, m.match_id) {
        Some(p) => {
            let t = read_text(&p).map_err(|e| format!("{e:#}"))?;
            serde_json::from_str(&t)
                .map_err(|e| format!("{}: not a StatsBomb lineups file: {e}", p.display()))?
        }
        None => {
            notes.push("no lineups file: lineups without bench".into());
            Vec::new()
        }
    };
    Ok(Loaded {
        m: m.clone(),
        date,
        kickoff,
        events,
        read,
        squads,
        period_ms,
        notes,
    })
}

/// `<dir>/<id>.json.gz`, else `<dir>/<id>.json`.
pub(super) fn find_file(dir: &Path, id: u64) -> Option<PathBuf> {
    [format!("{id}.json.gz"), format!("{id}.json")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The match ids of an events folder (`<id>.json` / `<id>.json.gz`), sorted.
pub(super) fn event_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(stem) = name
            .strip_suffix(".json.gz")
            .or_else(|| name.strip_suffix(".json"))
        else {
            continue;
        };
        if let Ok(id) = stem.parse::<u64>() {
            out.push((id, p));
        }
    }
    out.sort();
    out.dedup_by_key(|(id, _)| *id);
    Ok(out)
}
