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
//! | kick-off − 24 h / − 5 min | with `--odds`: football-data's prematch markets at opening / closing odds ([`football_data::push_prematch_markets`]; real prices, `modelled: false`) |
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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use oddsflow_dataflows::model::*;
use serde::Deserialize;

use super::football_data::{self, FIXTURE_LEAD_MS, FdMatch, push_prematch_markets, season_of};
use super::inplay::{self, Book, Period, State};
use super::{FeedBuilder, ImportReport, Imported, read_text, stable_id, team_id};
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

#[derive(Clone, Debug, Default)]
pub struct StatsbombArgs {
    pub events_dir: PathBuf,
    pub lineups_dir: PathBuf,
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

fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut it = s.trim().split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d) && it.next().is_none()).then_some((y, m, d))
}

/// `00:21:36.115` → milliseconds.
fn parse_timestamp(s: &str) -> Option<i64> {
    let mut it = s.trim().split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec: f64 = it.next()?.parse().ok()?;
    (it.next().is_none() && sec.is_finite() && sec >= 0.0)
        .then(|| (h * 3600 + m * 60) * 1000 + (sec * 1000.0).round() as i64)
}

fn player_id(id: u64) -> PlayerId {
    u32::try_from(id).unwrap_or_else(|_| {
        (stable_id(&["statsbomb player", &id.to_string()]) & 0xffff_ffff) as u32
    })
}

// ----- source records ---------------------------------------------------------------------------

#[derive(Clone, Debug, Default, Deserialize)]
struct Named {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    name: Option<String>,
}

impl Named {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

fn name_of(n: &Option<Named>) -> &str {
    n.as_ref().map_or("", Named::name)
}

#[derive(Clone, Debug, Deserialize)]
struct SbHomeTeam {
    home_team_id: u64,
    home_team_name: String,
}

#[derive(Clone, Debug, Deserialize)]
struct SbAwayTeam {
    away_team_id: u64,
    away_team_name: String,
}

#[derive(Clone, Debug, Deserialize)]
struct SbCompetition {
    #[serde(default)]
    competition_name: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct SbMatch {
    match_id: u64,
    match_date: String,
    #[serde(default)]
    kick_off: Option<String>,
    #[serde(default)]
    competition: Option<SbCompetition>,
    home_team: SbHomeTeam,
    away_team: SbAwayTeam,
    #[serde(default)]
    home_score: Option<u32>,
    #[serde(default)]
    away_score: Option<u32>,
    #[serde(default)]
    stadium: Option<Named>,
    #[serde(default)]
    referee: Option<Named>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct SbShot {
    #[serde(default)]
    statsbomb_xg: Option<f64>,
    #[serde(default)]
    outcome: Option<Named>,
    #[serde(default, rename = "type")]
    kind: Option<Named>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct SbPass {
    #[serde(default, rename = "type")]
    kind: Option<Named>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct SbCard {
    #[serde(default)]
    card: Option<Named>,
    #[serde(default)]
    penalty: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct SbSubstitution {
    #[serde(default)]
    replacement: Option<Named>,
}

#[derive(Clone, Debug, Deserialize)]
struct SbTacticsPlayer {
    player: Named,
    #[serde(default)]
    position: Option<Named>,
}

#[derive(Clone, Debug, Deserialize)]
struct SbTactics {
    #[serde(default)]
    formation: Option<serde_json::Value>,
    #[serde(default)]
    lineup: Vec<SbTacticsPlayer>,
}

#[derive(Clone, Debug, Deserialize)]
struct SbEvent {
    #[serde(default)]
    id: String,
    #[serde(default)]
    index: u64,
    period: u8,
    timestamp: String,
    minute: i32,
    second: i32,
    #[serde(rename = "type")]
    kind: Named,
    #[serde(default)]
    team: Option<Named>,
    #[serde(default)]
    player: Option<Named>,
    #[serde(default)]
    possession_team: Option<Named>,
    #[serde(default)]
    related_events: Vec<String>,
    #[serde(default)]
    shot: Option<SbShot>,
    #[serde(default)]
    pass: Option<SbPass>,
    #[serde(default)]
    foul_committed: Option<SbCard>,
    #[serde(default)]
    bad_behaviour: Option<SbCard>,
    #[serde(default)]
    substitution: Option<SbSubstitution>,
    #[serde(default)]
    tactics: Option<SbTactics>,
}

impl SbEvent {
    fn kind(&self) -> &str {
        self.kind.name()
    }
    fn team_id(&self) -> Option<u64> {
        self.team.as_ref().and_then(|t| t.id)
    }
    fn player(&self) -> Option<PlayerId> {
        self.player.as_ref().and_then(|p| p.id).map(player_id)
    }
    fn clock_s(&self) -> i32 {
        (self.minute * 60 + self.second).max(0)
    }
    fn formation(&self) -> String {
        match self.tactics.as_ref().and_then(|t| t.formation.as_ref()) {
            Some(serde_json::Value::Number(n)) => formation_label(&n.to_string()),
            Some(serde_json::Value::String(s)) => formation_label(s),
            _ => String::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
struct SbPosition {
    #[serde(default)]
    position: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct SbSquadPlayer {
    player_id: u64,
    #[serde(default)]
    player_name: Option<String>,
    #[serde(default)]
    player_nickname: Option<String>,
    #[serde(default)]
    positions: Vec<SbPosition>,
}

impl SbSquadPlayer {
    fn name(&self) -> String {
        self.player_nickname
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .or(self.player_name.as_deref())
            .unwrap_or("")
            .to_owned()
    }
}

#[derive(Clone, Debug, Deserialize)]
struct SbTeamSheet {
    team_id: u64,
    #[serde(default)]
    lineup: Vec<SbSquadPlayer>,
}

/// Card kind of a StatsBomb card name.
fn card_kind(name: &str) -> Option<CardKind> {
    match name.trim() {
        "Yellow Card" => Some(CardKind::Yellow),
        "Second Yellow" => Some(CardKind::SecondYellow),
        "Red Card" => Some(CardKind::Red),
        _ => None,
    }
}

/// Event types that are play, not incidents: skipped silently.
const PLAY_EVENTS: &[&str] = &[
    "Pass",
    "Ball Receipt*",
    "Carry",
    "Ball Recovery",
    "Duel",
    "Clearance",
    "Dribble",
    "Block",
    "Goal Keeper",
    "Dispossessed",
    "Miscontrol",
    "Dribbled Past",
    "Interception",
    "Shield",
    "50/50",
    "Error",
    "Foul Won",
    "Own Goal Against",
    "Half Start",
    "Half End",
    "Starting XI",
    "Camera On",
    "Camera off",
];

/// Is the event mapped (to an incident or a lineup)? Unmapped play is `Some(false)`; an
/// incident by nature without a kind is `None`.
fn mapped(e: &SbEvent) -> Option<bool> {
    match e.kind() {
        "Shot" | "Own Goal For" | "Foul Committed" | "Substitution" | "Pressure"
        | "Tactical Shift" => Some(true),
        "Bad Behaviour" => e
            .bad_behaviour
            .as_ref()
            .and_then(|b| b.card.as_ref())
            .map(|_| true),
        "Pass" => Some(is_corner(e)),
        k if PLAY_EVENTS.contains(&k) => Some(false),
        _ => None,
    }
}

fn is_corner(e: &SbEvent) -> bool {
    e.kind() == "Pass"
        && e.pass
            .as_ref()
            .is_some_and(|p| name_of(&p.kind) == "Corner")
}

// ----- one match, loaded ------------------------------------------------------------------------

struct Loaded {
    m: SbMatch,
    date: (i64, u32, u32),
    kickoff: EventTime,
    /// Events of periods 1 and 2, in (period, timestamp, index) order, with their time within
    /// the period (ms).
    events: Vec<(i64, SbEvent)>,
    /// All events read (including other periods).
    read: usize,
    squads: Vec<SbTeamSheet>,
    /// Length of periods 1 and 2 (ms): their last event's timestamp.
    period_ms: [i64; 2],
    notes: Vec<String>,
}

impl Loaded {
    fn label(&self) -> String {
        format!(
            "{} {} v {}",
            self.m.match_id, self.m.home_team.home_team_name, self.m.away_team.away_team_name
        )
    }
    fn side(&self, team: Option<u64>) -> Option<Side> {
        let t = team?;
        if t == self.m.home_team.home_team_id {
            Some(Side::Home)
        } else if t == self.m.away_team.away_team_id {
            Some(Side::Away)
        } else {
            None
        }
    }
    fn team_id_of(&self, side: Side) -> u64 {
        match side {
            Side::Home => self.m.home_team.home_team_id,
            Side::Away => self.m.away_team.away_team_id,
        }
    }
    fn period_start(&self, period: u8) -> EventTime {
        if period <= 1 {
            self.kickoff
        } else {
            self.kickoff + self.period_ms[0] + BREAK_MS
        }
    }
    fn ts(&self, period: u8, within: i64) -> EventTime {
        self.period_start(period) + within
    }
}

fn load(m: &SbMatch, events_path: &Path, lineups_dir: &Path) -> Result<Loaded, String> {
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
fn find_file(dir: &Path, id: u64) -> Option<PathBuf> {
    [format!("{id}.json.gz"), format!("{id}.json")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The match ids of an events folder (`<id>.json` / `<id>.json.gz`), sorted.
fn event_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
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

// ----- the feed of one match ----------------------------------------------------------------------

/// What happens at one instant of the match timeline. Ordered within an instant by rank:
/// a period's start, then events, then clock ticks, then a period's end.
#[derive(Clone, Copy, Debug)]
enum Item {
    KickOff,
    SecondHalf,
    Event(usize),
    Tick { clock_s: i32 },
    HalfTime,
    FullTime,
}

impl Item {
    fn rank(self) -> u8 {
        match self {
            Item::KickOff | Item::SecondHalf => 0,
            Item::Event(_) => 1,
            Item::Tick { .. } => 2,
            Item::HalfTime | Item::FullTime => 3,
        }
    }
}

struct MatchFeed<'a> {
    b: &'a mut FeedBuilder,
    l: &'a Loaded,
    id: MatchId,
    next_incident: u32,
    incidents: usize,
    state: State,
    book: Option<Book>,
    /// A penalty awarded and not yet taken: (side, when).
    penalty: Option<(Side, EventTime)>,
}

impl MatchFeed<'_> {
    fn incident(&mut self, ts: EventTime, side: Side, clock_s: i32, detail: IncidentDetail) {
        let id = self.next_incident;
        self.next_incident += 1;
        self.incidents += 1;
        self.b.push(ts, self.id, |version| {
            Body::Incident(Incident {
                id,
                version,
                side,
                clock_s,
                detail,
                cancelled: false,
            })
        });
    }

    fn status(&mut self, ts: EventTime, status: MatchStatus, clock_s: i32) {
        self.b.push(ts, self.id, |version| {
            Body::Status(Status {
                version,
                status,
                clock_s,
            })
        });
    }

    /// The model's state at `ts` (clock from the period's start).
    fn state_at(&self, ts: EventTime) -> State {
        let clock_s = match self.state.period {
            Period::FirstHalf => ((ts - self.l.kickoff) / 1000) as i32,
            Period::HalfTime => self.state.clock_s,
            Period::SecondHalf => 2700 + ((ts - self.l.period_start(2)) / 1000) as i32,
        };
        State {
            clock_s: clock_s.max(0),
            ..self.state
        }
    }

    fn suspend(&mut self, ts: EventTime) {
        if let Some(book) = &mut self.book {
            book.suspend(self.b, ts, ts + inplay::SUSPEND_MS);
        }
    }

    /// Reopens due markets and releases a stale penalty hold, before anything at `ts`.
    fn catch_up(&mut self, ts: EventTime) {
        if let Some((_, since)) = self.penalty
            && ts > since + PENALTY_HOLD_MS
        {
            self.release_penalty(since + PENALTY_HOLD_MS);
        }
        let due = self.book.as_ref().and_then(Book::reopen_due);
        if let Some(due) = due
            && due <= ts
        {
            let s = self.state_at(due);
            if let Some(book) = &mut self.book {
                book.reopen(self.b, due, &s);
            }
        }
    }

    fn release_penalty(&mut self, ts: EventTime) {
        self.penalty = None;
        if let Some(book) = &mut self.book {
            book.hold(false, ts);
        }
    }

    fn reprice(&mut self, ts: EventTime) {
        let s = self.state_at(ts);
        if let Some(book) = &mut self.book {
            book.reprice(self.b, ts, &s);
        }
    }

    fn goal(&mut self, ts: EventTime, side: Side, clock_s: i32, detail: IncidentDetail) {
        self.incident(ts, side, clock_s, detail);
        let i = side as usize;
        self.state.score[i] = self.state.score[i].saturating_add(1);
        self.suspend(ts);
    }

    fn card(&mut self, ts: EventTime, side: Side, e: &SbEvent, card: Option<&SbCard>) {
        let Some(kind) = card
            .and_then(|c| c.card.as_ref())
            .and_then(|c| card_kind(c.name()))
        else {
            return;
        };
        let detail = IncidentDetail::Card {
            player: e.player(),
            card: kind,
        };
        self.incident(ts, side, e.clock_s(), detail);
        if kind.is_sending_off() {
            let i = side as usize;
            self.state.reds[i] = self.state.reds[i].saturating_add(1);
            self.suspend(ts);
        }
    }

    fn event(&mut self, ts: EventTime, e: &SbEvent) {
        let Some(side) = self.l.side(e.team_id()) else {
            return;
        };
        let clock = e.clock_s();
        match e.kind() {
            "Shot" => {
                let shot = e.shot.clone().unwrap_or_default();
                let outcome = name_of(&shot.outcome);
                let penalty = name_of(&shot.kind) == "Penalty";
                let on_target = matches!(outcome, "Goal" | "Saved" | "Saved to Post");
                let xg = shot
                    .statsbomb_xg
                    .filter(|x| x.is_finite())
                    .map(|x| F64(x.clamp(0.0, 1.0)));
                self.incident(
                    ts,
                    side,
                    clock,
                    IncidentDetail::Shot {
                        player: e.player(),
                        on_target,
                        xg,
                    },
                );
                if penalty && self.penalty.is_some_and(|(s, _)| s == side) {
                    self.release_penalty(ts);
                }
                if outcome == "Goal" {
                    let detail = IncidentDetail::Goal {
                        player: e.player(),
                        own_goal: false,
                        penalty,
                    };
                    self.goal(ts, side, clock, detail);
                }
            }
            "Own Goal For" => {
                let scorer = self.own_goal_scorer(e);
                let detail = IncidentDetail::Goal {
                    player: scorer,
                    own_goal: true,
                    penalty: false,
                };
                self.goal(ts, side, clock, detail);
            }
            "Pass" if is_corner(e) => self.incident(ts, side, clock, IncidentDetail::Corner),
            "Foul Committed" => {
                self.incident(ts, side, clock, IncidentDetail::Foul { player: e.player() });
                self.card(ts, side, e, e.foul_committed.as_ref());
                if e.foul_committed.as_ref().and_then(|f| f.penalty) == Some(true) {
                    let to = side.other();
                    self.incident(ts, to, clock, IncidentDetail::PenaltyAwarded);
                    self.suspend(ts);
                    self.penalty = Some((to, ts));
                    if let Some(book) = &mut self.book {
                        book.hold(true, ts);
                    }
                }
            }
            "Bad Behaviour" => self.card(ts, side, e, e.bad_behaviour.as_ref()),
            "Substitution" => {
                let on = e
                    .substitution
                    .as_ref()
                    .and_then(|s| s.replacement.as_ref())
                    .and_then(|r| r.id);
                if let (Some(out), Some(on)) = (e.player(), on) {
                    let detail = IncidentDetail::Substitution {
                        player_out: out,
                        player_in: player_id(on),
                    };
                    self.incident(ts, side, clock, detail);
                }
            }
            "Pressure" => self.incident(ts, side, clock, IncidentDetail::Attack),
            "Tactical Shift" => {
                let lineup = lineup(self.l, side, e);
                self.b.push(ts, self.id, |version| {
                    Body::Lineup(Lineup { version, ..lineup })
                });
            }
            _ => {}
        }
    }

    /// The player of the `Own Goal Against` paired with an `Own Goal For` (by related events,
    /// else the nearest one of the same period and second).
    fn own_goal_scorer(&self, e: &SbEvent) -> Option<PlayerId> {
        let against = self
            .l
            .events
            .iter()
            .map(|(_, x)| x)
            .filter(|x| x.kind() == "Own Goal Against");
        let mut best: Option<(u64, &SbEvent)> = None;
        for x in against {
            if e.related_events.contains(&x.id) || x.related_events.contains(&e.id) {
                return x.player();
            }
            if x.period == e.period && x.clock_s() == e.clock_s() {
                let d = x.index.abs_diff(e.index);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, x));
                }
            }
        }
        best.and_then(|(_, x)| x.player())
    }

    /// Possession shares of the 5 minutes of play before `ts` in `period`: the time from each
    /// event to the next is credited to the event's possession team.
    fn possession(&mut self, ts: EventTime, period: u8, clock_s: i32) {
        let from = ts - i64::from(POSSESSION_EVERY_S) * 1000;
        let mut held = [0i64; 2];
        let evs: Vec<&(i64, SbEvent)> = self
            .l
            .events
            .iter()
            .filter(|(_, e)| e.period == period)
            .collect();
        for w in evs.windows(2) {
            let (a, b) = (self.l.ts(period, w[0].0), self.l.ts(period, w[1].0));
            let (lo, hi) = (a.max(from), b.min(ts));
            if hi <= lo {
                continue;
            }
            if let Some(side) = self
                .l
                .side(w[0].1.possession_team.as_ref().and_then(|t| t.id))
            {
                held[side as usize] += hi - lo;
            }
        }
        let total = held[0] + held[1];
        let home = if total > 0 {
            ((held[0] as f64 * 100.0 / total as f64).round() as u8).min(100)
        } else {
            50
        };
        self.incident(
            ts,
            Side::Home,
            clock_s,
            IncidentDetail::Possession { share: home },
        );
        self.incident(
            ts,
            Side::Away,
            clock_s,
            IncidentDetail::Possession { share: 100 - home },
        );
    }
}

/// A side's lineup from a `Starting XI` or `Tactical Shift` event: the eleven (starter = on the
/// pitch) then the rest of the squad from the lineups file.
fn lineup(l: &Loaded, side: Side, e: &SbEvent) -> Lineup {
    let squad: Vec<&SbSquadPlayer> = l
        .squads
        .iter()
        .filter(|s| s.team_id == l.team_id_of(side))
        .flat_map(|s| s.lineup.iter())
        .collect();
    let name_in_squad = |id: u64| squad.iter().find(|p| p.player_id == id).map(|p| p.name());
    let mut players: Vec<Player> = Vec::new();
    let mut on: Vec<u64> = Vec::new();
    for p in e.tactics.iter().flat_map(|t| t.lineup.iter()) {
        let Some(id) = p.player.id else { continue };
        on.push(id);
        players.push(Player {
            id: player_id(id),
            name: name_in_squad(id).unwrap_or_else(|| p.player.name().to_owned()),
            position: position_label(name_of(&p.position)),
            starter: true,
        });
    }
    for p in squad.iter().filter(|p| !on.contains(&p.player_id)) {
        players.push(Player {
            id: player_id(p.player_id),
            name: p.name(),
            position: p
                .positions
                .iter()
                .find_map(|x| x.position.as_deref())
                .map_or_else(|| "SUB".to_owned(), position_label),
            starter: false,
        });
    }
    Lineup {
        version: 0,
        side,
        formation: e.formation(),
        players,
    }
}

/// Pushes one match's records; returns (incidents, modelled odds).
fn push_match(
    b: &mut FeedBuilder,
    l: &Loaded,
    fd: Option<&FdMatch>,
    skipped: &mut Vec<String>,
) -> (usize, usize) {
    let id: MatchId = l.m.match_id;
    let ko = l.kickoff;
    let home_name = football_data_name(&l.m.home_team.home_team_name).to_owned();
    let away_name = football_data_name(&l.m.away_team.away_team_name).to_owned();
    let venue = name_of(&l.m.stadium).trim().to_owned();
    let referee = name_of(&l.m.referee).trim().to_owned();
    // The football-data row, kicking off at StatsBomb's time.
    let fd: Option<FdMatch> = fd.map(|f| {
        let mut f = f.clone();
        f.kickoff = ko;
        f.kickoff_known = true;
        if f.referee.is_empty() {
            f.referee = referee.clone();
        }
        f
    });
    let (y, mo, _) = l.date;
    let fixture = match &fd {
        Some(f) => football_data::fixture(f, 0, &venue),
        None => Fixture {
            version: 0,
            league: l
                .m
                .competition
                .as_ref()
                .and_then(|c| c.competition_name.clone())
                .unwrap_or_else(|| "Premier League".into()),
            season: season_of(y, mo),
            kickoff: ko,
            home: TeamRef {
                id: team_id(&home_name),
                name: home_name.clone(),
            },
            away: TeamRef {
                id: team_id(&away_name),
                name: away_name.clone(),
            },
            venue,
            referee,
        },
    };
    b.push(ko - FIXTURE_LEAD_MS, id, |version| {
        Body::Fixture(Fixture { version, ..fixture })
    });
    b.push(ko - FIXTURE_LEAD_MS, id, |version| {
        Body::Status(Status {
            version,
            status: MatchStatus::Scheduled,
            clock_s: 0,
        })
    });
    for side in Side::BOTH {
        let xi = l
            .events
            .iter()
            .map(|(_, e)| e)
            .find(|e| e.kind() == "Starting XI" && l.side(e.team_id()) == Some(side));
        match xi {
            Some(e) => {
                let lu = lineup(l, side, e);
                b.push(ko - LINEUP_LEAD_MS, id, |version| {
                    Body::Lineup(Lineup { version, ..lu })
                });
            }
            None => skipped.push(format!(
                "{}: no Starting XI for {side:?}: no lineup",
                l.label()
            )),
        }
    }
    let mut prematch_open = Vec::new();
    let mut book = None;
    if let Some(f) = &fd {
        prematch_open = push_prematch_markets(b, id, f);
        let targets = f.last_prices(MarketKind::MatchOdds).and_then(|x| {
            inplay::Targets::from_prices(x, f.last_prices(MarketKind::OverUnder { line: Line(10) }))
        });
        match targets {
            Some(t) => book = Some(Book::new(id, inplay::fit(&t), inplay::MARGIN)),
            None => skipped.push(format!(
                "{}: football-data has no 1X2 prices: no in-play markets",
                l.label()
            )),
        }
    }

    // The timeline.
    let p2 = l.period_start(2);
    let mut items: Vec<(EventTime, u8, usize, Item)> = Vec::new();
    let mut push_item = |ts: EventTime, item: Item| {
        let seq = items.len();
        items.push((ts, item.rank(), seq, item));
    };
    push_item(ko, Item::KickOff);
    push_item(p2, Item::SecondHalf);
    push_item(ko + l.period_ms[0], Item::HalfTime);
    push_item(p2 + l.period_ms[1], Item::FullTime);
    for k in 1.. {
        if k * 60_000 >= l.period_ms[0] {
            break;
        }
        push_item(
            ko + k * 60_000,
            Item::Tick {
                clock_s: (k * 60) as i32,
            },
        );
    }
    for k in 1.. {
        if k * 60_000 >= l.period_ms[1] {
            break;
        }
        push_item(
            p2 + k * 60_000,
            Item::Tick {
                clock_s: 2700 + (k * 60) as i32,
            },
        );
    }
    let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (within, e)) in l.events.iter().enumerate() {
        match mapped(e) {
            Some(true) => push_item(l.ts(e.period, *within), Item::Event(i)),
            Some(false) => {}
            None => {
                let what = if e.kind() == "Bad Behaviour" {
                    "Bad Behaviour without a card".to_owned()
                } else {
                    e.kind().to_owned()
                };
                *unmapped.entry(what).or_default() += 1;
            }
        }
    }
    for (what, n) in unmapped {
        skipped.push(format!(
            "{}: {n} × {what} not mapped (no incident kind in the feed model)",
            l.label()
        ));
    }
    items.sort_by_key(|(ts, rank, seq, _)| (*ts, *rank, *seq));

    let mut f = MatchFeed {
        b,
        l,
        id,
        next_incident: 1,
        incidents: 0,
        state: State::kickoff(),
        book,
        penalty: None,
    };
    let mut half_time = Score::default();
    let mut corners = [0u8; 2];
    for &(ts, _, _, item) in &items {
        f.catch_up(ts);
        match item {
            Item::KickOff => {
                f.status(ts, MatchStatus::FirstHalf, 0);
                if let Some(fm) = &fd {
                    for kind in &prematch_open {
                        let in_play = f.book.is_some()
                            && inplay::inplay_markets().iter().any(|(k, _)| k == kind);
                        if in_play {
                            continue;
                        }
                        if let Some(m) = fm.market(*kind) {
                            let selections = m.selections.clone();
                            let kind = *kind;
                            f.b.push(ts, id, |version| {
                                Body::Market(Market {
                                    version,
                                    market: kind,
                                    status: MarketStatus::Closed,
                                    phase: Phase::Prematch,
                                    selections,
                                })
                            });
                        }
                    }
                }
                let s = f.state;
                if let Some(book) = &mut f.book {
                    for (kind, sels) in inplay::inplay_markets() {
                        book.open(f.b, ts, kind, sels, &s);
                    }
                }
            }
            Item::Tick { clock_s } => {
                let (status, period) = if f.state.period == Period::FirstHalf {
                    (MatchStatus::FirstHalf, 1)
                } else {
                    (MatchStatus::SecondHalf, 2)
                };
                f.status(ts, status, clock_s);
                if clock_s % POSSESSION_EVERY_S == 0 {
                    f.possession(ts, period, clock_s);
                }
                f.reprice(ts);
            }
            Item::Event(i) => {
                let e = &l.events[i].1;
                if is_corner(e)
                    && let Some(side) = l.side(e.team_id())
                {
                    corners[side as usize] = corners[side as usize].saturating_add(1);
                }
                f.event(ts, e);
            }
            Item::HalfTime => {
                let clock = (l.period_ms[0] / 1000) as i32;
                f.status(ts, MatchStatus::HalfTime, clock);
                half_time = Score {
                    home: f.state.score[0],
                    away: f.state.score[1],
                };
                if f.penalty.is_some() {
                    f.release_penalty(ts);
                }
                f.state.period = Period::HalfTime;
                f.state.clock_s = clock;
                f.reprice(ts);
            }
            Item::SecondHalf => {
                f.status(ts, MatchStatus::SecondHalf, 2700);
                f.state.period = Period::SecondHalf;
                f.state.clock_s = 2700;
                f.reprice(ts);
            }
            Item::FullTime => {
                let clock = 2700 + (l.period_ms[1] / 1000) as i32;
                f.status(ts, MatchStatus::Finished, clock);
                if let Some(book) = &mut f.book {
                    book.close_all(f.b, ts);
                }
                let full_time = Score {
                    home: f.state.score[0],
                    away: f.state.score[1],
                };
                let corners = Score {
                    home: corners[0],
                    away: corners[1],
                };
                f.b.push(ts + RESULT_DELAY_MS, id, |version| {
                    Body::Result(MatchResult {
                        version,
                        half_time,
                        full_time,
                        corners: Some(corners),
                    })
                });
                let source = (l.m.home_score, l.m.away_score);
                let mine = (u32::from(full_time.home), u32::from(full_time.away));
                if let (Some(h), Some(a)) = source
                    && (h, a) != mine
                {
                    skipped.push(format!(
                        "{}: goals in the events make {}-{}, the matches file says {h}-{a}",
                        l.label(),
                        mine.0,
                        mine.1
                    ));
                }
                if let Some(fm) = &fd
                    && fm.full_time != full_time
                {
                    skipped.push(format!(
                        "{}: goals in the events make {}-{}, football-data says {}-{}",
                        l.label(),
                        mine.0,
                        mine.1,
                        fm.full_time.home,
                        fm.full_time.away
                    ));
                }
            }
        }
    }
    let modelled = f.book.as_ref().map_or(0, |b| b.modelled);
    (f.incidents, modelled)
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
mod tests {
    use super::*;
    use serde_json::Value;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
    }

    fn fixture_args(odds: bool) -> StatsbombArgs {
        let dir = root().join("fixtures/real/statsbomb");
        StatsbombArgs {
            events_dir: dir.join("events"),
            lineups_dir: dir.join("lineups"),
            matches_file: dir.join("matches.json.gz"),
            odds: if odds {
                vec![root().join("fixtures/real/football-data/E0_1516_head.csv")]
            } else {
                vec![]
            },
            only: vec![],
        }
    }

    /// Goals, corners, yellow cards, sendings-off per side: [home, away] × 4.
    type Counts = [[u32; 4]; 2];

    /// Counted from the raw source events, independently of the importer.
    fn source_counts(events_file: &Path, home_team: u64) -> Counts {
        let v: Value = serde_json::from_str(&read_text(events_file).expect("reads")).expect("json");
        let mut c = Counts::default();
        for e in v.as_array().expect("an array") {
            let kind = e["type"]["name"].as_str().unwrap_or("");
            let side = usize::from(e["team"]["id"].as_u64() != Some(home_team));
            if kind == "Shot" && e["shot"]["outcome"]["name"] == "Goal" || kind == "Own Goal For" {
                c[side][0] += 1;
            }
            if kind == "Pass" && e["pass"]["type"]["name"] == "Corner" {
                c[side][1] += 1;
            }
            for card in [
                &e["foul_committed"]["card"]["name"],
                &e["bad_behaviour"]["card"]["name"],
            ] {
                match card.as_str() {
                    Some("Yellow Card") => c[side][2] += 1,
                    Some("Second Yellow" | "Red Card") => c[side][3] += 1,
                    _ => {}
                }
            }
        }
        c
    }

    fn feed_counts(records: &[Record], id: MatchId) -> Counts {
        let mut c = Counts::default();
        for r in records.iter().filter(|r| r.match_id == id) {
            if let Body::Incident(i) = &r.body {
                let k = match i.detail {
                    IncidentDetail::Goal { .. } => 0,
                    IncidentDetail::Corner => 1,
                    IncidentDetail::Card {
                        card: CardKind::Yellow,
                        ..
                    } => 2,
                    IncidentDetail::Card { .. } => 3,
                    _ => continue,
                };
                c[i.side as usize][k] += 1;
            }
        }
        c
    }

    fn matches_file(path: &Path) -> Vec<Value> {
        let v: Value = serde_json::from_str(&read_text(path).expect("reads")).expect("json");
        v.as_array().expect("an array").clone()
    }

    fn result_of(records: &[Record], id: MatchId) -> MatchResult {
        records
            .iter()
            .filter(|r| r.match_id == id)
            .find_map(|r| match &r.body {
                Body::Result(x) => Some(*x),
                _ => None,
            })
            .expect("a result")
    }

    /// Per match: counts equal the source's, the result equals the matches file's score, the
    /// fixture comes first and the result last. Returns the number of matches checked.
    fn check_counts(args: &StatsbombArgs, imported: &Imported<StatsbombReport>) -> usize {
        let mut n = 0;
        for m in matches_file(&args.matches_file) {
            let id = m["match_id"].as_u64().expect("id");
            let Some(events) = find_file(&args.events_dir, id) else {
                continue;
            };
            let home = m["home_team"]["home_team_id"].as_u64().expect("home id");
            let want = source_counts(&events, home);
            let got = feed_counts(&imported.records, id);
            assert_eq!(got, want, "match {id}");
            let r = result_of(&imported.records, id);
            let score = (u64::from(r.full_time.home), u64::from(r.full_time.away));
            assert_eq!(
                score,
                (
                    m["home_score"].as_u64().expect("score"),
                    m["away_score"].as_u64().expect("score")
                ),
                "match {id}"
            );
            assert_eq!(
                (u32::from(r.full_time.home), u32::from(r.full_time.away)),
                (want[0][0], want[1][0])
            );
            let mine: Vec<&Record> = imported
                .records
                .iter()
                .filter(|r| r.match_id == id)
                .collect();
            assert!(matches!(mine[0].body, Body::Fixture(_)), "match {id}");
            assert!(matches!(
                mine.last().expect("records").body,
                Body::Result(_)
            ));
            n += 1;
        }
        n
    }

    #[test]
    fn names_formations_positions_and_kickoff() {
        assert_eq!(football_data_name("West Bromwich Albion"), "West Brom");
        assert_eq!(football_data_name("AFC Bournemouth"), "Bournemouth");
        assert_eq!(football_data_name("Everton"), "Everton");
        assert_eq!(formation_label("4231"), "4-2-3-1");
        assert_eq!(formation_label("41212"), "4-1-2-1-2");
        assert_eq!(position_label("Center Attacking Midfield"), "CAM");
        assert_eq!(position_label("Center Forward"), "ST");
        // 16:00 in the file = 15:00 BST = 14:00 UTC; 13:45 = 11:45 UTC.
        assert_eq!(
            kickoff_utc("2015-08-08", "16:00:00.000"),
            Some(crate::time::utc_ms(2015, 8, 8, 14, 0, 0))
        );
        assert_eq!(
            kickoff_utc("2015-08-08", "13:45:00.000"),
            Some(crate::time::utc_ms(2015, 8, 8, 11, 45, 0))
        );
        // 2016-01-02 is GMT: 16:00 in the file = 15:00 UTC.
        assert_eq!(
            kickoff_utc("2016-01-02", "16:00:00.000"),
            Some(crate::time::utc_ms(2016, 1, 2, 15, 0, 0))
        );
        assert_eq!(parse_timestamp("00:21:36.115"), Some(1_296_115));
    }

    /// The committed excerpts without odds: counts per side equal the raw events', scores equal
    /// the matches file's, lineups and the timeline look like a live feed, and no markets.
    #[test]
    fn excerpts_import_with_the_source_counts_lineups_and_timeline() {
        let args = fixture_args(false);
        let imp = import(&args).expect("imports");
        assert_eq!(imp.report.matches, 2);
        assert_eq!(imp.report.with_odds, 0);
        assert_eq!(check_counts(&args, &imp), 2);
        assert_eq!(imp.report.events, 3780 + 3036);
        assert_eq!(imp.report.modelled_odds, 0);
        assert!(
            imp.records
                .iter()
                .all(|r| !matches!(r.body, Body::Market(_) | Body::Odds(_)))
        );
        let incidents = imp
            .records
            .iter()
            .filter(|r| matches!(r.body, Body::Incident(_)))
            .count();
        assert_eq!(incidents, imp.report.incidents);
        // Only the incidents without a kind are reported (an injury stoppage in each match).
        assert!(
            imp.report
                .skipped
                .iter()
                .all(|s| s.contains("Injury Stoppage")),
            "{:?}",
            imp.report.skipped
        );
        // Man United 1-0 Tottenham: Kyle Walker's own goal at 21:36, kick-off 11:45 UTC.
        let id = 3754097;
        let mine: Vec<&Record> = imp.records.iter().filter(|r| r.match_id == id).collect();
        let Body::Fixture(fx) = &mine[0].body else {
            panic!("fixture first")
        };
        let ko = crate::time::utc_ms(2015, 8, 8, 11, 45, 0);
        assert_eq!(fx.kickoff, ko);
        assert_eq!(
            (fx.home.name.as_str(), fx.away.name.as_str()),
            ("Man United", "Tottenham")
        );
        assert_eq!(fx.home.id, team_id("Man United"));
        assert_eq!(
            (fx.league.as_str(), fx.season.as_str()),
            ("Premier League", "2015-16")
        );
        assert_eq!(fx.venue, "Old Trafford");
        let goals: Vec<(i64, Side, i32, IncidentDetail)> = mine
            .iter()
            .filter_map(|r| match &r.body {
                Body::Incident(i) if matches!(i.detail, IncidentDetail::Goal { .. }) => {
                    Some((r.ts, i.side, i.clock_s, i.detail))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            goals,
            vec![(
                ko + 1_296_115,
                Side::Home,
                21 * 60 + 36,
                IncidentDetail::Goal {
                    player: Some(3205),
                    own_goal: true,
                    penalty: false
                }
            )]
        );
        let lineups: Vec<&Lineup> = mine
            .iter()
            .filter_map(|r| match &r.body {
                Body::Lineup(l) => Some(l),
                _ => None,
            })
            .collect();
        assert_eq!(lineups.len(), 2);
        for l in &lineups {
            assert_eq!(l.formation, "4-2-3-1");
            assert_eq!(l.players.iter().filter(|p| p.starter).count(), 11);
            assert!(l.players.iter().filter(|p| !p.starter).count() >= 5);
            assert_eq!(
                l.players
                    .iter()
                    .filter(|p| p.starter && p.position == "GK")
                    .count(),
                1
            );
        }
        // Statuses: scheduled, first half from kick-off with a clock per minute, half time at
        // the end of period 1 (46:07), second half 15 minutes later at 45:00, finished at 94:22.
        let statuses: Vec<(i64, MatchStatus, i32)> = mine
            .iter()
            .filter_map(|r| match &r.body {
                Body::Status(s) => Some((r.ts, s.status, s.clock_s)),
                _ => None,
            })
            .collect();
        assert_eq!(statuses[0].1, MatchStatus::Scheduled);
        assert_eq!(statuses[1], (ko, MatchStatus::FirstHalf, 0));
        assert_eq!(statuses[2], (ko + 60_000, MatchStatus::FirstHalf, 60));
        let ht = ko + 2_767_805;
        assert!(statuses.contains(&(ht, MatchStatus::HalfTime, 2767)));
        let sh = ht + BREAK_MS;
        assert!(statuses.contains(&(sh, MatchStatus::SecondHalf, 2700)));
        assert_eq!(
            *statuses.last().expect("statuses"),
            (sh + 2_962_486, MatchStatus::Finished, 5662)
        );
        assert!(
            statuses.windows(2).all(
                |w| w[0].0 <= w[1].0 && (w[0].2 <= w[1].2 || w[1].1 == MatchStatus::SecondHalf)
            )
        );
        // Possession shares every 5 minutes, home and away summing to 100.
        let shares: Vec<(i64, Side, u8)> = mine
            .iter()
            .filter_map(|r| match &r.body {
                Body::Incident(i) => match i.detail {
                    IncidentDetail::Possession { share } => Some((r.ts, i.side, share)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(shares.len(), 2 * (9 + 9));
        assert!(
            shares
                .chunks(2)
                .all(|w| w[0].0 == w[1].0 && u16::from(w[0].2) + u16::from(w[1].2) == 100)
        );
        // Leicester 4-2 Sunderland: Mahrez's penalty, the foul first.
        let id = 3754237;
        let details: Vec<IncidentDetail> = imp
            .records
            .iter()
            .filter(|r| r.match_id == id)
            .filter_map(|r| match &r.body {
                Body::Incident(i) => Some(i.detail),
                _ => None,
            })
            .collect();
        let pen_goals = details
            .iter()
            .filter(|d| matches!(d, IncidentDetail::Goal { penalty: true, .. }))
            .count();
        assert_eq!(pen_goals, 1);
        assert_eq!(
            details
                .iter()
                .filter(|d| **d == IncidentDetail::PenaltyAwarded)
                .count(),
            1
        );
        let shots = details
            .iter()
            .filter(|d| matches!(d, IncidentDetail::Shot { .. }))
            .count();
        assert_eq!(shots, 28);
        // Leicester's 4-4-2, Sunderland's 4-1-4-1.
        let formations: Vec<String> = imp
            .records
            .iter()
            .filter(|r| r.match_id == id)
            .filter_map(|r| match &r.body {
                Body::Lineup(l) => Some(l.formation.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(formations, vec!["4-4-2", "4-1-4-1"]);
    }

    /// With odds: prematch prices are real and precede kick-off, in-play ones are modelled and
    /// from kick-off; markets are suspended at each goal (no prices while suspended) and reopen
    /// later or close at full time; the result settles 1X2 like the score.
    #[test]
    fn excerpts_with_odds_prematch_real_inplay_modelled_suspended_at_goals() {
        let args = fixture_args(true);
        let imp = import(&args).expect("imports");
        assert_eq!(imp.report.matches, 2);
        assert_eq!(imp.report.with_odds, 2);
        assert_eq!(check_counts(&args, &imp), 2);
        assert!(imp.report.modelled_odds > 0);
        let modelled = imp
            .records
            .iter()
            .filter(|r| matches!(r.body, Body::Odds(o) if o.modelled))
            .count();
        assert_eq!(modelled, imp.report.modelled_odds);
        let fd = football_data::read_csv(&args.odds[0]).expect("reads");
        for id in [3754097u64, 3754237] {
            let mine: Vec<&Record> = imp.records.iter().filter(|r| r.match_id == id).collect();
            let Body::Fixture(fx) = &mine[0].body else {
                panic!("fixture first")
            };
            let ko = fx.kickoff;
            let row = fd
                .matches
                .iter()
                .find(|m| m.home == fx.home.name && m.away == fx.away.name)
                .expect("joined row");
            let mut prematch = 0;
            let mut inplay = 0;
            let mut status: BTreeMap<MarketKind, (MarketStatus, Phase)> = BTreeMap::new();
            let mut suspended_at: Vec<i64> = Vec::new();
            for r in &mine {
                match &r.body {
                    Body::Market(m) => {
                        if m.status == MarketStatus::Suspended {
                            suspended_at.push(r.ts);
                        }
                        match m.phase {
                            Phase::InPlay => assert!(r.ts >= ko, "{r:?}"),
                            Phase::Prematch => assert!(r.ts <= ko, "{r:?}"),
                        }
                        status.insert(m.market, (m.status, m.phase));
                    }
                    Body::Odds(o) => {
                        if o.modelled {
                            inplay += 1;
                            assert!(r.ts >= ko);
                        } else {
                            prematch += 1;
                            assert!(r.ts < ko);
                        }
                        // Prices only for an open market.
                        assert_eq!(
                            status.get(&o.market).map(|s| s.0),
                            Some(MarketStatus::Open),
                            "{r:?}"
                        );
                        assert!(o.price.0 > 1.0);
                    }
                    _ => {}
                }
            }
            assert!(prematch >= 5 && inplay > 20, "{prematch} {inplay}");
            assert!(status.values().all(|s| s.0 == MarketStatus::Closed));
            // The closing 1X2 at kick-off − 5 min is football-data's.
            let close = row.last_prices(MarketKind::MatchOdds).expect("1X2");
            let at_close: Vec<f64> = mine
                .iter()
                .filter(|r| r.ts == ko - football_data::CLOSE_LEAD_MS)
                .filter_map(|r| match &r.body {
                    Body::Odds(o) if o.market == MarketKind::MatchOdds => Some(o.price.0),
                    _ => None,
                })
                .collect();
            assert_eq!(at_close, close);
            // In-play markets at kick-off: 1X2, o/u 1.5/2.5/3.5, BTTS; Asian handicap closed.
            let at_ko: Vec<(MarketKind, MarketStatus, Phase)> = mine
                .iter()
                .filter(|r| r.ts == ko)
                .filter_map(|r| match &r.body {
                    Body::Market(m) => Some((m.market, m.status, m.phase)),
                    _ => None,
                })
                .collect();
            assert!(at_ko.iter().any(|m| matches!(
                m,
                (
                    MarketKind::AsianHandicap { .. },
                    MarketStatus::Closed,
                    Phase::Prematch
                )
            )));
            assert_eq!(
                at_ko
                    .iter()
                    .filter(|m| m.1 == MarketStatus::Open && m.2 == Phase::InPlay)
                    .count(),
                5
            );
            // Every goal suspends the 1X2 at its time; the next 1X2 market record after it is a
            // reopening at least a minute later, or the close at full time.
            let goals: Vec<i64> = mine
                .iter()
                .filter(|r| matches!(&r.body, Body::Incident(i) if matches!(i.detail, IncidentDetail::Goal { .. })))
                .map(|r| r.ts)
                .collect();
            assert!(!goals.is_empty());
            let x12: Vec<(i64, MarketStatus)> = mine
                .iter()
                .filter_map(|r| match &r.body {
                    Body::Market(m) if m.market == MarketKind::MatchOdds && r.ts >= ko => {
                        Some((r.ts, m.status))
                    }
                    _ => None,
                })
                .collect();
            // (A penalty goal finds the markets suspended since the foul, held until the kick.)
            let penalties: Vec<i64> = mine
                .iter()
                .filter(|r| {
                    matches!(&r.body, Body::Incident(i) if i.detail == IncidentDetail::PenaltyAwarded)
                })
                .map(|r| r.ts)
                .collect();
            assert_eq!(penalties.len(), usize::from(id == 3754237));
            for g in &goals {
                let k = x12
                    .iter()
                    .rposition(|(ts, _)| ts <= g)
                    .expect("a 1X2 record before the goal");
                assert_eq!(
                    x12[k].1,
                    MarketStatus::Suspended,
                    "at the goal at {g}: {x12:?}"
                );
                assert!(
                    x12[k].0 == *g || penalties.contains(&x12[k].0),
                    "{g}: {x12:?}"
                );
                let next = x12.get(k + 1).expect("a later 1X2 record");
                assert!(
                    (next.1 == MarketStatus::Open && next.0 >= g + inplay::SUSPEND_MS)
                        || next.1 == MarketStatus::Closed,
                    "{next:?}"
                );
            }
            // The model's kick-off 1X2 follows the close: the favourite stays the favourite.
            let first_inplay: Vec<f64> = mine
                .iter()
                .filter(|r| r.ts == ko)
                .filter_map(|r| match &r.body {
                    Body::Odds(o) if o.market == MarketKind::MatchOdds => Some(o.price.0),
                    _ => None,
                })
                .collect();
            assert_eq!(first_inplay.len(), 3);
            assert_eq!(close[0] < close[2], first_inplay[0] < first_inplay[2]);
            // Settlement of 1X2 from the result agrees with the score and football-data's FTR.
            let r = result_of(&imp.records, id);
            assert_eq!(super::super::settled_1x2(&r), vec![row.ftr]);
            assert_eq!(r.full_time, row.full_time);
            assert_eq!(Some(r.half_time), row.half_time);
        }
    }

    /// A synthetic match in StatsBomb's format: a red card and a penalty suspend the markets (the
    /// penalty until it is taken), a tactical shift is a new lineup version, a match without a
    /// football-data row gets no markets, and a wrong score in the matches file is reported.
    #[test]
    fn red_cards_penalties_tactical_shifts_and_reports_on_a_synthetic_match() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ev = dir.path().join("events");
        let lu = dir.path().join("lineups");
        std::fs::create_dir_all(&ev).expect("mkdir");
        std::fs::create_dir_all(&lu).expect("mkdir");
        let team = |id: u64, name: &str| format!(r#"{{"id": {id}, "name": "{name}"}}"#);
        let xi = |first: u64| {
            let players: Vec<String> = (0..11)
                .map(|k| {
                    let pos = if k == 0 { "Goalkeeper" } else { "Center Forward" };
                    format!(r#"{{"player": {{"id": {}, "name": "P{}"}}, "position": {{"id": 1, "name": "{pos}"}}}}"#, first + k, first + k)
                })
                .collect();
            format!(
                r#""tactics": {{"formation": 442, "lineup": [{}]}}"#,
                players.join(",")
            )
        };
        let e = |idx: u64,
                 period: u8,
                 ts: &str,
                 min: i32,
                 sec: i32,
                 kind: &str,
                 t: u64,
                 extra: &str| {
            let tname = if t == 1 { "Home FC" } else { "Away FC" };
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(", {extra}")
            };
            format!(
                r#"{{"id": "e{idx}", "index": {idx}, "period": {period}, "timestamp": "{ts}", "minute": {min}, "second": {sec}, "type": {{"name": "{kind}"}}, "team": {}, "possession_team": {}, "player": {{"id": {}, "name": "X"}}{extra}}}"#,
                team(t, tname),
                team(t, tname),
                if t == 1 { 105 } else { 205 }
            )
        };
        let events = [
            e(1, 1, "00:00:00.000", 0, 0, "Starting XI", 1, &xi(100)),
            e(2, 1, "00:00:00.000", 0, 0, "Starting XI", 2, &xi(200)),
            e(3, 1, "00:00:00.000", 0, 0, "Half Start", 1, ""),
            e(
                4,
                1,
                "00:10:00.000",
                10,
                0,
                "Bad Behaviour",
                2,
                r#""bad_behaviour": {"card": {"name": "Red Card"}}"#,
            ),
            e(
                5,
                1,
                "00:20:00.000",
                20,
                0,
                "Foul Committed",
                2,
                r#""foul_committed": {"penalty": true}"#,
            ),
            e(
                6,
                1,
                "00:22:00.000",
                22,
                0,
                "Shot",
                1,
                r#""shot": {"statsbomb_xg": 0.76, "outcome": {"name": "Saved"}, "type": {"name": "Penalty"}}"#,
            ),
            e(
                7,
                1,
                "00:30:00.000",
                30,
                0,
                "Tactical Shift",
                2,
                &xi(200).replace("442", "451"),
            ),
            e(8, 1, "00:31:00.000", 31, 0, "Offside", 1, ""),
            e(9, 1, "00:46:00.000", 46, 0, "Half End", 1, ""),
            e(10, 2, "00:00:00.000", 45, 0, "Half Start", 1, ""),
            e(
                11,
                2,
                "00:05:00.000",
                50,
                0,
                "Shot",
                1,
                r#""shot": {"statsbomb_xg": 0.3, "outcome": {"name": "Goal"}, "type": {"name": "Open Play"}}"#,
            ),
            e(12, 2, "00:48:00.000", 93, 0, "Half End", 1, ""),
        ];
        std::fs::write(ev.join("1.json"), format!("[{}]", events.join(","))).expect("write");
        std::fs::write(ev.join("2.json"), format!("[{}]", events.join(","))).expect("write");
        std::fs::write(lu.join("1.json"), r#"[{"team_id": 1, "team_name": "Home FC", "lineup": [{"player_id": 150, "player_name": "Bench Guy", "player_nickname": null, "positions": []}]}]"#).expect("write");
        let m = |id: u64, date: &str, home_score: u32| {
            format!(
                r#"{{"match_id": {id}, "match_date": "{date}", "kick_off": "16:00:00.000", "home_team": {{"home_team_id": 1, "home_team_name": "Home FC"}}, "away_team": {{"away_team_id": 2, "away_team_name": "Away FC"}}, "home_score": {home_score}, "away_score": 0, "stadium": {{"id": 1, "name": "Ground "}}, "referee": {{"id": 1, "name": "Ref"}}}}"#
            )
        };
        let matches = dir.path().join("matches.json");
        std::fs::write(
            &matches,
            format!("[{}, {}]", m(1, "2015-12-05", 1), m(2, "2015-12-06", 2)),
        )
        .expect("write");
        let csv = dir.path().join("odds.csv");
        std::fs::write(&csv, "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HTHG,HTAG,PSH,PSD,PSA,PSCH,PSCD,PSCA,BbAv>2.5,BbAv<2.5\nE0,05/12/2015,Home FC,Away FC,1,0,H,0,0,2.0,3.5,4.0,1.9,3.6,4.3,1.95,1.9\n").expect("write");
        let args = StatsbombArgs {
            events_dir: ev,
            lineups_dir: lu,
            matches_file: matches,
            odds: vec![csv],
            only: vec![1, 2, 3],
        };
        let imp = import(&args).expect("imports");
        assert_eq!((imp.report.matches, imp.report.with_odds), (2, 1));
        let said = |what: &str| {
            imp.report
                .skipped
                .iter()
                .filter(|s| s.contains(what))
                .count()
        };
        assert_eq!(said("3: no events file"), 1);
        assert_eq!(said("1 × Offside not mapped"), 2);
        assert_eq!(said("no football-data row"), 1);
        assert_eq!(said("the matches file says 2-0"), 1);
        assert_eq!(said("no lineups file"), 1);
        // 16:00 in the file on 2015-12-05 (GMT) = 15:00 UTC.
        let ko = crate::time::utc_ms(2015, 12, 5, 15, 0, 0);
        let mine: Vec<&Record> = imp.records.iter().filter(|r| r.match_id == 1).collect();
        let x12: Vec<(i64, MarketStatus)> = mine
            .iter()
            .filter_map(|r| match &r.body {
                Body::Market(m) if m.market == MarketKind::MatchOdds && r.ts >= ko => {
                    Some((r.ts, m.status))
                }
                _ => None,
            })
            .collect();
        let min = 60_000;
        let p2 = ko + 46 * min + BREAK_MS;
        assert_eq!(
            x12,
            vec![
                (ko, MarketStatus::Open),
                // The red card: a minute.
                (ko + 10 * min, MarketStatus::Suspended),
                (ko + 11 * min, MarketStatus::Open),
                // The penalty: held until it is taken (missed) two minutes later.
                (ko + 20 * min, MarketStatus::Suspended),
                (ko + 22 * min, MarketStatus::Open),
                // The goal.
                (p2 + 5 * min, MarketStatus::Suspended),
                (p2 + 6 * min, MarketStatus::Open),
                (p2 + 48 * min, MarketStatus::Closed),
            ]
        );
        // After the away red card the home price is shorter than at kick-off.
        let home: Vec<(i64, f64)> = mine
            .iter()
            .filter_map(|r| match &r.body {
                Body::Odds(o)
                    if o.market == MarketKind::MatchOdds
                        && o.selection == Selection::Home
                        && r.ts >= ko =>
                {
                    Some((r.ts, o.price.0))
                }
                _ => None,
            })
            .collect();
        let at = |t: i64| {
            home.iter()
                .rev()
                .find(|(ts, _)| *ts <= t)
                .expect("a price")
                .1
        };
        assert!(at(ko + 11 * min) < at(ko), "{home:?}");
        // The bench from the lineups file, then a new lineup version at the tactical shift.
        let lineups: Vec<(i64, Side, String, usize)> = mine
            .iter()
            .filter_map(|r| match &r.body {
                Body::Lineup(l) => Some((r.ts, l.side, l.formation.clone(), l.players.len())),
                _ => None,
            })
            .collect();
        assert_eq!(
            lineups,
            vec![
                (ko - LINEUP_LEAD_MS, Side::Home, "4-4-2".into(), 12),
                (ko - LINEUP_LEAD_MS, Side::Away, "4-4-2".into(), 11),
                (ko + 30 * min, Side::Away, "4-5-1".into(), 11),
            ]
        );
        let cards: Vec<(Side, IncidentDetail)> = mine
            .iter()
            .filter_map(|r| match &r.body {
                Body::Incident(i)
                    if matches!(
                        i.detail,
                        IncidentDetail::Card { .. } | IncidentDetail::PenaltyAwarded
                    ) =>
                {
                    Some((i.side, i.detail))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            cards,
            vec![
                (
                    Side::Away,
                    IncidentDetail::Card {
                        player: Some(205),
                        card: CardKind::Red
                    }
                ),
                (Side::Home, IncidentDetail::PenaltyAwarded),
            ]
        );
        // Match 2 (no football-data row): no markets; the feed keeps the score of its goals.
        assert!(
            imp.records
                .iter()
                .filter(|r| r.match_id == 2)
                .all(|r| !matches!(r.body, Body::Market(_) | Body::Odds(_)))
        );
        assert_eq!(
            result_of(&imp.records, 2).full_time,
            Score { home: 1, away: 0 }
        );
    }

    /// All 65 matches of the shared folder, when it is there: every one joins to football-data,
    /// the scores equal the matches file's and football-data's, counts equal the source's.
    #[test]
    fn every_shared_statsbomb_match_joins_and_scores_agree() {
        let data = root().join("../shared/data");
        let dir = data.join("statsbomb-epl-2015-16");
        if !dir.is_dir() {
            eprintln!("{} not present: skipped", dir.display());
            return;
        }
        let args = StatsbombArgs {
            events_dir: dir.join("events"),
            lineups_dir: dir.join("lineups"),
            matches_file: dir.join("matches_2_27_before_2016-04-01.json.gz"),
            odds: vec![data.join("football-data/E0_1516_before_2016-04-01.csv.gz")],
            only: vec![],
        };
        let imp = import(&args).expect("imports");
        assert_eq!(imp.report.matches, 65);
        assert_eq!(imp.report.with_odds, 65, "{:?}", imp.report.skipped);
        assert_eq!(check_counts(&args, &imp), 65);
        let bad: Vec<&String> = imp
            .report
            .skipped
            .iter()
            .filter(|s| !s.contains("not mapped"))
            .collect();
        assert!(bad.is_empty(), "{bad:?}");
        assert!(imp.report.events > 200_000);
        // Every modelled price is in play; tactical shifts made new lineup versions.
        let lineups = imp
            .records
            .iter()
            .filter(|r| matches!(r.body, Body::Lineup(_)))
            .count();
        assert_eq!(lineups, 130 + 93);
        let mut per_match: BTreeMap<MatchId, EventTime> = BTreeMap::new();
        for r in &imp.records {
            if let Body::Fixture(f) = &r.body {
                per_match.insert(r.match_id, f.kickoff);
            }
            if let Body::Odds(o) = &r.body {
                assert_eq!(o.modelled, r.ts >= per_match[&r.match_id], "{r:?}");
            }
        }
        eprintln!(
            "statsbomb: {} matches, {} events, {} incidents, {} modelled odds, {} skipped lines",
            imp.report.matches,
            imp.report.events,
            imp.report.incidents,
            imp.report.modelled_odds,
            imp.report.skipped.len()
        );
    }
}
